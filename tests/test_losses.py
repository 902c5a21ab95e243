"""Tests of kexue.losses: flooding, the descent/ascent pair, logit adjustment, balanced accuracy, data makers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import balanced_accuracy_score

from kexue import losses

jax.config.update("jax_enable_x64", True)

FAST = settings(max_examples=25, deadline=None)
reals = st.floats(-5, 5, allow_nan=False)


# ------------------------------------------------------------------------------------------- flooding
@FAST
@given(loss=st.floats(0, 10), b=st.floats(0, 10))
def test_flooding_value(loss, b):
    v = float(losses.flooding(jnp.float64(loss), b))
    assert v == pytest.approx(loss if loss >= b else 2 * b - loss, abs=1e-12)
    assert v >= b - 1e-12


@FAST
@given(b=st.floats(0.05, 3), w=st.lists(reals, min_size=3, max_size=3))
def test_flooding_gradient_is_signed_gradient(b, w):
    f = lambda t: jnp.sum((t - 0.3) ** 2)  # noqa: E731
    t = jnp.asarray(w)
    if abs(float(f(t)) - b) < 1e-6:
        return
    g = jax.grad(lambda u: losses.flooding(f(u), b))(t)
    np.testing.assert_allclose(g, np.sign(float(f(t)) - b) * jax.grad(f)(t), rtol=1e-12, atol=1e-12)


def test_flooding_rejects_bad_level():
    with pytest.raises(ValueError, match="b"):
        losses.flooding(jnp.float64(1.0), -0.1)
    with pytest.raises(TypeError, match="b"):
        losses.flooding(jnp.float64(1.0), "0.5")
    with pytest.raises(TypeError, match="loss"):
        losses.flooding(np.array([1, 2]), 0.5)


def test_flooding_vmaps_over_levels():
    out = jax.vmap(lambda b: losses.flooding(jnp.float64(0.5), b))(jnp.array([0.0, 1.0]))
    np.testing.assert_allclose(out, [0.5, 1.5])


def _quadratic(a, c):
    A = jnp.asarray(a) @ jnp.asarray(a).T
    return lambda t: 0.5 * t @ A @ t - jnp.asarray(c) @ t


@FAST
@given(a=st.lists(reals, min_size=9, max_size=9), c=st.lists(reals, min_size=3, max_size=3),
       th=st.lists(reals, min_size=3, max_size=3), e1=st.floats(0, 0.2), e2=st.floats(0, 0.2),
       first=st.booleans())
def test_two_step_is_penalized_step_for_quadratics(a, c, th, e1, e2, first):
    L = _quadratic(np.reshape(a, (3, 3)), c)
    t = jnp.asarray(th)
    if not first:  # ascent first equals the penalised step only for equal rates
        e2 = e1
    got = losses.two_step(jax.grad(L), t, e1, e2, descent_first=first)
    want = losses.penalized_step(L, t, e1, e2)
    scale = 1 + float(jnp.max(jnp.abs(want)))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * scale)


def test_two_step_third_order_error():
    """For a non-quadratic loss the error of the pair is (ε³/2) D³L[g, g] + O(ε⁴): ratio 8 per halving."""
    L = lambda t: jnp.sum(jnp.cos(t)) + 0.3 * jnp.sum(t**4)  # noqa: E731
    t = jnp.array([0.4, -0.7, 1.1])
    errs = [float(jnp.linalg.norm(losses.two_step(jax.grad(L), t, e, e) - losses.penalized_step(L, t, e, e)))
            for e in (0.02, 0.01, 0.005)]
    assert 7 < errs[0] / errs[1] < 9 and 7.5 < errs[1] / errs[2] < 8.5


def test_two_step_pytree_and_checks():
    L = lambda p: jnp.sum(p["a"] ** 2) + jnp.sum(p["b"] ** 2)  # noqa: E731
    p = {"a": jnp.ones(2), "b": jnp.arange(3.0)}
    out = losses.two_step(jax.grad(L), p, 0.1, 0.1)
    ref = losses.penalized_step(L, p, 0.1, 0.1)
    for k in p:
        np.testing.assert_allclose(out[k], ref[k], atol=1e-12)
    with pytest.raises(TypeError, match="grad_fn"):
        losses.two_step(None, p, 0.1, 0.1)
    with pytest.raises(ValueError, match="e1"):
        losses.two_step(jax.grad(L), p, -0.1, 0.1)
    with pytest.raises(TypeError, match="descent_first"):
        losses.two_step(jax.grad(L), p, 0.1, 0.1, descent_first=1)


def test_grad_norm_sq():
    pen = losses.grad_norm_sq(lambda t: jnp.sum(t**3))
    t = jnp.array([1.0, 2.0])
    assert float(pen(t)) == pytest.approx(9 * 1 + 9 * 16)
    with pytest.raises(TypeError, match="loss_fn"):
        losses.grad_norm_sq(3)


# ---------------------------------------------------------------------------------- logit adjustment
@FAST
@given(f=st.lists(reals, min_size=4, max_size=4), y=st.integers(0, 3), tau=st.floats(0, 3),
       w=st.lists(st.floats(0.01, 1), min_size=4, max_size=4))
def test_logit_adjusted_loss_closed_form(f, y, tau, w):
    p = np.asarray(w) / np.sum(w)
    f = np.asarray(f)
    got = float(losses.logit_adjusted_loss(f, np.int32(y), np.log(p), tau))
    want = np.log1p(sum((p[i] / p[y]) ** tau * np.exp(f[i] - f[y]) for i in range(4) if i != y))
    assert got == pytest.approx(want, rel=1e-10, abs=1e-12)


def test_logit_adjusted_loss_tau_zero_is_cross_entropy():
    g = np.random.default_rng(0)
    f, y = g.normal(size=(7, 5)), g.integers(0, 5, 7)
    lp = np.log(np.full(5, 0.2))
    want = float(jnp.mean(optax.softmax_cross_entropy_with_integer_labels(jnp.asarray(f), jnp.asarray(y))))
    assert float(losses.logit_adjusted_loss(f, y, lp, 0.0)) == pytest.approx(want)
    # a uniform prior shifts every logit equally: no effect at any τ
    assert float(losses.logit_adjusted_loss(f, y, lp, 2.0)) == pytest.approx(want)


def test_logit_adjusted_loss_checks():
    f = np.zeros((3, 4))
    with pytest.raises(ValueError, match="log_prior"):
        losses.logit_adjusted_loss(f, np.zeros(3, int), np.log(np.full(3, 1 / 3)))
    with pytest.raises(ValueError, match="log_prior"):
        losses.logit_adjusted_loss(f, np.zeros(3, int), np.full(4, 0.5))
    with pytest.raises(ValueError, match="labels"):
        losses.logit_adjusted_loss(f, np.array([0, 1, 4]), np.log(np.full(4, 0.25)))
    with pytest.raises(TypeError, match="labels"):
        losses.logit_adjusted_loss(f, np.zeros(3), np.log(np.full(4, 0.25)))
    with pytest.raises(TypeError, match="tau"):
        losses.logit_adjusted_loss(f, np.zeros(3, int), np.log(np.full(4, 0.25)), tau="1")


def test_logit_adjusted_loss_under_jit_and_vmap():
    f, y, lp = jnp.zeros((2, 3)), jnp.array([0, 1]), jnp.log(jnp.array([0.5, 0.3, 0.2]))
    out = jax.jit(jax.vmap(lambda t: losses.logit_adjusted_loss(f, y, lp, t)))(jnp.array([0.0, 1.0]))
    assert float(out[0]) == pytest.approx(np.log(3))


@FAST
@given(f=st.lists(reals, min_size=3, max_size=3), tau=st.floats(0, 2))
def test_posthoc_adjust(f, tau):
    lp = np.log(np.array([0.7, 0.2, 0.1]))
    np.testing.assert_allclose(losses.posthoc_adjust(np.asarray(f), lp, tau), np.asarray(f) - tau * lp, atol=1e-12)


@pytest.mark.filterwarnings("ignore::UserWarning")  # sklearn: a class seen only in the predictions
@FAST
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40))
def test_balanced_accuracy_matches_sklearn(pairs):
    y, p = map(np.array, zip(*pairs))
    want = balanced_accuracy_score(y, p)
    got = losses.balanced_accuracy(y, p, 4)
    assert got == pytest.approx(want)


def test_per_class_accuracy_absent_class_and_checks():
    acc = losses.per_class_accuracy(np.array([0, 0, 2]), np.array([0, 1, 2]), 3)
    np.testing.assert_allclose(acc, [0.5, np.nan, 1.0])
    with pytest.raises(ValueError, match="predictions"):
        losses.per_class_accuracy(np.array([0, 1]), np.array([0]), 3)
    with pytest.raises(ValueError, match="labels"):
        losses.per_class_accuracy(np.array([0, 3]), np.array([0, 1]), 3)


# ----------------------------------------------------------------------------------------- data makers
@FAST
@given(n_max=st.integers(2, 500), k=st.integers(2, 12), ratio=st.floats(1, 50))
def test_long_tail_counts(n_max, k, ratio):
    if n_max / ratio < 1:
        with pytest.raises(ValueError, match="ratio"):
            losses.long_tail_counts(n_max, k, ratio)
        return
    c = losses.long_tail_counts(n_max, k, ratio)
    assert c[0] == n_max and c[-1] == int(np.floor(n_max / ratio + 1e-9))
    assert np.all(np.diff(c) <= 0)


def test_long_tail_counts_digits_profile():
    np.testing.assert_array_equal(losses.long_tail_counts(128, 10, 64), [128, 80, 50, 32, 20, 12, 8, 5, 3, 2])


def test_long_tail_indices():
    y = np.repeat(np.arange(3), 10)
    idx = losses.long_tail_indices(y, np.array([10, 4, 1]), np.random.default_rng(1))
    np.testing.assert_array_equal(np.bincount(y[idx]), [10, 4, 1])
    assert len(set(idx.tolist())) == idx.size
    with pytest.raises(ValueError, match="counts"):
        losses.long_tail_indices(y, np.array([11, 1, 1]), np.random.default_rng(1))
    with pytest.raises(TypeError, match="rng"):
        losses.long_tail_indices(y, np.array([1, 1, 1]), 0)


@FAST
@given(rate=st.floats(0, 1), seed=st.integers(0, 2**31))
def test_symmetric_label_noise_flips_to_other_classes(rate, seed):
    y = np.arange(200) % 5
    noisy, flipped = losses.symmetric_label_noise(y, rate, 5, np.random.default_rng(seed))
    np.testing.assert_array_equal(noisy != y, flipped)
    assert noisy.min() >= 0 and noisy.max() < 5


def test_symmetric_label_noise_rate_and_uniformity():
    y = np.zeros(40_000, dtype=np.int64)
    noisy, flipped = losses.symmetric_label_noise(y, 0.2, 5, np.random.default_rng(2))
    assert abs(flipped.mean() - 0.2) < 5 * np.sqrt(0.2 * 0.8 / y.size)
    counts = np.bincount(noisy[flipped], minlength=5)
    assert counts[0] == 0 and np.all(np.abs(counts[1:] / flipped.sum() - 0.25) < 0.02)
    with pytest.raises(ValueError, match="rate"):
        losses.symmetric_label_noise(y, 1.5, 5, np.random.default_rng(2))
