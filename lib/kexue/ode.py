"""Integrating autonomous ODEs :math:`s' = F(s)` on the device (cross-cutting: any chapter may use it)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from kexue import checks

__all__ = ["rk4"]

Field = Callable[[jax.Array], jax.Array]

MAX_STEPS = 10**8
"""The most steps one call integrates (10⁸ RK4 steps of a small field take minutes on a CPU)."""
MAX_VALUES = 10**8
"""The most numbers the returned trajectory may hold (``(steps // every + 1) * s0.size``)."""


def rk4(field: Field, s0: np.ndarray | jax.Array, dt: float, steps: int, every: int = 1) -> np.ndarray:
    """Classical fourth-order Runge–Kutta for :math:`s' = F(s)`, fused into one ``jax.lax.scan``.

    .. math::

        k_1 = F(s),\\ k_2 = F(s + \\tfrac{h}{2}k_1),\\ k_3 = F(s + \\tfrac{h}{2}k_2),\\ k_4 = F(s + h k_3),
        \\qquad s \\leftarrow s + \\tfrac{h}{6}(k_1 + 2k_2 + 2k_3 + k_4),

    with :math:`h` = ``dt``; the global error is :math:`O(h^4)`. ``field`` maps a state to its derivative
    of the same shape (a hashable, jit-traceable function; it is a static argument, traced once here to
    check its output). The state keeps the dtype of ``s0`` (integers become floats). Returns ``s0``
    followed by every ``every``-th state: an array of shape ``(steps // every + 1, *s0.shape)``.

    Raises:
        TypeError: ``field`` not callable or not hashable, or returning a non-array or complex values for a real
            state; ``s0`` not a real/complex array (bools, strings, None) or traced (``rk4`` is called on the host,
            not inside ``jax.jit``); ``dt`` not a real number; ``steps``/``every`` not ints.
        ValueError: ``field`` returning another shape than ``s0``'s; ``s0`` empty or not finite; ``dt`` not
            finite and > 0; ``steps`` not in ``1 .. MAX_STEPS``; ``every`` < 1 or not dividing ``steps``; a
            trajectory of more than ``MAX_VALUES`` numbers.
        FloatingPointError: the trajectory leaves the floats (it blew up).
    """
    checks.callable_(field, "field")
    try:
        hash(field)
    except TypeError:
        raise TypeError(f"field: must be hashable (it is a static argument of jax.jit), got "
                        f"{type(field).__name__}; wrap it in a function or jax.tree_util.Partial") from None
    if checks.is_traced(s0):
        raise TypeError("s0: rk4 runs on the host and returns a NumPy trajectory; call it outside jax.jit")
    s0 = checks.array(s0, "s0", kinds="iufc")
    dt = checks.real(dt, "dt", positive=True)
    steps = checks.count(steps, "steps", maximum=MAX_STEPS)
    every = checks.count(every, "every")
    if steps % every:
        raise ValueError(f"every: must divide steps ({steps}), got {every}")
    if (steps // every + 1) * s0.size > MAX_VALUES:
        raise ValueError(f"every: the trajectory would hold {(steps // every + 1) * s0.size:.3g} numbers "
                         f"(> {MAX_VALUES:.0e}); record fewer states (a larger every)")
    s0 = jnp.asarray(s0)
    if s0.dtype.kind in "iu":
        s0 = s0.astype(jnp.result_type(float))
    _check_field(field, s0)
    out = np.asarray(_rk4(field, s0, dt, steps, every))
    if not np.all(np.isfinite(out)):
        raise FloatingPointError("rk4: the trajectory left the floats (it blew up)")
    return out


def _check_field(field: Field, s0: jax.Array) -> None:
    """Trace ``field`` once on an abstract state: it must return a real (complex) array of ``s0``'s shape."""
    out = jax.eval_shape(field, jax.ShapeDtypeStruct(s0.shape, s0.dtype))
    if not isinstance(out, jax.ShapeDtypeStruct):
        raise TypeError(f"field: must return one array (the derivative), got {out}")
    if out.shape != s0.shape:
        raise ValueError(f"field: must return the derivative in the state's shape {s0.shape}, got shape {out.shape}")
    kind = np.dtype(out.dtype).kind
    if kind not in "iufc" or (kind == "c" and s0.dtype.kind != "c"):
        raise TypeError(f"field: returns dtype {out.dtype} for a state of dtype {s0.dtype}")


@partial(jax.jit, static_argnames=("field", "steps", "every"))
def _rk4(field: Field, s0: jax.Array, dt: float, steps: int, every: int) -> jax.Array:
    def one(s, _):
        k1 = field(s)
        k2 = field(s + dt / 2 * k1)
        k3 = field(s + dt / 2 * k2)
        k4 = field(s + dt * k3)
        return (s + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)).astype(s.dtype), None

    def block(s, _):
        s, _ = jax.lax.scan(one, s, None, length=every)
        return s, s

    _, out = jax.lax.scan(block, s0, None, length=steps // every)
    return jnp.concatenate([s0[None], out])
