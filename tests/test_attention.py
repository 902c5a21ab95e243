"""Tests of kexue.attention: every efficient form equals dense masked softmax attention; masks; STE."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kexue import attention as A

jax.config.update("jax_enable_x64", True)

FAST = settings(max_examples=10, deadline=None)


def _problem(seed: int, n: int, dk: int, dv: int, c: int, scale: float = 1.0, dtype=np.float64):
    r = np.random.default_rng(seed)
    Q, K = scale * r.normal(size=(n, dk)), r.normal(size=(n, dk))
    V, C = r.normal(size=(n, dv)), r.normal(size=(c, dk))
    return [jnp.asarray(x, dtype) for x in (Q, K, V, C)]


def _softmax_reference(Q, K, V, mask=None, bias=None):
    """Independent of dense_attention: jax.nn.softmax over masked scores."""
    S = Q @ K.T + (0 if bias is None else bias)
    w = jax.nn.softmax(S, axis=1, where=mask) if mask is not None else jax.nn.softmax(S, axis=1)
    return jnp.where(mask, w, 0) @ V if mask is not None else w @ V


# ------------------------------------------------------------------------------------------- dense
def test_dense_matches_softmax_reference():
    Q, K, V, _ = _problem(0, 40, 5, 3, 4)
    np.testing.assert_allclose(A.dense_attention(Q, K, V), _softmax_reference(Q, K, V), rtol=1e-13, atol=1e-14)
    m, B = A.causal_mask(40), A.window_bias(40, jnp.arange(6.0))
    np.testing.assert_allclose(A.dense_attention(Q, K, V, mask=m, bias=B), _softmax_reference(Q, K, V, m, B),
                               rtol=1e-13, atol=1e-14)


def test_dense_is_stable_for_large_scores():
    Q, K, V, _ = _problem(1, 16, 4, 2, 4, scale=500.0)
    out = A.dense_attention(Q, K, V)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, _softmax_reference(Q, K, V), atol=1e-12)


# ---------------------------------------------------------------------------------------------- VQ
@FAST
@given(n=st.integers(1, 40), dk=st.integers(1, 6), dv=st.integers(1, 5), c=st.integers(1, 9), seed=st.integers(0, 999))
def test_vq_linear_and_causal_forms_equal_dense(n, dk, dv, c, seed):
    Q, K, V, C = _problem(seed, n, dk, dv, c)
    K_hat, D = A.vq_quantize(K, C)
    np.testing.assert_allclose(A.vq_attention_linear(Q, C, D, V), A.dense_attention(Q, K_hat, V), rtol=1e-12,
                               atol=1e-12)
    ref = A.dense_attention(Q, K_hat, V, mask=A.causal_mask(n))
    for method in ("cumsum", "scan"):
        np.testing.assert_allclose(A.vq_attention_causal(Q, C, D, V, method=method), ref, rtol=1e-12, atol=1e-12)


@FAST
@given(blocks=st.integers(1, 6), l=st.integers(1, 8), c=st.integers(1, 9), bias=st.booleans(), seed=st.integers(0, 999))
def test_vq_blockwise_equals_dense_with_window_bias(blocks, l, c, bias, seed):
    n = blocks * l
    Q, K, V, C = _problem(seed, n, 3, 2, c)
    b = jnp.asarray(np.random.default_rng(seed + 1).normal(size=l) * 3) if bias else None
    K_hat, D = A.vq_quantize(K, C)
    ref = A.dense_attention(Q, K_hat, V, mask=A.causal_mask(n), bias=None if b is None else A.window_bias(n, b))
    np.testing.assert_allclose(A.vq_attention_blockwise(Q, K_hat, C, D, V, block=l, bias=b), ref, rtol=1e-12,
                               atol=1e-12)


def test_vq_forms_in_float32():
    Q, K, V, C = _problem(3, 128, 16, 8, 16, dtype=np.float32)
    K_hat, D = A.vq_quantize(K, C)
    ref = A.dense_attention(Q, K_hat, V, mask=A.causal_mask(128))
    b = jnp.linspace(1.0, 0.0, 16, dtype=jnp.float32)
    out = A.vq_attention_blockwise(Q, K_hat, C, D, V, block=16)
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, ref, atol=1e-5)
    np.testing.assert_allclose(A.vq_attention_causal(Q, C, D, V, method="scan"), ref, atol=1e-5)
    refb = A.dense_attention(Q, K_hat, V, mask=A.causal_mask(128), bias=A.window_bias(128, b))
    np.testing.assert_allclose(A.vq_attention_blockwise(Q, K_hat, C, D, V, block=16, bias=b), refb, atol=1e-5)


def test_linear_without_stabilisation_overflows_and_with_it_does_not():
    Q, K, V, C = _problem(4, 32, 4, 2, 40, scale=400.0)
    K_hat, D = A.vq_quantize(K, C)
    assert not np.all(np.isfinite(A.vq_attention_linear(Q, C, D, V, stabilize=False)))
    np.testing.assert_allclose(A.vq_attention_linear(Q, C, D, V), A.dense_attention(Q, K_hat, V), atol=1e-10)


def test_vq_quantize_nearest_code_and_ste():
    Q, K, V, C = _problem(5, 30, 3, 2, 7)
    K_hat, D = A.vq_quantize(K, C)
    d = ((np.asarray(K)[:, None, :] - np.asarray(C)[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(np.argmax(D, 1), np.argmin(d, 1))
    np.testing.assert_allclose(K_hat, np.asarray(C)[np.argmin(d, 1)], atol=1e-15)
    f = lambda X: jnp.sum(jnp.sin(X) * X)  # noqa: E731
    np.testing.assert_allclose(jax.grad(lambda k: f(A.vq_quantize(k, C)[0]))(K), jax.grad(f)(K_hat), atol=1e-15)
    assert float(jnp.max(jnp.abs(jax.grad(lambda c: f(A.vq_quantize(K, c)[0]))(C)))) == 0.0


def test_blockwise_stop_history_changes_gradient_not_value():
    Q, K, V, C = _problem(6, 32, 3, 2, 4)
    K_hat, D = A.vq_quantize(K, C)
    f = lambda v, s: jnp.sum(A.vq_attention_blockwise(Q, K_hat, C, D, v, block=8, stop_history=s) ** 2)  # noqa: E731
    assert abs(float(f(V, True) - f(V, False))) < 1e-12
    g_full, g_stop = jax.grad(f)(V, False), jax.grad(f)(V, True)
    np.testing.assert_allclose(g_full[-16:], g_stop[-16:], atol=1e-12)  # last two blocks: never in a history
    assert float(jnp.max(jnp.abs(g_full[:8] - g_stop[:8]))) > 1e-6


# ------------------------------------------------------------------------------------------ sparse
@FAST
@given(m=st.integers(1, 8), k=st.integers(1, 6), seed=st.integers(0, 999))
def test_atrous_regrouping_equals_masked_dense(m, k, seed):
    Q, K, V, _ = _problem(seed, m * k, 3, 2, 1)
    np.testing.assert_allclose(A.atrous_attention(Q, K, V, k), A.dense_attention(Q, K, V, mask=A.atrous_mask(m * k, k)),
                               rtol=1e-12, atol=1e-12)


@given(m=st.integers(1, 8), k=st.integers(1, 6))
def test_regroup_roundtrip_and_residues(m, k):
    X = jnp.arange(m * k, dtype=float)[:, None]
    G = A.regroup(X, k)
    assert G.shape == (k, m, 1)
    np.testing.assert_array_equal(np.asarray(G[..., 0]) % k, np.arange(k)[:, None] * np.ones((1, m)))
    np.testing.assert_array_equal(A.ungroup(G), X)


@given(n=st.integers(2, 60), k=st.integers(1, 10))
def test_mask_counts(n, k):
    k = min(k, n - 1) or 1
    local = int(A.local_mask(n, k).sum())
    assert local == n * (2 * k + 1) - k * (k + 1)
    if n % k == 0:
        assert int(A.atrous_mask(n, k).sum()) == n * n // k
        inter = int((A.local_mask(n, k) & A.atrous_mask(n, k)).sum())
        assert inter == 3 * n - 2 * k


@given(n=st.integers(2, 50), k=st.integers(1, 8))
def test_local_then_atrous_reaches_everything(n, k):
    L, At = A.local_mask(n, k), A.atrous_mask(n, k)
    assert A.mask_reachability(L, At).all() and A.mask_reachability(At, L).all()
    reach_ll = A.mask_reachability(L, L)
    assert reach_ll.all() == (n - 1 <= 2 * k)


def test_window_bias_is_toeplitz_inside_the_window():
    B = np.asarray(A.window_bias(6, jnp.array([1.0, 2.0, 3.0])))
    i, j = np.indices(B.shape)
    want = np.where((i - j >= 0) & (i - j < 3), (i - j + 1).astype(float), 0.0)
    np.testing.assert_array_equal(B, want)


# -------------------------------------------------------------------------------------------- errors
def test_bad_arguments_name_themselves():
    Q, K, V, C = _problem(7, 12, 3, 2, 4)
    K_hat, D = A.vq_quantize(K, C)
    with pytest.raises(ValueError, match="^K:"):
        A.dense_attention(Q, K[:, :2], V)
    with pytest.raises(ValueError, match="^mask:"):
        A.dense_attention(Q, K, V, mask=np.ones((3, 3), bool))
    with pytest.raises(TypeError, match="^mask:"):
        A.dense_attention(Q, K, V, mask=np.ones((12, 12)))
    with pytest.raises(ValueError, match="^C:"):
        A.vq_quantize(K, C[:, :2])
    with pytest.raises(ValueError, match="^onehot:"):
        A.vq_attention_linear(Q, C, D[:, :3], V)
    with pytest.raises(ValueError, match="^method"):
        A.vq_attention_causal(Q, C, D, V, method="loop")
    with pytest.raises(ValueError, match="^block:"):
        A.vq_attention_blockwise(Q, K_hat, C, D, V, block=5)
    with pytest.raises(ValueError, match="^bias:"):
        A.vq_attention_blockwise(Q, K_hat, C, D, V, block=4, bias=jnp.ones(3))
    with pytest.raises(ValueError, match="^k:"):
        A.atrous_attention(Q, K, V, 5)
    with pytest.raises(TypeError, match="^n:"):
        A.local_mask(3.0, 1)
    with pytest.raises(ValueError, match="^masks"):
        A.mask_reachability()
    with pytest.raises(ValueError, match="^Q:"):
        A.dense_attention(np.full((12, 3), np.nan), K, V)
