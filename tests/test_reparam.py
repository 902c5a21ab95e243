"""Unit, statistical and property tests for kexue.reparam (float64 throughout).

Statistical tests use fixed keys; their tolerance is a stated multiple of the standard error (SE).
"""

import warnings

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scipy import stats  # noqa: E402

from kexue.reparam import (  # noqa: E402
    categorical_kl_uniform,
    gaussian_reparam,
    gradient_stats,
    gumbel_max,
    gumbel_noise,
    gumbel_softmax,
    reparam_grad,
    score_function_grad,
    score_function_surrogate,
)

FAST = settings(max_examples=15, deadline=None)
KEY = jax.random.key(20190610)
P5 = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
seeds = st.integers(0, 2**31 - 1)
# logits for k = 4 categories: each new shape costs a compilation, so the shape is fixed
logits4 = st.lists(st.floats(-5.0, 5.0), min_size=4, max_size=4).map(np.array)


def log_softmax_prob(o, y):
    return jax.nn.log_softmax(o)[y]


# -- Gumbel noise -------------------------------------------------------------------------------------
def test_gumbel_noise_matches_jax_low_mode_and_is_finite():
    g = gumbel_noise(KEY, (200_000,))
    np.testing.assert_array_equal(g, jax.random.gumbel(KEY, (200_000,), mode="low"))
    assert g.dtype == jnp.float64 and bool(jnp.all(jnp.isfinite(g)))
    # the support is bounded by u in [tiny, 1): -log(-log tiny) and -log(-log(1 - 2^-53))
    tiny = np.finfo(np.float64).tiny
    assert float(g.min()) >= -np.log(-np.log(tiny)) and float(g.max()) <= -np.log(-np.log1p(-(2.0**-53)))


def test_gumbel_noise_moments():
    g = np.asarray(gumbel_noise(KEY, (400_000,)))
    se_mean = g.std() / np.sqrt(g.size)
    assert abs(g.mean() - np.euler_gamma) < 4 * se_mean  # mean = Euler's gamma, 4 SE
    se_var = np.sqrt((np.mean((g - g.mean()) ** 4) - g.var() ** 2) / g.size)
    assert abs(g.var() - np.pi**2 / 6) < 4 * se_var  # variance = π²/6, 4 SE


def test_gumbel_noise_float32_stays_finite_where_the_uniform_is_zero():
    """float32 uniforms are exactly 0 with probability 2^-23; on the same bits gumbel_noise gives -log(-log tiny)."""
    n = 2**24
    u = jax.random.uniform(KEY, (n,), jnp.float32)
    g = gumbel_noise(KEY, (n,), jnp.float32)
    assert bool(jnp.all(jnp.isfinite(g)))
    zeros = np.flatnonzero(np.asarray(u) == 0)
    assert zeros.size > 0  # this key's draws hit 0 (expected count n / 2^23 = 2)
    floor = np.float32(-np.log(-np.log(np.finfo(np.float32).tiny)))
    np.testing.assert_allclose(np.asarray(g)[zeros], floor, rtol=1e-6)
    assert float(g.min()) >= floor * (1 + 1e-6)


def test_gumbel_noise_float32_and_bad_dtype():
    assert gumbel_noise(KEY, (3,), jnp.float32).dtype == jnp.float32
    assert gumbel_noise(KEY, (0,)).shape == (0,)  # an empty sample is a valid (empty) answer
    for bad in (jnp.int32, bool, complex, "abc"):
        with pytest.raises(TypeError, match="^dtype:"):
            gumbel_noise(KEY, (3,), bad)
    with pytest.raises(ValueError, match=r"^shape\[0\]:"):
        gumbel_noise(KEY, (-1,))
    for bad, name in (((True,), r"shape\[0\]"), ((2.0,), r"shape\[0\]"), (3, "shape"), ("ab", "shape"), (None, "shape")):
        with pytest.raises(TypeError, match=f"^{name}:"):
            gumbel_noise(KEY, bad)


@pytest.mark.parametrize("key", [0, "key", None, np.array([0, 0], np.uint32), jax.random.split(KEY, 3)])
def test_samplers_reject_bad_keys(key):
    for call in (lambda: gumbel_noise(key, (2,)), lambda: gumbel_max(key, jnp.zeros(3)),
                 lambda: gumbel_softmax(key, jnp.zeros(3), 1.0), lambda: gaussian_reparam(key, 0.0, 1.0)):
        with pytest.raises(TypeError, match="^key:"):
            call()


# -- Gumbel-Max ---------------------------------------------------------------------------------------
def test_gumbel_max_is_exact_categorical_chi2():
    n = 400_000
    y = np.asarray(gumbel_max(KEY, np.log(P5), (n,)))
    counts = np.bincount(y, minlength=5)
    assert stats.chisquare(counts, n * P5).pvalue > 1e-3
    se = np.sqrt(P5 * (1 - P5) / n)
    assert np.all(np.abs(counts / n - P5) < 5 * se)  # 5 SE per category


def test_gumbel_max_equals_jax_categorical_and_shapes():
    logits = jnp.array([[0.0, 1.0, -1.0], [2.0, 0.0, 0.5]])
    y = gumbel_max(KEY, logits, (6,))
    assert y.shape == (6, 2) and jnp.issubdtype(y.dtype, jnp.integer)
    np.testing.assert_array_equal(y, jax.random.categorical(KEY, logits, shape=(6, 2)))
    assert gumbel_max(KEY, jnp.array([0.3, 0.1])).shape == ()
    assert gumbel_max(KEY, [0, 1, 2], (2,)).shape == (2,)  # integer logits are promoted


@FAST
@given(o=logits4, c=st.floats(-50.0, 50.0), seed=seeds)
def test_gumbel_max_shift_invariant(o, c, seed):
    key = jax.random.key(seed)
    np.testing.assert_array_equal(gumbel_max(key, o, (64,)), gumbel_max(key, o + c, (64,)))


@pytest.mark.parametrize("bad", [np.array([0.0, np.nan]), np.array([np.inf, 0.0]), np.array([0.0, -np.inf]),
                                 np.float64(1.0), np.zeros((2, 0)), np.zeros((0, 3))])
def test_gumbel_max_rejects_bad_logits(bad):
    with pytest.raises(ValueError, match="^logits:"):
        gumbel_max(KEY, bad)


@pytest.mark.parametrize("bad", [np.array([True, False]), np.array([1j, 0]), None, "abc", [[0.0], [1.0, 2.0]]])
def test_gumbel_max_rejects_bad_types(bad):
    with pytest.raises(TypeError, match="^logits:"):
        gumbel_max(KEY, bad)
    with pytest.raises(TypeError, match="^shape:"):
        gumbel_max(KEY, np.zeros(3), 5)
    with pytest.raises(ValueError, match=r"^shape\[0\]:"):
        gumbel_max(KEY, np.zeros(3), (-1,))


@pytest.mark.parametrize("offset", [0.0, 1e7, -8e6])
def test_gumbel_max_large_float32_logits_are_not_biased(offset):
    """float32 logits (offset, offset + 1): o + g rounded the noise to integers at 1e7 (P(1) was 0.62, not 0.731)."""
    n, p1 = 100_000, float(1 / (1 + np.exp(-1.0)))
    o = jnp.array([offset, offset + 1.0], jnp.float32)
    assert float(o[1] - o[0]) == 1.0
    freq = float(jnp.mean(gumbel_max(KEY, o, (n,))))
    assert abs(freq - p1) < 5 * np.sqrt(p1 * (1 - p1) / n)  # 5 SE


def test_gumbel_max_extreme_logits():
    assert np.all(np.asarray(gumbel_max(KEY, [1.7e308, -1.7e308], (50,))) == 0)
    assert np.all(np.asarray(gumbel_max(KEY, [-1.7e308, 1.7e308], (50,))) == 1)
    y = np.asarray(gumbel_max(KEY, [1.7e308, 1.7e308], (4000,)))  # equal logits at the float limit: a fair coin
    assert abs(y.mean() - 0.5) < 5 * 0.5 / np.sqrt(y.size)


# -- Gumbel-Softmax -----------------------------------------------------------------------------------
@FAST
@given(o=logits4, tau=st.floats(0.05, 20.0), seed=seeds)
def test_gumbel_softmax_on_simplex_and_argmax_is_gumbel_max(o, tau, seed):
    key = jax.random.key(seed)
    y = gumbel_softmax(key, o, tau)
    assert y.shape == o.shape and bool(jnp.all(y >= 0))
    assert float(jnp.sum(y)) == pytest.approx(1.0, abs=1e-12)
    assert int(jnp.argmax(y)) == int(gumbel_max(key, o))  # same noise, same winner, every τ


@FAST
@given(o=logits4, tau=st.floats(0.1, 5.0), seed=seeds)
def test_straight_through_is_one_hot_with_soft_gradient(o, tau, seed):
    key, c = jax.random.key(seed), jnp.array([1.0, -2.0, 0.5, 3.0])
    hard = gumbel_softmax(key, o, tau, hard=True)
    np.testing.assert_array_equal(hard, jax.nn.one_hot(gumbel_max(key, o), 4))
    g_hard = jax.grad(lambda t: c @ gumbel_softmax(key, t, tau, hard=True))(jnp.asarray(o))
    g_soft = jax.grad(lambda t: c @ gumbel_softmax(key, t, tau))(jnp.asarray(o))
    np.testing.assert_allclose(g_hard, g_soft, rtol=1e-12, atol=1e-14)


def test_gumbel_softmax_limits_in_tau():
    o = jnp.broadcast_to(jnp.log(jnp.asarray(P5)), (20_000, 5))
    cold = gumbel_softmax(KEY, o, 1e-3)
    one_hot = jax.nn.one_hot(gumbel_max(KEY, o), 5)
    assert float(jnp.mean(jnp.abs(cold - one_hot).sum(-1) < 1e-6)) > 0.99  # τ → 0: the Gumbel-Max one-hot
    hot = gumbel_softmax(KEY, o, 1e3)
    np.testing.assert_allclose(hot, 0.2, atol=0.05)  # τ → ∞: the uniform vector


def test_gumbel_softmax_is_biased():
    n = 100_000
    y = np.asarray(gumbel_softmax(KEY, jnp.broadcast_to(jnp.log(jnp.asarray(P5)), (n, 5)), 1.0))
    se = y.std(0) / np.sqrt(n)
    assert np.max(np.abs(y.mean(0) - P5) / se) > 20  # E[y] ≠ p, by far more than 20 SE at τ = 1


def test_gumbel_softmax_traced_tau_under_jit():
    f = jax.jit(lambda t: gumbel_softmax(KEY, jnp.zeros(3), t))
    assert float(jnp.sum(f(0.5))) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="^tau:"):  # a traced τ: shape and dtype are still checked
        jax.jit(lambda t: gumbel_softmax(KEY, jnp.zeros(3), t))(jnp.ones(3))


def test_gumbel_softmax_equals_the_definition_on_the_same_noise():
    """softmax((o + g)/τ) computed independently in NumPy float64 from gumbel_noise's draws."""
    o = np.array([[0.3, -1.2, 2.0, 0.0], [5.0, 5.0, -5.0, 1.0]])
    g = np.asarray(gumbel_noise(KEY, o.shape))
    for tau in (0.05, 0.7, 3.0):
        z = (o + g) / tau
        ref = np.exp(z - z.max(-1, keepdims=True))
        ref /= ref.sum(-1, keepdims=True)
        np.testing.assert_allclose(gumbel_softmax(KEY, o, tau), ref, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("tau", [1e-30, 1e-37, float(np.finfo(np.float32).tiny)])
def test_gumbel_softmax_tiny_tau_float32_is_the_one_hot_gumbel_max(tau):
    """Issue 12: x/τ overflowed float32 to inf and the sample to NaN; now it is the Gumbel-Max one-hot."""
    o = jnp.broadcast_to(jnp.array([0.0, 1.0, 2.0, -0.5], jnp.float32), (200, 4))
    y = gumbel_softmax(KEY, o, tau)
    assert y.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(y)))
    np.testing.assert_array_equal(y, jax.nn.one_hot(gumbel_max(KEY, o), 4, dtype=jnp.float32))
    grad = jax.grad(lambda t: gumbel_softmax(KEY, t, tau)[:, 0].sum())(o)
    assert bool(jnp.all(jnp.isfinite(grad)))


def test_gumbel_softmax_extreme_logits_and_tau():
    y = gumbel_softmax(KEY, jnp.array([0.0, 1e38, 2.0], jnp.float32), 0.1)  # |o| near the float32 limit
    np.testing.assert_array_equal(y, [0.0, 1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # τ above float32's max: the uniform vector, no overflow warning
        np.testing.assert_allclose(gumbel_softmax(KEY, jnp.zeros(3, jnp.float32), 1e300), 1 / 3, rtol=1e-6)


@FAST
@given(o=st.lists(st.floats(-1e30, 1e30), min_size=4, max_size=4), log_tau=st.floats(-37.5, 3.0),
       seed=seeds)
def test_gumbel_softmax_float32_any_tau_is_finite_on_simplex(o, log_tau, seed):
    key, o = jax.random.key(seed), jnp.asarray(o, jnp.float32)
    y = gumbel_softmax(key, o, 10.0**log_tau)
    assert bool(jnp.all(jnp.isfinite(y))) and bool(jnp.all(y >= 0))
    assert float(jnp.sum(y)) == pytest.approx(1.0, abs=1e-5)
    assert int(jnp.argmax(y)) == int(gumbel_max(key, o)) or float(jnp.max(y)) < 1  # ties only where not one-hot


@pytest.mark.parametrize("tau", [0.0, -1.0, np.nan, np.inf, -np.inf, 1e-320])
def test_gumbel_softmax_rejects_bad_tau(tau):
    with pytest.raises(ValueError, match="^tau:"):
        gumbel_softmax(KEY, jnp.zeros(3), tau)


def test_gumbel_softmax_rejects_tau_below_the_logits_dtype():
    with pytest.raises(ValueError, match="^tau: must be >= 1.18e-38, the smallest normal float32"):
        gumbel_softmax(KEY, jnp.zeros(3, jnp.float32), 1e-40)


@pytest.mark.parametrize("tau", ["hot", None, True, 1j, jnp.ones(3)])
def test_gumbel_softmax_rejects_tau_of_the_wrong_type(tau):
    with pytest.raises(TypeError, match="^tau:"):
        gumbel_softmax(KEY, jnp.zeros(3), tau)


def test_gumbel_softmax_rejects_bad_arguments():
    with pytest.raises(ValueError, match="^logits:"):
        gumbel_softmax(KEY, jnp.array([0.0, -np.inf]), 1.0)
    with pytest.raises(ValueError, match="^logits:"):
        gumbel_softmax(KEY, 1.0, 1.0)
    with pytest.raises(TypeError, match="^hard:"):
        gumbel_softmax(KEY, jnp.zeros(3), 1.0, hard=1)
    assert gumbel_softmax(KEY, jnp.zeros(3), 1.0, hard=np.bool_(True)).sum() == 1.0


# -- Gaussian reparameterization ----------------------------------------------------------------------
def test_gaussian_reparam_moments_and_shape():
    z = np.asarray(gaussian_reparam(KEY, 1.5, 0.5, (200_000,)))
    assert abs(z.mean() - 1.5) < 4 * 0.5 / np.sqrt(z.size)  # 4 SE
    se_var = 0.25 * np.sqrt(2 / z.size)
    assert abs(z.var() - 0.25) < 4 * se_var
    assert gaussian_reparam(KEY, jnp.zeros(3), 1.0, (5,)).shape == (5, 3)


@FAST
@given(mu=st.floats(-3, 3), sigma=st.floats(0.1, 3), seed=seeds)
def test_gaussian_reparam_gradients_are_pathwise(mu, sigma, seed):
    key = jax.random.key(seed)
    eps = jax.random.normal(key, (32,))
    dmu, dsigma = jax.grad(lambda m, s: jnp.sum(gaussian_reparam(key, m, s, (32,))), argnums=(0, 1))(mu, sigma)
    assert float(dmu) == pytest.approx(32.0)
    assert float(dsigma) == pytest.approx(float(jnp.sum(eps)), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(("mu", "sigma", "exc", "name"), [
    (0.0, 0.0, ValueError, "sigma"), (0.0, -1.0, ValueError, "sigma"), (0.0, 5e-324, ValueError, None),
    (jnp.zeros(2), jnp.ones(3), ValueError, "mu, sigma"), (np.nan, 1.0, ValueError, "mu"),
    (0.0, np.inf, ValueError, "sigma"), (0.0, jnp.array([1.0, np.nan]), ValueError, "sigma"),
    (jnp.zeros(0), 1.0, ValueError, "mu"), ("zero", 1.0, TypeError, "mu"), (None, 1.0, TypeError, "mu"),
    (True, 1.0, TypeError, "mu"), (1j, 1.0, TypeError, "mu"), ([[0.0], [1.0, 2.0]], 1.0, TypeError, "mu"),
    (0.0, "1", TypeError, "sigma"),
])
def test_gaussian_reparam_rejects_bad_arguments(mu, sigma, exc, name):
    with pytest.raises(exc, match=f"^{name or 'sigma'}:"):
        gaussian_reparam(KEY, mu, sigma, (3,))


@pytest.mark.parametrize(("mu", "sigma"), [(0.0, 1e308), (1.7e308, 1e307), (np.float32(0), np.float32(3e38))])
def test_gaussian_reparam_overflow_is_an_error_not_inf(mu, sigma):
    with pytest.raises(ValueError, match="^mu, sigma: the sample μ \\+ σ ε overflows"):
        gaussian_reparam(KEY, mu, sigma, (100,))


def test_gaussian_reparam_shapes():
    assert gaussian_reparam(KEY, 0.0, 1.0, (0,)).shape == (0,)
    assert gaussian_reparam(KEY, [0, 1], [1, 2], (3,)).dtype == jnp.float64  # integers are promoted
    for bad in ((True,), (2.0,)):
        with pytest.raises(TypeError, match=r"^shape\[0\]:"):
            gaussian_reparam(KEY, 0.0, 1.0, bad)


# -- estimators ---------------------------------------------------------------------------------------
@FAST
@given(o=logits4, c=logits4, b=st.floats(-10, 10))
def test_score_function_exact_expectation_equals_gradient(o, c, b):
    """Weighting the estimate of every category by its probability gives the exact gradient, any baseline."""
    y = jnp.arange(4)
    sf = score_function_grad(lambda yi: jnp.asarray(c)[yi], log_softmax_prob, jnp.asarray(o), y, baseline=b)
    p = jax.nn.softmax(o)
    exact = jax.grad(lambda t: jax.nn.softmax(t) @ c)(jnp.asarray(o))
    np.testing.assert_allclose(p @ sf, exact, atol=1e-12)


def test_score_function_gaussian_is_unbiased():
    mu, sigma, n = 0.7, 1.3, 400_000
    z = gaussian_reparam(KEY, mu, sigma, (n,))
    logpdf = lambda th, zi: jax.scipy.stats.norm.logpdf(zi, th[0], th[1])  # noqa: E731
    est = np.asarray(score_function_grad(lambda zi: zi**2, logpdf, jnp.array([mu, sigma]), z))
    se = est.std(0) / np.sqrt(n)
    assert np.all(np.abs(est.mean(0) - [2 * mu, 2 * sigma]) < 4 * se)  # 4 SE
    # closed-form per-sample variance in μ (chapter 3): μ⁴/σ² + 14μ² + 15σ², within 4 SE of the variance
    var = mu**4 / sigma**2 + 14 * mu**2 + 15 * sigma**2
    e0 = est[:, 0]
    se_var = np.sqrt((np.mean((e0 - e0.mean()) ** 4) - e0.var() ** 2) / n)
    assert abs(e0.var() - var) < 4 * se_var


def test_grad_of_monte_carlo_mean_is_mean_of_pathwise_gradients():
    """jax.grad of the reparameterized Monte-Carlo loss = the average of reparam_grad's per-sample gradients."""
    theta, n = jnp.array([0.7, 1.3]), 1000
    loss = lambda t: jnp.mean(gaussian_reparam(KEY, t[0], t[1], (n,)) ** 2)  # noqa: E731
    per_sample = reparam_grad(lambda z: z**2, lambda t, e: t[0] + t[1] * e, theta, jax.random.normal(KEY, (n,)))
    np.testing.assert_allclose(jax.grad(loss)(theta), per_sample.mean(0), rtol=1e-12)
    cut = jax.grad(lambda t: jnp.mean(jax.lax.stop_gradient(gaussian_reparam(KEY, t[0], t[1], (n,))) ** 2))(theta)
    np.testing.assert_array_equal(cut, 0.0)  # a sample cut off from θ carries no gradient


def test_reparam_grad_gaussian_pytree():
    eps = jax.random.normal(KEY, (10,))
    theta = {"mu": jnp.array(0.5), "sigma": jnp.array(2.0)}
    est = reparam_grad(lambda z: z**2, lambda th, e: th["mu"] + th["sigma"] * e, theta, eps)
    z = 0.5 + 2.0 * eps
    np.testing.assert_allclose(est["mu"], 2 * z, rtol=1e-14)
    np.testing.assert_allclose(est["sigma"], 2 * z * eps, rtol=1e-14)


def test_reparam_grad_with_keys_is_straight_through_or_relaxed():
    o, c = jnp.log(jnp.asarray(P5)), jnp.arange(5.0)
    keys = jax.random.split(KEY, 8)
    soft = reparam_grad(lambda y: c @ y, lambda t, k: gumbel_softmax(k, t, 0.5), o, keys)
    st_ = reparam_grad(lambda y: c @ y, lambda t, k: gumbel_softmax(k, t, 0.5, hard=True), o, keys)
    assert soft.shape == (8, 5)
    np.testing.assert_allclose(st_, soft, atol=1e-14)
    np.testing.assert_allclose(soft.sum(-1), 0.0, atol=1e-12)  # softmax is shift invariant


def linear_in_theta(th, e):
    return th[0] + th[1] * e


def sf(theta, z=jnp.arange(3), f=lambda yi: 1.0 * yi, log_prob=log_softmax_prob, **kw):
    return score_function_grad(f, log_prob, theta, z, **kw)


def rp(theta, eps=jnp.ones(3), f=lambda z: z**2, g=linear_in_theta):
    return reparam_grad(f, g, theta, eps)


@pytest.mark.parametrize(("call", "exc", "name"), [
    # θ: NaN/inf gave NaN gradients (issue 12); wrong types failed deep inside jax.grad
    (lambda: sf(jnp.array([0.0, np.nan, 1.0])), ValueError, "theta"),
    (lambda: sf({"o": jnp.array([0.0, np.inf, 1.0])}), ValueError, r"theta\['o'\]"),
    (lambda: rp(jnp.array([np.nan, 1.0])), ValueError, "theta"),
    (lambda: rp(jnp.array([0.0, -np.inf])), ValueError, "theta"),
    (lambda: sf(jnp.arange(3)), TypeError, "theta"), (lambda: rp(jnp.array([0, 1])), TypeError, "theta"),
    (lambda: sf(None), TypeError, "theta"), (lambda: sf("abc"), TypeError, "theta"),
    (lambda: sf({}), ValueError, "theta"), (lambda: sf(jnp.array([0j, 1, 2])), TypeError, "theta"),
    # samples
    (lambda: sf(jnp.zeros(1), z=jnp.array([0.0, np.nan]), f=lambda z: z**2,
                log_prob=lambda th, z: -(z - th[0]) ** 2), ValueError, "z"),
    (lambda: rp(jnp.zeros(2), eps=jnp.array([1.0, np.nan])), ValueError, "eps"),
    (lambda: sf(jnp.zeros(3), z=jnp.array(1)), ValueError, "z"),
    (lambda: sf(jnp.zeros(3), z=[0, 1, 2]), ValueError, r"z\[0\]"),
    (lambda: sf(jnp.zeros(3), z=jnp.zeros(0, int)), ValueError, "z"),
    (lambda: sf(jnp.zeros(3), z=None), TypeError, "z"), (lambda: sf(jnp.zeros(3), z="abc"), TypeError, "z"),
    (lambda: rp(jnp.zeros(2), eps={"a": jnp.ones(3), "b": jnp.ones(2)}), ValueError, "eps"),
    # the callables
    (lambda: sf(jnp.zeros(3), f=1.0), TypeError, "f"), (lambda: sf(jnp.zeros(3), log_prob=None), TypeError, "log_prob"),
    (lambda: rp(jnp.zeros(2), f=None), TypeError, "f"), (lambda: rp(jnp.zeros(2), g="g"), TypeError, "g"),
    (lambda: sf(jnp.zeros(3), f=lambda yi: jnp.ones(2) * yi), ValueError, "f"),
    (lambda: sf(jnp.zeros(3), f=lambda yi: 1j * yi), TypeError, "f"),
    (lambda: sf(jnp.zeros(3), f=lambda yi: "a"), TypeError, "f"),
    (lambda: sf(jnp.zeros(3), log_prob=lambda th, yi: th), ValueError, "log_prob"),
    (lambda: sf(jnp.zeros(3), log_prob=lambda th, yi: yi), TypeError, "log_prob"),
    (lambda: rp(jnp.zeros(2), f=lambda z: z * 1j), TypeError, r"f\(g\(theta, eps\)\)"),
    (lambda: rp(jnp.zeros(2), g=lambda t, e: t * e), ValueError, r"f\(g\(theta, eps\)\)"),
    # the baseline
    (lambda: sf(jnp.zeros(3), baseline=jnp.ones(2)), TypeError, "baseline"),
    (lambda: sf(jnp.zeros(3), baseline=np.nan), ValueError, "baseline"),
    (lambda: sf(jnp.zeros(3), baseline=np.inf), ValueError, "baseline"),
    (lambda: sf(jnp.zeros(3), baseline=True), TypeError, "baseline"),
    (lambda: sf(jnp.zeros(3), baseline="a"), TypeError, "baseline"),
])
def test_estimators_reject_bad_arguments(call, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        call()


def test_estimators_refuse_non_finite_estimates():
    """f(z) = inf or an overflowing gradient gave inf/NaN estimates without a word."""
    with pytest.raises(ValueError, match="^f, log_prob: the estimate for sample 1 is not finite"):
        sf(jnp.zeros(3), f=lambda yi: jnp.where(yi == 1, jnp.inf, 1.0))
    with pytest.raises(ValueError, match="^f, g: the estimate for sample 0 is not finite"):
        rp(jnp.array([800.0, 1.0]), f=jnp.exp)


def test_low_precision_floats_are_floats():
    """bfloat16 (NumPy kind "V") is a float for every entry point, and its NaN is still refused."""
    o = jnp.array([0.0, 1.0, -1.0], jnp.bfloat16)
    assert gumbel_softmax(KEY, o, 0.5).dtype == jnp.bfloat16 and gumbel_max(KEY, o, (4,)).shape == (4,)
    assert gaussian_reparam(KEY, jnp.bfloat16(0), jnp.bfloat16(1), (3,)).dtype == jnp.bfloat16
    est = reparam_grad(lambda z: z**2, lambda t, e: t + e, jnp.bfloat16(1.0), jnp.ones(3, jnp.bfloat16))
    np.testing.assert_array_equal(np.asarray(est, np.float32), 4.0)
    with pytest.raises(ValueError, match="^logits:"):
        gumbel_max(KEY, jnp.array([0.0, jnp.nan], jnp.bfloat16))


def test_estimators_accept_keys_and_traced_baselines():
    keys = jax.random.split(KEY, 4)
    est = rp(jnp.array([0.0, 1.0]), eps=keys, g=lambda th, k: th[0] + th[1] * jax.random.normal(k))
    eps = jax.vmap(jax.random.normal)(keys)
    np.testing.assert_allclose(est, np.stack([2 * eps, 2 * eps * eps], axis=1), rtol=1e-14)  # z = ε: ∇ = 2z(1, ε)
    o, y = jnp.zeros(3), jnp.arange(3)
    traced = jax.jit(lambda b: sf(o, y, baseline=b))(0.5)  # a learned baseline inside jit
    np.testing.assert_allclose(traced, sf(o, y, baseline=0.5), rtol=1e-15)


# -- estimators inside a loss -------------------------------------------------------------------------
@FAST
@given(o=logits4, c=logits4, b=st.floats(-10, 10), seed=seeds)
def test_surrogate_gradient_is_the_score_function_estimate(o, c, b, seed):
    """grad of the surrogate at samples y_i equals score_function_grad's per-sample estimates."""
    y = gumbel_max(jax.random.key(seed), o, (16,))
    per_sample = jax.vmap(jax.grad(lambda th, yi: score_function_surrogate(jnp.asarray(c)[yi], log_softmax_prob(th, yi), b)),
                          in_axes=(None, 0))(jnp.asarray(o), y)
    np.testing.assert_allclose(per_sample, score_function_grad(lambda yi: jnp.asarray(c)[yi], log_softmax_prob,
                                                               jnp.asarray(o), y, baseline=b), rtol=1e-12, atol=1e-12)


@FAST
@given(o=logits4, c=logits4, b=logits4)
def test_surrogate_is_unbiased_for_per_sample_baselines_by_enumeration(o, c, b):
    """Σ_y p_y ∇ surrogate(y) = ∇ Σ_y p_y c_y for any baseline that does not depend on y (here: one per call)."""
    o = jnp.asarray(o)
    for b0 in b:
        total = sum(jax.nn.softmax(o)[y] * jax.grad(lambda th: score_function_surrogate(c[y], log_softmax_prob(th, y),
                                                                                        b0))(o) for y in range(4))
        np.testing.assert_allclose(total, jax.grad(lambda th: jax.nn.softmax(th) @ c)(o), atol=1e-10)


def test_surrogate_stops_gradients_of_f_and_baseline():
    g = jax.grad(lambda t: score_function_surrogate(t**2, 3.0 * t, t))(2.0)
    assert g == pytest.approx((4.0 - 2.0) * 3.0)  # only log_prob is differentiated
    out = score_function_surrogate(jnp.ones((2, 3)), jnp.zeros(3), jnp.zeros((2, 1)))
    assert out.shape == (2, 3)
    assert jax.jit(score_function_surrogate)(jnp.ones(3), jnp.ones(3), 0.5).shape == (3,)


@pytest.mark.parametrize(("args", "exc", "name"), [
    ((np.ones(3), np.ones(4)), ValueError, "f_value, log_prob, baseline"),
    ((np.ones(3), np.ones(3), np.ones(2)), ValueError, "f_value, log_prob, baseline"),
    ((np.array([1.0, np.nan]), np.ones(2)), ValueError, "f_value"),
    ((np.ones(2), np.array([np.inf, 0.0])), ValueError, "log_prob"),
    ((np.ones(2), np.ones(2), np.nan), ValueError, "baseline"),
    ((np.ones(2), "x"), TypeError, "log_prob"),
    ((np.array([True, False]), np.ones(2)), TypeError, "f_value"),
    ((np.ones(2), np.ones(2), 1j), TypeError, "baseline"),
])
def test_surrogate_rejects_bad_arguments(args, exc, name):
    with pytest.raises(exc, match=f"^{name}"):
        score_function_surrogate(*args)


def test_categorical_kl_uniform_values():
    k = 5
    np.testing.assert_allclose(categorical_kl_uniform(jnp.zeros((3, k))), 0.0, atol=1e-15)
    np.testing.assert_allclose(categorical_kl_uniform(jnp.array([1e4, 0.0, 0.0, 0.0, 0.0])), np.log(k), rtol=1e-12)
    p = P5
    np.testing.assert_allclose(categorical_kl_uniform(jnp.log(p)), np.sum(p * np.log(p * k)), rtol=1e-12)
    assert categorical_kl_uniform(jnp.zeros((2, 7, 3))).shape == (2, 7)
    assert categorical_kl_uniform(jnp.zeros(3, jnp.float32)).dtype == jnp.float32


@FAST
@given(o=st.lists(st.floats(-30.0, 30.0), min_size=4, max_size=4).map(np.array), c=st.floats(-100, 100))
def test_categorical_kl_uniform_bounds_shift_and_entropy(o, c):
    kl = float(categorical_kl_uniform(o))
    assert -1e-12 <= kl <= np.log(4) + 1e-12
    assert float(categorical_kl_uniform(o + c)) == pytest.approx(kl, abs=1e-9)
    p = np.asarray(jax.nn.softmax(o))
    assert kl == pytest.approx(np.log(4) - stats.entropy(p), abs=1e-9)  # log k - H(p)


@pytest.mark.parametrize(("bad", "exc"), [(np.array([0.0, np.nan]), ValueError), (np.float64(1.0), ValueError),
                                          (np.zeros(0), ValueError), ("abc", TypeError), (np.array([1j, 0]), TypeError)])
def test_categorical_kl_uniform_rejects_bad_logits(bad, exc):
    with pytest.raises(exc, match="^logits"):
        categorical_kl_uniform(bad)


def test_gradient_stats_unbiased_normal_estimates():
    g = np.asarray(jax.random.normal(KEY, (200_000, 3))) * np.array([1.0, 2.0, 3.0]) + np.array([0.5, 0.0, -1.0])
    s = gradient_stats(g, np.array([0.5, 0.0, -1.0]))
    assert abs(s["var"] - 14.0) < 4 * s["var_se"]  # 1 + 4 + 9
    assert s["z"] < 5 and abs(s["bias2"]) < 4 * 14.0 / 200_000 * 3
    biased = gradient_stats(g, np.array([0.5, 0.0, -2.0]))  # bias 1 in the third component, whose SE is 3/√n
    assert biased["z"] > 5 and biased["bias2"] == pytest.approx(1.0, abs=4 * 2 * 3 / np.sqrt(200_000))


@FAST
@given(shift=st.floats(-5, 5), seed=seeds)
def test_gradient_stats_constant_components(shift, seed):
    """A component that never varies is compared exactly: equal gives z = 0, different gives inf."""
    g = np.column_stack([np.asarray(jax.random.normal(jax.random.key(seed), (50,))), np.full(50, shift)])
    assert np.isfinite(gradient_stats(g, np.array([0.0, shift]))["z"])
    assert gradient_stats(g, np.array([0.0, shift + 1.0]))["z"] == np.inf
    s = gradient_stats(g[:, 0], 0.0)  # one component, 1-D estimates
    assert s["var"] == pytest.approx(float(np.var(g[:, 0], ddof=1)))


@pytest.mark.parametrize(("args", "exc", "name"), [
    ((np.ones((1, 3)), np.zeros(3)), ValueError, "estimates"),
    ((np.ones((4, 3)), np.zeros(2)), ValueError, "exact"),
    ((np.ones((4, 3, 2)), np.zeros(3)), ValueError, "estimates"),
    ((np.array([[np.nan, 0.0], [0.0, 0.0]]), np.zeros(2)), ValueError, "estimates"),
    ((np.ones((4, 2)), np.array([np.inf, 0.0])), ValueError, "exact"),
    (("abc", np.zeros(2)), TypeError, "estimates"),
    ((np.ones((4, 2)), np.array([1j, 0])), TypeError, "exact"),
])
def test_gradient_stats_rejects_bad_arguments(args, exc, name):
    with pytest.raises(exc, match=f"^{name}"):
        gradient_stats(*args)
