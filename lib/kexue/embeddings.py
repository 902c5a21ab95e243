"""Word vectors as matrix factorisations: co-occurrence, PPMI, truncated SVD, SGNS, evaluation.

A corpus (:class:`kexue.data.Corpus`) becomes a vocabulary (:func:`build_vocab`) and a stream of word ids
with sentence ids (:func:`encode`). Two routes lead from it to word vectors.

*Count and factorise.* The windowed co-occurrence matrix :math:`C` (:func:`cooccurrence`, sparse) gives the
positive pointwise mutual information with context smoothing :math:`\\alpha` and shift :math:`k`
(:func:`ppmi`),

.. math::

    M_{ij} = \\max\\Big(0,\\ \\log\\frac{C_{ij}\\, \\sum_{j'} c_{j'}^{\\alpha}}{r_i\\, c_j^{\\alpha}} - \\log k\\Big),
    \\qquad r_i = \\sum_j C_{ij},\\quad c_j = \\sum_i C_{ij},

and its truncated SVD :math:`M \\approx U_K \\Sigma_K V_K^\\top` gives the vectors
:math:`U_K \\Sigma_K^{p}` (:func:`truncated_svd`, :func:`svd_vectors`; compute :math:`K` once and slice any
smaller dimension).

*Predict.* Skip-gram with negative sampling (SGNS, word2vec) maximises, for every (word, context) pair of the
stream and :math:`k` negatives :math:`n \\sim P_n \\propto \\mathrm{count}^{0.75}`,

.. math::

    \\log\\sigma(u_w^\\top v_c) + \\sum_{n=1}^{k} \\log\\sigma(-u_w^\\top v_n),

whose optimum at full rank is :math:`u_w^\\top v_c = \\mathrm{PMI}(w, c) - \\log k` (Levy & Goldberg 2014:
:func:`shifted_pmi`, :func:`sgns_expected_loss`). :func:`sgns_step` is the sparse, batched SGD step that
:func:`train_sgns` runs through :func:`kexue.train.run` (:func:`train_sgns_seeds`: once per seed).

Every embedding is scored the same way (:func:`evaluate`): Spearman :math:`\\rho` on WordSim-353 and
SimLex-999 through gensim's ``KeyedVectors``, and 3CosAdd accuracy on the word2vec analogy questions
(:func:`analogy_accuracy`, gensim's rule, batched).

Every public function checks its arguments (:mod:`kexue.checks`): a wrong type raises ``TypeError``, a wrong
value (shape, NaN/inf, negative counts, misaligned arrays, an empty result) ``ValueError``; both messages
start with the argument's name. Training stops with :class:`kexue.train.TrainingDiverged` (naming the step
and the metric or table) as soon as a loss or a vector becomes NaN/inf.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sps

from kexue import _optional, checks
from kexue.data import Corpus, eval_set
from kexue.train import TrainingDiverged, run

__all__ = [
    "AnalogyScore",
    "Encoded",
    "SGNSConfig",
    "SGNSState",
    "Stream",
    "Vocab",
    "analogy_accuracy",
    "build_vocab",
    "cbow_loss",
    "cbow_windows",
    "cooccurrence",
    "encode",
    "evaluate",
    "gensim_word2vec",
    "keep_probability",
    "keyed_vectors",
    "latent_class_corpus",
    "neighbour_purity",
    "noise_table",
    "ppmi",
    "sgns_expected_loss",
    "sgns_init",
    "sgns_step",
    "sgns_stream",
    "shifted_pmi",
    "similarity_rho",
    "svd_vectors",
    "train_cbow",
    "train_sgns",
    "train_sgns_seeds",
    "truncated_svd",
]


# ------------------------------------------------------------------------------------ vocabulary


_MAX_SEED = 2**32 - 1  # NumPy, scikit-learn and JAX all take seeds in [0, 2**32)
_MAX_ID = 2**31 - 1  # word ids, sentence ids and table slots are int32


@dataclass(frozen=True, eq=False)
class Vocab:
    """The kept words, most frequent first (ties in order of first appearance), with their counts.

    The constructor checks its fields: ``words`` a non-empty sequence of distinct ``str`` (stored as a tuple;
    a bare ``str`` is refused), ``counts`` one integer count ``>= 1`` per word (stored as a read-only
    NumPy view). ``TypeError`` for wrong types, ``ValueError`` for wrong values.
    """

    words: tuple[str, ...]
    counts: np.ndarray

    def __post_init__(self) -> None:
        words = self.words
        if isinstance(words, (str, bytes)) or not isinstance(words, Sequence):
            raise TypeError(f"words: expected a sequence of str, got {type(words).__name__}")
        words = tuple(words)
        odd = next((w for w in words if not isinstance(w, str)), None)
        if odd is not None:
            raise TypeError(f"words: expected str entries, got {type(odd).__name__} {odd!r}")
        if not words:
            raise ValueError("words: the vocabulary is empty")
        _check_distinct(words, "words")
        counts = checks.array(self.counts, "counts", ndim=1, kinds="iu", min_size=0).view()
        if counts.shape != (len(words),):
            raise ValueError(f"counts: need one count per word, got {counts.size} counts for {len(words)} words")
        if counts.min() < 1:
            raise ValueError(f"counts: every word of a vocabulary occurs at least once, got a count {counts.min()}")
        counts.setflags(write=False)
        object.__setattr__(self, "words", words)
        object.__setattr__(self, "counts", counts)

    def __len__(self) -> int:
        return len(self.words)

    @cached_property
    def index(self) -> dict[str, int]:
        """``word -> row``."""
        return {w: i for i, w in enumerate(self.words)}


def build_vocab(corpus: Corpus, min_count: int = 5, max_size: int | None = None) -> Vocab:
    """The words seen at least ``min_count`` times, sorted by count (descending; stable), at most ``max_size``.

    ``min_count`` and ``max_size`` are ints ``>= 1`` (``max_size=None``: no cap); ``ValueError`` when no word
    is left.
    """
    _check_corpus(corpus)
    checks.count(min_count, "min_count")
    if max_size is not None:
        checks.count(max_size, "max_size")
    counts = corpus.counts()
    order = np.argsort(-counts, kind="stable")
    order = order[counts[order] >= min_count][:max_size]
    if order.size == 0:
        raise ValueError(f"min_count: no word occurs {min_count} times or more; the vocabulary would be empty")
    return Vocab(tuple(corpus.types[i] for i in order.tolist()), counts[order].astype(np.int64))


class Encoded(NamedTuple):
    """A corpus as vocabulary rows: ``ids`` (int32) and the sentence each token belongs to, ``sid`` (int32).

    The functions that take one check it: ``ids`` and ``sid`` non-empty 1-D integer arrays of equal length,
    ``ids >= 0``, ``sid`` non-negative and non-decreasing.
    """

    ids: np.ndarray
    sid: np.ndarray


def encode(corpus: Corpus, vocab: Vocab, max_len: int | None = None) -> Encoded:
    """Map the corpus onto ``vocab``, dropping out-of-vocabulary tokens *before* windowing (as word2vec does).

    A sentence is a document, or with ``max_len`` a piece of ``max_len`` raw tokens of it (the pieces that
    :meth:`kexue.data.Corpus.docs` ``(max_len)`` hands to gensim); windows never cross sentences.
    ``max_len`` is an int ``>= 1`` or ``None``; ``ValueError`` when no token of the corpus is in ``vocab``.
    """
    _check_corpus(corpus)
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab: expected a Vocab, got {type(vocab).__name__}")
    if max_len is not None:
        checks.count(max_len, "max_len")
    row = np.full(len(corpus.types), -1, dtype=np.int64)
    index = vocab.index
    for t, word in enumerate(corpus.types):
        row[t] = index.get(word, -1)
    rows = row[corpus.ids]
    doc = np.repeat(np.arange(corpus.n_docs), np.diff(corpus.starts))
    if max_len is not None:
        piece = (np.arange(corpus.n_tokens) - corpus.starts[doc]) // max_len
        doc = doc * (int(np.diff(corpus.starts).max(initial=0)) // max_len + 1) + piece
    keep = rows >= 0
    sid = np.unique(doc[keep], return_inverse=True)[1] if keep.any() else np.zeros(0, np.int64)
    if rows[keep].size == 0:
        raise ValueError("corpus: no token of the corpus is in the vocabulary")
    return Encoded(rows[keep].astype(np.int32), sid.astype(np.int32))


# ---------------------------------------------------------------------------- counts and factors


def cooccurrence(encoded: Encoded, vocab_size: int, window: int = 5, *, dynamic: bool = True) -> sps.csr_matrix:
    """The symmetric windowed co-occurrence matrix :math:`C` (``vocab_size`` square, float64, CSR).

    Each pair of tokens of one sentence at distance :math:`1 \\le d \\le w` adds its weight to
    :math:`C_{ij}` and :math:`C_{ji}`: 1, or with ``dynamic`` the expected weight of word2vec's random window
    :math:`b \\sim \\mathcal U\\{1..w\\}`, :math:`P(b \\ge d) = (w - d + 1)/w`.

    ``vocab_size`` (``<= 2**31 - 1``) must exceed every id, ``window`` is an int ``>= 1`` (distances beyond
    the stream's length add nothing and are skipped), ``dynamic`` a bool.
    """
    ids, sid = _check_encoded(encoded)
    checks.count(vocab_size, "vocab_size", maximum=_MAX_ID)
    checks.count(window, "window")
    checks.flag(dynamic, "dynamic")
    if ids.max() >= vocab_size:
        raise ValueError(f"vocab_size: the ids reach {int(ids.max())}, beyond vocab_size = {vocab_size}")
    rows, cols, vals = [], [], []
    for d in range(1, min(window, max(ids.size - 1, 1)) + 1):
        same = sid[d:] == sid[:-d]
        rows.append(ids[:-d][same])
        cols.append(ids[d:][same])
        vals.append(np.full(int(same.sum()), (window - d + 1) / window if dynamic else 1.0))
    r, c, v = (np.concatenate(x) for x in (rows, cols, vals))
    upper = sps.coo_matrix((v, (r, c)), shape=(vocab_size, vocab_size)).tocsr()
    return (upper + upper.T).tocsr()


def ppmi(counts: sps.spmatrix | np.ndarray, alpha: float = 0.75, shift: float = 1.0) -> sps.csr_matrix:
    """Positive (shifted, context-smoothed) PMI of a co-occurrence matrix, kept sparse (see the module formula).

    Only the stored non-zero counts are visited, so the cost is linear in their number. ``alpha`` in
    ``(0, 1]`` smooths the context distribution (0.75 as in Levy, Goldberg & Dagan 2015); ``shift`` = k
    subtracts :math:`\\log k` (k = 1: plain PPMI). Rows or columns without counts stay empty.

    ``counts``: a square real (int or float) matrix, dense or sparse, finite, non-negative, not all zero (it is
    copied, never changed). :math:`M` does not change when all counts are multiplied by one constant, so counts
    whose sums would overflow float64 are first divided by a power of two; ``ValueError`` only when they span
    so many orders of magnitude that a positive count would then underflow.
    """
    alpha = checks.real(alpha, "alpha")
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha: must lie in (0, 1], got {alpha}")
    shift = checks.real(shift, "shift", positive=True)
    if sps.issparse(counts):
        if len(counts.shape) != 2:
            raise ValueError(f"counts: expected a 2-D matrix, got shape {counts.shape}")
        if counts.dtype.kind not in "iuf":
            raise TypeError(f"counts: expected a real (int or float) matrix, got dtype {counts.dtype}")
    else:
        counts = checks.array(counts, "counts", ndim=2, kinds="iuf")
    C = sps.csr_matrix(counts, dtype=np.float64, copy=True)
    C.eliminate_zeros()
    if C.shape[0] != C.shape[1]:
        raise ValueError(f"counts: expected a square matrix, got shape {C.shape}")
    if C.nnz == 0:
        raise ValueError("counts: the matrix has no non-zero entry")
    if not np.all(np.isfinite(C.data)) or C.data.min() < 0:
        raise ValueError("counts: co-occurrence counts must be finite and non-negative")
    C.data = _rescaled(C.data, "counts")
    C.sort_indices()
    r = np.asarray(C.sum(axis=1)).ravel()
    c = np.asarray(C.sum(axis=0)).ravel() ** alpha
    row = np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))
    pmi = np.log(C.data) + np.log(c.sum()) - np.log(r[row]) - np.log(c[C.indices]) - np.log(shift)
    M = sps.csr_matrix((np.maximum(pmi, 0.0), C.indices, C.indptr), shape=C.shape)
    M.eliminate_zeros()
    return M


def truncated_svd(
    M: sps.spmatrix | np.ndarray, k: int, *, method: str = "randomized", seed: int = 0, n_iter: int = 5,
    threads: int | None = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """The top ``k`` left singular vectors and singular values :math:`(U_k, \\sigma_1 \\ge \\dots \\ge \\sigma_k)`.

    ``method="randomized"``: Halko–Martinsson–Tropp with ``n_iter`` power iterations
    (``sklearn.utils.extmath.randomized_svd``, seeded); ``"arpack"``: ``scipy.sparse.linalg.svds``.
    Signs are fixed (largest-magnitude entry of each column positive), so results are reproducible.
    Compute the largest dimension you need once and slice (:func:`svd_vectors`): the leading columns of a
    rank-``K`` SVD are those of every smaller one. Needs ``1 <= k < min(M.shape)``.

    ``threads`` caps the BLAS threads during the call (``None``: leave them alone). The default 1 is
    deliberate: the tall, thin QR/SVD steps gain little from threads, and on shared cores OpenBLAS's
    spinning threads made them 10-30 times slower in our measurements. (SciPy's BLAS is loaded before the
    cap is set: a cap covers only libraries already loaded, and the thread count changes the rounding.)

    Checks: ``M`` a 2-D real (int or float) NumPy array or scipy.sparse matrix (``TypeError`` otherwise),
    finite and not all zero; ``seed`` an int in ``[0, 2**32)`` (``None`` is refused: results must be
    reproducible), ``n_iter`` an int ``>= 0``, ``threads`` an int ``>= 1`` or ``None``. A matrix whose largest
    entry lies outside :math:`[2^{-500}, 2^{500}]` is scaled by a power of two first (exact; the singular
    vectors do not change and :math:`\\sigma` is scaled back), so squares and products cannot overflow or
    underflow; ``ValueError`` when a singular value exceeds float64's range or ARPACK fails.
    """
    method = checks.one_of(method, "method", ("randomized", "arpack"))
    checks.count(k, "k")
    checks.count(seed, "seed", minimum=0, maximum=_MAX_SEED)
    checks.count(n_iter, "n_iter", minimum=0)
    if threads is not None:
        checks.count(threads, "threads")
    if sps.issparse(M):
        if len(M.shape) != 2:
            raise TypeError(f"M: expected a 2-D array or scipy.sparse matrix, got shape {M.shape}")
        if M.dtype.kind not in "iuf":
            raise TypeError(f"M: expected a real (int or float) matrix, got dtype {M.dtype}")
        values = M.data if M.format in ("csr", "csc", "coo", "bsr") else M.tocsr().data
    elif isinstance(M, np.ndarray):
        M = values = checks.array(M, "M", ndim=2, kinds="iuf", min_size=0)
    else:
        raise TypeError(f"M: expected a 2-D array or scipy.sparse matrix, got {type(M).__name__}")
    if k >= min(M.shape):
        raise ValueError(f"k: must be smaller than the matrix's smaller side {min(M.shape)}, got {k}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"M: contains {int(np.sum(~np.isfinite(values)))} NaN/inf value(s)")
    top = float(np.max(np.abs(values), initial=0.0))
    if top == 0:
        raise ValueError("M: every entry is zero, so its singular vectors are arbitrary")
    e = 0 if 2.0**-500 <= top <= 2.0**500 else int(np.frexp(top)[1])
    if e:
        M = _ldexp(M, -e)
    import scipy.linalg  # noqa: F401  SciPy's BLAS must be loaded for threadpool_limits to cap it
    from scipy.sparse.linalg import ArpackError
    threadpool_limits = _optional.require("threadpoolctl", "threadpoolctl", "truncated_svd()",
                                          "data").threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        if method == "randomized":
            randomized_svd = _optional.require("sklearn.utils.extmath", "scikit-learn",
                                               "truncated_svd(method='randomized')", "data").randomized_svd
            U, s, _ = randomized_svd(M, k, n_iter=n_iter, random_state=seed)
        else:
            from scipy.sparse.linalg import svds

            v0 = np.random.default_rng(seed).uniform(-1, 1, min(M.shape))
            try:
                U, s, _ = svds(sps.csr_matrix(M, dtype=np.float64), k=k, v0=v0)
            except ArpackError as exc:
                raise ValueError(f"M: ARPACK found no {k} singular triplets ({exc}); try method='randomized'") from exc
            order = np.argsort(-s)
            U, s = U[:, order], s[order]
    if e:
        with np.errstate(over="ignore"):
            s = np.ldexp(s, e)
        if not np.all(np.isfinite(s)):
            raise ValueError(f"M: its largest singular value exceeds float64's range (entries up to {top:.3g})")
    signs = np.sign(U[np.argmax(np.abs(U), axis=0), np.arange(U.shape[1])])
    return U * np.where(signs == 0, 1.0, signs), s


def svd_vectors(U: np.ndarray, s: np.ndarray, dim: int | None = None, eig: float = 0.5) -> np.ndarray:
    """Word vectors :math:`U_{:, :n}\\, \\mathrm{diag}(\\sigma_{:n})^{p}` from :func:`truncated_svd` output.

    ``dim`` = :math:`n` (default: all columns); ``eig`` = :math:`p` (0.5 is the symmetric split
    :math:`U\\Sigma^{1/2}`; 0 keeps :math:`U`, often better on similarity; 1 gives :math:`U\\Sigma`).

    Checks: ``U`` a finite real (V, K) array, ``s`` finite and non-negative of shape (K,), ``1 <= dim <= K``,
    ``eig`` a finite real; ``ValueError`` for a negative ``eig`` with a zero :math:`\\sigma` among the first
    ``dim``, and when :math:`\\sigma^p` overflows float64.
    """
    U = checks.array(U, "U", ndim=2, kinds="iuf")
    s = checks.array(s, "s", ndim=1, kinds="iuf")
    if s.shape != (U.shape[1],):
        raise ValueError(f"s: need one singular value per column of U {U.shape}, got shape {s.shape}")
    if s.min() < 0:
        raise ValueError(f"s: singular values are >= 0, got {s.min()}")
    dim = U.shape[1] if dim is None else dim
    checks.count(dim, "dim", maximum=U.shape[1])
    eig = checks.real(eig, "eig")
    if eig < 0 and np.any(s[:dim] == 0):
        raise ValueError(f"eig: a negative power ({eig}) of a zero singular value")
    with np.errstate(over="ignore", invalid="ignore"):
        vectors = U[:, :dim] * s[:dim] ** eig
    if not np.all(np.isfinite(vectors)):
        raise ValueError(f"eig: s**eig overflows float64 (largest s = {s[:dim].max():.3g}, eig = {eig})")
    return vectors


# ------------------------------------------------------------------------------ Levy & Goldberg


def shifted_pmi(counts: np.ndarray, k: float = 1.0) -> np.ndarray:
    """Dense :math:`\\mathrm{PMI}(i, j) - \\log k = \\log\\frac{C_{ij} D}{r_i c_j} - \\log k` (``-inf`` where
    :math:`C_{ij} = 0`), with :math:`D = \\sum C`, :math:`r` the row and :math:`c` the column sums.

    ``counts``: a dense, finite, non-negative real matrix with no empty row or column (a sparse matrix is a
    ``TypeError``: call ``.toarray()``); ``k`` a finite real ``> 0``. Counts whose sum would overflow float64
    are first divided by a power of two (the PMI does not depend on the scale).
    """
    C = _rescaled(_check_dense_counts(counts), "counts")
    k = checks.real(k, "k", positive=True)
    r, c = C.sum(1, keepdims=True), C.sum(0, keepdims=True)
    with np.errstate(divide="ignore"):
        return np.log(C) + np.log(C.sum()) - np.log(r) - np.log(c) - np.log(k)


def sgns_expected_loss(scores: jax.Array, counts: jax.Array, k: float) -> jax.Array:
    """The SGNS loss summed over a corpus with pair counts :math:`C`, negatives drawn from the context marginal:

    .. math::

        \\ell(X) = -\\sum_{ij} \\Big[C_{ij} \\log\\sigma(X_{ij}) + k\\,\\frac{r_i c_j}{D}\\log\\sigma(-X_{ij})\\Big],
        \\qquad X_{ij} = u_i^\\top v_j .

    Each term is minimised at :math:`X_{ij} = \\mathrm{PMI}(i, j) - \\log k` (:func:`shifted_pmi`), so with
    vectors of dimension at least the vocabulary size the optimum is exactly the shifted PMI matrix.

    Works under ``jit``/``grad``. Always checked: ``scores`` and ``counts`` real 2-D arrays of one shape
    (lists are converted), ``k`` a scalar. Checked when the values are concrete (not traced; ``counts`` is
    usually a constant, so even inside a jitted loss): finite ``scores``; ``counts`` finite, non-negative, not
    all zero, with :math:`k\\,r_i c_j` and :math:`D` representable in the computing dtype; ``k`` a finite
    real ``> 0``; a finite loss. Traced values are the caller's to check (:func:`kexue.train.run` stops on a
    NaN/inf loss).
    """
    S = checks.array(scores, "scores", ndim=2, kinds="iuf")
    N = checks.array(counts, "counts", ndim=2, kinds="iuf")
    scores, counts = (x if hasattr(x, "shape") and hasattr(x, "dtype") else jnp.asarray(x) for x in (scores, counts))
    if N.shape != S.shape:
        raise ValueError(f"counts: expected the shape of scores {tuple(S.shape)}, got {tuple(N.shape)}")
    if checks.is_traced(k):
        if jnp.shape(k) != ():
            raise ValueError(f"k: expected a scalar, got shape {jnp.shape(k)}")
    else:
        k = checks.real(k, "k", positive=True)
    if not checks.is_traced(N):
        _check_loss_counts(N, k, jnp.result_type(counts, 1.0))
    r, c = counts.sum(1, keepdims=True), counts.sum(0, keepdims=True)
    neg = k * r * c / counts.sum()
    loss = -jnp.sum(counts * jax.nn.log_sigmoid(scores) + neg * jax.nn.log_sigmoid(-scores))
    if not checks.is_traced(loss) and not np.isfinite(float(loss)):
        raise ValueError(f"scores: the loss overflows {loss.dtype} (|scores| up to {float(np.abs(S).max()):.3g})")
    return loss


# ------------------------------------------------------------------------------------------ SGNS


def keep_probability(counts: np.ndarray, sample: float = 1e-3) -> np.ndarray:
    """word2vec's subsampling: keep each occurrence of word :math:`w` with probability
    :math:`\\min\\big(1, (\\sqrt{f_w/t} + 1)\\, t/f_w\\big)`, :math:`f_w` its count and :math:`t` = ``sample``
    × the total count (gensim 4's rule; ``sample = 0`` keeps everything).

    ``counts``: a non-empty 1-D array of finite, positive real counts; ``sample``: a finite real, 0 or at least
    float64's smallest normal number. The rule depends only on ratios of counts, so they are first scaled
    by a power of two to a largest count in [1, 2): exact, it changes no bit of the result for counts whose
    sum is finite, and counts near float64's limits give the right probabilities too.
    """
    counts = checks.array(counts, "counts", ndim=1, kinds="iuf").astype(np.float64)
    if counts.min() <= 0:
        raise ValueError(f"counts: expected positive counts, got a count {counts.min()}")
    sample = checks.real(sample, "sample", nonnegative=True)
    if sample == 0:
        return np.ones_like(counts)
    if sample < np.finfo(np.float64).tiny:
        raise ValueError(f"sample: must be 0 or at least {np.finfo(np.float64).tiny:.3g}, got {sample}")
    counts = np.ldexp(counts, 1 - int(np.frexp(counts.max())[1]))
    t = sample * counts.sum()
    return np.minimum(1.0, (np.sqrt(counts / t) + 1) * t / counts)


def noise_table(counts: np.ndarray, power: float = 0.75, size: int = 1 << 22) -> np.ndarray:
    """word2vec's unigram table: ``size`` slots (int32 word ids) filled in proportion to
    :math:`P_n(w) \\propto \\mathrm{count}_w^{0.75}`, so a uniform slot is a draw from :math:`P_n` (up to
    the rounding of :math:`P_n(w) \\cdot` ``size`` to whole slots). A lookup is one gather: cheaper than a
    binary search of the cumulative distribution.

    ``counts``: a non-empty 1-D array of finite, non-negative real counts, not all zero (a word of count 0 is
    never drawn, for any ``power``); ``power``: a finite real; ``size``: an int from the number of words to
    ``2**31 - 1`` (int32 slots). When :math:`\\sum \\mathrm{count}^{p}` overflows or underflows, the counts are
    first scaled by a power of two (:math:`P_n` does not depend on the scale); ``ValueError`` naming ``power``
    when even that cannot keep it a normal float64.
    """
    counts = checks.array(counts, "counts", ndim=1, kinds="iuf").astype(np.float64)
    if counts.min() < 0 or counts.max() == 0:
        raise ValueError("counts: expected non-negative counts, not all zero")
    power = checks.real(power, "power")
    checks.count(size, "size", minimum=counts.size, maximum=_MAX_ID)
    tiny = np.finfo(np.float64).tiny
    with np.errstate(over="ignore"):
        cdf = np.cumsum(_powers(counts, power))
    if not tiny <= cdf[-1] < np.inf:
        pivot = counts.max() if power >= 0 else counts[counts > 0].min()  # the largest weight becomes [1, 2)**p
        with np.errstate(over="ignore"):
            cdf = np.cumsum(_powers(np.ldexp(counts, 1 - int(np.frexp(pivot)[1])), power))
        if not tiny <= cdf[-1] < np.inf:
            raise ValueError(f"power: count**power leaves float64's range even for counts scaled to [1, 2), "
                             f"got {power}")
    slots = (np.arange(size) + 0.5) / size * cdf[-1]
    return np.minimum(np.searchsorted(cdf, slots, side="right"), counts.size - 1).astype(np.int32)


class _SGNSFields(NamedTuple):
    window: int
    negative: int
    draws: int
    batch: int
    alpha: float
    min_alpha: float


def _config_values(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """The fields of an :class:`SGNSConfig`, checked and converted (ints, floats)."""
    sizes = [checks.count(v, name) for v, name in zip(values[:4], _SGNSFields._fields[:4])]
    alpha = checks.real(values[4], "alpha", nonnegative=True)
    min_alpha = checks.real(values[5], "min_alpha", nonnegative=True)
    if min_alpha > alpha:
        raise ValueError(f"min_alpha: must not exceed alpha = {alpha}, got {min_alpha}")
    return (*sizes, alpha, min_alpha)


class SGNSConfig(_SGNSFields):
    """Hyper-parameters of :func:`sgns_step` (word2vec's defaults where it has them).

    ``window`` (max distance; each centre draws :math:`b \\sim \\mathcal U\\{1..w\\}`), ``negative`` = k
    negatives per pair, ``draws`` noise words drawn per centre and shared by its :math:`n_i` pairs with
    weight :math:`k\\,n_i/\\text{draws}` (30 keeps each draw's weight near 1, as word2vec's per-pair draws),
    ``batch`` centres per step (keep it small: summed updates of a frequent word diverge beyond about 512),
    learning rate decaying linearly from ``alpha`` to ``min_alpha``.

    Checked on construction (and by ``_replace``): the four sizes are ints ``>= 1``, the rates finite reals
    with ``0 <= min_alpha <= alpha``; ``TypeError``/``ValueError`` naming the field otherwise.
    """

    __slots__ = ()

    def __new__(cls, window: int = 5, negative: int = 5, draws: int = 30, batch: int = 256, alpha: float = 0.025,
                min_alpha: float = 0.0001) -> SGNSConfig:
        return super().__new__(cls, *_config_values((window, negative, draws, batch, alpha, min_alpha)))

    @classmethod
    def _make(cls, iterable: Any) -> SGNSConfig:
        return cls(*iterable)


class SGNSState(NamedTuple):
    """Training state of :func:`sgns_step`: the two embedding tables and what the step reads.

    ``w_in`` (V×d, the word vectors), ``w_out`` (V×d, the context vectors), ``tokens``/``sents`` (the padded
    stream of :func:`sgns_stream`: ids and sentence ids, -1 on padding), ``table`` (:func:`noise_table`)
    and ``t`` (steps taken). Data ride in the state so that one compiled step serves every corpus.
    """

    w_in: jax.Array
    w_out: jax.Array
    tokens: jax.Array
    sents: jax.Array
    table: jax.Array
    t: jax.Array


class Stream(NamedTuple):
    """The padded token stream of :func:`sgns_stream`: ``tokens``, ``sents`` (-1 on padding), ``steps`` of
    ``batch`` centres, to be run in chunks of ``chunk`` steps (``steps`` is a multiple of it)."""

    tokens: np.ndarray
    sents: np.ndarray
    steps: int
    chunk: int


def sgns_stream(
    encoded: Encoded, keep: np.ndarray, *, epochs: int, window: int, batch: int, seed: int = 0, chunk: int = 500
) -> Stream:
    """The token stream of ``epochs`` passes, each subsampled afresh (an occurrence kept with ``keep[id]``).

    Sentences of different epochs get different ids, so windows never cross an epoch. The stream is padded
    with ``window`` slots in front and, at the end, up to a whole number of equal chunks of at most
    ``chunk`` steps of ``batch`` centres each (one compiled chunk length in :func:`kexue.train.run`; the
    padding, sentence id -1, wastes less than one step per chunk).

    ``keep``: a 1-D array of probabilities in [0, 1], one per vocabulary row (at least ``max(ids) + 1``);
    ``epochs``, ``window``, ``batch``, ``chunk``: ints ``>= 1``; ``seed``: an int in ``[0, 2**32)``.
    ``ValueError`` when subsampling keeps no token at all (there would be nothing to train on).
    """
    ids, sid = _check_encoded(encoded)
    for name, v in (("epochs", epochs), ("window", window), ("batch", batch), ("chunk", chunk)):
        checks.count(v, name)
    keep = checks.array(keep, "keep", ndim=1, kinds="iuf").astype(np.float64)
    if keep.min() < 0 or keep.max() > 1:
        raise ValueError(f"keep: probabilities must lie in [0, 1], got values in [{keep.min()}, {keep.max()}]")
    if ids.max() >= keep.size:
        raise ValueError(f"keep: expected one probability per vocabulary row, got {keep.size} for word id "
                         f"{int(ids.max())}")
    checks.count(seed, "seed", minimum=0, maximum=_MAX_SEED)
    rng = np.random.default_rng(seed)
    n_sent = int(sid.max()) + 1
    if epochs * n_sent >= 2**31 - 1:
        raise ValueError("epochs: too many sentences for int32 sentence ids")
    toks, sents = [], []
    for e in range(epochs):
        mask = rng.random(ids.size) < keep[ids]
        toks.append(ids[mask])
        sents.append(sid[mask] + e * n_sent)
    length = sum(t.size for t in toks)
    if length == 0:
        raise ValueError(f"keep: subsampling kept none of the {ids.size} tokens in {epochs} epoch(s)")
    steps = -(-length // batch)
    n_chunks = -(-steps // chunk)
    chunk = -(-steps // n_chunks)
    steps = n_chunks * chunk
    pad_end = steps * batch - length + window
    tokens = np.concatenate([np.zeros(window, np.int32), *toks, np.zeros(pad_end, np.int32)])
    sents_ = np.concatenate([np.full(window, -1, np.int32), *sents, np.full(pad_end, -1, np.int32)])
    return Stream(tokens.astype(np.int32), sents_.astype(np.int32), steps, chunk)


def sgns_init(key: jax.Array, counts: np.ndarray, dim: int, stream: Stream) -> SGNSState:
    """word2vec's initialisation — ``w_in`` uniform on :math:`[-0.5/d, 0.5/d)`, ``w_out`` zero (float32) — with
    the stream and the :func:`noise_table` of ``counts`` (one count per vocabulary row).

    ``key``: a JAX PRNG key; ``counts`` as for :func:`noise_table`, covering every id of the stream; ``dim``:
    an int in ``[1, 2**31)``; ``stream``: a :class:`Stream` (1-D integer ``tokens >= 0`` and ``sents >= -1``
    of one length, ``steps`` a multiple of ``chunk``).
    """
    checks.prng_key(key)
    checks.count(dim, "dim", maximum=_MAX_ID)
    _check_stream(stream)
    table = noise_table(counts)
    V = np.asarray(counts).size
    if stream.tokens.max() >= V:
        raise ValueError(f"counts: {V} rows, but the stream holds id {int(stream.tokens.max())}")
    w_in = (jax.random.uniform(key, (V, dim), jnp.float32) - 0.5) / dim
    return SGNSState(w_in, jnp.zeros((V, dim), jnp.float32), jnp.asarray(stream.tokens), jnp.asarray(stream.sents),
                     jnp.asarray(table), jnp.zeros((), jnp.int32))


def sgns_step(total_steps: int, config: SGNSConfig = SGNSConfig()):
    """The SGNS step ``step(state, key) -> (state, metrics)`` for :func:`kexue.train.run`: sparse SGD on a batch.

    Step :math:`t` takes the ``batch`` centres at stream positions :math:`tB .. tB + B - 1` (with
    :math:`t \\bmod T` beyond the stream's :math:`T` = ``total_steps`` steps: a further pass at the final rate
    :math:`\\alpha_{\\min}`). Centre :math:`i`
    draws its window :math:`b_i \\sim \\mathcal U\\{1..w\\}`, pairs with the :math:`n_i` tokens of its
    sentence within :math:`b_i`, and draws :math:`D` = ``draws`` noise words :math:`\\nu_{i1}, \\dots, \\nu_{iD}`
    from the table, shared by its pairs (per-window sharing as in Ji et al. 2016):

    .. math::

        \\ell_i = -\\sum_{c} \\log\\sigma(u_i^\\top v_c) - \\frac{k\\, n_i}{D} \\sum_{m=1}^{D}
        \\log\\sigma(-u_i^\\top v_{\\nu_{im}}),

    an unbiased estimate of word2vec's loss of these pairs (k negatives each). The step gathers only the rows
    it needs — :math:`u` of the centres, :math:`v` of the block of :math:`B + 2w` tokens around them (each
    context row serves up to :math:`2w` centres, so positive pairs
    cost one gather and one scatter per token, not per pair) and of the :math:`BD` noise words —
    differentiates :math:`\\sum_i \\ell_i` with respect to those rows, and scatter-adds
    :math:`-\\eta_t \\times` the gradient back (rows hit several times get the sum, as in Hogwild), with
    :math:`\\eta_t = \\alpha - (\\alpha - \\alpha_{\\min})\\, t/T`, :math:`T` = ``total_steps``.
    Metrics: ``loss`` (mean of :math:`\\ell_i` per positive pair) and ``pairs`` (their number).
    Steps are cached by their arguments, so repeated training reuses the compiled chunk.

    ``total_steps``: an int ``>= 1``; ``config``: an :class:`SGNSConfig`. The step checks (while tracing) that
    it gets an :class:`SGNSState` whose stream holds exactly ``total_steps * batch + 2 * window`` slots (as
    :func:`sgns_stream` builds it with this ``window`` and ``batch``) and a PRNG key. Values are not checked
    inside the step: :func:`kexue.train.run` stops on a NaN/inf loss or table.
    """
    checks.count(total_steps, "total_steps")
    return _sgns_step(total_steps, _check_config(config))


@lru_cache(maxsize=16)
def _sgns_step(total_steps: int, config: SGNSConfig):
    """:func:`sgns_step` for checked arguments (cached)."""
    w, B, D = config.window, config.batch, config.draws
    slots = total_steps * B + 2 * w
    offsets = [o for o in range(-w, w + 1) if o != 0]
    dist = jnp.asarray([abs(o) for o in offsets], jnp.int32)

    def loss(u, v, vn, mask, n_ctx):
        pos = jnp.stack([(u * v[w + o:w + o + B]).sum(-1) for o in offsets], axis=1)  # (B, 2w)
        neg = jnp.einsum("bd,bkd->bk", u, vn)  # (B, D)
        pos_loss = -jnp.sum(mask * jax.nn.log_sigmoid(pos))
        return pos_loss - jnp.sum((config.negative / D) * n_ctx[:, None] * jax.nn.log_sigmoid(-neg)), pos_loss

    def step(state: SGNSState, key: jax.Array):
        _check_state(state, slots)
        k_win, k_neg = jax.random.split(checks.prng_key(key))
        start = state.t % total_steps * B
        block = jax.lax.dynamic_slice(state.tokens, (start,), (B + 2 * w,))
        bsent = jax.lax.dynamic_slice(state.sents, (start,), (B + 2 * w,))
        centre, csent = block[w:w + B], bsent[w:w + B]
        reach = jax.random.randint(k_win, (B, 1), 1, w + 1, dtype=jnp.int32)
        ctx_sent = jnp.stack([bsent[w + o:w + o + B] for o in offsets], axis=1)
        mask = ((ctx_sent == csent[:, None]) & (csent[:, None] >= 0) & (dist[None, :] <= reach)).astype(jnp.float32)
        n_ctx = mask.sum(1)
        noise = state.table[jax.random.randint(k_neg, (B, D), 0, state.table.shape[0], dtype=jnp.int32)]
        u, v, vn = state.w_in[centre], state.w_out[block], state.w_out[noise]
        (_, pos_loss), (gu, gv, gn) = jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True)(u, v, vn, mask, n_ctx)
        frac = jnp.minimum(state.t.astype(jnp.float32) / total_steps, 1.0)
        eta = config.alpha - (config.alpha - config.min_alpha) * frac
        w_in = state.w_in.at[centre].add(-eta * gu)
        rows = jnp.concatenate([block, noise.reshape(-1)])
        w_out = state.w_out.at[rows].add(-eta * jnp.concatenate([gv, gn.reshape(-1, gn.shape[-1])]))
        pairs = mask.sum()
        metrics = {"loss": pos_loss / jnp.maximum(pairs, 1.0), "pairs": pairs}
        return state._replace(w_in=w_in, w_out=w_out, t=state.t + 1), metrics

    return step


def train_sgns(
    encoded: Encoded,
    counts: np.ndarray,
    *,
    dim: int = 100,
    epochs: int = 5,
    sample: float = 1e-3,
    config: SGNSConfig = SGNSConfig(),
    key: jax.Array,
    seed: int = 0,
    chunk: int = 500,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """SGNS vectors trained by :func:`sgns_step` through :func:`kexue.train.run`: ``(w_in, w_out, history)``.

    ``counts`` are the vocabulary counts (subsampling with ``sample``, noise from count^0.75); the stream
    of all ``epochs`` is built on the host (:func:`sgns_stream`, seeded by ``seed``) and the steps run in
    equal chunks of at most ``chunk``. ``w_in`` (float32 NumPy) are the word vectors, ``w_out`` the context
    vectors, ``history`` the per-step metrics.

    Arguments are checked as in :func:`sgns_stream`, :func:`keep_probability`, :func:`sgns_init` and
    :func:`SGNSConfig`; ``counts`` must cover every id of ``encoded``. Raises
    :class:`kexue.train.TrainingDiverged`, naming the step and the metric or the table (``state.w_in``,
    ``state.w_out``), as soon as a loss or a vector becomes NaN/inf (e.g. for too large an ``alpha``).
    """
    _check_config(config)
    checks.prng_key(key)
    counts = _check_vocab_counts(counts, encoded)
    stream = sgns_stream(encoded, keep_probability(counts, sample), epochs=epochs, window=config.window,
                         batch=config.batch, seed=seed, chunk=chunk)
    state = sgns_init(jax.random.fold_in(key, 0), counts, dim, stream)
    step = sgns_step(stream.steps, config)
    state, history = run(step, state, steps=stream.steps, key=jax.random.fold_in(key, 1), chunk=stream.chunk,
                         progress=progress)
    return np.asarray(state.w_in), np.asarray(state.w_out), history


def train_sgns_seeds(
    encoded: Encoded,
    counts: np.ndarray,
    seeds: Sequence[int],
    *,
    dim: int = 100,
    epochs: int = 5,
    sample: float = 1e-3,
    config: SGNSConfig = SGNSConfig(),
    chunk: int = 500,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """:func:`train_sgns` once per seed, compiled once: ``(w_in, w_out, history)`` stacked along a leading axis
    of ``len(seeds)``.

    Run :math:`r` draws everything from ``seeds[r]`` as ``train_sgns(key=jax.random.key(seeds[r]),
    seed=seeds[r])`` does: its subsampled stream, initial vectors, windows and noise words. The streams are
    padded (with sentence id -1, which forms no pair) to the longest one, so that every run has the same number
    of steps and reuses one compiled chunk; the learning rate decays over that common length. With streams of
    equal length (e.g. ``sample=0``) run :math:`r` is exactly :func:`train_sgns` with its seed. The runs go one
    after another (vmapping them was twice as slow on CPU in our measurements).
    ``history[name]`` has shape ``(steps, len(seeds))``.

    ``seeds``: a non-empty sequence of distinct ints in ``[0, 2**32)``; the rest is checked as in
    :func:`train_sgns`. A diverging run raises :class:`kexue.train.TrainingDiverged` with a note naming its seed.
    """
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (Sequence, np.ndarray)):
        raise TypeError(f"seeds: expected a sequence of ints, got {type(seeds).__name__}")
    seeds = [checks.count(s, "seeds", minimum=0, maximum=_MAX_SEED) for s in seeds]
    if not seeds:
        raise ValueError("seeds: need at least one seed")
    _check_distinct(seeds, "seeds")
    _check_config(config)
    counts = _check_vocab_counts(counts, encoded)
    keep = keep_probability(counts, sample)
    streams = [sgns_stream(encoded, keep, epochs=epochs, window=config.window, batch=config.batch, seed=int(s),
                           chunk=chunk) for s in seeds]
    steps = max(s.steps for s in streams)
    n_chunks = -(-steps // chunk)
    chunk = -(-steps // n_chunks)
    steps = n_chunks * chunk
    length = steps * config.batch + 2 * config.window
    step = sgns_step(steps, config)
    w_in, w_out, history = [], [], []
    for seed, stream in zip(seeds, streams):
        extra = length - stream.tokens.size
        padded = Stream(np.concatenate([stream.tokens, np.zeros(extra, np.int32)]),
                        np.concatenate([stream.sents, np.full(extra, -1, np.int32)]), steps, chunk)
        key = jax.random.key(int(seed))
        state = sgns_init(jax.random.fold_in(key, 0), counts, dim, padded)
        try:
            state, hist = run(step, state, steps=steps, key=jax.random.fold_in(key, 1), chunk=chunk,
                              progress=progress)
        except TrainingDiverged as exc:
            exc.add_note(f"in the run of seed {seed} (train_sgns_seeds)")
            raise
        w_in.append(np.asarray(state.w_in))
        w_out.append(np.asarray(state.w_out))
        history.append(hist)
    return np.stack(w_in), np.stack(w_out), {name: np.stack([h[name] for h in history], axis=1) for name in history[0]}


# ------------------------------------------------------------------------------------ evaluation


def gensim_word2vec() -> Any:
    """gensim's ``Word2Vec`` class (the reference SGNS/CBOW trainer the chapters compare against).

    Raises:
        ModuleNotFoundError: gensim is not installed; the message names the package and kexue's ``data`` extra.
    """
    return _optional.require("gensim.models", "gensim", "gensim_word2vec()", "data").Word2Vec


def keyed_vectors(words: Sequence[str], vectors: np.ndarray, *, drop_zero: bool = False) -> Any:
    """A gensim ``KeyedVectors`` holding ``vectors`` (float32) under ``words`` (row order kept).

    An all-zero row has no direction (a word whose PPMI row is empty, e.g. one that never shares a
    window) and would make gensim divide by zero: it raises ``ValueError`` unless ``drop_zero=True``
    leaves such words out.

    ``words``: a sequence of distinct ``str``; ``vectors``: a finite real (int or float) array with one row per
    word and at least one column; ``drop_zero``: a bool. gensim stores float32 and computes the row norms
    :math:`\\|x\\|` in float32, so a non-zero row must keep a norm in
    :math:`[\\sqrt{\\text{float32 tiny}}, \\text{float32 max}] \\approx [1.1\\times 10^{-19}, 3.4\\times 10^{38}]`
    there (a value beyond float32's range, or a tiny row, would give inf or NaN directions): ``ValueError``
    otherwise, saying how to scale (cosines do not depend on the scale). ``ValueError`` too when no row is left.
    """
    KeyedVectors = _optional.require("gensim.models", "gensim", "keyed_vectors()", "data").KeyedVectors
    if isinstance(words, (str, bytes)) or not isinstance(words, (Sequence, np.ndarray)):
        raise TypeError(f"words: expected a sequence of str, got {type(words).__name__}")
    odd = next((w for w in words if not isinstance(w, str)), None)
    if odd is not None:
        raise TypeError(f"words: expected str entries, got {type(odd).__name__} {odd!r}")
    vectors = checks.array(vectors, "vectors", ndim=2, kinds="iuf", min_size=0)
    if len(words) != vectors.shape[0]:
        raise ValueError(f"vectors: need one row per word, got {len(words)} words and shape {vectors.shape}")
    if vectors.shape[1] == 0 or not len(words):
        raise ValueError(f"vectors: need at least one word and one dimension, got shape {vectors.shape}")
    _check_distinct(words, "words")
    checks.flag(drop_zero, "drop_zero")
    zero = ~np.any(vectors != 0, axis=1)
    if zero.any() and not drop_zero:
        first = [words[i] for i in np.flatnonzero(zero)[:5]]
        raise ValueError(f"vectors: {int(zero.sum())} all-zero rows (words {first}...); "
                         "pass drop_zero=True to drop them")
    if zero.all():
        raise ValueError("vectors: every row is zero; no word would be left")
    kept = _float32_rows(vectors[~zero], [w for w, z in zip(words, zero) if not z])
    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors([w for w, z in zip(words, zero) if not z], kept)
    return kv


def similarity_rho(kv: Any, name: str = "wordsim353") -> tuple[float, float]:
    """Spearman :math:`\\rho` between cosine similarities and human scores on ``"wordsim353"`` or
    ``"simlex999"`` (gensim's ``evaluate_word_pairs``; pairs with unknown words skipped), and the skipped share.

    ``kv`` must be a gensim ``KeyedVectors`` (``TypeError``); ``ValueError`` naming ``kv`` when no pair has
    both words in it, or when :math:`\\rho` is undefined (NaN: the known pairs' similarities are constant).
    """
    name = checks.one_of(name, "name", ("wordsim353", "simlex999"))
    _check_kv(kv)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns about ties; the value is what gensim reports
        try:
            _, spearman, oov = kv.evaluate_word_pairs(eval_set(name))
        except ValueError as exc:
            raise ValueError(f"kv: no pair of {name} has both words in the vocabulary ({exc})") from exc
    rho = float(spearman[0])
    if np.isnan(rho):
        raise ValueError(f"kv: Spearman rho on {name} is undefined (NaN) for the {100 - float(oov):.3g} % of "
                         "pairs it knows: their similarities or scores are constant")
    return rho, float(oov) / 100


class AnalogyScore(NamedTuple):
    """3CosAdd analogy results: ``correct`` of ``total`` answered, ``skipped`` questions with unknown words,
    and per section ``(name, correct, total)``."""

    correct: int
    total: int
    skipped: int
    sections: tuple[tuple[str, int, int], ...]

    @property
    def accuracy(self) -> float:
        """``correct / total`` (``ValueError`` when no question was answered)."""
        if not self.total:
            raise ValueError("total: no question was answered, so the accuracy is undefined")
        return self.correct / self.total


def analogy_accuracy(kv: Any, path: str | None = None, *, batch: int = 1024) -> AnalogyScore:
    """gensim's ``evaluate_word_analogies`` rule, vectorised: for "a : b :: c : ?" answer the word maximising
    :math:`\\cos(x, \\hat b + \\hat c - \\hat a)` over the vocabulary minus {a, b, c} (hats: unit vectors).

    Words are matched case-insensitively; questions with a word outside the vocabulary are skipped. The
    file defaults to the word2vec questions (:func:`kexue.data.eval_set` ``("analogies")``).

    ``kv``: a gensim ``KeyedVectors`` whose vectors have finite, non-zero norms; ``path``: ``None``, a ``str`` or
    an ``os.PathLike`` (``TypeError`` otherwise); ``batch``: an int ``>= 1``. ``ValueError`` naming ``kv`` when
    no question has all four words in the vocabulary.
    """
    _check_kv(kv)
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a file name (str or os.PathLike) or None, got {type(path).__name__}")
    path = eval_set("analogies") if path is None else path
    checks.count(batch, "batch")
    index: dict[str, int] = {}
    for i, word in enumerate(kv.index_to_key):
        index.setdefault(str(word).upper(), i)
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.asarray(kv.get_normed_vectors(), dtype=np.float32)
    if not np.all(np.isfinite(unit)):
        raise ValueError("kv: some vectors have a zero or non-finite norm, so they have no direction")
    sections: list[list] = []
    questions: list[tuple[int, int, int, int, int]] = []
    skipped = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith(": "):
                sections.append([line[2:].strip(), 0, 0])
                continue
            parts = line.upper().split()
            if len(parts) != 4:
                continue
            if not sections:
                raise ValueError(f"path: a question precedes the first section header in {path}")
            rows = [index.get(p) for p in parts]
            if None in rows:
                skipped += 1
                continue
            questions.append((*rows, len(sections) - 1))
    if not questions:
        raise ValueError(f"kv: none of the questions of {path} has all four words in the vocabulary "
                         f"({skipped} skipped)")
    q = np.asarray(questions, dtype=np.int64).reshape(-1, 5)
    hits = np.zeros(len(q), dtype=bool)
    for lo in range(0, len(q), batch):
        a, b, c, d = (q[lo:lo + batch, j] for j in range(4))
        scores = (unit[b] + unit[c] - unit[a]) @ unit.T
        n = np.arange(len(a))
        scores[n, a] = scores[n, b] = scores[n, c] = -np.inf
        hits[lo:lo + batch] = scores.argmax(1) == d
    for s in range(len(sections)):
        in_s = q[:, 4] == s
        sections[s][1:] = int(hits[in_s].sum()), int(in_s.sum())
    return AnalogyScore(int(hits.sum()), len(q), skipped, tuple((n, c, t) for n, c, t in sections if t))


def evaluate(kv: Any) -> dict[str, float]:
    """The book's scores of one embedding: ``ws353`` and ``simlex`` (Spearman :math:`\\rho`), ``analogy``
    (3CosAdd accuracy), plus ``ws353_oov``, ``simlex_oov`` (skipped pair shares), ``ws353_n``, ``simlex_n``
    (pairs scored) and ``analogy_n`` (questions answered)."""
    ws, ws_oov = similarity_rho(kv, "wordsim353")
    sl, sl_oov = similarity_rho(kv, "simlex999")
    an = analogy_accuracy(kv)
    return {"ws353": ws, "simlex": sl, "analogy": an.accuracy, "ws353_oov": ws_oov, "simlex_oov": sl_oov,
            "ws353_n": float(round(_pair_count("wordsim353") * (1 - ws_oov))),
            "simlex_n": float(round(_pair_count("simlex999") * (1 - sl_oov))), "analogy_n": float(an.total)}


@lru_cache(maxsize=4)
def _pair_count(name: str) -> int:
    """The number of valid ``word<TAB>word<TAB>score`` lines of an evaluation set, parsed as gensim does."""
    n = 0
    with open(eval_set(name), encoding="utf-8") as f:
        for line in f:
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 3:
                continue
            try:
                float(parts[2])
            except ValueError:
                continue
            n += 1
    return n


# ------------------------------------------------------------------- latent classes and CBOW


def latent_class_corpus(
    n_tokens: int, *, n_words: int = 200, n_classes: int = 5, p_next: float = 0.6, zipf: float = 1.0,
    seed: int = 0,
) -> tuple[Encoded, np.ndarray]:
    """A token stream from a hidden Markov model with ``n_classes`` latent word classes: ``(encoded, labels)``.

    The class sequence is a Markov chain that moves from class :math:`a` to :math:`a + 1 \\bmod K` with
    probability ``p_next`` and to each other class (itself included) with :math:`(1 - p)/(K - 1)`; given its
    class :math:`a`, a token is word :math:`a + K r` with probability :math:`\\propto (r + 1)^{-s}` (``zipf``
    = :math:`s`), :math:`r = 0, 1, \\dots`. Word :math:`w` belongs to class ``labels[w]`` :math:`= w \\bmod K`:
    words of one class have the same context distributions and differ only in frequency, so a good word
    vector groups them (:func:`neighbour_purity`). One sentence; a prefix of the stream is a smaller corpus.

    ``n_tokens``, ``n_words`` (``>= n_classes``), ``n_classes`` (``>= 2``): ints; ``p_next`` in [0, 1];
    ``zipf`` a finite real ``>= 0``; ``seed`` an int in ``[0, 2**32)``.
    """
    checks.count(n_tokens, "n_tokens", maximum=_MAX_ID)
    checks.count(n_classes, "n_classes", minimum=2)
    checks.count(n_words, "n_words", minimum=n_classes, maximum=_MAX_ID)
    p_next = checks.real(p_next, "p_next", nonnegative=True)
    if p_next > 1:
        raise ValueError(f"p_next: a probability in [0, 1], got {p_next}")
    zipf = checks.real(zipf, "zipf", nonnegative=True)
    checks.count(seed, "seed", minimum=0, maximum=_MAX_SEED)
    rng = np.random.default_rng(seed)
    K = n_classes
    others = np.array([0, *range(2, K)])  # class steps other than +1
    step = np.where(rng.random(n_tokens) < p_next, 1, others[rng.integers(0, K - 1, n_tokens)])
    cls = (rng.integers(0, K) + np.cumsum(step) - step[0]) % K
    labels = np.arange(n_words) % K
    ids = np.empty(n_tokens, np.int64)
    for a in range(K):
        words = np.flatnonzero(labels == a)
        p = (np.arange(words.size) + 1.0) ** -zipf
        at = cls == a
        ids[at] = words[rng.choice(words.size, int(at.sum()), p=p / p.sum())]
    return Encoded(ids.astype(np.int32), np.zeros(n_tokens, np.int32)), labels


def neighbour_purity(vectors: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Nearest-neighbour class purity: the mean, over the rows, of the share of each row's ``k`` nearest other
    rows (by cosine similarity) that carry its label. 1 when every neighbourhood is one class; about
    :math:`\\sum_a q_a^2` (class shares :math:`q_a`) for vectors that ignore the classes.

    ``vectors``: a finite real (V, d) array without zero rows; ``labels``: V integer labels; ``k``: an int in
    ``[1, V)``. Ties are broken by row order.
    """
    X = checks.array(vectors, "vectors", ndim=2, kinds="iuf").astype(np.float64)
    y = checks.array(labels, "labels", ndim=1, kinds="iu")
    if y.shape != (X.shape[0],):
        raise ValueError(f"labels: need one label per row of vectors {X.shape}, got shape {y.shape}")
    checks.count(k, "k", maximum=X.shape[0] - 1)
    norms = np.linalg.norm(X, axis=1)
    if np.any(norms == 0):
        raise ValueError(f"vectors: {int(np.sum(norms == 0))} zero row(s) have no direction; leave them out")
    U = X / norms[:, None]
    S = U @ U.T
    np.fill_diagonal(S, -np.inf)
    nearest = np.argsort(-S, axis=1, kind="stable")[:, :k]
    return float(np.mean(y[nearest] == y[:, None]))


def cbow_windows(encoded: Encoded, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The context of every position of the stream: ``ctx`` (T, 2w) int32 word ids at offsets
    :math:`-w..-1, 1..w` and ``mask`` (T, 2w) float32, 1 where that offset lies inside the stream and the
    sentence (elsewhere ``ctx`` is 0 and the mask 0)."""
    ids, sid = _check_encoded(encoded)
    checks.count(window, "window")
    T = ids.size
    offsets = np.r_[-window:0, 1:window + 1]
    pos = np.arange(T)[:, None] + offsets[None, :]
    inside = (pos >= 0) & (pos < T)
    posc = np.clip(pos, 0, T - 1)
    mask = inside & (sid[posc] == sid[:, None])
    return np.where(mask, ids[posc], 0).astype(np.int32), mask.astype(np.float32)


def cbow_loss(w_in: jax.Array, w_out: jax.Array, ctx: jax.Array, mask: jax.Array, target: jax.Array) -> jax.Array:
    """Full-softmax CBOW (the article's model), mean over the batch:

    .. math::

        h = \\sum_{o} m_o\\, W_{\\rm in}[c_o] = b^\\top W_{\\rm in}, \\qquad
        \\ell = -\\log \\operatorname{softmax}(h^\\top W_{\\rm out})_{x},

    with :math:`b` the bag of context words (``ctx`` (B, 2w) ids, ``mask`` (B, 2w) weights) and :math:`x` the
    centre word (``target`` (B,)). ``w_in`` is (V, n), ``w_out`` (n, V): an :math:`N \\to n \\to N` network.
    """
    h = jnp.einsum("bo,bod->bd", mask, w_in[ctx])
    logits = h @ w_out
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), target[:, None], axis=1))


def train_cbow(
    encoded: Encoded, vocab_size: int, *, dims: Sequence[int], lengths: Sequence[int], key: jax.Array,
    starts: Sequence[int] | None = None, window: int = 2, steps: int = 3000, batch: int = 256, lr: float = 0.02,
    chunk: int = 1000,
) -> list[np.ndarray]:
    """Several full-softmax CBOW models (:func:`cbow_loss`) trained at once by Adam through
    :func:`kexue.train.run`: model :math:`m` has ``dims[m]`` hidden units and sees the ``lengths[m]`` tokens
    of the stream from position ``starts[m]`` on (default 0; contexts outside that stretch masked). Several
    corpora can thus share one call, concatenated into one stream with distinct sentence ids. Returns each model's word vectors :math:`W_{\\rm in}`
    ((V, ``dims[m]``) float32 NumPy).

    The models are independent: their losses are summed, and Adam's update is elementwise, so training them
    together is training each alone (with the same step keys). They share shapes — :math:`W_{\\rm in}` is
    (M, V, max dims) with the surplus hidden units masked to zero — so one compiled program serves them all.
    Each step draws ``batch`` centre positions per model, uniformly from its prefix. Initialisation: normal
    entries of scale :math:`1/\\sqrt{n}` in :math:`W_{\\rm in}`, zeros in :math:`W_{\\rm out}`.

    ``dims``/``lengths``/``starts``: equally long non-empty sequences of ints, ``dims`` and ``lengths``
    ``>= 1``, ``starts >= 0``, each stretch inside the stream;
    ``vocab_size`` must exceed every id; ``key`` a PRNG key; ``window``, ``steps``, ``batch``, ``chunk``
    ints ``>= 1``; ``lr`` a finite real ``> 0``.
    """
    import optax

    from kexue.train import init_state, supervised_step

    ids, _ = _check_encoded(encoded)
    checks.count(vocab_size, "vocab_size", maximum=_MAX_ID)
    if ids.max() >= vocab_size:
        raise ValueError(f"vocab_size: the ids reach {int(ids.max())}, beyond vocab_size = {vocab_size}")
    checks.prng_key(key)
    for name, v in (("window", window), ("steps", steps), ("batch", batch), ("chunk", chunk)):
        checks.count(v, name)
    lr = checks.real(lr, "lr", positive=True)
    if isinstance(dims, (str, bytes)) or isinstance(lengths, (str, bytes)):
        raise TypeError("dims: expected sequences of ints for dims and lengths")
    dims = [checks.count(d, "dims") for d in dims]
    lengths = [checks.count(n, "lengths", maximum=ids.size) for n in lengths]
    if not dims or len(dims) != len(lengths):
        raise ValueError(f"dims: need one dimension per length, got {len(dims)} and {len(lengths)}")
    if starts is None:
        starts = [0] * len(dims)
    if isinstance(starts, (str, bytes)):
        raise TypeError("starts: expected a sequence of ints")
    starts = [checks.count(a, "starts", minimum=0) for a in starts]
    if len(starts) != len(dims):
        raise ValueError(f"starts: need one start per model, got {len(starts)} for {len(dims)} models")
    if any(a + n > ids.size for a, n in zip(starts, lengths)):
        raise ValueError(f"starts: a stretch starts + lengths passes the end of the stream ({ids.size} tokens)")
    M, D, V = len(dims), max(dims), vocab_size
    ctx, mask = cbow_windows(encoded, window)
    offsets = np.r_[-window:0, 1:window + 1]
    data = jax.device_put((jnp.asarray(ids), jnp.asarray(ctx), jnp.asarray(mask)))
    a_m = jnp.asarray(starts, jnp.int32)[:, None]
    n_m = jnp.asarray(lengths, jnp.int32)[:, None]
    hidden = jnp.asarray(np.arange(D)[None, :] < np.asarray(dims)[:, None], jnp.float32)  # (M, D)
    scale = jnp.asarray(1 / np.sqrt(dims), jnp.float32)[:, None, None]
    k_init, k_run = jax.random.split(key)
    params = {"w_in": jax.random.normal(k_init, (M, V, D), jnp.float32) * scale * hidden[:, None, :],
              "w_out": jnp.zeros((M, D, V), jnp.float32)}

    def loss(p, batch_, k):
        tokens, ctx_all, mask_all = data
        t = a_m + jax.random.randint(k, (M, batch), 0, n_m)  # centre positions, per model
        ctx_pos = t[..., None] + offsets
        inside = ((ctx_pos >= a_m[..., None]) & (ctx_pos < (a_m + n_m)[..., None])).astype(jnp.float32)
        per_model = jax.vmap(cbow_loss)(p["w_in"] * hidden[:, None, :], p["w_out"], ctx_all[t],
                                        mask_all[t] * inside, tokens[t])
        return jnp.sum(per_model)

    opt = optax.adam(lr)
    state, _ = run(supervised_step(loss, opt), init_state(params, opt), steps=steps, key=k_run,
                   chunk=min(chunk, steps), progress=False)
    w_in = np.asarray(state.params["w_in"])
    return [w_in[m, :, :d] for m, d in enumerate(dims)]


# ---------------------------------------------------------------------------------------- checks





def _check_distinct(items: Sequence[Any], argname: str) -> None:
    if len(set(items)) != len(items):
        seen: set[Any] = set()
        twice = next(x for x in items if x in seen or seen.add(x))
        raise ValueError(f"{argname}: must be distinct, {twice!r} appears more than once")


def _check_kv(kv: Any) -> None:
    KeyedVectors = _optional.require("gensim.models", "gensim", "kv (a gensim KeyedVectors)", "data").KeyedVectors
    if not isinstance(kv, KeyedVectors):
        raise TypeError(f"kv: expected a gensim KeyedVectors (keyed_vectors(...) or a model's .wv), "
                        f"got {type(kv).__name__}")


def _check_corpus(corpus: Any) -> None:
    if not isinstance(corpus, Corpus):
        raise TypeError(f"corpus: expected a kexue.data.Corpus, got {type(corpus).__name__}")
    if corpus.n_tokens == 0:
        raise ValueError("corpus: the corpus is empty (no tokens)")


def _check_encoded(encoded: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(encoded, Encoded):
        raise TypeError(f"encoded: expected an Encoded (from encode), got {type(encoded).__name__}")
    ids = checks.array(encoded.ids, "encoded.ids", ndim=1, kinds="iu", min_size=0)
    sid = checks.array(encoded.sid, "encoded.sid", ndim=1, kinds="iu", min_size=0)
    if ids.shape != sid.shape:
        raise ValueError(f"encoded: ids and sid must be 1-D of equal length, got {ids.shape} and {sid.shape}")
    if ids.size == 0:
        raise ValueError("encoded: the stream is empty")
    if ids.min() < 0:
        raise ValueError(f"encoded.ids: word ids must be >= 0, got {ids.min()}")
    if sid.min() < 0 or np.any(np.diff(sid) < 0):
        raise ValueError("encoded.sid: sentence ids must be non-negative and non-decreasing")
    return ids, sid


def _check_vocab_counts(counts: Any, encoded: Any) -> np.ndarray:
    """The vocabulary counts of SGNS training as an array covering every id of ``encoded``."""
    ids, _ = _check_encoded(encoded)
    counts = checks.array(counts, "counts", ndim=1, kinds="iuf")
    if counts.size <= ids.max():
        raise ValueError(f"counts: {counts.size} counts, but encoded holds word id {int(ids.max())}")
    return counts


def _check_config(config: Any) -> SGNSConfig:
    if not isinstance(config, SGNSConfig):
        raise TypeError(f"config: expected an SGNSConfig, got {type(config).__name__}")
    _config_values(config)  # a config built around the constructor (tuple.__new__) is checked here too
    return config


def _check_stream(stream: Any) -> None:
    if not isinstance(stream, Stream):
        raise TypeError(f"stream: expected a Stream (from sgns_stream), got {type(stream).__name__}")
    tokens = checks.array(stream.tokens, "stream.tokens", ndim=1, kinds="iu")
    sents = checks.array(stream.sents, "stream.sents", ndim=1, kinds="iu")
    if tokens.shape != sents.shape:
        raise ValueError(f"stream: tokens and sents must have one length, got {tokens.shape} and {sents.shape}")
    if tokens.min() < 0 or sents.min() < -1:
        raise ValueError("stream: tokens must be >= 0 and sentence ids >= -1 (padding)")
    steps, chunk = checks.count(stream.steps, "stream.steps"), checks.count(stream.chunk, "stream.chunk")
    if steps % chunk:
        raise ValueError(f"stream: steps ({steps}) must be a multiple of chunk ({chunk})")


def _check_state(state: Any, slots: int) -> None:
    """Trace-time check of an SGNS step's state: type, table shapes and the stream's length."""
    if not isinstance(state, SGNSState):
        raise TypeError(f"state: sgns_step expects an SGNSState (from sgns_init), got {type(state).__name__}")
    if jnp.ndim(state.w_in) != 2 or jnp.shape(state.w_out) != jnp.shape(state.w_in):
        raise ValueError(f"state: w_in and w_out must be (V, d) tables of one shape, got {jnp.shape(state.w_in)} "
                         f"and {jnp.shape(state.w_out)}")
    if jnp.shape(state.tokens) != (slots,) or jnp.shape(state.sents) != (slots,):
        raise ValueError(f"state: the stream must hold total_steps * batch + 2 * window = {slots} slots (build it "
                         f"with sgns_stream of this window and batch, and pass its steps), got "
                         f"{jnp.shape(state.tokens)}")


def _check_loss_counts(N: np.ndarray, k: Any, dtype: Any) -> None:
    """Host checks of :func:`sgns_expected_loss`'s concrete counts, computed in ``dtype``."""
    if N.min() < 0:
        raise ValueError(f"counts: must be non-negative, got {N.min()}")
    N64 = N.astype(np.float64)
    D = N64.sum()
    if D == 0:
        raise ValueError("counts: every count is zero")
    with np.errstate(over="ignore"):
        big = (k if isinstance(k, float) else 1.0) * N64.sum(1).max() * N64.sum(0).max()
    if N.dtype.kind in "iu" and D > np.iinfo(N.dtype).max:
        raise ValueError(f"counts: their sum {D:.3g} overflows {N.dtype}")
    if not max(D, big) <= float(jnp.finfo(dtype).max):
        raise ValueError(f"counts: k r_i c_j (up to {big:.3g}) overflows {dtype}; divide the counts by a "
                         "constant (the loss scales with it, its minimiser does not)")


def _rescaled(values: np.ndarray, argname: str) -> np.ndarray:
    """Non-negative finite counts, not all zero, for a scale-free formula (logs of counts and their sums).

    ``values`` themselves when their float64 sum is finite and no positive value is subnormal (every ordinary
    input). Otherwise they are divided by a power of two (exact) to a largest value in [0.5, 1), when that
    leaves every positive value normal: sums no longer overflow and subnormal counts regain their digits.
    Counts with a finite sum that span too wide a range for that stay as they are; with an overflowing sum
    they are a ``ValueError``.
    """
    tiny = np.finfo(np.float64).tiny
    positive = values > 0
    with np.errstate(over="ignore"):
        summable = bool(np.isfinite(values.sum()))
    if summable and values[positive].min() >= tiny:
        return values
    scaled = np.ldexp(values, -int(np.frexp(values.max())[1]))
    if scaled[positive].min() >= tiny:
        return scaled
    if summable:
        return values
    raise ValueError(f"{argname}: the counts span {values[positive].min():.3g} to {values.max():.3g}, too wide a "
                     "range for float64 (their sum overflows, and scaled down the smallest would underflow)")


def _ldexp(M: Any, e: int) -> Any:
    """:math:`2^e M` (exact) for a dense array or a scipy.sparse matrix, as a new float64 matrix."""
    if not sps.issparse(M):
        return np.ldexp(M.astype(np.float64), e)
    M = sps.csr_matrix(M, dtype=np.float64, copy=True)
    M.data = np.ldexp(M.data, e)
    return M





def _powers(counts: np.ndarray, power: float) -> np.ndarray:
    """``counts ** power``, with 0 for a count of 0 (also for ``power <= 0``)."""
    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        w = counts**power
    w[counts == 0] = 0.0
    return w


def _float32_rows(rows: np.ndarray, words: list[str]) -> np.ndarray:
    """Non-zero ``rows`` as float32, checked to keep a finite, normal float32 norm (as gensim computes it)."""
    f32 = np.finfo(np.float32)
    with np.errstate(over="ignore", under="ignore"):
        out = rows.astype(np.float32)
        norms = np.linalg.norm(out, axis=1)
    bad = ~(np.isfinite(norms) & (norms >= np.sqrt(f32.tiny)))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"vectors: {int(bad.sum())} row(s) leave float32's range in gensim (word {words[i]!r}: "
                         f"largest |entry| {np.abs(rows[i]).max():.3g}); scale the vectors so that row norms lie "
                         "in [1e-19, 1e38] (cosines do not depend on the scale)")
    return out


def _check_dense_counts(counts: Any) -> np.ndarray:
    C = checks.array(counts, "counts", ndim=2, kinds="iuf").astype(np.float64)
    if C.min() < 0:
        raise ValueError(f"counts: must be non-negative, got {C.min()}")
    if np.any(C.max(1) == 0) or np.any(C.max(0) == 0):
        raise ValueError("counts: every row and column needs a positive count")
    return C
