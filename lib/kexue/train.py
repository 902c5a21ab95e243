"""The one training loop of the book: pure steps, fused into ``lax.scan`` chunks.

A *step* is a pure function ``step(state, key) -> (state, metrics)``: ``state`` is any pytree (usually a
:class:`TrainState`, or a :class:`GameState` for two players), ``metrics`` a dict of scalars.
:func:`run` applies it ``steps`` times,

.. math::

    s_{t+1},\\ m_t = \\operatorname{step}(s_t,\\ k_t), \\qquad k_t = \\operatorname{fold\\_in}(k, t),
    \\qquad t = 0, \\dots, T-1,

``chunk`` steps per call of one jitted ``jax.lax.scan`` (state buffers donated), and returns
:math:`s_T` with the history :math:`(m_0, \\dots, m_{T-1})` as NumPy arrays. The key schedule is
:func:`step_key`, so a plain Python loop reproduces :func:`run` bit for bit::

    for t in range(steps):
        state, m = jax.jit(step)(state, step_key(key, t))

Models are ``flax.nnx`` modules, split once into pure pytrees by :func:`init_state` and rebuilt by
:func:`merge`; step builders (:func:`supervised_step`, :func:`game_step`) merge them inside the traced
step, so nothing of nnx runs in the hot loop. Data enter as samplers, pure functions ``key -> batch``
(:func:`batch_sampler` for arrays kept on device). With more than one device the batch is sharded along
the ``data`` axis of :func:`data_mesh` and the state replicated, so the same code runs on one CPU, one GPU
or several devices, and, after ``jax.distributed.initialize()``, on the devices of several processes or hosts.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping
from functools import lru_cache, partial
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P
from tqdm import tqdm

from kexue import checks

__all__ = [
    "GameState",
    "TrainState",
    "TrainingDiverged",
    "batch_sampler",
    "data_mesh",
    "game_step",
    "init_game",
    "init_state",
    "merge",
    "run",
    "shard_batch",
    "step_key",
    "supervised_step",
    "vmap_seeds",
]

PyTree = Any
Metrics = dict[str, jax.Array]
Step = Callable[[PyTree, jax.Array], tuple[PyTree, Metrics]]
Sampler = Callable[[jax.Array], PyTree]


class TrainingDiverged(FloatingPointError):
    """A metric or a leaf of the state became NaN or infinite: ``step`` (0-based) and ``metric`` name the first.

    For a state leaf, ``metric`` is ``"state"`` followed by the leaf's path (e.g. ``"state.params['w']"``).
    ``history`` holds the metrics of steps ``0 .. step`` (inclusive) for plotting the blow-up.
    """

    def __init__(self, step: int, metric: str, value: float, history: dict[str, np.ndarray]) -> None:
        self.step, self.metric, self.value, self.history = step, metric, value, history
        super().__init__(f"training diverged at step {step}: metric {metric!r} = {value}")


# --------------------------------------------------------------------------------------------- state


@partial(
    jax.tree_util.register_dataclass,
    data_fields=["params", "opt_state", "rest"],
    meta_fields=["graphdef"],
)
@dataclasses.dataclass(frozen=True)
class TrainState:
    """One player's training state as a pure pytree.

    ``params`` are the trained leaves (the :class:`flax.nnx.Param` state of a module, or any pytree),
    ``opt_state`` the optax state, ``rest`` the module's other variables (batch statistics, RNG
    counters; ``None`` for plain pytrees) and ``graphdef`` the static structure (``None`` for plain
    pytrees).
    """

    params: PyTree
    opt_state: PyTree
    rest: PyTree = None
    graphdef: Any = None


class GameState(NamedTuple):
    """The state of a two-player game: ``d`` moves first (the discriminator), ``g`` second."""

    d: TrainState
    g: TrainState


def init_state(model: Any, optimizer: optax.GradientTransformation) -> TrainState:
    """Split ``model`` once into a :class:`TrainState` and initialise ``optimizer`` on its parameters.

    An :class:`flax.nnx.Module` is split into ``(graphdef, Param state, everything else)``; any other
    pytree is taken as the parameters themselves.
    """
    _check_optimizer(optimizer, "optimizer")
    if isinstance(model, nnx.Module):
        graphdef, params, rest = nnx.split(model, nnx.Param, ...)
        return TrainState(params, optimizer.init(params), rest, graphdef)
    params = jax.tree.map(jnp.asarray, model)
    return TrainState(params, optimizer.init(params))


def init_game(
    d_model: Any, d_optimizer: optax.GradientTransformation, g_model: Any, g_optimizer: optax.GradientTransformation
) -> GameState:
    """The :class:`GameState` of two players, each split by :func:`init_state` with its own optimizer."""
    return GameState(init_state(d_model, d_optimizer), init_state(g_model, g_optimizer))


def merge(state: TrainState) -> Any:
    """The model of ``state``: the rebuilt :class:`flax.nnx.Module`, or the parameter pytree itself.

    Safe inside a traced step (the variables are fresh copies, so nnx may update them there).
    """
    if not isinstance(state, TrainState):
        raise TypeError(f"state: expected a TrainState, got {type(state).__name__}")
    if state.graphdef is None:
        return state.params
    return nnx.merge(state.graphdef, state.params, state.rest, copy=True)


def _other_variables(model: Any, state: TrainState) -> PyTree:
    """The non-parameter variables of ``model`` after a forward pass (``rest`` of the next state)."""
    return state.rest if state.graphdef is None else nnx.state(model, nnx.Not(nnx.Param))


# ---------------------------------------------------------------------------------------- sharding


@lru_cache(maxsize=None)
def data_mesh() -> jax.sharding.Mesh:
    """A 1-D mesh over all devices with the axis ``"data"`` (GSPMD-propagated, ``AxisType.Auto``)."""
    return jax.make_mesh((jax.device_count(),), ("data",), axis_types=(AxisType.Auto,))


def shard_batch(batch: PyTree, argname: str = "sample") -> PyTree:
    """Check a batch and, with several devices, shard its leading axis along ``"data"``.

    Every leaf must be an array with the same leading (batch) size :math:`B`, and :math:`B` divisible
    by the number of devices. Raises ``ValueError`` naming ``argname`` otherwise.
    """
    if batch is None:
        return None
    shapes = [jnp.shape(leaf) for leaf in jax.tree.leaves(batch)]
    if not shapes or any(len(s) == 0 for s in shapes) or len({s[0] for s in shapes}) != 1:
        raise ValueError(f"{argname}: every array of a batch needs the same leading batch axis; got shapes {shapes}")
    n_dev = jax.device_count()
    if shapes[0][0] % n_dev:
        raise ValueError(f"{argname}: batch size {shapes[0][0]} is not divisible by the {n_dev} devices")
    if n_dev == 1:
        return batch
    return jax.lax.with_sharding_constraint(batch, NamedSharding(data_mesh(), P("data")))


def _replicate(tree: PyTree) -> PyTree:
    """A fresh on-device copy of ``tree`` (replicated over :func:`data_mesh` with several devices).

    The copy is what :func:`run` donates, so the caller's arrays stay valid. One jitted call copies
    all leaves at once.
    """
    return _copier(jax.device_count())(tree)


@lru_cache(maxsize=None)
def _copier(n_devices: int) -> Callable[[PyTree], PyTree]:
    copy = partial(jax.tree.map, jnp.copy)
    if n_devices == 1:
        return jax.jit(copy)
    return jax.jit(copy, out_shardings=NamedSharding(data_mesh(), P()))


# ---------------------------------------------------------------------------------------- samplers


def batch_sampler(arrays: PyTree, batch_size: int) -> Sampler:
    """A sampler ``key -> batch`` drawing ``batch_size`` rows of ``arrays`` (kept on device).

    Rows are i.i.d. uniform, with replacement: :math:`i_1,\\dots,i_B \\sim \\mathcal U\\{0,\\dots,n-1\\}`
    and the batch is ``tree.map(lambda a: a[i], arrays)``, so all leaves stay aligned.
    """
    checks.count(batch_size, "batch_size")
    arrays = jax.device_put(arrays)
    sizes = {jnp.shape(a)[0] if jnp.ndim(a) else None for a in jax.tree.leaves(arrays)}
    if not sizes or None in sizes or len(sizes) != 1:
        raise ValueError(f"arrays: need arrays with one common leading axis; got leading sizes {sizes}")
    n = sizes.pop()

    def sample(key: jax.Array) -> PyTree:
        idx = jax.random.randint(checks.prng_key(key), (batch_size,), 0, n)
        return jax.tree.map(lambda a: a[idx], arrays)

    return sample


def _draw(sample: Sampler | None, key: jax.Array) -> PyTree:
    """``sample(key)`` checked and sharded by :func:`shard_batch` (``None`` when there is no sampler)."""
    return None if sample is None else shard_batch(sample(key))


# ------------------------------------------------------------------------------------------- steps


def _loss_and_metrics(out: Any, argname: str) -> tuple[jax.Array, Metrics]:
    """Normalise a loss function's output ``loss`` or ``(loss, metrics)``."""
    if isinstance(out, tuple) and len(out) != 2:
        raise TypeError(f"{argname}: must return a loss or (loss, metrics), got a tuple of {len(out)}")
    loss, metrics = out if isinstance(out, tuple) else (out, {})
    if not _is_real_array(loss):
        raise TypeError(f"{argname}: the loss must be a real scalar array, got {type(loss).__name__}")
    if not isinstance(metrics, Mapping):
        raise TypeError(f"{argname}: auxiliary metrics must be a dict, got {type(metrics).__name__}")
    if jnp.shape(loss) != ():
        raise ValueError(f"{argname}: the loss must be a scalar, got shape {jnp.shape(loss)}")
    return loss, dict(metrics)


def _descend(
    state: TrainState, grads: PyTree, optimizer: optax.GradientTransformation, rest: PyTree
) -> TrainState:
    """One optimizer update :math:`\\theta \\leftarrow \\theta + u`, with :math:`u` from optax."""
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    return dataclasses.replace(state, params=params, opt_state=opt_state, rest=rest)


def supervised_step(
    loss_fn: Callable[..., Any], optimizer: optax.GradientTransformation, sample: Sampler | None = None
) -> Step:
    """A step minimising :math:`L(\\theta) = \\texttt{loss\\_fn}(\\text{model}_\\theta, \\text{batch}, k)`.

    With the step key split as ``k_batch, k_loss = jax.random.split(key)``::

        batch = sample(k_batch)                   # None when sample is None (full-batch problems)
        g = grad_theta loss_fn(model, batch, k_loss)
        theta <- theta + optimizer.update(g)

    ``loss_fn`` returns the scalar loss or ``(loss, metrics)``; the step's metrics are
    ``{"loss": loss, **metrics}``. The state is a :class:`TrainState`.
    """
    checks.callable_(loss_fn, "loss_fn")
    _check_optimizer(optimizer, "optimizer")
    _check_sampler(sample)

    def objective(params: PyTree, state: TrainState, batch: PyTree, key: jax.Array):
        model = merge(dataclasses.replace(state, params=params))
        loss, metrics = _loss_and_metrics(loss_fn(model, batch, key), "loss_fn")
        return loss, (metrics, _other_variables(model, state))

    def step(state: TrainState, key: jax.Array) -> tuple[TrainState, Metrics]:
        if not isinstance(state, TrainState):
            raise TypeError(f"state: supervised_step expects a TrainState (from init_state), got {type(state).__name__}")
        k_batch, k_loss = jax.random.split(checks.prng_key(key))
        batch = _draw(sample, k_batch)
        (loss, (metrics, rest)), grads = jax.value_and_grad(objective, has_aux=True)(
            state.params, state, batch, k_loss
        )
        if "loss" in metrics:
            raise ValueError("loss_fn: an auxiliary metric may not be called 'loss'")
        return _descend(state, grads, optimizer, rest), {"loss": loss, **metrics}

    return step


def _player_objective(loss_fn: Callable[..., Any], player: Literal["d", "g"], argname: str):
    """:math:`\\theta_p \\mapsto \\texttt{loss\\_fn}(D, G, \\text{batch}, k)` for player ``p``, the other fixed.

    Returns ``(loss, (metrics, rest_d, rest_g))`` with both players' updated non-parameter variables.
    """

    def objective(params: PyTree, game: GameState, batch: PyTree, key: jax.Array):
        game = game._replace(**{player: dataclasses.replace(getattr(game, player), params=params)})
        d, g = merge(game.d), merge(game.g)
        loss, metrics = _loss_and_metrics(loss_fn(d, g, batch, key), argname)
        return loss, (metrics, _other_variables(d, game.d), _other_variables(g, game.g))

    return objective


def game_step(
    d_loss: Callable[..., Any],
    g_loss: Callable[..., Any],
    d_optimizer: optax.GradientTransformation,
    g_optimizer: optax.GradientTransformation,
    sample: Sampler | None = None,
    *,
    mode: Literal["simultaneous", "alternating"] = "alternating",
) -> Step:
    """One round of a two-player game (a GAN: ``d`` the discriminator, ``g`` the generator).

    Each player descends its own loss, ``d_loss(D, G, batch, k_d)`` in :math:`\\varphi` and
    ``g_loss(D, G, batch, k_g)`` in :math:`\\theta`, with its own optax optimizer; the keys are
    ``k_batch, k_d, k_g = jax.random.split(key, 3)`` and both see ``batch = sample(k_batch)``.

    * ``"simultaneous"``: both gradients at the old point,
      :math:`\\varphi' = \\varphi + u_d(\\nabla_\\varphi L_d(\\varphi, \\theta))`,
      :math:`\\theta' = \\theta + u_g(\\nabla_\\theta L_g(\\varphi, \\theta))`.
    * ``"alternating"``: the generator sees the discriminator's new parameters,
      :math:`\\theta' = \\theta + u_g(\\nabla_\\theta L_g(\\varphi', \\theta))`.

    Non-parameter variables (batch statistics, RNG counters) come from each player's own phase; in
    alternating mode the generator's phase starts from the state the discriminator's phase left.
    Metrics: ``{"d_loss", "g_loss"}`` plus both losses' auxiliary metrics (names must not clash).
    The state is a :class:`GameState`.
    """
    checks.callable_(d_loss, "d_loss")
    checks.callable_(g_loss, "g_loss")
    _check_optimizer(d_optimizer, "d_optimizer")
    _check_optimizer(g_optimizer, "g_optimizer")
    _check_sampler(sample)
    if mode not in ("simultaneous", "alternating"):
        raise ValueError(f"mode: expected 'simultaneous' or 'alternating', got {mode!r}")
    d_objective = _player_objective(d_loss, "d", "d_loss")
    g_objective = _player_objective(g_loss, "g", "g_loss")

    def step(game: GameState, key: jax.Array) -> tuple[GameState, Metrics]:
        if not isinstance(game, GameState):
            raise TypeError(f"state: game_step expects a GameState (from init_game), got {type(game).__name__}")
        k_batch, k_d, k_g = jax.random.split(checks.prng_key(key), 3)
        batch = _draw(sample, k_batch)
        (ld, (md, d_rest, g_rest)), d_grads = jax.value_and_grad(d_objective, has_aux=True)(
            game.d.params, game, batch, k_d
        )
        new_d = _descend(game.d, d_grads, d_optimizer, d_rest)
        g_game = game._replace(d=new_d, g=dataclasses.replace(game.g, rest=g_rest)) if mode == "alternating" else game
        (lg, (mg, _, g_rest)), g_grads = jax.value_and_grad(g_objective, has_aux=True)(
            g_game.g.params, g_game, batch, k_g
        )
        new_g = _descend(g_game.g, g_grads, g_optimizer, g_rest)
        clash = sorted(set(md) & set(mg) | (set(md) | set(mg)) & {"d_loss", "g_loss"})
        if clash:
            raise ValueError(f"d_loss/g_loss: auxiliary metric names clash: {clash}")
        return GameState(new_d, new_g), {"d_loss": ld, "g_loss": lg, **md, **mg}

    return step


def vmap_seeds(step: Step, n: int) -> Step:
    r"""``n`` independent copies of ``step`` side by side: one step of a stacked state, for runs over seeds.

    The state's leaves carry a leading axis of length ``n`` (e.g. ``jax.vmap(init)(keys)``); copy :math:`i` gets
    the key :math:`k^{(i)}` of ``jax.random.split(k, n)``, so the copies draw independent batches and noise:

    .. math::  (s^{(i)}_{t+1}, m^{(i)}_t) = \operatorname{step}(s^{(i)}_t, k^{(i)}_t), \qquad i = 1, \dots, n.

    :func:`run` records scalars, so the returned step's metrics are the means over the copies,
    :math:`\bar m_t = \tfrac1n \sum_i m^{(i)}_t`; read per-copy results off the final state.
    """
    checks.callable_(step, "step")
    n = checks.count(n, "n")

    def all_seeds(state: PyTree, key: jax.Array) -> tuple[PyTree, Metrics]:
        state, metrics = jax.vmap(step)(state, jax.random.split(key, n))
        return state, {name: jnp.mean(v) for name, v in metrics.items()}

    return all_seeds


# --------------------------------------------------------------------------------------------- run


def step_key(key: jax.Array, t: int | jax.Array) -> jax.Array:
    """The key of step ``t`` in :func:`run`: :math:`k_t = \\operatorname{fold\\_in}(k, t)`.

    ``t`` is a non-negative int or an integer array (traced inside :func:`run`); anything else is a TypeError.
    """
    checks.prng_key(key)
    if isinstance(t, (int, np.integer)) and not isinstance(t, (bool, np.bool_)):
        checks.count(t, "t", minimum=0)
    elif not (hasattr(t, "dtype") and jnp.issubdtype(t.dtype, jnp.integer) and jnp.shape(t) == ()):
        raise TypeError(f"t: expected a step number (a non-negative int), got {type(t).__name__} {t!r}")
    return jax.random.fold_in(key, t)


def _checked_step(step: Step, state: PyTree, key: jax.Array) -> tuple[PyTree, Metrics]:
    """Call ``step`` (while tracing) and check its output: same state structure, scalar metrics."""
    out = step(state, key)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(f"step: must return (state, metrics), got {type(out).__name__}")
    new_state, metrics = out
    if not isinstance(metrics, Mapping) or not all(isinstance(k, str) for k in metrics):
        raise TypeError(f"step: metrics must be a dict with str keys, got {type(metrics).__name__}")
    for k, v in metrics.items():
        if not _is_real_array(v):
            what = f"dtype {v.dtype}" if hasattr(v, "dtype") else type(v).__name__
            raise TypeError(f"step: metric {k!r} must be a real scalar array, got {what}")
    bad = {k: jnp.shape(v) for k, v in metrics.items() if jnp.shape(v) != ()}
    if bad:
        raise ValueError(f"step: metrics must be scalars; non-scalar metrics (name: shape) {bad}")
    before, after = jax.tree.structure(state), jax.tree.structure(new_state)
    if before != after:
        raise ValueError(f"step: the returned state's structure differs from the input's:\n{after}\nvs\n{before}")
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(new_state)):
        if jnp.shape(a) != jnp.shape(b) or jnp.result_type(a) != jnp.result_type(b):
            raise ValueError(f"step: a state leaf changed from {jnp.shape(a)} {jnp.result_type(a)} "
                             f"to {jnp.shape(b)} {jnp.result_type(b)}")
    return new_state, dict(metrics)


@partial(jax.jit, static_argnames=("step", "length", "every_step"), donate_argnames="state")
def _chunk(step: Step, state: PyTree, key: jax.Array, start: jax.Array, *, length: int, every_step: bool):
    """Steps ``start .. start+length-1`` in one ``jax.lax.scan``; metrics stacked along axis 0.

    Jitted with ``step`` static (compiled once per step function and chunk length) and ``state``
    donated, so the update happens in place.
    """

    def body(s: PyTree, t: jax.Array):
        s, metrics = _checked_step(step, s, step_key(key, t))
        return s, (metrics, _state_finite(s) if every_step else jnp.bool_(True))

    state, (metrics, finite) = jax.lax.scan(body, state, start + jnp.arange(length, dtype=jnp.int32))
    if not every_step:  # one reduction per chunk, on its final state (NaN/inf in a state rarely heals)
        finite = finite.at[-1].set(_state_finite(state))
    return state, (metrics, finite)


def _is_real_array(v: Any) -> bool:
    """A JAX/NumPy array (or Python number) of a real or bool dtype: what a metric or loss may be."""
    if isinstance(v, (bool, int, float)):
        return True
    dtype = getattr(v, "dtype", None)
    return dtype is not None and not str(dtype).startswith("key<") and np.dtype(dtype).kind in "biuf"


def _state_finite(state: PyTree) -> jax.Array:
    """One fused reduction: are all floating leaves of ``state`` finite? (a bool scalar, traced per step)."""
    flags = [jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(state)
             if hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jnp.inexact)]
    return jnp.all(jnp.stack(flags)) if flags else jnp.bool_(True)


def _first_bad(metrics: dict[str, np.ndarray]) -> tuple[int, str] | None:
    """The first (step offset, metric) whose value is NaN or infinite, or ``None``."""
    hits = [(int(np.argmax(~np.isfinite(v))), k) for k, v in metrics.items() if not np.isfinite(v).all()]
    return min(hits) if hits else None


def run(
    step: Step,
    state: PyTree,
    *,
    steps: int,
    key: jax.Array,
    chunk: int = 500,
    progress: bool = True,
    check_every_step: bool = False,
) -> tuple[PyTree, dict[str, np.ndarray]]:
    """Apply ``step`` ``steps`` times; return the final state and the history of metrics.

    Step ``t`` gets the key :func:`step_key` ``(key, t)``. Steps run ``chunk`` at a time in one jitted
    ``jax.lax.scan`` (a final partial chunk compiles one more shape); after each chunk its metrics
    are copied to the host, checked and the tqdm bar (stderr, cleared at the end) advances. The caller's
    ``state`` is copied once, so it stays valid; the copies are donated chunk to chunk.

    A larger ``chunk`` means fewer host round trips (each costs about a millisecond) but a coarser
    progress bar and a later stop on divergence; the default suits steps of 0.1 to 10 ms.

    With several processes (``jax.distributed.initialize()`` called first, as on a GPU cluster or a TPU pod
    slice), every process calls ``run`` with the same arguments: the mesh spans all processes' devices, each
    device draws and processes its own share of every batch, the state stays replicated and the metrics are
    those of the global batch, so the result equals a one-process run on as many devices (tested on localhost).
    Only process 0 shows the progress bar.

    Returns ``(state, history)`` with ``history[name]`` a NumPy array of length ``steps``.
    Raises :class:`TrainingDiverged` at the first chunk with a NaN/inf metric or state leaf, naming the step
    and the metric or the leaf. The state is checked by one fused finiteness reduction at the end of each
    chunk (the error then names the chunk's last step), or after every step with ``check_every_step=True``
    (the exact step, at the cost of a reduction over the whole state per step).
    """
    checks.callable_(step, "step")
    checks.count(steps, "steps")
    checks.count(chunk, "chunk")
    checks.prng_key(key)
    progress, check_every_step = checks.flag(progress, "progress"), checks.flag(check_every_step, "check_every_step")
    state, key = _replicate(state), _replicate(key)
    history: dict[str, list[np.ndarray]] = {}
    # with several processes (jax.distributed) each runs this loop on the same global arrays; one bar is enough
    bar_off = not progress or jax.process_index() != 0
    with tqdm(total=steps, disable=bar_off, leave=False, unit="step", file=sys.stderr) as bar:
        for start in range(0, steps, chunk):
            n = min(chunk, steps - start)
            state, (metrics, finite) = _chunk(step, state, key, jnp.int32(start), length=n,
                                              every_step=check_every_step)
            metrics, finite = jax.device_get((metrics, finite))
            for name, values in metrics.items():
                history.setdefault(name, []).append(np.asarray(values))
            bad = _first_bad(metrics)
            if not finite.all():
                at = int(np.argmin(finite))
                if bad is None or at < bad[0]:
                    bad = (at, None)
            if bad is not None:
                _diverged(history, start, *bad, state=state)
            bar.set_postfix({k: f"{v[-1]:.4g}" for k, v in metrics.items()}, refresh=False)
            bar.update(n)
    return state, {name: np.concatenate(parts) for name, parts in history.items()}


def _diverged(history: dict[str, list[np.ndarray]], start: int, offset: int, metric: str | None, *,
              state: PyTree) -> None:
    """Raise :class:`TrainingDiverged` for step ``start + offset`` with the history up to it.

    ``metric`` ``None`` means a state leaf went non-finite first; the leaf is named from the chunk's final
    state (the first non-finite leaf there).
    """
    flat = {name: np.concatenate(parts)[: start + offset + 1] for name, parts in history.items()}
    if metric is not None:
        raise TrainingDiverged(start + offset, metric, float(flat[metric][-1]), flat)
    leaf = checks.finite_tree(jax.device_get(state)) or ""
    raise TrainingDiverged(start + offset, f"state{leaf}", float("nan"), flat)


# ------------------------------------------------------------------------------------------ checks


def _check_sampler(sample: Any) -> None:
    if sample is not None and not callable(sample):
        raise TypeError(f"sample: expected a callable key -> batch or None, got {type(sample).__name__}")


def _check_optimizer(optimizer: Any, argname: str) -> None:
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError(f"{argname}: expected an optax.GradientTransformation, got {type(optimizer).__name__}")
