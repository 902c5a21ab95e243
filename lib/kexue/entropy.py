"""Entropy of a softmax over inner products, and how many dimensions word vectors need (chapter 6).

The model is ``p(i, j) = exp(<u_i, v_j>) / Z`` over all pairs of ``N`` centre and ``N`` context vectors.
If the vectors lie on the sphere of radius ``sqrt(κ n)`` in ``R^n`` with independent uniform directions,
``<u, v> = κ n cos θ`` with ``θ`` the angle between two random directions, and replacing the double sums by
``N²`` times expectations gives ``H ≈ 2 log N + h_n``.

* :func:`angle_density` -- ``p_n(θ) = Γ(n/2) / (Γ((n-1)/2) √π) · sin^{n-2} θ`` on ``[0, π]``;
* :func:`sphere_sample` -- independent uniform points on the sphere of a given radius in ``R^n``;
* :func:`h_n` -- ``log E[e^{κ n cos θ}] - κ n E[e^{κ n cos θ} cos θ] / E[e^{κ n cos θ}]`` by log-space
  quadrature (no overflow, ``2 <= n <= 10^7``);
* :func:`laplace_slope` -- the large-``n`` limit of ``h_n / n``: ``½ log(1 - c²)`` with
  ``c = (√(1 + 4κ²) - 1) / (2κ)`` (``½ log((√5 - 1)/2) = -0.2406`` for ``κ = 1``);
* :func:`dimension_threshold` -- the ``n`` at which ``2 log N + h_n`` reaches 0: asymptotic
  (``-4 log N / log(1 - c²)``, i.e. ``8.3123 log N`` for ``κ = 1``) or exact (a root of the quadrature);
* :func:`pair_entropy` -- the exact entropy of the ``N × M`` softmax, by ``logsumexp``.

Bad input raises ``ValueError`` or ``TypeError`` naming the argument.  ``h_n`` and the thresholds use
NumPy/SciPy in float64; ``pair_entropy`` and ``sphere_sample`` use JAX (enable ``jax_enable_x64`` for float64).
"""

from __future__ import annotations

import math
import numbers
import operator
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.special import gammaln

__all__ = [
    "angle_density",
    "dimension_threshold",
    "h_n",
    "laplace_slope",
    "pair_entropy",
    "sphere_sample",
]


# -- validation ---------------------------------------------------------------------------------------
def _real(x: Any, name: str) -> float:
    """``x`` as a finite float; bools and non-numbers raise TypeError, non-finite values ValueError."""
    if isinstance(x, bool) or not isinstance(x, (numbers.Real, np.ndarray, jax.Array)):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    if np.ndim(x) != 0:
        raise TypeError(f"{name} must be a scalar, got shape {np.shape(x)}")
    v = float(x)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def _dimension(n: Any) -> float:
    v = _real(n, "n")
    if v < 2:
        raise ValueError(f"n must be >= 2 (a sphere in R^n with n >= 2), got {v}")
    return v


def _kappa(kappa: Any) -> float:
    k = _real(kappa, "kappa")
    if k <= 0:
        raise ValueError(f"kappa must be > 0 (the squared norm is κ n), got {k}")
    return k


# -- the angle between two random directions ----------------------------------------------------------
def _log_norm_const(n: float) -> float:
    """``log[Γ(n/2) / (Γ((n-1)/2) √π)]``, the log of ``1 / ∫_0^π sin^{n-2} θ dθ``."""
    return float(gammaln(n / 2) - gammaln((n - 1) / 2) - 0.5 * math.log(math.pi))


def angle_density(theta: Any, n: Any) -> np.ndarray:
    """Density of the angle ``θ`` between two independent uniform directions in ``R^n`` (``n >= 2``).

    ``p_n(θ) = Γ(n/2) / (Γ((n-1)/2) √π) · sin^{n-2} θ`` for ``0 <= θ <= π`` and 0 outside; ``n = 2`` gives
    the uniform density ``1/π``, ``n = 3`` gives ``sin θ / 2`` (``cos θ`` uniform).  Evaluated in log space
    (``gammaln``), so it stays finite for large ``n``.  ``n`` may be any real ``>= 2``.

    Args:
        theta: angles (any shape).
        n: the dimension.

    Returns:
        A float64 array of ``theta``'s shape.
    """
    nn = _dimension(n)
    try:
        t = np.asarray(theta, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"theta must be an array of real numbers, got {type(theta).__name__}") from None
    if not np.all(np.isfinite(t)):
        raise ValueError("theta has non-finite entries")
    inside = (t >= 0) & (t <= np.pi)
    folded = np.where(inside, np.minimum(t, np.pi - t), np.pi / 2)  # sin(π - θ) = sin θ, exactly 0 at π
    with np.errstate(divide="ignore"):
        log_sin = np.log(np.sin(folded))
    log_p = _log_norm_const(nn) + (0.0 if nn == 2 else (nn - 2) * log_sin)
    return np.where(inside, np.exp(log_p), 0.0)


def sphere_sample(key: jax.Array, num: int, n: int, *, radius: float = 1.0) -> jax.Array:
    """``num`` independent points uniform on the sphere ``{x ∈ R^n : |x| = radius}`` (normalized Gaussians).

    Returns an array ``(num, n)`` in JAX's default float dtype.
    """
    try:
        num_i, n_i = operator.index(num), operator.index(n)
    except TypeError:
        raise TypeError(f"num and n must be integers, got {type(num).__name__} and {type(n).__name__}") from None
    if num_i < 1 or n_i < 1:
        raise ValueError(f"num and n must be >= 1, got num={num_i}, n={n_i}")
    r = _real(radius, "radius")
    if r <= 0:
        raise ValueError(f"radius must be > 0, got {r}")
    return _sphere(key, num_i, n_i, r)


@partial(jax.jit, static_argnums=(1, 2))
def _sphere(key: jax.Array, num: int, n: int, radius: float) -> jax.Array:
    x = jax.random.normal(key, (num, n))
    return radius * x / jnp.linalg.norm(x, axis=1, keepdims=True)


# -- h_n by log-space quadrature ----------------------------------------------------------------------
def _peak(n: float, kappa: float) -> float:
    """The maximizer of ``(n-2) log sin θ + κ n cos θ`` on ``[0, π]``: ``cos θ* = c`` with
    ``κ n c² + (n-2) c - κ n = 0``."""
    a, b = kappa * n, n - 2.0
    c = 2.0 * a / (b + math.sqrt(b * b + 4.0 * a * a))  # the positive root, written without cancellation
    return math.acos(min(c, 1.0))


def _log_integrals(n: float, kappa: float) -> tuple[float, float, float]:
    """``(m, A, B)`` with ``∫_0^π sin^{n-2}θ e^{κn cosθ} dθ = e^m A`` and ``∫ … cos θ dθ = e^m B``.

    The exponent ``φ(θ) = (n-2) log sin θ + κ n cos θ`` peaks at ``θ*`` with value ``m``; ``φ(θ* + δ) - m``
    is evaluated without cancellation (``log1p`` and half-angle forms), so the integrand keeps full
    relative precision even when ``m`` is in the millions.  ``φ`` is unimodal on ``[0, π]`` (``φ'`` is
    decreasing on ``(0, π/2)`` and negative on ``(π/2, π)``), so outside a window where ``φ - m < -60`` the
    integrand is below ``e^{-60}``; the window starts at a few Laplace widths and grows until that holds.
    """
    t_star = _peak(n, kappa)
    sin_s, cos_s = math.sin(t_star), math.cos(t_star)
    cot_s = cos_s / sin_s if n > 2 else 0.0

    def phi(t: float) -> float:
        if n == 2:
            return kappa * n * cos_s
        s = math.sin(t)
        return -math.inf if s <= 0.0 else (n - 2) * math.log(s) + kappa * n * math.cos(t)

    def excess(d: float) -> float:
        """``φ(θ* + δ) - φ(θ*)``, without subtracting large numbers."""
        half = math.sin(d / 2)
        dcos = -2.0 * math.sin(t_star + d / 2) * half  # cos(θ*+δ) - cos θ*
        if n == 2:
            return kappa * n * dcos
        ratio = -2.0 * half * half + cot_s * math.sin(d)  # sin(θ*+δ)/sin θ* - 1
        if ratio <= -1.0:
            return -math.inf
        return (n - 2) * math.log1p(ratio) + kappa * n * dcos

    m = phi(t_star)
    curvature = (0.0 if n == 2 else (n - 2) / sin_s**2) + kappa * n * cos_s
    lo = hi = 12.0 / math.sqrt(curvature)  # window [θ* - lo, θ* + hi] ∩ [0, π]
    while lo < t_star and excess(-lo) > -60.0:
        lo *= 2.0
    while hi < math.pi - t_star and excess(hi) > -60.0:
        hi *= 2.0
    lo, hi = min(lo, t_star), min(hi, math.pi - t_star)

    def weight(d: float) -> float:
        return math.exp(excess(d))

    opts = dict(epsabs=0.0, epsrel=1e-12, limit=200)
    pieces = [(-lo, 0.0), (0.0, hi)]
    a = sum(quad(weight, u, v, **opts)[0] for u, v in pieces if v > u)
    b = sum(quad(lambda d: weight(d) * math.cos(t_star + d), u, v, **opts)[0] for u, v in pieces if v > u)
    return m, a, b


def h_n(n: Any, kappa: Any = 1.0) -> float:
    """``h_n = log E[e^{κ n cos θ}] - κ n E[e^{κ n cos θ} cos θ] / E[e^{κ n cos θ}]``, ``θ ~ p_n``.

    With ``N`` vectors per table on the sphere of radius ``sqrt(κ n)``, the sampling approximation of the
    pair entropy is ``H ≈ 2 log N + h_n``.  The three integrals over ``[0, π]`` are computed by adaptive
    quadrature of ``exp[(n-2) log sin θ + κ n cos θ - m]``, ``m`` the maximum of the exponent (attained at
    ``cos θ* = c``, a breakpoint), and the normalizer ``∫ sin^{n-2} = √π Γ((n-1)/2)/Γ(n/2)`` in closed form:
    nothing overflows (``e^{n cos θ}`` alone does for ``n > 709``), for ``2 <= n <= 10^7``.  It equals the
    closed form ``log[Γ(ν+1)(2/x)^ν I_ν(x)] - x I_{ν+1}(x)/I_ν(x)``,
    ``ν = n/2 - 1``, ``x = κ n`` (von Mises–Fisher), which the tests use as a cross-check (relative
    agreement ``1e-11`` or better where the Bessel form is computable, ``n`` up to a few thousand).

    Args:
        n: the dimension, a real ``>= 2``.
        kappa: squared norm per dimension, ``|u|² = |v|² = κ n`` (the article takes ``κ = 1``).
    """
    nn, k = _dimension(n), _kappa(kappa)
    m, a, b = _log_integrals(nn, k)
    log_mgf = m + math.log(a) + _log_norm_const(nn)
    return log_mgf - k * nn * b / a


def laplace_slope(kappa: Any = 1.0) -> float:
    """``lim h_n / n = ½ log(1 - c²)``, ``c = (√(1 + 4κ²) - 1) / (2κ)`` (Laplace's method).

    ``g(θ) = log sin θ + κ cos θ`` peaks where ``cos θ = κ sin² θ``, i.e. at ``cos θ* = c``; the slope is
    ``g(θ*) - κ c = log sin θ* = ½ log(1 - c²)``.  For ``κ = 1``, ``c = (√5 - 1)/2`` and the slope is
    ``½ log c = -½ log φ = -0.2406059…``.
    """
    k = _kappa(kappa)
    c = 2.0 * k / (1.0 + math.sqrt(1.0 + 4.0 * k * k))  # = (√(1+4κ²) - 1)/(2κ), without cancellation
    return 0.5 * math.log1p(-c * c)


def dimension_threshold(N: Any, kappa: Any = 1.0, *, exact: bool = False) -> float:
    """The dimension ``n`` at which the approximate entropy ``2 log N + h_n`` reaches 0.

    With ``exact=False`` (default) the asymptotic rule ``n = -2 log N / laplace_slope(κ)``
    (``= 8.3123 log N`` for ``κ = 1``; the article rounds the slope to 0.24 and writes ``8.33 log N``).
    With ``exact=True`` the root in ``n >= 2`` of ``2 log N + h_n(n, κ) = 0``, ``h_n`` by quadrature
    (about 0.5 below the asymptotic rule for ``κ = 1``: the ``O(1)`` term of ``h_n``).  ``N`` is the number
    of vectors per table (the vocabulary size), a real ``>= 2``.  Raises ValueError when ``N`` is so small
    that ``2 log N + h_2 <= 0`` (no root in ``n >= 2``).
    """
    big_n = _real(N, "N")
    if big_n < 2:
        raise ValueError(f"N must be >= 2, got {big_n}")
    k = _kappa(kappa)
    if not isinstance(exact, bool):
        raise TypeError(f"exact must be a bool, got {type(exact).__name__}")
    two_log_n = 2.0 * math.log(big_n)
    guess = -two_log_n / laplace_slope(k)
    if not exact:
        return guess

    def f(n: float) -> float:
        return two_log_n + h_n(n, k)

    if f(2.0) <= 0:
        raise ValueError(f"N = {big_n} is too small: 2 log N + h_2 <= 0 already at n = 2")
    hi = max(2.0 * guess, 4.0)
    while f(hi) > 0:  # h_n decreases linearly, so this doubles a few times at most
        hi *= 2.0
    return float(brentq(f, 2.0, hi, xtol=1e-10, rtol=1e-13))


# -- the exact entropy ------------------------------------------------------------------------------------
@jax.jit
def _pair_entropy(u: jax.Array, v: jax.Array) -> jax.Array:
    s = u @ v.T
    log_z = jax.nn.logsumexp(s)
    p = jnp.exp(s - log_z)
    return log_z - jnp.sum(p * s)


def pair_entropy(U: Any, V: Any) -> jax.Array:
    """Exact entropy of ``p(i, j) = exp(<u_i, v_j>) / Z`` over all ``N × M`` pairs, by ``logsumexp``.

    ``H = log Z - Σ_{ij} p(i, j) <u_i, v_j>`` with ``log Z = logsumexp_{ij} <u_i, v_j>``: stable for any size
    of the inner products, and ``0 <= H <= log(N M)``.  Memory is ``O(N M)``.

    Args:
        U: array ``(N, n)`` of centre vectors.
        V: array ``(M, n)`` of context vectors (same ``n``).

    Returns:
        A scalar array (nats).
    """
    arrays = []
    for name, x in (("U", U), ("V", V)):
        try:
            a = jnp.asarray(x)
        except TypeError:
            raise TypeError(f"{name} must be an array of real numbers, got {type(x).__name__}") from None
        if not jnp.issubdtype(a.dtype, jnp.number) or jnp.issubdtype(a.dtype, jnp.complexfloating):
            raise TypeError(f"{name} must be real, got dtype {a.dtype}")
        if a.ndim != 2 or 0 in a.shape:
            raise ValueError(f"{name} must be a non-empty 2-D array (vectors as rows), got shape {a.shape}")
        a = a.astype(jnp.result_type(a.dtype, float))
        if not np.all(np.isfinite(np.asarray(a))):  # on the host: no compilation per shape
            raise ValueError(f"{name} has non-finite entries")
        arrays.append(a)
    u, v = arrays
    if u.shape[1] != v.shape[1]:
        raise ValueError(f"U and V must have the same dimension, got {u.shape[1]} and {v.shape[1]}")
    return _pair_entropy(u, v)
