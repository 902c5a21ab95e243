"""Unit, statistical and property tests for kexue.entropy (float64 throughout).

The reference for ``h_n`` is the von Mises–Fisher closed form through modified Bessel functions:
``E[e^{x cos θ}] = Γ(ν+1) (2/x)^ν I_ν(x)`` and ``E_tilted[cos θ] = I_{ν+1}(x) / I_ν(x)``, ``ν = n/2 - 1``, in
SciPy (moderate ``n``) and in mpmath (any ``n`` and ``κ``, with the defining integrals where its series is slow);
bad input must raise a ``TypeError``/``ValueError`` whose message starts with the argument's name.
"""

import math

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import mpmath as mp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scipy import stats  # noqa: E402
from scipy.integrate import quad  # noqa: E402
from scipy.special import betaln, gammaln, ive  # noqa: E402

from kexue.entropy import (  # noqa: E402
    angle_density,
    dimension_threshold,
    h_n,
    laplace_slope,
    pair_entropy,
    sphere_sample,
)

KEY = jax.random.key(7695)
GOLDEN = (1 + math.sqrt(5)) / 2


def h_bessel(n, kappa=1.0):
    """h_n in closed form (ive = e^{-x} I_ν(x) keeps it finite for n up to a few thousand)."""
    nu, x = n / 2 - 1, kappa * n
    log_i = math.log(ive(nu, x)) + x
    return gammaln(nu + 1) + nu * math.log(2 / x) + log_i - x * ive(nu + 1, x) / ive(nu, x)


def h_mpmath(n, kappa=1.0):
    """h_n to ~25 digits with mpmath: the closed form Γ(ν+1)(2/x)^ν I_ν(x) = ₀F₁(; n/2; x²/4) where mpmath's series
    converges, else the defining integrals by tanh-sinh quadrature split around the peak (e^{x cos θ} is
    representable in mpmath whatever x)."""
    with mp.workdps(30 + int(math.log10(max(kappa * n, 10)))):
        n, kappa = mp.mpf(n), mp.mpf(kappa)
        x = kappa * n
        b, y = n / 2, x * x / 4
        if n <= 2000 and y <= 1e6:
            f0, f1 = mp.hyp0f1(b, y), mp.hyp0f1(b + 1, y)
            return mp.log(f0) - 2 * y / b * f1 / f0
        q = (n - 2) / x
        c = 2 / (q + mp.sqrt(q * q + 4))  # cos θ* at the peak of (n-2) log sin θ + x cos θ
        t = mp.acos(c)
        m = (n - 2) * mp.log(mp.sin(t)) + x * c
        w = 1 / mp.sqrt((n - 2) / mp.sin(t) ** 2 + x * c)
        pts = sorted({mp.mpf(0), mp.pi} | {p for p in (t + k * w for k in (-60, -20, -6, 0, 6, 20, 60)) if 0 < p < mp.pi})
        weight = lambda th: mp.exp((n - 2) * mp.log(mp.sin(th)) + x * mp.cos(th) - m)  # noqa: E731
        a = mp.quad(weight, pts)
        tilted_mean = c + mp.quad(lambda th: weight(th) * (mp.cos(th) - c), pts) / a
        return m + mp.log(a) - mp.log(mp.beta((n - 1) / 2, mp.mpf(1) / 2)) - x * tilted_mean


def h_large_kappa(n, kappa):
    """h_n as x = κ n → ∞: Laplace at θ = 0, sin^{n-2}θ e^{x cos θ} ≈ θ^{n-2} e^{x - xθ²/2}; relative error O(1/x)."""
    a = (n - 1) / 2
    return a * math.log(2 / (kappa * n)) + gammaln(a) - math.log(2) - betaln(a, 0.5) + a


# -- angle_density ------------------------------------------------------------------------------------
def test_angle_density_special_cases():
    t = np.linspace(0, np.pi, 7)
    np.testing.assert_allclose(angle_density(t, 2), np.full(7, 1 / np.pi), rtol=1e-14)
    np.testing.assert_allclose(angle_density(t, 3), np.sin(t) / 2, rtol=1e-14, atol=1e-15)
    assert angle_density(-0.1, 5) == 0 and angle_density(np.pi + 0.1, 5) == 0
    assert angle_density(t, 4).shape == (7,) and angle_density(1.0, 4).shape == ()


def test_angle_density_large_n_is_finite_and_peaks_at_right_angle():
    t = np.linspace(0, np.pi, 2001)
    p = angle_density(t, 5000)
    assert np.all(np.isfinite(p)) and t[np.argmax(p)] == pytest.approx(np.pi / 2)
    # the Laplace approximation: nearly N(π/2, 1/(n-2)) at the peak
    assert p.max() == pytest.approx(np.sqrt(4998 / (2 * np.pi)), rel=1e-3)


@given(st.floats(2.0, 400.0))
def test_angle_density_integrates_to_one_and_is_symmetric(n):
    total = quad(lambda t: float(angle_density(t, n)), 0, np.pi, points=[np.pi / 2], epsabs=0, epsrel=1e-11)[0]
    assert total == pytest.approx(1.0, rel=1e-9)
    t = np.linspace(0, np.pi / 2, 9)
    np.testing.assert_allclose(angle_density(t, n), angle_density(np.pi - t, n), rtol=1e-12, atol=1e-12)


def test_angle_density_matches_sampled_angles():
    # KS test: angles between 20000 pairs of random directions in R^10 follow p_10 (cos θ ~ 2 Beta(4.5, 4.5) - 1)
    k1, k2 = jax.random.split(KEY)
    x, y = sphere_sample(k1, 20_000, 10), sphere_sample(k2, 20_000, 10)
    cos = np.clip(np.asarray(jnp.sum(x * y, axis=1)), -1, 1)
    assert stats.kstest((cos + 1) / 2, stats.beta(4.5, 4.5).cdf).pvalue > 1e-3
    # and the density integrates to the same CDF at a few angles
    for t in (0.8, 1.4, 2.0):
        cdf = quad(lambda s: float(angle_density(s, 10)), 0, t)[0]
        assert cdf == pytest.approx(1 - stats.beta(4.5, 4.5).cdf((np.cos(t) + 1) / 2), rel=1e-9)


@pytest.mark.parametrize("n", [1e6, 1e12, 1e16, 1e300])
def test_angle_density_large_n_keeps_its_digits(n):
    """gammaln(n/2) - gammaln((n-1)/2) lost 2e-4 at n = 1e12 and everything at 1e16; log sin θ near π/2 too.

    Angles are measured against the float π (np.pi), as angle_density documents: the reference takes
    δ = np.pi/2 - θ exactly and p_n ∝ cos^{n-2} δ."""
    def ref(t):
        with mp.workdps(40 + int(math.log10(n))):
            nn, delta = mp.mpf(n), mp.mpf(np.pi / 2) - mp.mpf(t)
            log_p = mp.loggamma(nn / 2) - mp.loggamma((nn - 1) / 2) - mp.log(mp.pi) / 2 + (nn - 2) * mp.log(mp.cos(delta))
            return float(mp.exp(log_p))

    width = 1 / math.sqrt(n)
    for t in (np.pi / 2, np.pi / 2 - 0.7 * width, np.pi / 2 + 2.3 * width):
        assert float(angle_density(t, n)) == pytest.approx(ref(t), rel=1e-13)


@pytest.mark.parametrize(("theta", "n", "exc", "name"), [
    (1.0, 1.5, ValueError, "n"), (1.0, np.nan, ValueError, "n"), (1.0, np.inf, ValueError, "n"),
    (1.0, "3", TypeError, "n"), (1.0, True, TypeError, "n"), (1.0, None, TypeError, "n"), (1.0, 3 + 0j, TypeError, "n"),
    (1.0, np.array([3.0, 4.0]), TypeError, "n"),
    ([0.1, np.nan], 3, ValueError, "theta"), ([0.1, np.inf], 3, ValueError, "theta"), ("a", 3, TypeError, "theta"),
    (True, 3, TypeError, "theta"), (None, 3, TypeError, "theta"), (1j, 3, TypeError, "theta"),
    ([[1.0], [1.0, 2.0]], 3, TypeError, "theta"),
])
def test_angle_density_bad_input(theta, n, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        angle_density(theta, n)


def test_angle_density_accepts_empty_and_jax_input():
    assert angle_density([], 3).shape == (0,)
    np.testing.assert_allclose(angle_density(jnp.array([0.5, 1.0]), jnp.array(3.0)), np.sin([0.5, 1.0]) / 2, rtol=1e-15)


# -- sphere_sample ------------------------------------------------------------------------------------
def test_sphere_sample_norms_and_mean():
    x = sphere_sample(KEY, 4000, 16, radius=4.0)
    assert x.shape == (4000, 16) and x.dtype == jnp.float64
    np.testing.assert_allclose(jnp.linalg.norm(x, axis=1), 4.0, rtol=1e-12)
    # each coordinate has mean 0 and variance r²/n = 1: the sample mean is within 5 SE of 0
    assert float(jnp.max(jnp.abs(x.mean(0)))) < 5 / np.sqrt(4000)


@pytest.mark.parametrize(("args", "kwargs", "exc", "name"), [
    ((KEY, 0, 3), {}, ValueError, "num"), ((KEY, 3, 0), {}, ValueError, "n"), ((KEY, -1, 3), {}, ValueError, "num"),
    ((KEY, 3.0, 3), {}, TypeError, "num"), ((KEY, True, 3), {}, TypeError, "num"), ((KEY, 3, "3"), {}, TypeError, "n"),
    ((KEY, 3, 3), {"radius": -1.0}, ValueError, "radius"), ((KEY, 3, 3), {"radius": np.inf}, ValueError, "radius"),
    ((KEY, 3, 3), {"radius": 1e-320}, ValueError, "radius"), ((KEY, 3, 3), {"radius": "1"}, TypeError, "radius"),
    ((KEY, 3, 3), {"radius": True}, TypeError, "radius"), ((0, 3, 3), {}, TypeError, "key"),
    ((None, 3, 3), {}, TypeError, "key"),
])
def test_sphere_sample_bad_input(args, kwargs, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        sphere_sample(*args, **kwargs)


def test_sphere_sample_extreme_radii():
    """radius · x / |x| overflowed to inf for radius 1e308 (radius · x came first)."""
    for r in (1e308, 1e-300):
        x = np.asarray(sphere_sample(KEY, 50, 7, radius=r))
        assert np.all(np.isfinite(x))
        np.testing.assert_allclose(np.linalg.norm(x / r, axis=1), 1.0, rtol=1e-14)


# -- h_n ----------------------------------------------------------------------------------------------
def test_h_n_reproduces_the_article_table():
    table = {32: -7.77471, 64: -15.4734, 96: -23.1726, 128: -30.8718, 256: -61.6692, 512: -123.264}
    for n, value in table.items():
        assert h_n(n) == pytest.approx(value, abs=6e-4 if n == 512 else 6e-5)


@pytest.mark.parametrize("n", [2, 3, 7, 64, 333, 1024, 3000])
def test_h_n_matches_the_bessel_closed_form(n):
    assert h_n(n) == pytest.approx(h_bessel(n), rel=1e-11, abs=1e-12)


def test_h_n_large_n_does_not_overflow_and_approaches_the_slope():
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(1024.0))  # what naive quadrature of e^{n cos θ} would hit
    for n in (1024, 10_000, 100_000):
        h = h_n(n)
        assert math.isfinite(h)
        assert abs(h / n - laplace_slope()) < 0.1 / n  # h_n = s n + O(1), with |O(1)| < 0.1
    assert abs(h_n(1e9) - 1e9 * laplace_slope()) < 0.1  # beyond the old range n <= 10^7
    assert h_n(1e300) / 1e300 == pytest.approx(laplace_slope(), rel=1e-14)


@given(st.floats(2.0, 600.0), st.floats(0.1, 5.0))
def test_h_n_property_matches_bessel_for_any_n_and_kappa(n, kappa):
    assert h_n(n, kappa) == pytest.approx(h_bessel(n, kappa), rel=1e-9, abs=1e-10)


@given(st.floats(2.0, 500.0))
def test_h_n_is_decreasing_in_n(n):
    assert h_n(n + 1.0) < h_n(n)


@pytest.mark.parametrize(("n", "kappa"), [
    (2, 1), (2, 1e3), (2.5, 1), (10, 1e-8), (10, 1e-3), (100, 0.1414), (100, 0.1415), (10, 1e8), (10, 1e20),
    (1000, 1e8), (1e5, 1), (1e6, 1e-3), (1e12, 1), (1e15, 1e-7), (1e100, 1),
])
def test_h_n_against_mpmath_everywhere(n, kappa):
    """Tiny κ lost all digits (10, 1e-8 gave 67 % error), large κ some (10, 1e8: 5e-10), and n = 1e15 with
    κ = 1e-7 lost 1e-3; κ² n = 2 is where the series hands over to quadrature (n = 100, κ ≈ 0.1414)."""
    assert h_n(n, kappa) == pytest.approx(float(h_mpmath(n, kappa)), rel=1e-13)  # 5e-16 or better seen


@pytest.mark.parametrize("kappa", [1e20, 1e100, 1e200, 1e250, 1e300])
@pytest.mark.parametrize("n", [3, 10, 100])
def test_h_n_large_kappa_matches_the_asymptotics(n, kappa):
    """κ ≥ 1e20 failed (ZeroDivisionError, math range error) and from κ ≈ 1e230 an integral underflowed (off by 1/2)."""
    assert h_n(n, kappa) == pytest.approx(h_large_kappa(n, kappa), rel=1e-14)


@settings(max_examples=25)
@given(st.floats(2.0, 600.0), st.floats(-9.0, 0.5))
def test_h_n_property_matches_mpmath_across_both_methods(n, log_kappa):
    kappa = 10.0**log_kappa  # κ² n from 2e-18 to 6e3: both sides of the series/quadrature switch at κ² n = 2
    assert h_n(n, kappa) == pytest.approx(float(h_mpmath(n, kappa)), rel=1e-12)  # quad's epsrel


@pytest.mark.parametrize(("n", "kappa", "exc", "name"), [
    (1, 1.0, ValueError, "n"), (1.999, 1.0, ValueError, "n"), (float("inf"), 1.0, ValueError, "n"),
    (np.nan, 1.0, ValueError, "n"), (np.array([3.0, 4.0]), 1.0, TypeError, "n"), (None, 1.0, TypeError, "n"),
    (True, 1.0, TypeError, "n"), (1j, 1.0, TypeError, "n"), ("10", 1.0, TypeError, "n"),
    (10, 0.0, ValueError, "kappa"), (10, -1.0, ValueError, "kappa"), (10, np.nan, ValueError, "kappa"),
    (10, np.inf, ValueError, "kappa"), (10, "1", TypeError, "kappa"), (10, False, TypeError, "kappa"),
    (1e300, 1e10, ValueError, "kappa"),  # κ n overflows
])
def test_h_n_bad_input(n, kappa, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        h_n(n, kappa)


# -- laplace_slope and dimension_threshold -----------------------------------------------------------
def test_laplace_slope_closed_forms():
    assert laplace_slope() == pytest.approx(-0.5 * math.log(GOLDEN), rel=1e-15)
    assert -2 / laplace_slope() == pytest.approx(8.3123477, rel=1e-7)
    coefficients = {0.25: 69.758, 0.5: 21.251, 1.0: 8.3123, 2.0: 4.2525, 4.0: 2.6473}
    for kappa, coef in coefficients.items():
        assert -2 / laplace_slope(kappa) == pytest.approx(coef, abs=6e-4)


@given(st.floats(0.05, 20.0))
def test_laplace_slope_is_the_peak_of_log_sin_plus_kappa_cos(kappa):
    # brute force: max_θ [log sin θ + κ cos θ] = log sin θ* + κ cos θ*, with sin² θ* = e^{2 slope}
    s = laplace_slope(kappa)
    t = np.linspace(1e-6, np.pi / 2, 200_001)
    g = np.log(np.sin(t)) + kappa * np.cos(t)
    assert g.max() == pytest.approx(s + kappa * np.sqrt(-np.expm1(2 * s)), abs=1e-9)
    # and it is the large-n limit of h_n / n: h_n = s n + O(1)
    assert abs(h_n(4000.0, kappa) - 4000 * s) < 1.0


def test_dimension_threshold_values():
    assert dimension_threshold(1e5) == pytest.approx(8.3123477 * math.log(1e5), rel=1e-7)
    exact = {512: 51.5443, 1e4: 76.2499, 1e5: 95.3902, 5e6: 127.9088}
    for big_n, n_star in exact.items():
        n = dimension_threshold(big_n, exact=True)
        assert n == pytest.approx(n_star, abs=1e-3)
        assert 2 * math.log(big_n) + h_n(n) == pytest.approx(0, abs=1e-9)


@given(st.floats(3.0, 1e7), st.floats(0.2, 5.0))
def test_dimension_threshold_exact_is_a_root_and_close_to_the_rule(big_n, kappa):
    n = dimension_threshold(big_n, kappa, exact=True)
    assert 2 * math.log(big_n) + h_n(n, kappa) == pytest.approx(0, abs=1e-8)
    # the exact root differs from the asymptotic rule by O(1) / |slope| only
    assert abs(n - dimension_threshold(big_n, kappa)) < 1.0 / abs(laplace_slope(kappa)) + 1.0


@given(st.floats(2.0, 1e6), st.floats(1.0, 100.0))
def test_dimension_threshold_grows_with_N(big_n, factor):
    assert dimension_threshold(big_n * factor) >= dimension_threshold(big_n)


@settings(max_examples=25)
@given(st.floats(-150.0, 300.0))
def test_laplace_slope_extreme_kappa_against_mpmath(log_kappa):
    """√(1 + 4κ²) overflowed for κ > 6.7e153 (slope 0 for κ = 1e300, a domain error at 1e20), and 1 - c² lost its
    digits as c → 1."""
    kappa = 10.0**log_kappa
    with mp.workdps(60 + 2 * int(abs(log_kappa))):  # 1 - c² for c → 1 needs twice the digits of κ
        k = mp.mpf(kappa)
        c = (mp.sqrt(1 + 4 * k * k) - 1) / (2 * k)
        ref = float(mp.log(1 - c * c) / 2)
    assert laplace_slope(kappa) == pytest.approx(ref, rel=1e-14)


def test_dimension_threshold_extreme_kappa():
    n = dimension_threshold(1e5, 1e-3, exact=True)  # the root near n = 4.6e7 (warned of roundoff before)
    assert 2 * math.log(1e5) + h_n(n, 1e-3) == pytest.approx(0, abs=1e-8)
    assert dimension_threshold(1e5, 1e6, exact=True) == pytest.approx(4.21646091, rel=1e-8)
    with pytest.raises(ValueError, match="^kappa: the exact threshold"):
        dimension_threshold(1e5, 1e-160, exact=True)


@pytest.mark.parametrize(("args", "kwargs", "exc", "name"), [
    ((1,), {}, ValueError, "N"), ((np.inf,), {}, ValueError, "N"), ((np.nan,), {}, ValueError, "N"),
    ((None,), {}, TypeError, "N"), (("100",), {}, TypeError, "N"), ((True,), {}, TypeError, "N"),
    ((2,), {"kappa": 100.0, "exact": True}, ValueError, "N"),  # h_2 ≈ 1/2 - log(4πκ)/2 < -2 log 2: too small
    ((100,), {"exact": 1}, TypeError, "exact"), ((100,), {"exact": None}, TypeError, "exact"),
    ((100,), {"kappa": -1}, ValueError, "kappa"), ((100,), {"kappa": "1"}, TypeError, "kappa"),
])
def test_dimension_threshold_bad_input(args, kwargs, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        dimension_threshold(*args, **kwargs)


def test_dimension_threshold_accepts_numpy_bools():
    assert dimension_threshold(100, exact=np.True_) == dimension_threshold(100, exact=True)


# -- pair_entropy -------------------------------------------------------------------------------------
def test_pair_entropy_matches_the_definition():
    k1, k2 = jax.random.split(KEY)
    u, v = jax.random.normal(k1, (30, 5)), jax.random.normal(k2, (20, 5))
    p = np.exp(np.asarray(u @ v.T))
    p /= p.sum()
    assert float(pair_entropy(u, v)) == pytest.approx(-np.sum(p * np.log(p)), rel=1e-12)


def test_pair_entropy_extremes_and_no_overflow():
    assert float(pair_entropy(jnp.zeros((7, 3)), jnp.zeros((5, 3)))) == pytest.approx(math.log(35), rel=1e-14)
    # huge inner products: one pair takes all the mass, H -> 0 without overflow
    u = jnp.array([[100.0, 0.0], [0.0, 1.0]])
    assert float(pair_entropy(u * 10, u * 10)) == pytest.approx(0.0, abs=1e-12)
    assert pair_entropy(np.ones((2, 2), np.float32), np.ones((3, 2), np.float32)).dtype == jnp.float32


@given(st.integers(0, 2**31 - 1), st.floats(0.1, 30.0))
def test_pair_entropy_bounds_and_rotation_invariance(seed, scale):
    k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
    u, v = scale * jax.random.normal(k1, (12, 4)), jax.random.normal(k2, (9, 4))
    h = float(pair_entropy(u, v))
    assert -1e-12 <= h <= math.log(12 * 9) + 1e-12
    q, _ = jnp.linalg.qr(jax.random.normal(k3, (4, 4)))
    assert float(pair_entropy(u @ q, v @ q)) == pytest.approx(h, rel=1e-9, abs=1e-12)
    assert float(pair_entropy(u[::-1], v)) == pytest.approx(h, rel=1e-12, abs=1e-12)


def entropy_mpmath(U, V):
    """The entropy of softmax(U Vᵀ) from the exact inner products of the given floats (50 digits)."""
    with mp.workdps(50):
        s = [[mp.fsum(mp.mpf(float(a)) * mp.mpf(float(b)) for a, b in zip(u, v)) for v in V] for u in U]
        flat = [x for row in s for x in row]
        top = max(flat)
        z = mp.fsum(mp.exp(x - top) for x in flat)
        return float(mp.log(z) - mp.fsum(mp.exp(x - top) / z * (x - top) for x in flat))


@pytest.mark.parametrize(("U", "V", "expected"), [
    # issue 12: NaN / ±inf near the float limit
    (np.array([[1e200, 0.0], [0.0, 1e200]]), np.array([[1e200, 0.0], [1e200, 0.0]]), math.log(2)),
    (np.array([[1e154]]), np.array([[1e154], [1e154]]), math.log(2)),
    (np.full((2, 2), 1e154), np.full((3, 2), 1e154), math.log(6)),
    (np.array([[1e200], [-1e200]]), np.array([[1e200]]), 0.0),
    (np.full((2, 2), 1e19, np.float32), np.full((3, 2), 1e19, np.float32), math.log(6)),
    # cancellation: log Z - Σ p s with s ~ 1e10 gave -1e10 for an entropy of log 2 (float32)
    (np.array([[1e10], [1e10 * (1 + 2**-20)]], np.float32), np.array([[1.0], [1.0]], np.float32), math.log(2)),
    (np.full((2, 2), 200, np.float16), np.full((3, 2), 200, np.float16), math.log(6)),  # float16: was NaN
    (jnp.full((2, 2), 200, jnp.bfloat16), jnp.full((3, 2), 200, jnp.bfloat16), math.log(6)),
    (np.ones((2, 2), int), np.ones((3, 2), int), math.log(6)),
    (np.array([[1e-200, 3e-200]]), np.array([[1e-200, 1e-200], [2e-200, -1e-200]]), math.log(2)),
])
def test_pair_entropy_near_the_float_limits(U, V, expected):
    h = pair_entropy(U, V)
    assert h.dtype in (jnp.float32, jnp.float64)
    assert float(h) == pytest.approx(expected, rel=1e-6 if h.dtype == jnp.float32 else 1e-14, abs=1e-300)


def test_pair_entropy_large_offsets_keep_their_digits():
    u, v = np.array([[1e6], [1e6 + 1e-3], [1e6 - 0.5]]), np.array([[1.0], [0.5]])
    assert float(pair_entropy(u, v)) == pytest.approx(entropy_mpmath(u, v), rel=1e-13)


@settings(max_examples=25)
@given(st.integers(0, 2**31 - 1), st.floats(-3.0, 2.5))
def test_pair_entropy_property_matches_mpmath(seed, log_scale):
    rng = np.random.default_rng(seed)
    u, v = 10.0**log_scale * rng.standard_normal((6, 3)), rng.standard_normal((5, 3))
    h = float(pair_entropy(u, v))
    assert 0.0 <= h <= math.log(30) + 1e-12
    # the inner products themselves carry rounding ~ 1e-16 |s|; H inherits it as an absolute error
    assert h == pytest.approx(entropy_mpmath(u, v), rel=1e-12, abs=1e-14 * 10.0**log_scale)


@settings(max_examples=25)
@given(st.integers(0, 2**31 - 1), st.integers(-1000, 1000))
def test_pair_entropy_is_finite_and_bounded_at_any_power_of_two_scale(seed, k):
    rng = np.random.default_rng(seed)
    u, v = np.ldexp(rng.standard_normal((4, 3)), k // 2), np.ldexp(rng.standard_normal((5, 3)), k - k // 2)
    h = float(pair_entropy(u, v))
    assert 0.0 <= h <= math.log(20) + 1e-12


@pytest.mark.parametrize(("U", "V", "exc", "name"), [
    (np.ones((2, 3)), np.ones((2, 4)), ValueError, "U, V"), (np.ones(3), np.ones((2, 3)), ValueError, "U"),
    (np.ones((2, 2, 1)), np.ones((3, 2)), ValueError, "U"), (np.ones((0, 2)), np.ones((3, 2)), ValueError, "U"),
    (np.ones((2, 0)), np.ones((3, 0)), ValueError, "U"), (np.ones((2, 3)), np.full((2, 3), np.nan), ValueError, "V"),
    (np.ones((2, 3)), np.full((2, 3), -np.inf), ValueError, "V"),
    (np.ones((2, 3), complex), np.ones((2, 3)), TypeError, "U"), (np.ones((2, 3), bool), np.ones((2, 3)), TypeError, "U"),
    (None, np.ones((2, 3)), TypeError, "U"), ("ab", np.ones((2, 3)), TypeError, "U"),
    ([[1.0], [1.0, 2.0]], np.ones((2, 3)), TypeError, "U"),
])
def test_pair_entropy_bad_input(U, V, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        pair_entropy(U, V)


def test_pair_entropy_refuses_traced_input_with_a_clear_error():
    with pytest.raises(TypeError, match="^U: pair_entropy checks and rescales its inputs on the host"):
        jax.jit(pair_entropy)(jnp.ones((2, 2)), jnp.ones((3, 2)))


@pytest.mark.parametrize("n", [2.0, 8.0, 64.0, 1024.0])
def test_tilted_integrals_rebuild_h_n(n):
    """h_n = m + log A + log c_n - κ n B/A: the separate integrals agree with h_n's own quadrature."""
    import math

    from kexue import entropy

    m, A, B = entropy.tilted_integrals(n, 1.0)
    rebuilt = m + math.log(A) + entropy._log_norm_const(n) - n * B / A
    assert rebuilt == pytest.approx(entropy.h_n(n, 1.0), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(("n", "kappa", "exc"), [(1.0, 1.0, ValueError), (8.0, 0.0, ValueError), ("8", 1.0, TypeError),
                                                 (1e8, 1.0, ValueError)])
def test_tilted_integrals_refuse_bad_input(n, kappa, exc):
    from kexue import entropy

    with pytest.raises(exc):
        entropy.tilted_integrals(n, kappa)


# -- knee_dimension ----------------------------------------------------------------------------------------
def test_knee_dimension_worked_example():
    """Gains 0, 5, 9, 10 at n = 8, 16, 32, 64: the 90 % target 9 is met exactly at n = 32; the 80 % target 8 is
    crossed three quarters of the way (5 → 9) from 16 to 32 in log n; the 100 % target at the maximum."""
    from kexue.entropy import knee_dimension

    dims, s = [8, 16, 32, 64], [1.0, 6.0, 10.0, 11.0]
    assert float(knee_dimension(dims, s)) == pytest.approx(32.0)
    assert float(knee_dimension(dims, s, fraction=0.8)) == pytest.approx(16 * 2**0.75)
    assert float(knee_dimension(dims, s, fraction=1.0)) == pytest.approx(64.0)


def test_knee_dimension_flat_or_falling_curve_has_its_knee_at_the_start():
    from kexue.entropy import knee_dimension

    assert float(knee_dimension([2, 4, 8], [1.0, 1.0, 1.0])) == 2.0
    assert float(knee_dimension([2, 4, 8], [1.0, 0.5, 0.2])) == 2.0


def test_knee_dimension_batches_over_leading_axes():
    from kexue.entropy import knee_dimension

    rng = np.random.default_rng(3)
    dims = [8, 16, 24, 32, 48, 64]
    curves = rng.normal(size=(4, 5, len(dims))).cumsum(-1)
    batched = knee_dimension(dims, curves)
    assert batched.shape == (4, 5)
    np.testing.assert_array_equal(batched, [[knee_dimension(dims, c) for c in row] for row in curves])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=12), st.floats(0.05, 1.0), st.integers(-20, 20),
       st.floats(-1e3, 1e3))
def test_knee_dimension_properties(values, fraction, log2_scale, shift):
    """The knee lies in [n_0, n_argmax], the curve has reached the target there (at the next grid point), it
    ignores the scores after the maximum and does not change under an exact positive rescaling (a power of two)."""
    from kexue.entropy import knee_dimension

    s = np.array(values)
    dims = 2.0 ** np.arange(1, s.size + 1)
    knee = float(knee_dimension(dims, s, fraction))
    top = int(np.argmax(s))
    assert dims[0] <= knee <= dims[top] * (1 + 1e-12)
    gain = s - s[0]
    reached = np.searchsorted(dims, knee * (1 - 1e-12))  # the grid point at or just after the knee
    assert gain[reached] >= fraction * gain.max() or gain.max() <= 0
    tail = s.copy()
    tail[top + 1:] = s.min() - 1.0  # change everything after the maximum
    assert float(knee_dimension(dims, tail, fraction)) == knee
    assert float(knee_dimension(dims, np.ldexp(s, log2_scale), fraction)) == pytest.approx(knee, rel=1e-12)


@pytest.mark.parametrize(("dims", "scores", "fraction", "exc", "name"), [
    ([8], [1.0], 0.9, ValueError, "dims"),
    ([8, 8], [1.0, 2.0], 0.9, ValueError, "dims"),
    ([16, 8], [1.0, 2.0], 0.9, ValueError, "dims"),
    ([0, 8], [1.0, 2.0], 0.9, ValueError, "dims"),
    ([[8, 16]], [1.0, 2.0], 0.9, ValueError, "dims"),
    ("8 16", [1.0, 2.0], 0.9, TypeError, "dims"),
    ([8, 16], [1.0, 2.0, 3.0], 0.9, ValueError, "scores"),
    ([8, 16], 1.0, 0.9, ValueError, "scores"),
    ([8, 16], [1.0, np.nan], 0.9, ValueError, "scores"),
    ([8, 16], ["a", "b"], 0.9, TypeError, "scores"),
    ([8, 16], [1.0, 2.0], 0.0, ValueError, "fraction"),
    ([8, 16], [1.0, 2.0], 1.5, ValueError, "fraction"),
    ([8, 16], [1.0, 2.0], True, TypeError, "fraction"),
])
def test_knee_dimension_bad_input(dims, scores, fraction, exc, name):
    from kexue.entropy import knee_dimension

    with pytest.raises(exc, match=f"^{name}:"):
        knee_dimension(dims, scores, fraction)
