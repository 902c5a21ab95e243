"""Entropy of a softmax over inner products, and how many dimensions word vectors need (chapter 6).

The model is ``p(i, j) = exp(<u_i, v_j>) / Z`` over all pairs of ``N`` centre and ``N`` context vectors.
If the vectors lie on the sphere of radius ``sqrt(κ n)`` in ``R^n`` with independent uniform directions,
``<u, v> = κ n cos θ`` with ``θ`` the angle between two random directions, and replacing the double sums by
``N²`` times expectations gives ``H ≈ 2 log N + h_n``.

* :func:`angle_density` -- ``p_n(θ) = Γ(n/2) / (Γ((n-1)/2) √π) · sin^{n-2} θ`` on ``[0, π]``;
* :func:`sphere_sample` -- independent uniform points on the sphere of a given radius in ``R^n``;
* :func:`h_n` -- ``log E[e^{κ n cos θ}] - κ n E[e^{κ n cos θ} cos θ] / E[e^{κ n cos θ}]`` by log-space
  quadrature around the peak (no overflow, no cancellation: any ``n >= 2`` and ``κ > 0`` with ``κ n`` finite);
* :func:`laplace_slope` -- the large-``n`` limit of ``h_n / n``: ``½ log(1 - c²)`` with
  ``c = (√(1 + 4κ²) - 1) / (2κ)`` (``½ log((√5 - 1)/2) = -0.2406`` for ``κ = 1``);
* :func:`dimension_threshold` -- the ``n`` at which ``2 log N + h_n`` reaches 0: asymptotic
  (``-4 log N / log(1 - c²)``, i.e. ``8.3123 log N`` for ``κ = 1``) or exact (a root of the quadrature);
* :func:`pair_entropy` -- the exact entropy of the ``N × M`` softmax, by ``logsumexp``;
* :func:`knee_dimension` -- where a quality-versus-dimension curve has made a given share of its gain.

Arguments are checked through :mod:`kexue.checks`: wrong types (bools, strings, complex, None) raise
``TypeError``, wrong values (NaN/inf, ``n < 2``, ``κ <= 0``, empty or mismatched arrays) ``ValueError``; both
messages start with the argument's name.  ``h_n`` and the thresholds use NumPy/SciPy in float64;
``pair_entropy`` and ``sphere_sample`` use JAX (enable ``jax_enable_x64`` for float64).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq

from kexue import checks

__all__ = [
    "angle_density",
    "dimension_threshold",
    "h_n",
    "knee_dimension",
    "laplace_slope",
    "pair_entropy",
    "sphere_sample",
    "tilted_integrals",
]


# -- validation (through kexue.checks: messages start with the argument's name) -------------------------
def _dimension(n: Any) -> float:
    v = checks.real(n, "n")
    if v < 2:
        raise ValueError(f"n: must be >= 2 (a sphere in R^n with n >= 2), got {v}")
    return v


def _kappa(kappa: Any) -> float:
    return checks.real(kappa, "kappa", positive=True)





# -- the angle between two random directions ----------------------------------------------------------
def _log_gamma_ratio(x: float) -> float:
    """``log Γ(x + ½) - log Γ(x)`` for ``x >= ½`` without the cancellation of two ``gammaln`` values.

    Stirling's series ``½ log x - 1/(8x) + 1/(192x³) - 1/(640x⁵) + 17/(14336x⁷) - 31/(18432x⁹) + 691/(180224x¹¹)``
    (error below 1e-17 for ``x >= 20``), after shifting ``x`` up with ``Γ(x+1) = x Γ(x)``:
    each step subtracts ``log((x + ½)/x) = log1p(1/(2x))``.
    """
    shift = 0.0
    while x < 20.0:
        shift -= math.log1p(0.5 / x)
        x += 1.0
    t = 1.0 / x
    t2 = t * t
    series = t * (-1 / 8 + t2 * (1 / 192 + t2 * (-1 / 640 + t2 * (17 / 14336 + t2 * (-31 / 18432
                                                                                + t2 * 691 / 180224)))))
    return shift + 0.5 * math.log(x) + series


def _log_norm_const(n: float) -> float:
    """``log[Γ(n/2) / (Γ((n-1)/2) √π)]``, the log of ``1 / ∫_0^π sin^{n-2} θ dθ``."""
    return _log_gamma_ratio((n - 1) / 2) - 0.5 * math.log(math.pi)


def _log_sin(theta: np.ndarray) -> np.ndarray:
    """``log sin θ`` for ``θ`` in ``[0, π/2]``; near ``π/2`` as ``log1p(-2 sin²(δ/2))``, ``δ = π/2 - θ``, which keeps
    the digits that ``(n - 2) log sin θ`` needs for large ``n``."""
    delta = np.pi / 2 - theta
    with np.errstate(divide="ignore"):
        return np.where(delta < np.pi / 4, np.log1p(-2.0 * np.sin(delta / 2) ** 2), np.log(np.sin(theta)))


def angle_density(theta: Any, n: Any) -> np.ndarray:
    """Density of the angle ``θ`` between two independent uniform directions in ``R^n`` (``n >= 2``).

    ``p_n(θ) = Γ(n/2) / (Γ((n-1)/2) √π) · sin^{n-2} θ`` for ``0 <= θ <= π`` and 0 outside; ``n = 2`` gives
    the uniform density ``1/π``, ``n = 3`` gives ``sin θ / 2`` (``cos θ`` uniform).  Angles are measured against
    the float ``π`` (``np.pi``): ``p_n(np.pi - θ) = p_n(θ)`` exactly and ``p_n(np.pi) = 0``.  Evaluated in log space:
    the constant by Stirling's series for ``log Γ(x + ½) - log Γ(x)`` and ``log sin θ`` near ``π/2`` by ``log1p``,
    so it keeps full relative precision for any ``n`` (``gammaln`` differences lost 1e-4 at ``n = 10^12``).

    Args:
        theta: angles (any shape, empty allowed), real and finite.
        n: the dimension, a real ``>= 2``.

    Returns:
        A float64 array of ``theta``'s shape.

    Raises:
        TypeError: non-real (bool, complex, string, None) ``theta`` or ``n``.
        ValueError: NaN/inf in ``theta``, ``n`` NaN/inf or ``< 2``.
    """
    nn = _dimension(n)
    t = checks.array(theta, "theta", kinds="iuf", min_size=0).astype(np.float64)
    inside = (t >= 0) & (t <= np.pi)
    folded = np.where(inside, np.minimum(t, np.pi - t), np.pi / 2)  # sin(π - θ) = sin θ, exactly 0 at π
    log_p = _log_norm_const(nn) + (0.0 if nn == 2 else (nn - 2) * _log_sin(folded))
    return np.where(inside, np.exp(log_p), 0.0)


def sphere_sample(key: jax.Array, num: int, n: int, *, radius: float = 1.0) -> jax.Array:
    """``num`` independent points uniform on the sphere ``{x ∈ R^n : |x| = radius}``: ``radius · x / |x|``,
    ``x ~ N(0, I_n)``.

    Returns an array ``(num, n)`` in JAX's default float dtype.  Raises TypeError for a bad ``key``, non-int
    ``num``/``n`` or a non-real ``radius``; ValueError for ``num < 1``, ``n < 1``, or a ``radius`` that is not a
    positive normal number of the dtype (NaN/inf, ``<= 0``, below ``finfo.tiny`` or above ``finfo.max``).
    """
    checks.prng_key(key)
    num_i, n_i = checks.count(num, "num"), checks.count(n, "n")
    info = jnp.finfo(jnp.result_type(float))
    r = checks.real(radius, "radius", positive=True)
    if not float(info.tiny) <= r <= float(info.max):
        raise ValueError(f"radius: must lie in [{float(info.tiny):.3g}, {float(info.max):.3g}] (positive normal "
                         f"{info.dtype} numbers), got {r}")
    return _sphere(key, num_i, n_i, r)


@partial(jax.jit, static_argnums=(1, 2))
def _sphere(key: jax.Array, num: int, n: int, radius: float) -> jax.Array:
    x = jax.random.normal(key, (num, n))
    return radius * (x / jnp.linalg.norm(x, axis=1, keepdims=True))  # x/|x| first: no overflow for huge radii


# -- h_n -----------------------------------------------------------------------------------------------
def _log1pmx(r: float) -> float:
    """``log(1 + r) - r`` for ``r > -1``; for ``|r| <= ½`` by ``w = r/(2 + r)``:
    ``-r w + 2 w³ (1/3 + w²/5 + w⁴/7 + …)`` (``|w| <= 1/3``), which keeps relative precision as ``r → 0``."""
    if abs(r) > 0.5:
        return math.log1p(r) - r
    w = r / (2.0 + r)
    w2 = w * w
    tail, power, k = 0.0, 1.0, 3
    while power > 1e-17:
        tail += power / k
        power *= w2
        k += 2
    return -r * w + 2.0 * w * w2 * tail


def _h_series(n: float, kappa: float) -> float:
    """``h_n`` from the von Mises–Fisher normalizer ``E[e^{x cos θ}] = ₀F₁(; b; y)``, ``b = n/2``, ``y = x²/4``,
    ``x = κ n``: ``h = log ₀F₁(; b; y) - (2y/b) ₀F₁(; b+1; y) / ₀F₁(; b; y)``.  The sums ``₀F₁ - 1`` of positive
    terms ``y^k / ((b)_k k!)`` keep full relative precision where ``h ≈ -κ² n / 2`` is small (used for
    ``y/b = κ² n / 2 <= 1``; the terms fall at least like ``1/k!``)."""
    b, r = n / 2, kappa * (kappa * n) / 2  # r = y / b
    y = r * b

    def hyp0f1_minus_one(c: float) -> float:
        term, total, k = 1.0, 0.0, 0
        while True:
            k += 1
            term *= y / ((c + k - 1) * k)
            total += term
            if term <= 1e-17 * total:
                return total

    u0, u1 = hyp0f1_minus_one(b), hyp0f1_minus_one(b + 1)
    return math.log1p(u0) - 2 * r * (1 + u1) / (1 + u0)


def _h_quadrature(n: float, kappa: float) -> float:
    """``h_n`` by adaptive quadrature around the peak of ``φ(θ) = (n-2) log sin θ + x cos θ``, ``x = κ n``.

    The peak: ``cos θ* = c`` with ``c² + q c - 1 = 0``, ``q = (n-2)/x``, so ``c = 2/(q + √(q² + 4))`` and
    ``sin² θ* = 1 - c² = q c`` (no cancellation, no overflow).  Around it
    ``φ(θ* + δ) - φ(θ*) = (n-2)[log1p(ρ) - ρ] - 2 sin²(δ/2) [(n-2) + x c]`` with
    ``ρ = sin(θ*+δ)/sin θ* - 1 = cot θ* sin δ - 2 sin²(δ/2)`` (the terms linear in ``δ`` cancel at the peak):
    a sum of two non-positive terms, free of cancellation for any ``n`` and ``x``.  With ``δ = w t``,
    ``w = 1/√(φ''(θ*))`` (so nothing underflows however narrow the peak), ``A = ∫ e^{φ(θ*+δ) - φ(θ*)} dt`` and
    ``B = ∫ e^{…} x (cos(θ*+δ) - cos θ*) dt``: ``h = (n-2) log sin θ* + log(w A) + log(normalizer) - B/A``, the huge
    ``x cos θ*`` terms of ``log E[e^{x cos θ}]`` and ``x E[cos θ]`` cancelling analytically, not in floating
    point.  Outside a window where ``φ - φ(θ*) < -60`` the integrand is below ``e^{-60}`` (``φ`` is unimodal).
    """
    x = kappa * n
    q = (n - 2) / x
    c = 2.0 / (q + math.hypot(q, 2.0))
    s = math.sqrt(q * c)
    t_star = math.atan2(s, c)
    cot = c / s if n > 2 else 0.0
    quad_coef = (n - 2) + x * c
    w = 1.0 / (math.sqrt(x) * math.sqrt(c + 1.0 / c if n > 2 else 1.0))  # φ'' = (n-2)/sin² θ* + x c = x (c + 1/c)

    def excess(t: float) -> float:
        d = w * t
        half = math.sin(d / 2)
        out = -2.0 * half * half * quad_coef
        if n > 2:
            rho = cot * math.sin(d) - 2.0 * half * half
            if rho <= -1.0:
                return -math.inf
            out += (n - 2) * _log1pmx(rho)
        return out

    lo = hi = 12.0  # window [θ* - lo w, θ* + hi w] ∩ [0, π]
    while lo * w < t_star and excess(-lo) > -60.0:
        lo *= 2.0
    while hi * w < math.pi - t_star and excess(hi) > -60.0:
        hi *= 2.0
    lo, hi = min(lo, t_star / w), min(hi, (math.pi - t_star) / w)

    def weight(t: float) -> float:
        return math.exp(excess(t))

    def weighted_dcos(t: float) -> float:  # e^{excess} · x (cos(θ*+δ) - cos θ*), in an order that cannot underflow
        d = w * t
        return weight(t) * (-2.0 * (x * math.sin(t_star + d / 2)) * math.sin(d / 2))

    opts = dict(epsabs=0.0, epsrel=1e-12, limit=200)
    # breakpoints where the integrand changes shape: a few widths out, and at θ* and 10 θ* (near n = 2, θ* << w)
    inner = (-6.0, -2.0, 2.0, 6.0, t_star / w, 10 * t_star / w)
    cuts = sorted({-lo, 0.0, hi} | {t for t in inner if -lo < t < hi})
    pieces = list(zip(cuts, cuts[1:]))
    a = sum(quad(weight, u, v, **opts)[0] for u, v in pieces)
    b = sum(quad(weighted_dcos, u, v, **opts)[0] for u, v in pieces)
    log_peak = 0.0
    if n > 2:  # log sin θ* = ½ log(1 - c²): by log1p for small c (sin θ* ≈ 1: (n-2) log sin θ* needs the digits)
        log_peak = (n - 2) * (0.5 * math.log1p(-c * c) if c * c < 0.5 else math.log(s))
    return log_peak + math.log(w) + math.log(a) + _log_norm_const(n) - b / a


def _peak_angle(n: float, kappa: float) -> float:
    """The maximizer of ``(n-2) log sin θ + κ n cos θ`` on ``[0, π]``: ``cos θ* = c`` with
    ``κ n c² + (n-2) c - κ n = 0``."""
    a, b = kappa * n, n - 2.0
    c = 2.0 * a / (b + math.sqrt(b * b + 4.0 * a * a))  # the positive root, written without cancellation
    return math.acos(min(c, 1.0))


def tilted_integrals(n: Any, kappa: Any = 1.0) -> tuple[float, float, float]:
    """``(m, A, B)`` with ``∫_0^π sin^{n-2}θ e^{κn cosθ} dθ = e^m A`` and ``∫ … cos θ dθ = e^m B``.

    The two integrals behind :func:`h_n` (``h_n = m + log A + log c_n - κ n B/A``, ``c_n`` the normaliser of
    :func:`angle_density`), returned separately so a chapter can study them (Laplace's method, the tilted
    mean ``B/A``).  ``n >= 2`` and ``κ > 0`` finite, checked as in :func:`h_n`; for ``n`` up to about ``1e7``.

    The exponent ``φ(θ) = (n-2) log sin θ + κ n cos θ`` peaks at ``θ*`` with value ``m``; ``φ(θ* + δ) - m``
    is evaluated without cancellation (``log1p`` and half-angle forms), so the integrand keeps full
    relative precision even when ``m`` is in the millions.  ``φ`` is unimodal on ``[0, π]`` (``φ'`` is
    decreasing on ``(0, π/2)`` and negative on ``(π/2, π)``), so outside a window where ``φ - m < -60`` the
    integrand is below ``e^{-60}``; the window starts at a few Laplace widths and grows until that holds.
    """
    n, kappa = _dimension(n), _kappa(kappa)
    if n > 1e7:
        raise ValueError(f"n: tilted_integrals is for n <= 1e7, got {n}")
    t_star = _peak_angle(n, kappa)
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
    pair entropy is ``H ≈ 2 log N + h_n``.  Computed to 1e-12 relative or better (the quadrature's tolerance;
    1e-15 is typical) for any ``n >= 2`` and ``κ > 0`` with ``κ n`` finite -- checked against mpmath for ``n`` up
    to ``10^300`` and against the large-``κ`` asymptotics up to ``κ n = 10^308``:

    * by adaptive quadrature of ``exp[φ(θ* + δ) - φ(θ*)]`` around the peak ``θ*`` of
      ``φ = (n-2) log sin θ + κ n cos θ``, with the normalizer ``∫ sin^{n-2} = √π Γ((n-1)/2)/Γ(n/2)`` in closed
      form: nothing overflows (``e^{n cos θ}`` alone does for ``n > 709``) and nothing cancels;
    * where ``κ² n <= 2`` (``|h_n|`` small) by the power series of the closed form, which keeps relative
      precision as ``κ → 0``.

    The closed form is ``log[Γ(ν+1)(2/x)^ν I_ν(x)] - x I_{ν+1}(x)/I_ν(x)``, ``ν = n/2 - 1``, ``x = κ n``
    (von Mises–Fisher), which the tests evaluate with mpmath as a cross-check.

    Args:
        n: the dimension, a real ``>= 2``.
        kappa: squared norm per dimension, ``|u|² = |v|² = κ n`` (the article takes ``κ = 1``), a real ``> 0``.

    Raises:
        TypeError: non-real ``n`` or ``kappa`` (bool, string, complex, None, arrays).
        ValueError: NaN/inf, ``n < 2``, ``κ <= 0``, or ``κ n`` beyond the float range.
    """
    nn, k = _dimension(n), _kappa(kappa)
    if not math.isfinite(k * nn):
        raise ValueError(f"kappa: κ n = {k:g} · {nn:g} overflows float64")
    if k * (k * nn) <= 2.0:
        return _h_series(nn, k)
    return _h_quadrature(nn, k)


def laplace_slope(kappa: Any = 1.0) -> float:
    """``lim h_n / n = ½ log(1 - c²)``, ``c = (√(1 + 4κ²) - 1) / (2κ)`` (Laplace's method).

    ``g(θ) = log sin θ + κ cos θ`` peaks where ``cos θ = κ sin² θ``, i.e. at ``cos θ* = c``; the slope is
    ``g(θ*) - κ c = log sin θ* = ½ log(1 - c²)``.  For ``κ = 1``, ``c = (√5 - 1)/2`` and the slope is
    ``½ log c = -½ log φ = -0.2406059…``.  Evaluated as ``-½ log1p(κ c)`` (``κ(1 - c²) = c`` and
    ``1 - c² = 1/(1 + κc)``) with ``c = 2 / (1/κ + √(1/κ² + 4))``: no overflow and full precision for every
    ``κ > 0`` (``1 - c²`` lost its digits as ``c → 1``).  Raises TypeError/ValueError for a non-real or
    non-positive ``kappa``.
    """
    k = _kappa(kappa)
    return -0.5 * math.log1p(k * _cos_peak(k))


def _cos_peak(kappa: float) -> float:
    """``c = (√(1 + 4κ²) - 1) / (2κ) = 2 / (1/κ + √(1/κ² + 4))``, written without cancellation or overflow."""
    inv = 1.0 / kappa
    return 2.0 / (inv + math.hypot(inv, 2.0))


def dimension_threshold(N: Any, kappa: Any = 1.0, *, exact: bool = False) -> float:
    """The dimension ``n`` at which the approximate entropy ``2 log N + h_n`` reaches 0.

    With ``exact=False`` (default) the asymptotic rule ``n = -2 log N / laplace_slope(κ)``
    (``= 8.3123 log N`` for ``κ = 1``; the article rounds the slope to 0.24 and writes ``8.33 log N``).
    With ``exact=True`` the root in ``n >= 2`` of ``2 log N + h_n(n, κ) = 0``, ``h_n`` by quadrature
    (about 0.5 below the asymptotic rule for ``κ = 1``: the ``O(1)`` term of ``h_n``).  ``N`` is the number
    of vectors per table (the vocabulary size), a real ``>= 2``.

    Raises:
        TypeError: non-real ``N``/``kappa``, non-bool ``exact``.
        ValueError: ``N`` NaN/inf or ``< 2``, ``κ <= 0``; with ``exact=True`` also when ``N`` is so small that
            ``2 log N + h_2 <= 0`` (no root in ``n >= 2``) or the root overflows float64 (``κ`` below about 1e-150).
    """
    big_n = checks.real(N, "N")
    if big_n < 2:
        raise ValueError(f"N: must be >= 2, got {big_n}")
    k = _kappa(kappa)
    exact = checks.flag(exact, "exact")
    two_log_n = 2.0 * math.log(big_n)
    guess = -two_log_n / laplace_slope(k)
    if not exact:
        return guess

    def f(n: float) -> float:
        return two_log_n + h_n(n, k)

    if f(2.0) <= 0:
        raise ValueError(f"N: {big_n} is too small for κ = {k}: 2 log N + h_2 <= 0 already at n = 2")
    hi = max(2.0 * guess, 4.0)
    while math.isfinite(hi) and f(hi) > 0:  # h_n decreases linearly, so this doubles a few times at most
        hi *= 2.0
    if not math.isfinite(hi):
        raise ValueError(f"kappa: the exact threshold for κ = {k} overflows float64 (the asymptotic rule gives "
                         f"{guess:.4g})")
    return float(brentq(f, 2.0, hi, xtol=1e-10, rtol=1e-13))


# -- the exact entropy ------------------------------------------------------------------------------------
def _power_of_two_scale(a: np.ndarray) -> tuple[np.ndarray, int]:
    """``(a · 2^-e, e)`` with ``2^e`` the power of two just above ``max |a|``: exact, entries in ``[-1, 1]``."""
    e = int(np.frexp(np.max(np.abs(a)))[1])
    return np.ldexp(a, -e), e


def _pow2_factors(e: int, dtype: Any) -> np.ndarray:
    """Three exact powers of two of ``dtype``, all of the sign of ``e``, whose product is ``2^e`` (``|e| <= 3 · 126``
    in float32): multiplying by them in turn is exact unless the final result over- or underflows."""
    e1 = int(e / 3)
    e2 = int((e - e1) / 2)
    return np.ldexp(np.ones(3, dtype), [e1, e2, e - e1 - e2]).astype(dtype)


@jax.jit
def _inner_products(u: jax.Array, v: jax.Array) -> jax.Array:
    return u @ v.T


@jax.jit
def _softmax_entropy(s: jax.Array, scale: jax.Array) -> jax.Array:
    """Entropy of ``softmax(2^e s)`` over all entries, ``scale`` three factors with product ``2^e``.

    ``s`` arrives materialized (a separate call): fused with the product, XLA may contract ``u v - max`` into
    an FMA and leave ``d > 0`` at the maximum.
    """
    x = s - jnp.max(s)
    for factor in scale:  # one at a time; the barrier keeps XLA from folding 2^e1 2^e2 2^e3 into one overflowing
        x = jax.lax.optimization_barrier(x * factor)  # scalar: x = <u_i, v_j> - max exactly, -inf where it overflows
    log_z = jax.nn.logsumexp(x)  # log Σ e^{x_ij} in [0, log(N M)]
    p = jnp.exp(x - log_z)
    return log_z - jnp.sum(jnp.where(p > 0, p * x, 0.0))


def pair_entropy(U: Any, V: Any) -> jax.Array:
    """Exact entropy of ``p(i, j) = exp(<u_i, v_j>) / Z`` over all ``N × M`` pairs, by ``logsumexp``.

    ``H = log Z' - Σ_{ij} p(i, j) x_ij`` with ``x_ij = <u_i, v_j> - max <u, v> <= 0`` and
    ``log Z' = logsumexp x``: a sum of two non-negative terms, so ``0 <= H <= log(N M)`` holds and no digits
    cancel however large the inner products (``log Z - Σ p <u, v>`` lost them: -1e10 for an entropy of
    ``log 2`` in float32).  The inner products are formed from ``U``, ``V`` scaled by powers of two (exact),
    so they cannot overflow; pairs whose gap to the maximum overflows get probability 0.  float16/bfloat16
    inputs are computed in float32, integers in the default float.  Memory is ``O(N M)``.  Not for use
    inside ``jit`` (the inputs are checked and scaled on the host).

    Args:
        U: array ``(N, n)`` of centre vectors, finite, ``N, n >= 1``.
        V: array ``(M, n)`` of context vectors (same ``n``), finite.

    Returns:
        A scalar array (nats).

    Raises:
        TypeError: non-real arrays (bool, complex, strings, None), traced values.
        ValueError: not 2-D, empty, NaN/inf, or different dimensions ``n``.
    """
    arrays = []
    for name, x in (("U", U), ("V", V)):
        if checks.is_traced(x):
            raise TypeError(f"{name}: pair_entropy checks and rescales its inputs on the host; call it outside "
                            f"jax.jit/grad/vmap")
        arrays.append(checks.array(x, name, ndim=2, kinds="iuf"))
    u, v = arrays
    if u.shape[1] != v.shape[1]:
        raise ValueError(f"U, V: must have the same dimension, got {u.shape[1]} and {v.shape[1]}")
    dtype = _compute_dtype(np.result_type(u.dtype, v.dtype))
    (u, eu), (v, ev) = _power_of_two_scale(u.astype(dtype)), _power_of_two_scale(v.astype(dtype))
    s = _inner_products(jnp.asarray(u), jnp.asarray(v))  # = <u_i, v_j> · 2^-(eu+ev) exactly: |s| <= n
    return _softmax_entropy(s, jnp.asarray(_pow2_factors(eu + ev, dtype)))


def _compute_dtype(dtype: Any) -> np.dtype:
    """float32/float64 as JAX has them (float64 only with x64); integers → the default float; narrower → float32."""
    if np.dtype(dtype).kind in "iu":
        return np.dtype(jnp.result_type(float))
    return np.dtype(jnp.promote_types(jax.dtypes.canonicalize_dtype(dtype), jnp.float32))


# -- where a quality curve saturates ----------------------------------------------------------------------
def knee_dimension(dims: Any, scores: Any, fraction: float = 0.9) -> np.ndarray:
    """The smallest dimension at which a score has made ``fraction`` of its gain: the "knee" of the curve.

    With dimensions ``n_0 < n_1 < … < n_{K-1}`` and scores ``s_k``, the gains are ``g_k = s_k - s_0`` and
    the target is ``q · max_k g_k`` (``q`` = ``fraction``).  The knee is the first ``n_k`` with
    ``g_k >= q · max g``, refined by linear interpolation in ``log n`` between ``n_{k-1}`` and ``n_k``; a
    curve that never rises above ``s_0`` has its knee at ``n_0``.  The knee lies in ``[n_0, n_argmax s]``, does
    not change when the scores are shifted or multiplied by a positive constant, and does not depend on the
    scores after the maximum.

    ``dims``: a 1-D array of at least two strictly increasing positive reals; ``scores``: a finite real array
    whose last axis matches ``dims`` (leading axes are independent curves, e.g. bootstrap replicates);
    ``fraction``: a real in ``(0, 1]``.  Returns an array of the leading shape (0-d for one curve).
    """
    n = checks.array(dims, "dims", ndim=1, kinds="iuf").astype(np.float64)
    if n.size < 2 or not np.all(np.isfinite(n)) or n.min() <= 0 or np.any(np.diff(n) <= 0):
        raise ValueError(f"dims: need at least two strictly increasing positive finite dimensions, got {n}")
    s = checks.array(scores, "scores", kinds="iuf").astype(np.float64)
    if s.ndim == 0 or s.shape[-1] != n.size:
        raise ValueError(f"scores: the last axis must have one score per dimension ({n.size}), got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores: contains NaN/inf")
    q = checks.real(fraction, "fraction", positive=True)
    if q > 1:
        raise ValueError(f"fraction: must lie in (0, 1], got {q}")
    gain = s - s[..., :1]
    target = q * gain.max(axis=-1, keepdims=True)
    k = np.argmax(gain >= target, axis=-1)  # the first index reaching the target (0 when the curve never rises)
    prev = np.maximum(k - 1, 0)
    g_lo = np.take_along_axis(gain, prev[..., None], -1)[..., 0]
    g_hi = np.take_along_axis(gain, k[..., None], -1)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(k > 0, (target[..., 0] - g_lo) / (g_hi - g_lo), 0.0)
    log_n = np.log(n)
    return np.exp(log_n[prev] + np.clip(t, 0.0, 1.0) * (log_n[k] - log_n[prev]))
