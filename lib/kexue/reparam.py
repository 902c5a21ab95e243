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

Inside a model's loss (a discrete VAE), where the estimator is the gradient of a surrogate:

* :func:`score_function_surrogate` -- ``stop_gradient(f(z) - b) · log p_θ(z)``, whose gradient is the
  score-function estimate;
* :func:`categorical_kl_uniform` -- ``KL(softmax(o) ‖ Uniform{1..k})``, the KL term of a categorical latent;
* :func:`gradient_stats` -- variance, squared bias and largest z-score of stacked gradient estimates against
  the exact gradient.

Arguments are validated eagerly through :mod:`kexue.checks`: wrong types raise ``TypeError``, wrong values
(``τ <= 0``, NaN/inf or empty logits, parameters or samples, mismatched shapes, a result that overflows) raise
``ValueError``; both messages start with the argument's name.  Inside ``jax.jit`` (traced values) only shapes
and dtypes can be checked.  Precision follows the inputs: enable ``jax_enable_x64`` for float64.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from kexue import checks

__all__ = [
    "categorical_kl_uniform",
    "gaussian_reparam",
    "gradient_stats",
    "gumbel_max",
    "gumbel_noise",
    "gumbel_softmax",
    "reparam_grad",
    "score_function_grad",
    "score_function_surrogate",
]


# -- validation (host side; values traced by jit/vmap/grad are checked for shape and dtype only) ----------
def _floating(x: Any, name: str) -> jax.Array:
    """``x`` as a real floating JAX array (integers promoted to the default float), at least one value, no NaN/inf."""
    checks.array(x, name, kinds="iuf")  # bfloat16/float8 count as floats
    a = jnp.asarray(x)
    return a if jnp.issubdtype(a.dtype, jnp.floating) else a.astype(jnp.result_type(float))


def _logits(logits: Any) -> jax.Array:
    o = _floating(logits, "logits")
    if o.ndim == 0:
        raise ValueError("logits: expected an array (..., k) whose last axis indexes the categories, got a scalar")
    return o


def _shape(shape: Any, name: str = "shape") -> tuple[int, ...]:
    """A sample shape: a sequence of ints >= 0 (bools and floats refused)."""
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"{name}: expected a tuple of ints, got {type(shape).__name__} {shape!r}")
    return tuple(checks.count(d, f"{name}[{i}]", minimum=0) for i, d in enumerate(shape))


def _tree(x: Any, name: str, *, kinds: str) -> list[tuple[str, Any]]:
    """The leaves of a pytree with their paths; each an array of dtype ``kinds`` (or PRNG keys) with no NaN/inf
    (when concrete)."""
    leaves = jax.tree_util.tree_flatten_with_path(x)[0]
    if not leaves:
        exc = TypeError if x is None else ValueError
        raise exc(f"{name}: expected an array or a pytree of arrays, got {type(x).__name__} {x!r} (no leaves)")
    out = []
    for path, leaf in leaves:
        where = f"{name}{jax.tree_util.keystr(path)}"
        dtype = getattr(leaf, "dtype", None)
        if dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key):
            out.append((where, leaf))  # PRNG keys (e.g. eps = jax.random.split(key, n)) are valid noise
            continue
        checks.array(leaf, where, kinds=kinds, min_size=0)
        out.append((where, leaf))
    return out


def _samples(x: Any, name: str) -> int:
    """The common length ``n >= 1`` of the leading sample axis of every leaf of ``x``."""
    leaves = _tree(x, name, kinds="biuf")
    for where, leaf in leaves:
        if jnp.ndim(leaf) == 0:
            raise ValueError(f"{where}: must carry a leading sample axis (stack the samples in an array; a Python "
                             f"list is a pytree of scalars), got a scalar")
    sizes = {jnp.shape(leaf)[0] for _, leaf in leaves}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(f"{name}: must have one non-empty leading sample axis, got sizes {sorted(sizes)}")
    return sizes.pop()


def _parameters(theta: Any) -> None:
    """θ: a pytree of real floating arrays (``jax.grad`` differentiates with respect to it), finite when concrete."""
    _tree(theta, "theta", kinds="f")


def _baseline(b: Any) -> Any:
    """A real scalar; a traced one (e.g. a learned baseline inside ``jit``) is checked for shape and dtype only."""
    if checks.is_traced(b):
        return checks.array(b, "baseline", ndim=0, kinds="iuf")
    return checks.real(b, "baseline")


def _scalar_out(fn: Callable[..., Any], args: tuple, name: str, *, integers: bool) -> None:
    """``fn(*args)`` (traced once, not run) must be one real scalar (floating; with ``integers`` also int or bool);
    JAX's own type errors get the name."""
    try:
        out = jax.eval_shape(fn, *args)
    except TypeError as exc:
        raise TypeError(f"{name}: cannot be evaluated on one sample: {exc}") from exc
    if not (hasattr(out, "shape") and out.shape == ()):
        raise ValueError(f"{name}: must return a scalar per sample, got "
                         f"{getattr(out, 'shape', type(out).__name__)}")
    dtype = out.dtype
    if not (jnp.issubdtype(dtype, jnp.floating) or integers and (jnp.issubdtype(dtype, jnp.integer) or dtype == bool)):
        raise TypeError(f"{name}: must return a real number, got dtype {dtype}")


def _finite_estimates(est: Any, culprit: str) -> Any:
    """Raise ValueError naming the first sample whose per-sample estimate holds NaN/inf (concrete results only)."""
    leaves = jax.tree_util.tree_flatten_with_path(est)[0]
    if any(checks.is_traced(leaf) for _, leaf in leaves):
        return est
    for path, leaf in leaves:
        bad = ~np.isfinite(np.asarray(leaf).reshape(leaf.shape[0], -1)).all(axis=1)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{culprit}: the estimate for sample {i} is not finite (leaf "
                             f"theta{jax.tree_util.keystr(path)}, {int(bad.sum())} of {bad.size} samples); "
                             f"the integrand or its gradient overflows or is NaN there")
    return est


# -- samplers -----------------------------------------------------------------------------------------
def gaussian_reparam(key: jax.Array, mu: Any, sigma: Any, shape: Sequence[int] = ()) -> jax.Array:
    """Sample ``z ~ N(μ, σ²)`` as ``z = μ + σ ε`` with ``ε ~ N(0, 1)``, differentiable in ``μ`` and ``σ``.

    ``E_{N(μ,σ²)}[f(z)] = E_{N(0,1)}[f(μ + σε)]`` is the change of variables ``z = μ + σε``,
    ``dz = σ dε``; gradients of a Monte-Carlo average of ``f(z)`` then flow into ``μ`` and ``σ``.

    Args:
        key: a PRNG key.
        mu, sigma: mean and standard deviation (scalars or non-empty arrays that broadcast together), finite,
            ``σ > 0``; integers are promoted to the default float.
        shape: leading sample shape (ints ``>= 0``); the result has shape ``shape + broadcast(μ, σ).shape``.

    Raises:
        TypeError: ``key`` is not a PRNG key, ``mu``/``sigma`` are not real arrays, ``shape`` is not ints.
        ValueError: NaN/inf or empty ``mu``/``sigma``, ``σ <= 0``, shapes that do not broadcast, a negative
            ``shape`` entry, or a sample ``μ + σ ε`` that overflows the dtype (concrete inputs only: traced values
            inside ``jit`` are checked for shape and dtype).
    """
    checks.prng_key(key)
    m, s = _floating(mu, "mu"), _floating(sigma, "sigma")
    try:
        batch = jnp.broadcast_shapes(m.shape, s.shape)
    except ValueError:
        raise ValueError(f"mu, sigma: must broadcast together, got shapes {m.shape} and {s.shape}") from None
    concrete = not (checks.is_traced(m) or checks.is_traced(s))
    if concrete and not bool(jnp.all(s > 0)):
        raise ValueError(f"sigma: must be > 0, got min {float(jnp.min(s))}")
    dtype = jnp.result_type(m, s)
    z = m + s * jax.random.normal(key, _shape(shape) + batch, dtype)
    if concrete and not bool(jnp.all(jnp.isfinite(z))):
        raise ValueError(f"mu, sigma: the sample μ + σ ε overflows {dtype} (max |μ| = {float(jnp.max(jnp.abs(m)))}, "
                         f"max σ = {float(jnp.max(s))})")
    return z


def gumbel_noise(key: jax.Array, shape: Sequence[int] = (), dtype: Any = float) -> jax.Array:
    """Standard Gumbel noise ``g = -log(-log u)``, ``u ~ U[tiny, 1)``, with density ``exp(-(g + e^{-g}))``.

    ``u`` never reaches 0 (``log 0``) nor 1 (``log(-log 1) = log 0``): it is drawn from ``[tiny, 1)`` with
    ``tiny`` the smallest normal float of ``dtype``, so every draw is finite (between about ``-6.6`` and
    ``37`` in float64).  Same draws as ``jax.random.gumbel(key, shape, dtype, mode="low")``.
    Raises TypeError for a bad ``key``, ``shape`` or a non-floating ``dtype``; ValueError for negative sizes.
    """
    checks.prng_key(key)
    try:
        dt = jnp.dtype(jnp.result_type(dtype))
    except TypeError as exc:
        raise TypeError(f"dtype: expected a floating dtype, got {dtype!r} ({exc})") from None
    if not jnp.issubdtype(dt, jnp.floating):
        raise TypeError(f"dtype: expected a floating dtype, got {dt}")
    u = jax.random.uniform(key, _shape(shape), dt, minval=jnp.finfo(dt).tiny, maxval=1.0)
    return -jnp.log(-jnp.log(u))


def _perturbed(key: jax.Array, o: jax.Array) -> jax.Array:
    """``(o - max o) + g`` along the last axis, ``g`` Gumbel noise: the Gumbel-Max argument, shifted.

    Subtracting ``max o`` first (shift invariance of softmax and argmax) keeps the noise's digits when the logits
    are large: in float32, ``o + g`` with ``|o| ~ 10^7`` rounds ``g`` to integers and biases the samples.
    """
    g = gumbel_noise(key, o.shape, o.dtype)
    return (o - jax.lax.stop_gradient(jnp.max(o, axis=-1, keepdims=True))) + g


def gumbel_max(key: jax.Array, logits: Any, shape: Sequence[int] = ()) -> jax.Array:
    """Exact categorical samples by the Gumbel-Max trick: ``argmax_i (o_i + g_i)``, ``g_i`` i.i.d. Gumbel.

    ``P(argmax = i) = softmax(o)_i``; logits may be shifted by any constant (``o_i = log p_i + c``).  Computed as
    ``argmax_i ((o_i - max_j o_j) + g_i)``, which keeps full precision for large logits.

    Args:
        key: a PRNG key.
        logits: array ``(..., k)``, finite, non-empty; the last axis indexes the ``k`` categories.
        shape: leading sample shape.

    Returns:
        Integer indices of shape ``shape + logits.shape[:-1]``.

    Raises:
        TypeError: bad ``key``, non-real ``logits``, ``shape`` not ints.
        ValueError: NaN/inf or empty logits, scalar logits, negative ``shape`` entries (values of traced logits
            are not checked).
    """
    checks.prng_key(key)
    o = _logits(logits)
    o = jnp.broadcast_to(o, _shape(shape) + o.shape)
    return jnp.argmax(_perturbed(key, o), axis=-1)


def gumbel_softmax(key: jax.Array, logits: Any, tau: Any, hard: bool = False) -> jax.Array:
    """A Gumbel-Softmax (Concrete) sample ``softmax((o + g) / τ)`` on the simplex, differentiable in ``o``.

    Its argmax is the Gumbel-Max sample drawn with the same noise, and as ``τ → 0`` it tends to that
    one-hot vector; for every ``τ > 0`` it is *not* a categorical sample (``E[y] ≠ softmax(o)``).
    Computed as ``softmax((x - max x) / τ)`` with ``x = (o - max o) + g``: the same vector, but ``x / τ``
    cannot overflow for small ``τ`` (float32 overflowed to NaN for ``|o + g| / τ > 3.4e38``).

    Args:
        key: a PRNG key (one sample per call; broadcast ``logits`` to ``(n, k)`` for ``n`` samples).
        logits: array ``(..., k)``, finite, non-empty.
        tau: temperature, a real scalar ``> 0`` and at least the smallest normal number of the logits' dtype
            (below it ``1/τ`` overflows and the gradient is NaN).  It may be traced (e.g. annealed inside
            ``jit``): a traced ``τ`` is checked for shape and dtype only, its value is the caller's to keep
            positive.
        hard: straight-through estimator: return the one-hot ``onehot(argmax)`` in the forward pass while
            gradients are those of the relaxed sample (``onehot + y - stop_gradient(y)``).

    Returns:
        An array of ``logits``' shape and dtype whose last axis sums to 1.

    Raises:
        TypeError: bad ``key``, non-real ``logits``/``tau``, non-bool ``hard``.
        ValueError: NaN/inf, empty or scalar logits; ``τ`` not a scalar, ``<= 0``, NaN/inf, or below the dtype's
            smallest normal number.
    """
    checks.prng_key(key)
    o = _logits(logits)
    if checks.is_traced(tau):
        t = checks.array(tau, "tau", ndim=0, kinds="iuf")
    else:
        t = checks.real(tau, "tau", positive=True)
        info = jnp.finfo(o.dtype)
        if t < float(info.tiny):
            raise ValueError(f"tau: must be >= {float(info.tiny):.3g}, the smallest normal {o.dtype} (the logits' "
                             f"dtype), got {t}")
        t = min(t, float(info.max))  # a larger τ gives the uniform vector to the dtype's precision
    checks.flag(hard, "hard")
    x = _perturbed(key, o)
    y = jax.nn.softmax((x - jax.lax.stop_gradient(jnp.max(x, axis=-1, keepdims=True))) / jnp.asarray(t, o.dtype),
                       axis=-1)
    if not hard:
        return y
    one_hot = jax.nn.one_hot(jnp.argmax(y, axis=-1), o.shape[-1], dtype=o.dtype)
    return one_hot + (y - jax.lax.stop_gradient(y))


# -- gradient estimators ------------------------------------------------------------------------------
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
        f: ``z_i -> scalar`` (one sample in, one real number out).
        log_prob: ``(θ, z_i) -> log p_θ(z_i)``, a real scalar, differentiable in ``θ``.
        theta: the parameters (a float array or a pytree of float arrays), finite.
        z: samples from ``p_θ`` stacked along a leading axis of length ``n >= 1`` (array or pytree), finite.
        baseline: a constant ``b`` (real scalar), independent of the samples.

    Returns:
        A pytree like ``theta`` whose leaves have a leading axis ``n``: one estimate per sample.

    Raises:
        TypeError: ``f``/``log_prob`` not callable or not returning real numbers, non-float ``theta``, a
            non-real ``baseline``.
        ValueError: NaN/inf in ``theta``, ``z`` or ``baseline``; ``z`` without a common non-empty sample axis;
            ``f``/``log_prob`` not returning one scalar per sample; an estimate that comes out NaN/inf (``f(z_i)``
            or ``∇ log p_θ(z_i)`` overflows).  Traced inputs (inside ``jit``) are checked for shape and dtype only.
    """
    checks.callable_(f, "f")
    checks.callable_(log_prob, "log_prob")
    _parameters(theta)
    _samples(z, "z")
    b = _baseline(baseline)
    one = jax.tree_util.tree_map(lambda leaf: leaf[0], z)
    _scalar_out(f, (one,), "f", integers=True)
    _scalar_out(log_prob, (theta, one), "log_prob", integers=False)

    def estimate(zi: Any) -> Any:
        weight = jax.lax.stop_gradient(f(zi)) - b
        score = jax.grad(log_prob)(theta, zi)
        return jax.tree_util.tree_map(lambda s: weight * s, score)

    return _finite_estimates(jax.vmap(estimate)(z), "f, log_prob")


def reparam_grad(f: Callable[[Any], Any], g: Callable[[Any, Any], Any], theta: Any, eps: Any) -> Any:
    """Per-sample reparameterization (pathwise) estimates ``∇_θ f(g_θ(ε_i))``.

    If ``z = g_θ(ε)`` with ``ε ~ q`` free of ``θ`` has law ``p_θ``, then ``E_{p_θ}[f] = E_q[f(g_θ(ε))]`` and,
    when ``f`` and ``g`` are differentiable (and differentiation and expectation may be swapped),
    ``∇_θ E_{p_θ}[f] = E_q[∂f/∂z · ∂g_θ(ε)/∂θ]``: the mean of the returned estimates is unbiased.  A
    ``g`` that is only a relaxation (Gumbel-Softmax) gives the gradient of the relaxed objective: biased.

    Args:
        f: ``z -> scalar``, differentiable.
        g: ``(θ, ε_i) -> z``, differentiable in ``θ``; ``ε_i`` may be noise or a PRNG key.
        theta: the parameters (a float array or a pytree of float arrays), finite.
        eps: noise stacked along a leading axis of length ``n >= 1`` (e.g. ``jax.random.split(key, n)``), finite.

    Returns:
        A pytree like ``theta`` whose leaves have a leading axis ``n``: one estimate per sample.

    Raises:
        TypeError: ``f``/``g`` not callable, ``f(g(θ, ε))`` not real, non-float ``theta``.
        ValueError: NaN/inf in ``theta`` or ``eps``; ``eps`` without a common non-empty sample axis; ``f(g(θ,
            ε_i))`` not a scalar; an estimate that comes out NaN/inf.  Traced inputs (inside ``jit``) are checked
            for shape and dtype only.
    """
    checks.callable_(f, "f")
    checks.callable_(g, "g")
    _parameters(theta)
    _samples(eps, "eps")
    one = jax.tree_util.tree_map(lambda leaf: leaf[0], eps)
    _scalar_out(lambda th, e: f(g(th, e)), (theta, one), "f(g(theta, eps))", integers=False)
    est = jax.vmap(jax.grad(lambda th, e: f(g(th, e))), in_axes=(None, 0))(theta, eps)
    return _finite_estimates(est, "f, g")


# -- estimators inside a loss ------------------------------------------------------------------------
def score_function_surrogate(f_value: Any, log_prob: Any, baseline: Any = 0.0) -> jax.Array:
    """The surrogate ``stop_gradient(f(z_i) - b_i) · log p_θ(z_i)``, elementwise, for samples ``z_i ~ p_θ``.

    Its gradient in ``θ`` is the score-function (REINFORCE) estimate ``(f(z_i) - b_i) ∇_θ log p_θ(z_i)``
    of :func:`score_function_grad`, so adding its mean to a loss lets ``jax.grad`` (and an optimizer) use that
    estimator for the part ``E_{p_θ}[f]`` of the loss; ``f(z_i)`` and ``b_i`` are constants to ``jax.grad``.
    The estimate is unbiased for every baseline ``b`` that does not depend on ``z_i`` (it may depend on
    anything else: the data point, a running mean of ``f``), because ``E[∇_θ log p_θ(z)] = 0``.  Its value is
    *not* the objective (the samples give ``f``'s estimate); only its gradient is meaningful.

    Args:
        f_value: ``f(z_i)`` per sample (a real array; gradients are stopped).
        log_prob: ``log p_θ(z_i)`` per sample, differentiable in ``θ``; broadcasts with ``f_value``.
        baseline: ``b`` (a real scalar or an array broadcasting with ``f_value``; gradients are stopped).

    Returns:
        The elementwise surrogate, of the broadcast shape of the three arguments.

    Raises:
        TypeError: a non-real argument.
        ValueError: NaN/inf (concrete values), empty arrays, or shapes that do not broadcast.
    """
    f = _floating(f_value, "f_value")
    lp = _floating(log_prob, "log_prob")
    b = _floating(baseline, "baseline")
    try:
        jnp.broadcast_shapes(f.shape, lp.shape, b.shape)
    except ValueError:
        raise ValueError(f"f_value, log_prob, baseline: must broadcast together, got shapes {f.shape}, {lp.shape} "
                         f"and {b.shape}") from None
    return jax.lax.stop_gradient(f - b) * lp


def categorical_kl_uniform(logits: Any) -> jax.Array:
    """``KL(softmax(o) ‖ Uniform{1..k}) = Σ_i p_i log p_i + log k`` along the last axis, in nats.

    The KL term of a ``k``-way categorical latent with a uniform prior: ``0`` exactly when ``p`` is uniform, at
    most ``log k`` (reached as ``p`` tends to a one-hot), and equal to ``log k - H(p)``.  Computed from
    ``log_softmax`` (stable for large logits; ``p_i log p_i → 0`` for vanishing ``p_i``).

    Args:
        logits: array ``(..., k)``, finite, non-empty; the last axis indexes the categories.

    Returns:
        An array of shape ``logits.shape[:-1]``.

    Raises:
        TypeError: non-real logits.
        ValueError: NaN/inf, empty or scalar logits (values of traced logits are not checked).
    """
    o = _logits(logits)
    log_p = jax.nn.log_softmax(o, axis=-1)
    return jnp.sum(jnp.exp(log_p) * log_p, axis=-1) + jnp.log(o.shape[-1]).astype(o.dtype)


def gradient_stats(estimates: Any, exact: Any) -> dict[str, float]:
    """Statistics of ``n`` independent gradient estimates ``g_1..g_n`` (rows) against the exact gradient ``∇``.

    * ``var`` -- the total variance of one estimate, ``tr Cov(g) = Σ_j Var(g_j)`` (sample variances, ``ddof=1``);
    * ``var_se`` -- its standard error, from the spread of ``‖g_i - ḡ‖²``;
    * ``bias2`` -- the squared bias ``‖E g - ∇‖²``, estimated without the noise of the mean:
      ``‖ḡ - ∇‖² - var / n`` (unbiased for it; it can come out negative when the bias is below the noise);
    * ``z`` -- the largest ``|ḡ_j - ∇_j| / SE_j`` over the components whose estimates vary;
      components that never vary are compared exactly and count as ``inf`` if they differ.  For an unbiased
      estimator ``z`` exceeds 5 with probability below ``d · 6e-7`` for ``d`` components (normal approximation).

    Args:
        estimates: array ``(n, d)`` (or ``(n,)`` for one component), ``n >= 2``, finite.
        exact: array of shape ``(d,)`` (or a scalar), finite.

    Returns:
        ``{"var", "var_se", "bias2", "z"}`` as floats.

    Raises:
        TypeError: non-real arrays.  ValueError: NaN/inf, fewer than two estimates, mismatched shapes.
    """
    g = checks.array(estimates, "estimates", ndim=(1, 2), kinds="iuf", min_size=2).astype(float)
    g = g.reshape(g.shape[0], -1)
    if g.shape[0] < 2:
        raise ValueError(f"estimates: need at least 2 estimates (rows), got {g.shape[0]}")
    e = checks.array(exact, "exact", ndim=(0, 1), kinds="iuf").astype(float).reshape(-1)
    if e.size != g.shape[1]:
        raise ValueError(f"exact: expected {g.shape[1]} components (the columns of estimates), got {e.size}")
    n = g.shape[0]
    mean = g.mean(0)
    sq = np.sum((g - mean) ** 2, axis=1) * n / (n - 1)
    var = float(sq.mean())
    varies = np.any(g != g[0], axis=0)  # a constant column is compared exactly (its mean may round)
    se = g.std(0, ddof=1) / np.sqrt(n)
    diff = np.abs(np.where(varies, mean, g[0]) - e)
    z = np.where(varies, diff / np.where(varies, se, 1.0), np.where(diff > 0, np.inf, 0.0))
    return {"var": var, "var_se": float(sq.std(ddof=1) / np.sqrt(n)), "bias2": float(np.sum((mean - e) ** 2) - var / n),
            "z": float(z.max())}
