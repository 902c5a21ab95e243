"""kexue.judge: the digit judge (calibrated classifier on a held-out split) and k-NN precision/recall."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import cdist

from kexue import data, judge
from kexue.seed import rng


@pytest.fixture(scope="module")
def jd() -> judge.DigitJudge:
    return judge.digit_judge()


@pytest.fixture(scope="module")
def xy() -> tuple[np.ndarray, np.ndarray]:
    x, y = data.digits()
    return np.asarray(x, dtype=np.float64), np.asarray(y)


def test_split_is_a_stratified_partition(jd, xy):
    _, y = xy
    both = np.concatenate([jd.train_index, jd.test_index])
    assert sorted(both.tolist()) == list(range(len(y)))
    diff = np.bincount(y[jd.train_index], minlength=10) - np.bincount(y[jd.test_index], minlength=10)
    assert np.all(np.abs(diff) <= 1)


def test_held_out_accuracy_and_calibrated_probabilities(jd, xy):
    x, y = xy
    assert jd.test_accuracy >= 0.97  # an RBF SVM reads about 99 % of the held-out half
    assert np.mean(jd.predict(x[jd.test_index]) == y[jd.test_index]) == pytest.approx(jd.test_accuracy)
    p = jd.proba(x[:50])
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-10)
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_array_equal(jd.predict(x[:50].reshape(50, 8, 8)), jd.predict(x[:50]))


def test_real_digits_look_real_and_cover_every_class(jd, xy):
    x, _ = xy
    r = judge.judge_samples(jd, x[jd.test_index])
    assert r.covered == 10 and r.entropy == pytest.approx(np.log(10), abs=5e-3)
    assert r.precision > 0.8 and r.recall == 1.0  # each held-out digit is the centre of one of the balls
    assert r.class_counts.sum() == len(jd.test_index)


def test_noise_and_a_single_repeated_digit_are_caught(jd, xy):
    x, _ = xy
    noise = judge.judge_samples(jd, rng("test-judge-noise").random((200, 64)))
    assert noise.precision == 0.0 and noise.recall == 0.0  # uniform noise is far from every digit
    one = judge.judge_samples(jd, np.tile(x[jd.test_index[0]], (200, 1)))
    assert one.covered == 1 and one.entropy == 0.0 and one.recall < 0.05  # mode collapse: no recall


points = st.integers(5, 30).flatmap(lambda n: arrays(np.float64, (n, 3), elements=st.floats(-5, 5)))


@settings(max_examples=30, deadline=None)
@given(pts=points, k=st.integers(1, 4))
def test_knn_radii_match_brute_force(pts, k):
    d = np.sort(cdist(pts, pts), axis=1)
    # sklearn computes |a|^2 - 2ab + |b|^2: cancellation leaves ~sqrt(eps)*|x| where distances vanish
    np.testing.assert_allclose(judge.knn_radii(pts, k), d[:, k], atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(q=arrays(np.float64, (7, 3), elements=st.floats(-5, 5)), c=points,
       scale=st.floats(0.1, 4.0))
def test_inside_balls_matches_brute_force(q, c, scale):
    r = scale * np.linspace(0.5, 1.5, len(c))
    d = cdist(q, c)
    expected = np.any(d <= r[None, :], axis=1)
    near = np.abs(d - r[None, :]).min(axis=1) < 1e-6  # on a ball's surface either answer is fair
    got = judge.inside_balls(q, c, r)
    np.testing.assert_array_equal(got[~near], expected[~near])


def test_bad_input_names_the_argument(jd):
    with pytest.raises(ValueError, match="x: expected images of 64 pixels"):
        judge.judge_samples(jd, np.zeros((5, 63)))
    with pytest.raises(ValueError, match="x: contains 64 NaN"):
        judge.judge_samples(jd, np.full((5, 64), np.nan)[:1])
    with pytest.raises(ValueError, match="threshold"):
        judge.judge_samples(jd, np.zeros((5, 64)), threshold=1.5)
    with pytest.raises(ValueError, match="min_frac"):
        judge.judge_samples(jd, np.zeros((5, 64)), min_frac=0.0)
    with pytest.raises(TypeError, match="judge: expected a DigitJudge"):
        judge.judge_samples("svm", np.zeros((5, 64)))
    with pytest.raises(ValueError, match="k: must be an int >= 1"):
        judge.digit_judge(k=0)
    with pytest.raises(ValueError, match="points: need more than k = 3"):
        judge.knn_radii(np.zeros((3, 2)), 3)
    with pytest.raises(ValueError, match="radii: expected one radius per center"):
        judge.inside_balls(np.zeros((2, 2)), np.zeros((3, 2)), np.ones(2))
