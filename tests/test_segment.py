"""Tests of kexue.segment: BMES tags and their inverse, constrained Viterbi, span scores, the unigram DP against
jieba, the dictionary-sentence sampler, cohesion, longest-join, backtracking and the characteristic score."""

from __future__ import annotations

import itertools
import math

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kexue import segment as seg

FAST = settings(max_examples=40, deadline=None)
word = st.text(alphabet="甲乙丙丁戊", min_size=1, max_size=5)
word_lists = st.lists(word, min_size=1, max_size=8)


# ------------------------------------------------------------------------------------------- BMES
def test_bmes_tags_example():
    assert "".join(seg.TAGS[t] for t in seg.bmes_tags(["结婚", "的", "和", "尚未", "科学空间"])) == "BESSBEBMME"


@FAST
@given(word_lists)
def test_bmes_roundtrip(ws):
    tags = seg.bmes_tags(ws)
    assert seg.bmes_words("".join(ws), tags) == ws
    assert all(seg.ALLOWED[a, b] for a, b in zip(tags[:-1], tags[1:]))


def test_bmes_bad_input():
    with pytest.raises(TypeError, match="words"):
        seg.bmes_tags("结婚")
    with pytest.raises(ValueError, match="words"):
        seg.bmes_tags(["a", ""])
    with pytest.raises(ValueError, match="tags"):
        seg.bmes_words("ab", [0])
    with pytest.raises(ValueError, match="tags"):
        seg.bmes_words("ab", [0, 7])


# ------------------------------------------------------------------------------------------- Viterbi
def _brute(lp):
    T = len(lp)
    best, arg = -math.inf, None
    for path in itertools.product(range(4), repeat=T):
        ok = path[0] in (seg.B, seg.S) and path[-1] in (seg.E, seg.S) and all(
            seg.ALLOWED[a, b] for a, b in zip(path[:-1], path[1:]))
        if ok:
            s = sum(lp[t, y] for t, y in enumerate(path))
            if s > best:
                best, arg = s, path
    return best, arg


@FAST
@given(st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_viterbi_matches_brute_force(T, s):
    lp = np.random.default_rng(s).normal(size=(T, 4))
    best, _ = _brute(lp)
    path = seg.viterbi_bmes(lp)
    assert math.isclose(sum(lp[t, y] for t, y in enumerate(path)), best, rel_tol=1e-12, abs_tol=1e-12)


def test_viterbi_obeys_constraints_against_scores():
    lp = np.log(np.full((5, 4), 1e-9))
    lp[:, seg.M] = 0.0                       # M everywhere is the unconstrained argmax, but not allowed
    path = seg.viterbi_bmes(lp)
    assert path[0] == seg.B and path[-1] == seg.E and list(path[1:-1]) == [seg.M] * 3


def test_viterbi_batch_and_lengths():
    rng = np.random.default_rng(0)
    lp = rng.normal(size=(3, 6, 4))
    lengths = np.array([6, 3, 0])
    out = seg.viterbi_bmes(lp, lengths)
    for i, L in enumerate(lengths):
        if L:
            np.testing.assert_array_equal(out[i, :L], seg.viterbi_bmes(lp[i, :L]))
        assert np.all(out[i, L:] == seg.S)
    with pytest.raises(ValueError, match="log_probs"):
        seg.viterbi_bmes(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="lengths"):
        seg.viterbi_bmes(lp, np.array([7, 1, 1]))


# ------------------------------------------------------------------------------------------- scores
def test_prf_example():
    gold = [["结婚", "的", "和", "尚未", "结婚", "的"]]
    pred = [["结婚", "的", "和尚", "未", "结婚", "的"]]
    P, R, F = seg.prf(pred, gold)
    assert (P, R) == (4 / 6, 4 / 6) and math.isclose(F, 4 / 6)
    assert seg.prf(gold, gold) == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="pred"):
        seg.prf([["结婚"]], gold)


@FAST
@given(word_lists, word_lists)
def test_prf_bounds_and_symmetry(a, b):
    if "".join(a) != "".join(b):
        b = list("".join(a))
    P, R, F = seg.prf([a], [b])
    P2, R2, F2 = seg.prf([b], [a])
    assert 0 <= F <= 1 and (P, R) == (R2, P2) and math.isclose(F, F2)


# ------------------------------------------------------------------------------------------- unigram DP
FREQ = {"结婚": 100, "的": 1000, "和": 300, "和尚": 30, "尚": 5, "尚未": 40, "未": 50, "结": 3, "婚": 2}


def test_unigram_dp_ambiguity():
    assert seg.unigram_segment("结婚的和尚未结婚的", FREQ) == ["结婚", "的", "和", "尚未", "结婚", "的"]
    assert seg.unigram_segment("", FREQ) == []
    assert seg.unigram_segment("结婚猫", FREQ) == ["结婚", "猫"]       # unknown characters alone


def _brute_unigram(s, freq, total):
    best, arg = -math.inf, None
    for cuts in itertools.product([0, 1], repeat=len(s) - 1):
        ws, start = [], 0
        for i, c in enumerate(cuts, 1):
            if c:
                ws.append(s[start:i])
                start = i
        ws.append(s[start:])
        if all(freq.get(w, 0) > 0 or len(w) == 1 for w in ws):
            score = sum(math.log(freq.get(w) or 1) - math.log(total) for w in ws)
            if score > best + 1e-12:
                best, arg = score, ws
    return best


@FAST
@given(st.text(alphabet="结婚的和尚未", min_size=1, max_size=9))
def test_unigram_dp_is_optimal(s):
    total = sum(FREQ.values())
    ws = seg.unigram_segment(s, FREQ)
    assert "".join(ws) == s
    score = sum(math.log(FREQ.get(w) or 1) - math.log(total) for w in ws)
    assert math.isclose(score, _brute_unigram(s, FREQ, total), rel_tol=1e-12)


def test_unigram_dp_equals_jieba_without_hmm():
    tk = seg.jieba_tokenizer(FREQ)
    rng = np.random.default_rng(1)
    for _ in range(200):
        s = "".join(rng.choice(list("结婚的和尚未"), size=rng.integers(1, 12)))
        assert seg.unigram_segment(s, FREQ) == list(tk.cut(s, HMM=False))


def test_split_blocks():
    assert seg.split_blocks("结婚，的ab1") == [("结婚", True), ("，", False), ("的ab1", True)]


# ------------------------------------------------------------------------------------------- sampler
def test_dict_sentence_sampler_yields_dictionary_words():
    vocab = ["结婚", "的", "和", "尚未", "科学空间"]
    chars = sorted(set("".join(vocab)))
    cid = {c: i + 1 for i, c in enumerate(chars)}
    wc = np.zeros((len(vocab), 4), np.int32)
    for i, w in enumerate(vocab):
        wc[i, :len(w)] = [cid[c] for c in w]
    tables = seg.dict_tables(wc, [1.0, 2, 1, 1, 1])
    batch = jax.jit(jax.vmap(lambda k, t: seg.sample_dict_sentence(t, k, length=12, max_words=5), (0, None)))
    x, y, m = batch(jax.random.split(jax.random.key(0), 50), tables)
    x, y, m = map(np.asarray, (x, y, m))
    assert m.any(axis=1).all()
    for xi, yi, mi in zip(x, y, m):
        n = int(mi.sum())
        assert mi[:n].all() and not mi[n:].any()
        s = "".join(chars[c - 1] for c in xi[:n])
        assert all(w in vocab for w in seg.bmes_words(s, yi[:n]))
    with pytest.raises(ValueError, match="freq"):
        seg.dict_tables(wc, [1.0, 0, 1, 1, 1])


# ------------------------------------------------------------------------------------------- new words
def test_longest_join_and_backtrack_gexiangmu():
    kept = {"各项", "项目"}
    assert seg.longest_join("各项目进展", kept) == ["各项目", "进", "展"]
    assert seg.longest_join("项目", kept) == ["项目"]
    assert seg.backtrack({"各项目": 9, "项目": 20, "各项": 12}, kept, 4) == {"项目": 20, "各项": 12}
    assert seg.backtrack({"各项目": 9}, kept | {"各项目"}, 4) == {"各项目": 9}
    # longer candidates need every 4-character window kept
    assert seg.backtrack({"东南亚金融": 9}, {"东南亚金", "南亚金融"}, 4) == {"东南亚金融": 9}
    assert seg.backtrack({"东南亚金融": 9}, {"东南亚金"}, 4) == {}


@FAST
@given(st.text(alphabet="甲乙丙丁", min_size=0, max_size=12), st.sets(st.text(alphabet="甲乙丙丁", min_size=2,
                                                                              max_size=3), max_size=6))
def test_longest_join_properties(s, kept):
    pieces = seg.longest_join(s, kept)
    assert "".join(pieces) == s
    # every occurrence of a kept n-gram lies inside one piece
    ends = np.cumsum([0] + [len(p) for p in pieces])
    for w in kept:
        for i in range(len(s) - len(w) + 1):
            if s[i:i + len(w)] == w:
                k = np.searchsorted(ends, i, side="right") - 1
                assert i + len(w) <= ends[k + 1]


def test_discover_words_matches_pure_python_join():
    texts = ["各项目进展顺利", "项目进展", "各项工作", "各项目", "进展顺利"] * 10
    out = seg.discover_words(texts, order=3, min_count=2, thresholds=(0, -10, -10))
    pieces = {}
    for t in texts:
        for p in seg.longest_join(t, out["kept"], 3):
            pieces[p] = pieces.get(p, 0) + 1
    assert out["candidates"] == {p: c for p, c in pieces.items() if c >= 2}
    assert set(out["words"]) <= set(out["candidates"])


def test_cohesion_value():
    texts = ["ab", "ab", "ac", "db"]
    out = seg.discover_words(texts, order=2, min_count=1, thresholds=(0, -10))
    N = 8                                       # characters
    assert math.isclose(out["cohesion"]["ab"], math.log(N * 2 / (3 * 3)))
    assert math.isclose(out["cohesion"]["ac"], math.log(N * 1 / (3 * 1)))


# ------------------------------------------------------------------------------------------- domain words
@FAST
@given(st.lists(st.integers(0, 1000), min_size=2, max_size=20), st.integers(1, 10**6), st.integers(1, 10**6))
def test_characteristic_score_properties(counts, nd, ng):
    f_dom = np.array(counts, float)
    f_gen = np.array(counts[::-1], float)
    if (f_dom + f_gen).sum() == 0:
        return
    s = seg.characteristic_score(f_dom, f_gen, nd, ng)
    alpha = nd / (nd + ng)
    assert np.all((s > 0) & (s < 1))
    only_dom = (f_dom > 0) & (f_gen == 0)
    assert np.all(s[only_dom] > alpha)
    only_gen = (f_gen > 0) & (f_dom == 0)
    assert np.all(s[only_gen] < alpha)


def test_characteristic_score_equal_rates_give_alpha():
    s = seg.characteristic_score(np.array([10.0, 30.0, 0.0]), np.array([30.0, 90.0, 5.0]), 1.0, 3.0)
    np.testing.assert_allclose(s[:2], 0.25)
    with pytest.raises(ValueError, match="f_dom"):
        seg.characteristic_score(np.array([-1.0]), np.array([1.0]), 1.0, 1.0)
