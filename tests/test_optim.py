"""Tests of kexue.optim: stochastic dynamics, layer-wise rates, gradient surgery, parameter EMA, WEISSI."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kexue import optim, train

jax.config.update("jax_enable_x64", True)

FAST = settings(max_examples=25, deadline=None)


def _key(i: int = 0) -> jax.Array:
    return jax.random.key(i)


# ------------------------------------------------------------------------------------------- dynamics
def test_langevin_step_without_noise_is_gradient_descent():
    step = optim.langevin_step(lambda t: 2 * t, 0.1, 0.0)
    th, metrics = step(jnp.array([1.0, -2.0]), _key())
    np.testing.assert_allclose(th, [0.8, -1.6], rtol=0, atol=1e-15)
    assert metrics == {}


def test_langevin_ou_stationary_variance():
    """dθ = −θ dt + σ dW has stationary variance σ²/2; Euler–Maruyama gives σ²dt/(1 − (1 − dt)²)."""
    dt, sigma = 0.05, 1.0
    th, _ = train.run(optim.langevin_step(lambda t: t, dt, sigma), jnp.zeros(20_000), steps=400, key=_key(1),
                      chunk=400, progress=False)
    exact = sigma**2 * dt / (1 - (1 - dt) ** 2)
    se = exact * np.sqrt(2 / 20_000)
    assert abs(float(jnp.var(th)) - exact) < 5 * se


def test_langevin_vector_sigma_per_row():
    step = optim.langevin_step(lambda t: 0 * t, 1.0, np.array([0.0, 2.0]))
    th, _ = step(jnp.zeros((2, 10_000)), _key(2))
    assert float(jnp.max(jnp.abs(th[0]))) == 0.0
    assert abs(float(jnp.std(th[1])) - 2.0) < 0.1


def test_kramers_equipartition():
    (th, eta), _ = train.run(optim.kramers_step(lambda t: t, 0.05, 1.0, 1.0), (jnp.zeros(20_000), jnp.zeros(20_000)),
                             steps=400, key=_key(3), chunk=400, progress=False)
    assert abs(float(jnp.mean(eta**2)) - 0.5) < 0.03
    assert abs(float(jnp.mean(th**2)) - 0.5) < 0.03


def test_kramers_no_friction_no_noise_conserves_energy_approximately():
    step = optim.kramers_step(lambda t: t, 0.01, 0.0, 0.0)
    state = (jnp.array([1.0]), jnp.array([0.0]))
    for _ in range(500):
        state, _ = step(state, _key())
    energy = 0.5 * (state[0] ** 2 + state[1] ** 2)
    assert abs(float(energy[0]) - 0.5) < 1e-4


@pytest.mark.parametrize("bad, exc", [({"dt": 0.0}, ValueError), ({"sigma": -1.0}, ValueError),
                                      ({"dt": "a"}, TypeError), ({"sigma": np.array([-1.0])}, ValueError)])
def test_langevin_rejects_bad_arguments(bad, exc):
    kw = {"dt": 0.1, "sigma": 1.0, **bad}
    with pytest.raises(exc, match=next(iter(bad))):
        optim.langevin_step(lambda t: t, **kw)


def test_kramers_rejects_negative_friction():
    with pytest.raises(ValueError, match="friction"):
        optim.kramers_step(lambda t: t, 0.1, 1.0, -0.5)
    with pytest.raises(TypeError, match="grad_fn"):
        optim.kramers_step(None, 0.1, 1.0, 0.5)


# ------------------------------------------------------------------------------------ layer-wise rates
def _run(tx, params, loss, steps=20):
    state = tx.init(params)
    for _ in range(steps):
        u, state = tx.update(jax.grad(loss)(params), state, params)
        params = optax.apply_updates(params, u)
    return params


@FAST
@given(lam=st.floats(0.05, 20.0), kind=st.sampled_from(["sgd", "sgd-momentum", "adam"]))
def test_reparam_equivalent_matches_reparameterization(lam, kind):
    target = jnp.array([0.3, -1.2, 2.0])
    loss_theta = lambda th: jnp.sum((th - target) ** 2 * jnp.array([1.0, 3.0, 0.5]))  # noqa: E731
    theta0 = jnp.array([1.0, 0.5, -0.5])
    base, kw = ("sgd", {"momentum": 0.9}) if kind == "sgd-momentum" else (kind, {})
    inner = optax.sgd(0.01, **kw) if base == "sgd" else optax.adam(0.01)
    phi = _run(inner, theta0 / lam, lambda f: loss_theta(lam * f))
    theta = _run(optim.reparam_equivalent(base, 0.01, lam, **kw), theta0, loss_theta)
    np.testing.assert_allclose(lam * phi, theta, rtol=1e-9, atol=1e-12)


def test_reparam_equivalent_rejects():
    with pytest.raises(ValueError, match="kind"):
        optim.reparam_equivalent("rmsprop", 0.1, 1.0)
    with pytest.raises(ValueError, match="lam"):
        optim.reparam_equivalent("sgd", 0.1, 0.0)
    with pytest.raises(ValueError, match="learning_rate"):
        optim.reparam_equivalent("adam", -0.1, 1.0)


def test_labels_by_path():
    params = {"enc": {"w": 1.0, "b": 2.0}, "dec": {"w": 3.0}}
    labels = optim.labels_by_path(params, [(r"\['enc'\]", "slow")], "fast")
    assert labels == {"enc": {"w": "slow", "b": "slow"}, "dec": {"w": "fast"}}
    tx = optax.multi_transform(  # optax.partition from 0.2.3 on; the lowest optax has this name
        {"slow": optax.sgd(0.1), "fast": optax.sgd(1.0)}, labels)
    u, _ = tx.update(jax.tree.map(lambda _: 1.0, params), tx.init(params))
    assert u == {"enc": {"w": -0.1, "b": -0.1}, "dec": {"w": -1.0}}
    with pytest.raises(ValueError, match="rules"):
        optim.labels_by_path(params, [("(", "x")], "fast")
    with pytest.raises(TypeError, match="default"):
        optim.labels_by_path(params, [], 3)


@FAST
@given(c=st.floats(0.01, 10.0), seed=st.integers(0, 2**16))
def test_clip_by_l1_norm_properties(c, seed):
    g = {"a": jax.random.normal(jax.random.key(seed), (5, 3)), "b": 1e-3 * jnp.ones(2)}
    tx = optim.clip_by_l1_norm(c)
    u, _ = tx.update(g, tx.init(g))
    for k in g:
        norm_g, norm_u = float(jnp.sum(jnp.abs(g[k]))), float(jnp.sum(jnp.abs(u[k])))
        assert norm_u <= c * (1 + 1e-12)
        if norm_g <= c:
            np.testing.assert_array_equal(u[k], g[k])
        else:
            np.testing.assert_allclose(u[k], g[k] * c / norm_g, rtol=1e-12)


def test_clip_by_l1_norm_zero_leaf_and_bad_norm():
    tx = optim.clip_by_l1_norm(1.0)
    u, _ = tx.update({"z": jnp.zeros(3)}, tx.init({"z": jnp.zeros(3)}))
    np.testing.assert_array_equal(u["z"], 0.0)
    with pytest.raises(ValueError, match="max_norm"):
        optim.clip_by_l1_norm(0.0)


@FAST
@given(scale=st.floats(1e-3, 1e3))
def test_global_rms_is_invariant_to_gradient_scale(scale):
    tx = optim.scale_by_global_rms(0.9, eps=0.0)
    g = {"a": jnp.array([1.0, -2.0]), "b": jnp.array([0.5])}
    u1, _ = tx.update(g, tx.init(g))
    u2, _ = tx.update(jax.tree.map(lambda x: scale * x, g), tx.init(g))
    for k in g:
        np.testing.assert_allclose(u1[k], u2[k], rtol=1e-10)
    # the first step normalises by sqrt(0.1 ||g||²): the direction is the gradient's
    norm = np.sqrt(1 + 4 + 0.25)
    np.testing.assert_allclose(u1["a"], np.array([1.0, -2.0]) / np.sqrt(0.1 * norm**2), rtol=1e-12)


# --------------------------------------------------------------------------------------------- EMA
@FAST
@given(beta=st.floats(0.0, 0.999), n=st.integers(1, 40))
def test_ema_matches_closed_form(beta, n):
    path = np.sin(np.arange(1, n + 1) * 0.7)
    m = jnp.zeros(())
    for x in path:
        m = optim.ema_update(m, jnp.asarray(x), beta)
    weights = (1 - beta) * beta ** (n - np.arange(1, n + 1))
    np.testing.assert_allclose(float(m), weights @ path, rtol=1e-10, atol=1e-14)
    if beta < 0.999:
        corr = float(optim.ema_debiased(m, n, beta))
        np.testing.assert_allclose(corr, weights @ path / weights.sum(), rtol=1e-8, atol=1e-12)


def test_ema_debiased_returns_constant_path_exactly():
    m = jnp.zeros(3)
    for _ in range(7):
        m = optim.ema_update(m, jnp.full(3, 2.5), 0.9)
    np.testing.assert_allclose(optim.ema_debiased(m, 7, 0.9), 2.5, rtol=1e-14)


def test_with_param_ema_leaves_trajectory_unchanged():
    tx = optax.adam(0.1)
    step = train.supervised_step(lambda p, b, k: jnp.sum((p - 3.0) ** 2), tx)
    s0 = train.init_state(jnp.array([0.0, 1.0]), tx)
    init, wrapped = optim.with_param_ema(step, 0.9)
    plain, _ = train.run(step, s0, steps=30, key=_key(), chunk=30, progress=False)
    both, _ = train.run(wrapped, init(s0), steps=30, key=_key(), chunk=30, progress=False)
    np.testing.assert_array_equal(plain.params, both.state.params)
    assert int(both.count) == 30
    with pytest.raises(TypeError, match="state"):
        wrapped(s0, _key())


def test_ema_rejects_bad_decay_and_structure():
    with pytest.raises(ValueError, match="decay"):
        optim.ema_update(jnp.zeros(2), jnp.zeros(2), 1.0)
    with pytest.raises(ValueError, match="ema, params"):
        optim.ema_update({"a": 0.0}, {"b": 0.0}, 0.5)
    with pytest.raises(TypeError, match="step"):
        optim.with_param_ema(3, 0.5)


def test_optax_ema_is_momentum_not_a_parameter_average():
    g = jnp.array([1.0, -0.5])
    a = optax.chain(optax.sgd(0.1), optax.ema(0.9, debias=False))
    b = optax.sgd(0.01, momentum=0.9)
    sa, sb = a.init(g), b.init(g)
    for _ in range(5):
        ua, sa = a.update(g, sa)
        ub, sb = b.update(g, sb)
        np.testing.assert_allclose(ua, ub, rtol=1e-12)


# ------------------------------------------------------------------------------------------- WEISSI
def _net(seed=0, bias=True):
    ks = jax.random.split(jax.random.key(seed), 6)
    shapes = [(6, 4), (5, 6), (2, 5)]
    return [(jax.random.normal(ks[2 * i], s), jax.random.normal(ks[2 * i + 1], (s[0],)) if bias else None)
            for i, s in enumerate(shapes)]


@FAST
@given(g1=st.floats(0.1, 10.0), g2=st.floats(0.1, 10.0), seed=st.integers(0, 1000))
def test_rescale_with_cumulative_bias_keeps_the_function(g1, g2, seed):
    net = _net(seed)
    x = jax.random.normal(jax.random.key(seed + 1), (16, 4))
    gam = [g1, g2, 1.0 / (g1 * g2)]
    out = optim.relu_mlp(net, x)
    np.testing.assert_allclose(optim.relu_mlp(optim.rescale_relu_net(net, gam), x), out, rtol=1e-10, atol=1e-10)
    bias_free = _net(seed, bias=False)
    np.testing.assert_allclose(optim.relu_mlp(optim.rescale_relu_net(bias_free, gam, cumulative_bias=False), x),
                               optim.relu_mlp(bias_free, x), rtol=1e-10, atol=1e-10)


def test_article_bias_rule_changes_the_function():
    net, x = _net(0), jax.random.normal(jax.random.key(5), (64, 4))
    wrong = optim.relu_mlp(optim.rescale_relu_net(net, [2.0, 0.25, 2.0], cumulative_bias=False), x)
    assert float(jnp.max(jnp.abs(wrong - optim.relu_mlp(net, x)))) > 1e-2


@FAST
@given(g1=st.floats(0.1, 10.0), g2=st.floats(0.1, 10.0))
def test_weissi_reg_is_shift_invariant_and_l2_is_not(g1, g2):
    net = _net(3)
    shifted = optim.rescale_relu_net(net, [g1, g2, 1.0 / (g1 * g2)])
    np.testing.assert_allclose(optim.weissi_reg(shifted, 1.0, 0.7), optim.weissi_reg(net, 1.0, 0.7), rtol=1e-10)
    expected_l2 = sum(g**2 * float(jnp.sum(w**2)) for g, (w, _) in zip([g1, g2, 1 / (g1 * g2)], net))
    np.testing.assert_allclose(optim.l2_reg(shifted), expected_l2, rtol=1e-10)


def test_weissi_and_mlp_reject_bad_input():
    net = _net(0)
    with pytest.raises(ValueError, match="gammas"):
        optim.rescale_relu_net(net, [1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="gammas"):
        optim.rescale_relu_net(net, [1.0, 1.0])
    with pytest.raises(ValueError, match=r"layers\[1\] W"):
        optim.relu_mlp([net[0], (jnp.ones((2, 3)), None)], jnp.ones((1, 4)))
    with pytest.raises(TypeError, match="layers"):
        optim.l2_reg([])
    with pytest.raises(ValueError, match="lam1"):
        optim.weissi_reg(net, -1.0)
