"""Tests of kexue.hashing: SimHash, WTA, FlyHash, BioHash-like codes, retrieval mAP, steps on the sphere."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

from kexue import hashing as H

jax.config.update("jax_enable_x64", True)

FAST = settings(max_examples=25, deadline=None)


def _rng(i: int = 0) -> np.random.Generator:
    return np.random.default_rng(i)


# ------------------------------------------------------------------------------------------- hashes
def test_simhash_shape_and_bits():
    x = _rng().standard_normal((30, 5))
    h = H.simhash(x, 17, _rng(1))
    assert h.shape == (30, 17) and h.dtype == np.uint8 and set(np.unique(h)) <= {0, 1}
    np.testing.assert_array_equal(H.simhash(-x, 17, _rng(1)), 1 - h)  # sign flips every bit (no exact zeros)


def test_simhash_agreement_follows_charikar():
    """Two vectors at angle θ agree on a bit with probability 1 − θ/π (binomial, 5 standard errors)."""
    theta, n = 1.0, 40_000
    x = np.array([[1.0, 0.0, 0.0], [np.cos(theta), np.sin(theta), 0.0]])
    h = H.simhash(x, n, _rng(2))
    p = 1 - theta / np.pi
    assert abs(np.mean(h[0] == h[1]) - p) < 5 * np.sqrt(p * (1 - p) / n)


@FAST
@given(k=st.integers(1, 12), seed=st.integers(0, 2**16), levels=st.integers(1, 6))
def test_wta_topk_is_stable_topk(k, seed, levels):
    """Exactly k ones per row, at the k largest entries, ties to the lower index (as a stable argsort)."""
    a = _rng(seed).integers(0, levels, (7, 12)).astype(float)  # few levels: many ties
    c = H.wta_topk_binary(a, k)
    ref = np.zeros_like(c)
    np.put_along_axis(ref, np.argsort(-a, axis=1, kind="stable")[:, :k], 1, axis=1)
    np.testing.assert_array_equal(c, ref)
    assert (c.sum(1) == k).all()


def test_flyhash_has_k_ones_and_is_seeded():
    x = _rng(3).standard_normal((40, 8))
    h = H.flyhash(x, 200, 6, 0.1, _rng(4))
    assert h.shape == (40, 200) and (h.sum(1) == 6).all()
    np.testing.assert_array_equal(h, H.flyhash(x, 200, 6, 0.1, _rng(4)))


def test_biohash_codes_pick_nearest_normalised_centres():
    centers = np.array([[2.0, 0.0], [0.0, 0.5], [-1.0, 0.0]])
    x = np.array([[0.1, 1.0], [1.0, 0.2]])
    np.testing.assert_array_equal(H.biohash_codes(x, centers, 1), [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(H.biohash_codes(x, centers, 1, normalize=False), [[0, 1, 0], [1, 0, 0]])
    # (0.3, 1): normalised, centre 1 is nearer (1 > 0.3); unnormalised, the long centre 0 wins (0.6 > 0.5)
    np.testing.assert_array_equal(H.biohash_codes([[0.3, 1.0]], centers, 1), [[0, 1, 0]])
    np.testing.assert_array_equal(H.biohash_codes([[0.3, 1.0]], centers, 1, normalize=False), [[1, 0, 0]])
    assert (H.biohash_codes(x, centers, 2).sum(1) == 2).all()


def test_kmeans_centers_shape_and_seed():
    x = _rng(5).standard_normal((60, 3))
    c = H.kmeans_centers(x, 4, 7)
    assert c.shape == (4, 3)
    np.testing.assert_array_equal(c, H.kmeans_centers(x, 4, 7))


# ------------------------------------------------------------------------------------------- retrieval
@FAST
@given(seed=st.integers(0, 2**16), bits=st.integers(1, 40))
def test_code_agreement_is_bits_minus_hamming(seed, bits):
    g = _rng(seed)
    q, b = g.integers(0, 2, (5, bits)), g.integers(0, 2, (9, bits))
    expected = (q[:, None, :] == b[None, :, :]).sum(-1)
    np.testing.assert_array_equal(H.code_agreement(q, b), expected)


@FAST
@given(seed=st.integers(0, 2**16), levels=st.sampled_from([2, 5, 40, 0]))
def test_map_equals_sklearn_average_precision(seed, levels):
    """Tie-aware AP equals sklearn's per query, for few distinct scores (codes) and for continuous ones."""
    g = _rng(seed)
    s = g.integers(0, levels, (6, 50)).astype(float) if levels else g.standard_normal((6, 50))
    r = g.random((6, 50)) < 0.3
    r[:, 0] = True
    expected = np.mean([average_precision_score(r[i], s[i]) for i in range(6)])
    assert H.mean_average_precision(s, r) == pytest.approx(expected, abs=1e-12)


def test_map_bounds():
    r = np.array([[1, 1, 0, 0]])
    assert H.mean_average_precision([[4.0, 3.0, 2.0, 1.0]], r) == 1.0
    assert H.mean_average_precision([[0.0, 0.0, 0.0, 0.0]], r) == 0.5   # all tied: the base rate


# ------------------------------------------------------------------------------------------- sphere
def _f(x):
    return jnp.log1p(jnp.sum(x**3)) + jnp.sin(x[0] * x[1])


@FAST
@given(seed=st.integers(0, 2**16), scale=st.floats(0.1, 10.0))
def test_sphere_grad_matches_autodiff(seed, scale):
    theta = jnp.asarray(_rng(seed).uniform(0.2, 1.0, 4)) * scale
    x = theta / jnp.linalg.norm(theta)
    auto = jax.grad(lambda t: _f(t / jnp.linalg.norm(t)))(theta)
    closed = H.sphere_grad(theta, jax.grad(_f)(x))
    np.testing.assert_allclose(closed, auto, rtol=1e-10, atol=1e-12)
    assert abs(float(theta @ closed)) < 1e-10 * float(jnp.linalg.norm(theta) * jnp.linalg.norm(closed) + 1e-300)


@FAST
@given(seed=st.integers(0, 2**16), d=st.integers(2, 6))
def test_jose_factor_in_range_and_step_stays_on_sphere(seed, d):
    g = _rng(seed)
    x = g.standard_normal((3, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    grad = g.standard_normal((3, d))
    s = H.jose_factor(x, grad)
    assert ((s >= 0) & (s <= 2)).all()
    np.testing.assert_allclose(H.jose_factor(x, -x), 0.0, atol=1e-12)   # −∇f points at x: no step
    np.testing.assert_allclose(H.jose_factor(x, x), 2.0, atol=1e-12)
    for jose in (False, True):
        y = H.sphere_step(x, grad, 0.3, jose=jose)
        np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.sum(x * H.sphere_project_grad(x, grad), 1), 0.0, atol=1e-12)


def test_sphere_step_is_renormalised_gradient_descent():
    x = jnp.array([0.6, 0.8, 0.0])
    gx = jax.grad(_f)(x)
    theta = x - 0.1 * jax.grad(lambda t: _f(t / jnp.linalg.norm(t)))(x)
    np.testing.assert_allclose(H.sphere_step(x, gx, 0.1), theta / jnp.linalg.norm(theta), atol=1e-14)


def test_sphere_step_under_jit():
    step = jax.jit(lambda x, g, lr: H.sphere_step(x, g, lr, jose=True))
    assert step(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]), 0.5).shape == (2,)


def test_jose_hinge_loss():
    u, v = jnp.array([[1.0, 0.0]]), jnp.array([[2.0, 0.0]])
    assert float(H.jose_hinge_loss(u, v, jnp.array([[0.0, 3.0]]), 0.15)[0]) == 0.0      # cos 1 vs 0: margin met
    np.testing.assert_allclose(H.jose_hinge_loss(jnp.array([[0.0, 1.0]]), v, jnp.array([[5.0, 0.0]]), 0.15),
                               [1.15], atol=1e-12)                                         # 0.15 − 0 + 1
    np.testing.assert_allclose(H.jose_hinge_loss(u, v, -u, 0.5, d=jnp.array([[0.0, 1.0]])), [0.0], atol=1e-12)
    np.testing.assert_allclose(H.jose_hinge_loss(u, v, u, 0.5, d=jnp.array([[0.0, 1.0]])), [0.5], atol=1e-12)


# ------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, exc, name", [
    (lambda: H.simhash(np.ones(3), 4, _rng()), ValueError, "x"),
    (lambda: H.simhash(np.ones((2, 3)), 0, _rng()), ValueError, "n_bits"),
    (lambda: H.simhash(np.ones((2, 3)), 4, 0), TypeError, "rng"),
    (lambda: H.wta_topk_binary(np.ones((2, 3)), 4), ValueError, "k"),
    (lambda: H.flyhash(np.ones((2, 3)), 10, 2, 1.5, _rng()), ValueError, "density"),
    (lambda: H.flyhash(np.ones((2, 3)), 10, 11, 0.5, _rng()), ValueError, "k"),
    (lambda: H.biohash_codes(np.ones((2, 3)), np.ones((4, 2)), 1), ValueError, "centers"),
    (lambda: H.biohash_codes(np.ones((2, 3)), np.zeros((4, 3)), 1), ValueError, "centers"),
    (lambda: H.code_agreement(np.ones((2, 3)), 2 * np.ones((2, 3))), ValueError, "database"),
    (lambda: H.code_agreement(np.ones((2, 3)), np.ones((2, 4))), ValueError, "database"),
    (lambda: H.mean_average_precision(np.ones((2, 3)), np.zeros((2, 3))), ValueError, "relevant"),
    (lambda: H.mean_average_precision(np.ones((2, 3)), np.ones((2, 4))), ValueError, "relevant"),
    (lambda: H.sphere_grad(np.zeros(3), np.ones(3)), ValueError, "theta"),
    (lambda: H.sphere_project_grad(np.ones(3), np.ones(2)), ValueError, "g"),
    (lambda: H.sphere_step(np.ones(3), np.ones(3), -1.0), ValueError, "lr"),
    (lambda: H.jose_hinge_loss(np.ones((1, 2)), np.ones((1, 2)), np.ones((1, 2)), -0.1), ValueError, "margin"),
    (lambda: H.kmeans_centers(np.ones((3, 2)), 4, 0), ValueError, "n_centers"),
])
def test_bad_input_names_the_argument(call, exc, name):
    with pytest.raises(exc, match=name):
        call()
