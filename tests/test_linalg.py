"""Unit and property tests for kexue.linalg (float64 throughout)."""

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
import mpmath  # noqa: E402
from jax.scipy.special import gammainc  # noqa: E402
from scipy.linalg import expm, logm  # noqa: E402  (the references are SciPy's)

from kexue.linalg import (  # noqa: E402
    MAX_TERMS,
    MAX_VALUES,
    exp_tail_bound,
    expm_partial_sums,
    expm_series,
    hutchinson_logdet,
    hutchinson_trace,
    log1p_partial_sums,
    log1p_series,
    logdet_partial_sums,
    logdet_series,
)

FAST = settings(max_examples=15, deadline=None)
seeds = st.integers(0, 2**31 - 1)
sizes = st.sampled_from([1, 3, 5])  # few shapes: each new shape costs a compilation


def random_matrix(seed: int, n: int, spectral_norm: float | None = None) -> np.ndarray:
    G = np.random.default_rng(seed).standard_normal((n, n))
    return G if spectral_norm is None else spectral_norm * G / np.linalg.norm(G, 2)


# -- exponential series -------------------------------------------------------------------------------
def test_expm_partial_sums_first_terms():
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    S = np.asarray(expm_partial_sums(A, 3))
    assert S.shape == (3, 2, 2)
    np.testing.assert_allclose(S[0], np.eye(2), atol=0)
    np.testing.assert_allclose(S[1], np.eye(2) + A, atol=1e-15)
    np.testing.assert_allclose(S[2], np.eye(2) + A + A @ A / 2, atol=1e-14)


def test_expm_series_scalar_and_integer_input():
    assert float(expm_series(np.array([[1]]), 25)[0, 0]) == pytest.approx(np.e, rel=1e-15)
    assert expm_series(np.array([[1]]), 2).dtype == jnp.float64


def test_expm_series_complex():
    theta = 0.9
    R = expm_series(np.array([[1j * theta]]), 40)
    assert complex(R[0, 0]) == pytest.approx(np.exp(1j * theta), abs=1e-15)


@FAST
@given(seed=seeds, n=sizes, r=st.floats(0.0, 2.0))
def test_expm_series_converges_to_expm(seed, n, r):
    A = random_matrix(seed, n, r)
    np.testing.assert_allclose(expm_series(A, 40), expm(A), rtol=1e-12, atol=1e-13)


@FAST
@given(seed=seeds, n=sizes, r=st.floats(0.1, 5.0))
def test_tail_bound_bounds_truncation_error(seed, n, r):
    A = random_matrix(seed, n, r)
    S = np.asarray(expm_partial_sums(A, 30))  # S[m] keeps the terms n = 0..m
    err = np.linalg.norm(S - expm(A), ord=2, axis=(1, 2))
    bound = np.asarray(exp_tail_bound(r, np.arange(1, 31)))
    assert np.all(err <= bound * (1 + 1e-9) + 1e-13 * np.exp(r))


def test_tail_bound_values():
    # terms = 1 leaves out everything but I: e^x - 1; terms = 3 leaves e^x - 1 - x - x^2/2.
    assert float(exp_tail_bound(1.0, 1)) == pytest.approx(np.e - 1, rel=1e-14)
    assert float(exp_tail_bound(2.0, 3)) == pytest.approx(np.exp(2) - 5, rel=1e-13)
    np.testing.assert_allclose(exp_tail_bound(jnp.array([0.0, 1.0]), 2), [0.0, np.e - 2], rtol=1e-14)
    np.testing.assert_allclose(exp_tail_bound(1.0, np.array([1, 2])), [np.e - 1, np.e - 2], rtol=1e-14)


# -- logarithm series ---------------------------------------------------------------------------------
@FAST
@given(seed=seeds, n=sizes, r=st.floats(0.0, 0.5))
def test_log1p_series_matches_logm_and_inverts_exp(seed, n, r):
    A = random_matrix(seed, n, r)
    L = np.asarray(log1p_series(A, 80))
    np.testing.assert_allclose(L, logm(np.eye(n) + A).real, atol=1e-12)
    np.testing.assert_allclose(expm(L), np.eye(n) + A, atol=1e-12)


def test_log1p_series_converges_beyond_unit_two_norm():
    # |A|_2 ~ 10 but the spectral radius is 0.5: the series still converges (chapter 1, pitfall P1.2).
    A = np.array([[0.5, 10.0], [0.0, 0.5]])
    np.testing.assert_allclose(expm(np.asarray(log1p_series(A, 200))), np.eye(2) + A, atol=1e-12)


@FAST
@given(seed=seeds, n=sizes, r=st.floats(0.0, 0.9))
def test_log1p_partial_sums_agree_with_series(seed, n, r):
    A = random_matrix(seed, n, r)
    L = np.asarray(log1p_partial_sums(A, 12))
    assert L.shape == (12, n, n)
    np.testing.assert_allclose(L[0], A, atol=1e-15)
    for N in (1, 5, 12):
        np.testing.assert_allclose(L[N - 1], log1p_series(A, N), rtol=1e-13, atol=1e-15)


# -- the boundary |λ| = 1 of the logarithm series (it is not "converges iff spectral radius < 1") ----
def test_log_series_at_identity_converges_to_ln2_with_alternating_error():
    # L_N = (sum_{n<=N} (-1)^(n-1)/n) I; ln 2 - L_N = (-1)^N int_0^1 x^N/(1+x) dx, in [1/(2(N+1)), 1/(N+1)].
    L = np.asarray(log1p_partial_sums(np.eye(3), 2000))
    N = np.arange(1, 2001)
    err = np.abs(np.diagonal(L, axis1=1, axis2=2) - np.log(2.0)).max(axis=1) * (N + 1)
    assert np.all(err >= 0.5 * (1 - 1e-9)) and np.all(err <= 1.0 + 1e-9)
    np.testing.assert_allclose(L[-1] - np.diag(np.diag(L[-1])), 0.0, atol=0)
    np.testing.assert_allclose(np.sign(np.log(2.0) - L[:, 0, 0]), (-1.0) ** N)  # alternately above and below


def test_log_series_on_the_unit_circle_converges_with_the_dirichlet_bound():
    # A = R(θ) is normal with eigenvalues e^{±iθ}, θ != π: |L_N - ln(I + A)|_2 <= 2 / ((N+1) |1 + e^{iθ}|).
    for θ in (0.5, 2.0, 3.0):
        A = np.array([[np.cos(θ), -np.sin(θ)], [np.sin(θ), np.cos(θ)]])
        L = np.asarray(log1p_partial_sums(A, 3000))
        N = np.arange(1, 3001)
        err = np.linalg.norm(L - logm(np.eye(2) + A).real, ord=2, axis=(1, 2))
        assert np.all(err <= 2.0 / ((N + 1) * abs(1 + np.exp(1j * θ))) + 1e-12)


def test_log_series_diverges_at_minus_one_like_the_harmonic_series():
    # λ = -1: L_N = -H_N, and H_N - ln N - γ lies in (0, 1/(2N)).
    L = np.asarray(log1p_partial_sums(np.diag([-1.0, 0.5]), 4000))
    N = np.arange(1, 4001)
    gap = -L[:, 0, 0] - np.log(N) - np.euler_gamma
    assert np.all(gap > -1e-12) and np.all(gap <= 1 / (2 * N) + 1e-12)
    np.testing.assert_allclose(L[-1, 1, 1], np.log1p(0.5), atol=1e-15)  # the other eigenvalue converges


def test_log_series_diverges_for_a_jordan_block_on_the_unit_circle():
    # J = I + N, N^2 = 0: J^n = I + nN, so the (0, 1) entry adds (-1)^(n-1): partial sums 1, 0, 1, 0, ...
    L = np.asarray(log1p_partial_sums(np.array([[1.0, 1.0], [0.0, 1.0]]), 101))
    np.testing.assert_array_equal(L[:, 0, 1], np.arange(1, 102) % 2)
    np.testing.assert_allclose(logm(2 * np.eye(2) + np.array([[0.0, 1.0], [0.0, 0.0]])),
                               [[np.log(2.0), 0.5], [0.0, np.log(2.0)]], atol=1e-14)  # the log exists


@FAST
@given(seed=seeds, n=st.sampled_from([2, 12]), r=st.floats(0.0, 0.5))
def test_logdet_series_matches_slogdet(seed, n, r):
    J = random_matrix(seed, n, r)
    sign, logabs = np.linalg.slogdet(np.eye(n) + J)
    assert sign == 1.0
    assert float(logdet_series(J, 60)) == pytest.approx(logabs, abs=1e-12)


def test_logdet_partial_sums_truncation_bound():
    n, r = 30, 0.5
    J = random_matrix(3, n, r)
    exact = np.linalg.slogdet(np.eye(n) + J)[1]
    L = np.asarray(logdet_partial_sums(J, 40))
    K = np.arange(1, 41)
    bound = n * r ** (K + 1) / ((K + 1) * (1 - r))
    assert L.shape == (40,)
    assert np.all(np.abs(L - exact) <= bound + 1e-13)


# -- Hutchinson ---------------------------------------------------------------------------------------
def test_hutchinson_trace_diagonal_is_exact():
    D = np.diag([1.0, -2.0, 5.0])  # z_i^2 = 1, so every sample is Tr D
    est = hutchinson_trace(jax.random.key(0), D, 8)
    assert float(est.estimate) == pytest.approx(4.0, abs=1e-14)
    assert float(est.stderr) == pytest.approx(0.0, abs=1e-14)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hutchinson_trace_unbiased_within_4_stderr(seed):
    A = random_matrix(10 + seed, 40)
    est = hutchinson_trace(jax.random.key(seed), A, 2000)
    assert est.samples.shape == (2000,)
    assert abs(float(est.estimate) - np.trace(A)) <= 4 * float(est.stderr)
    # the standard error matches the exact variance 2 sum_{i != j} sym(A)_ij^2 (within 10 %)
    S = (A + A.T) / 2
    exact_sd = np.sqrt(2 * (np.sum(S**2) - np.sum(np.diag(S) ** 2)) / 2000)
    assert float(est.stderr) == pytest.approx(exact_sd, rel=0.1)


def test_hutchinson_matvec_equals_matrix():
    A = random_matrix(5, 7)
    a = hutchinson_trace(jax.random.key(1), A, 16)
    b = hutchinson_trace(jax.random.key(1), lambda v: jnp.asarray(A) @ v, 16, dim=7)
    np.testing.assert_allclose(a.samples, b.samples, rtol=1e-14)


def test_hutchinson_logdet_unbiased_within_4_stderr():
    n = 50
    J = random_matrix(7, n, 0.5)
    exact = np.linalg.slogdet(np.eye(n) + J)[1]
    est = hutchinson_logdet(jax.random.key(3), J, 50, 2000)
    assert abs(float(est.estimate) - exact) <= 4 * float(est.stderr)
    via_matvec = hutchinson_logdet(jax.random.key(3), lambda v: jnp.asarray(J) @ v, 50, 2000, dim=n)
    np.testing.assert_allclose(via_matvec.estimate, est.estimate, rtol=1e-12)


# -- extreme but valid input ---------------------------------------------------------------------------
def tail_reference(x: float, k: int) -> mpmath.mpf:
    """sum_{n>=k} x^n / n! by direct summation at 60 digits (independent of the incomplete gamma function)."""
    with mpmath.workdps(60):
        x = mpmath.mpf(x)
        term, total, n = x**k / mpmath.factorial(k), mpmath.mpf(0), k
        while term > total * mpmath.mpf(10) ** -40 or n < x:
            total += term
            n += 1
            term = term * x / n
        return total


@pytest.mark.parametrize(("x", "k"), [(800.0, 2000), (700.0, 900), (100.0, 400), (30.0, 100), (709.0, 1),
                                      (5.0, 400), (650.0, 3000)])
def test_tail_bound_where_the_product_over_or_underflows(x, k):
    assert float(exp_tail_bound(x, k)) == pytest.approx(float(tail_reference(x, k)), rel=1e-12)


@FAST
@given(x=st.floats(0.0, 705.0), k=st.integers(1, 3000))
def test_tail_bound_matches_direct_summation(x, k):
    ref = tail_reference(x, k)
    got = float(exp_tail_bound(x, k))
    if ref < 1e-300:  # at or below the subnormals: only the absolute size matters
        assert got <= 1e-300
    else:
        assert got == pytest.approx(float(ref), rel=1e-11)


def test_tail_bound_underflow_is_zero_and_overflow_raises():
    assert float(exp_tail_bound(1e-10, 100)) == 0.0  # the true value is 1e-1158
    assert float(exp_tail_bound(1.0, 2**62)) == 0.0
    for x, k in ((1000.0, 1), (710.0, 5), (np.array([1.0, 800.0]), 3)):
        with pytest.raises(FloatingPointError, match="beyond the largest float64"):
            exp_tail_bound(x, k)
    with pytest.raises(FloatingPointError, match="float32"):
        exp_tail_bound(np.float32(100.0), 1)


def test_tail_bound_float32_uses_the_reference_where_float32_underflows():
    got = exp_tail_bound(np.float32(80.0), 300)
    assert got.dtype == jnp.float32
    assert float(got) == pytest.approx(float(tail_reference(80.0, 300)), rel=1e-6)


def test_tail_bound_ordinary_input_is_exactly_the_closed_form():
    # bit for bit e^x * P(k, x) where nothing over- or underflows (chapter 1's stored outputs rely on it)
    x, k = 5.0, np.arange(1, 101)
    np.testing.assert_array_equal(exp_tail_bound(x, k), jnp.exp(x) * gammainc(jnp.asarray(k, float), x))


def test_series_on_integer_and_scaled_input():
    np.testing.assert_allclose(logdet_series(np.diag([0, 0]), 3), 0.0)
    tiny = 1e-300 * random_matrix(1, 3)
    np.testing.assert_allclose(expm_series(tiny, 5), np.eye(3) + tiny, rtol=0, atol=1e-310)


def test_hutchinson_accepts_raw_keys_and_works_under_jit():
    D = np.diag([1.0, 2.0, 3.0])
    assert float(hutchinson_trace(jax.random.PRNGKey(0), D, 4).estimate) == pytest.approx(6.0)
    jitted = jax.jit(lambda k, M: hutchinson_trace(k, M, 4).estimate)
    assert float(jitted(KEY, D)) == pytest.approx(6.0)


# -- bad input ----------------------------------------------------------------------------------------
KEY = jax.random.key(0)
EYE = np.eye(3)


@pytest.mark.parametrize(
    "call, exc, word",
    [
        (lambda: expm_series(None, 3), TypeError, "A"),
        (lambda: expm_series("ab", 3), TypeError, "A"),
        (lambda: expm_series([[1.0], [1.0, 2.0]], 3), TypeError, "A"),
        (lambda: expm_series(np.ones((2, 3)), 3), ValueError, "A"),
        (lambda: expm_series(np.ones(3), 3), ValueError, "A"),
        (lambda: expm_series(np.zeros((0, 0)), 3), ValueError, "A"),
        (lambda: expm_series(np.array([[np.nan]]), 3), ValueError, "A"),
        (lambda: expm_series(np.array([[np.inf]]), 3), ValueError, "A"),
        (lambda: expm_series(np.array([["a"]]), 3), TypeError, "A"),
        (lambda: expm_series(np.array([[True]]), 3), TypeError, "A"),
        (lambda: expm_series(lambda v: v, 3), TypeError, "A"),
        (lambda: expm_series(EYE, 0), ValueError, "terms"),
        (lambda: expm_partial_sums(EYE, -1), ValueError, "terms"),
        (lambda: expm_series(EYE, 2.0), TypeError, "terms"),
        (lambda: expm_series(EYE, True), TypeError, "terms"),
        (lambda: expm_series(EYE, None), TypeError, "terms"),
        (lambda: expm_series(EYE, MAX_TERMS + 1), ValueError, "terms"),
        (lambda: expm_partial_sums(np.eye(100), MAX_VALUES // 10_000 + 1), ValueError, "terms"),
        (lambda: exp_tail_bound(1.0, 0), ValueError, "terms"),
        (lambda: exp_tail_bound(1.0, np.array([3, 0])), ValueError, "terms"),
        (lambda: exp_tail_bound(1.0, 2.0), TypeError, "terms"),
        (lambda: exp_tail_bound(1.0, True), TypeError, "terms"),
        (lambda: exp_tail_bound(1.0, None), TypeError, "terms"),
        (lambda: exp_tail_bound(1.0, "3"), TypeError, "terms"),
        (lambda: exp_tail_bound(1.0, np.array([], int)), ValueError, "terms"),
        (lambda: exp_tail_bound(np.ones(3), np.array([1, 2])), ValueError, "terms"),
        (lambda: exp_tail_bound(-1.0, 3), ValueError, "norm"),
        (lambda: exp_tail_bound(np.nan, 3), ValueError, "norm"),
        (lambda: exp_tail_bound(np.inf, 3), ValueError, "norm"),
        (lambda: exp_tail_bound(1j, 3), TypeError, "norm"),
        (lambda: exp_tail_bound(None, 3), TypeError, "norm"),
        (lambda: exp_tail_bound("a", 3), TypeError, "norm"),
        (lambda: exp_tail_bound(True, 3), TypeError, "norm"),
        (lambda: exp_tail_bound(np.array([]), 3), ValueError, "norm"),
        (lambda: jax.jit(lambda x: exp_tail_bound(x, 3))(1.0), TypeError, "norm"),
        (lambda: log1p_series(np.ones((3, 2)), 5), ValueError, "A"),
        (lambda: log1p_series(None, 5), TypeError, "A"),
        (lambda: log1p_series(EYE, 0), ValueError, "terms"),
        (lambda: log1p_series(EYE, MAX_TERMS + 1), ValueError, "terms"),
        (lambda: log1p_partial_sums(np.ones((3, 2)), 5), ValueError, "A"),
        (lambda: log1p_partial_sums(None, 5), TypeError, "A"),
        (lambda: log1p_partial_sums(EYE, 0), ValueError, "terms"),
        (lambda: log1p_partial_sums(EYE, 2.0), TypeError, "terms"),
        (lambda: log1p_partial_sums(np.eye(100), MAX_VALUES // 10**4 + 1), ValueError, "terms"),
        (lambda: log1p_partial_sums(np.full((2, 2), np.inf), 5), ValueError, "A"),
        (lambda: logdet_series(np.ones((2, 3)), 5), ValueError, "J"),
        (lambda: logdet_series(None, 5), TypeError, "J"),
        (lambda: logdet_partial_sums(EYE, 0), ValueError, "terms"),
        (lambda: logdet_series(EYE, 3.0), TypeError, "terms"),
        (lambda: logdet_series(np.full((2, 2), np.nan), 5), ValueError, "J"),
        (lambda: hutchinson_trace(KEY, EYE, 0), ValueError, "num_probes"),
        (lambda: hutchinson_trace(KEY, EYE, 1), ValueError, "num_probes"),
        (lambda: hutchinson_trace(KEY, EYE, 4.0), TypeError, "num_probes"),
        (lambda: hutchinson_trace(KEY, lambda v: v, 10**6, dim=1000), ValueError, "num_probes"),
        (lambda: hutchinson_trace(KEY, np.ones((2, 3)), 4), ValueError, "A"),
        (lambda: hutchinson_trace(KEY, None, 4), TypeError, "A"),
        (lambda: hutchinson_trace(KEY, lambda v: v[:1], 4, dim=3), ValueError, "A"),
        (lambda: hutchinson_trace(KEY, lambda v: 1.0, 4, dim=3), ValueError, "A"),
        (lambda: hutchinson_trace(KEY, lambda v: (v, v), 4, dim=3), ValueError, "A"),
        (lambda: hutchinson_trace(KEY, lambda v: v, 4), ValueError, "dim"),
        (lambda: hutchinson_trace(KEY, lambda v: v, 4, dim=0), ValueError, "dim"),
        (lambda: hutchinson_trace(KEY, lambda v: v, 4, dim=3.0), TypeError, "dim"),
        (lambda: hutchinson_trace(KEY, lambda v: v, 4, dim=True), TypeError, "dim"),
        (lambda: hutchinson_trace(KEY, EYE, 4, dim=5), ValueError, "dim"),
        (lambda: hutchinson_trace(0, EYE, 4), TypeError, "key"),
        (lambda: hutchinson_trace("k", EYE, 4), TypeError, "key"),
        (lambda: hutchinson_trace(None, EYE, 4), TypeError, "key"),
        (lambda: hutchinson_logdet(1, EYE, 3, 4), TypeError, "key"),
        (lambda: hutchinson_logdet(KEY, EYE, 0, 4), ValueError, "terms"),
        (lambda: hutchinson_logdet(KEY, EYE, 3.0, 4), TypeError, "terms"),
        (lambda: hutchinson_logdet(KEY, EYE, 3, 0), ValueError, "num_probes"),
        (lambda: hutchinson_logdet(KEY, np.ones((1, 2)), 3, 4), ValueError, "J"),
    ],
)
def test_bad_input_is_rejected_by_name(call, exc, word):
    with pytest.raises(exc, match=f"^{word}:"):
        call()


def test_overflow_raises_instead_of_returning_inf():
    with pytest.raises(FloatingPointError, match="overflow"):
        expm_partial_sums(np.array([[1e200]]), 4)
    with pytest.raises(FloatingPointError, match="overflow"):
        log1p_series(np.array([[3.0]]), 2000)  # spectral radius > 1: the partial sums diverge
    with pytest.raises(FloatingPointError, match="overflow"):
        log1p_partial_sums(np.array([[3.0]]), 2000)
    with pytest.raises(FloatingPointError, match="overflow"):
        hutchinson_trace(KEY, lambda v: v * jnp.inf, 4, dim=2)


def test_jit_compatible():
    A = jnp.asarray(random_matrix(0, 3, 0.3))
    np.testing.assert_allclose(jax.jit(lambda M: expm_series(M, 30))(A), expm(np.asarray(A)), atol=1e-14)
    np.testing.assert_allclose(jax.jit(lambda M: logdet_series(M, 60))(A), jnp.linalg.slogdet(jnp.eye(3) + A)[1],
                               atol=1e-14)
