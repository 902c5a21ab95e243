"""Tests of kexue.vae: Gaussian KLs (plain and NVAE's residual form), reparameterized layers, ELBO pieces, paths."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kexue import vae

jax.config.update("jax_enable_x64", True)

FAST = settings(max_examples=20, deadline=None)
means = hnp.arrays(np.float64, st.integers(1, 3), elements=st.floats(-3, 3))
logvars = hnp.arrays(np.float64, st.integers(1, 3), elements=st.floats(-3, 3))


def _pair(draw_mu, draw_lv):
    n = min(draw_mu.size, draw_lv.size)
    return draw_mu[:n], draw_lv[:n]


# ------------------------------------------------------------------------------------------- KLs
@FAST
@given(means, logvars)
def test_kl_diag_is_general_kl_to_standard_normal(mu, lv):
    mu, lv = _pair(mu, lv)
    got = vae.gaussian_kl_diag(mu, lv)
    ref = vae.gaussian_kl(mu, np.exp(lv), np.zeros_like(mu), np.ones_like(mu))
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    assert float(got) >= -1e-12


@FAST
@given(means, logvars, means, logvars)
def test_residual_kl_equals_general_kl(mu, lv, dmu, dlv):
    n = min(mu.size, lv.size, dmu.size, dlv.size)
    mu, lv, dmu, dlv = mu[:n], lv[:n], dmu[:n], dlv[:n]
    q_mu, q_lv = vae.residual_posterior(mu, lv, dmu, dlv)
    ref = vae.gaussian_kl(q_mu, np.exp(q_lv), mu, np.exp(lv))
    got = vae.residual_gaussian_kl(dmu, np.exp(dlv), np.exp(lv))
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)


@FAST
@given(means, logvars)
def test_kl_zero_only_at_equality(mu, lv):
    mu, lv = _pair(mu, lv)
    assert float(vae.gaussian_kl(mu, np.exp(lv), mu, np.exp(lv))) == pytest.approx(0.0, abs=1e-12)
    assert float(vae.residual_gaussian_kl(np.zeros_like(mu), np.ones_like(mu), np.exp(lv))) == pytest.approx(0.0, abs=1e-12)
    shifted = float(vae.gaussian_kl(mu + 0.5, np.exp(lv), mu, np.exp(lv)))
    assert shifted == pytest.approx(0.5 * np.sum(0.25 / np.exp(lv)), rel=1e-12)


def test_kl_matches_monte_carlo():
    mu1, v1, mu2, v2 = np.array([0.3, -1.0]), np.array([0.5, 2.0]), np.array([1.0, 0.0]), np.array([1.5, 0.7])
    z = mu1 + np.sqrt(v1) * np.random.default_rng(0).standard_normal((200_000, 2))
    logr = vae.gaussian_log_prob(z, mu1, np.log(v1)) - vae.gaussian_log_prob(z, mu2, np.log(v2))
    se = float(np.std(logr) / np.sqrt(logr.size))
    assert abs(float(np.mean(logr)) - float(vae.gaussian_kl(mu1, v1, mu2, v2))) < 5 * se


def test_kl_axis_and_batches():
    mu = np.arange(12.0).reshape(3, 4) / 10
    lv = np.zeros((3, 4))
    np.testing.assert_allclose(vae.gaussian_kl_diag(mu, lv), 0.5 * (mu**2).sum(1))
    np.testing.assert_allclose(vae.gaussian_kl_diag(mu, lv, axis=0), 0.5 * (mu**2).sum(0))
    assert vae.gaussian_kl_diag(mu, 0.0).shape == (3,)


def test_kl_under_jit_and_grad():
    f = jax.jit(lambda m, lv: vae.gaussian_kl_diag(m, lv).sum())
    g = jax.grad(f, argnums=(0, 1))(jnp.array([0.5, -0.5]), jnp.array([0.2, -0.2]))
    np.testing.assert_allclose(g[0], [0.5, -0.5])                       # ∂/∂μ = μ
    np.testing.assert_allclose(g[1], 0.5 * (np.exp([0.2, -0.2]) - 1))   # ∂/∂log σ² = ½(σ² − 1)


# ------------------------------------------------------------------------------------------- layers
def test_reparam_sample_moments_and_gradient():
    z = vae.reparam_sample(jax.random.key(1), jnp.full((50_000,), 2.0), jnp.full((50_000,), math.log(0.25)))
    assert abs(float(z.mean()) - 2.0) < 5 * 0.5 / math.sqrt(50_000)
    assert abs(float(z.std()) - 0.5) < 0.01
    g = jax.grad(lambda m: vae.reparam_sample(jax.random.key(2), m, 0.0).sum())(jnp.zeros(3))
    np.testing.assert_allclose(g, 1.0)


def test_vib_layer_train_and_test():
    mu, lv = jnp.array([[0.5, -1.0]]), jnp.array([[0.0, 0.3]])
    z_test, kl = vae.vib_layer(jax.random.key(0), mu, lv, train=False)
    np.testing.assert_array_equal(z_test, mu)
    np.testing.assert_allclose(kl, vae.gaussian_kl_diag(mu, lv))
    z_train, _ = vae.vib_layer(jax.random.key(0), mu, lv)
    assert z_train.shape == (1, 2) and not np.allclose(z_train, mu)


# ------------------------------------------------------------------------------------------- densities
@FAST
@given(means, logvars)
def test_log_prob_matches_scipy(mu, lv):
    from scipy import stats

    mu, lv = _pair(mu, lv)
    z = mu + 0.3
    ref = stats.norm.logpdf(z, mu, np.exp(0.5 * lv)).sum()
    np.testing.assert_allclose(vae.gaussian_log_prob(z, mu, lv), ref, rtol=1e-10)


def test_aggregate_log_prob_single_and_mixture():
    mu, lv = np.array([[0.0, 1.0]]), np.array([[0.0, -1.0]])
    z = np.array([[0.2, 0.4], [1.0, 1.0]])
    np.testing.assert_allclose(vae.aggregate_log_prob(z, mu, lv), vae.gaussian_log_prob(z, mu[0], lv[0]))
    mu2 = np.array([[0.0], [3.0]])
    lv2 = np.zeros((2, 1))
    from scipy import stats

    ref = np.log(0.5 * stats.norm.pdf(1.0, 0, 1) + 0.5 * stats.norm.pdf(1.0, 3, 1))
    np.testing.assert_allclose(vae.aggregate_log_prob(np.array([1.0]), mu2, lv2), ref, rtol=1e-12)


@FAST
@given(hnp.arrays(np.float64, st.integers(1, 4), elements=st.floats(-1, 1)),
       hnp.arrays(np.float64, st.integers(1, 4), elements=st.floats(-30, 30)))
def test_bernoulli_nll_is_cross_entropy(x01, logits):
    n = min(x01.size, logits.size)
    x, lg = (x01[:n] + 1) / 2, logits[:n]
    ref = x * np.logaddexp(0, -lg) + (1 - x) * np.logaddexp(0, lg)   # −x log σ(ℓ) − (1−x) log σ(−ℓ)
    got = np.asarray(vae.bernoulli_nll(lg[:, None], x[:, None]))   # per pixel
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)
    # never below the binary entropy of the target: the cross-entropy is at least the entropy
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.nan_to_num(x * np.log(x)) - np.nan_to_num((1 - x) * np.log1p(-x))
    assert np.all(got >= h - 1e-9)


@FAST
@given(hnp.arrays(np.float64, st.integers(1, 5), elements=st.floats(-50, 50)))
def test_iwae_bound_between_mean_and_max(lw):
    b = float(vae.iwae_bound(lw))
    assert lw.mean() - 1e-9 <= b <= lw.max() + 1e-9          # Jensen, and log-mean-exp ≤ max
    np.testing.assert_allclose(vae.iwae_bound(np.full(7, 1.5)), 1.5, rtol=1e-12)


# ------------------------------------------------------------------------------------------- paths
@FAST
@given(st.floats(0, 2 * math.pi), st.floats(0, 1))
def test_path_variances(theta, alpha):
    z1, z2 = np.random.default_rng(3).standard_normal((2, 20_000))
    zs, zl = np.asarray(vae.slerp_normal(z1, z2, theta)), np.asarray(vae.lerp(z1, z2, alpha))
    var_s = np.cos(theta) ** 2 * z1.var() + np.sin(theta) ** 2 * z2.var() + np.sin(2 * theta) * np.cov(z1, z2)[0, 1]
    np.testing.assert_allclose(zs.var(), var_s, rtol=1e-6)
    assert abs(zs.var() - 1) < 0.05
    assert abs(zl.var() - ((1 - alpha) ** 2 + alpha**2)) < 0.05
    np.testing.assert_allclose(vae.lerp(z1, z2, 0.0), z1)
    np.testing.assert_allclose(vae.slerp_normal(z1, z2, math.pi / 2), z2, atol=1e-12)


# ------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("call", "exc", "name"),
    [
        (lambda: vae.gaussian_kl_diag("a", 0.0), TypeError, "mu"),
        (lambda: vae.gaussian_kl_diag([np.nan], [0.0]), ValueError, "mu"),
        (lambda: vae.gaussian_kl_diag(np.zeros(3), np.zeros(4)), ValueError, "mu, logvar"),
        (lambda: vae.gaussian_kl_diag(np.zeros(3), np.zeros(3), axis=1.0), TypeError, "axis"),
        (lambda: vae.gaussian_kl_diag(np.zeros(3), np.zeros(3), axis=2), ValueError, "axis"),
        (lambda: vae.gaussian_kl([0.0], [-1.0], [0.0], [1.0]), ValueError, "var1"),
        (lambda: vae.gaussian_kl([0.0], [1.0], [0.0], [0.0]), ValueError, "var2"),
        (lambda: vae.residual_gaussian_kl([0.0], [0.0], [1.0]), ValueError, "dvar"),
        (lambda: vae.residual_gaussian_kl([0.0], [1.0], [np.inf]), ValueError, "var"),
        (lambda: vae.reparam_sample(0, 0.0, 0.0), TypeError, "key"),
        (lambda: vae.vib_layer(jax.random.key(0), [0.0], [0.0], train=1), TypeError, "train"),
        (lambda: vae.bernoulli_nll([0.0], [2.0]), ValueError, "x"),
        (lambda: vae.aggregate_log_prob(np.zeros(3), np.zeros((2, 2)), np.zeros((2, 2))), ValueError, "z"),
        (lambda: vae.aggregate_log_prob(np.zeros(2), np.zeros((2, 2)), np.zeros((2, 3))), ValueError, "logvar"),
        (lambda: vae.iwae_bound(np.zeros(3), axis=1), ValueError, "axis"),
        (lambda: vae.slerp_normal(np.zeros(3), np.zeros(2), 0.1), ValueError, "z1"),
    ],
)
def test_bad_input_names_the_argument(call, exc, name):
    with pytest.raises(exc, match=f"^{name}"):
        call()
