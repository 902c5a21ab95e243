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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sps

from kexue.data import Corpus, eval_set
from kexue.train import run

__all__ = [
    "AnalogyScore",
    "Encoded",
    "SGNSConfig",
    "SGNSState",
    "Stream",
    "Vocab",
    "analogy_accuracy",
    "build_vocab",
    "cooccurrence",
    "encode",
    "evaluate",
    "keep_probability",
    "keyed_vectors",
    "noise_table",
    "ppmi",
    "sgns_expected_loss",
    "sgns_init",
    "sgns_step",
    "sgns_stream",
    "shifted_pmi",
    "similarity_rho",
    "svd_vectors",
    "train_sgns",
    "train_sgns_seeds",
    "truncated_svd",
]


# ------------------------------------------------------------------------------------ vocabulary


@dataclass(frozen=True, eq=False)
class Vocab:
    """The kept words, most frequent first (ties in order of first appearance), with their counts."""

    words: tuple[str, ...]
    counts: np.ndarray

    def __len__(self) -> int:
        return len(self.words)

    @cached_property
    def index(self) -> dict[str, int]:
        """``word -> row``."""
        return {w: i for i, w in enumerate(self.words)}


def build_vocab(corpus: Corpus, min_count: int = 5, max_size: int | None = None) -> Vocab:
    """The words seen at least ``min_count`` times, sorted by count (descending; stable), at most ``max_size``."""
    _check_corpus(corpus)
    _check_int(min_count, "min_count", low=1)
    if max_size is not None:
        _check_int(max_size, "max_size", low=1)
    counts = corpus.counts()
    order = np.argsort(-counts, kind="stable")
    order = order[counts[order] >= min_count][:max_size]
    if order.size == 0:
        raise ValueError(f"min_count: no word occurs {min_count} times or more; the vocabulary would be empty")
    return Vocab(tuple(corpus.types[i] for i in order.tolist()), counts[order].astype(np.int64))


class Encoded(NamedTuple):
    """A corpus as vocabulary rows: ``ids`` (int32) and the sentence each token belongs to, ``sid`` (int32)."""

    ids: np.ndarray
    sid: np.ndarray


def encode(corpus: Corpus, vocab: Vocab, max_len: int | None = None) -> Encoded:
    """Map the corpus onto ``vocab``, dropping out-of-vocabulary tokens *before* windowing (as word2vec does).

    A sentence is a document, or with ``max_len`` a piece of ``max_len`` raw tokens of it (the pieces that
    :meth:`kexue.data.Corpus.docs` ``(max_len)`` hands to gensim); windows never cross sentences.
    """
    _check_corpus(corpus)
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab: expected a Vocab, got {type(vocab).__name__}")
    if max_len is not None:
        _check_int(max_len, "max_len", low=1)
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
    """
    ids, sid = _check_encoded(encoded)
    _check_int(vocab_size, "vocab_size", low=1)
    _check_int(window, "window", low=1)
    if ids.size and ids.max() >= vocab_size:
        raise ValueError(f"vocab_size: the ids reach {int(ids.max())}, beyond vocab_size = {vocab_size}")
    rows, cols, vals = [], [], []
    for d in range(1, window + 1):
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
    """
    if not (isinstance(alpha, (int, float)) and 0 < alpha <= 1):
        raise ValueError(f"alpha: must lie in (0, 1], got {alpha!r}")
    if not (isinstance(shift, (int, float)) and shift > 0 and math.isfinite(shift)):
        raise ValueError(f"shift: must be a positive number, got {shift!r}")
    C = sps.csr_matrix(counts, dtype=np.float64)
    C.eliminate_zeros()
    if C.shape[0] != C.shape[1]:
        raise ValueError(f"counts: expected a square matrix, got shape {C.shape}")
    if C.nnz == 0:
        raise ValueError("counts: the matrix has no non-zero entry")
    if not np.all(np.isfinite(C.data)) or C.data.min() < 0:
        raise ValueError("counts: co-occurrence counts must be finite and non-negative")
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
    spinning threads made them 10-30 times slower in our measurements.
    """
    if method not in ("randomized", "arpack"):
        raise ValueError(f"method: expected 'randomized' or 'arpack', got {method!r}")
    _check_int(k, "k", low=1)
    if threads is not None:
        _check_int(threads, "threads", low=1)
    if not (sps.issparse(M) or isinstance(M, np.ndarray)) or len(M.shape) != 2:
        raise TypeError(f"M: expected a 2-D array or scipy.sparse matrix, got {type(M).__name__}")
    if k >= min(M.shape):
        raise ValueError(f"k: must be smaller than the matrix's smaller side {min(M.shape)}, got {k}")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        if method == "randomized":
            from sklearn.utils.extmath import randomized_svd

            U, s, _ = randomized_svd(M, k, n_iter=n_iter, random_state=seed)
        else:
            from scipy.sparse.linalg import svds

            v0 = np.random.default_rng(seed).uniform(-1, 1, min(M.shape))
            U, s, _ = svds(sps.csr_matrix(M, dtype=np.float64), k=k, v0=v0)
            order = np.argsort(-s)
            U, s = U[:, order], s[order]
    signs = np.sign(U[np.argmax(np.abs(U), axis=0), np.arange(U.shape[1])])
    return U * np.where(signs == 0, 1.0, signs), s


def svd_vectors(U: np.ndarray, s: np.ndarray, dim: int | None = None, eig: float = 0.5) -> np.ndarray:
    """Word vectors :math:`U_{:, :n}\\, \\mathrm{diag}(\\sigma_{:n})^{p}` from :func:`truncated_svd` output.

    ``dim`` = :math:`n` (default: all columns); ``eig`` = :math:`p` (0.5 is the symmetric split
    :math:`U\\Sigma^{1/2}`; 0 keeps :math:`U`, often better on similarity; 1 gives :math:`U\\Sigma`).
    """
    U, s = np.asarray(U), np.asarray(s)
    if U.ndim != 2 or s.shape != (U.shape[1],):
        raise ValueError(f"U, s: expected shapes (V, K) and (K,), got {U.shape} and {s.shape}")
    dim = U.shape[1] if dim is None else dim
    _check_int(dim, "dim", low=1)
    if dim > U.shape[1]:
        raise ValueError(f"dim: at most the {U.shape[1]} computed singular vectors, got {dim}")
    return U[:, :dim] * s[:dim] ** eig


# ------------------------------------------------------------------------------ Levy & Goldberg


def shifted_pmi(counts: np.ndarray, k: float = 1.0) -> np.ndarray:
    """Dense :math:`\\mathrm{PMI}(i, j) - \\log k = \\log\\frac{C_{ij} D}{r_i c_j} - \\log k` (``-inf`` where
    :math:`C_{ij} = 0`), with :math:`D = \\sum C`, :math:`r` the row and :math:`c` the column sums."""
    C = _check_dense_counts(counts)
    if not k > 0:
        raise ValueError(f"k: must be positive, got {k}")
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
    """
    if jnp.shape(scores) != jnp.shape(counts) or jnp.ndim(counts) != 2:
        raise ValueError(f"scores, counts: expected equal 2-D shapes, got {jnp.shape(scores)}, {jnp.shape(counts)}")
    r, c = counts.sum(1, keepdims=True), counts.sum(0, keepdims=True)
    neg = k * r * c / counts.sum()
    return -jnp.sum(counts * jax.nn.log_sigmoid(scores) + neg * jax.nn.log_sigmoid(-scores))


# ------------------------------------------------------------------------------------------ SGNS


def keep_probability(counts: np.ndarray, sample: float = 1e-3) -> np.ndarray:
    """word2vec's subsampling: keep each occurrence of word :math:`w` with probability
    :math:`\\min\\big(1, (\\sqrt{f_w/t} + 1)\\, t/f_w\\big)`, :math:`f_w` its count and :math:`t` = ``sample``
    × the total count (gensim 4's rule; ``sample = 0`` keeps everything)."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0 or counts.min() <= 0:
        raise ValueError("counts: expected a non-empty 1-D array of positive counts")
    if not sample >= 0:
        raise ValueError(f"sample: must be non-negative, got {sample}")
    if sample == 0:
        return np.ones_like(counts)
    t = sample * counts.sum()
    return np.minimum(1.0, (np.sqrt(counts / t) + 1) * t / counts)


def noise_table(counts: np.ndarray, power: float = 0.75, size: int = 1 << 22) -> np.ndarray:
    """word2vec's unigram table: ``size`` slots (int32 word ids) filled in proportion to
    :math:`P_n(w) \\propto \\mathrm{count}_w^{0.75}`, so a uniform slot is a draw from :math:`P_n` (up to
    the rounding of :math:`P_n(w) \\cdot` ``size`` to whole slots). A lookup is one gather: cheaper than a
    binary search of the cumulative distribution."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0 or counts.min() < 0 or counts.sum() <= 0:
        raise ValueError("counts: expected a non-empty 1-D array of non-negative counts, not all zero")
    _check_int(size, "size", low=counts.size)
    cdf = np.cumsum(counts**power)
    slots = (np.arange(size) + 0.5) / size * cdf[-1]
    return np.minimum(np.searchsorted(cdf, slots, side="right"), counts.size - 1).astype(np.int32)


class SGNSConfig(NamedTuple):
    """Hyper-parameters of :func:`sgns_step` (word2vec's defaults where it has them).

    ``window`` (max distance; each centre draws :math:`b \\sim \\mathcal U\\{1..w\\}`), ``negative`` = k
    negatives per pair, ``draws`` noise words drawn per centre and shared by its :math:`n_i` pairs with
    weight :math:`k\\,n_i/\\text{draws}` (30 keeps each draw's weight near 1, as word2vec's per-pair draws),
    ``batch`` centres per step (keep it small: summed updates of a frequent word diverge beyond about 512),
    learning rate decaying linearly from ``alpha`` to ``min_alpha``.
    """

    window: int = 5
    negative: int = 5
    draws: int = 30
    batch: int = 256
    alpha: float = 0.025
    min_alpha: float = 0.0001


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
    """
    ids, sid = _check_encoded(encoded)
    for name, v in (("epochs", epochs), ("window", window), ("batch", batch), ("chunk", chunk)):
        _check_int(v, name, low=1)
    keep = np.asarray(keep, dtype=np.float64)
    if keep.ndim != 1 or ids.max() >= keep.size:
        raise ValueError("keep: expected one probability per vocabulary row")
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
    steps = -(-max(length, 1) // batch)
    n_chunks = -(-steps // chunk)
    chunk = -(-steps // n_chunks)
    steps = n_chunks * chunk
    pad_end = steps * batch - length + window
    tokens = np.concatenate([np.zeros(window, np.int32), *toks, np.zeros(pad_end, np.int32)])
    sents_ = np.concatenate([np.full(window, -1, np.int32), *sents, np.full(pad_end, -1, np.int32)])
    return Stream(tokens.astype(np.int32), sents_.astype(np.int32), steps, chunk)


def sgns_init(key: jax.Array, counts: np.ndarray, dim: int, stream: Stream) -> SGNSState:
    """word2vec's initialisation — ``w_in`` uniform on :math:`[-0.5/d, 0.5/d)`, ``w_out`` zero (float32) — with
    the stream and the :func:`noise_table` of ``counts`` (one count per vocabulary row)."""
    counts = np.asarray(counts)
    _check_int(dim, "dim", low=1)
    if not isinstance(stream, Stream):
        raise TypeError(f"stream: expected a Stream (from sgns_stream), got {type(stream).__name__}")
    table = noise_table(counts)
    V = counts.size
    if stream.tokens.max() >= V:
        raise ValueError(f"counts: {V} rows, but the stream holds id {int(stream.tokens.max())}")
    w_in = (jax.random.uniform(key, (V, dim), jnp.float32) - 0.5) / dim
    return SGNSState(w_in, jnp.zeros((V, dim), jnp.float32), jnp.asarray(stream.tokens), jnp.asarray(stream.sents),
                     jnp.asarray(table), jnp.zeros((), jnp.int32))


@lru_cache(maxsize=16)
def sgns_step(total_steps: int, config: SGNSConfig = SGNSConfig()):
    """The SGNS step ``step(state, key) -> (state, metrics)`` for :func:`kexue.train.run`: sparse SGD on a batch.

    Step :math:`t` takes the ``batch`` centres at stream positions :math:`tB .. tB + B - 1`. Centre :math:`i`
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
    """
    if not isinstance(config, SGNSConfig):
        raise TypeError(f"config: expected an SGNSConfig, got {type(config).__name__}")
    _check_int(total_steps, "total_steps", low=1)
    for name in ("window", "negative", "draws", "batch"):
        _check_int(getattr(config, name), name, low=1)
    if not 0 <= config.min_alpha <= config.alpha:
        raise ValueError(f"alpha, min_alpha: need 0 <= min_alpha <= alpha, got {config.alpha}, {config.min_alpha}")
    w, B, D = config.window, config.batch, config.draws
    offsets = [o for o in range(-w, w + 1) if o != 0]
    dist = jnp.asarray([abs(o) for o in offsets], jnp.int32)

    def loss(u, v, vn, mask, n_ctx):
        pos = jnp.stack([(u * v[w + o:w + o + B]).sum(-1) for o in offsets], axis=1)  # (B, 2w)
        neg = jnp.einsum("bd,bkd->bk", u, vn)  # (B, D)
        pos_loss = -jnp.sum(mask * jax.nn.log_sigmoid(pos))
        return pos_loss - jnp.sum((config.negative / D) * n_ctx[:, None] * jax.nn.log_sigmoid(-neg)), pos_loss

    def step(state: SGNSState, key: jax.Array):
        k_win, k_neg = jax.random.split(key)
        start = state.t * B
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
    """
    counts = np.asarray(counts)
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
    """
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds: need at least one seed")
    for s in seeds:
        _check_int(s, "seeds", low=0)
    counts = np.asarray(counts)
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
        state, hist = run(step, state, steps=steps, key=jax.random.fold_in(key, 1), chunk=chunk, progress=progress)
        w_in.append(np.asarray(state.w_in))
        w_out.append(np.asarray(state.w_out))
        history.append(hist)
    return np.stack(w_in), np.stack(w_out), {name: np.stack([h[name] for h in history], axis=1) for name in history[0]}


# ------------------------------------------------------------------------------------ evaluation


def keyed_vectors(words: Sequence[str], vectors: np.ndarray, *, drop_zero: bool = False) -> Any:
    """A gensim ``KeyedVectors`` holding ``vectors`` (float32) under ``words`` (row order kept).

    An all-zero row has no direction (a word whose PPMI row is empty, e.g. one that never shares a
    window) and would make gensim divide by zero: it raises ``ValueError`` unless ``drop_zero=True``
    leaves such words out.
    """
    from gensim.models import KeyedVectors

    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or len(words) != vectors.shape[0]:
        raise ValueError(f"words, vectors: need one row per word, got {len(words)} words and shape {vectors.shape}")
    if len(set(words)) != len(words):
        raise ValueError("words: must be distinct")
    if not np.all(np.isfinite(vectors)):
        raise ValueError("vectors: contain NaN or inf")
    zero = ~np.any(vectors != 0, axis=1)
    if zero.any() and not drop_zero:
        first = [words[i] for i in np.flatnonzero(zero)[:5]]
        raise ValueError(f"vectors: {int(zero.sum())} all-zero rows (words {first}...); "
                         "pass drop_zero=True to drop them")
    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors([w for w, z in zip(words, zero) if not z], vectors[~zero].astype(np.float32))
    return kv


def similarity_rho(kv: Any, name: str = "wordsim353") -> tuple[float, float]:
    """Spearman :math:`\\rho` between cosine similarities and human scores on ``"wordsim353"`` or
    ``"simlex999"`` (gensim's ``evaluate_word_pairs``; pairs with unknown words skipped), and the skipped share."""
    if name not in ("wordsim353", "simlex999"):
        raise ValueError(f"name: expected 'wordsim353' or 'simlex999', got {name!r}")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns about ties; the value is what gensim reports
        _, spearman, oov = kv.evaluate_word_pairs(eval_set(name))
    return float(spearman[0]), float(oov) / 100


class AnalogyScore(NamedTuple):
    """3CosAdd analogy results: ``correct`` of ``total`` answered, ``skipped`` questions with unknown words,
    and per section ``(name, correct, total)``."""

    correct: int
    total: int
    skipped: int
    sections: tuple[tuple[str, int, int], ...]

    @property
    def accuracy(self) -> float:
        """``correct / total``."""
        return self.correct / self.total if self.total else float("nan")


def analogy_accuracy(kv: Any, path: str | None = None, *, batch: int = 1024) -> AnalogyScore:
    """gensim's ``evaluate_word_analogies`` rule, vectorised: for "a : b :: c : ?" answer the word maximising
    :math:`\\cos(x, \\hat b + \\hat c - \\hat a)` over the vocabulary minus {a, b, c} (hats: unit vectors).

    Words are matched case-insensitively; questions with a word outside the vocabulary are skipped. The
    file defaults to the word2vec questions (:func:`kexue.data.eval_set` ``("analogies")``).
    """
    path = eval_set("analogies") if path is None else path
    _check_int(batch, "batch", low=1)
    index: dict[str, int] = {}
    for i, word in enumerate(kv.index_to_key):
        index.setdefault(word.upper(), i)
    unit = np.asarray(kv.get_normed_vectors(), dtype=np.float32)
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


# ---------------------------------------------------------------------------------------- checks


def _check_int(n: Any, argname: str, *, low: int) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{argname}: expected an int, got {type(n).__name__}")
    if n < low:
        raise ValueError(f"{argname}: must be at least {low}, got {n}")


def _check_corpus(corpus: Any) -> None:
    if not isinstance(corpus, Corpus):
        raise TypeError(f"corpus: expected a kexue.data.Corpus, got {type(corpus).__name__}")
    if corpus.n_tokens == 0:
        raise ValueError("corpus: the corpus is empty (no tokens)")


def _check_encoded(encoded: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(encoded, Encoded):
        raise TypeError(f"encoded: expected an Encoded (from encode), got {type(encoded).__name__}")
    ids, sid = np.asarray(encoded.ids), np.asarray(encoded.sid)
    if ids.ndim != 1 or ids.shape != sid.shape:
        raise ValueError(f"encoded: ids and sid must be 1-D of equal length, got {ids.shape} and {sid.shape}")
    if ids.size == 0:
        raise ValueError("encoded: the stream is empty")
    if ids.min() < 0 or np.any(np.diff(sid) < 0):
        raise ValueError("encoded: ids must be non-negative and sentence ids non-decreasing")
    return ids, sid


def _check_dense_counts(counts: Any) -> np.ndarray:
    C = np.asarray(counts, dtype=np.float64)
    if C.ndim != 2 or C.size == 0:
        raise ValueError(f"counts: expected a non-empty 2-D array, got shape {C.shape}")
    if not np.all(np.isfinite(C)) or C.min() < 0:
        raise ValueError("counts: must be finite and non-negative")
    if np.any(C.sum(1) == 0) or np.any(C.sum(0) == 0):
        raise ValueError("counts: every row and column needs a positive count")
    return C
