"""GANs: losses, the toy networks and the mode-coverage metric.

With discriminator logits :math:`D(x) \\in \\mathbb R` and :math:`\\sigma` the logistic function, the
vanilla GAN (Goodfellow et al., 2014) with the *non-saturating* generator loss is

.. math::

    L_D = \\mathbb E_{x\\sim p}\\big[-\\log\\sigma(D(x))\\big] + \\mathbb E_{z}\\big[-\\log(1-\\sigma(D(G(z))))\\big],
    \\qquad
    L_G = \\mathbb E_{z}\\big[-\\log\\sigma(D(G(z)))\\big],

computed stably as :math:`-\\log\\sigma(u) = \\operatorname{softplus}(-u)` and
:math:`-\\log(1-\\sigma(u)) = \\operatorname{softplus}(u)`.

Arguments are validated through :mod:`kexue.checks`: wrong types raise ``TypeError``, wrong values (empty
batches, NaN/inf, wrong shapes, out-of-range parameters) ``ValueError``; both messages start with the
argument's name.  The losses, :func:`gradient_penalty`, :func:`single_loss` and the Dirac-GAN losses and fields
are meant for ``jax.jit``: on traced values only shapes and dtypes are checked (which costs nothing at run
time), so a batch of NaN logits inside a jitted step is caught by :func:`kexue.train.run`, not here.  The
losses are plain means (kept so, bit for bit, in the jitted training step): they overflow to inf only for
logits beyond about ``max_float / batch`` (3e38/n in float32), a diverged discriminator that ``train.run`` reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from kexue import checks

__all__ = ["DIRAC_VARIANTS", "ModeCoverage", "dirac_field", "dirac_losses", "ema", "gradient_penalty",
           "hinge_discriminator_loss", "hinge_generator_loss", "imle_loss", "jacobian_eigenvalues", "kernel_nll",
           "mlp", "mode_coverage", "ns_discriminator_loss", "ns_generator_loss", "ogan_loss", "pearson_rho",
           "reverse_imle_loss", "single_loss", "standardize"]

DIRAC_VARIANTS = ("vanilla", "ns", "wgan", "gp", "qp")


# -- validation (host side; values traced by jit/vmap/grad are checked for shape and dtype only) -------------
def _floating(x: Any, name: str, **kwargs: Any) -> jax.Array:
    """A real array (ints promoted to the default float) as a JAX array, validated by :func:`kexue.checks.array`."""
    checks.array(x, name, kinds="iuf", **kwargs)
    a = jnp.asarray(x)
    return a if jnp.issubdtype(a.dtype, jnp.floating) else a.astype(jnp.result_type(float))


def _logits(u: Any, name: str) -> jax.Array:
    """Discriminator outputs: a real array with at least one value (an empty batch has no mean), no NaN/inf."""
    checks.array(u, name, kinds="iuf")
    return jnp.asarray(u)


# -- the losses ------------------------------------------------------------------------------------------------
def ns_discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """The discriminator's loss from its logits on a real and a fake batch,

    .. math::

        L_D = \\operatorname{mean}\\operatorname{softplus}(-D(x))
            + \\operatorname{mean}\\operatorname{softplus}(D(G(z))).

    Raises:
        TypeError: logits that are not a real array (None, strings, bools, complex).
        ValueError: an empty batch; NaN/inf logits (checked when the values are concrete, not under ``jit``).
    """
    u, v = _logits(real_logits, "real_logits"), _logits(fake_logits, "fake_logits")
    return jnp.mean(jax.nn.softplus(-u)) + jnp.mean(jax.nn.softplus(v))


def ns_generator_loss(fake_logits: jax.Array) -> jax.Array:
    """The non-saturating generator loss from the discriminator's logits on a fake batch,

    .. math::

        L_G = \\operatorname{mean}\\,\\operatorname{softplus}(-D(G(z))) = -\\mathbb E\\log\\sigma(D(G(z))).

    Its gradient in the logit, :math:`-(1-\\sigma(u))/n`, stays large where the discriminator rejects the
    fakes (:math:`u \\to -\\infty`), unlike the saturating :math:`\\mathbb E\\log(1-\\sigma(u))`.

    Raises: as :func:`ns_discriminator_loss`.
    """
    return jnp.mean(jax.nn.softplus(-_logits(fake_logits, "fake_logits")))


def _hinge_d(u: jax.Array, v: jax.Array) -> jax.Array:
    return jnp.mean(jax.nn.relu(1 + u)) + jnp.mean(jax.nn.relu(1 - v))


def hinge_discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """The hinge discriminator loss in the sign convention of Su's single-loss GAN (D is pushed *low* on
    real data):

    .. math::

        L_D = \\operatorname{mean}\\operatorname{relu}(1 + D(x)) + \\operatorname{mean}\\operatorname{relu}(1 - D(G(z))).

    Raises: as :func:`ns_discriminator_loss`.
    """
    return _hinge_d(_logits(real_logits, "real_logits"), _logits(fake_logits, "fake_logits"))


def hinge_generator_loss(fake_logits: jax.Array) -> jax.Array:
    """The generator's loss matching :func:`hinge_discriminator_loss`: :math:`L_G = \\operatorname{mean} D(G(z))`.

    Raises: as :func:`ns_discriminator_loss`.
    """
    return jnp.mean(_logits(fake_logits, "fake_logits"))


# -- networks and the mode-coverage metric ------------------------------------------------------------------------
def mlp(sizes: Sequence[int], *, rngs: nnx.Rngs) -> nnx.Sequential:
    """A ReLU MLP ``sizes[0] -> sizes[1] -> ... -> sizes[-1]`` (no activation after the last layer).

    Raises:
        TypeError: ``sizes`` not a sequence of ints (strings, None, floats, bools); ``rngs`` not ``nnx.Rngs``.
        ValueError: fewer than two sizes, or a size < 1.
    """
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Iterable):
        raise TypeError(f"sizes: expected a sequence of ints (layer widths), got {type(sizes).__name__} {sizes!r}")
    sizes = [checks.count(s, f"sizes[{i}]") for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes: need at least two layer widths (input and output), got {sizes}")
    if not isinstance(rngs, nnx.Rngs):
        raise TypeError(f"rngs: expected flax.nnx.Rngs, got {type(rngs).__name__}")
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
    8-Gaussian protocol: ``r = 0.1`` (5 standard deviations of the data), ``min_frac = 0.01``. Distances are
    compared as :math:`\\|(x_i - \\mu_j)/r\\| \\le 1` in float64, so no square under- or overflows at any scale.

    Raises:
        TypeError: ``samples``/``modes`` not real arrays; ``radius``/``min_frac`` not real numbers.
        ValueError: shapes other than ``(n, d)`` and ``(k, d)`` with ``n, k, d >= 1``; NaN/inf samples or modes
            (a NaN sample is near no mode: counting it would report a broken sampler as "0 modes"); ``radius`` not
            finite and > 0; ``min_frac`` outside ``(0, 1]``.
    """
    x = checks.array(samples, "samples", ndim=2, kinds="iuf")
    mu = checks.array(modes, "modes", ndim=2, kinds="iuf")
    x, mu = np.asarray(x, dtype=np.float64), np.asarray(mu, dtype=np.float64)
    if mu.shape[1] != x.shape[1]:
        raise ValueError(f"modes: must have the samples' dimension d = {x.shape[1]}, got shape {mu.shape}")
    radius = checks.real(radius, "radius", positive=True)
    min_frac = checks.real(min_frac, "min_frac", positive=True)
    if min_frac > 1:
        raise ValueError(f"min_frac: must lie in (0, 1], got {min_frac}")
    with np.errstate(over="ignore"):  # a distance beyond the floats is inf: far from every mode, rightly
        near = np.linalg.norm((x[:, None, :] - mu[None, :, :]) / radius, axis=-1) <= 1.0
    fractions = near.mean(axis=0)
    return ModeCoverage(int((fractions >= min_frac).sum()), fractions, float(near.any(axis=1).mean()))


# -- the dynamics of GAN training (chapter 04) ------------------------------------------------------------------
def gradient_penalty(critic: Callable[[jax.Array], jax.Array], x: jax.Array, center: float = 0.0) -> jax.Array:
    """The gradient penalty :math:`\\operatorname{mean}_i(\\|\\nabla_x D(x_i)\\| - c)^2` at the rows of ``x``.

    ``critic`` maps one point ``(d,)`` to a scalar; ``x`` is ``(n, d)`` (integers are promoted to floats).
    ``center`` :math:`c = 0` is the zero-centred penalty (WGAN-div, Mescheder et al.), computed as
    :math:`\\|\\nabla_x D\\|^2` so that it is smooth at a zero gradient; :math:`c = 1` is WGAN-GP's.

    Raises:
        TypeError: ``critic`` not callable, or returning a non-float; ``x`` not a real array; ``center`` not a
            concrete real number.
        ValueError: ``x`` not ``(n, d)`` with ``n, d >= 1``, or (when concrete) holding NaN/inf; ``critic``
            returning more than one value per point; ``center`` not finite and >= 0.
    """
    checks.callable_(critic, "critic")
    x = _floating(x, "x", ndim=2)
    center = checks.real(center, "center", nonnegative=True)

    def value(xi: jax.Array) -> jax.Array:
        out = critic(xi)
        if not hasattr(out, "dtype"):
            try:
                out = jnp.asarray(out)
            except (TypeError, ValueError):
                raise TypeError(f"critic: must return a scalar array, got {type(out).__name__}") from None
        if out.size != 1:
            raise ValueError(f"critic: must map one point {xi.shape} to a scalar, got shape {out.shape}")
        if not jnp.issubdtype(out.dtype, jnp.floating):
            raise TypeError(f"critic: must return a real float (it is differentiated), got dtype {out.dtype}")
        return jnp.reshape(out, ())

    g = jax.vmap(jax.grad(value))(x)
    sq = jnp.sum(g**2, axis=-1)
    if center == 0:
        return jnp.mean(sq)
    return jnp.mean((jnp.sqrt(sq) - center) ** 2)


def _unit(v: jax.Array) -> jax.Array:
    """:math:`v/\\|v\\|` without under- or overflow in :math:`v\\cdot v`: :math:`w/\\|w\\|` with :math:`w = v/m`,
    :math:`m = \\max_i|v_i|`, held constant under differentiation (exact: :math:`v/\\|v\\|` is 0-homogeneous).
    NaN at :math:`v = 0` only."""
    m = jax.lax.stop_gradient(jnp.max(jnp.abs(v)))
    w = v / jnp.where(m > 0, m, jnp.ones_like(m))
    return w / jnp.sqrt(jnp.sum(w**2))


@jax.custom_jvp
def _norm(v: jax.Array) -> jax.Array:
    """:math:`\\|v\\| = m\\|v/m\\|` (:math:`m = \\max_i|v_i|`), with derivative :math:`v/\\|v\\|` by :func:`_unit`,
    so that neither the value nor a gradient passing through it under- or overflows before the result does.
    Its derivative is NaN at :math:`v = 0` only."""
    m = jnp.max(jnp.abs(v))
    m = jnp.where(m > 0, m, jnp.ones_like(m))
    return m * jnp.sqrt(jnp.sum((v / m) ** 2))


@_norm.defjvp
def _norm_jvp(primals: tuple[jax.Array], tangents: tuple[jax.Array]) -> tuple[jax.Array, jax.Array]:
    (v,), (dv,) = primals, tangents
    return _norm(v), _unit(v) @ dv


def _players(phi: Any, th: Any) -> tuple[jax.Array, jax.Array]:
    """The critic's :math:`\\varphi` and the generator's :math:`\\theta`: real vectors of one length d >= 1."""
    phi, th = _floating(phi, "phi", ndim=1), _floating(th, "theta", ndim=1)
    if th.shape != phi.shape:
        raise ValueError(f"theta: must have the shape of phi {phi.shape}, got {th.shape}")
    return phi, th


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
    * ``"gp"``: :math:`L_D = a + \\lambda(\\|\\varphi\\| - c)^2` (``lam``, ``center``), :math:`L_G = -a`
      (for :math:`c > 0` its gradient is singular at :math:`\\varphi = 0`);
    * ``"qp"`` (GAN-QP): :math:`L_D = a + a^2/(2\\lambda\\|\\theta\\|)`, :math:`L_G = -a` (singular at :math:`\\theta = 0`).

    ``weight_decay`` :math:`\\mu` adds :math:`\\tfrac\\mu2\\|\\varphi\\|^2` to :math:`L_D`. Norms and directions
    are computed scaled by the largest component (:math:`a/\\|\\varphi\\| = \\theta\\cdot\\hat\\varphi`,
    :math:`a^2/\\|\\theta\\| = a\\,(\\hat\\theta\\cdot\\varphi)`), so the losses and their gradients stay finite
    for any finite non-singular state, however large or small.

    The returned functions take ``phi`` and ``theta``: real vectors of one length d >= 1 (checked for shape when
    traced, also for NaN/inf when concrete).

    Raises:
        ValueError: an unknown ``variant``; ``lam`` not finite and > 0; ``center``, ``weight_decay`` not finite
            and >= 0; ``lam`` other than 1 for a variant without it (only ``"gp"`` and ``"qp"`` use it), or
            ``center`` other than 0 outside ``"gp"`` (they would be ignored silently).
        TypeError: parameters that are not real numbers.
    """
    checks.one_of(variant, "variant", DIRAC_VARIANTS)
    lam = checks.real(lam, "lam", positive=True)
    center = checks.real(center, "center", nonnegative=True)
    weight_decay = checks.real(weight_decay, "weight_decay", nonnegative=True)
    if lam != 1.0 and variant not in ("gp", "qp"):
        raise ValueError(f"lam: only the 'gp' and 'qp' variants have a weight lam; {variant!r} would ignore lam={lam}")
    if center != 0.0 and variant != "gp":
        raise ValueError(f"center: only the 'gp' variant has a center; {variant!r} would ignore center={center}")

    def l2(phi):
        return 0.5 * weight_decay * jnp.sum(phi**2)

    def loss(d_part, g_part):
        def loss_d(phi, th):
            phi, th = _players(phi, th)
            return d_part(phi, th) + l2(phi)

        def loss_g(phi, th):
            return g_part(*_players(phi, th))

        return loss_d, loss_g

    if variant in ("vanilla", "ns"):
        g_part = (lambda phi, th: jax.nn.softplus(-(th @ phi))) if variant == "ns" else (
            lambda phi, th: -jax.nn.softplus(th @ phi))
        return loss(lambda phi, th: jax.nn.softplus(th @ phi), g_part)
    if variant == "wgan":
        return loss(lambda phi, th: th @ _unit(phi), lambda phi, th: -(th @ _unit(phi)))
    if variant == "gp":
        pen = (lambda phi: lam * jnp.sum(phi**2)) if center == 0 else (
            lambda phi: lam * (_norm(phi) - center) ** 2)
        return loss(lambda phi, th: th @ phi + pen(phi), lambda phi, th: -(th @ phi))
    return loss(lambda phi, th: th @ phi + (th @ phi) * (_unit(th) @ phi) / (2 * lam), lambda phi, th: -(th @ phi))


_SINGULAR = {"wgan": "; WGAN is singular at phi = 0", "gp": "; GP with center > 0 is singular at phi = 0",
             "qp": "; GAN-QP is singular at theta = 0"}


def dirac_field(variant: str, **kwargs: float) -> Callable[[jax.Array], jax.Array]:
    """The gradient-flow field of the Dirac GAN on the state :math:`s = (\\varphi, \\theta) \\in \\mathbb R^{2d}`,

    .. math::

        \\dot\\varphi = -\\nabla_\\varphi L_D(\\varphi, \\theta), \\qquad \\dot\\theta = -\\nabla_\\theta L_G(\\varphi, \\theta),

    with the losses of :func:`dirac_losses` (``kwargs``: ``lam``, ``center``, ``weight_decay``). The
    returned function maps ``s`` of shape ``(2d,)`` to :math:`\\dot s`; it is jittable and differentiable.

    Raises: as :func:`dirac_losses`; the field raises ``ValueError`` for ``s`` not a real vector of even length
    >= 2 and, when ``s`` is concrete, for NaN/inf in ``s`` or a non-finite velocity (a singular point such as
    :math:`\\varphi = 0` for WGAN). Under ``jit``/``vmap`` a singular point gives NaN (only shapes are checked).
    """
    loss_d, loss_g = dirac_losses(variant, **kwargs)

    def field(s: jax.Array) -> jax.Array:
        s = _floating(s, "s", ndim=1)
        if s.shape[0] % 2:
            raise ValueError(f"s: need a state (phi, theta) of even length 2d, got shape {s.shape}")
        phi, th = jnp.split(s, 2)
        v = jnp.concatenate([-jax.grad(loss_d, 0)(phi, th), -jax.grad(loss_g, 1)(phi, th)])
        if not checks.is_traced(v) and not bool(jnp.all(jnp.isfinite(v))):
            raise ValueError(f"s: the {variant!r} field is not finite at this state (a singular point, or a velocity "
                             f"beyond the floats{_SINGULAR.get(variant, '')})")
        return v

    return field


def jacobian_eigenvalues(field: Callable[[jax.Array], jax.Array], point: jax.Array) -> np.ndarray:
    """The eigenvalues of the Jacobian :math:`\\partial f/\\partial s` of ``field`` at ``point`` (by
    ``jax.jacfwd``), sorted by real then imaginary part. The equilibrium is locally asymptotically stable
    when all have negative real part; purely imaginary ones mean the linearisation only rotates.

    Raises:
        TypeError: ``field`` not callable or returning complex values; ``point`` not a real array.
        ValueError: ``point`` not a non-empty 1-D state or holding NaN/inf; ``field`` not mapping ``(n,)`` to
            ``(n,)``; a Jacobian that is not finite at ``point`` (a singular point of the field).
    """
    checks.callable_(field, "field")
    point = _floating(point, "point", ndim=1)
    jac = jax.jacfwd(field)(point)
    n = point.shape[0]
    if jnp.shape(jac) != (n, n):
        raise ValueError(f"field: must map a state of shape ({n},) to a velocity of the same shape; its Jacobian "
                         f"at point has shape {jnp.shape(jac)}")
    if jnp.issubdtype(jnp.result_type(jac), jnp.complexfloating):
        raise TypeError(f"field: must return real values, got dtype {jnp.result_type(jac)}")
    jac = np.asarray(jac, dtype=np.float64)
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

    Computed on the host in float64 (complex128 for complex paths) and returned as a JAX array of the path's
    dtype (integers give the default float). Both averages are affine in the path and reproduce constants, so
    they are evaluated as :math:`x_1 + e_t` (resp. :math:`x_1 + e_t/(1-\\beta^t)`) with
    :math:`e_t = \\beta e_{t-1} + (1-\\beta)(x_t - x_1)`, :math:`e_0 = 0` (``scipy.signal.lfilter``) and
    :math:`1-\\beta^t = -\\operatorname{expm1}(t\\operatorname{log1p}(-(1-\\beta)))`, on the path scaled by a
    power of two: a constant path comes back exactly, in float32 with :math:`\\beta = 0.9999` too, and nothing
    overflows up to the largest floats.

    Raises:
        TypeError: ``path`` not a real or complex array (or a traced JAX value: this runs on the host); ``beta``
            not a real number; ``bias_correction`` not a bool.
        ValueError: ``path`` without a time axis, empty or holding NaN/inf; ``beta`` outside ``[0, 1)``.
    """
    from scipy.signal import lfilter  # here, not at the top: scipy.signal takes ~0.7 s to import

    if checks.is_traced(path):
        raise TypeError("path: expected a concrete array (ema runs on the host in float64), got a traced JAX value")
    x = checks.array(path, "path", kinds="iufc")
    if x.ndim < 1:
        raise ValueError(f"path: need an array with time on axis 0, got shape {x.shape}")
    beta = checks.real(beta, "beta")
    if not 0 <= beta < 1:
        raise ValueError(f"beta: must lie in [0, 1), got {beta}")
    checks.flag(bias_correction, "bias_correction")
    x = np.asarray(x)
    out_dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.inexact) else np.dtype(np.float64)
    y = x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)
    top = float(np.max(np.abs(y)))
    scale = np.ldexp(1.0, int(np.frexp(top)[1]) - 1) if top > 0 else 1.0  # |y / scale| < 2, exactly
    y = y / scale
    e = lfilter([1.0 - beta], [1.0, -beta], y - y[0], axis=0)
    if bias_correction:
        t = np.arange(1, len(y) + 1, dtype=np.float64).reshape((-1,) + (1,) * (y.ndim - 1))
        with np.errstate(divide="ignore"):  # beta = 0: log1p(-1) = -inf, and 1 - 0^t = 1
            e = e / -np.expm1(t * np.log1p(-(1.0 - beta)))
    return jnp.asarray(((y[0] + e) * scale).astype(out_dtype))


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

    Raises:
        TypeError: ``d_apply``/``g_apply`` not callable; ``params`` not a 2-tuple; ``x``, ``z`` or the
            discriminator's outputs not real arrays; ``lam`` not a real number.
        ValueError: ``x``, ``z`` or the discriminator's outputs empty or (when concrete) holding NaN/inf;
            ``lam`` not finite and > 0 (:math:`\\lambda \\le 0` stops or reverses the generator; a traced ``lam`` is
            not checked).
    """
    checks.callable_(d_apply, "d_apply")
    checks.callable_(g_apply, "g_apply")
    if not (isinstance(params, tuple) and len(params) == 2):
        raise TypeError(f"params: expected a tuple (d_params, g_params), got {type(params).__name__}")
    checks.array(x, "x", kinds="iuf")
    checks.array(z, "z", kinds="iuf")
    if not checks.is_traced(lam):
        lam = checks.real(lam, "lam", positive=True)
    d_params, g_params = params
    fake = g_apply(g_params, z)
    fake_ng = jax.lax.stop_gradient(fake)
    loss_d = _hinge_d(_logits(d_apply(d_params, x), "d_apply(d_params, x)"),
                      _logits(d_apply(d_params, fake_ng), "d_apply(d_params, g_apply(g_params, z))"))
    return loss_d + lam * jnp.mean(d_apply(d_params, fake) - d_apply(d_params, fake_ng))


# -- O-GAN (kexue.fm/archives/6409) and IMLE (kexue.fm/archives/6394) ------------------------------------------
def _vectors(z: Any, name: str) -> jax.Array:
    """A real array whose last axis (the vector's components) has at least 2 entries."""
    a = _floating(z, name)
    if a.ndim < 1 or a.shape[-1] < 2:
        raise ValueError(f"{name}: the last axis holds the vector's components and needs at least 2, got shape {a.shape}")
    return a


def standardize(z: jax.Array) -> jax.Array:
    """O-GAN's :math:`\\mathcal N(z) = (z - \\operatorname{avg}(z)) / \\operatorname{std}(z)` along the last axis,

    .. math::

        \\operatorname{avg}(z) = \\frac1{n}\\sum_i z_i,\\qquad
        \\operatorname{std}(z) = \\sqrt{\\tfrac1{n}\\textstyle\\sum_i (z_i - \\operatorname{avg}(z))^2}

    (the population standard deviation), so :math:`\\|\\mathcal N(z)\\|^2 = n`. A constant vector has no direction:
    it gives NaN (0/0), which :func:`kexue.train.run` reports if it happens in training.

    Raises:
        TypeError: ``z`` not a real array.
        ValueError: fewer than 2 components on the last axis; NaN/inf (when concrete).
    """
    z = _vectors(z, "z")
    c = z - jnp.mean(z, axis=-1, keepdims=True)
    return c / jnp.sqrt(jnp.mean(c * c, axis=-1, keepdims=True))


def pearson_rho(z: jax.Array, zh: jax.Array) -> jax.Array:
    """The Pearson correlation of two vectors across their components (last axis), row by row:

    .. math::

        \\rho(z, \\hat z) = \\frac{\\frac1n\\sum_i (z_i - \\operatorname{avg} z)(\\hat z_i - \\operatorname{avg}\\hat z)}
        {\\operatorname{std}(z)\\operatorname{std}(\\hat z)} = \\frac1n\\,\\mathcal N(z)\\cdot\\mathcal N(\\hat z)
        = \\cos(\\mathcal N(z), \\mathcal N(\\hat z)).

    Raises: as :func:`standardize`; ``ValueError`` when the shapes differ.
    """
    z, zh = _vectors(z, "z"), _vectors(zh, "zh")
    if z.shape != zh.shape:
        raise ValueError(f"zh: must have the shape of z {z.shape}, got {zh.shape}")
    return jnp.mean(standardize(z) * standardize(zh), axis=-1)


def ogan_loss(
    e_apply: Callable[[Any, jax.Array], jax.Array],
    g_apply: Callable[[Any, jax.Array], jax.Array],
    params: tuple[Any, Any],
    x: jax.Array,
    z: jax.Array,
    lam: float = 0.5,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """O-GAN's simplest form (6409) in one loss through the stop-gradient trick of 6387.

    The encoder :math:`E:\\mathbb R^{n_x}\\to\\mathbb R^{n_z}` is the discriminator through
    :math:`D(x) = \\operatorname{avg}(E(x))`; with :math:`\\tilde G = \\operatorname{sg}(G(z))` and the hinge loss
    of :func:`hinge_discriminator_loss` (D pushed low on real data),

    .. math::

        L = \\underbrace{\\operatorname{mean}\\operatorname{relu}(1 + D(x)) + \\operatorname{mean}\\operatorname{relu}(1 - D(\\tilde G))}_{\\text{E only}}
          + \\underbrace{\\operatorname{mean}\\big[D(G(z)) - D(\\tilde G)\\big]}_{\\text{value 0; G only}}
          - \\lambda\\,\\operatorname{mean}\\rho\\big(z, E(G(z))\\big),

    so E descends :math:`L_D - \\lambda\\rho`, G descends :math:`\\operatorname{mean}D(G(z)) - \\lambda\\rho`, both at the
    same point (a simultaneous step). ``params = (e_params, g_params)``; ``e_apply(e_params, x)`` returns
    ``(batch, n_z)``, ``g_apply(g_params, z)`` returns a batch of samples. Returns ``(loss, metrics)`` with
    ``metrics = {"rho": mean ρ, "d_loss": the hinge loss}`` (the protocol of :func:`kexue.train.supervised_step`).

    Raises:
        TypeError: ``e_apply``/``g_apply`` not callable; ``params`` not a 2-tuple; ``x``, ``z`` not real arrays;
            ``lam`` not a real number.
        ValueError: ``z`` with fewer than 2 components; ``lam`` negative or not finite (a traced ``lam`` is not
            checked).
    """
    checks.callable_(e_apply, "e_apply")
    checks.callable_(g_apply, "g_apply")
    if not (isinstance(params, tuple) and len(params) == 2):
        raise TypeError(f"params: expected a tuple (e_params, g_params), got {type(params).__name__}")
    checks.array(x, "x", kinds="iuf")
    z = _vectors(z, "z")
    if not checks.is_traced(lam):
        lam = checks.real(lam, "lam", nonnegative=True)
    e_params, g_params = params
    fake = g_apply(g_params, z)
    fake_ng = jax.lax.stop_gradient(fake)
    e_fake = e_apply(e_params, fake)
    d_real, d_fake, d_fake_ng = (jnp.mean(e, axis=-1) for e in (e_apply(e_params, x), e_fake, e_apply(e_params, fake_ng)))
    loss_d = _hinge_d(d_real, d_fake_ng)
    rho = jnp.mean(pearson_rho(z, e_fake))
    return loss_d + jnp.mean(d_fake - d_fake_ng) - lam * rho, {"rho": rho, "d_loss": loss_d}


def _point_sets(a: Any, b: Any, na: str, nb: str) -> tuple[jax.Array, jax.Array]:
    a, b = _floating(a, na), _floating(b, nb)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"{nb}: expected two (n, d) point sets with the same d, got {na} {a.shape} and {nb} {b.shape}")
    return a, b


def _sq_dists(a: jax.Array, b: jax.Array) -> jax.Array:
    """:math:`\\|a_i - b_j\\|^2` for all pairs, shape ``(len(a), len(b))``."""
    return jnp.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)


def imle_loss(x: jax.Array, fake: jax.Array) -> jax.Array:
    """Implicit maximum likelihood (IMLE): every real point pulls its nearest fake,

    .. math::

        L = \\frac1M\\sum_{i=1}^M \\min_{j} \\|x_i - G(z_j)\\|^2,

    the :math:`\\sigma\\to0` limit (times :math:`2\\sigma^2`) of the Gaussian-kernel likelihood
    :math:`-\\frac1M\\sum_i\\log\\sum_j \\exp(-\\|x_i - G(z_j)\\|^2/2\\sigma^2)`, see :func:`kernel_nll`.
    ``x`` is ``(M, d)``, ``fake`` ``(N, d)``.

    Raises:
        TypeError: not real arrays. ValueError: not two ``(n, d)`` sets with the same ``d``; NaN/inf (when concrete).
    """
    x, fake = _point_sets(x, fake, "x", "fake")
    return jnp.mean(jnp.min(_sq_dists(x, fake), axis=1))


def reverse_imle_loss(fake: jax.Array, x: jax.Array, fake2: jax.Array, margin: float | None = None) -> jax.Array:
    """The reverse-KL variant of IMLE (6394): every fake goes to its nearest real point and away from its nearest
    fake of a second, independent batch,

    .. math::

        L = \\frac1N\\sum_{i=1}^N\\Big[\\min_j\\|G(z_i) - x_j\\|^2 - \\min_k\\|G(z_i) - G(z'_k)\\|^2\\Big]
        \\quad\\text{or, with a margin } m,\\quad
        \\frac1N\\sum_i\\Big[\\min_j\\|G(z_i) - x_j\\|^2 + \\operatorname{relu}\\big(m - \\min_k\\|G(z_i) - G(z'_k)\\|^2\\big)\\Big].

    It is :math:`2\\sigma^2\\,\\mathrm{KL}(q\\|p)` up to constants as :math:`\\sigma\\to0`, with both densities
    replaced by Gaussian kernel estimates (:math:`-\\log p \\to \\min_j\\|\\cdot - x_j\\|^2/2\\sigma^2`,
    :math:`\\log q \\to -\\min_k\\|\\cdot - G(z'_k)\\|^2/2\\sigma^2`). The article prints it with an extra overall minus
    sign, which would push the fakes *away* from the data.

    Raises:
        TypeError: not real arrays; ``margin`` not a real number. ValueError: not ``(n, d)`` sets with one ``d``;
            ``margin`` negative or not finite.
    """
    fake, x = _point_sets(fake, x, "fake", "x")
    fake, fake2 = _point_sets(fake, fake2, "fake", "fake2")
    attract = jnp.min(_sq_dists(fake, x), axis=1)
    nearest_fake = jnp.min(_sq_dists(fake, fake2), axis=1)
    if margin is None:
        return jnp.mean(attract - nearest_fake)
    margin = checks.real(margin, "margin", nonnegative=True)
    return jnp.mean(attract + jax.nn.relu(margin - nearest_fake))


def kernel_nll(d: jax.Array, sigma: float) -> jax.Array:
    """The Gaussian-kernel negative log-likelihood of one real point, scaled by :math:`2\\sigma^2`, from its squared
    distances :math:`d_j = \\|x - G(z_j)\\|^2` to the fakes (last axis):

    .. math::

        -2\\sigma^2 \\log\\sum_j \\exp\\!\\Big(-\\frac{d_j}{2\\sigma^2}\\Big),
        \\qquad \\min_j d_j - 2\\sigma^2\\log N \\;\\le\\; \\cdot \\;\\le\\; \\min_j d_j,

    so it tends to :math:`\\min_j d_j` (the IMLE loss) as :math:`\\sigma\\to0`.

    Raises:
        TypeError: ``d`` not a real array, ``sigma`` not a real number. ValueError: empty ``d``, NaN/inf;
            ``sigma`` not finite and > 0.
    """
    d = _floating(d, "d")
    if d.ndim < 1:
        raise ValueError("d: expected the distances along a last axis, got a scalar")
    sigma = checks.real(sigma, "sigma", positive=True)
    return -2 * sigma**2 * jax.nn.logsumexp(-d / (2 * sigma**2), axis=-1)
