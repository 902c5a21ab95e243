r"""Gaussian latents for VAEs, the variational information bottleneck and NVAE's hierarchy (chapter 14).

All Gaussians are diagonal; a "group" of latents is the last axis (``axis=-1``), summed over, so a batch of
vectors gives one value per vector.

**KL divergences** (closed forms, in nats): :func:`gaussian_kl_diag`, :func:`gaussian_kl` and NVAE's residual
form :func:`residual_gaussian_kl`, in that order:

.. math::

    \mathrm{KL}\big(\mathcal N(\mu,\sigma^2)\,\|\,\mathcal N(0,1)\big)
        &= -\tfrac12\textstyle\sum_i\big(1+\log\sigma_i^2-\mu_i^2-\sigma_i^2\big),\\
    \mathrm{KL}\big(\mathcal N(\mu_1,\sigma_1^2)\,\|\,\mathcal N(\mu_2,\sigma_2^2)\big)
        &= \tfrac12\textstyle\sum_i\Big(\log\frac{\sigma_{2,i}^2}{\sigma_{1,i}^2}
           +\frac{\sigma_{1,i}^2+(\mu_{1,i}-\mu_{2,i})^2}{\sigma_{2,i}^2}-1\Big),\\
    \mathrm{KL}\big(\mathcal N(\mu+\Delta\mu,\sigma^2\Delta\sigma^2)\,\|\,\mathcal N(\mu,\sigma^2)\big)
        &= \tfrac12\textstyle\sum_i\Big(\frac{\Delta\mu_i^2}{\sigma_i^2}+\Delta\sigma_i^2
           -\log\Delta\sigma_i^2-1\Big).

**Layers and ELBO pieces**

* :func:`reparam_sample` -- :math:`z=\mu+e^{\frac12\log\sigma^2}\varepsilon`, :math:`\varepsilon\sim\mathcal N(0,I)`;
* :func:`vib_layer` -- the article's VIB layer: a sample (or the mean, at test time) and the KL to
  :math:`\mathcal N(0,I)`;
* :func:`residual_posterior` -- NVAE's posterior parameters :math:`(\mu+\Delta\mu,\ \log\sigma^2+\log\Delta\sigma^2)`;
* :func:`gaussian_log_prob` -- :math:`\log\mathcal N(z;\mu,\sigma^2)`;
* :func:`aggregate_log_prob` -- :math:`\log p(z)=\log\frac1N\sum_j\mathcal N(z;\mu_j,\sigma_j^2)`, the
  aggregate posterior of a finite data set, for Monte Carlo estimates of :math:`I(x;z)`;
* :func:`bernoulli_nll` -- :math:`-\log q(x|z)=\sum_i\big(\operatorname{softplus}(\ell_i)-x_i\ell_i\big)` for
  pixel logits :math:`\ell` (:math:`x_i\in[0,1]`);
* :func:`iwae_bound` -- :math:`\log\frac1K\sum_k w_k` from log-weights, the importance-weighted bound;
* :func:`slerp_normal` and :func:`lerp` -- the paths :math:`z_1\cos\theta+z_2\sin\theta` and
  :math:`(1-\alpha)z_1+\alpha z_2` between two latents.

Bad arguments raise ``TypeError`` (wrong type) or ``ValueError`` (wrong value: NaN/inf, non-positive
variances, shapes that do not broadcast), naming the argument (through :mod:`kexue.checks`).  Inside
``jax.jit`` (traced values) only shapes and dtypes are checked.  Precision follows the inputs.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kexue import checks

__all__ = [
    "aggregate_log_prob",
    "bernoulli_nll",
    "gaussian_kl",
    "gaussian_kl_diag",
    "gaussian_log_prob",
    "iwae_bound",
    "lerp",
    "reparam_sample",
    "residual_gaussian_kl",
    "residual_posterior",
    "slerp_normal",
    "vib_layer",
]

_LOG_2PI = math.log(2 * math.pi)


# -- validation ---------------------------------------------------------------------------------------
def _arr(x: Any, name: str) -> jax.Array:
    """``x`` as a real floating JAX array (integers promoted), no NaN/inf when concrete."""
    checks.array(x, name, kinds="iuf")
    a = jnp.asarray(x)
    return a if jnp.issubdtype(a.dtype, jnp.floating) else a.astype(jnp.result_type(float))


def _positive(a: jax.Array, name: str) -> None:
    if not checks.is_traced(a) and not np.all(np.asarray(a) > 0):
        raise ValueError(f"{name}: must be > 0, got min {float(np.min(np.asarray(a)))}")


def _broadcast(**arrays: jax.Array) -> tuple[int, ...]:
    try:
        return jnp.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in arrays.items())
        raise ValueError(f"{', '.join(arrays)}: must broadcast together, got {shapes}") from None


def _axis(axis: Any, ndim: int) -> int:
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis: expected an int, got {type(axis).__name__} {axis!r}")
    if ndim == 0 or not -ndim <= axis < ndim:
        raise ValueError(f"axis: {axis} is out of range for arrays of {ndim} dimension(s)")
    return int(axis)


# -- KL divergences -----------------------------------------------------------------------------------
def gaussian_kl_diag(mu: Any, logvar: Any, axis: int = -1) -> jax.Array:
    """``KL(N(μ, diag σ²) ‖ N(0, I)) = -½ Σ_i (1 + log σ_i² − μ_i² − σ_i²)``, summed over ``axis``.

    The KL term of a VAE or a VIB with a standard-normal prior (the article's Keras layer). ``logvar`` is
    ``log σ²``; ``mu`` and ``logvar`` broadcast together.  Non-negative, zero exactly at ``μ = 0, σ = 1``.
    """
    m, lv = _arr(mu, "mu"), _arr(logvar, "logvar")
    ax = _axis(axis, len(_broadcast(mu=m, logvar=lv)))
    return -0.5 * jnp.sum(1.0 + lv - m**2 - jnp.exp(lv), axis=ax)


def gaussian_kl(mu1: Any, var1: Any, mu2: Any, var2: Any, axis: int = -1) -> jax.Array:
    """``KL(N(μ₁, diag σ₁²) ‖ N(μ₂, diag σ₂²)) = ½ Σ_i (log σ₂²/σ₁² + (σ₁² + (μ₁ − μ₂)²)/σ₂² − 1)``.

    Variances (not log-variances), all ``> 0``; the four arrays broadcast together; summed over ``axis``.
    """
    m1, v1, m2, v2 = _arr(mu1, "mu1"), _arr(var1, "var1"), _arr(mu2, "mu2"), _arr(var2, "var2")
    _positive(v1, "var1")
    _positive(v2, "var2")
    ax = _axis(axis, len(_broadcast(mu1=m1, var1=v1, mu2=m2, var2=v2)))
    return 0.5 * jnp.sum(jnp.log(v2) - jnp.log(v1) + (v1 + (m1 - m2) ** 2) / v2 - 1.0, axis=ax)


def residual_gaussian_kl(dmu: Any, dvar: Any, var: Any, axis: int = -1) -> jax.Array:
    """NVAE's residual KL: ``KL(N(μ + Δμ, σ²Δσ²) ‖ N(μ, σ²)) = ½ Σ_i (Δμ_i²/σ_i² + Δσ_i² − log Δσ_i² − 1)``.

    The posterior of a group is parametrised *relative to* its prior ``N(μ, σ²)``: a shift ``Δμ`` of the mean
    and a factor ``Δσ²`` of the variance.  The prior's mean ``μ`` drops out; the KL is zero exactly when
    ``Δμ = 0`` and ``Δσ² = 1``.  ``dvar`` (``Δσ²``) and ``var`` (``σ²``) must be ``> 0``.
    """
    dm, dv, v = _arr(dmu, "dmu"), _arr(dvar, "dvar"), _arr(var, "var")
    _positive(dv, "dvar")
    _positive(v, "var")
    ax = _axis(axis, len(_broadcast(dmu=dm, dvar=dv, var=v)))
    return 0.5 * jnp.sum(dm**2 / v + dv - jnp.log(dv) - 1.0, axis=ax)


# -- layers -------------------------------------------------------------------------------------------
def reparam_sample(key: jax.Array, mu: Any, logvar: Any) -> jax.Array:
    """``z = μ + exp(½ log σ²) ε`` with ``ε ~ N(0, I)`` of the broadcast shape: a sample of ``N(μ, diag σ²)``
    that is differentiable in ``μ`` and ``log σ²`` (the reparameterization trick)."""
    checks.prng_key(key)
    m, lv = _arr(mu, "mu"), _arr(logvar, "logvar")
    shape = _broadcast(mu=m, logvar=lv)
    return m + jnp.exp(0.5 * lv) * jax.random.normal(key, shape, jnp.result_type(m, lv))


def vib_layer(key: jax.Array, mu: Any, logvar: Any, *, train: bool = True) -> tuple[jax.Array, jax.Array]:
    """The variational-information-bottleneck layer: ``(z, KL(N(μ, σ²) ‖ N(0, I)))``.

    In training ``z`` is the reparameterized sample :func:`reparam_sample`; with ``train=False`` it is the mean
    ``μ`` (as the article's Keras layer does at test time).  The KL, one value per vector (last axis), is the
    per-example upper bound on the information ``I(x; z)`` that the loss ``E[−log p(y|z)] + λ KL`` penalises.
    """
    train = checks.flag(train, "train")
    kl = gaussian_kl_diag(mu, logvar)
    if train:
        return reparam_sample(key, mu, logvar), kl
    m = _arr(mu, "mu")
    return jnp.broadcast_to(m, _broadcast(mu=m, logvar=_arr(logvar, "logvar"))), kl


def residual_posterior(mu: Any, logvar: Any, dmu: Any, dlogvar: Any) -> tuple[jax.Array, jax.Array]:
    """NVAE's posterior of a group from its prior ``N(μ, σ²)`` and the encoder's relative parameters:
    ``(μ + Δμ, log σ² + log Δσ²)``, i.e. ``N(μ + Δμ, σ² Δσ²)``."""
    m, lv, dm, dlv = _arr(mu, "mu"), _arr(logvar, "logvar"), _arr(dmu, "dmu"), _arr(dlogvar, "dlogvar")
    _broadcast(mu=m, logvar=lv, dmu=dm, dlogvar=dlv)
    return m + dm, lv + dlv


# -- densities and bounds -----------------------------------------------------------------------------
def gaussian_log_prob(z: Any, mu: Any, logvar: Any, axis: int = -1) -> jax.Array:
    """``log N(z; μ, diag σ²) = -½ Σ_i (log 2π + log σ_i² + (z_i − μ_i)²/σ_i²)``, summed over ``axis``."""
    x, m, lv = _arr(z, "z"), _arr(mu, "mu"), _arr(logvar, "logvar")
    ax = _axis(axis, len(_broadcast(z=x, mu=m, logvar=lv)))
    return -0.5 * jnp.sum(_LOG_2PI + lv + (x - m) ** 2 * jnp.exp(-lv), axis=ax)


def aggregate_log_prob(z: Any, mu: Any, logvar: Any) -> jax.Array:
    """``log p(z) = log (1/N) Σ_j N(z; μ_j, diag σ_j²)``: the aggregate posterior of ``N`` encoded points.

    ``z`` has shape ``(..., d)``; ``mu`` and ``logvar`` shape ``(N, d)`` (one row per data point).  With
    ``p(z|x_j) = N(μ_j, σ_j²)`` and ``x`` uniform on the ``N`` points, ``log p(z|x) − log p(z)`` averaged over
    ``x`` and ``z ~ p(z|x)`` is the mutual information ``I(x; z)`` (at most ``log N``).  Log-sum-exp, stable.
    """
    x = _arr(z, "z")
    m, lv = _arr(mu, "mu"), _arr(logvar, "logvar")
    checks.array(m, "mu", ndim=2)
    if lv.shape != m.shape:
        raise ValueError(f"logvar: expected the shape of mu {tuple(m.shape)}, got {tuple(lv.shape)}")
    if x.ndim == 0 or x.shape[-1] != m.shape[-1]:
        raise ValueError(f"z: last axis must have length d = {m.shape[-1]}, got shape {tuple(x.shape)}")
    logs = gaussian_log_prob(x[..., None, :], m, lv)  # (..., N)
    return jax.scipy.special.logsumexp(logs, axis=-1) - math.log(m.shape[0])


def bernoulli_nll(logits: Any, x: Any, axis: int = -1) -> jax.Array:
    """``-log q(x|z) = Σ_i (softplus(ℓ_i) − x_i ℓ_i)`` for pixel logits ``ℓ`` and targets ``x_i ∈ [0, 1]``.

    The decoder's reconstruction term (grey levels used as Bernoulli means, the usual choice for digits);
    computed stably, summed over ``axis``.
    """
    lg, t = _arr(logits, "logits"), _arr(x, "x")
    if not checks.is_traced(t) and not np.all((np.asarray(t) >= 0) & (np.asarray(t) <= 1)):
        raise ValueError("x: must lie in [0, 1]")
    ax = _axis(axis, len(_broadcast(logits=lg, x=t)))
    return jnp.sum(jax.nn.softplus(lg) - t * lg, axis=ax)


def iwae_bound(log_w: Any, axis: int = 0) -> jax.Array:
    """``log (1/K) Σ_k exp(log w_k)`` over ``axis`` (``K`` = its length): with ``log w_k = log q(x, z_k) −
    log p(z_k|x)`` and ``z_k ~ p(z|x)`` this is the importance-weighted bound, ``ELBO ≤ E[bound] ≤ log q(x)``,
    increasing in ``K`` (Burda et al.)."""
    lw = _arr(log_w, "log_w")
    ax = _axis(axis, lw.ndim)
    return jax.scipy.special.logsumexp(lw, axis=ax) - math.log(lw.shape[ax])


# -- latent paths -------------------------------------------------------------------------------------
def slerp_normal(z1: Any, z2: Any, theta: Any) -> jax.Array:
    """``z_θ = z₁ cos θ + z₂ sin θ``: for independent ``z₁, z₂ ~ N(0, I)`` every ``z_θ`` is again ``N(0, I)``
    (``cos²θ + sin²θ = 1``).  ``θ`` broadcasts against the latents (pass ``θ[:, None]`` for a path)."""
    a, b, t = _arr(z1, "z1"), _arr(z2, "z2"), _arr(theta, "theta")
    _broadcast(z1=a, z2=b, theta=t)
    return a * jnp.cos(t) + b * jnp.sin(t)


def lerp(z1: Any, z2: Any, alpha: Any) -> jax.Array:
    """``z_α = (1 − α) z₁ + α z₂``: for independent ``z₁, z₂ ~ N(0, I)`` this is ``N(0, ((1−α)² + α²) I)``,
    whose variance dips to ½ at the midpoint."""
    a, b, t = _arr(z1, "z1"), _arr(z2, "z2"), _arr(alpha, "alpha")
    _broadcast(z1=a, z2=b, alpha=t)
    return (1 - t) * a + t * b
