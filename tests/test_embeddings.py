"""kexue.embeddings: vocabulary, windows, PPMI, SVD, SGNS and evaluation do what their docstrings say."""

from __future__ import annotations

import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sps
from hypothesis import given
from hypothesis import strategies as st

from kexue import embeddings as E
from kexue import data
from kexue.data import Corpus
from kexue.train import step_key

logging.getLogger("gensim").setLevel(logging.ERROR)

sentences = st.lists(st.lists(st.integers(0, 7), min_size=1, max_size=15), min_size=1, max_size=5)


def corpus_of(sents):
    return Corpus.from_docs([[f"w{i}" for i in s] for s in sents])


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


@given(sents=sentences, window=st.integers(1, 4), dynamic=st.booleans())
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
    with pytest.raises(ValueError, match="U, s"):
        E.svd_vectors(U, s[:2])


def test_truncated_svd_rejects_bad_k():
    with pytest.raises(ValueError, match="k"):
        E.truncated_svd(np.eye(5), 5)
    with pytest.raises(ValueError, match="method"):
        E.truncated_svd(np.eye(5), 2, method="lanczos")
    with pytest.raises(TypeError, match="M"):
        E.truncated_svd([[1.0, 0.0], [0.0, 1.0]], 1)


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
    with pytest.raises(ValueError, match="scores"):
        E.sgns_expected_loss(jnp.ones((2, 2)), jnp.ones((2, 3)), 1.0)


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


def test_noise_table_follows_the_three_quarter_power():
    counts = np.array([1000, 100, 10, 1])
    table = E.noise_table(counts, size=1 << 16)
    p = counts**0.75 / np.sum(counts**0.75)
    np.testing.assert_allclose(np.bincount(table, minlength=4) / table.size, p, atol=2 / table.size)
    with pytest.raises(ValueError, match="size"):
        E.noise_table(counts, size=3)


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
    scores = E.evaluate(E.keyed_vectors(words, rng.standard_normal((len(words), 4))))
    assert set(scores) == {"ws353", "simlex", "analogy", "ws353_oov", "simlex_oov", "ws353_n", "simlex_n",
                           "analogy_n"}
    assert -1 <= scores["ws353"] <= 1 and 0 < scores["ws353_oov"] < 1
    known = {w.upper() for w in words}
    for name, key in (("wordsim353", "ws353_n"), ("simlex999", "simlex_n")):  # pairs with both words known
        with open(data.eval_set(name), encoding="utf-8") as f:
            rows = [line.upper().split("\t") for line in f if not line.startswith("#")]
        assert scores[key] == sum(a in known and b in known for a, b, _ in rows) >= 30
    with pytest.raises(ValueError, match="name"):
        E.similarity_rho(None, "men")
