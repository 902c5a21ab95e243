"""GANs: losses, the toy networks and the mode-coverage metric.

With discriminator logits :math:`D(x) \\in \\mathbb R` and :math:`\\sigma` the logistic function, the
vanilla GAN (Goodfellow et al., 2014) with the *non-saturating* generator loss is

.. math::

    L_D = \\mathbb E_{x\\sim p}\\big[-\\log\\sigma(D(x))\\big] + \\mathbb E_{z}\\big[-\\log(1-\\sigma(D(G(z))))\\big],
    \\qquad
    L_G = \\mathbb E_{z}\\big[-\\log\\sigma(D(G(z)))\\big],

computed stably as :math:`-\\log\\sigma(u) = \\operatorname{softplus}(-u)` and
:math:`-\\log(1-\\sigma(u)) = \\operatorname{softplus}(u)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

__all__ = ["ModeCoverage", "mlp", "mode_coverage", "ns_discriminator_loss", "ns_generator_loss"]


def ns_discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """The discriminator's loss from its logits on a real and a fake batch,

    .. math::

        L_D = \\operatorname{mean}\\operatorname{softplus}(-D(x))
            + \\operatorname{mean}\\operatorname{softplus}(D(G(z))).
    """
    return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))


def ns_generator_loss(fake_logits: jax.Array) -> jax.Array:
    """The non-saturating generator loss from the discriminator's logits on a fake batch,

    .. math::

        L_G = \\operatorname{mean}\\,\\operatorname{softplus}(-D(G(z))) = -\\mathbb E\\log\\sigma(D(G(z))).

    Its gradient in the logit, :math:`-(1-\\sigma(u))/n`, stays large where the discriminator rejects the
    fakes (:math:`u \\to -\\infty`), unlike the saturating :math:`\\mathbb E\\log(1-\\sigma(u))`.
    """
    return jnp.mean(jax.nn.softplus(-fake_logits))


def mlp(sizes: Sequence[int], *, rngs: nnx.Rngs) -> nnx.Sequential:
    """A ReLU MLP ``sizes[0] -> sizes[1] -> ... -> sizes[-1]`` (no activation after the last layer)."""
    if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0 for s in sizes):
        raise ValueError(f"sizes: need at least two positive ints, got {sizes!r}")
    layers: list = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        layers += [nnx.Linear(d_in, d_out, rngs=rngs), nnx.relu]
    return nnx.Sequential(*layers[:-1])


class ModeCoverage(NamedTuple):
    """``covered`` modes (of ``len(fractions)``), each mode's sample ``fractions``, and ``quality``:
    the fraction of samples within the radius of some mode."""

    covered: int
    fractions: np.ndarray
    quality: float


def mode_coverage(samples: jax.Array, modes: jax.Array, radius: float = 0.1, min_frac: float = 0.01) -> ModeCoverage:
    """Which modes a sampler reaches: mode :math:`\\mu_j` is covered when
    :math:`\\frac1n\\#\\{i : \\|x_i - \\mu_j\\| \\le r\\} \\ge` ``min_frac``.

    ``samples`` is ``(n, d)``, ``modes`` ``(k, d)``; returns a :class:`ModeCoverage`. The usual
    8-Gaussian protocol: ``r = 0.1`` (5 standard deviations of the data), ``min_frac = 0.01``.
    """
    x, mu = np.asarray(samples, dtype=np.float64), np.asarray(modes, dtype=np.float64)
    if x.ndim != 2 or mu.ndim != 2 or x.shape[1] != mu.shape[1] or len(x) == 0:
        raise ValueError(f"samples, modes: need shapes (n, d) and (k, d), got {x.shape} and {mu.shape}")
    if not radius > 0 or not 0 < min_frac <= 1:
        raise ValueError(f"radius > 0 and 0 < min_frac <= 1 required, got radius={radius}, min_frac={min_frac}")
    near = np.linalg.norm(x[:, None, :] - mu[None, :, :], axis=-1) <= radius
    fractions = near.mean(axis=0)
    return ModeCoverage(int((fractions >= min_frac).sum()), fractions, float(near.any(axis=1).mean()))


# ------------------------------------------------------------------ the dynamics of GAN training (chapter 04)

from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

DIRAC_VARIANTS = ("vanilla", "ns", "wgan", "gp", "qp")


def hinge_discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """The hinge discriminator loss in the sign convention of Su's single-loss GAN (D is pushed *low* on
    real data):

    .. math::

        L_D = \\operatorname{mean}\\operatorname{relu}(1 + D(x)) + \\operatorname{mean}\\operatorname{relu}(1 - D(G(z))).
    """
    return jnp.mean(jax.nn.relu(1 + real_logits)) + jnp.mean(jax.nn.relu(1 - fake_logits))


def hinge_generator_loss(fake_logits: jax.Array) -> jax.Array:
    """The generator's loss matching :func:`hinge_discriminator_loss`: :math:`L_G = \\operatorname{mean} D(G(z))`."""
    return jnp.mean(fake_logits)


def gradient_penalty(critic: Callable[[jax.Array], jax.Array], x: jax.Array, center: float = 0.0) -> jax.Array:
    """The gradient penalty :math:`\\operatorname{mean}_i(\\|\\nabla_x D(x_i)\\| - c)^2` at the rows of ``x``.

    ``critic`` maps one point ``(d,)`` to a scalar; ``x`` is ``(n, d)``. ``center`` :math:`c = 0` is the
    zero-centred penalty (WGAN-div, Mescheder et al.), computed as :math:`\\|\\nabla_x D\\|^2` so that it is
    smooth at a zero gradient; :math:`c = 1` is WGAN-GP's.
    """
    if jnp.ndim(x) != 2:
        raise ValueError(f"x: need shape (n, d), got {jnp.shape(x)}")
    if not center >= 0:
        raise ValueError(f"center: must be >= 0, got {center}")
    g = jax.vmap(jax.grad(lambda xi: jnp.reshape(critic(xi), ())))(x)
    sq = jnp.sum(g**2, axis=-1)
    if center == 0:
        return jnp.mean(sq)
    return jnp.mean((jnp.sqrt(sq) - center) ** 2)


def dirac_losses(
    variant: str, *, lam: float = 1.0, center: float = 0.0, weight_decay: float = 0.0
) -> tuple[Callable[[jax.Array, jax.Array], jax.Array], Callable[[jax.Array, jax.Array], jax.Array]]:
    """The losses ``(L_D(phi, theta), L_G(phi, theta))`` of the Dirac GAN, both *minimised*.

    Real data is the point :math:`0`, the generator's output the point :math:`\\theta \\in \\mathbb R^d`,
    the critic :math:`D(x) = x\\cdot\\varphi` (constants of :math:`D(0)` dropped); :math:`a = \\theta\\cdot\\varphi`:

    * ``"vanilla"``: :math:`L_D = \\operatorname{softplus}(a)`, :math:`L_G = -\\operatorname{softplus}(a)` (saturating);
    * ``"ns"``: :math:`L_D = \\operatorname{softplus}(a)`, :math:`L_G = \\operatorname{softplus}(-a)`;
    * ``"wgan"``: :math:`D(x) = x\\cdot\\varphi/\\|\\varphi\\|`, :math:`L_D = a/\\|\\varphi\\|`, :math:`L_G = -L_D`
      (singular at :math:`\\varphi = 0`);
    * ``"gp"``: :math:`L_D = a + \\lambda(\\|\\varphi\\| - c)^2` (``lam``, ``center``), :math:`L_G = -a`;
    * ``"qp"`` (GAN-QP): :math:`L_D = a + a^2/(2\\lambda\\|\\theta\\|)`, :math:`L_G = -a` (singular at :math:`\\theta = 0`).

    ``weight_decay`` :math:`\\mu` adds :math:`\\tfrac\\mu2\\|\\varphi\\|^2` to :math:`L_D`.
    """
    if variant not in DIRAC_VARIANTS:
        raise ValueError(f"variant: expected one of {DIRAC_VARIANTS}, got {variant!r}")
    if not lam > 0 or not center >= 0 or not weight_decay >= 0:
        raise ValueError(f"lam > 0, center >= 0, weight_decay >= 0 required; got {lam}, {center}, {weight_decay}")

    def l2(phi):
        return 0.5 * weight_decay * jnp.sum(phi**2)

    if variant in ("vanilla", "ns"):
        d = lambda phi, th: jax.nn.softplus(th @ phi) + l2(phi)  # noqa: E731
        if variant == "ns":
            return d, lambda phi, th: jax.nn.softplus(-(th @ phi))
        return d, lambda phi, th: -jax.nn.softplus(th @ phi)
    if variant == "wgan":
        return (lambda phi, th: th @ phi / jnp.linalg.norm(phi) + l2(phi),
                lambda phi, th: -(th @ phi) / jnp.linalg.norm(phi))
    if variant == "gp":
        pen = (lambda phi: lam * jnp.sum(phi**2)) if center == 0 else (
            lambda phi: lam * (jnp.linalg.norm(phi) - center) ** 2)
        return lambda phi, th: th @ phi + pen(phi) + l2(phi), lambda phi, th: -(th @ phi)
    return (lambda phi, th: th @ phi + (th @ phi) ** 2 / (2 * lam * jnp.linalg.norm(th)) + l2(phi),
            lambda phi, th: -(th @ phi))


def dirac_field(variant: str, **kwargs: float) -> Callable[[jax.Array], jax.Array]:
    """The gradient-flow field of the Dirac GAN on the state :math:`s = (\\varphi, \\theta) \\in \\mathbb R^{2d}`,

    .. math::

        \\dot\\varphi = -\\nabla_\\varphi L_D(\\varphi, \\theta), \\qquad \\dot\\theta = -\\nabla_\\theta L_G(\\varphi, \\theta),

    with the losses of :func:`dirac_losses` (``kwargs``: ``lam``, ``center``, ``weight_decay``). The
    returned function maps ``s`` of shape ``(2d,)`` to :math:`\\dot s`; it is jittable and differentiable.
    """
    loss_d, loss_g = dirac_losses(variant, **kwargs)

    def field(s: jax.Array) -> jax.Array:
        s = jnp.asarray(s)
        if s.ndim != 1 or s.shape[0] % 2:
            raise ValueError(f"s: need a state (phi, theta) of even length 2d, got shape {s.shape}")
        phi, th = jnp.split(s, 2)
        return jnp.concatenate([-jax.grad(loss_d, 0)(phi, th), -jax.grad(loss_g, 1)(phi, th)])

    return field


def jacobian_eigenvalues(field: Callable[[jax.Array], jax.Array], point: jax.Array) -> np.ndarray:
    """The eigenvalues of the Jacobian :math:`\\partial f/\\partial s` of ``field`` at ``point`` (by
    ``jax.jacfwd``), sorted by real then imaginary part. The equilibrium is locally asymptotically stable
    when all have negative real part; purely imaginary ones mean the linearisation only rotates.
    """
    point = jnp.asarray(point)
    if point.ndim != 1:
        raise ValueError(f"point: need a 1-D state, got shape {point.shape}")
    jac = np.asarray(jax.jacfwd(field)(point), dtype=np.float64)
    if not np.all(np.isfinite(jac)):
        raise ValueError("point: the Jacobian is not finite there (a singular point of the field?)")
    ev = np.linalg.eigvals(jac)
    return ev[np.lexsort((ev.imag, ev.real))]


def ema(path: jax.Array, beta: float, *, bias_correction: bool = True) -> jax.Array:
    """The exponential moving average of a trajectory ``path`` (axis 0 = time) started at zero,

    .. math::

        m_t = \\beta m_{t-1} + (1-\\beta) x_t,\\quad m_0 = 0, \\qquad \\hat m_t = m_t / (1 - \\beta^t),

    returning :math:`\\hat m` (bias-corrected, as in Adam). With ``bias_correction=False`` the average starts
    instead at the first point, :math:`m_0 = x_1` (the usual weight EMA initialised at the first weights,
    which keeps a fraction :math:`\\beta^t` of them).
    """
    x = jnp.asarray(path)
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(f"path: need a non-empty array with time on axis 0, got shape {x.shape}")
    if not 0 <= beta < 1:
        raise ValueError(f"beta: need 0 <= beta < 1, got {beta}")
    m0 = jnp.zeros_like(x[0]) if bias_correction else x[0]

    def body(m, xt):
        m = beta * m + (1 - beta) * xt
        return m, m

    _, ms = jax.lax.scan(body, m0, x)
    if not bias_correction:
        return ms
    t = jnp.arange(1, x.shape[0] + 1, dtype=ms.dtype).reshape((-1,) + (1,) * (x.ndim - 1))
    return ms / (1 - beta**t)


def single_loss(
    d_apply: Callable[[Any, jax.Array], jax.Array],
    g_apply: Callable[[Any, jax.Array], jax.Array],
    params: tuple[Any, Any],
    x: jax.Array,
    z: jax.Array,
    lam: float = 1.0,
) -> jax.Array:
    """Su's single-loss GAN (kexue.fm/archives/6387): one scalar whose gradient gives each player its own.

    With :math:`\\operatorname{sg}` = ``jax.lax.stop_gradient`` and :math:`\\tilde G = \\operatorname{sg}(G(z))`,

    .. math::

        L = \\underbrace{\\operatorname{mean}\\operatorname{relu}(1 + D(x)) + \\operatorname{mean}\\operatorname{relu}(1 - D(\\tilde G))}_{L_D}
            + \\lambda\\,\\operatorname{mean}\\big[D(G(z)) - D(\\tilde G)\\big].

    The bracket is identically 0 in value; its gradient is :math:`0` in D's parameters and
    :math:`\\nabla_G\\operatorname{mean}D(G(z))` in G's. So :math:`\\nabla L = (\\nabla_D L_D,\\ \\lambda\\nabla_G L_G)`,
    both taken at the same point: one optimiser step on :math:`L` is a *simultaneous* game step.
    ``params = (d_params, g_params)``; ``d_apply(d_params, x)`` and ``g_apply(g_params, z)`` return arrays.
    """
    if not (isinstance(params, tuple) and len(params) == 2):
        raise TypeError(f"params: expected a tuple (d_params, g_params), got {type(params).__name__}")
    d_params, g_params = params
    fake = g_apply(g_params, z)
    fake_ng = jax.lax.stop_gradient(fake)
    loss_d = hinge_discriminator_loss(d_apply(d_params, x), d_apply(d_params, fake_ng))
    return loss_d + lam * jnp.mean(d_apply(d_params, fake) - d_apply(d_params, fake_ng))


__all__ += ["DIRAC_VARIANTS", "dirac_field", "dirac_losses", "ema", "gradient_penalty", "hinge_discriminator_loss",
            "hinge_generator_loss", "jacobian_eigenvalues", "single_loss"]
