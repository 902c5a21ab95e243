"""Unit, statistical and property tests for kexue.entropy (float64 throughout).

The reference for ``h_n`` is the von Mises–Fisher closed form through modified Bessel functions:
``E[e^{x cos θ}] = Γ(ν+1) (2/x)^ν I_ν(x)`` and ``E_tilted[cos θ] = I_{ν+1}(x) / I_ν(x)``, ``ν = n/2 - 1``.
"""

import math

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scipy import stats  # noqa: E402
from scipy.integrate import quad  # noqa: E402
from scipy.special import gammaln, ive  # noqa: E402

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


def test_angle_density_bad_input():
    with pytest.raises(ValueError, match="n must be >= 2"):
        angle_density(1.0, 1.5)
    with pytest.raises(TypeError, match="n must be a real number"):
        angle_density(1.0, "3")
    with pytest.raises(TypeError, match="n must be a real number"):
        angle_density(1.0, True)
    with pytest.raises(ValueError, match="theta has non-finite"):
        angle_density([0.1, np.nan], 3)
    with pytest.raises(TypeError, match="theta"):
        angle_density("a", 3)


# -- sphere_sample ------------------------------------------------------------------------------------
def test_sphere_sample_norms_and_mean():
    x = sphere_sample(KEY, 4000, 16, radius=4.0)
    assert x.shape == (4000, 16) and x.dtype == jnp.float64
    np.testing.assert_allclose(jnp.linalg.norm(x, axis=1), 4.0, rtol=1e-12)
    # each coordinate has mean 0 and variance r²/n = 1: the sample mean is within 5 SE of 0
    assert float(jnp.max(jnp.abs(x.mean(0)))) < 5 / np.sqrt(4000)


def test_sphere_sample_bad_input():
    with pytest.raises(ValueError, match="num and n"):
        sphere_sample(KEY, 0, 3)
    with pytest.raises(TypeError, match="num and n"):
        sphere_sample(KEY, 3.0, 3)
    with pytest.raises(ValueError, match="radius"):
        sphere_sample(KEY, 3, 3, radius=-1.0)


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


@given(st.floats(2.0, 600.0), st.floats(0.1, 5.0))
def test_h_n_property_matches_bessel_for_any_n_and_kappa(n, kappa):
    assert h_n(n, kappa) == pytest.approx(h_bessel(n, kappa), rel=1e-9, abs=1e-10)


@given(st.floats(2.0, 500.0))
def test_h_n_is_decreasing_in_n(n):
    assert h_n(n + 1.0) < h_n(n)


def test_h_n_bad_input():
    with pytest.raises(ValueError, match="n must be >= 2"):
        h_n(1)
    with pytest.raises(ValueError, match="kappa"):
        h_n(10, kappa=0.0)
    with pytest.raises(ValueError, match="n must be finite"):
        h_n(float("inf"))
    with pytest.raises(TypeError, match="n must be a scalar"):
        h_n(np.array([3.0, 4.0]))


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


def test_dimension_threshold_bad_input():
    with pytest.raises(ValueError, match="N must be >= 2"):
        dimension_threshold(1)
    with pytest.raises(ValueError, match="too small"):
        dimension_threshold(2, kappa=100.0, exact=True)  # h_2 ≈ 1/2 - log(4πκ)/2 < -2 log 2
    with pytest.raises(TypeError, match="exact"):
        dimension_threshold(100, exact=1)
    with pytest.raises(ValueError, match="kappa"):
        dimension_threshold(100, kappa=-1)


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


def test_pair_entropy_bad_input():
    with pytest.raises(ValueError, match="same dimension"):
        pair_entropy(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="U must be a non-empty 2-D"):
        pair_entropy(np.ones(3), np.ones((2, 3)))
    with pytest.raises(ValueError, match="V has non-finite"):
        pair_entropy(np.ones((2, 3)), np.full((2, 3), np.nan))
    with pytest.raises(TypeError, match="U must be real"):
        pair_entropy(np.ones((2, 3), complex), np.ones((2, 3)))
