"""Binary codes for similarity search and vectors on the sphere (chapter 13).

Hashes that turn a vector :math:`x\\in\\mathbb R^D` into a binary code (rows of a 0/1 array):

* :func:`simhash` -- Charikar's random-hyperplane LSH, :math:`h(x)=[xW>0]` with :math:`W_{ij}\\sim\\mathcal N(0,1)`;
  one bit agrees for two vectors at angle :math:`\\theta` with probability :math:`1-\\theta/\\pi`;
* :func:`wta_topk_binary` -- winner-take-all: ones at the :math:`k` largest entries of each row;
* :func:`flyhash` -- the fruit fly's hash (Dasgupta et al. 2017): a sparse random 0/1 *expansion*
  :math:`M\\in\\{0,1\\}^{D\\times K}`, :math:`K>D`, then :func:`wta_topk_binary`;
* :func:`kmeans_centers` and :func:`biohash_codes` -- a BioHash-like, data-dependent hash: the :math:`k`
  nearest of :math:`K` K-means centres (by the inner product with the normalised centres) set to one.

Retrieval: :func:`code_agreement` (the number of equal bits of every query/database pair) and
:func:`mean_average_precision` (tie-aware average precision, the definition of
``sklearn.metrics.average_precision_score``, vectorised over queries).

The sphere (JoSE, Su's reading): for :math:`x=\\theta/\\|\\theta\\|`,

.. math::

    \\nabla_\\theta f\\Big(\\frac{\\theta}{\\|\\theta\\|}\\Big)=\\frac1{\\|\\theta\\|}\\,(I-xx^\\top)\\,\\nabla_x f(x),

see :func:`sphere_grad`, :func:`sphere_project_grad`, :func:`jose_factor`, :func:`sphere_step` and
:func:`jose_hinge_loss`.

Bad arguments raise ``TypeError`` (wrong type) or ``ValueError`` (wrong value), naming the argument
(through :mod:`kexue.checks`).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kexue import _optional, checks

__all__ = [
    "biohash_codes",
    "code_agreement",
    "flyhash",
    "jose_factor",
    "jose_hinge_loss",
    "kmeans_centers",
    "mean_average_precision",
    "simhash",
    "sphere_grad",
    "sphere_project_grad",
    "sphere_step",
    "wta_topk_binary",
]


# ------------------------------------------------------------------------------------ hashes


def _generator(rng: Any) -> np.random.Generator:
    """``rng`` if it is a NumPy ``Generator`` (``TypeError`` otherwise)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def _matrix(x: Any, name: str) -> np.ndarray:
    """A 2-D float64 NumPy array (n, D) (checked for shape, dtype and finiteness)."""
    return np.asarray(checks.array(x, name, ndim=2, kinds="iuf"), np.float64)


def simhash(x: Any, n_bits: int, rng: np.random.Generator) -> np.ndarray:
    """Random-hyperplane codes :math:`h(x)=[xW>0]\\in\\{0,1\\}^{n}` with :math:`W\\sim\\mathcal N(0,1)^{D\\times n}`.

    For two vectors at angle :math:`\\theta`, each bit agrees with probability :math:`1-\\theta/\\pi` (Charikar
    2002): the hyperplane :math:`w^\\perp` separates them with probability :math:`\\theta/\\pi`. Centre the data
    first: the law is about angles at the origin.

    ``x``: ``(n, D)`` real; ``n_bits``: int ``>= 1``; ``rng``: a NumPy ``Generator`` (e.g.
    ``kexue.seed.rng(name)``). Returns ``(n, n_bits)`` uint8.
    """
    x = _matrix(x, "x")
    n_bits = checks.count(n_bits, "n_bits")
    W = _generator(rng).standard_normal((x.shape[1], n_bits))
    return (x @ W > 0).astype(np.uint8)


def wta_topk_binary(a: Any, k: int) -> np.ndarray:
    """Winner-take-all: a 0/1 array with ones at the ``k`` largest entries of each row of ``a``.

    Ties at the threshold go to the lower indices, so every row has exactly ``k`` ones.
    ``a``: ``(n, K)`` real; ``k``: an int in ``[1, K]``. Returns ``(n, K)`` uint8 (NumPy).
    """
    a = np.asarray(checks.array(a, "a", ndim=2, kinds="iuf"))
    k = checks.count(k, "k", maximum=a.shape[1])
    kth = np.partition(a, a.shape[1] - k, axis=1)[:, a.shape[1] - k, None]  # the k-th largest value of each row
    above = a > kth
    tied = a == kth
    room = k - above.sum(1, keepdims=True)                                  # how many tied entries still fit
    return (above | (tied & (np.cumsum(tied, axis=1) <= room))).astype(np.uint8)


def flyhash(x: Any, n_expand: int, k: int, density: float, rng: np.random.Generator) -> np.ndarray:
    """The fly's hash: :math:`h(x)=\\mathrm{WTA}_k(xM)` with :math:`M_{ij}\\sim\\mathrm{Bernoulli}(\\rho)`, shape
    :math:`D\\times K` (each of the :math:`K` "Kenyon cells" sums a random :math:`\\rho` of the inputs).

    ``x``: ``(n, D)`` real; ``n_expand`` (:math:`K`): int ``>= k``; ``k``: int ``>= 1``; ``density``
    (:math:`\\rho`): a real in ``(0, 1]``; ``rng``: a NumPy ``Generator``. Returns ``(n, n_expand)`` uint8 with
    ``k`` ones per row.
    """
    x = _matrix(x, "x")
    n_expand = checks.count(n_expand, "n_expand")
    k = checks.count(k, "k", maximum=n_expand)
    density = checks.real(density, "density", positive=True)
    if density > 1:
        raise ValueError(f"density: must lie in (0, 1], got {density}")
    M = (_generator(rng).random((x.shape[1], n_expand)) < density).astype(np.float64)
    return wta_topk_binary(x @ M, k)


def kmeans_centers(x: Any, n_centers: int, seed: int) -> np.ndarray:
    """K-means centres of the rows of ``x`` (scikit-learn's ``KMeans``, one run from random data points, seeded).

    This is the "learning" of a BioHash-like hash: Su reads BioHash's plasticity rule as online K-means.
    ``x``: ``(n, D)`` real with ``n >= n_centers``; ``n_centers``: int ``>= 1``; ``seed``: int in
    ``[0, 2**32)``. Returns ``(n_centers, D)`` float64.
    """
    x = np.asarray(checks.array(x, "x", ndim=2, kinds="iuf"), np.float64)
    n_centers = checks.count(n_centers, "n_centers", maximum=x.shape[0])
    seed = checks.count(seed, "seed", minimum=0, maximum=2**32 - 1)
    cluster = _optional.require("sklearn.cluster", "scikit-learn", "kmeans_centers()", "data")
    km = cluster.KMeans(n_clusters=n_centers, init="random", n_init=1, random_state=seed).fit(x)
    return km.cluster_centers_


def biohash_codes(x: Any, centers: Any, k: int, *, normalize: bool = True) -> np.ndarray:
    """BioHash-like codes: ones at the ``k`` centres :math:`c_j` with the largest
    :math:`\\langle c_j/\\|c_j\\|, x\\rangle` (``normalize=True``) or :math:`\\langle c_j, x\\rangle` (``False``).

    ``x``: ``(n, D)``; ``centers``: ``(K, D)`` real with non-zero rows when normalised; ``k``: an int in
    ``[1, K]``. Returns ``(n, K)`` uint8 (NumPy).
    """
    x = _matrix(x, "x")
    c = _matrix(centers, "centers")
    if c.shape[1] != x.shape[1]:
        raise ValueError(f"centers: expected {x.shape[1]} columns (as x), got shape {tuple(c.shape)}")
    if checks.flag(normalize, "normalize"):
        norms = np.linalg.norm(c, axis=1, keepdims=True)
        if np.any(norms == 0):
            raise ValueError("centers: a zero row cannot be normalised")
        c = c / norms
    return wta_topk_binary(x @ c.T, k)


# ------------------------------------------------------------------------------------ retrieval


def code_agreement(queries: Any, database: Any) -> np.ndarray:
    """The number of equal bits of every (query, database) pair of 0/1 codes, as int64 ``(n_q, n_db)``:

    .. math:: a(q,b)=K-\\|q\\|_1-\\|b\\|_1+2\\,q^\\top b,

    i.e. :math:`K` minus the Hamming distance. For WTA codes (every row with :math:`k` ones) it is
    :math:`K-2k+2q^\\top b`, so it ranks like the overlap :math:`q^\\top b`.
    ``queries``: ``(n_q, K)``, ``database``: ``(n_db, K)``, both with entries in {0, 1}.
    """
    q = np.asarray(checks.array(queries, "queries", ndim=2, kinds="biuf"))
    b = np.asarray(checks.array(database, "database", ndim=2, kinds="biuf"))
    if q.shape[1] != b.shape[1]:
        raise ValueError(f"database: expected {q.shape[1]} bits per code (as queries), got shape {b.shape}")
    for name, c in (("queries", q), ("database", b)):
        if not ((c == 0) | (c == 1)).all():
            raise ValueError(f"{name}: codes must hold only 0 and 1")
    sparse = _optional.require("scipy.sparse", "scipy", "code_agreement()", "data")
    overlap = (sparse.csr_matrix(q.astype(np.int64)) @ sparse.csr_matrix(b.astype(np.int64)).T).toarray()
    return q.shape[1] - q.sum(1, dtype=np.int64)[:, None] - b.sum(1, dtype=np.int64)[None, :] + 2 * overlap


def mean_average_precision(scores: Any, relevant: Any) -> float:
    """Mean over queries (rows) of the average precision of ranking the database (columns) by ``scores``:

    .. math:: \\mathrm{AP}=\\sum_{\\tau}\\big(R(\\tau)-R(\\tau^+)\\big)\\,P(\\tau),

    over the distinct score thresholds :math:`\\tau` in decreasing order, with precision :math:`P` and recall
    :math:`R` of the items scoring :math:`\\ge\\tau`. Tied items enter together, so the value does not depend
    on how ties are ordered (the definition of ``sklearn.metrics.average_precision_score``, which it equals
    row by row). Binary codes have many ties, so this matters.

    ``scores``: ``(n_q, n_db)`` real; ``relevant``: the same shape, bool or 0/1, with at least one relevant
    item per row. Returns a float in (0, 1].
    """
    s = np.asarray(checks.array(scores, "scores", ndim=2, kinds="biuf"), np.float64)
    r = np.asarray(checks.array(relevant, "relevant", ndim=2, kinds="biuf"))
    if r.shape != s.shape:
        raise ValueError(f"relevant: expected shape {s.shape} (as scores), got {r.shape}")
    if not np.isin(r, (0, 1)).all():
        raise ValueError("relevant: must hold only 0/1 or bool")
    r = r.astype(np.float64)
    n_pos = r.sum(1)
    if np.any(n_pos == 0):
        raise ValueError(f"relevant: row {int(np.argmin(n_pos))} has no relevant item (AP undefined)")
    levels, level = np.unique(-s, return_inverse=True)       # level 0 = the highest score
    n_q, n_levels = s.shape[0], levels.size
    if n_q * n_levels <= 2**24:                              # few distinct scores (codes): count per level
        at = (np.arange(n_q)[:, None] * n_levels + level.reshape(s.shape)).ravel()
        tp = np.cumsum(np.bincount(at, weights=r.ravel(), minlength=n_q * n_levels).reshape(n_q, n_levels), 1)
        seen = np.cumsum(np.bincount(at, minlength=n_q * n_levels).reshape(n_q, n_levels), 1)
        gain = np.diff(tp, axis=1, prepend=0.0)
        ap = np.sum(np.where(gain > 0, gain * tp / np.maximum(seen, 1), 0.0), axis=1) / n_pos
        return float(ap.mean())
    order = np.argsort(-s, axis=1, kind="stable")
    s_sorted = np.take_along_axis(s, order, 1)
    tp = np.cumsum(np.take_along_axis(r, order, 1), axis=1)
    end = np.ones_like(s_sorted, dtype=bool)                 # the last item of each group of tied scores
    end[:, :-1] = s_sorted[:, 1:] != s_sorted[:, :-1]
    tp_end = np.where(end, tp, 0.0)
    prev = np.zeros_like(tp)                                 # cumulative TP at the previous group's end
    prev[:, 1:] = np.maximum.accumulate(tp_end, axis=1)[:, :-1]
    rank = np.arange(1, s.shape[1] + 1, dtype=np.float64)
    ap = np.sum(np.where(end, (tp - prev) * tp / rank, 0.0), axis=1) / n_pos
    return float(ap.mean())


# ------------------------------------------------------------------------------------ the sphere


def _vectors(x: Any, name: str) -> jax.Array:
    """A real array with at least one axis (vectors along the last), as a JAX array."""
    x = checks.array(x, name, ndim=range(1, 8), kinds="iuf")
    return jnp.asarray(x, dtype=jnp.result_type(float)) if x.dtype.kind in "iu" else jnp.asarray(x)


def sphere_project_grad(x: Any, g: Any) -> jax.Array:
    """The tangent part :math:`(I-xx^\\top)g=g-(x^\\top g)\\,x` of ``g`` at the unit vector ``x``.

    ``x``, ``g``: arrays of one shape (vectors along the last axis; ``x`` of unit length, not checked).
    """
    x, g = _vectors(x, "x"), _vectors(g, "g")
    if x.shape != g.shape:
        raise ValueError(f"g: expected shape {tuple(x.shape)} (as x), got {tuple(g.shape)}")
    return g - jnp.sum(x * g, axis=-1, keepdims=True) * x


def sphere_grad(theta: Any, grad_x: Any) -> jax.Array:
    """The gradient of :math:`\\theta\\mapsto f(\\theta/\\|\\theta\\|)` from :math:`\\nabla_x f` at :math:`x=\\theta/\\|\\theta\\|`:

    .. math:: \\nabla_\\theta f = \\frac1{\\|\\theta\\|}(I-xx^\\top)\\nabla_x f(x).

    ``theta``: non-zero vectors along the last axis; ``grad_x``: the same shape.
    """
    theta = _vectors(theta, "theta")
    norm = jnp.linalg.norm(theta, axis=-1, keepdims=True)
    if not checks.is_traced(theta) and bool(jnp.any(norm == 0)):
        raise ValueError("theta: the zero vector has no direction")
    return sphere_project_grad(theta / norm, grad_x) / norm


def jose_factor(x: Any, g: Any) -> jax.Array:
    """JoSE's step factor :math:`1+x^\\top g/\\|g\\|=1-\\cos(-g,x)\\in[0,2]` (one per vector; 1 where g = 0).

    Large when the descent direction :math:`-g` points away from :math:`x`, small when towards it.
    ``x``, ``g``: arrays of one shape, vectors along the last axis.
    """
    x, g = _vectors(x, "x"), _vectors(g, "g")
    if x.shape != g.shape:
        raise ValueError(f"g: expected shape {tuple(x.shape)} (as x), got {tuple(g.shape)}")
    gn = jnp.linalg.norm(g, axis=-1)
    cos = jnp.sum(x * g, axis=-1) / jnp.where(gn > 0, gn, 1.0)
    return 1.0 + jnp.clip(cos, -1.0, 1.0)


def sphere_step(x: Any, g: Any, lr: float, *, jose: bool = False) -> jax.Array:
    """One step on the unit sphere: :math:`x'=\\mathrm{normalize}\\big(x-\\eta\\,s\\,(I-xx^\\top)g\\big)`, with
    :math:`s=1` or JoSE's :func:`jose_factor` (``jose=True``).

    With :math:`s=1` this is gradient descent on :math:`\\theta\\mapsto f(\\theta/\\|\\theta\\|)` from
    :math:`\\theta=x` followed by renormalising :math:`\\theta` (Su's point: no Riemannian machinery needed).
    ``x``: unit vectors along the last axis; ``g``: :math:`\\nabla_x f`, same shape; ``lr``: a real ``> 0``.
    """
    lr = lr if checks.is_traced(lr) else checks.real(lr, "lr", positive=True)
    d = sphere_project_grad(x, g)
    if checks.flag(jose, "jose"):
        d = jose_factor(x, g)[..., None] * d
    y = jnp.asarray(x) - lr * d
    return y / jnp.linalg.norm(y, axis=-1, keepdims=True)


def jose_hinge_loss(u: Any, v: Any, u_neg: Any, margin: float = 0.15, d: Any = None) -> jax.Array:
    """JoSE's hinge on cosines, per row:

    .. math:: \\max\\big(0,\\ m-\\cos(u,v)-\\cos(u,d)+\\cos(u',v)+\\cos(u',d)\\big),

    :math:`u` the centre word, :math:`v` a context word, :math:`u'` a negative (random) centre word,
    :math:`d` the document (omitted when ``d`` is None: the word-context part alone).

    ``u``, ``v``, ``u_neg`` (and ``d``): arrays of one shape with non-zero vectors along the last axis;
    ``margin`` (:math:`m`): a real ``>= 0``. Returns the loss of each row (shape without the last axis).
    """
    u, v, u_neg = _vectors(u, "u"), _vectors(v, "v"), _vectors(u_neg, "u_neg")
    others = [("v", v), ("u_neg", u_neg)] + ([] if d is None else [("d", _vectors(d, "d"))])
    for name, a in others:
        if a.shape != u.shape:
            raise ValueError(f"{name}: expected shape {tuple(u.shape)} (as u), got {tuple(a.shape)}")
    margin = checks.real(margin, "margin", nonnegative=True)

    def cos(a: jax.Array, b: jax.Array) -> jax.Array:
        return jnp.sum(a * b, -1) / (jnp.linalg.norm(a, axis=-1) * jnp.linalg.norm(b, axis=-1))

    score = cos(u, v) - cos(u_neg, v)
    if d is not None:
        d = jnp.asarray(d)
        score = score + cos(u, d) - cos(u_neg, d)
    return jnp.maximum(0.0, margin - score)
