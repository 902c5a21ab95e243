"""Matrix exponential and logarithm series, and log-determinant estimators (chapter 1).

Everything here is a *truncated power series*, written so a chapter can watch it converge (or fail to):

* :func:`expm_partial_sums`, :func:`expm_series` -- ``exp(A) = sum_{n>=0} A^n / n!``;
* :func:`exp_tail_bound` -- the a-priori bound on what the truncated exponential series leaves out;
* :func:`log1p_partial_sums`, :func:`log1p_series` -- ``ln(I + A) = sum_{n>=1} (-1)^(n-1) A^n / n``;
* :func:`logdet_partial_sums`, :func:`logdet_series` -- ``ln det(I + J) = sum_{k>=1} (-1)^(k-1) Tr(J^k) / k``;
* :func:`hutchinson_trace`, :func:`hutchinson_logdet` -- unbiased Monte-Carlo versions with Rademacher probes.

These are for study, not production: ``jax.scipy.linalg.expm`` (scaling and squaring) and
``jnp.linalg.slogdet`` (LU) are the accurate tools.  Precision follows the input: enable
``jax_enable_x64`` for float64.

Validation (with :mod:`kexue.checks`; every message starts with the argument's name): matrices must be
square, non-empty, int/float/complex (ints become floats) and finite -- inside ``jax.jit`` only shape and
dtype can be checked, so there the caller vouches for the values; ``terms`` is an int in
``1 .. MAX_TERMS``, ``num_probes`` an int >= 2, ``key`` a JAX PRNG key, a matvec must map vectors of length
``dim`` to vectors of length ``dim``; no result may hold more than ``MAX_VALUES`` numbers.  Wrong types raise
``TypeError``, wrong values ``ValueError``.  A series whose partial sums overflow raises
:class:`FloatingPointError` instead of returning ``inf``/``nan``.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, NamedTuple, Union

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
from jax.scipy.special import gammainc
from jax.tree_util import Partial
from scipy.special import gammaln

from kexue import checks

__all__ = [
    "HutchinsonEstimate",
    "exp_tail_bound",
    "expm_partial_sums",
    "expm_series",
    "hutchinson_logdet",
    "hutchinson_trace",
    "log1p_partial_sums",
    "log1p_series",
    "logdet_partial_sums",
    "logdet_series",
]

MatVec = Callable[[jax.Array], jax.Array]
MatrixOrMatVec = Union[jax.Array, np.ndarray, MatVec]


class HutchinsonEstimate(NamedTuple):
    """A Monte-Carlo estimate: the mean of ``samples``, and its standard error ``std(samples)/sqrt(m)``."""

    estimate: jax.Array
    stderr: jax.Array
    samples: jax.Array


# -- validation ---------------------------------------------------------------------------------------
MAX_TERMS = 10**6
"""The most terms a series accepts: a series that needs more is the wrong tool (and would run for hours)."""
MAX_VALUES = 10**8
"""The most values one result or probe matrix may hold (``terms * k * k`` partial sums, ``num_probes * dim``)."""


def _square_matrix(A: object, name: str) -> jax.Array:
    """``A`` as a square, non-empty, finite (when concrete) float or complex JAX matrix; ints become floats."""
    if callable(A) and not hasattr(A, "shape"):
        raise TypeError(f"{name}: expected a square matrix, got a callable (only the hutchinson_* estimators "
                        "take a matvec, with dim=)")
    M = checks.array(A, name, ndim=2, kinds="iufc")
    if M.shape[0] != M.shape[1]:
        raise ValueError(f"{name}: expected a square matrix, got shape {tuple(M.shape)}")
    M = jnp.asarray(M)
    return M if jnp.issubdtype(M.dtype, jnp.inexact) else M.astype(jnp.result_type(float))


def _terms(terms: object) -> int:
    return checks.count(terms, "terms", maximum=MAX_TERMS)


def _check_stack_size(terms: int, k: int) -> None:
    """``terms`` partial sums of a ``k x k`` matrix must hold at most ``MAX_VALUES`` numbers."""
    if terms * k**2 > MAX_VALUES:
        raise ValueError(f"terms: {terms} partial sums of a {k} x {k} matrix exceed {MAX_VALUES:.0e} values")


def _finite(result: jax.Array, what: str) -> jax.Array:
    """Return ``result``, or raise FloatingPointError when a concrete result has overflowed to inf/nan."""
    if not checks.is_traced(result) and not bool(jnp.all(jnp.isfinite(result))):
        raise FloatingPointError(f"{what}: overflowed, the partial sums or samples are not finite")
    return result


def _operator(A: MatrixOrMatVec, dim: object, name: str) -> tuple[Partial, int, jnp.dtype]:
    """A matrix or a matvec ``v -> A v`` as (matvec, dimension, dtype); the matvec is a pytree for ``jax.jit``.

    A matvec is traced once (``jax.eval_shape``) to check that it maps vectors of length ``dim`` to vectors
    of length ``dim``.
    """
    if callable(A) and not hasattr(A, "shape"):
        if dim is None:
            raise ValueError(f"dim: required when {name} is a matvec function")
        n, dtype = checks.count(dim, "dim", maximum=MAX_VALUES), jnp.result_type(float)
        out = jax.eval_shape(A, jax.ShapeDtypeStruct((n,), dtype))
        if not isinstance(out, jax.ShapeDtypeStruct) or out.shape != (n,) or np.dtype(out.dtype).kind not in "iufc":
            raise ValueError(f"{name}: the matvec must map a vector of shape ({n},) to a numeric vector of shape "
                             f"({n},), got {out}")
        return Partial(A), n, dtype
    M = _square_matrix(A, name)
    if dim is not None and checks.count(dim, "dim") != M.shape[0]:
        raise ValueError(f"dim: {dim} does not match {name}'s shape {tuple(M.shape)}")
    return Partial(jnp.matmul, M), M.shape[0], M.dtype


# -- the exponential series ---------------------------------------------------------------------------
@partial(jax.jit, static_argnames="terms")
def _expm_partial_sums(A: jax.Array, terms: int) -> jax.Array:
    """S_m = sum_{n=0}^{m} A^n/n! for m = 0..terms-1, via the recurrence T_n = T_{n-1} A / n."""
    identity = jnp.eye(A.shape[0], dtype=A.dtype)

    def step(carry, n):
        term, total = carry
        term = term @ A / n
        return (term, total + term), total + term

    _, sums = jax.lax.scan(step, (identity, identity), jnp.arange(1, terms, dtype=A.real.dtype))
    return jnp.concatenate([identity[None], sums])


def expm_partial_sums(A: jax.Array, terms: int) -> jax.Array:
    """All partial sums of the exponential series, stacked: ``S[m] = sum_{n=0}^{m} A^n / n!``.

    Args:
        A: a square ``k x k`` matrix (real or complex, finite).
        terms: the number of partial sums, >= 1; ``S[terms - 1]`` holds the terms ``n = 0 .. terms-1``.

    Returns:
        An array of shape ``(terms, k, k)``.  The series converges for every ``A``, but in floating point
        the partial sums first grow like ``max_n |A|^n / n!`` before they cancel: for large ``|A|`` the
        rounding error of that hump swamps ``exp(A)`` (see chapter 1, pitfall P1.1).
    """
    M = _square_matrix(A, "A")
    terms = _terms(terms)
    _check_stack_size(terms, M.shape[0])
    return _finite(_expm_partial_sums(M, terms), "expm_partial_sums")


def expm_series(A: jax.Array, terms: int) -> jax.Array:
    """The truncated exponential series ``sum_{n=0}^{terms-1} A^n / n!`` (see :func:`expm_partial_sums`)."""
    return expm_partial_sums(A, terms)[-1]


def exp_tail_bound(norm: float | jax.Array, terms: int | jax.Array) -> jax.Array:
    """Bound on ``|exp(A) - expm_series(A, terms)|`` in any submultiplicative norm with ``|A| <= norm``.

    The omitted tail is ``sum_{n>=terms} A^n/n!``, so its norm is at most
    ``sum_{n>=terms} norm^n / n! = e^norm * P(terms, norm)``, where ``P`` is the regularised lower incomplete
    gamma function (the probability that a Poisson(``norm``) variable is ``>= terms``).  The product is
    evaluated in the precision of ``norm``; entries where ``e^norm`` overflows or ``P`` underflows (large
    ``norm``, many terms) are recomputed with mpmath, so every representable bound comes out right.

    Args:
        norm: ``|A|`` (scalar or array), finite and >= 0.
        terms: number of terms kept, an integer >= 1 or an integer array of them (broadcast against ``norm``).

    Raises:
        TypeError: non-integer ``terms``, non-real ``norm``, or traced values (this runs on the host, not inside
            ``jax.jit``).
        ValueError: ``terms < 1``, negative or non-finite ``norm``, empty arrays, shapes that do not broadcast.
        FloatingPointError: where the bound itself exceeds the largest float.
    """
    if checks.is_traced(norm) or checks.is_traced(terms):
        raise TypeError("norm: exp_tail_bound is evaluated on the host (it may fall back to mpmath); "
                        "call it outside jax.jit")
    k = checks.array(terms, "terms", kinds="iu")
    if np.any(k < 1):
        raise ValueError(f"terms: must be >= 1, got {k.min()}")
    x = checks.array(norm, "norm", kinds="iuf")
    if np.any(x < 0):
        raise ValueError(f"norm: must be >= 0, got {x.min()}")
    try:
        shape = np.broadcast_shapes(x.shape, k.shape)
    except ValueError:
        raise ValueError(f"terms: shape {k.shape} does not broadcast against norm's shape {x.shape}") from None
    x = jnp.asarray(x)
    x = x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.result_type(float))
    bound, P = _tail_bound(x, jnp.asarray(k, x.dtype))
    info = jnp.finfo(x.dtype)
    redo = np.asarray(~jnp.isfinite(bound) | ((P < info.tiny / info.eps) & (x > 0)))
    if not redo.any():
        return bound
    fixed = np.array(bound, copy=True)
    xs, ks = np.broadcast_to(np.asarray(x, np.float64), shape), np.broadcast_to(k, shape)
    with np.errstate(divide="ignore", invalid="ignore"):  # for x < k + 1: tail <= x^k / k! / (1 - x/(k+1))
        log_upper = ks * np.log(xs) - gammaln(ks + 1.0) - np.log1p(-xs / (ks + 1.0))
    underflow = redo & (xs < ks + 1.0) & (log_upper < np.log(float(info.smallest_subnormal)) - 1)
    fixed[underflow] = 0.0
    for i in map(tuple, np.argwhere(redo & ~underflow)):
        with mpmath.workdps(30):
            value = mpmath.exp(xs[i]) * mpmath.gammainc(int(ks[i]), 0, xs[i], regularized=True)
        if value > float(info.max):
            raise FloatingPointError(f"exp_tail_bound: the bound for norm={xs[i]}, terms={ks[i]} is "
                                     f"{mpmath.nstr(value, 3)}, beyond the largest {x.dtype} ({float(info.max):.3g})")
        fixed[i] = float(value)
    return jnp.asarray(fixed, x.dtype)


@jax.jit
def _tail_bound(x: jax.Array, k: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(e^x P(k, x), P(k, x))."""
    P = gammainc(k, x)
    return jnp.exp(x) * P, P


# -- the logarithm series -----------------------------------------------------------------------------
def _sign(n: jax.Array) -> jax.Array:
    """(-1)^(n-1) for integer-valued n >= 1 (exact, unlike a float power of -1)."""
    return jnp.where(n % 2 == 1, 1.0, -1.0).astype(n.dtype)


@partial(jax.jit, static_argnames="terms")
def _log1p_partial_sums(A: jax.Array, terms: int) -> jax.Array:
    """L_N = sum_{n=1}^{N} (-1)^(n-1) A^n / n for N = 1..terms."""

    def step(carry, n):
        power, total = carry
        power = power @ A
        total = total + _sign(n) * power / n
        return (power, total), total

    identity = jnp.eye(A.shape[0], dtype=A.dtype)
    _, sums = jax.lax.scan(step, (identity, jnp.zeros_like(A)), jnp.arange(1, terms + 1, dtype=A.real.dtype))
    return sums


@partial(jax.jit, static_argnames="terms")
def _log1p_series(A: jax.Array, terms: int) -> jax.Array:
    def step(carry, n):
        power, total = carry
        power = power @ A
        return (power, total + _sign(n) * power / n), None

    identity = jnp.eye(A.shape[0], dtype=A.dtype)
    (_, total), _ = jax.lax.scan(step, (identity, jnp.zeros_like(A)), jnp.arange(1, terms + 1, dtype=A.real.dtype))
    return total


def log1p_partial_sums(A: jax.Array, terms: int) -> jax.Array:
    """All partial sums of the logarithm series, stacked: ``L[N-1] = sum_{n=1}^{N} (-1)^(n-1) A^n / n``.

    When it converges: the series converges exactly when every eigenvalue ``λ`` of ``A`` either has
    ``|λ| < 1``, or has ``|λ| = 1``, ``λ != -1`` and is semisimple (all its Jordan blocks are 1 x 1).

    * Inside the unit disc it converges absolutely and geometrically.
    * On the unit circle, away from -1, it converges only conditionally, with an error of order ``1/N``
      after ``N`` terms.  For ``A = I`` the partial sums are the alternating harmonic sums times ``I``;
      they tend to ``(ln 2) I`` with an error between ``1/(2(N+1))`` and ``1/(N+1)``.
    * At ``λ = -1`` the scalar series is ``-sum 1/n``, which diverges to ``-inf`` (like ``-ln N``).
    * A Jordan block of size >= 2 at ``|λ| = 1`` diverges: ``J^n`` has the entry ``n λ^(n-1)``, so that
      entry of the series adds ``±λ^(n-1)``, terms that do not tend to 0.

    Where it converges, the limit is the principal logarithm of ``I + A`` (on the circle by Abel's
    theorem), and ``exp(ln(I + A)) = I + A``.  ``|A|_2 < 1`` is merely a sufficient condition.  This
    function does not test convergence: elsewhere it returns whatever the truncation gives (or raises
    FloatingPointError on overflow).

    Args:
        A: a square ``k x k`` matrix (real or complex, finite).
        terms: the number of partial sums, ``N = 1 .. terms`` (``terms * k * k <= MAX_VALUES``).

    Returns:
        An array of shape ``(terms, k, k)``; one compilation serves every truncation.
    """
    M = _square_matrix(A, "A")
    terms = _terms(terms)
    _check_stack_size(terms, M.shape[0])
    return _finite(_log1p_partial_sums(M, terms), "log1p_partial_sums")


def log1p_series(A: jax.Array, terms: int) -> jax.Array:
    """The truncated series ``ln(I + A) ~ sum_{n=1}^{terms} (-1)^(n-1) A^n / n``.

    The last partial sum of :func:`log1p_partial_sums`, without storing the others; see there for when the
    series converges (not "exactly when the spectral radius is < 1": it also converges, slowly, for
    semisimple eigenvalues on the unit circle other than -1, e.g. to ``(ln 2) I`` for ``A = I``).
    ``|A|_2 < 1`` is merely sufficient.  It does not test convergence: where the series diverges it
    returns whatever the truncation gives (or raises FloatingPointError on overflow).
    """
    M = _square_matrix(A, "A")
    return _finite(_log1p_series(M, _terms(terms)), "log1p_series")


@partial(jax.jit, static_argnames="terms")
def _trace_powers(J: jax.Array, terms: int) -> jax.Array:
    """Tr(J^k) for k = 1..terms."""

    def step(power, _):
        power = power @ J
        return power, jnp.trace(power)

    _, traces = jax.lax.scan(step, jnp.eye(J.shape[0], dtype=J.dtype), None, length=terms)
    return traces


def logdet_partial_sums(J: jax.Array, terms: int) -> jax.Array:
    """Partial sums ``L[K-1] = sum_{k=1}^{K} (-1)^(k-1) Tr(J^k) / k`` for ``K = 1 .. terms``.

    Because ``ln det(I + J) = Tr ln(I + J)`` (chapter 1), the limit is ``ln det(I + J)`` whenever the
    spectral radius of ``J`` is < 1.  With ``|J|_2 <= r < 1`` the truncation error after ``K`` terms is at
    most ``n r^(K+1) / ((K+1)(1-r))`` for an ``n x n`` matrix.  Cost: ``terms`` matrix products.
    """
    M = _square_matrix(J, "J")
    terms = _terms(terms)
    k = jnp.arange(1, terms + 1, dtype=M.real.dtype)
    return _finite(jnp.cumsum(_sign(k) * _trace_powers(M, terms) / k), "logdet_partial_sums")


def logdet_series(J: jax.Array, terms: int) -> jax.Array:
    """The truncated series ``ln det(I + J) ~ sum_{k=1}^{terms} (-1)^(k-1) Tr(J^k) / k``."""
    return logdet_partial_sums(J, terms)[-1]


# -- Hutchinson's estimator ---------------------------------------------------------------------------
def _estimate(samples: jax.Array, what: str) -> HutchinsonEstimate:
    samples = _finite(samples, what)
    m = samples.shape[0]
    return HutchinsonEstimate(samples.mean(), samples.std(ddof=1) / jnp.sqrt(m), samples)


def _probes(key: jax.Array, num_probes: int, dim: int, dtype: jnp.dtype) -> jax.Array:
    key = checks.prng_key(key, "key")
    m = checks.count(num_probes, "num_probes", minimum=2)
    if m * dim > MAX_VALUES:
        raise ValueError(f"num_probes: {m} probes of dimension {dim} exceed {MAX_VALUES:.0e} values")
    real = jnp.zeros((), dtype).real.dtype
    return jax.random.rademacher(key, (m, dim), dtype=real).astype(dtype)


def hutchinson_trace(
    key: jax.Array, A: MatrixOrMatVec, num_probes: int, *, dim: int | None = None
) -> HutchinsonEstimate:
    """Hutchinson's unbiased trace estimator: ``Tr A ~ (1/m) sum_i z_i^T A z_i``, ``z_i`` Rademacher.

    Each sample has mean ``Tr A``; its variance is ``2 sum_{i != j} ((A_ij + A_ji)/2)^2`` (no diagonal
    contribution), so the standard error shrinks like ``1/sqrt(m)``.

    Args:
        key: a JAX PRNG key (fixes the probes).
        A: a square matrix, or a function ``v -> A v`` on vectors of length ``dim`` (it is ``vmap``-ed).
        num_probes: ``m >= 2`` (two probes at least, so that a standard error exists).
        dim: the dimension; required for a matvec, checked against a matrix.

    Returns:
        :class:`HutchinsonEstimate` ``(estimate, stderr, samples)``.
    """
    matvec, n, dtype = _operator(A, dim, "A")
    return _estimate(_trace_samples(matvec, _probes(key, num_probes, n, dtype)), "hutchinson_trace")


@jax.jit
def _trace_samples(matvec: Partial, Z: jax.Array) -> jax.Array:
    """z_i^T A z_i for each probe (row) z_i of Z."""
    return jax.vmap(lambda z: z @ matvec(z))(Z)


def hutchinson_logdet(
    key: jax.Array, J: MatrixOrMatVec, terms: int, num_probes: int, *, dim: int | None = None
) -> HutchinsonEstimate:
    """Stochastic ``ln det(I + J)``: Hutchinson's estimator applied to the series of :func:`logdet_series`.

    Each probe ``z`` gives ``sum_{k=1}^{terms} (-1)^(k-1) z^T J^k z / k`` using only products ``J v``
    (as in invertible ResNets).  The estimate is unbiased for the *truncated* series; the truncation bias is
    that of :func:`logdet_partial_sums`.  Arguments as in :func:`hutchinson_trace`.
    """
    matvec, n, dtype = _operator(J, dim, "J")
    terms = _terms(terms)
    Z = _probes(key, num_probes, n, dtype)
    return _estimate(_logdet_samples(matvec, Z, terms), "hutchinson_logdet")


@partial(jax.jit, static_argnames="terms")
def _logdet_samples(matvec: Partial, Z: jax.Array, terms: int) -> jax.Array:
    """sum_{k=1}^{terms} (-1)^(k-1) z^T J^k z / k for each probe (row) z of Z, using only J v products."""

    def sample(z: jax.Array) -> jax.Array:
        def step(v, k):
            v = matvec(v)
            return v, _sign(k) * (z @ v) / k

        _, parts = jax.lax.scan(step, z, jnp.arange(1, terms + 1, dtype=Z.real.dtype))
        return parts.sum()

    return jax.vmap(sample)(Z)
