"""kexue.train: the scan-fused loop equals a Python loop, games update as defined, errors are clear."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

from kexue import train

KEY = jax.random.key(0)
X = jax.random.normal(jax.random.key(1), (64, 3), dtype=jnp.float32)
Y = X @ jnp.array([1.0, -2.0, 0.5], dtype=jnp.float32) + 0.1


class Net(nnx.Module):
    """A small regression net with dropout (an RNG counter) and batch norm (batch statistics)."""

    def __init__(self, rngs: nnx.Rngs):
        self.lin1 = nnx.Linear(3, 8, rngs=rngs)
        self.norm = nnx.BatchNorm(8, rngs=rngs)
        self.drop = nnx.Dropout(0.2, rngs=rngs)
        self.lin2 = nnx.Linear(8, 1, rngs=rngs)

    def __call__(self, x):
        return self.lin2(self.drop(jax.nn.relu(self.norm(self.lin1(x)))))[:, 0]


def mse(model, batch, key):
    x, y = batch
    err = model(x) - y
    return jnp.mean(err**2), {"mae": jnp.mean(jnp.abs(err))}


TX = optax.adam(1e-2)
STEP = train.supervised_step(mse, TX, train.batch_sampler((X, Y), 16))
STATE = train.init_state(Net(nnx.Rngs(0)), TX)
STEPS = 13


def linear_mse(wb, batch, key):
    (x, y), (w, b) = batch, wb
    return jnp.mean((x @ w + b - y) ** 2)


# A cheap-to-compile problem for the property test (every new chunk length compiles once).
LIN_STEP = train.supervised_step(linear_mse, optax.sgd(0.05), train.batch_sampler((X, Y), 8))
LIN_STATE = train.init_state((jnp.zeros(3, jnp.float32), jnp.float32(0.0)), optax.sgd(0.05))


def python_loop(step, state, steps, key):
    """The reference: a Python loop over the jitted step with the documented key schedule."""
    history = []
    for t in range(steps):
        state, metrics = step(state, train.step_key(key, t))
        history.append(metrics)
    return state, {k: np.array([m[k] for m in history]) for k in history[0]}


@functools.cache
def loop_reference(which: str, steps: int = STEPS):
    """States after 0..steps steps of the Python loop, and the loop's history."""
    step, state = {"net": (STEP, STATE), "linear": (LIN_STEP, LIN_STATE)}[which]
    jstep, states = jax.jit(step), [state]
    for t in range(steps):
        states.append(jstep(states[-1], train.step_key(KEY, t))[0])
    return states, python_loop(jstep, state, steps, KEY)[1]


def leaves(tree):
    """Leaves as NumPy arrays (PRNG keys as their raw data) for exact comparison."""
    out = []
    for leaf in jax.tree.leaves(tree):
        if jnp.issubdtype(jnp.result_type(leaf), jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        out.append(np.asarray(leaf))
    return out


def assert_identical(a, b):
    la, lb = leaves(a), leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_array_equal(x, y)


# ----------------------------------------------------------------------------- run == Python loop


def test_run_is_bit_identical_to_python_loop_with_partial_chunk():
    """nnx model with dropout and batch norm, 13 steps in chunks of 5: the last chunk is partial."""
    states, loop_history = loop_reference("net")
    state, history = train.run(STEP, STATE, steps=STEPS, key=KEY, chunk=5, progress=False)
    assert_identical(state, states[-1])
    assert set(history) == {"loss", "mae"}
    for name, values in history.items():
        assert isinstance(values, np.ndarray) and values.shape == (STEPS,)
        np.testing.assert_array_equal(values, loop_history[name])


@settings(max_examples=15)
@given(steps=st.integers(1, STEPS), chunk=st.integers(1, 6))
def test_any_steps_and_chunk_give_the_loop(steps, chunk):
    states, loop_history = loop_reference("linear")
    state, history = train.run(LIN_STEP, LIN_STATE, steps=steps, key=KEY, chunk=chunk, progress=False)
    assert list(history) == ["loss"] and len(history["loss"]) == steps
    np.testing.assert_array_equal(history["loss"], loop_history["loss"][:steps])
    assert_identical(state, states[steps])


def test_callers_state_survives_donation_and_variables_are_threaded():
    state, _ = train.run(STEP, STATE, steps=8, key=KEY, chunk=5, progress=False)  # 5 + 3: no new shape
    assert_identical(STATE, loop_reference("net")[0][0])  # still readable, unchanged
    before, after = train.merge(STATE), train.merge(state)
    assert int(after.drop.rngs.count.get_value()) == int(before.drop.rngs.count.get_value()) + 8
    assert not np.allclose(after.norm.mean.get_value(), before.norm.mean.get_value())


def test_plain_pytree_full_batch_gradient_descent():
    """sample=None and a plain parameter pytree: x_{t+1} = (1 - 2 lr) x_t for L = |x|^2."""
    tx = optax.sgd(0.1)
    step = train.supervised_step(lambda x, batch, key: jnp.sum(x**2), tx)
    state, history = train.run(step, train.init_state(jnp.array([1.0, -2.0]), tx), steps=10, key=KEY, chunk=3,
                               progress=False)
    np.testing.assert_allclose(state.params, 0.8**10 * np.array([1.0, -2.0]), rtol=1e-12)
    np.testing.assert_allclose(history["loss"], 5.0 * 0.64 ** np.arange(10), rtol=1e-12)


def test_progress_bar_on_stderr_only(capfd):
    train.run(LIN_STEP, LIN_STATE, steps=4, key=KEY, chunk=2, progress=False)
    assert capfd.readouterr() == ("", "")
    train.run(LIN_STEP, LIN_STATE, steps=4, key=KEY, chunk=2, progress=True)
    out, err = capfd.readouterr()
    assert out == "" and "step/s" in err


# ------------------------------------------------------------------------------------------ games


A_D, C_G, LR = 0.3, 0.2, 0.1


def game_losses():
    """The quadratic game L_d = φθ + a φ²/2 (minimised in φ), L_g = -φθ + c θ²/2 (minimised in θ)."""

    def d_loss(phi, theta, batch, key):
        return phi * theta + A_D * phi**2 / 2

    def g_loss(phi, theta, batch, key):
        return -phi * theta + C_G * theta**2 / 2, {"theta": theta}

    return d_loss, g_loss


def hand_game(mode, steps, phi=1.0, theta=2.0):
    """SGD on the quadratic game, by hand: ∂φ L_d = θ + aφ, ∂θ L_g = -φ + cθ."""
    for _ in range(steps):
        new_phi = phi - LR * (theta + A_D * phi)
        phi_seen = new_phi if mode == "alternating" else phi
        theta = theta - LR * (-phi_seen + C_G * theta)
        phi = new_phi
    return phi, theta


@pytest.mark.parametrize("mode", ["simultaneous", "alternating"])
def test_game_step_matches_hand_computation(mode):
    d_loss, g_loss = game_losses()
    sgd = optax.sgd(LR)
    step = train.game_step(d_loss, g_loss, sgd, sgd, mode=mode)
    game = train.init_game(jnp.array(1.0), sgd, jnp.array(2.0), sgd)
    game, history = train.run(step, game, steps=6, key=KEY, chunk=4, progress=False)
    phi, theta = hand_game(mode, 6)
    np.testing.assert_allclose([game.d.params, game.g.params], [phi, theta], rtol=1e-13)
    np.testing.assert_allclose(history["theta"][1:], [hand_game(mode, t)[1] for t in range(1, 6)], rtol=1e-13)


def test_alternating_and_simultaneous_differ_exactly_by_the_generator_view():
    """One step from (φ, θ) = (1, 2): φ' agrees; θ' differs by lr·(φ' - φ) = -lr²(θ + aφ)."""
    d_loss, g_loss = game_losses()
    sgd = optax.sgd(LR)
    game = train.init_game(jnp.array(1.0), sgd, jnp.array(2.0), sgd)
    sim = train.game_step(d_loss, g_loss, sgd, sgd, mode="simultaneous")(game, KEY)[0]
    alt = train.game_step(d_loss, g_loss, sgd, sgd, mode="alternating")(game, KEY)[0]
    assert float(sim.d.params) == float(alt.d.params) == pytest.approx(1 - LR * (2 + A_D))
    assert float(alt.g.params - sim.g.params) == pytest.approx(-(LR**2) * (2 + A_D), rel=1e-12)


def test_game_with_nnx_players_and_sampler():
    rngs = nnx.Rngs(3)
    d, g = nnx.Linear(2, 1, rngs=rngs), nnx.Linear(2, 2, rngs=rngs)
    sample = train.batch_sampler(jax.random.normal(jax.random.key(2), (32, 2)), 8)

    def d_loss(D, G, x, key):
        fake = G(jax.random.normal(key, x.shape))
        return jnp.mean(jax.nn.softplus(-D(x))) + jnp.mean(jax.nn.softplus(D(fake)))

    def g_loss(D, G, x, key):
        return jnp.mean(jax.nn.softplus(-D(G(jax.random.normal(key, x.shape)))))

    step = train.game_step(d_loss, g_loss, optax.sgd(1e-2), optax.adam(1e-2), sample)
    game = train.init_game(d, optax.sgd(1e-2), g, optax.adam(1e-2))
    out, history = train.run(step, game, steps=9, key=KEY, chunk=9, progress=False)
    ref, ref_history = python_loop(jax.jit(step), game, 9, KEY)
    assert_identical(out, ref)
    np.testing.assert_array_equal(history["g_loss"], ref_history["g_loss"])
    assert isinstance(train.merge(out.g), nnx.Linear)


# ------------------------------------------------------------------------------------- divergence


def counting_step(state, key):
    """Metric ``bad = log(4 - t)`` is finite for t < 4 and -inf at t = 4."""
    return state + 1.0, {"good": state, "bad": jnp.log(4.0 - state)}


@pytest.mark.parametrize("chunk", [1, 3, 10])
def test_divergence_names_first_bad_step_and_metric(chunk):
    with pytest.raises(train.TrainingDiverged, match=r"step 4: metric 'bad'") as info:
        train.run(counting_step, jnp.array(0.0), steps=9, key=KEY, chunk=chunk, progress=False)
    err = info.value
    assert (err.step, err.metric, err.value) == (4, "bad", -np.inf)
    assert len(err.history["good"]) == 5 and np.isfinite(err.history["bad"][:4]).all()


def test_divergence_of_gradient_descent_with_too_large_a_step():
    tx = optax.sgd(1e10)
    step = train.supervised_step(lambda x, batch, key: jnp.sum(x**4), tx)
    with pytest.raises(train.TrainingDiverged, match="metric 'loss'"):
        train.run(step, train.init_state(jnp.array([1.0]), tx), steps=50, key=KEY, chunk=8, progress=False)


def nan_state_step(state, key):
    """The state's second leaf becomes NaN at step 2 while the metric stays finite."""
    w, v = state
    v = jnp.where(w >= 2.0, jnp.nan, v)
    return (w + 1.0, v), {"w": w}


@pytest.mark.parametrize("chunk", [1, 2, 5])
def test_nonfinite_state_with_finite_metrics_is_caught(chunk):
    """Checked per step: the exact step; per chunk (default): the last step of the chunk where it happened."""
    state = (jnp.array(0.0), jnp.zeros(3))
    with pytest.raises(train.TrainingDiverged, match=r"step 2: metric 'state\[1\]'") as info:
        train.run(nan_state_step, state, steps=6, key=KEY, chunk=chunk, progress=False, check_every_step=True)
    assert info.value.step == 2 and len(info.value.history["w"]) == 3
    last = min(chunk * (2 // chunk + 1), 6) - 1
    with pytest.raises(train.TrainingDiverged, match=rf"step {last}: metric 'state\[1\]'"):
        train.run(nan_state_step, state, steps=6, key=KEY, chunk=chunk, progress=False)


def test_nonfinite_params_of_supervised_step_are_caught():
    """The update makes a parameter NaN at step 0 while that step's loss is finite: the state is named."""
    tx = optax.sgd(0.1)
    params = {"used": jnp.ones(2), "unused": jnp.zeros(2)}

    def loss(p, batch, key):  # value 0 * sqrt(0) = 0, gradient 0 * inf = NaN
        return jnp.sum(p["used"] ** 2) + 0.0 * jnp.sum(jnp.sqrt(jnp.abs(p["unused"])))

    step = train.supervised_step(loss, tx)
    with pytest.raises(train.TrainingDiverged, match=r"step 0: metric \"state.*unused"):
        train.run(step, train.init_state(params, tx), steps=3, key=KEY, progress=False, check_every_step=True)


@pytest.mark.parametrize("metric", [None, "a string", {"nested": jnp.array(1.0)}, jnp.array(1 + 1j)])
def test_metric_of_a_wrong_type_is_named(metric):
    with pytest.raises(TypeError, match="metric 'm' must be a real scalar"):
        train.run(lambda s, k: (s, {"m": metric}), jnp.array(0.0), steps=1, key=KEY, progress=False)


def test_complex_loss_and_three_tuples_are_refused():
    tx = optax.sgd(0.1)
    state = train.init_state(jnp.zeros(3), tx)
    with pytest.raises(TypeError, match="loss_fn: must return a loss or \\(loss, metrics\\), got a tuple of 3"):
        train.run(train.supervised_step(lambda w, b, k: (jnp.sum(w), {}, 1), tx), state, steps=1, key=KEY,
                  progress=False)
    with pytest.raises(TypeError, match="loss_fn: the loss must be a real scalar"):
        train.run(train.supervised_step(lambda w, b, k: "0", tx), state, steps=1, key=KEY, progress=False)


def test_step_builders_name_a_wrong_state_and_key():
    tx = optax.sgd(0.1)
    step = train.supervised_step(lambda w, b, k: jnp.sum(w), tx)
    with pytest.raises(TypeError, match="state: supervised_step expects a TrainState"):
        train.run(step, jnp.zeros(3), steps=1, key=KEY, progress=False)
    with pytest.raises(TypeError, match="^key: expected a PRNG key"):
        step(train.init_state(jnp.zeros(3), tx), 0)
    game = train.game_step(lambda d, g, b, k: jnp.sum(d), lambda d, g, b, k: jnp.sum(g), tx, tx)
    with pytest.raises(TypeError, match="state: game_step expects a GameState"):
        train.run(game, train.init_state(jnp.zeros(3), tx), steps=1, key=KEY, progress=False)
    with pytest.raises(TypeError, match="^key: expected a PRNG key"):
        train.batch_sampler(X, 2)("key")


@pytest.mark.parametrize("t", [1.5, "1", None, True, jnp.array(1.0)])
def test_step_key_refuses_non_integer_steps(t):
    with pytest.raises(TypeError, match="^t: expected a step number"):
        train.step_key(KEY, t)


def test_step_key_refuses_negative_steps_and_bad_keys():
    with pytest.raises(ValueError, match="^t:"):
        train.step_key(KEY, -1)
    with pytest.raises(TypeError, match="^key:"):
        train.step_key(3, 1)


# ------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "kwargs, exc, name",
    [
        ({"steps": 0}, ValueError, "steps"),
        ({"steps": -3}, ValueError, "steps"),
        ({"chunk": 0}, ValueError, "chunk"),
        ({"chunk": -1}, ValueError, "chunk"),
        ({"steps": 2.0}, TypeError, "steps"),
        ({"steps": True}, TypeError, "steps"),
        ({"chunk": "8"}, TypeError, "chunk"),
        ({"key": 0}, TypeError, "key"),
        ({"progress": 1}, TypeError, "progress"),
        ({"check_every_step": "yes"}, TypeError, "check_every_step"),
    ],
)
def test_run_argument_errors(kwargs, exc, name):
    args = {"steps": 3, "key": KEY, "chunk": 2, "progress": False} | kwargs
    with pytest.raises(exc, match=name):
        train.run(counting_step, jnp.array(0.0), **args)


def test_step_errors():
    with pytest.raises(TypeError, match="step"):
        train.run("not a function", jnp.array(0.0), steps=1, key=KEY)
    with pytest.raises(ValueError, match="step: metrics must be scalars.*'v'"):
        train.run(lambda s, k: (s, {"v": jnp.ones(3)}), jnp.array(0.0), steps=1, key=KEY, progress=False)
    with pytest.raises(TypeError, match="step: metrics must be a dict"):
        train.run(lambda s, k: (s, s), jnp.array(0.0), steps=1, key=KEY, progress=False)
    with pytest.raises(TypeError, match=r"step: must return \(state, metrics\)"):
        train.run(lambda s, k: s, jnp.array(0.0), steps=1, key=KEY, progress=False)
    with pytest.raises(ValueError, match="step: a state leaf changed"):
        train.run(lambda s, k: (jnp.ones(2), {}), jnp.array(0.0), steps=1, key=KEY, progress=False)
    with pytest.raises(ValueError, match="step: the returned state's structure"):
        train.run(lambda s, k: ((s, s), {}), jnp.array(0.0), steps=1, key=KEY, progress=False)


def test_sampler_and_builder_errors():
    tx = optax.sgd(0.1)
    state = train.init_state(jnp.zeros(3), tx)
    loss = lambda w, batch, key: jnp.sum(w)  # noqa: E731
    for bad_sample in (lambda k: jnp.float32(1.0), lambda k: (jnp.ones((4, 3)), jnp.ones(5))):
        step = train.supervised_step(loss, tx, bad_sample)
        with pytest.raises(ValueError, match="sample"):
            train.run(step, state, steps=1, key=KEY, progress=False)
    with pytest.raises(ValueError, match="loss_fn: the loss must be a scalar"):
        train.run(train.supervised_step(lambda w, b, k: w, tx), state, steps=1, key=KEY, progress=False)
    with pytest.raises(ValueError, match="loss_fn: an auxiliary metric may not be called 'loss'"):
        train.run(train.supervised_step(lambda w, b, k: (jnp.sum(w), {"loss": 1.0}), tx), state, steps=1, key=KEY,
                  progress=False)
    clash = lambda d, g, b, k: (jnp.sum(d), {"g_loss": 0.0})  # noqa: E731
    game = train.init_game(jnp.zeros(2), tx, jnp.zeros(2), tx)
    with pytest.raises(ValueError, match="d_loss/g_loss: auxiliary metric names clash"):
        train.run(train.game_step(clash, clash, tx, tx), game, steps=1, key=KEY, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        train.batch_sampler(X, 0)
    with pytest.raises(TypeError, match="batch_size"):
        train.batch_sampler(X, 2.5)
    with pytest.raises(ValueError, match="arrays"):
        train.batch_sampler((X, Y[:10]), 4)
    with pytest.raises(ValueError, match="arrays"):
        train.batch_sampler(jnp.float32(1.0), 4)
    with pytest.raises(TypeError, match="sample"):
        train.supervised_step(loss, tx, sample=3)
    with pytest.raises(TypeError, match="loss_fn"):
        train.supervised_step(None, tx)
    with pytest.raises(TypeError, match="optimizer"):
        train.supervised_step(loss, "adam")
    with pytest.raises(TypeError, match="d_optimizer"):
        train.game_step(loss, loss, None, tx)
    with pytest.raises(ValueError, match="mode"):
        train.game_step(loss, loss, tx, tx, mode="sequential")
    with pytest.raises(TypeError, match="state"):
        train.merge({"params": 1})


def test_batch_sampler_draws_aligned_rows():
    xs = jnp.arange(20.0)
    batch = train.batch_sampler({"x": xs, "y": 2 * xs}, 7)(KEY)
    assert batch["x"].shape == (7,)
    np.testing.assert_array_equal(batch["y"], 2 * batch["x"])
    assert set(np.asarray(batch["x"])) <= set(np.asarray(xs))


# ------------------------------------------------------------------------------------ multi-device

REGRESSION = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, optax
    from flax import nnx
    from kexue import train


    def mse(model, batch, key):
        x, y = batch
        return jnp.mean((model(x)[:, 0] - y) ** 2)


    def regression(batch_size=16, steps=20):
        X = jax.random.normal(jax.random.key(1), (64, 3))
        Y = X @ jnp.array([1.0, -2.0, 0.5]) + 0.1
        tx = optax.adam(1e-2)
        mlp = nnx.Sequential(nnx.Linear(3, 8, rngs=nnx.Rngs(0)), nnx.relu, nnx.Linear(8, 1, rngs=nnx.Rngs(1)))
        step = train.supervised_step(mse, tx, train.batch_sampler((X, Y), batch_size))
        return train.run(step, train.init_state(mlp, tx), steps=steps, key=jax.random.key(0), chunk=8,
                         progress=False)
    """
)

SHARDED_SCRIPT = REGRESSION + textwrap.dedent(
    """
    import json, sys
    import numpy as np
    jax.config.update("jax_enable_x64", True)
    assert jax.device_count() == 2, jax.devices()
    state, hist = regression()
    try:
        regression(batch_size=7, steps=1)
        odd = "no error"
    except ValueError as e:
        odd = str(e)
    leaves = jax.tree.leaves(state.params)
    json.dump({"params": [np.asarray(l).tolist() for l in leaves], "loss": hist["loss"].tolist(),
               "replicated": all(l.sharding.is_fully_replicated for l in leaves),
               "n_dev": len(leaves[0].sharding.device_set),
               "odd": odd}, sys.stdout)
    """
)


def test_sharded_run_equals_single_device():
    """Batch sharded over 2 CPU devices, parameters replicated: same result up to float rounding."""
    env = os.environ | {"XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", SHARDED_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["n_dev"] == 2 and got["replicated"]
    assert "sample: batch size 7 is not divisible by the 2 devices" in got["odd"]
    namespace: dict = {}
    exec(REGRESSION, namespace)
    state, hist = namespace["regression"]()
    np.testing.assert_allclose(got["loss"], hist["loss"], rtol=1e-5)  # float32 parameters
    for a, b in zip(got["params"], jax.tree.leaves(state.params)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------ vmap_seeds


def test_vmap_seeds_runs_independent_copies_and_averages_their_metrics():
    """Copy i of the stacked run equals a lone run of step whose step-t key is split(step_key(k, t), n)[i]."""

    def step(s, k):
        s = s + jax.random.normal(k, s.shape)
        return s, {"sum": jnp.sum(s)}

    n, steps, k = 3, 5, jax.random.key(11)
    state, hist = train.run(train.vmap_seeds(step, n), jnp.zeros((n, 2)), steps=steps, key=k, chunk=2,
                            progress=False)
    for i in range(n):
        s = jnp.zeros(2)
        for t in range(steps):
            s, _ = step(s, jax.random.split(train.step_key(k, t), n)[i])
        np.testing.assert_allclose(state[i], s, rtol=1e-12)
    per_copy = np.asarray(state).sum(axis=1)
    np.testing.assert_allclose(hist["sum"][-1], per_copy.mean(), rtol=1e-12)
    assert len({float(v) for v in per_copy}) == n  # the copies drew different noise


def test_vmap_seeds_checks_its_arguments():
    with pytest.raises(TypeError, match="step"):
        train.vmap_seeds("step", 2)
    with pytest.raises(ValueError, match="n: must be an int >= 1"):
        train.vmap_seeds(lambda s, k: (s, {}), 0)
