"""kexue.embeddings: vocabulary, windows, PPMI, SVD, SGNS and evaluation do what their docstrings say."""

from __future__ import annotations

import logging
import pickle

import gensim
import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.sparse as sps
from hypothesis import given
from hypothesis import strategies as st

from kexue import embeddings as E
from kexue import data
from kexue.data import Corpus
from kexue.train import TrainingDiverged, run, step_key

logging.getLogger("gensim").setLevel(logging.ERROR)

sentences = st.lists(st.lists(st.integers(0, 7), min_size=1, max_size=15), min_size=1, max_size=5)


def corpus_of(sents):
    return Corpus.from_docs([[f"w{i}" for i in s] for s in sents])


TINY = E.Encoded(np.array([0, 1, 0, 2, 1, 0], np.int32), np.array([0, 0, 0, 0, 1, 1], np.int32))
TINY_COUNTS = np.array([3, 2, 1])
SMALL = E.SGNSConfig(window=1, batch=2, draws=4)


def raises(exc, name):
    """``pytest.raises`` for a message that starts with the argument's name."""
    return pytest.raises(exc, match=rf"^{name}\b")


# ------------------------------------------------------------------------------ vocabulary


def test_build_vocab_sorts_by_count_and_filters():
    c = Corpus.from_docs([["b", "a", "a", "c", "b", "a", "d"], ["c", "e"]])
    v = E.build_vocab(c, min_count=2)
    assert v.words == ("a", "b", "c") and v.counts.tolist() == [3, 2, 2]  # ties keep first appearance
    assert E.build_vocab(c, min_count=1, max_size=2).words == ("a", "b")
    assert v.index["c"] == 2 and len(v) == 3
    with pytest.raises(ValueError, match="min_count"):
        E.build_vocab(c, min_count=4)
    with pytest.raises(ValueError, match="corpus"):
        E.build_vocab(Corpus.from_docs([]))
    with pytest.raises(TypeError, match="corpus"):
        E.build_vocab([["a"]])


@pytest.mark.parametrize("words, counts, exc, name", [
    (("a", "b"), np.array([1]), ValueError, "counts"),
    (("a", "b"), np.array([np.nan, 1.0]), TypeError, "counts"),
    (("a", "b"), np.array([2.5, 1.0]), TypeError, "counts"),
    (("a", "b"), np.array([-1, 1]), ValueError, "counts"),
    (("a", "b"), np.array([0, 1]), ValueError, "counts"),
    (("a", "b"), np.array([[2, 1]]), ValueError, "counts"),
    (("a", "b"), None, TypeError, "counts"),
    (("a", "b"), sps.csr_matrix([[2, 1]]), TypeError, "counts"),
    (("a", "a"), np.array([2, 1]), ValueError, "words"),
    ((1, 2), np.array([2, 1]), TypeError, "words"),
    ("ab", np.array([2, 1]), TypeError, "words"),
    (None, np.array([2, 1]), TypeError, "words"),
    ((), np.zeros(0, int), ValueError, "words"),
])
def test_vocab_checks_its_fields(words, counts, exc, name):
    with raises(exc, name):
        E.Vocab(words, counts)


def test_vocab_stores_a_tuple_and_read_only_counts():
    counts = np.array([1, 2])
    v = E.Vocab(["a", "b"], counts)  # any order of counts is accepted; a list of words becomes a tuple
    assert v.words == ("a", "b") and v.index == {"a": 0, "b": 1}
    with pytest.raises(ValueError):
        v.counts[0] = 5
    counts[0] = 7  # the caller's array stays writable (the vocabulary holds a read-only view)


def test_build_vocab_and_encode_name_bad_arguments():
    c = Corpus.from_docs([["a", "b", "a"]])
    for kwargs, exc, name in [({"min_count": 0}, ValueError, "min_count"), ({"min_count": 1.0}, TypeError, "min_count"),
                              ({"min_count": True}, TypeError, "min_count"), ({"max_size": 0}, ValueError, "max_size")]:
        with raises(exc, name):
            E.build_vocab(c, **kwargs)
    v = E.build_vocab(c, min_count=1)
    with raises(TypeError, "vocab"):
        E.encode(c, None)
    with raises(TypeError, "max_len"):
        E.encode(c, v, max_len=1.5)
    with raises(ValueError, "max_len"):
        E.encode(c, v, max_len=0)


def test_encode_drops_oov_before_windowing_and_cuts_sentences():
    c = Corpus.from_docs([["a", "x", "b", "a", "b", "a"], ["b", "y"]])
    v = E.build_vocab(c, min_count=2)  # a, b
    enc = E.encode(c, v)
    assert [v.words[i] for i in enc.ids] == ["a", "b", "a", "b", "a", "b"]
    assert enc.sid.tolist() == [0, 0, 0, 0, 0, 1]
    assert E.encode(c, v, max_len=3).sid.tolist() == [0, 0, 1, 1, 1, 2]  # pieces of 3 raw tokens
    with pytest.raises(ValueError, match="corpus"):
        E.encode(Corpus.from_docs([["x", "y"]]), v)


# ---------------------------------------------------------------------------- co-occurrence


@given(sents=sentences, window=st.sampled_from([1, 2, 3, 4, 14, 15, 40]), dynamic=st.booleans())
def test_cooccurrence_matches_a_brute_force_count(sents, window, dynamic):
    c = corpus_of(sents)
    v = E.build_vocab(c, min_count=1)
    enc = E.encode(c, v)
    C = E.cooccurrence(enc, len(v), window=window, dynamic=dynamic).toarray()
    brute = np.zeros((len(v), len(v)))
    for a in range(enc.ids.size):
        for b in range(enc.ids.size):
            d = abs(a - b)
            if 1 <= d <= window and enc.sid[a] == enc.sid[b]:
                brute[enc.ids[a], enc.ids[b]] += (window - d + 1) / window if dynamic else 1.0
    np.testing.assert_allclose(C, brute, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(C, C.T)


def test_cooccurrence_rejects_bad_input():
    enc = E.Encoded(np.array([0, 3], np.int32), np.zeros(2, np.int32))
    with pytest.raises(ValueError, match="vocab_size"):
        E.cooccurrence(enc, 3)
    with pytest.raises(ValueError, match="window"):
        E.cooccurrence(enc, 4, window=0)
    with pytest.raises(ValueError, match="encoded"):
        E.cooccurrence(E.Encoded(np.zeros(0, np.int32), np.zeros(0, np.int32)), 4)
    with pytest.raises(TypeError, match="encoded"):
        E.cooccurrence((np.array([0]), np.array([0])), 4)


@pytest.mark.parametrize("ids, sid, exc, name", [
    (np.array([0.5, 1.2]), np.zeros(2, int), TypeError, "encoded.ids"),  # float ids were truncated silently
    (np.array([np.nan, 1.0]), np.zeros(2, int), TypeError, "encoded.ids"),
    (np.array([True, False]), np.zeros(2, int), TypeError, "encoded.ids"),
    (np.array(["a", "b"]), np.zeros(2, int), TypeError, "encoded.ids"),
    (None, None, TypeError, "encoded.ids"),
    (np.zeros((2, 2), int), np.zeros((2, 2), int), ValueError, "encoded.ids"),
    (np.zeros(3, int), np.zeros(2, int), ValueError, "encoded"),
    (np.array([-1, 0]), np.zeros(2, int), ValueError, "encoded.ids"),
    (np.zeros(3, int), np.array([-1, 0, 0]), ValueError, "encoded.sid"),  # would merge epochs in sgns_stream
    (np.zeros(3, int), np.array([1, 0, 0]), ValueError, "encoded.sid"),
    (np.zeros(3, int), np.zeros(3), TypeError, "encoded.sid"),
])
def test_encoded_streams_are_checked(ids, sid, exc, name):
    with raises(exc, name):
        E.cooccurrence(E.Encoded(ids, sid), 3)


def test_cooccurrence_names_bad_options():
    for kwargs, exc, name in [({"dynamic": "no"}, TypeError, "dynamic"), ({"dynamic": 0}, TypeError, "dynamic"),
                              ({"window": True}, TypeError, "window"), ({"vocab_size": 3.0}, TypeError, "vocab_size"),
                              ({"vocab_size": 2**31}, ValueError, "vocab_size")]:
        with raises(exc, name):
            E.cooccurrence(TINY, **{"vocab_size": 3, **kwargs})
    one = E.cooccurrence(E.Encoded(np.array([2]), np.array([0])), 3, window=10**9)  # fast: distances > 0 skipped
    assert one.nnz == 0 and one.shape == (3, 3)


# ------------------------------------------------------------------------------------ PPMI


@given(seed=st.integers(0, 10**6), alpha=st.sampled_from([0.5, 0.75, 1.0]), shift=st.sampled_from([1.0, 5.0]))
def test_ppmi_matches_the_dense_formula(seed, alpha, shift):
    rng = np.random.default_rng(seed)
    C = rng.poisson(2.0, (6, 6)) * (rng.random((6, 6)) < 0.7)
    C[0, 0] += 1  # at least one count
    M = E.ppmi(sps.csr_matrix(C.astype(float)), alpha=alpha, shift=shift).toarray()
    r, c = C.sum(1, keepdims=True), C.sum(0, keepdims=True) ** alpha
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(C * c.sum() / (r * c)) - np.log(shift)
    expected = np.where(C > 0, np.maximum(np.nan_to_num(pmi, nan=0.0, neginf=0.0), 0), 0)
    np.testing.assert_allclose(M, expected, rtol=1e-12, atol=1e-12)
    assert M.min() >= 0


def test_ppmi_rejects_bad_counts():
    with pytest.raises(ValueError, match="counts"):
        E.ppmi(np.array([[1.0, -1.0], [0.0, 2.0]]))
    with pytest.raises(ValueError, match="counts"):
        E.ppmi(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="counts"):
        E.ppmi(np.ones((2, 3)))
    with pytest.raises(ValueError, match="alpha"):
        E.ppmi(np.eye(2), alpha=0)
    with pytest.raises(ValueError, match="shift"):
        E.ppmi(np.eye(2), shift=0)


@pytest.mark.parametrize("counts, kwargs, exc, name", [
    (np.eye(2), {"alpha": float("nan")}, ValueError, "alpha"),
    (np.eye(2), {"alpha": 1.5}, ValueError, "alpha"),
    (np.eye(2), {"alpha": True}, TypeError, "alpha"),
    (np.eye(2), {"alpha": "0.5"}, TypeError, "alpha"),
    (np.eye(2), {"shift": float("inf")}, ValueError, "shift"),
    (np.eye(2), {"shift": None}, TypeError, "shift"),
    (np.array([[np.nan, 1.0], [1.0, 1.0]]), {}, ValueError, "counts"),
    (np.array([[np.inf, 1.0], [1.0, 1.0]]), {}, ValueError, "counts"),
    (sps.csr_matrix(np.array([[np.inf, 1.0], [1.0, 1.0]])), {}, ValueError, "counts"),
    (np.array([[1j, 1], [1, 1]]), {}, TypeError, "counts"),  # the imaginary part was dropped silently
    (sps.csr_matrix(np.array([[1j, 1], [1, 1]])), {}, TypeError, "counts"),
    (np.eye(2, dtype=bool), {}, TypeError, "counts"),
    ("abc", {}, TypeError, "counts"),
    (None, {}, TypeError, "counts"),
    (np.ones(3), {}, ValueError, "counts"),
    (np.ones((2, 2, 2)), {}, ValueError, "counts"),
    (np.zeros((0, 0)), {}, ValueError, "counts"),
    (np.array([[1e308, 1e308], [1e308, 1e-300]]), {}, ValueError, "counts"),  # a range too wide for float64
])
def test_ppmi_names_bad_input(counts, kwargs, exc, name):
    with raises(exc, name):
        E.ppmi(counts, **kwargs)


@given(seed=st.integers(0, 10**6), e=st.sampled_from([-1070, -1000, -3, 0, 7, 900, 1000]),
       alpha=st.sampled_from([0.75, 1.0]))
def test_ppmi_does_not_depend_on_the_scale_of_the_counts(seed, e, alpha):
    rng = np.random.default_rng(seed)
    C = rng.poisson(2.0, (5, 5)) * (rng.random((5, 5)) < 0.7) + np.eye(5)
    M = E.ppmi(C, alpha=alpha).toarray()
    scaled = E.ppmi(sps.csr_matrix(np.ldexp(C, e)), alpha=alpha).toarray()  # overflowing sums, subnormal counts
    np.testing.assert_allclose(scaled, M, rtol=1e-12, atol=1e-12)


def test_ppmi_of_counts_spanning_float64_against_mpmath():
    C = np.array([[1e300, 2e300], [3e300, 5e-324]])  # a finite sum and a subnormal count: computed as given
    mpmath.mp.dps = 40
    m = [[mpmath.mpf(x) for x in row] for row in C]
    r = [sum(row) for row in m]
    c = [sum(m[i][j] for i in range(2)) ** mpmath.mpf(0.75) for j in range(2)]
    exact = [[max(0, mpmath.log(m[i][j] * sum(c) / (r[i] * c[j]))) for j in range(2)] for i in range(2)]
    # PMI is a sum of four logs near 690: each rounds by up to an ulp of 690 (1.1e-13)
    np.testing.assert_allclose(E.ppmi(C).toarray(), np.array(exact, dtype=float), rtol=0, atol=5e-13)


def test_ppmi_leaves_its_input_alone():
    C = sps.csr_matrix((np.array([2.0, 0.0, 1.0]), np.array([1, 0, 0]), np.array([0, 2, 3])), shape=(2, 2))
    before = (C.data.copy(), C.indices.copy(), C.indptr.copy())
    E.ppmi(C)  # an explicit zero and unsorted indices: eliminate_zeros/sort_indices worked in place before
    for a, b in zip(before, (C.data, C.indices, C.indptr)):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------- SVD


@pytest.mark.parametrize("method", ["randomized", "arpack"])
def test_truncated_svd_matches_the_dense_svd_and_slices(method):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((80, 8)) @ np.diag(2.0 ** -np.arange(8)) @ rng.standard_normal((8, 60))
    A = sps.csr_matrix(A + 1e-3 * rng.standard_normal((80, 60)))
    U, s = E.truncated_svd(A, 6, method=method, seed=1, n_iter=7)
    U_ref, s_ref, _ = np.linalg.svd(A.toarray())
    np.testing.assert_allclose(s, s_ref[:6], rtol=1e-6)
    for j in range(6):  # columns equal up to sign; our sign rule makes the largest entry positive
        assert abs(abs(U[:, j] @ U_ref[:, j]) - 1) < 1e-6
        assert U[np.argmax(np.abs(U[:, j])), j] > 0
    U3, s3 = E.truncated_svd(A, 3, method=method, seed=1, n_iter=7)
    np.testing.assert_allclose(np.abs(E.svd_vectors(U, s, dim=3)), np.abs(E.svd_vectors(U3, s3)), atol=1e-6)


def test_svd_vectors_scales_by_powers_of_sigma():
    U, s = np.eye(4, 3), np.array([4.0, 1.0, 0.25])
    np.testing.assert_allclose(E.svd_vectors(U, s, eig=0.5), np.eye(4, 3) * [2.0, 1.0, 0.5])
    np.testing.assert_allclose(E.svd_vectors(U, s, dim=2, eig=0.0), np.eye(4, 2))
    with pytest.raises(ValueError, match="dim"):
        E.svd_vectors(U, s, dim=4)
    with raises(ValueError, "s"):
        E.svd_vectors(U, s[:2])


@pytest.mark.parametrize("U, s, kwargs, exc, name", [
    (np.eye(4, 3), np.array([np.nan, 1, 1]), {}, ValueError, "s"),
    (np.eye(4, 3), np.array([-4.0, 1, 1]), {}, ValueError, "s"),
    (np.full((4, 3), np.inf), np.ones(3), {}, ValueError, "U"),
    (np.eye(4, 3) * 1j, np.ones(3), {}, TypeError, "U"),
    (sps.csr_matrix(np.eye(4, 3)), np.ones(3), {}, TypeError, "U"),
    ("abc", np.ones(3), {}, TypeError, "U"),
    (None, np.ones(3), {}, TypeError, "U"),
    (np.zeros((4, 0)), np.zeros(0), {}, ValueError, "U"),
    (np.eye(4, 3), np.ones(3), {"eig": float("nan")}, ValueError, "eig"),
    (np.eye(4, 3), np.ones(3), {"eig": float("inf")}, ValueError, "eig"),
    (np.eye(4, 3), np.ones(3), {"eig": "0.5"}, TypeError, "eig"),
    (np.eye(4, 3), np.ones(3), {"eig": True}, TypeError, "eig"),
    (np.eye(4, 3), np.array([4.0, 1, 0]), {"eig": -1}, ValueError, "eig"),  # 0 ** -1 = inf
    (np.eye(4, 3), np.array([1e200, 1, 1]), {"eig": 2}, ValueError, "eig"),  # overflow
    (np.eye(4, 3), np.ones(3), {"dim": 2.0}, TypeError, "dim"),
    (np.eye(4, 3), np.ones(3), {"dim": 0}, ValueError, "dim"),
])
def test_svd_vectors_names_bad_input(U, s, kwargs, exc, name):
    with raises(exc, name):
        E.svd_vectors(U, s, **kwargs)
    assert np.array_equal(E.svd_vectors(np.eye(4, 3), np.array([4.0, 1, 0]), eig=0), np.eye(4, 3))  # 0 ** 0 = 1


def test_truncated_svd_rejects_bad_k():
    with pytest.raises(ValueError, match="k"):
        E.truncated_svd(np.eye(5), 5)
    with pytest.raises(ValueError, match="method"):
        E.truncated_svd(np.eye(5), 2, method="lanczos")
    with pytest.raises(TypeError, match="M"):
        E.truncated_svd([[1.0, 0.0], [0.0, 1.0]], 1)


@pytest.mark.parametrize("M, kwargs, exc, name", [
    (np.full((4, 4), np.nan), {}, ValueError, "M"),
    (sps.csr_matrix(np.diag([np.inf, 1, 1, 1])), {}, ValueError, "M"),
    (np.eye(4) * 1j, {}, TypeError, "M"),
    (sps.csr_matrix(np.eye(4) * 1j), {}, TypeError, "M"),
    (np.eye(4, dtype=bool), {}, TypeError, "M"),
    (np.array([[None] * 4] * 4), {}, TypeError, "M"),
    (np.ones((4, 4, 4)), {}, ValueError, "M"),
    (np.zeros((5, 5)), {}, ValueError, "M"),
    (np.zeros((5, 5)), {"method": "arpack"}, ValueError, "M"),
    (np.full((5, 5), 1.7e308), {}, ValueError, "M"),  # sigma_1 = 8.5e308 is beyond float64
    (np.eye(5), {"seed": None}, TypeError, "seed"),  # not reproducible
    (np.eye(5), {"seed": -1}, ValueError, "seed"),
    (np.eye(5), {"seed": 1.5}, TypeError, "seed"),
    (np.eye(5), {"seed": 2**32}, ValueError, "seed"),
    (np.eye(5), {"n_iter": -1}, ValueError, "n_iter"),
    (np.eye(5), {"n_iter": 1.5}, TypeError, "n_iter"),
    (np.eye(5), {"method": "arpack", "n_iter": "x"}, TypeError, "n_iter"),
    (np.eye(5), {"threads": 0}, ValueError, "threads"),
    (np.eye(5), {"k": 0}, ValueError, "k"),
])
def test_truncated_svd_names_bad_input(M, kwargs, exc, name):
    with raises(exc, name):
        E.truncated_svd(M, **{"k": 2, **kwargs})


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@pytest.mark.parametrize("method", ["randomized", "arpack"])
@pytest.mark.parametrize("e", [-1000, -600, 600, 1000])
def test_truncated_svd_of_extreme_matrices_is_the_scaled_svd(method, e):
    rng = np.random.default_rng(4)
    A = rng.standard_normal((12, 9)) * (rng.random((12, 9)) < 0.6)
    U, s = E.truncated_svd(sps.csr_matrix(A), 3, method=method, seed=2)
    U_e, s_e = E.truncated_svd(sps.csr_matrix(np.ldexp(A, e)), 3, method=method, seed=2)
    np.testing.assert_allclose(s_e, np.ldexp(s, e), rtol=1e-10)
    np.testing.assert_allclose(U_e, U, atol=1e-10)
    U_m, s_m = E.truncated_svd(np.asmatrix(A), 3, method=method, seed=2)  # np.matrix is read as an array
    np.testing.assert_allclose(s_m, s, rtol=1e-12)


# ---------------------------------------------------------------------------- Levy-Goldberg


@given(seed=st.integers(0, 10**6), k=st.sampled_from([1.0, 5.0]))
def test_sgns_expected_loss_is_stationary_at_the_shifted_pmi(seed, k):
    rng = np.random.default_rng(seed)
    C = rng.integers(1, 20, (5, 4)).astype(float)
    X = jnp.asarray(E.shifted_pmi(C, k))
    grad = jax.grad(E.sgns_expected_loss)(X, jnp.asarray(C), k)
    np.testing.assert_allclose(grad, 0.0, atol=1e-10)
    assert E.sgns_expected_loss(X, jnp.asarray(C), k) < E.sgns_expected_loss(X + 0.1, jnp.asarray(C), k)


def test_shifted_pmi_checks_its_input():
    assert np.isneginf(E.shifted_pmi(np.array([[1.0, 0.0], [1.0, 1.0]]))[0, 1])
    with pytest.raises(ValueError, match="counts"):
        E.shifted_pmi(np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="k"):
        E.shifted_pmi(np.ones((2, 2)), k=0)
    with raises(ValueError, "counts"):
        E.sgns_expected_loss(jnp.ones((2, 2)), jnp.ones((2, 3)), 1.0)


@pytest.mark.parametrize("counts, k, exc, name", [
    (np.ones((2, 2)), float("nan"), ValueError, "k"),
    (np.ones((2, 2)), float("inf"), ValueError, "k"),
    (np.ones((2, 2)), 0.0, ValueError, "k"),
    (np.ones((2, 2)), "1", TypeError, "k"),
    (np.ones((2, 2)), None, TypeError, "k"),
    (np.ones((2, 2)), True, TypeError, "k"),
    (np.ones((2, 2)), np.array([1.0, 2.0]), TypeError, "k"),
    (sps.csr_matrix(np.ones((2, 2))), 1.0, TypeError, "counts"),
    ("ab", 1.0, TypeError, "counts"),
    (None, 1.0, TypeError, "counts"),
    (np.ones((2, 2)) * (1 + 1j), 1.0, TypeError, "counts"),
    (np.array([[np.nan, 1.0], [1.0, 1.0]]), 1.0, ValueError, "counts"),
    (np.array([[1.0, 0.0], [0.0, 0.0]]), 1.0, ValueError, "counts"),
])
def test_shifted_pmi_names_bad_input(counts, k, exc, name):
    with raises(exc, name):
        E.shifted_pmi(counts, k)


@given(seed=st.integers(0, 10**6), e=st.sampled_from([-1074, -1040, 0, 1000, 1020]))
def test_shifted_pmi_does_not_depend_on_the_scale_of_the_counts(seed, e):
    C = np.random.default_rng(seed).integers(1, 9, (4, 3)).astype(float)
    # exact up to the rounding of logs near 700 (e = 1000 needs no rescaling: its sums are finite)
    np.testing.assert_allclose(E.shifted_pmi(np.ldexp(C, e), 2.0), E.shifted_pmi(C, 2.0), rtol=0, atol=1e-12)
    assert np.all(E.shifted_pmi(np.full((2, 2), 5e-324)) == 0)  # was 2.3e-13: logs of subnormals


@pytest.mark.parametrize("scores, counts, k, exc, name", [
    (jnp.full((2, 2), np.nan), jnp.ones((2, 2)), 1.0, ValueError, "scores"),
    (jnp.full((2, 2), np.inf), jnp.ones((2, 2)), 1.0, ValueError, "scores"),
    (jnp.zeros((2, 2)) * 1j, jnp.ones((2, 2)), 1.0, TypeError, "scores"),
    ("ab", jnp.ones((2, 2)), 1.0, TypeError, "scores"),
    (jnp.zeros(4), jnp.ones(4), 1.0, ValueError, "scores"),
    (jnp.zeros((0, 0)), jnp.zeros((0, 0)), 1.0, ValueError, "scores"),
    (jnp.zeros((2, 2)), jnp.array([[np.nan, 1.0], [1.0, 1.0]]), 1.0, ValueError, "counts"),
    (jnp.zeros((2, 2)), jnp.array([[-1.0, 1.0], [1.0, 1.0]]), 1.0, ValueError, "counts"),
    (jnp.zeros((2, 2)), jnp.zeros((2, 2)), 1.0, ValueError, "counts"),  # D = 0: 0/0
    (jnp.zeros((2, 2)), sps.csr_matrix(np.ones((2, 2))), 1.0, TypeError, "counts"),
    (jnp.zeros((2, 2)), jnp.full((2, 2), 2**30, jnp.int32), 1.0, ValueError, "counts"),  # int32 sum wraps
    (jnp.zeros((2, 2)), jnp.full((2, 2), 1e300), 1.0, ValueError, "counts"),  # r c = 4e600
    (jnp.zeros((2, 2)), jnp.full((2, 2), 1e30, jnp.float32), 1.0, ValueError, "counts"),  # float32: r c = 4e60
    (jnp.zeros((2, 2)), jnp.ones((2, 2)), float("nan"), ValueError, "k"),
    (jnp.zeros((2, 2)), jnp.ones((2, 2)), -1.0, ValueError, "k"),
    (jnp.zeros((2, 2)), jnp.ones((2, 2)), float("inf"), ValueError, "k"),
    (jnp.zeros((2, 2)), jnp.ones((2, 2)), "1", TypeError, "k"),
    (jnp.full((2, 2), 1e308), jnp.ones((2, 2)), 1.0, ValueError, "scores"),  # the loss itself overflows
])
def test_sgns_expected_loss_names_bad_input(scores, counts, k, exc, name):
    with raises(exc, name):
        E.sgns_expected_loss(scores, counts, k)


def test_sgns_expected_loss_under_jit_and_on_lists():
    X, C = jnp.array([[0.3, -1.0], [2.0, 0.5]]), jnp.array([[3.0, 1.0], [2.0, 5.0]])
    eager = E.sgns_expected_loss(X, C, 5)
    r, c = np.asarray(C).sum(1, keepdims=True), np.asarray(C).sum(0, keepdims=True)
    log_sig = lambda x: -np.logaddexp(0.0, -x)  # noqa: E731
    by_hand = -np.sum(np.asarray(C) * log_sig(np.asarray(X)) + 5 * r * c / r.sum() * log_sig(-np.asarray(X)))
    np.testing.assert_allclose(eager, by_hand, rtol=1e-12)
    assert float(jax.jit(E.sgns_expected_loss)(X, C, 5.0)) == pytest.approx(float(eager), rel=1e-12)  # all traced
    assert float(jax.jit(lambda x: E.sgns_expected_loss(x, C, 5))(X)) == pytest.approx(float(eager), rel=1e-12)
    assert float(E.sgns_expected_loss(X.tolist(), C.tolist(), 5)) == pytest.approx(float(eager), rel=1e-12)
    bad = -C
    with raises(ValueError, "counts"):  # a constant inside a jitted loss is still checked while tracing
        jax.jit(lambda x: E.sgns_expected_loss(x, bad, 5))(X)


# ------------------------------------------------------------------------------------ SGNS


def test_keep_probability_is_word2vecs_rule():
    counts = np.array([10_000, 100, 1])
    t = 1e-3 * counts.sum()
    expected = np.minimum(1, (np.sqrt(counts / t) + 1) * t / counts)
    np.testing.assert_allclose(E.keep_probability(counts), expected)
    assert E.keep_probability(counts)[0] < 1 and E.keep_probability(counts)[-1] == 1
    np.testing.assert_array_equal(E.keep_probability(counts, 0.0), 1.0)
    with pytest.raises(ValueError, match="counts"):
        E.keep_probability(np.array([1, 0]))


@pytest.mark.parametrize("counts, sample, exc, name", [
    (np.array([np.nan, 1.0]), 1e-3, ValueError, "counts"),
    (np.array([np.inf, 1.0]), 1e-3, ValueError, "counts"),
    (np.array([1 + 1j]), 1e-3, TypeError, "counts"),
    (np.array(["a"]), 1e-3, TypeError, "counts"),
    (None, 1e-3, TypeError, "counts"),
    (np.ones((2, 2)), 1e-3, ValueError, "counts"),
    (np.zeros(0), 1e-3, ValueError, "counts"),
    (np.array([-1.0, 2.0]), 1e-3, ValueError, "counts"),
    (np.ones(2), float("nan"), ValueError, "sample"),
    (np.ones(2), float("inf"), ValueError, "sample"),
    (np.ones(2), -1e-3, ValueError, "sample"),
    (np.ones(2), 1e-320, ValueError, "sample"),  # subnormal: counts / t overflowed, every word was kept
    (np.ones(2), "0.1", TypeError, "sample"),
    (np.ones(2), None, TypeError, "sample"),
    (np.ones(2), True, TypeError, "sample"),
])
def test_keep_probability_names_bad_input(counts, sample, exc, name):
    with raises(exc, name):
        E.keep_probability(counts, sample)


@given(counts=st.lists(st.integers(1, 10**9), min_size=1, max_size=8), sample=st.sampled_from([1e-5, 1e-3, 0.1, 3.0]),
       e=st.integers(-60, 60))
def test_keep_probability_is_scale_free_bitwise(counts, sample, e):
    counts = np.asarray(counts, dtype=np.float64)
    t = sample * counts.sum()
    direct = np.minimum(1.0, (np.sqrt(counts / t) + 1) * t / counts)  # the formula, unscaled
    np.testing.assert_array_equal(E.keep_probability(counts, sample), direct)
    np.testing.assert_array_equal(E.keep_probability(np.ldexp(counts, e), sample), direct)


@pytest.mark.parametrize("counts, sample", [([1e308, 1e308], 1e-3), ([1e-320, 1e-320], 1e-3), ([1e308, 1.0], 1e-300),
                                            ([3e-310, 1e-311, 7e-312], 0.2), ([10.0, 1.0], 2.3e-308)])
def test_keep_probability_at_float64_limits_against_mpmath(counts, sample):
    mpmath.mp.dps = 40
    f = [mpmath.mpf(c) for c in counts]
    t = mpmath.mpf(sample) * sum(f)
    exact = [min(1, (mpmath.sqrt(c / t) + 1) * t / c) for c in f]
    np.testing.assert_allclose(E.keep_probability(np.array(counts), sample), np.array(exact, dtype=float), rtol=1e-13)


def test_noise_table_follows_the_three_quarter_power():
    counts = np.array([1000, 100, 10, 1])
    table = E.noise_table(counts, size=1 << 16)
    p = counts**0.75 / np.sum(counts**0.75)
    np.testing.assert_allclose(np.bincount(table, minlength=4) / table.size, p, atol=2 / table.size)
    with pytest.raises(ValueError, match="size"):
        E.noise_table(counts, size=3)


@pytest.mark.parametrize("counts, kwargs, exc, name", [
    (np.array([np.nan, 1.0]), {}, ValueError, "counts"),  # filled the table with garbage ids
    (np.array([np.inf, 1.0]), {}, ValueError, "counts"),
    (np.array([1 + 1j, 1.0]), {}, TypeError, "counts"),
    (np.array([-1.0, 2.0]), {}, ValueError, "counts"),
    (np.zeros(3), {}, ValueError, "counts"),
    (np.ones((2, 2)), {}, ValueError, "counts"),
    (np.ones(2), {"power": float("nan")}, ValueError, "power"),
    (np.ones(2), {"power": float("inf")}, ValueError, "power"),
    (np.ones(2), {"power": "1"}, TypeError, "power"),
    (np.array([3.0, 2.0, 1.0]), {"power": 2000.0}, ValueError, "power"),
    (np.array([1.9, 3.0]), {"power": -2000.0}, ValueError, "power"),  # 1.9 ** -2000 underflows
    (np.ones(2), {"size": 2**31}, ValueError, "size"),  # beyond int32 slots (and 8 TiB before)
    (np.ones(2), {"size": 10.0}, TypeError, "size"),
])
def test_noise_table_names_bad_input(counts, kwargs, exc, name):
    with raises(exc, name):
        E.noise_table(counts, **{"size": 16, **kwargs})


@given(counts=st.lists(st.integers(0, 2**20 - 1), min_size=1, max_size=6).filter(any),
       e=st.sampled_from([-1000, 0, 900, 1002, 1003]))  # 1002, 1003: the sums overflow, the counts do not
def test_noise_table_is_scale_free(counts, e):
    counts = np.asarray(counts, dtype=np.float64)  # power 1: scaling by 2**e is exact at every step
    np.testing.assert_array_equal(E.noise_table(np.ldexp(counts, e), power=1.0, size=64),
                                  E.noise_table(counts, power=1.0, size=64))


def test_noise_table_never_draws_unseen_words_and_survives_extreme_counts():
    for power in (0.0, -1.0, 0.75):  # 0 ** 0 = 1 gave unseen words slots
        assert 1 not in E.noise_table(np.array([2.0, 0.0, 1.0]), power=power, size=64)
    np.testing.assert_array_equal(E.noise_table(np.array([1e308, 1e308]), power=1.0, size=10), [0] * 5 + [1] * 5)
    np.testing.assert_array_equal(E.noise_table(np.array([1e300, 1e300, 2e300]), power=2.0, size=12),
                                  [0] * 2 + [1] * 2 + [2] * 8)
    np.testing.assert_array_equal(E.noise_table(np.array([3.0, 2.0, 1.0]), power=-2000.0, size=8), [2] * 8)
    np.testing.assert_array_equal(E.noise_table(np.array([1e-200, 1e-200]), power=2.0, size=4), [0, 0, 1, 1])


@given(seed=st.integers(0, 1000), epochs=st.integers(1, 3), batch=st.integers(1, 7), chunk=st.integers(1, 4))
def test_sgns_stream_holds_every_kept_token_once_per_epoch(seed, epochs, batch, chunk):
    enc = E.Encoded(np.arange(10, dtype=np.int32) % 4, np.repeat([0, 1], 5).astype(np.int32))
    s = E.sgns_stream(enc, np.ones(4), epochs=epochs, window=2, batch=batch, seed=seed, chunk=chunk)
    real = s.sents >= 0
    assert s.steps % s.chunk == 0 and s.chunk <= chunk
    assert s.tokens.size == s.steps * batch + 4 and np.all(s.sents[:2] == -1)
    np.testing.assert_array_equal(s.tokens[real], np.tile(enc.ids, epochs))
    assert len(np.unique(s.sents[real])) == 2 * epochs  # sentences of different epochs never merge
    assert s.steps - -(-10 * epochs // batch) < s.steps // s.chunk  # padding < one step per chunk
    half = E.sgns_stream(enc, np.array([1.0, 0.0, 1.0, 1.0]), epochs=1, window=2, batch=3, seed=seed)
    assert 1 not in half.tokens[half.sents >= 0]


@pytest.mark.parametrize("keep, kwargs, exc, name", [
    (np.array([np.nan, 1.0, 1.0]), {}, ValueError, "keep"),
    (np.array([2.0, 1.0, 1.0]), {}, ValueError, "keep"),
    (np.array([-1.0, 1.0, 1.0]), {}, ValueError, "keep"),
    (np.ones(2), {}, ValueError, "keep"),  # misaligned: word 2 has no probability
    (np.ones((3, 1)), {}, ValueError, "keep"),
    ("abc", {}, TypeError, "keep"),
    (None, {}, TypeError, "keep"),
    (np.zeros(3), {}, ValueError, "keep"),  # nothing kept: nothing to train on
    (np.ones(3), {"seed": None}, TypeError, "seed"),  # not reproducible
    (np.ones(3), {"seed": -1}, ValueError, "seed"),
    (np.ones(3), {"seed": 1.5}, TypeError, "seed"),
    (np.ones(3), {"seed": "a"}, TypeError, "seed"),
    (np.ones(3), {"seed": 2**32}, ValueError, "seed"),
    (np.ones(3), {"epochs": 0}, ValueError, "epochs"),
    (np.ones(3), {"epochs": 10**12}, ValueError, "epochs"),
    (np.ones(3), {"chunk": 2.0}, TypeError, "chunk"),
])
def test_sgns_stream_names_bad_input(keep, kwargs, exc, name):
    with raises(exc, name):
        E.sgns_stream(TINY, keep, **{"epochs": 1, "window": 1, "batch": 2, **kwargs})


def test_sgns_init_names_bad_input():
    stream = E.sgns_stream(TINY, np.ones(3), epochs=1, window=1, batch=2)
    good = (jax.random.key(0), TINY_COUNTS, 4, stream)
    for i, bad, exc, name in [
        (0, 0, TypeError, "key"), (0, "k", TypeError, "key"),
        (1, np.array([np.nan, 1, 1]), ValueError, "counts"), (1, np.ones((3, 1)), ValueError, "counts"),
        (1, np.array([1, 1]), ValueError, "counts"),
        (2, 0, ValueError, "dim"), (2, 10**12, ValueError, "dim"), (2, 4.0, TypeError, "dim"),
        (3, tuple(stream), TypeError, "stream"),
        (3, stream._replace(tokens=stream.tokens.astype(float)), TypeError, "stream.tokens"),
        (3, stream._replace(tokens=stream.tokens - 1), ValueError, "stream"),
        (3, stream._replace(sents=stream.sents[1:]), ValueError, "stream"),
        (3, stream._replace(steps=stream.chunk + 1), ValueError, "stream"),
        (3, stream._replace(chunk=0), ValueError, "stream.chunk"),
    ]:
        args = list(good)
        args[i] = bad
        with raises(exc, name):
            E.sgns_init(*args)


@pytest.mark.parametrize("kwargs, exc, name", [
    ({"alpha": float("inf")}, ValueError, "alpha"),  # trained NaN vectors with a finite history
    ({"alpha": float("nan")}, ValueError, "alpha"),
    ({"alpha": -1.0}, ValueError, "alpha"),
    ({"alpha": "0.1"}, TypeError, "alpha"),
    ({"alpha": None}, TypeError, "alpha"),
    ({"min_alpha": float("nan")}, ValueError, "min_alpha"),
    ({"alpha": 0.01, "min_alpha": 0.1}, ValueError, "min_alpha"),
    ({"window": 0}, ValueError, "window"),
    ({"window": 2.5}, TypeError, "window"),
    ({"negative": 0}, ValueError, "negative"),
    ({"draws": -3}, ValueError, "draws"),
    ({"batch": True}, TypeError, "batch"),
])
def test_sgns_config_is_checked_on_construction(kwargs, exc, name):
    with raises(exc, name):
        E.SGNSConfig(**kwargs)
    with raises(exc, name):
        E.SGNSConfig()._replace(**kwargs)


def test_sgns_config_stays_a_named_tuple():
    c = E.SGNSConfig(3, 4, 5, 6, 0.1, 0.01)
    assert c == (3, 4, 5, 6, 0.1, 0.01) and c.batch == 6 and repr(c).startswith("SGNSConfig(window=3")
    assert pickle.loads(pickle.dumps(c)) == c and type(pickle.loads(pickle.dumps(c))) is E.SGNSConfig
    assert E.SGNSConfig(alpha=np.float32(0.5)).alpha == 0.5 and type(E.SGNSConfig(alpha=1).alpha) is float
    bypass = tuple.__new__(E.SGNSConfig, (5, 5, 30, 256, float("inf"), 0.0))  # around the constructor
    with raises(ValueError, "alpha"):
        E.sgns_step(10, bypass)
    with raises(TypeError, "config"):
        E.sgns_step(10, [5, 5, 30, 256, 0.1, 0.0])  # was "unhashable type: 'list'"
    with raises(TypeError, "total_steps"):
        E.sgns_step(1.5)


def test_sgns_step_checks_its_state_while_tracing():
    stream = E.sgns_stream(TINY, np.ones(3), epochs=1, window=1, batch=2)
    state = E.sgns_init(jax.random.key(0), TINY_COUNTS, 4, stream)
    step, key = E.sgns_step(stream.steps, SMALL), jax.random.key(1)
    with raises(TypeError, "state"):
        step(tuple(state)[:2], key)
    with raises(TypeError, "key"):
        step(state, 0)
    with raises(ValueError, "state"):
        step(state._replace(w_out=state.w_out[:, :2]), key)
    for other in (E.sgns_step(stream.steps + 1, SMALL), E.sgns_step(stream.steps, SMALL._replace(window=2)),
                  E.sgns_step(stream.steps, SMALL._replace(batch=3))):
        with raises(ValueError, "state"):  # a stream of another length was read past its end (clamped)
            other(state, key)


def test_sgns_steps_beyond_the_stream_start_a_new_pass():
    stream = E.sgns_stream(TINY, np.ones(3), epochs=1, window=1, batch=2)
    state = E.sgns_init(jax.random.key(0), TINY_COUNTS, 4, stream)
    flat = SMALL._replace(alpha=0.05, min_alpha=0.05)  # one learning rate: step t and t + T read the same block
    step, key = jax.jit(E.sgns_step(stream.steps, flat)), jax.random.key(1)
    first, m0 = step(state, key)
    again, m1 = step(state._replace(t=jnp.int32(stream.steps)), key)
    np.testing.assert_array_equal(first.w_in, again.w_in)
    np.testing.assert_array_equal(first.w_out, again.w_out)
    assert float(m0["pairs"]) == float(m1["pairs"]) > 0


def _naive_sgns_update(state, key, config, total):
    """One SGNS step by explicit loops over (centre, context) pairs and noise words, on the full tables, with
    the step's random draws: d/ds of -log σ(s) is σ(s) - 1, of -log σ(-s) is σ(s)."""
    w, B, D, k = config.window, config.batch, config.draws, config.negative
    k_win, k_neg = jax.random.split(key)
    reach = np.asarray(jax.random.randint(k_win, (B, 1), 1, w + 1, dtype=jnp.int32))[:, 0]
    noise = np.asarray(state.table)[np.asarray(jax.random.randint(k_neg, (B, D), 0, state.table.shape[0],
                                                                  dtype=jnp.int32))]
    tokens, sents, t0 = np.asarray(state.tokens), np.asarray(state.sents), int(state.t) * B
    w_in, w_out = np.asarray(state.w_in, np.float64), np.asarray(state.w_out, np.float64)
    g_in, g_out = np.zeros_like(w_in), np.zeros_like(w_out)
    sigmoid = lambda s: 1 / (1 + np.exp(-s))  # noqa: E731
    for i in range(B):
        p = t0 + w + i
        if sents[p] < 0:
            continue
        ctx = [tokens[p + o] for o in range(-w, w + 1) if o and abs(o) <= reach[i] and sents[p + o] == sents[p]]
        u = w_in[tokens[p]]
        for c, weight, sign in [(c, 1.0, 1) for c in ctx] + [(m, k * len(ctx) / D, -1) for m in noise[i]]:
            g = weight * (sigmoid(u @ w_out[c]) - (sign > 0))
            g_in[tokens[p]] += g * w_out[c]
            g_out[c] += g * u
    eta = config.alpha - (config.alpha - config.min_alpha) * int(state.t) / total
    return w_in - eta * g_in, w_out - eta * g_out


def test_sgns_step_is_the_sparse_form_of_the_per_pair_loss():
    rng = np.random.default_rng(0)
    enc = E.Encoded(rng.integers(0, 6, 40).astype(np.int32), np.repeat(np.arange(4), 10).astype(np.int32))
    counts = np.bincount(enc.ids, minlength=6)
    config = E.SGNSConfig(window=2, negative=3, draws=4, batch=8, alpha=0.3, min_alpha=0.01)
    stream = E.sgns_stream(enc, np.ones(6), epochs=1, window=2, batch=8)
    state = E.sgns_init(jax.random.key(0), counts, 3, stream)
    state = state._replace(w_out=0.3 * jax.random.normal(jax.random.key(1), state.w_out.shape, jnp.float32),
                           t=jnp.int32(1))
    step = E.sgns_step(stream.steps, config)
    key = step_key(jax.random.key(2), 1)
    new, metrics = jax.jit(step)(state, key)
    w_in, w_out = _naive_sgns_update(state, key, config, stream.steps)
    np.testing.assert_allclose(new.w_in, w_in, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(new.w_out, w_out, rtol=2e-5, atol=2e-6)
    assert int(new.t) == 2 and float(metrics["pairs"]) > 0


def test_train_sgns_separates_two_topics_and_is_reproducible():
    rng = np.random.default_rng(0)
    docs = [[f"{topic}{j}" for j in rng.integers(0, 10, 60)] for topic in "ab" * 30]  # two disjoint vocabularies
    c = Corpus.from_docs(docs)
    v = E.build_vocab(c, min_count=1)
    enc = E.encode(c, v)
    config = E.SGNSConfig(batch=64, alpha=0.05)
    w_in, w_out, hist = E.train_sgns(enc, v.counts, dim=8, epochs=3, sample=0, config=config, key=jax.random.key(0))
    again, _, _ = E.train_sgns(enc, v.counts, dim=8, epochs=3, sample=0, config=config, key=jax.random.key(0))
    np.testing.assert_array_equal(w_in, again)
    assert w_in.dtype == np.float32 and w_out.shape == w_in.shape and hist["loss"].size == hist["pairs"].size
    unit = w_in / np.linalg.norm(w_in, axis=1, keepdims=True)
    topic = np.array([w[0] for w in v.words])
    cos = unit @ unit.T
    same, other = topic[:, None] == topic[None, :], topic[:, None] != topic[None, :]
    assert cos[same & ~np.eye(len(v), dtype=bool)].mean() > cos[other].mean() + 0.3


def test_train_sgns_seeds_is_train_sgns_per_seed():
    rng = np.random.default_rng(1)
    docs = [[f"w{j}" for j in rng.integers(0, 12, 40)] for _ in range(20)]
    c = Corpus.from_docs(docs)
    v = E.build_vocab(c, min_count=1)
    enc = E.encode(c, v)
    config = E.SGNSConfig(batch=32, alpha=0.05)
    w_in, w_out, hist = E.train_sgns_seeds(enc, v.counts, [3, 11], dim=6, epochs=2, sample=0, config=config, chunk=7)
    assert w_in.shape == w_out.shape == (2, len(v), 6) and hist["loss"].shape == hist["pairs"].shape
    assert hist["loss"].shape[1] == 2 and not np.allclose(w_in[0], w_in[1])
    for r, seed in enumerate((3, 11)):  # sample=0: equal streams, so each run is train_sgns with its seed
        one_in, one_out, one_hist = E.train_sgns(enc, v.counts, dim=6, epochs=2, sample=0, config=config,
                                                 key=jax.random.key(seed), seed=seed, chunk=7)
        np.testing.assert_array_equal(w_in[r], one_in)
        np.testing.assert_array_equal(w_out[r], one_out)
        np.testing.assert_array_equal(hist["pairs"][:, r], one_hist["pairs"])
    with pytest.raises(ValueError, match="seeds"):
        E.train_sgns_seeds(enc, v.counts, [], dim=6, epochs=1)


def test_training_stops_on_non_finite_vectors_naming_step_and_table():
    diverging = SMALL._replace(alpha=1e20, min_alpha=1e20)
    with pytest.raises(TrainingDiverged) as info:
        E.train_sgns(TINY, TINY_COUNTS, dim=4, epochs=4, sample=0, config=diverging, key=jax.random.key(0))
    assert info.value.metric in ("loss", "state.w_in", "state.w_out") and info.value.step < 12
    assert len(info.value.history["loss"]) == info.value.step + 1
    with pytest.raises(TrainingDiverged) as info:
        E.train_sgns_seeds(TINY, TINY_COUNTS, [7, 3], dim=4, epochs=4, sample=0, config=diverging)
    assert info.value.__notes__ == ["in the run of seed 7 (train_sgns_seeds)"]


@pytest.mark.parametrize("kwargs, exc, name", [
    ({"config": None}, TypeError, "config"),
    ({"key": 0}, TypeError, "key"),
    ({"key": "k"}, TypeError, "key"),
    ({"counts": np.array([3, 2])}, ValueError, "counts"),  # word 2 has no count
    ({"counts": np.array([3.0, np.nan, 1.0])}, ValueError, "counts"),
    ({"counts": None}, TypeError, "counts"),
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": None}, TypeError, "seed"),
    ({"sample": float("nan")}, ValueError, "sample"),
    ({"dim": 0}, ValueError, "dim"),
    ({"chunk": 0}, ValueError, "chunk"),
    ({"progress": "no"}, TypeError, "progress"),
    ({"encoded": (TINY.ids, TINY.sid)}, TypeError, "encoded"),
])
def test_train_sgns_names_bad_input(kwargs, exc, name):
    args = {"encoded": TINY, "counts": TINY_COUNTS, "dim": 4, "epochs": 1, "sample": 0, "config": SMALL,
            "key": jax.random.key(0), **kwargs}
    with raises(exc, name):
        E.train_sgns(args.pop("encoded"), args.pop("counts"), **args)


@pytest.mark.parametrize("seeds, exc", [("ab", TypeError), (3, TypeError), (None, TypeError), ([True], TypeError),
                                        ([1.0], TypeError), ([-1], ValueError), ([2**70], ValueError),
                                        ([4, 4], ValueError), ([], ValueError), ({1, 2}, TypeError)])
def test_train_sgns_seeds_names_bad_seeds(seeds, exc):
    with raises(exc, "seeds"):
        E.train_sgns_seeds(TINY, TINY_COUNTS, seeds, dim=4, epochs=1, sample=0, config=SMALL)


def test_train_sgns_seeds_pads_unequal_streams_without_pairs():
    rng = np.random.default_rng(2)
    docs = [[f"w{j}" for j in rng.zipf(1.5, 50) % 30] for _ in range(30)]
    c = Corpus.from_docs(docs)
    v = E.build_vocab(c, min_count=1)
    enc = E.encode(c, v)
    config = E.SGNSConfig(batch=16, alpha=0.05)
    seeds = [0, 1, 2]
    _, _, hist = E.train_sgns_seeds(enc, v.counts, seeds, dim=4, epochs=1, sample=1e-2, config=config)
    keep = E.keep_probability(v.counts, 1e-2)
    for r, seed in enumerate(seeds):  # each repetition forms exactly the pairs of its own stream
        stream = E.sgns_stream(enc, keep, epochs=1, window=config.window, batch=config.batch, seed=seed)
        _, _, one = E.train_sgns(enc, v.counts, dim=4, epochs=1, sample=1e-2, config=config,
                                 key=jax.random.key(seed), seed=seed)
        assert hist["pairs"][:, r].sum() == one["pairs"].sum() and hist["pairs"][stream.steps:, r].sum() == 0


def test_sgns_rejects_bad_configuration():
    with pytest.raises(ValueError, match="batch"):
        E.sgns_step(10, E.SGNSConfig(batch=0))
    with pytest.raises(ValueError, match="min_alpha"):
        E.sgns_step(10, E.SGNSConfig(alpha=0.01, min_alpha=0.1))
    with pytest.raises(TypeError, match="config"):
        E.sgns_step(10, (5, 5, 30, 256))
    enc = E.Encoded(np.array([0, 1, 2], np.int32), np.zeros(3, np.int32))
    stream = E.sgns_stream(enc, np.ones(3), epochs=1, window=1, batch=2)
    with pytest.raises(ValueError, match="counts"):
        E.sgns_init(jax.random.key(0), np.array([1, 1]), 4, stream)


# ------------------------------------------------------------------------------ evaluation


def test_keyed_vectors_checks_rows():
    kv = E.keyed_vectors(["a", "b"], np.eye(2))
    assert kv.index_to_key == ["a", "b"]
    with pytest.raises(ValueError, match="drop_zero"):
        E.keyed_vectors(["a", "b", "c"], np.array([[1.0, 0], [0, 0], [0, 1]]))
    dropped = E.keyed_vectors(["a", "b", "c"], np.array([[1.0, 0], [0, 0], [0, 1]]), drop_zero=True)
    assert dropped.index_to_key == ["a", "c"]
    with pytest.raises(ValueError, match="words"):
        E.keyed_vectors(["a", "a"], np.eye(2))
    with pytest.raises(ValueError, match="vectors"):
        E.keyed_vectors(["a", "b"], np.full((2, 2), np.nan))


@pytest.mark.parametrize("words, vectors, kwargs, exc, name", [
    (["a", "b"], np.array([[1e39, 1.0], [1.0, 2.0]]), {}, ValueError, "vectors"),  # inf in float32
    (["a", "b"], np.array([[1e30, 1.0], [1.0, 2.0]]), {}, ValueError, "vectors"),  # float32 norm overflows
    (["a", "b"], np.array([[1e-25, 1e-25], [1.0, 2.0]]), {}, ValueError, "vectors"),  # norm underflows: NaN
    (["a", "b"], np.array([[1e-300, 0.0], [1.0, 2.0]]), {"drop_zero": True}, ValueError, "vectors"),  # 0 in f32
    (["a", "b"], np.eye(2) * 1j, {}, TypeError, "vectors"),
    (["a", "b"], np.eye(2, dtype=bool), {}, TypeError, "vectors"),
    (["a", "b"], "ab", {}, TypeError, "vectors"),
    (["a", "b"], sps.csr_matrix(np.eye(2)), {}, TypeError, "vectors"),
    (["a", "b"], np.ones(2), {}, ValueError, "vectors"),
    (["a", "b"], np.ones((3, 2)), {}, ValueError, "vectors"),
    (["a"], np.zeros((1, 0)), {}, ValueError, "vectors"),
    ([], np.zeros((0, 2)), {}, ValueError, "vectors"),
    (["a", "b"], np.zeros((2, 2)), {"drop_zero": True}, ValueError, "vectors"),
    ("ab", np.eye(2), {}, TypeError, "words"),
    ([1, 2], np.eye(2), {}, TypeError, "words"),
    (None, np.eye(2), {}, TypeError, "words"),
    ((w for w in "ab"), np.eye(2), {}, TypeError, "words"),
    (["a", "b"], np.eye(2), {"drop_zero": "no"}, TypeError, "drop_zero"),
])
def test_keyed_vectors_names_bad_input(words, vectors, kwargs, exc, name):
    with raises(exc, name):
        E.keyed_vectors(words, vectors, **kwargs)


@pytest.mark.parametrize("scale", [1e-18, 1e18, 2**-60, 2.0**60])
def test_keyed_vectors_keeps_directions_of_small_and_large_rows(scale):
    x = np.array([[3.0, 4.0], [1.0, 0.0], [-2.0, 1.0]])
    kv = E.keyed_vectors(["a", "b", "c"], x * scale)
    np.testing.assert_allclose(kv.get_normed_vectors(), x / np.linalg.norm(x, axis=1, keepdims=True), rtol=1e-6)
    assert E.keyed_vectors(("a", "b"), jnp.eye(2)).index_to_key == ["a", "b"]


def test_similarity_rho_and_analogies_name_bad_input(tmp_path):
    kv = E.keyed_vectors(["a", "b"], np.eye(2))
    for f in (E.similarity_rho, E.analogy_accuracy, E.evaluate):
        with raises(TypeError, "kv"):
            f(np.eye(2))
    with raises(ValueError, "kv"):  # no pair known (gensim's message does not name the argument)
        E.similarity_rho(kv)
    with raises(ValueError, "kv"):  # rho of constant similarities was NaN, with its warning silenced
        words = ["tiger", "cat", "car", "automobile"]
        E.similarity_rho(E.keyed_vectors(words, np.ones((4, 2))))
    with raises(ValueError, "kv"):  # accuracy 0/0
        E.analogy_accuracy(kv)
    with raises(TypeError, "path"):  # open(3) would read (and then close) file descriptor 3
        E.analogy_accuracy(kv, 3)
    with raises(ValueError, "batch"):
        E.analogy_accuracy(kv, batch=0)
    zero = gensim.models.KeyedVectors(2)
    zero.add_vectors(["a", "b"], np.array([[0, 0], [1, 1]], np.float32))
    with raises(ValueError, "kv"):  # a zero vector: NaN scores, argmax picks garbage
        E.analogy_accuracy(zero)
    with raises(ValueError, "total"):
        E.AnalogyScore(0, 0, 5, ()).accuracy
    (tmp_path / "q.txt").write_text(": s\na b a b\n", encoding="utf-8")
    assert E.analogy_accuracy(kv, tmp_path / "q.txt").total == 1  # an os.PathLike is a path


def test_analogy_accuracy_agrees_with_gensim(tmp_path):
    path = tmp_path / "questions.txt"
    words = [f"w{i}" for i in range(40)]
    lines = [": first"] + [" ".join(words[j] for j in (i, i + 1, i + 2, i + 3)) for i in range(0, 20, 2)]
    lines += [": second"] + [" ".join(words[j] for j in (i, i + 3, i + 5, i + 7)) for i in range(10, 30, 3)]
    lines += ["w1 w2 unknown w3"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((40, 5))
    vectors[3] = vectors[1] + vectors[2] - vectors[0]  # make two answers right: w0:w1::w2:w3, w4:w5::w6:w7
    vectors[7] = vectors[5] + vectors[6] - vectors[4]
    kv = E.keyed_vectors(words, vectors)
    ours = E.analogy_accuracy(kv, str(path), batch=4)
    score, sections = kv.evaluate_word_analogies(str(path))
    assert ours.correct == len(sections[-1]["correct"]) and ours.total == ours.correct + len(sections[-1]["incorrect"])
    assert ours.accuracy == pytest.approx(score) and ours.correct >= 2 and ours.skipped == 1
    assert [name for name, _, _ in ours.sections] == ["first", "second"]


def test_evaluate_reports_all_scores():
    rng = np.random.default_rng(0)
    words = []
    for name in ("wordsim353", "simlex999"):
        with open(data.eval_set(name), encoding="utf-8") as f:
            pairs = [line.lower().split()[:2] for line in f if not line.startswith("#")][:30]
        words = list(dict.fromkeys(words + [w for pair in pairs for w in pair]))
    with raises(ValueError, "kv"):  # no analogy question can be answered: the accuracy would be 0/0
        E.evaluate(E.keyed_vectors(words, rng.standard_normal((len(words), 4))))
    words += ["athens", "greece", "baghdad", "iraq"]  # the first analogy question
    scores = E.evaluate(E.keyed_vectors(words, rng.standard_normal((len(words), 4))))
    assert set(scores) == {"ws353", "simlex", "analogy", "ws353_oov", "simlex_oov", "ws353_n", "simlex_n",
                           "analogy_n"}
    assert -1 <= scores["ws353"] <= 1 and 0 < scores["ws353_oov"] < 1 and scores["analogy_n"] >= 1
    known = {w.upper() for w in words}
    for name, key in (("wordsim353", "ws353_n"), ("simlex999", "simlex_n")):  # pairs with both words known
        with open(data.eval_set(name), encoding="utf-8") as f:
            rows = [line.upper().split("\t") for line in f if not line.startswith("#")]
        assert scores[key] == sum(a in known and b in known for a, b, _ in rows) >= 30
    with pytest.raises(ValueError, match="name"):
        E.similarity_rho(None, "men")


# ---------------------------------------------------------------------- latent classes and CBOW


def test_latent_class_corpus_follows_its_chain_and_emissions():
    enc, labels = E.latent_class_corpus(60_000, n_words=20, n_classes=4, p_next=0.7, zipf=1.0, seed=3)
    assert enc.ids.dtype == np.int32 and enc.ids.size == 60_000 and np.all(enc.sid == 0)
    assert labels.tolist() == [w % 4 for w in range(20)]
    cls = labels[enc.ids]
    step = (cls[1:] - cls[:-1]) % 4
    assert abs(np.mean(step == 1) - 0.7) < 0.01  # P(next class) = p_next
    assert all(abs(np.mean(step == s) - 0.1) < 0.01 for s in (0, 2, 3))  # (1 - p)/(K - 1) each
    counts = np.bincount(enc.ids, minlength=20)
    ratio = counts[0] / counts[4]  # ranks 0 and 1 of class 0: weights 1 and 1/2
    assert abs(ratio - 2) < 0.15
    again, _ = E.latent_class_corpus(60_000, n_words=20, n_classes=4, p_next=0.7, seed=3)
    assert np.array_equal(again.ids, enc.ids)


@pytest.mark.parametrize("kwargs, exc, name", [
    ({"n_tokens": 0}, ValueError, "n_tokens"), ({"n_classes": 1}, ValueError, "n_classes"),
    ({"n_words": 3, "n_classes": 5}, ValueError, "n_words"), ({"p_next": 1.5}, ValueError, "p_next"),
    ({"zipf": -1.0}, ValueError, "zipf"), ({"seed": -1}, ValueError, "seed"), ({"n_tokens": 1.5}, TypeError, "n_tokens"),
])
def test_latent_class_corpus_names_bad_input(kwargs, exc, name):
    args = {"n_tokens": 100, **kwargs}
    with raises(exc, name):
        E.latent_class_corpus(args.pop("n_tokens"), **args)


def test_neighbour_purity_on_clear_and_mixed_clusters():
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 10
    X = np.repeat(centres, 4, axis=0) + rng.normal(size=(12, 3))
    y = np.repeat(np.arange(3), 4)
    assert E.neighbour_purity(X, y, k=3) == 1.0
    assert E.neighbour_purity(X, np.tile(np.arange(3), 4), k=3) < 0.5
    # one row of the wrong class: its 3 neighbours are all "wrong", and it spoils one slot of 3 rows' lists
    y_bad = y.copy()
    y_bad[0] = 1
    assert E.neighbour_purity(X, y_bad, k=3) < 1.0


@given(perm_seed=st.integers(0, 100), scale=st.floats(0.1, 10))
def test_neighbour_purity_ignores_row_order_and_scale(perm_seed, scale):
    rng = np.random.default_rng(perm_seed)
    X, y = rng.normal(size=(15, 4)), rng.integers(0, 3, 15)
    p = rng.permutation(15)
    assert E.neighbour_purity(X[p] * scale, y[p], k=2) == pytest.approx(E.neighbour_purity(X, y, k=2))


@pytest.mark.parametrize("X, y, k, exc, name", [
    (np.ones((3, 2)), np.zeros(2, int), 1, ValueError, "labels"),
    (np.r_[np.ones((2, 2)), np.zeros((1, 2))], np.zeros(3, int), 1, ValueError, "vectors"),
    (np.ones((3, 2)), np.zeros(3, int), 3, ValueError, "k"),
    (np.ones((3, 2)), np.zeros(3), 1, TypeError, "labels"),
])
def test_neighbour_purity_names_bad_input(X, y, k, exc, name):
    with raises(exc, name):
        E.neighbour_purity(X, y, k=k)


def test_cbow_windows_stay_inside_sentences():
    ctx, mask = E.cbow_windows(TINY, 2)
    # TINY: ids 0 1 0 2 | 1 0 (two sentences); offsets -2 -1 +1 +2
    assert ctx[1].tolist() == [0, 0, 0, 2] and mask[1].tolist() == [0, 1, 1, 1]
    assert mask[3].tolist() == [1, 1, 0, 0] and mask[4].tolist() == [0, 0, 1, 0]
    assert ctx[4].tolist()[2] == 0 and ctx.dtype == np.int32


def test_cbow_loss_is_bag_of_words_times_a_matrix():
    k1, k2 = jax.random.split(jax.random.key(0))
    w_in, w_out = jax.random.normal(k1, (6, 3)), jax.random.normal(k2, (3, 6))
    ctx, mask = jnp.array([[1, 2, 2, 5]]), jnp.array([[1.0, 1.0, 1.0, 0.0]])
    bag = jnp.zeros(6).at[jnp.array([1, 2, 2])].add(1.0)
    logits = bag @ w_in @ w_out
    expected = -jax.nn.log_softmax(logits)[4]
    assert float(E.cbow_loss(w_in, w_out, ctx, mask, jnp.array([4]))) == pytest.approx(float(expected), rel=1e-6)


def test_train_cbow_models_are_independent_and_learn_classes():
    enc, labels = E.latent_class_corpus(20_000, n_words=20, n_classes=2, p_next=0.9, zipf=0.5, seed=1)
    key = jax.random.key(2)
    together = E.train_cbow(enc, 20, dims=[2, 4], lengths=[20_000, 5_000], key=key, steps=300, batch=64, lr=0.05)
    assert [w.shape for w in together] == [(20, 2), (20, 4)]
    assert E.neighbour_purity(together[0], labels, k=3) > 0.9
    again = E.train_cbow(enc, 20, dims=[2, 4], lengths=[20_000, 5_000], key=key, steps=300, batch=64, lr=0.05)
    assert all(np.array_equal(a, b) for a, b in zip(together, again))


@pytest.mark.parametrize("kwargs, exc, name", [
    ({"dims": [2], "lengths": [5, 6]}, ValueError, "dims"), ({"dims": [0], "lengths": [5]}, ValueError, "dims"),
    ({"lengths": [10**6]}, ValueError, "lengths"), ({"vocab_size": 2}, ValueError, "vocab_size"),
    ({"lr": 0.0}, ValueError, "lr"), ({"key": 3}, TypeError, "key"), ({"window": 0}, ValueError, "window"),
    ({"starts": [1]}, ValueError, "starts"), ({"starts": [0, 0]}, ValueError, "starts"),
    ({"starts": [-1]}, ValueError, "starts"),
])
def test_train_cbow_names_bad_input(kwargs, exc, name):
    args = {"dims": [2], "lengths": [6], "vocab_size": 3, "key": jax.random.key(0), "steps": 2, **kwargs}
    with raises(exc, name):
        E.train_cbow(TINY, args.pop("vocab_size"), **args)


def test_train_cbow_stretches_of_one_stream_are_separate_corpora():
    """Two corpora end to end (two sentences) with starts: each model sees only its own stretch."""
    a, labels = E.latent_class_corpus(6_000, n_words=20, n_classes=2, p_next=0.9, zipf=0.5, seed=1)
    b = E.Encoded(np.full(6_000, 19, np.int32), np.zeros(6_000, np.int32))  # one word repeated: no classes
    both = E.Encoded(np.concatenate([a.ids, b.ids]), np.r_[np.zeros(6_000, np.int32), np.ones(6_000, np.int32)])
    w = E.train_cbow(both, 20, dims=[2, 2], lengths=[6_000, 6_000], starts=[0, 6_000], key=jax.random.key(0),
                     steps=300, batch=64, lr=0.05)
    assert E.neighbour_purity(w[0], labels, k=3) > 0.9
    init = E.train_cbow(both, 20, dims=[2, 2], lengths=[6_000, 6_000], starts=[0, 6_000], key=jax.random.key(0),
                        steps=1, batch=64, lr=1e-12)
    moved = np.abs(w[1] - init[1]).max(axis=1) > 1e-6
    assert moved.tolist() == [False] * 19 + [True]  # the second model only ever sees word 19
