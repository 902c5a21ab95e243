"""Reparameterization and gradient estimators for ``L(θ) = E_{z ~ p_θ}[f(z)]`` (chapter 3).

Samplers (the randomness lives in parameter-free noise, the parameters enter through a map):

* :func:`gaussian_reparam` -- ``z = μ + σ ε`` with ``ε ~ N(0, 1)``;
* :func:`gumbel_noise` -- standard Gumbel noise ``-log(-log u)``, ``u ~ U(tiny, 1)``: never ``log(0)``;
* :func:`gumbel_max` -- ``argmax_i (o_i + g_i)``: an *exact* sample of ``Categorical(softmax(o))``;
* :func:`gumbel_softmax` -- ``softmax((o + g) / τ)``: a differentiable, *biased* relaxation of the one-hot
  sample (with ``hard=True`` the straight-through version: one-hot forward, relaxed gradient backward).

Per-sample gradient estimators of ``∇_θ L`` (average them for the estimate, take their variance to compare):

* :func:`score_function_grad` -- ``(f(z) - b) ∇_θ log p_θ(z)`` with ``z ~ p_θ`` (REINFORCE; ``f`` may be a
  black box, ``b`` a constant baseline);
* :func:`reparam_grad` -- ``∇_θ f(g_θ(ε))`` with ``ε ~ q`` (needs ``f`` and ``g`` differentiable).

Arguments are validated eagerly: ``τ <= 0``, non-finite logits or parameters and mismatched shapes raise
``ValueError`` naming the argument, wrong types ``TypeError``.  Inside ``jax.jit`` (traced values) only
shapes can be checked.  Precision follows the inputs: enable ``jax_enable_x64`` for float64.
"""

from __future__ import annotations

import operator
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp

__all__ = [
    "gaussian_reparam",
    "gumbel_max",
    "gumbel_noise",
    "gumbel_softmax",
    "reparam_grad",
    "score_function_grad",
]


# -- validation ---------------------------------------------------------------------------------------
def _concrete(x: Any) -> bool:
    return not isinstance(x, jax.core.Tracer)


def _float_array(x: Any, name: str) -> jax.Array:
    """``x`` as a floating JAX array (integers are promoted); non-finite concrete values raise ValueError."""
    try:
        a = jnp.asarray(x)
    except TypeError as exc:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}: {exc}") from None
    if a.dtype == jnp.bool_ or not jnp.issubdtype(a.dtype, jnp.number) or jnp.issubdtype(a.dtype, jnp.complexfloating):
        raise TypeError(f"{name} must be real, got dtype {a.dtype}")
    if not jnp.issubdtype(a.dtype, jnp.floating):
        a = a.astype(jnp.result_type(float))
    if _concrete(a) and not bool(jnp.all(jnp.isfinite(a))):
        raise ValueError(f"{name} has non-finite entries")
    return a


def _logits(logits: Any) -> jax.Array:
    o = _float_array(logits, "logits")
    if o.ndim == 0 or o.shape[-1] == 0:
        raise ValueError(f"logits must have a non-empty last axis (the categories), got shape {o.shape}")
    return o


def _shape(shape: Any, name: str = "shape") -> tuple[int, ...]:
    try:
        out = tuple(operator.index(d) for d in shape)
    except TypeError:
        raise TypeError(f"{name} must be a tuple of integers, got {shape!r}") from None
    if any(d < 0 for d in out):
        raise ValueError(f"{name} must have non-negative entries, got {out}")
    return out


def _check_callable(fn: Any, name: str) -> None:
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")


# -- samplers -----------------------------------------------------------------------------------------
def gaussian_reparam(key: jax.Array, mu: Any, sigma: Any, shape: Sequence[int] = ()) -> jax.Array:
    """Sample ``z ~ N(μ, σ²)`` as ``z = μ + σ ε`` with ``ε ~ N(0, 1)``, differentiable in ``μ`` and ``σ``.

    ``E_{N(μ,σ²)}[f(z)] = E_{N(0,1)}[f(μ + σε)]`` is the change of variables ``z = μ + σε``,
    ``dz = σ dε``; gradients of a Monte-Carlo average of ``f(z)`` then flow into ``μ`` and ``σ``.

    Args:
        key: a PRNG key.
        mu, sigma: mean and standard deviation (scalars or arrays that broadcast together), finite,
            ``σ > 0``.
        shape: leading sample shape; the result has shape ``shape + broadcast(μ, σ).shape``.
    """
    m, s = _float_array(mu, "mu"), _float_array(sigma, "sigma")
    try:
        batch = jnp.broadcast_shapes(m.shape, s.shape)
    except ValueError:
        raise ValueError(f"mu and sigma must broadcast together, got shapes {m.shape} and {s.shape}") from None
    if _concrete(s) and not bool(jnp.all(s > 0)):
        raise ValueError("sigma must be > 0")
    dtype = jnp.result_type(m, s)
    eps = jax.random.normal(key, _shape(shape) + batch, dtype)
    return m + s * eps


def gumbel_noise(key: jax.Array, shape: Sequence[int] = (), dtype: Any = float) -> jax.Array:
    """Standard Gumbel noise ``g = -log(-log u)``, ``u ~ U[tiny, 1)``, with density ``exp(-(g + e^{-g}))``.

    ``u`` never reaches 0 (``log 0``) nor 1 (``log(-log 1) = log 0``): it is drawn from ``[tiny, 1)`` with
    ``tiny`` the smallest normal float of ``dtype``, so every draw is finite (between about ``-6.6`` and
    ``37`` in float64).  Same draws as ``jax.random.gumbel(key, shape, dtype, mode="low")``.
    """
    dt = jnp.dtype(jnp.result_type(dtype))
    if not jnp.issubdtype(dt, jnp.floating):
        raise TypeError(f"dtype must be a floating dtype, got {dt}")
    u = jax.random.uniform(key, _shape(shape), dt, minval=jnp.finfo(dt).tiny, maxval=1.0)
    return -jnp.log(-jnp.log(u))


def gumbel_max(key: jax.Array, logits: Any, shape: Sequence[int] = ()) -> jax.Array:
    """Exact categorical samples by the Gumbel-Max trick: ``argmax_i (o_i + g_i)``, ``g_i`` i.i.d. Gumbel.

    ``P(argmax = i) = softmax(o)_i``; logits may be shifted by any constant (``o_i = log p_i + c``).

    Args:
        key: a PRNG key.
        logits: array ``(..., k)``, finite; the last axis indexes the ``k`` categories.
        shape: leading sample shape.

    Returns:
        Integer indices of shape ``shape + logits.shape[:-1]``.
    """
    o = _logits(logits)
    g = gumbel_noise(key, _shape(shape) + o.shape, o.dtype)
    return jnp.argmax(o + g, axis=-1)


def gumbel_softmax(key: jax.Array, logits: Any, tau: Any, hard: bool = False) -> jax.Array:
    """A Gumbel-Softmax (Concrete) sample ``softmax((o + g) / τ)`` on the simplex, differentiable in ``o``.

    Its argmax is the Gumbel-Max sample drawn with the same noise, and as ``τ → 0`` it tends to that
    one-hot vector; for every ``τ > 0`` it is *not* a categorical sample (``E[y] ≠ softmax(o)``).

    Args:
        key: a PRNG key (one sample per call; broadcast ``logits`` to ``(n, k)`` for ``n`` samples).
        logits: array ``(..., k)``, finite.
        tau: temperature, a scalar ``> 0`` (may be traced, e.g. annealed inside ``jit``).
        hard: straight-through estimator: return the one-hot ``onehot(argmax)`` in the forward pass while
            gradients are those of the relaxed sample (``onehot + y - stop_gradient(y)``).

    Returns:
        An array of ``logits``' shape and dtype whose last axis sums to 1.
    """
    o = _logits(logits)
    t = _float_array(tau, "tau")
    if t.ndim != 0:
        raise ValueError(f"tau must be a scalar, got shape {t.shape}")
    if _concrete(t) and not float(t) > 0:
        raise ValueError(f"tau must be > 0, got {float(t)}")
    if not isinstance(hard, bool):
        raise TypeError(f"hard must be a bool, got {type(hard).__name__}")
    y = jax.nn.softmax((o + gumbel_noise(key, o.shape, o.dtype)) / t.astype(o.dtype), axis=-1)
    if not hard:
        return y
    one_hot = jax.nn.one_hot(jnp.argmax(y, axis=-1), o.shape[-1], dtype=o.dtype)
    return one_hot + (y - jax.lax.stop_gradient(y))


# -- gradient estimators ------------------------------------------------------------------------------
def _scalar_out(fn: Callable[..., Any], args: tuple, name: str) -> None:
    out = jax.eval_shape(fn, *args)
    if not (hasattr(out, "shape") and out.shape == ()):
        raise ValueError(f"{name} must return a scalar per sample, got {getattr(out, 'shape', type(out).__name__)}")


def _samples(x: Any, name: str) -> int:
    leaves = jax.tree_util.tree_leaves(x)
    if not leaves or any(jnp.ndim(leaf) == 0 for leaf in leaves):
        raise ValueError(f"{name} must carry a leading sample axis")
    sizes = {jnp.shape(leaf)[0] for leaf in leaves}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(f"{name} must have one non-empty leading sample axis, got sizes {sorted(sizes)}")
    return sizes.pop()


def score_function_grad(
    f: Callable[[Any], Any],
    log_prob: Callable[[Any, Any], Any],
    theta: Any,
    z: Any,
    *,
    baseline: Any = 0.0,
) -> Any:
    """Per-sample score-function (REINFORCE) estimates ``(f(z_i) - b) ∇_θ log p_θ(z_i)``.

    From ``∇_θ ∫ p_θ f = ∫ p_θ f ∇_θ log p_θ`` (and ``E[∇_θ log p_θ] = 0``), the mean of the returned
    estimates is unbiased for ``∇_θ E_{p_θ}[f]`` for every constant baseline ``b``, when the ``z_i`` are
    drawn from ``p_θ`` at the same ``θ``.  Only ``log p_θ`` needs to be differentiable in ``θ``;
    ``f`` may be discontinuous or a black box (it is not differentiated).

    Args:
        f: ``z_i -> scalar`` (one sample in, one number out).
        log_prob: ``(θ, z_i) -> log p_θ(z_i)``, a scalar, differentiable in ``θ``.
        theta: the parameters (an array or a pytree of arrays).
        z: samples from ``p_θ`` stacked along a leading axis of length ``n`` (array or pytree).
        baseline: a constant ``b`` (scalar), independent of the samples.

    Returns:
        A pytree like ``theta`` whose leaves have a leading axis ``n``: one estimate per sample.
    """
    _check_callable(f, "f")
    _check_callable(log_prob, "log_prob")
    _samples(z, "z")
    b = _float_array(baseline, "baseline")
    if b.ndim != 0:
        raise ValueError(f"baseline must be a scalar, got shape {b.shape}")
    one = jax.tree_util.tree_map(lambda leaf: leaf[0], z)
    _scalar_out(f, (one,), "f")
    _scalar_out(log_prob, (theta, one), "log_prob")

    def estimate(zi: Any) -> Any:
        weight = jax.lax.stop_gradient(f(zi)) - b
        score = jax.grad(log_prob)(theta, zi)
        return jax.tree_util.tree_map(lambda s: weight * s, score)

    return jax.vmap(estimate)(z)


def reparam_grad(f: Callable[[Any], Any], g: Callable[[Any, Any], Any], theta: Any, eps: Any) -> Any:
    """Per-sample reparameterization (pathwise) estimates ``∇_θ f(g_θ(ε_i))``.

    If ``z = g_θ(ε)`` with ``ε ~ q`` free of ``θ`` has law ``p_θ``, then ``E_{p_θ}[f] = E_q[f(g_θ(ε))]`` and,
    when ``f`` and ``g`` are differentiable (and differentiation and expectation may be swapped),
    ``∇_θ E_{p_θ}[f] = E_q[∂f/∂z · ∂g_θ(ε)/∂θ]``: the mean of the returned estimates is unbiased.  A
    ``g`` that is only a relaxation (Gumbel-Softmax) gives the gradient of the relaxed objective: biased.

    Args:
        f: ``z -> scalar``, differentiable.
        g: ``(θ, ε_i) -> z``, differentiable in ``θ``; ``ε_i`` may be noise or a PRNG key.
        theta: the parameters (an array or a pytree of arrays).
        eps: noise stacked along a leading axis of length ``n`` (e.g. ``jax.random.split(key, n)``).

    Returns:
        A pytree like ``theta`` whose leaves have a leading axis ``n``: one estimate per sample.
    """
    _check_callable(f, "f")
    _check_callable(g, "g")
    _samples(eps, "eps")
    one = jax.tree_util.tree_map(lambda leaf: leaf[0], eps)
    _scalar_out(lambda th, e: f(g(th, e)), (theta, one), "f(g(theta, eps))")
    return jax.vmap(jax.grad(lambda th, e: f(g(th, e))), in_axes=(None, 0))(theta, eps)
