"""GAN generator architecture pieces (kexue.fm/archives/6549): conditional normalisation and strided-convolution facts.

* :func:`conditional_batch_norm` -- batch normalisation whose scale and shift are given per sample (CBN).
* :func:`adain` -- adaptive instance normalisation: per-sample, per-channel statistics (StyleGAN's AdaIN).
* :class:`SelfModBN` -- SELF-MOD: CBN whose scale and shift are a small MLP of the noise :math:`z` itself.
* :func:`checkerboard_profile` -- how often each output position of a transposed convolution is written.
* :func:`space_to_batch_1d`, :func:`batch_to_space_1d` -- the polyphase split that turns a dilated
  convolution into an ordinary one.
* :func:`sphere_cap_fraction`, :func:`nearest_code_survival`, :func:`nearest_code_mean` -- the law of the distance
  from a uniform point of the sphere to the nearest of M uniform codes (GLANN's latent space, 6394; chapter 15).

Arrays are channels-last: ``(batch, features)`` or ``(batch, *spatial, channels)``. Bad arguments raise
``TypeError``/``ValueError`` naming the argument (via :mod:`kexue.checks`).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from kexue import checks

__all__ = ["SelfModBN", "adain", "batch_to_space_1d", "checkerboard_profile", "conditional_batch_norm",
           "nearest_code_mean", "nearest_code_survival", "space_to_batch_1d", "sphere_cap_fraction"]


def _real(x: Any, name: str, min_ndim: int) -> jax.Array:
    a = checks.array(x, name, kinds="iuf")
    if a.ndim < min_ndim:
        raise ValueError(f"{name}: expected at least {min_ndim} dimensions, got shape {tuple(a.shape)}")
    a = jnp.asarray(a)
    return a if jnp.issubdtype(a.dtype, jnp.floating) else a.astype(jnp.result_type(float))


def _modulate(x: jax.Array, axes: tuple[int, ...], gamma: Any, beta: Any, eps: float) -> jax.Array:
    """:math:`\\gamma\\,(x - \\mu)/\\sqrt{\\sigma^2 + \\varepsilon} + \\beta` with :math:`\\mu,\\sigma^2` over ``axes``;
    ``gamma``/``beta`` are ``(batch, channels)`` (or broadcastable to it), applied per sample and channel."""
    eps = checks.real(eps, "eps", nonnegative=True)
    gamma, beta = _real(gamma, "gamma", 0), _real(beta, "beta", 0)
    target = (x.shape[0], x.shape[-1])
    for name, v in (("gamma", gamma), ("beta", beta)):
        try:
            jnp.broadcast_shapes(v.shape, target)
        except ValueError:
            raise ValueError(f"{name}: must broadcast to (batch, channels) = {target}, got {v.shape}") from None
    mu = jnp.mean(x, axis=axes, keepdims=True)
    var = jnp.mean((x - mu) ** 2, axis=axes, keepdims=True)
    shape = (x.shape[0],) + (1,) * (x.ndim - 2) + (x.shape[-1],)
    g, b = (jnp.broadcast_to(v, target).reshape(shape) for v in (gamma, beta))
    return g * (x - mu) / jnp.sqrt(var + eps) + b


def conditional_batch_norm(x: jax.Array, gamma: jax.Array, beta: jax.Array, eps: float = 1e-5) -> jax.Array:
    """Conditional batch normalisation: batch statistics, per-sample scale and shift,

    .. math::

        y_{b\\cdot c} = \\gamma_{bc}\\,\\frac{x_{b\\cdot c} - \\mu_c}{\\sqrt{\\sigma_c^2 + \\varepsilon}} + \\beta_{bc},
        \\qquad \\mu_c, \\sigma^2_c \\text{ over the batch and spatial axes (all but the last)}.

    With :math:`\\gamma, \\beta` constant over the batch it is plain batch normalisation (training mode, no running
    averages). ``x`` is ``(batch, ..., channels)``; ``gamma``/``beta`` broadcast to ``(batch, channels)``.

    Raises:
        TypeError: non-real arrays; ``eps`` not a real number. ValueError: ``x`` with fewer than 2 dimensions;
            ``gamma``/``beta`` of the wrong shape; ``eps`` < 0; NaN/inf (when concrete).
    """
    x = _real(x, "x", 2)
    return _modulate(x, tuple(range(x.ndim - 1)), gamma, beta, eps)


def adain(x: jax.Array, gamma: jax.Array, beta: jax.Array, eps: float = 1e-5) -> jax.Array:
    """Adaptive instance normalisation: each sample's channels normalised over their own spatial positions,

    .. math::

        y_{b\\cdot c} = \\gamma_{bc}\\,\\frac{x_{b\\cdot c} - \\mu_{bc}}{\\sqrt{\\sigma_{bc}^2 + \\varepsilon}} + \\beta_{bc},
        \\qquad \\mu_{bc}, \\sigma^2_{bc} \\text{ over the spatial axes of sample } b.

    ``x`` is ``(batch, *spatial, channels)`` with at least one spatial axis. Unlike
    :func:`conditional_batch_norm`, one sample's output does not depend on the rest of the batch.

    Raises: as :func:`conditional_batch_norm`; ``x`` needs at least 3 dimensions.
    """
    x = _real(x, "x", 3)
    return _modulate(x, tuple(range(1, x.ndim - 1)), gamma, beta, eps)


class SelfModBN(nnx.Module):
    """SELF-MOD (self-modulation, Chen et al. 2019): conditional batch norm driven by the generator's own noise,

    .. math::

        \\gamma(z) = 1 + W_2^{\\gamma}\\operatorname{relu}(W_1 z + b_1) + b_2^{\\gamma},\\qquad
        \\beta(z) = W_2^{\\beta}\\operatorname{relu}(W_1 z + b_1) + b_2^{\\beta},

    then :func:`conditional_batch_norm` ``(x, γ(z), β(z))``: a two-layer MLP with a small hidden width shared by both
    heads. The output heads start at zero, so at initialisation the layer is plain batch normalisation.
    """

    def __init__(self, features: int, z_dim: int, hidden: int = 32, *, rngs: nnx.Rngs) -> None:
        features, z_dim, hidden = (checks.count(v, n) for v, n in ((features, "features"), (z_dim, "z_dim"),
                                                                   (hidden, "hidden")))
        if not isinstance(rngs, nnx.Rngs):
            raise TypeError(f"rngs: expected flax.nnx.Rngs, got {type(rngs).__name__}")
        self.hidden = nnx.Linear(z_dim, hidden, rngs=rngs)
        zeros = nnx.initializers.zeros_init()
        self.gamma = nnx.Linear(hidden, features, kernel_init=zeros, rngs=rngs)
        self.beta = nnx.Linear(hidden, features, kernel_init=zeros, rngs=rngs)

    def __call__(self, x: jax.Array, z: jax.Array) -> jax.Array:
        h = nnx.relu(self.hidden(z))
        return conditional_batch_norm(x, 1 + self.gamma(h), self.beta(h))


def checkerboard_profile(kernel: int, stride: int, length: int) -> np.ndarray:
    """How many (input, tap) pairs write each output position of a 1-D transposed convolution,

    .. math::

        c_i = \\#\\{(j, k) : j\\,s + k = i,\\ 0 \\le j < n,\\ 0 \\le k < K\\},

    for ``length`` = :math:`n` inputs, kernel size :math:`K` and stride :math:`s` (output length
    :math:`(n-1)s + K`). With all-ones input and kernel this *is* the transposed convolution's output. Away from the
    ends, :math:`c_i = \\#\\{k < K : k \\equiv i \\pmod s\\}`, which takes the values :math:`\\lfloor K/s\\rfloor` and
    :math:`\\lceil K/s\\rceil`: constant iff :math:`s \\mid K`, a stripe (a checkerboard in 2-D) otherwise.

    Raises:
        TypeError: arguments not ints. ValueError: any argument < 1.
    """
    kernel, stride, length = (checks.count(v, n) for v, n in ((kernel, "kernel"), (stride, "stride"), (length, "length")))
    out = np.zeros((length - 1) * stride + kernel, dtype=np.int64)
    for j in range(length):
        out[j * stride: j * stride + kernel] += 1
    return out


def space_to_batch_1d(x: jax.Array, rate: int) -> jax.Array:
    """The polyphase split of a signal ``(length, ...)`` into ``rate`` phases: ``out[p, m] = x[m * rate + p]``.

    A convolution dilated by ``rate`` only ever combines samples of one phase, so it is an ordinary convolution
    on each phase (:func:`batch_to_space_1d` interleaves the results back).

    Raises:
        TypeError: ``x`` not an array, ``rate`` not an int. ValueError: ``rate`` < 1, or ``len(x)`` not a
            multiple of ``rate``.
    """
    rate = checks.count(rate, "rate")
    x = jnp.asarray(checks.array(x, "x", kinds="iuf", finite=False))
    if x.ndim < 1 or x.shape[0] % rate:
        raise ValueError(f"x: its length must be a multiple of rate = {rate}, got shape {x.shape}")
    return jnp.moveaxis(x.reshape((x.shape[0] // rate, rate) + x.shape[1:]), 1, 0)


def batch_to_space_1d(y: jax.Array) -> jax.Array:
    """The inverse of :func:`space_to_batch_1d`: ``(rate, m, ...)`` phases interleaved into ``(rate * m, ...)``.

    Raises:
        TypeError: ``y`` not an array. ValueError: fewer than 2 dimensions.
    """
    y = jnp.asarray(checks.array(y, "y", kinds="iuf", finite=False))
    if y.ndim < 2:
        raise ValueError(f"y: expected (rate, m, ...), got shape {y.shape}")
    return jnp.moveaxis(y, 0, 1).reshape((y.shape[0] * y.shape[1],) + y.shape[2:])


# ------------------------------------------------------------------------------------------------------------------
# GLANN's latent space (kexue.fm/archives/6394, chapter 15): how far the nearest of M codes on the sphere lies.


def _radii(r: Any, name: str) -> np.ndarray:
    arr = np.asarray(checks.array(r, name, kinds="iuf"), dtype=np.float64)
    if np.any(arr < 0):
        raise ValueError(f"{name}: must be >= 0, got min {arr.min()}")
    return arr


def sphere_cap_fraction(theta: Any, n: int) -> np.ndarray:
    r"""The fraction of the unit sphere :math:`S^{n-1}\subset\mathbb R^n` within angle ``theta`` of a point,

    .. math::

        A_n(\theta) = \tfrac12 I_{\sin^2\theta}\big(\tfrac{n-1}2, \tfrac12\big)\quad(\theta\le\pi/2),\qquad
        A_n(\theta) = 1 - A_n(\pi-\theta)\quad(\theta>\pi/2),

    with :math:`I` the regularised incomplete beta function (Li, 2011). ``theta`` (radians, array allowed) is
    clipped to :math:`[0, \pi]`.

    Raises:
        TypeError: ``theta`` not real, ``n`` not an int. ValueError: ``n`` < 2, ``theta`` negative or not finite.
    """
    from scipy import special

    n = checks.count(n, "n", minimum=2)
    t = np.minimum(_radii(theta, "theta"), np.pi)
    a = 0.5 * special.betainc((n - 1) / 2, 0.5, np.sin(t) ** 2)
    return np.where(t <= np.pi / 2, a, 1 - a)


def nearest_code_survival(r: Any, n: int, m: int) -> np.ndarray:
    r""":math:`P(D > r)` for :math:`D` the chord distance from a uniform point of :math:`S^{n-1}` to the nearest of
    ``m`` independent uniform points: all ``m`` miss the cap of angle :math:`\theta = 2\arcsin(r/2)`,

    .. math::  P(D > r) = \big(1 - A_n(\theta(r))\big)^m ,

    (:func:`sphere_cap_fraction`); 0 for :math:`r \ge 2`.

    Raises:
        TypeError: as :func:`sphere_cap_fraction`, or a non-integer ``m``.
        ValueError: as :func:`sphere_cap_fraction`; ``m`` < 1; ``r`` negative.
    """
    m = checks.count(m, "m")
    rr = _radii(r, "r")
    return (1 - sphere_cap_fraction(2 * np.arcsin(np.minimum(rr / 2, 1.0)), n)) ** m


def nearest_code_mean(n: int, m: int) -> float:
    r""":math:`\mathbb E\,D = \int_0^2 P(D>r)\,dr` for :func:`nearest_code_survival` (adaptive quadrature)."""
    from scipy import integrate

    n, m = checks.count(n, "n", minimum=2), checks.count(m, "m")
    return float(integrate.quad(lambda r: float(nearest_code_survival(r, n, m)), 0.0, 2.0, limit=200)[0])
