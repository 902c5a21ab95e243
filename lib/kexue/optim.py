"""Optimizers as dynamical systems, and the optax plumbing that bends them (chapter 7).

Stochastic dynamics (steps for :func:`kexue.train.run`, ``step(state, key) -> (state, metrics)``):

* :func:`langevin_step` -- Euler--Maruyama for the overdamped Langevin SDE
  :math:`d\\theta = -\\nabla L(\\theta)\\,dt + \\sigma\\,dW`, whose stationary law is
  :math:`p(\\theta)\\propto e^{-2L(\\theta)/\\sigma^2}` (temperature :math:`\\sigma^2/2`);
* :func:`kramers_step` -- BAOAB splitting for the underdamped (Kramers) SDE
  :math:`d\\theta=\\eta\\,dt,\\ d\\eta=(-\\lambda\\eta-\\nabla L)\\,dt+\\sigma\\,dW`, stationary
  :math:`p\\propto e^{-2\\lambda(\\eta^2/2+L)/\\sigma^2}` for :math:`\\lambda>0` (none for :math:`\\lambda=0`).

Layer-wise learning rates and gradient surgery (optax):

* :func:`reparam_equivalent` -- the optimizer on :math:`\\theta` that reproduces running SGD or Adam on
  :math:`\\varphi=\\theta/\\lambda` (the forward pass using :math:`\\theta=\\lambda\\varphi`): SGD with the
  learning rate times :math:`\\lambda^2`, Adam with it times :math:`\\lambda` and :math:`\\epsilon/\\lambda`;
* :func:`labels_by_path` -- a label per leaf from its path, for ``optax.partition``;
* :func:`scale_by_global_rms` -- RMSprop with one scalar learning rate (the running mean of
  :math:`\\|g\\|^2` over all leaves), the first of the two generalisations in part 二;
* :func:`clip_by_l1_norm` -- a custom ``optax.GradientTransformation`` rescaling each leaf to L1 norm
  at most ``max_norm``.

Averaging the parameters (not the updates, which is what ``optax.ema`` does):

* :func:`ema_update` and :func:`ema_debiased` -- :math:`m_t=\\beta m_{t-1}+(1-\\beta)\\theta_t`,
  :math:`\\hat m_t=m_t/(1-\\beta^t)`;
* :func:`with_param_ema` -- wrap any train step so that it also carries :math:`m_t` (the trajectory of the
  wrapped step is untouched), giving :class:`EMAState`.

Weight-scale shift (WEISSI) on ReLU networks given as ``[(W_1, b_1), ..., (W_L, b_L)]``, layer
:math:`h_l=\\mathrm{relu}(W_l h_{l-1}+b_l)` (no ReLU after the last layer):

* :func:`relu_mlp`, :func:`rescale_relu_net` (cumulative bias scaling by default), :func:`l2_reg`,
  :func:`weissi_reg`.

Bad arguments raise ``TypeError`` (wrong type) or ``ValueError`` (wrong value), naming the argument
(through :mod:`kexue.checks`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from kexue import checks

__all__ = [
    "EMAState",
    "clip_by_l1_norm",
    "ema_debiased",
    "ema_update",
    "kramers_step",
    "l2_reg",
    "labels_by_path",
    "langevin_step",
    "relu_mlp",
    "reparam_equivalent",
    "scale_by_global_rms",
    "rescale_relu_net",
    "weissi_reg",
    "with_param_ema",
]

PyTree = Any
Step = Callable[[PyTree, jax.Array], tuple[PyTree, dict]]


# ------------------------------------------------------------------------------------- stochastic dynamics
def langevin_step(grad_fn: Callable[[jax.Array], jax.Array], dt: float, sigma: float) -> Step:
    """One Euler--Maruyama step of :math:`d\\theta=-\\nabla L\\,dt+\\sigma\\,dW` for every chain in ``state``.

    .. math::

        \\theta_{n+1} = \\theta_n - \\Delta t\\,\\nabla L(\\theta_n) + \\sigma\\sqrt{\\Delta t}\\,\\xi_n,
        \\qquad \\xi_n\\sim\\mathcal N(0, I).

    This is SGD with learning rate :math:`\\Delta t` and gradient noise of standard deviation
    :math:`\\sigma/\\sqrt{\\Delta t}`.  ``sigma`` is a number, or a 1-D array giving one noise level per row of a
    2-D state (several temperatures at once).  ``grad_fn`` maps an array of states to the array of gradients (apply it
    elementwise for independent 1-D chains).  The step's state is that array; its metrics are empty.
    """
    checks.callable_(grad_fn, "grad_fn")
    dt = checks.real(dt, "dt", positive=True)
    if np.ndim(sigma) == 0:
        sigma = checks.real(sigma, "sigma", nonnegative=True)
    else:  # one noise level per row of the state (several temperatures at once)
        sigma = checks.array(sigma, "sigma", ndim=1, kinds="iuf")
        if np.any(sigma < 0):
            raise ValueError(f"sigma: must be >= 0, got min {sigma.min()}")
        sigma = jnp.asarray(sigma, jnp.result_type(float))[:, None]
    scale = sigma * math.sqrt(dt)

    def step(theta: jax.Array, key: jax.Array) -> tuple[jax.Array, dict]:
        noise = jax.random.normal(checks.prng_key(key), jnp.shape(theta), jnp.result_type(theta))
        return theta - dt * grad_fn(theta) + scale * noise, {}

    return step


def kramers_step(grad_fn: Callable[[jax.Array], jax.Array], dt: float, sigma: float, friction: float) -> Step:
    """One BAOAB step of the Kramers (underdamped Langevin) SDE for every chain; state ``(theta, eta)``.

    With :math:`\\lambda` = ``friction``: half a kick :math:`\\eta\\mathrel{-}=\\tfrac{\\Delta t}{2}\\nabla L`,
    half a drift :math:`\\theta\\mathrel{+}=\\tfrac{\\Delta t}{2}\\eta`, the exact Ornstein--Uhlenbeck update
    :math:`\\eta\\leftarrow e^{-\\lambda\\Delta t}\\eta+\\sigma\\sqrt{(1-e^{-2\\lambda\\Delta t})/(2\\lambda)}\\,\\xi`
    (:math:`\\sigma\\sqrt{\\Delta t}\\,\\xi` at :math:`\\lambda=0`), half a drift, half a kick.  The metrics are
    empty.
    """
    checks.callable_(grad_fn, "grad_fn")
    dt = checks.real(dt, "dt", positive=True)
    sigma = checks.real(sigma, "sigma", nonnegative=True)
    lam = checks.real(friction, "friction", nonnegative=True)
    decay = math.exp(-lam * dt)
    kick = sigma * (math.sqrt(-math.expm1(-2 * lam * dt) / (2 * lam)) if lam > 0 else math.sqrt(dt))

    def step(state: tuple[jax.Array, jax.Array], key: jax.Array) -> tuple[tuple[jax.Array, jax.Array], dict]:
        theta, eta = state
        eta = eta - 0.5 * dt * grad_fn(theta)
        theta = theta + 0.5 * dt * eta
        eta = decay * eta + kick * jax.random.normal(checks.prng_key(key), jnp.shape(eta), jnp.result_type(eta))
        theta = theta + 0.5 * dt * eta
        eta = eta - 0.5 * dt * grad_fn(theta)
        return (theta, eta), {}

    return step


# ------------------------------------------------------------------------------ layer-wise learning rates
def reparam_equivalent(kind: str, learning_rate: float, lam: float, *, momentum: float | None = None,
                       b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> optax.GradientTransformation:
    """The optimizer on :math:`\\theta` equivalent to ``kind`` on :math:`\\varphi=\\theta/\\lambda`.

    If the model stores :math:`\\varphi` and computes with :math:`\\theta=\\lambda\\varphi`, then
    :math:`\\nabla_\\varphi L=\\lambda\\nabla_\\theta L` and

    * ``"sgd"`` (optionally with ``momentum``): :math:`\\Delta\\theta=\\lambda\\Delta\\varphi=-\\alpha\\lambda^2(\\dots)`:
      ``optax.sgd(learning_rate * lam**2, momentum)``;
    * ``"adam"``: :math:`\\Delta\\varphi=-\\alpha\\,\\lambda\\hat m/(\\lambda\\sqrt{\\hat v}+\\epsilon)`, so
      :math:`\\Delta\\theta=-\\alpha\\lambda\\,\\hat m/(\\sqrt{\\hat v}+\\epsilon/\\lambda)`:
      ``optax.adam(learning_rate * lam, b1, b2, eps / lam)``.

    Both are exact (in exact arithmetic): the two runs give the same :math:`\\theta` at every step.
    """
    checks.one_of(kind, "kind", ("sgd", "adam"))
    lr = checks.real(learning_rate, "learning_rate", positive=True)
    lam = checks.real(lam, "lam", positive=True)
    if kind == "sgd":
        if momentum is not None:
            momentum = checks.real(momentum, "momentum", lo=0.0, hi=1.0)
        return optax.sgd(lr * lam**2, momentum=momentum)
    b1 = checks.real(b1, "b1", lo=0.0, hi=1.0)
    b2 = checks.real(b2, "b2", lo=0.0, hi=1.0)
    eps = checks.real(eps, "eps", nonnegative=True)
    return optax.adam(lr * lam, b1=b1, b2=b2, eps=eps / lam)


def labels_by_path(params: PyTree, rules: Sequence[tuple[str, str]], default: str) -> PyTree:
    """A pytree of labels (for ``optax.partition``): the first rule ``(regex, label)`` whose regex is found
    in a leaf's path (``jax.tree_util.keystr``, e.g. ``"['w1']"``) gives its label, else ``default``."""
    if not isinstance(default, str):
        raise TypeError(f"default: expected a str label, got {type(default).__name__}")
    if isinstance(rules, (str, bytes)) or not all(
            isinstance(r, tuple) and len(r) == 2 and all(isinstance(s, str) for s in r) for r in rules):
        raise TypeError("rules: expected a sequence of (regex, label) string pairs")
    compiled = []
    for pattern, label in rules:
        try:
            compiled.append((re.compile(pattern), label))
        except re.error as exc:
            raise ValueError(f"rules: bad regex {pattern!r}: {exc}") from exc

    def label_of(path: Any, _leaf: Any) -> str:
        where = jax.tree_util.keystr(path)
        return next((label for rx, label in compiled if rx.search(where)), default)

    return jax.tree_util.tree_map_with_path(label_of, params)


class ClipL1State(NamedTuple):
    """``clip_by_l1_norm`` keeps no state."""


def clip_by_l1_norm(max_norm: float) -> optax.GradientTransformation:
    """Gradient surgery leaf by leaf: :math:`g\\leftarrow g\\,\\min(1, c/\\|g\\|_1)` with :math:`c` = ``max_norm``.

    Every leaf of the returned updates has :math:`\\|g\\|_1\\le c`; leaves already within it pass unchanged,
    and no leaf changes direction.  An ``optax.GradientTransformation`` (chain it before an optimizer).
    """
    c = checks.real(max_norm, "max_norm", positive=True)

    def init(params: PyTree) -> ClipL1State:
        del params
        return ClipL1State()

    def update(updates: PyTree, state: ClipL1State, params: PyTree = None) -> tuple[PyTree, ClipL1State]:
        del params

        def clip(g: jax.Array) -> jax.Array:
            norm = jnp.sum(jnp.abs(g))
            return g * jnp.minimum(1.0, c / jnp.maximum(norm, jnp.finfo(jnp.result_type(g)).tiny))

        return jax.tree.map(clip, updates), state

    return optax.GradientTransformation(init, update)


class GlobalRMSState(NamedTuple):
    """The running mean :math:`G` of the squared global gradient norm."""

    nu: jax.Array


def scale_by_global_rms(decay: float = 0.9, eps: float = 0.0) -> optax.GradientTransformation:
    """RMSprop's normalisation with a *scalar* statistic (the "global norm" generalisation):

    .. math::

        G_{n+1}=\\lambda G_n+(1-\\lambda)\\|g\\|^2,\\qquad g\\leftarrow g/\\sqrt{G_{n+1}+\\epsilon},

    with :math:`\\|g\\|^2` summed over every leaf and :math:`G_0=0`.  Chain it with ``optax.sgd(lr)`` (or
    ``optax.scale(-lr)``); ``optax.scale_by_rms`` is the per-coordinate version.
    """
    lam = _decay(decay)
    eps = checks.real(eps, "eps", nonnegative=True)

    def init(params: PyTree) -> GlobalRMSState:
        leaves = jax.tree.leaves(params)
        dtype = jnp.result_type(*leaves) if leaves else jnp.result_type(float)
        return GlobalRMSState(jnp.zeros((), dtype))

    def update(updates: PyTree, state: GlobalRMSState, params: PyTree = None) -> tuple[PyTree, GlobalRMSState]:
        del params
        sq = sum(jnp.sum(jnp.square(g)) for g in jax.tree.leaves(updates))
        nu = lam * state.nu + (1 - lam) * sq
        return jax.tree.map(lambda g: g / jnp.sqrt(nu + eps).astype(jnp.result_type(g)), updates), GlobalRMSState(nu)

    return optax.GradientTransformation(init, update)


# --------------------------------------------------------------------------------- averaging the parameters
def _decay(beta: Any) -> float:
    beta = checks.real(beta, "decay")
    if not 0 <= beta < 1:
        raise ValueError(f"decay: must lie in [0, 1), got {beta}")
    return beta


def ema_update(ema: PyTree, params: PyTree, decay: float) -> PyTree:
    """One step of the parameter average, :math:`m_t=\\beta m_{t-1}+(1-\\beta)\\theta_t` leaf by leaf."""
    beta = _decay(decay)
    if jax.tree.structure(ema) != jax.tree.structure(params):
        raise ValueError("ema, params: the two pytrees differ in structure")
    return jax.tree.map(lambda m, p: beta * m + (1 - beta) * p, ema, params)


def ema_debiased(ema: PyTree, count: Any, decay: float) -> PyTree:
    """The bias-corrected average :math:`\\hat m_t=m_t/(1-\\beta^t)` of an average started at :math:`m_0=0`
    after ``count`` = :math:`t\\ge1` updates (Adam's correction: a constant path is returned exactly)."""
    beta = _decay(decay)
    corr = -jnp.expm1(jnp.asarray(count) * jnp.log1p(-(1 - beta))) if beta > 0 else jnp.asarray(1.0)
    return jax.tree.map(lambda m: m / corr.astype(jnp.result_type(m)), ema)


class EMAState(NamedTuple):
    """A wrapped train state with its parameter average: ``ema`` (:math:`m_t`, started at 0) after ``count``
    steps."""

    state: PyTree
    ema: PyTree
    count: jax.Array


def with_param_ema(step: Step, decay: float, params: Callable[[PyTree], PyTree] = lambda s: s.params
                   ) -> tuple[Callable[[PyTree], EMAState], Step]:
    """``(init, step')``: ``init(state)`` wraps a train state, ``step'`` runs ``step`` and then updates the
    parameter average :math:`m_t=\\beta m_{t-1}+(1-\\beta)\\theta_t` of ``params(state)`` (default
    ``state.params``).

    The inner trajectory is exactly that of ``step`` (the average is only read off it, unlike ``optax.ema``,
    which averages the *updates* and so changes the trajectory); read the average with
    ``ema_debiased(s.ema, s.count, decay)``.
    """
    checks.callable_(step, "step")
    checks.callable_(params, "params")
    beta = _decay(decay)

    def init(state: PyTree) -> EMAState:
        return EMAState(state, jax.tree.map(jnp.zeros_like, params(state)), jnp.zeros((), jnp.int32))

    def wrapped(s: EMAState, key: jax.Array) -> tuple[EMAState, dict]:
        if not isinstance(s, EMAState):
            raise TypeError(f"state: expected an EMAState (from init), got {type(s).__name__}")
        inner, metrics = step(s.state, key)
        return EMAState(inner, ema_update(s.ema, params(inner), beta), s.count + 1), metrics

    return init, wrapped


# ------------------------------------------------------------------------------- weight-scale shift (WEISSI)
Layers = Sequence[tuple[jax.Array, jax.Array | None]]


def _layers(layers: Any, name: str = "layers") -> list[tuple[jax.Array, jax.Array | None]]:
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or not layers:
        raise TypeError(f"{name}: expected a non-empty list of (W, b) pairs")
    out = []
    for i, layer in enumerate(layers):
        if not (isinstance(layer, (tuple, list)) and len(layer) == 2):
            raise TypeError(f"{name}[{i}]: expected a (W, b) pair (b may be None)")
        w, b = layer
        if not checks.is_traced(w):
            checks.array(w, f"{name}[{i}] W", ndim=2, kinds="f")
        if b is not None and not checks.is_traced(b):
            checks.array(b, f"{name}[{i}] b", shape=(jnp.shape(w)[0],), kinds="f")
        out.append((jnp.asarray(w), None if b is None else jnp.asarray(b)))
    for i in range(1, len(out)):
        if out[i][0].shape[1] != out[i - 1][0].shape[0]:
            raise ValueError(f"{name}[{i}] W: expects {out[i][0].shape[1]} inputs, layer {i - 1} gives "
                             f"{out[i - 1][0].shape[0]}")
    return out


def relu_mlp(layers: Layers, x: jax.Array) -> jax.Array:
    """:math:`h_l=\\mathrm{relu}(W_lh_{l-1}+b_l)` for :math:`l<L`, output :math:`W_Lh_{L-1}+b_L`; ``x`` has
    shape ``(n, d_in)`` (rows are samples) and ``W_l`` shape ``(d_out, d_in)``."""
    h = x
    ls = _layers(layers)
    for i, (w, b) in enumerate(ls):
        h = h @ w.T + (0 if b is None else b)
        if i < len(ls) - 1:
            h = jax.nn.relu(h)
    return h


def rescale_relu_net(layers: Layers, gammas: Sequence[float], *, cumulative_bias: bool = True
                     ) -> list[tuple[jax.Array, jax.Array | None]]:
    """The weight-scale shift :math:`W_l\\to\\gamma_lW_l` with biases scaled by
    :math:`\\gamma_1\\cdots\\gamma_l` (``cumulative_bias=True``, which keeps the function when
    :math:`\\prod\\gamma_l=1`, by positive homogeneity of ReLU) or by :math:`\\gamma_l` alone (the rule
    written in the WEISSI article, exact only for bias-free networks)."""
    ls = _layers(layers)
    g = checks.array(gammas, "gammas", ndim=1, shape=(len(ls),), kinds="iuf")
    if np.any(g <= 0):
        raise ValueError(f"gammas: must all be > 0 (ReLU is positively homogeneous only), got {g.tolist()}")
    checks.flag(cumulative_bias, "cumulative_bias")
    out, prod = [], 1.0
    for (w, b), gl in zip(ls, g.tolist()):
        prod *= gl
        scale_b = prod if cumulative_bias else gl
        out.append((gl * w, None if b is None else scale_b * b))
    return out


def l2_reg(layers: Layers) -> jax.Array:
    """:math:`\\sum_l\\|W_l\\|_F^2` (weights only)."""
    return sum(jnp.sum(w**2) for w, _ in _layers(layers))


def weissi_reg(layers: Layers, lam1: float = 1.0, lam2: float = 0.0) -> jax.Array:
    """The WEISSI regulariser :math:`\\lambda_1\\sum_l\\log\\|W_l\\|_F+\\lambda_2\\sum_l\\|W_l/\\|W_l\\|_F\\|_1`.

    Its first term changes by :math:`\\lambda_1\\sum_l\\log\\gamma_l=0` under a scale shift with
    :math:`\\prod\\gamma_l=1`, and the second not at all: it is constant along the shift's orbits.
    """
    lam1 = checks.real(lam1, "lam1", nonnegative=True)
    lam2 = checks.real(lam2, "lam2", nonnegative=True)
    ws = [w for w, _ in _layers(layers)]
    norms = [jnp.sqrt(jnp.sum(w**2)) for w in ws]
    return lam1 * sum(jnp.log(n) for n in norms) + lam2 * sum(jnp.sum(jnp.abs(w)) / n for w, n in zip(ws, norms))
