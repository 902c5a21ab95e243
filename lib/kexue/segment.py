"""Chinese word segmentation without annotated data (chapter 12): unigram dictionary segmentation, BMES
tagging and constrained Viterbi decoding, word-span scores, n-gram cohesion, longest-join pre-segmentation
with backtracking (new-word discovery), and the characteristic-word score.

Unigram segmentation picks, among all ways of cutting a sentence :math:`c_1\\cdots c_n` into dictionary words,

.. math::

    \\hat w = \\arg\\max_{w_1\\cdots w_k = c_1\\cdots c_n} \\sum_i \\log p(w_i),
    \\qquad p(w) = f(w) / \\textstyle\\sum_v f(v),

by dynamic programming over the word graph. The cohesion of an n-gram :math:`w` is the smallest pointwise
mutual information over its split points,

.. math::

    \\operatorname{coh}(w) = \\min_{1 \\le k < |w|} \\log \\frac{P(w)}{P(w_{:k})\\,P(w_{k:})},
    \\qquad P(\\cdot) = \\frac{\\text{count}}{\\text{number of characters}} .

``jieba`` is imported lazily (only :func:`jieba_tokenizer` and :func:`split_blocks` need it).
"""

from __future__ import annotations

import io
import math
import re
from collections import Counter
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from kexue import _optional, checks

__all__ = ["ALLOWED", "TAGS", "backtrack", "bmes_tags", "bmes_words", "characteristic_score", "cohesion",
           "DictTables", "dict_tables", "discover_words", "encode_texts", "jieba_tokenizer", "longest_join",
           "ngram_counts", "prf", "sample_dict_sentence", "split_blocks", "unigram_segment", "viterbi_bmes", "word_spans"]

#: The four character tags (Begin, Middle and End of a multi-character word, Single-character word).
TAGS = "BMES"
B, M, E, S = range(4)
#: ``ALLOWED[i, j]``: may tag ``j`` follow tag ``i``? (B→M|E, M→M|E, E→B|S, S→B|S.)
ALLOWED = np.array([[0, 1, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1], [1, 0, 0, 1]], dtype=bool)
_START = np.array([1, 0, 0, 1], dtype=bool)   # a sentence starts with B or S …
_END = np.array([0, 0, 1, 1], dtype=bool)     # … and ends with E or S


def _words(words: Any, name: str) -> list[str]:
    if isinstance(words, str) or not isinstance(words, Iterable):
        raise TypeError(f"{name}: expected a sequence of str, got {type(words).__name__}")
    words = list(words)
    for w in words:
        if not isinstance(w, str):
            raise TypeError(f"{name}: expected str items, got {type(w).__name__}")
        if not w:
            raise ValueError(f"{name}: contains an empty word")
    return words


# ------------------------------------------------------------------------------------------- BMES
def bmes_tags(words: Sequence[str]) -> np.ndarray:
    """The BMES tag of each character of the concatenated ``words`` (int8 array, ``TAGS`` order):
    a one-character word is S, a longer word is B M…M E."""
    words = _words(words, "words")
    out = []
    for w in words:
        out.extend([S] if len(w) == 1 else [B] + [M] * (len(w) - 2) + [E])
    return np.array(out, dtype=np.int8)


def bmes_words(chars: str, tags: Sequence[int]) -> list[str]:
    """The inverse of :func:`bmes_tags`: cut ``chars`` before every B or S and after every E or S.

    Any tag sequence is accepted (an invalid one such as ``M`` after ``S`` is read leniently), so
    ``bmes_words(''.join(ws), bmes_tags(ws)) == ws`` for every word list ``ws``."""
    if not isinstance(chars, str):
        raise TypeError(f"chars: expected a str, got {type(chars).__name__}")
    tags = checks.array(tags, "tags", ndim=1)
    if len(tags) != len(chars):
        raise ValueError(f"tags: expected {len(chars)} tags (one per character), got {len(tags)}")
    if len(tags) and (tags.min() < 0 or tags.max() > 3):
        raise ValueError("tags: values must lie in 0..3 (B, M, E, S)")
    words, start = [], 0
    for i, t in enumerate(tags.tolist()):
        if t in (B, S) and i > start:
            words.append(chars[start:i])
            start = i
        if t in (E, S):
            words.append(chars[start:i + 1])
            start = i + 1
    if start < len(chars):
        words.append(chars[start:])
    return words


def viterbi_bmes(log_probs: Any, lengths: Any = None) -> np.ndarray:
    """The best tag path under the BMES constraints, for a batch of per-character tag scores.

    ``log_probs`` has shape ``(n, T, 4)`` (or ``(T, 4)``); the path maximises :math:`\\sum_t s_t(y_t)` over
    sequences that start with B/S, end with E/S at position ``lengths[i] - 1`` and only use the transitions in
    :data:`ALLOWED`. Positions at or beyond a length are returned as S. Ties go to the lower tag index."""
    lp = checks.array(log_probs, "log_probs", ndim=(2, 3))
    single = lp.ndim == 2
    lp = np.asarray(lp[None] if single else lp, np.float64)
    if lp.shape[-1] != 4:
        raise ValueError(f"log_probs: last axis must have the 4 BMES tags, got shape {lp.shape}")
    n, T, _ = lp.shape
    lengths = np.full(n, T) if lengths is None else checks.array(lengths, "lengths", shape=(n,))
    if np.any(lengths < 0) or np.any(lengths > T) or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"lengths: expected integers in 0..{T}")
    out = np.full((n, T), S, dtype=np.int8)
    if T == 0:
        return out[0] if single else out
    neg = -np.inf
    trans = np.where(ALLOWED, 0.0, neg)
    score = np.where(_START, lp[:, 0], neg)
    back = np.zeros((n, T, 4), dtype=np.int8)
    scores = [score]
    for t in range(1, T):
        cand = score[:, :, None] + trans[None]            # (n, from, to)
        back[:, t] = np.argmax(cand, axis=1)
        score = np.max(cand, axis=1) + lp[:, t]
        scores.append(score)
    scores = np.stack(scores, axis=1)                     # (n, T, 4)
    for i in range(n):
        L = int(lengths[i])
        if L == 0:
            continue
        last = np.where(_END, scores[i, L - 1], neg)
        y = int(np.argmax(last))
        for t in range(L - 1, -1, -1):
            out[i, t] = y
            y = int(back[i, t, y])
    return out[0] if single else out


# ------------------------------------------------------------------------------------------- scoring
def word_spans(words: Sequence[str]) -> set[tuple[int, int]]:
    """The character spans ``(start, end)`` of ``words`` laid end to end."""
    words = _words(words, "words")
    ends = np.cumsum([len(w) for w in words]).tolist()
    return set(zip([0] + ends[:-1], ends))


def prf(pred: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]) -> tuple[float, float, float]:
    """Micro precision, recall and F1 of predicted word spans against gold ones over a list of sentences
    (the SIGHAN scorer's definition: a word is right when both its ends are right).

    ``ValueError`` when the lists differ in length or a predicted sentence does not spell its gold one."""
    if len(pred) != len(gold):
        raise ValueError(f"pred: expected {len(gold)} sentences like gold, got {len(pred)}")
    hit = n_pred = n_gold = 0
    for i, (p, g) in enumerate(zip(pred, gold)):
        if "".join(p) != "".join(g):
            raise ValueError(f"pred: sentence {i} does not spell the gold sentence")
        sp, sg = word_spans(p), word_spans(g)
        hit, n_pred, n_gold = hit + len(sp & sg), n_pred + len(sp), n_gold + len(sg)
    if n_pred == 0 or n_gold == 0:
        raise ValueError("gold: no words to score")
    P, R = hit / n_pred, hit / n_gold
    return P, R, (2 * P * R / (P + R) if hit else 0.0)


# ------------------------------------------------------------------------------------------- unigram DP
def unigram_segment(sentence: str, freq: Mapping[str, int], total: float | None = None,
                    max_len: int | None = None) -> list[str]:
    """The unigram max-probability segmentation of ``sentence`` by dynamic programming.

    Candidate words starting at a character are the dictionary words (``freq > 0``) starting there, or the
    character alone when there are none; a word scores :math:`\\log f(w) - \\log` ``total`` (``total``
    defaults to the sum of ``freq``; unknown single characters count once). The DP runs right to left and,
    between equal scores, prefers the longer first word: jieba's ``cut(HMM=False)`` rules exactly. Pass
    ``max_len`` (the longest word) when calling it many times: otherwise it is recomputed from ``freq``."""
    if not isinstance(sentence, str):
        raise TypeError(f"sentence: expected a str, got {type(sentence).__name__}")
    if not isinstance(freq, Mapping):
        raise TypeError(f"freq: expected a mapping word -> frequency, got {type(freq).__name__}")
    log_total = math.log(checks.real(total, "total", positive=True) if total is not None else sum(freq.values()))
    max_len = max_len or max((len(w) for w in freq), default=1)
    n = len(sentence)
    best: list[tuple[float, int]] = [(0.0, 0)] * (n + 1)
    for k in range(n - 1, -1, -1):
        ends = [j for j in range(k + 1, min(n, k + max_len) + 1) if freq.get(sentence[k:j], 0) > 0] or [k + 1]
        best[k] = max((math.log(freq.get(sentence[k:j]) or 1) - log_total + best[j][0], j - 1) for j in ends)
    words, k = [], 0
    while k < n:
        j = best[k][1] + 1
        words.append(sentence[k:j])
        k = j
    return words


def _jieba() -> Any:
    jieba = _optional.require("jieba", "jieba", "kexue.segment's jieba helpers", "data")
    jieba.setLogLevel(40)   # logging.ERROR: no "Building prefix dict" lines on stderr
    return jieba


def split_blocks(text: str) -> list[tuple[str, bool]]:
    """``text`` cut the way jieba cuts before segmenting: runs of Han characters (and ASCII letters, digits,
    ``+#&._%-``) as ``(run, True)``, every other character alone as ``(char, False)``."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__}")
    jieba = _jieba()
    out: list[tuple[str, bool]] = []
    for block in jieba.re_han_default.split(text):
        if not block:
            continue
        if jieba.re_han_default.match(block):
            out.append((block, True))
        else:
            out.extend((c, False) for c in block)
    return out


def jieba_tokenizer(freq: Mapping[str, int] | None = None) -> Any:
    """A ``jieba.Tokenizer`` with the dictionary ``freq`` (word -> count) loaded in memory, or jieba's own
    dictionary when ``freq`` is None. Nothing is written to disk and nothing goes to stderr."""
    jieba = _jieba()
    tk = jieba.Tokenizer()
    if freq is None:
        tk.initialize()
        return tk
    if not isinstance(freq, Mapping) or not freq:
        raise ValueError("freq: expected a non-empty mapping word -> count")
    lines = "\n".join(f"{w} {int(c)}" for w, c in freq.items() if w and not any(ch.isspace() for ch in w))
    tk.FREQ, tk.total = tk.gen_pfdict(io.BytesIO(lines.encode("utf-8")))
    tk.initialized = True
    return tk


# ------------------------------------------------------------------------------------------- dictionary sentences
class DictTables(NamedTuple):
    """A dictionary as device arrays for :func:`sample_dict_sentence`: ``chars`` ``(V, L)`` character ids
    (0 = padding, words left-aligned), ``lens`` ``(V,)`` word lengths, ``cum`` ``(V,)`` cumulative
    probabilities (last entry 1). Pass it as an argument of jitted code, never close over it: XLA would
    constant-fold the large arrays at every compilation."""

    chars: jax.Array
    lens: jax.Array
    cum: jax.Array


def dict_tables(word_chars: Any, freq: Any) -> DictTables:
    """:class:`DictTables` from ``(V, L)`` character ids and the ``(V,)`` word frequencies (> 0)."""
    word_chars = checks.array(word_chars, "word_chars", ndim=2)
    if not np.issubdtype(word_chars.dtype, np.integer) or word_chars.min() < 0:
        raise ValueError("word_chars: expected non-negative integer character ids")
    lens = (word_chars > 0).sum(axis=1)
    if lens.min() == 0:
        raise ValueError("word_chars: a row has no characters")
    freq = checks.array(freq, "freq", shape=(word_chars.shape[0],)).astype(np.float64)
    if np.any(freq <= 0):
        raise ValueError("freq: frequencies must be > 0")
    cum = np.cumsum(freq) / freq.sum()
    return DictTables(jnp.asarray(word_chars, jnp.int32), jnp.asarray(lens, jnp.int32), jnp.asarray(cum, jnp.float32))


def sample_dict_sentence(tables: DictTables, key: jax.Array, *, length: int,
                         max_words: int = 16) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One of the article's training sentences as ``(chars (length,), tags (length,), mask (length,))``:
    ``n ~ U{1..max_words}`` words, each drawn with probability proportional to its frequency (inverse CDF
    on ``tables.cum``), laid end to end and BMES-tagged. Positions after the last whole word that fits in
    ``length`` are padding (id 0, tag S, mask False). ``jax.vmap`` over keys for a batch."""
    k_n, k_w = jax.random.split(key)
    n = jax.random.randint(k_n, (), 1, max_words + 1)
    u = jax.random.uniform(k_w, (max_words,))
    idx = jnp.clip(jnp.searchsorted(tables.cum, u, side="right"), 0, tables.cum.shape[0] - 1)
    wl = jnp.where(jnp.arange(max_words) < n, tables.lens[idx], 0)
    ends = jnp.cumsum(wl)
    pos = jnp.arange(length)
    w = jnp.clip(jnp.searchsorted(ends, pos, side="right"), 0, max_words - 1)
    off = pos - (ends[w] - wl[w])
    ok = (ends[w] <= length) & (pos < ends[-1])
    chars = jnp.where(ok, tables.chars[idx[w], jnp.clip(off, 0, tables.chars.shape[1] - 1)], 0)
    tag = jnp.where(wl[w] == 1, S, jnp.where(off == 0, B, jnp.where(off == wl[w] - 1, E, M)))
    return chars, jnp.where(ok, tag, S).astype(jnp.int32), ok


# ------------------------------------------------------------------------------------------- new words
def encode_texts(texts: Iterable[str]) -> tuple[np.ndarray, list[str]]:
    """The texts as one int array of character ids (1, 2, … in order of first use), with a 0 between texts,
    and the list ``chars`` with ``chars[id - 1]`` the character."""
    index: dict[str, int] = {}
    ids: list[int] = [0]
    for t in texts:
        if not isinstance(t, str):
            raise TypeError(f"texts: expected str items, got {type(t).__name__}")
        ids.extend(index.setdefault(c, len(index) + 1) for c in t)
        ids.append(0)
    return np.array(ids, dtype=np.int64), list(index)


def _codes(ids: np.ndarray, n: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    """Base-``base`` codes of the n-grams starting at each position, and whether the n-gram is whole (no 0)."""
    m = len(ids) - n + 1
    code = np.zeros(max(m, 0), np.int64)
    whole = np.ones(max(m, 0), bool)
    for k in range(n):
        part = ids[k:k + m]
        code = code * base + part
        whole &= part > 0
    return code, whole


def ngram_counts(ids: np.ndarray, order: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """For n = 1..order, the sorted unique n-gram codes of an :func:`encode_texts` array and their counts."""
    ids = checks.array(ids, "ids", ndim=1)
    order = checks.count(order, "order", maximum=4)
    base = int(ids.max()) + 1
    out = {}
    for n in range(1, order + 1):
        code, whole = _codes(ids, n, base)
        out[n] = np.unique(code[whole], return_counts=True)
    return out


def _lookup(table: tuple[np.ndarray, np.ndarray], code: np.ndarray) -> np.ndarray:
    keys, counts = table
    i = np.clip(np.searchsorted(keys, code), 0, max(len(keys) - 1, 0))
    return np.where(keys[i] == code, counts[i], 0) if len(keys) else np.zeros_like(code)


def cohesion(counts: dict[int, tuple[np.ndarray, np.ndarray]], n: int, base: int) -> np.ndarray:
    """:math:`\\min_k \\log(N c(w) / (c(w_{:k}) c(w_{k:})))` for each n-gram of ``counts[n]`` (N = number of
    characters; every part of a counted n-gram is counted, so no division by zero)."""
    total = counts[1][1].sum()
    keys, c = counts[n]
    out = np.full(len(keys), np.inf)
    for k in range(1, n):
        left, right = keys // base ** (n - k), keys % base ** (n - k)
        out = np.minimum(out, np.log(total * c / (_lookup(counts[k], left) * _lookup(counts[n - k], right))))
    return out


def longest_join(sentence: str, kept: Iterable[str], order: int = 4) -> list[str]:
    """Cut ``sentence`` by joining overlapping occurrences of the ``kept`` n-grams (2 ≤ n ≤ ``order``): two
    occurrences sharing a character end up in one piece; characters covered by none stay alone.
    With {各项, 项目} kept, ``各项目`` stays whole."""
    if not isinstance(sentence, str):
        raise TypeError(f"sentence: expected a str, got {type(sentence).__name__}")
    kept = set(kept)
    out, start, reach = [], 0, 0
    for i in range(len(sentence)):
        if i >= reach and i > start:            # nothing reaching past i: cut before it
            out.append(sentence[start:i])
            start = i
        for n in range(2, order + 1):
            if sentence[i:i + n] in kept and i + n <= len(sentence):
                reach = max(reach, i + n)
        reach = max(reach, i + 1)
    if start < len(sentence):
        out.append(sentence[start:])
    return out


def backtrack(candidates: Mapping[str, int], kept: Iterable[str], order: int = 4) -> dict[str, int]:
    """The article's last step: keep a candidate of 3..``order`` characters only if it is itself a kept n-gram,
    and a longer one only if each of its ``order``-character windows is; one- and two-character candidates stay."""
    kept = set(kept)
    order = checks.count(order, "order", minimum=2)

    def real(w: str) -> bool:
        if len(w) < 3:
            return True
        if len(w) <= order:
            return w in kept
        return all(w[k:k + order] in kept for k in range(len(w) - order + 1))

    return {w: c for w, c in candidates.items() if real(w)}


def discover_words(texts: Sequence[str], *, order: int = 4, min_count: int = 8,
                   thresholds: Sequence[float] = (0, 2, 4, 6)) -> dict[str, Any]:
    """Su Jianlin's new-word discovery (kexue.fm/archives/4256, 6920), vectorised with NumPy.

    1. count n-grams, n ≤ ``order``; keep those seen ≥ ``min_count`` times whose :func:`cohesion` is
       ≥ ``thresholds[n - 1]`` (all single characters seen ≥ ``min_count`` times are kept);
    2. pre-segment every text by :func:`longest_join` of the kept n-grams and count the pieces, keeping those
       seen ≥ ``min_count`` times;
    3. :func:`backtrack`.

    Returns a dict with ``words`` (word -> count), ``candidates`` (before backtracking), ``kept`` (the kept
    n-grams as a set of str) and ``cohesion`` (n-gram -> cohesion for every counted n-gram with n ≥ 2 seen
    ≥ ``min_count`` times)."""
    order = checks.count(order, "order", minimum=2, maximum=4)
    min_count = checks.count(min_count, "min_count")
    thresholds = [checks.real(t, "thresholds") for t in thresholds]
    if len(thresholds) < order:
        raise ValueError(f"thresholds: expected {order} values (one per n-gram length), got {len(thresholds)}")
    ids, chars = encode_texts(texts)
    base = len(chars) + 1
    counts = ngram_counts(ids, order)
    alphabet = np.array([""] + chars, dtype=object)

    def decode(code: np.ndarray, n: int) -> list[str]:
        parts = [alphabet[(code // base ** (n - 1 - k)) % base] for k in range(n)]
        return ["".join(p) for p in zip(*parts)]

    kept_codes, coh_all = {}, {}
    for n in range(1, order + 1):
        keys, c = counts[n]
        ok = c >= min_count
        if n > 1:
            coh = cohesion(counts, n, base)
            coh_all.update(zip(decode(keys[ok], n), coh[ok].tolist()))
            ok &= coh >= thresholds[n - 1]
        kept_codes[n] = keys[ok]
    # step 2, vectorised: reach[i] = the farthest end of a kept n-gram starting at i; cut before p
    # exactly when no occurrence starting before p reaches past p.
    reach = np.arange(1, len(ids) + 1)
    for n in range(2, order + 1):
        code, whole = _codes(ids, n, base)
        hit = whole & np.isin(code, kept_codes[n])
        i = np.nonzero(hit)[0]
        reach[i] = np.maximum(reach[i], i + n)
    prev_reach = np.maximum.accumulate(np.r_[0, reach[:-1]])
    pos = np.arange(len(ids))
    cut = (prev_reach <= pos) | (ids == 0) | (np.r_[0, ids[:-1]] == 0)
    starts = np.nonzero(cut & (ids > 0))[0]
    bounds = np.nonzero(cut)[0]
    ends = bounds[np.searchsorted(bounds, starts, side="right")] if len(starts) else starts
    text = "".join(chars[i - 1] if i else "\0" for i in ids.tolist())
    pieces = Counter(text[a:b] for a, b in zip(starts.tolist(), ends.tolist()))
    candidates = {w: c for w, c in pieces.items() if c >= min_count}
    kept = {w for n in range(2, order + 1) for w in decode(kept_codes[n], n)}
    return {"words": backtrack(candidates, kept, order), "candidates": candidates, "kept": kept,
            "cohesion": coh_all}


# ------------------------------------------------------------------------------------------- domain words
def characteristic_score(f_dom: Any, f_gen: Any, total_dom: float, total_gen: float) -> np.ndarray:
    """matrix67's smoothed share of a word's frequency that comes from the domain corpus (used in
    kexue.fm/archives/6540):

    .. math::

        s(w) = \\frac{f_{\\rm dom}(w) + \\alpha \\bar f}{f_{\\rm dom}(w) + f_{\\rm gen}(w) + \\bar f},\\qquad
        \\alpha = \\frac{N_{\\rm dom}}{N_{\\rm dom} + N_{\\rm gen}},

    with :math:`\\bar f` the mean of :math:`f_{\\rm dom} + f_{\\rm gen}` over the words given. It lies in
    (0, 1), equals α when the word is as frequent (per token) in both corpora, exceeds α for a word found
    only in the domain and tends to 1 as its domain count grows."""
    f_dom = checks.array(f_dom, "f_dom", ndim=1).astype(np.float64)
    f_gen = checks.array(f_gen, "f_gen", shape=f_dom.shape).astype(np.float64)
    if np.any(f_dom < 0) or np.any(f_gen < 0):
        raise ValueError("f_dom: counts must be >= 0")
    total_dom = checks.real(total_dom, "total_dom", positive=True)
    total_gen = checks.real(total_gen, "total_gen", positive=True)
    alpha = total_dom / (total_dom + total_gen)
    mean = float(np.mean(f_dom + f_gen)) if f_dom.size else 1.0
    if mean <= 0:
        raise ValueError("f_dom: every count is zero")
    return (f_dom + alpha * mean) / (f_dom + f_gen + mean)
