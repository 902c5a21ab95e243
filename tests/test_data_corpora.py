"""kexue.data text corpora: the Corpus container, the tokeniser, the shipped corpora and their cache."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kexue import data
from kexue.data import Corpus

docs_strategy = st.lists(st.lists(st.sampled_from(["a", "b", "c", "dd", "科学", "空间"]), max_size=12), max_size=6)


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
    pieces = Corpus.from_docs(docs).docs(max_len=max_len)
    assert all(0 < len(p) <= max_len for p in pieces)
    assert [t for p in pieces for t in p] == [t for d in docs for t in d]


def test_select_and_concat_keep_the_tokens():
    a = Corpus.from_docs([["x", "y"], ["y", "z", "z"]])
    b = Corpus.from_docs([["z", "w"]])
    assert a.select([1, 0]).docs() == [["y", "z", "z"], ["x", "y"]]
    both = Corpus.concat([a, b])
    assert both.docs() == [["x", "y"], ["y", "z", "z"], ["z", "w"]]
    assert both.types == ("x", "y", "z", "w")
    with pytest.raises(ValueError, match="docs"):
        a.select([2])
    with pytest.raises(ValueError, match="corpora"):
        Corpus.concat([])


def test_corpus_rejects_bad_input():
    with pytest.raises(TypeError, match="docs"):
        Corpus.from_docs("not a list of documents")
    with pytest.raises(TypeError, match="docs"):
        Corpus.from_docs(["abc"])
    with pytest.raises(TypeError, match="ids"):
        Corpus(("a",), np.zeros(2, np.int64), np.array([0, 2]))
    with pytest.raises(ValueError, match="starts"):
        Corpus(("a",), np.zeros(2, np.int32), np.array([0, 3]))
    with pytest.raises(ValueError, match="ids"):
        Corpus(("a",), np.array([0, 1], np.int32), np.array([0, 2]))
    with pytest.raises(ValueError, match="max_len"):
        Corpus.from_docs([["a"]]).docs(max_len=0)


def test_tokenize_en_is_text8_style():
    assert data.tokenize_en("Don't PANIC: 42 towels, café!") == ["don", "t", "panic", "towels", "caf"]
    with pytest.raises(TypeError, match="text"):
        data.tokenize_en(b"bytes")


def test_cache_is_written_read_and_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("KEXUE_CACHE_DIR", str(tmp_path))
    assert data.cache_dir() == tmp_path
    fresh = data.english_corpus("lee")
    (path,) = tmp_path.glob("corpus-lee-*.npz")
    cached = data.english_corpus(["lee"])
    uncached = data.english_corpus(["lee"], cache=False)
    for c in (cached, uncached):
        assert c.types == fresh.types
        np.testing.assert_array_equal(c.ids, fresh.ids)
        np.testing.assert_array_equal(c.starts, fresh.starts)
    path.write_bytes(b"damaged")
    np.testing.assert_array_equal(data.english_corpus("lee").ids, fresh.ids)  # rebuilt, not an error
    assert fresh.n_tokens == 60_302 and fresh.n_docs == 300


def test_cache_dir_defaults_to_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("KEXUE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.cache_dir() == tmp_path / "kexue"


@pytest.mark.parametrize(("source", "tokens"), [("sotu", 2_019_722), ("wiki", 776_474), ("bbc", 859_442),
                                                 ("enwiki", 469_572)])
def test_english_sources_have_the_documented_sizes(source, tokens):
    assert data.english_corpus(source).n_tokens == tokens


def test_english_mix_concatenates_the_sources():
    parts = [data.english_corpus(s) for s in ("wiki", "lee")]
    mix = data.english_corpus(["wiki", "lee"])
    assert mix.n_tokens == sum(p.n_tokens for p in parts) and mix.n_docs == sum(p.n_docs for p in parts)
    assert mix.docs()[parts[0].n_docs] == parts[1].docs()[0]
    with pytest.raises(ValueError, match="sources"):
        data.english_corpus(["wiki", "gutenberg"])
    with pytest.raises(ValueError, match="sources"):
        data.english_corpus([])


def test_peoples_daily_is_segmented_chinese():
    pd = data.peoples_daily()
    assert pd.n_tokens == 948_400 and pd.n_docs == 19_484
    first = pd.docs()[0]
    assert first[:3] == ["迈向", "充满", "希望"] and "——" not in first  # punctuation (/w) dropped
    with_punct = data.peoples_daily(punctuation=True)
    assert with_punct.n_tokens == 1_121_447
    assert not any("/" in t or t.startswith("[") for t in pd.types[:5000])


def test_eval_sets_are_shipped():
    for name in data.EVAL_SETS:
        with open(data.eval_set(name), encoding="utf-8") as f:
            assert f.readline()
    with pytest.raises(ValueError, match="name"):
        data.eval_set("toefl")
