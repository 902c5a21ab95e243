"""Losses that know better: flooding and logit adjustment, with the data makers they are tested on (chapter 11).

Flooding (Ishida et al. 2020; kexue.fm/archives/7643):

* :func:`flooding` -- the flooded loss :math:`\\tilde L=|L-b|+b`, whose gradient is
  :math:`\\operatorname{sign}(L-b)\\,\\nabla L`: descent above the flood level :math:`b`, ascent below it;
* :func:`two_step` -- one descent step of size :math:`\\varepsilon_1` and one ascent step of size
  :math:`\\varepsilon_2` (in either order), the map that flooding applies once the loss sits at :math:`b`;
* :func:`penalized_step` -- the single step that the article says it equals,
  :math:`\\theta-(\\varepsilon_1-\\varepsilon_2)\\nabla L-\\tfrac{\\varepsilon_1\\varepsilon_2}{2}\\nabla\\|\\nabla L\\|^2`;
* :func:`grad_norm_sq` -- the gradient penalty :math:`\\theta\\mapsto\\|\\nabla L(\\theta)\\|^2`.

Logit adjustment for long-tailed classes (Menon et al. 2021; kexue.fm/archives/7615):

* :func:`logit_adjusted_loss` -- cross-entropy of :math:`\\operatorname{softmax}(f+\\tau\\log p)`;
* :func:`posthoc_adjust` -- the logits :math:`f-\\tau\\log p` of a model trained without adjustment;
* :func:`per_class_accuracy`, :func:`balanced_accuracy` -- recall of each class and their plain mean.

Data makers (NumPy, driven by a ``numpy.random.Generator`` such as ``kexue.seed.rng(name)``):

* :func:`long_tail_counts`, :func:`long_tail_indices` -- an exponential long tail
  :math:`n_k=\\lfloor n_{\\max}\\rho^{-k/(K-1)}\\rfloor`;
* :func:`symmetric_label_noise` -- each label replaced, with probability ``rate``, by a uniformly drawn
  *different* class.

Bad arguments raise ``TypeError`` (wrong type) or ``ValueError`` (wrong value), naming the argument
(through :mod:`kexue.checks`). Scalars such as ``b`` and ``tau`` may be traced (``jax.vmap`` over them);
they are checked when they are concrete.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from kexue import checks

__all__ = [
    "balanced_accuracy",
    "flooding",
    "grad_norm_sq",
    "logit_adjusted_loss",
    "long_tail_counts",
    "long_tail_indices",
    "penalized_step",
    "per_class_accuracy",
    "posthoc_adjust",
    "symmetric_label_noise",
    "two_step",
]

PyTree = Any


def _scalar(x: Any, name: str, **bounds: Any) -> Any:
    """A real scalar, checked with ``checks.real`` unless it is traced (then only its shape is checked)."""
    if checks.is_traced(x):
        if jnp.ndim(x) != 0:
            raise ValueError(f"{name}: must be a scalar, got shape {jnp.shape(x)}")
        return x
    return checks.real(x, name, **bounds)


def _float_array(x: Any, name: str, **kw: Any) -> Any:
    arr = checks.array(x, name, kinds="f", **kw)
    return arr if checks.is_traced(arr) else jnp.asarray(arr)


# ------------------------------------------------------------------------------------------- flooding
def flooding(loss: Any, b: Any) -> jax.Array:
    """The flooded loss :math:`\\tilde L = |L - b| + b` (Ishida et al. 2020).

    Equal to :math:`L` above the flood level :math:`b\\ge 0`, and to :math:`2b-L` below it, so its
    gradient :math:`\\operatorname{sign}(L-b)\\,\\nabla L` descends above :math:`b` and ascends below.
    ``loss`` is a real array (usually a scalar mini-batch loss); ``b`` a scalar :math:`\\ge 0`.
    """
    loss = _float_array(loss, "loss", min_size=1)
    b = _scalar(b, "b", nonnegative=True)
    return jnp.abs(loss - b) + b


def _tree_axpy(a: Any, x: PyTree, y: PyTree) -> PyTree:
    return jax.tree.map(lambda u, v: v + a * u, x, y)


def two_step(grad_fn: Callable[[PyTree], PyTree], theta: PyTree, e1: Any, e2: Any, *,
             descent_first: bool = True) -> PyTree:
    """One descent step of size ``e1`` and one ascent step of size ``e2`` on :math:`L` with gradient ``grad_fn``.

    With ``descent_first`` (the default), :math:`\\theta'=\\theta-\\varepsilon_1 g(\\theta)`, then
    :math:`\\theta''=\\theta'+\\varepsilon_2 g(\\theta')`; otherwise the ascent comes first. For a quadratic
    :math:`L` both orders equal :func:`penalized_step` exactly; in general they agree to
    :math:`O(\\varepsilon^3)`.
    """
    checks.callable_(grad_fn, "grad_fn")
    e1 = _scalar(e1, "e1", nonnegative=True)
    e2 = _scalar(e2, "e2", nonnegative=True)
    descent_first = checks.flag(descent_first, "descent_first")
    first, second = (-e1, e2) if descent_first else (e2, -e1)
    mid = _tree_axpy(first, grad_fn(theta), theta)
    return _tree_axpy(second, grad_fn(mid), mid)


def grad_norm_sq(loss_fn: Callable[[PyTree], jax.Array]) -> Callable[[PyTree], jax.Array]:
    """The gradient penalty :math:`\\theta\\mapsto\\|\\nabla L(\\theta)\\|^2` (summed over all leaves)."""
    checks.callable_(loss_fn, "loss_fn")
    grad = jax.grad(loss_fn)

    def penalty(theta: PyTree) -> jax.Array:
        return sum(jnp.vdot(g, g).real for g in jax.tree.leaves(grad(theta)))

    return penalty


def penalized_step(loss_fn: Callable[[PyTree], jax.Array], theta: PyTree, e1: Any, e2: Any) -> PyTree:
    """The one step that a descent/ascent pair approximates (kexue.fm/archives/7643):

    .. math::

        \\theta-(\\varepsilon_1-\\varepsilon_2)\\nabla L-\\frac{\\varepsilon_1\\varepsilon_2}{2}\\nabla\\|\\nabla L\\|^2
        =\\theta-(\\varepsilon_1-\\varepsilon_2)\\nabla\\Big[L+\\frac{\\varepsilon_1\\varepsilon_2}
        {2(\\varepsilon_1-\\varepsilon_2)}\\|\\nabla L\\|^2\\Big]\\quad(\\varepsilon_1\\ne\\varepsilon_2),

    i.e. gradient descent with rate :math:`\\varepsilon_1-\\varepsilon_2` on :math:`L` plus a gradient penalty
    (for :math:`\\varepsilon_1=\\varepsilon_2=\\varepsilon`: descent on :math:`\\|\\nabla L\\|^2` with rate
    :math:`\\varepsilon^2/2`).
    """
    checks.callable_(loss_fn, "loss_fn")
    e1 = _scalar(e1, "e1", nonnegative=True)
    e2 = _scalar(e2, "e2", nonnegative=True)
    g = jax.grad(loss_fn)(theta)
    gp = jax.grad(grad_norm_sq(loss_fn))(theta)
    return jax.tree.map(lambda t, u, v: t - (e1 - e2) * u - 0.5 * e1 * e2 * v, theta, g, gp)


# ---------------------------------------------------------------------------------- logit adjustment
def _logits_prior(logits: Any, log_prior: Any) -> tuple[Any, Any]:
    logits = _float_array(logits, "logits", ndim=(1, 2))
    log_prior = _float_array(log_prior, "log_prior", ndim=1, finite=False)
    if log_prior.shape[0] != logits.shape[-1]:
        raise ValueError(f"log_prior: needs one entry per class ({logits.shape[-1]}), got {log_prior.shape[0]}")
    if not checks.is_traced(log_prior) and not bool(jnp.all(log_prior <= 1e-12) & jnp.all(log_prior > -jnp.inf)):
        raise ValueError("log_prior: must hold finite log-probabilities (<= 0)")
    return logits, log_prior


def logit_adjusted_loss(logits: Any, labels: Any, log_prior: Any, tau: Any = 1.0) -> jax.Array:
    """Mean cross-entropy of :math:`\\operatorname{softmax}(f+\\tau\\log p)` (Menon et al. 2021):

    .. math::

        -\\log\\frac{e^{f_y+\\tau\\log p(y)}}{\\sum_i e^{f_i+\\tau\\log p(i)}}
        =\\log\\Big[1+\\sum_{i\\ne y}\\Big(\\frac{p(i)}{p(y)}\\Big)^{\\tau}e^{f_i-f_y}\\Big].

    ``logits`` has shape ``(n, K)`` (or ``(K,)``), ``labels`` integers in ``[0, K)`` of shape ``(n,)`` (or
    ``()``), ``log_prior`` the log class frequencies ``(K,)``; ``tau = 0`` is plain cross-entropy.
    """
    logits, log_prior = _logits_prior(logits, log_prior)
    labels = checks.array(labels, "labels", kinds="iu", ndim=logits.ndim - 1, min_size=1)
    if labels.shape != logits.shape[:-1]:
        raise ValueError(f"labels: expected shape {logits.shape[:-1]}, got {labels.shape}")
    if not checks.is_traced(labels) and (np.min(labels) < 0 or np.max(labels) >= logits.shape[-1]):
        raise ValueError(f"labels: must lie in [0, {logits.shape[-1]}), got {np.min(labels)}..{np.max(labels)}")
    tau = _scalar(tau, "tau")
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits + tau * log_prior, jnp.asarray(labels)))


def posthoc_adjust(logits: Any, log_prior: Any, tau: Any = 1.0) -> jax.Array:
    """Post-hoc logit adjustment :math:`f_y-\\tau\\log p(y)` of a model trained on the skewed prior :math:`p`.

    With :math:`\\tau=1` and a calibrated model, :math:`\\operatorname{argmax}_y` of the result is the
    Bayes-optimal rule for the balanced error: :math:`p_{\\rm bal}(y|x)\\propto p(y|x)/p(y)`.
    """
    logits, log_prior = _logits_prior(logits, log_prior)
    return logits - _scalar(tau, "tau") * log_prior


def _labels_predictions(labels: Any, predictions: Any, n_classes: Any) -> tuple[np.ndarray, np.ndarray, int]:
    labels = checks.array(labels, "labels", kinds="iu", ndim=1)
    predictions = checks.array(predictions, "predictions", kinds="iu", ndim=1)
    if predictions.shape != labels.shape:
        raise ValueError(f"predictions: expected shape {labels.shape} like labels, got {predictions.shape}")
    n_classes = checks.count(n_classes, "n_classes")
    for arr, name in ((labels, "labels"), (predictions, "predictions")):
        if arr.min() < 0 or arr.max() >= n_classes:
            raise ValueError(f"{name}: must lie in [0, {n_classes}), got {arr.min()}..{arr.max()}")
    return labels, predictions, n_classes


def per_class_accuracy(labels: Any, predictions: Any, n_classes: int) -> np.ndarray:
    """The recall of each class, :math:`a_y=|\\{i: y_i=y,\\ \\hat y_i=y\\}|/|\\{i: y_i=y\\}|` (NaN if absent)."""
    labels, predictions, n_classes = _labels_predictions(labels, predictions, n_classes)
    total = np.bincount(labels, minlength=n_classes)
    right = np.bincount(labels[labels == predictions], minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, right / np.maximum(total, 1), np.nan)


def balanced_accuracy(labels: Any, predictions: Any, n_classes: int) -> float:
    """The plain mean of :func:`per_class_accuracy` over the classes present in ``labels``.

    This is accuracy on a test set re-weighted to a uniform prior: :math:`\\frac1K\\sum_y a_y`, while the
    ordinary accuracy is :math:`\\sum_y \\hat p(y)\\,a_y` with the test set's class frequencies.
    """
    return float(np.nanmean(per_class_accuracy(labels, predictions, n_classes)))


# ----------------------------------------------------------------------------------------- data makers
def _generator(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator (e.g. kexue.seed.rng(name)), got {type(rng).__name__}")
    return rng


def long_tail_counts(n_max: int, n_classes: int, ratio: float) -> np.ndarray:
    """Per-class counts of an exponential long tail, :math:`n_k=\\lfloor n_{\\max}\\,\\rho^{-k/(K-1)}\\rfloor`.

    Class 0 is the head with ``n_max`` examples, class ``K-1`` the tail with
    :math:`\\lfloor n_{\\max}/\\rho\\rfloor`; ``ratio`` :math:`\\rho\\ge1` is the imbalance ratio. Every count must
    be at least 1.
    """
    n_max = checks.count(n_max, "n_max")
    n_classes = checks.count(n_classes, "n_classes", minimum=2)
    ratio = checks.real(ratio, "ratio", lo=1.0)
    k = np.arange(n_classes)
    counts = np.floor(n_max * ratio ** (-k / (n_classes - 1)) + 1e-9).astype(np.int64)
    if counts[-1] < 1:
        raise ValueError(f"ratio: n_max / ratio = {n_max / ratio:.3g} leaves the tail class empty")
    return counts


def long_tail_indices(labels: Any, counts: Any, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of a subsample with ``counts[k]`` examples of class ``k``, drawn without replacement."""
    labels = checks.array(labels, "labels", kinds="iu", ndim=1)
    counts = checks.array(counts, "counts", kinds="iu", ndim=1)
    rng = _generator(rng)
    if np.any(counts < 0):
        raise ValueError("counts: must be >= 0")
    picked = []
    for k, n_k in enumerate(counts):
        pool = np.flatnonzero(labels == k)
        if pool.size < n_k:
            raise ValueError(f"counts: class {k} has {pool.size} examples, fewer than the {n_k} asked for")
        picked.append(rng.choice(pool, size=int(n_k), replace=False))
    return np.sort(np.concatenate(picked))


def symmetric_label_noise(labels: Any, rate: float, n_classes: int, rng: np.random.Generator
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric label noise: each label, with probability ``rate``, becomes a uniform draw from the *other* classes.

    Returns ``(noisy_labels, flipped)`` with ``flipped`` the boolean mask of changed labels, so the fraction
    of wrong labels is ``rate`` in expectation and each wrong label is uniform over the :math:`K-1` others
    (the "symmetric" noise of Ishida et al.; some papers draw from all :math:`K`, flipping only
    :math:`(K-1)/K` of the chosen labels).
    """
    labels = checks.array(labels, "labels", kinds="iu", ndim=1)
    rate = checks.real(rate, "rate", lo=0.0, hi=1.0)
    n_classes = checks.count(n_classes, "n_classes", minimum=2)
    rng = _generator(rng)
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels: must lie in [0, {n_classes}), got {labels.min()}..{labels.max()}")
    flipped = rng.random(labels.shape) < rate
    shift = rng.integers(1, n_classes, size=labels.shape)        # 1..K-1: never back to the same class
    noisy = np.where(flipped, (labels + shift) % n_classes, labels).astype(labels.dtype)
    return noisy, flipped
