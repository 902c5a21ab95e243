"""Integrating autonomous ODEs :math:`s' = F(s)` on the device (cross-cutting: any chapter may use it)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["rk4"]

Field = Callable[[jax.Array], jax.Array]


def rk4(field: Field, s0: np.ndarray | jax.Array, dt: float, steps: int, every: int = 1) -> np.ndarray:
    """Classical fourth-order Runge–Kutta for :math:`s' = F(s)`, fused into one ``jax.lax.scan``.

    .. math::

        k_1 = F(s),\\ k_2 = F(s + \\tfrac{h}{2}k_1),\\ k_3 = F(s + \\tfrac{h}{2}k_2),\\ k_4 = F(s + h k_3),
        \\qquad s \\leftarrow s + \\tfrac{h}{6}(k_1 + 2k_2 + 2k_3 + k_4),

    with :math:`h` = ``dt``; the global error is :math:`O(h^4)`. ``field`` maps a state vector to its
    derivative (a hashable, jit-traceable function; it is a static argument). Returns ``s0`` followed by
    every ``every``-th state: an array of shape ``(steps // every + 1, *s0.shape)``. Raises
    ``ValueError`` for ``steps``/``every`` < 1, ``steps`` not a multiple of ``every``, ``dt`` not finite
    and positive, or a non-finite ``s0``; ``FloatingPointError`` if the trajectory leaves the floats.
    """
    for name, value in (("steps", steps), ("every", every)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if steps % every:
        raise ValueError(f"steps ({steps}) must be a multiple of every ({every})")
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be finite and > 0, got {dt!r}")
    s0 = jnp.asarray(s0)
    if not bool(jnp.all(jnp.isfinite(s0))):
        raise ValueError("s0 must be finite")
    out = np.asarray(_rk4(field, s0, dt, int(steps), int(every)))
    if not np.all(np.isfinite(out)):
        raise FloatingPointError("rk4: the trajectory left the floats (it blew up)")
    return out


@partial(jax.jit, static_argnames=("field", "steps", "every"))
def _rk4(field: Field, s0: jax.Array, dt: float, steps: int, every: int) -> jax.Array:
    def one(s, _):
        k1 = field(s)
        k2 = field(s + dt / 2 * k1)
        k3 = field(s + dt / 2 * k2)
        k4 = field(s + dt * k3)
        return s + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4), None

    def block(s, _):
        s, _ = jax.lax.scan(one, s, None, length=every)
        return s, s

    _, out = jax.lax.scan(block, s0, None, length=steps // every)
    return jnp.vstack([s0[None], out])
