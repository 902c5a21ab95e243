"""A judge for generated 8x8 digits: what class a sample shows, how sure, and whether it looks like a real digit.

Generative chapters (GANs, VAEs, diffusion) train on :func:`kexue.data.digits` and need a referee that did not
see their training: a classifier fitted on real digits, plus a test of *realism* that a classifier cannot give
(a discriminative classifier is often confident on uniform noise).  This room holds it.

* :func:`digit_judge` fits, once per book seed, a scikit-learn RBF support-vector classifier with sigmoid
  (Platt) calibration on a seeded stratified half of the digits; the other half measures it
  (its ``test_accuracy``, about 0.99).
* :func:`judge_samples` reports, for a batch of samples: the predicted-class histogram (classes covered, its
  entropy), the fraction classified with probability above a threshold, and the *improved precision and recall*
  of Kynkäänniemi et al. (2019) in pixel space: precision is the fraction of samples inside some real digit's
  k-nearest-neighbour ball, recall the fraction of held-out real digits inside some sample's ball.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _optional, checks
from .seed import seed_for

__all__ = ["PIXELS", "DigitJudge", "SampleReport", "digit_judge", "judge_samples", "knn_radii", "inside_balls"]

#: Pixels of one 8x8 digit, flattened row by row.
PIXELS = 64


def _samples(x: Any, name: str = "x") -> np.ndarray:
    """``x`` as a float64 ``(n, 64)`` array of finite pixels (a single image of shape ``(64,)`` or ``(8, 8)`` too)."""
    arr = checks.array(x, name, ndim=(1, 2, 3), kinds="iuf")
    shape = tuple(arr.shape)
    if shape == (PIXELS,) or (arr.ndim == 3 and shape[1:] == (8, 8)):
        arr = arr.reshape(-1, PIXELS)
    if arr.ndim != 2 or arr.shape[1] != PIXELS:
        raise ValueError(f"{name}: expected images of {PIXELS} pixels, shape (n, 64), (n, 8, 8) or (64,), "
                         f"got shape {shape}")
    return np.asarray(arr, dtype=np.float64)


def knn_radii(points: Any, k: int) -> np.ndarray:
    r"""The distance from each point to its ``k``-th nearest *other* point: :math:`r_i = \lVert x_i - x_{(k)}\rVert_2`.

    Raises:
        ValueError: fewer than ``k + 1`` points, or ``k < 1``.
    """
    pts = checks.array(points, "points", ndim=2)
    k = checks.count(k, "k")
    if pts.shape[0] <= k:
        raise ValueError(f"points: need more than k = {k} points for k-NN radii, got {pts.shape[0]}")
    neighbors = _optional.require("sklearn.neighbors", "scikit-learn", "knn_radii()", "data")
    nn = neighbors.NearestNeighbors(n_neighbors=k + 1).fit(pts)
    return nn.kneighbors(pts)[0][:, k]  # column 0 is the point itself (distance 0)


def inside_balls(queries: Any, centers: Any, radii: Any) -> np.ndarray:
    r"""Whether each query lies in at least one ball: :math:`\exists j:\ \lVert q_i - c_j\rVert_2 \le r_j`.

    Raises:
        ValueError: ``centers`` and ``radii`` disagree in length, or the point dimensions differ.
    """
    q = checks.array(queries, "queries", ndim=2)
    c = checks.array(centers, "centers", ndim=2)
    r = checks.array(radii, "radii", ndim=1)
    if r.shape[0] != c.shape[0]:
        raise ValueError(f"radii: expected one radius per center ({c.shape[0]}), got {r.shape[0]}")
    if q.shape[1] != c.shape[1]:
        raise ValueError(f"queries: expected points of dimension {c.shape[1]}, got {q.shape[1]}")
    # squared distances by blocks of queries (memory n_block x n_centers)
    inside = np.empty(q.shape[0], dtype=bool)
    c2 = np.sum(c * c, axis=1)
    for s in range(0, q.shape[0], 1024):
        b = q[s:s + 1024]
        d2 = np.sum(b * b, axis=1)[:, None] - 2.0 * b @ c.T + c2[None, :]
        inside[s:s + 1024] = np.any(d2 <= (r * r)[None, :] * (1 + 1e-12) + 1e-12, axis=1)
    return inside


@dataclass(frozen=True)
class DigitJudge:
    """A calibrated digit classifier fitted on ``train_index`` of :func:`kexue.data.digits`, and the real digits'
    k-NN balls for realism.  Build it with :func:`digit_judge`."""

    classifier: Any
    train_index: np.ndarray
    test_index: np.ndarray
    test_accuracy: float
    real: np.ndarray        # the training half's pixels, (n_train, 64)
    real_radii: np.ndarray  # their k-NN radii
    held_out: np.ndarray    # the test half's pixels (the reference set for recall)
    k: int

    def proba(self, x: Any) -> np.ndarray:
        """Class probabilities, shape ``(n, 10)``, for images with pixels in ``[0, 1]``."""
        return self.classifier.predict_proba(_samples(x))

    def predict(self, x: Any) -> np.ndarray:
        """The most probable class of each image, ``int`` array of shape ``(n,)``."""
        return np.argmax(self.proba(x), axis=1)

    def precision(self, x: Any) -> float:
        """Fraction of the images inside some real (training-half) digit's k-NN ball (Kynkäänniemi et al., 2019)."""
        return float(np.mean(inside_balls(_samples(x), self.real, self.real_radii)))


@dataclass(frozen=True)
class SampleReport:
    """What :func:`judge_samples` found about a batch of generated digits."""

    n: int
    class_counts: np.ndarray  # (10,) predicted-class histogram
    covered: int              # classes holding at least min_frac of the samples
    entropy: float            # of the predicted-class histogram, nats (log 10 = 2.303 when uniform)
    confident: float          # fraction whose top class probability >= threshold
    precision: float          # fraction inside the real digits' k-NN balls
    recall: float             # fraction of held-out real digits inside the samples' k-NN balls


@functools.lru_cache(maxsize=4)
def _fit(seed: int, k: int) -> DigitJudge:
    from .data import digits

    sk_model = _optional.require("sklearn.model_selection", "scikit-learn", "digit_judge()", "data")
    sk_svm = _optional.require("sklearn.svm", "scikit-learn", "digit_judge()", "data")
    sk_cal = _optional.require("sklearn.calibration", "scikit-learn", "digit_judge()", "data")
    x, y = (np.asarray(a) for a in digits())
    x = x.astype(np.float64)
    idx = np.arange(len(y))
    train, test = sk_model.train_test_split(idx, test_size=0.5, stratify=y, random_state=seed)
    train, test = np.sort(train), np.sort(test)
    clf = sk_cal.CalibratedClassifierCV(sk_svm.SVC(C=10.0, gamma="scale"), method="sigmoid", ensemble=False)
    clf.fit(x[train], y[train])
    acc = float(np.mean(np.argmax(clf.predict_proba(x[test]), axis=1) == y[test]))
    return DigitJudge(classifier=clf, train_index=train, test_index=test, test_accuracy=acc,
                      real=x[train], real_radii=knn_radii(x[train], k), held_out=x[test], k=k)


def digit_judge(*, k: int = 3) -> DigitJudge:
    """The book's digit judge for the current book seed (fitted once per process and seed, about 0.2 s).

    An RBF support-vector classifier (``C = 10``) with sigmoid calibration, fitted on a stratified half of the
    1797 digits drawn with ``seed_for("judge")``; ``k`` is the neighbourhood size of the realism balls
    (Kynkäänniemi et al. use 3).
    """
    k = checks.count(k, "k")
    return _fit(seed_for("judge"), k)


def judge_samples(judge: DigitJudge, x: Any, *, threshold: float = 0.9, min_frac: float = 0.01) -> SampleReport:
    r"""Judge a batch of generated digits (pixels in ``[0, 1]``, shape ``(n, 64)`` or ``(n, 8, 8)``).

    ``covered`` counts classes with at least ``min_frac`` of the samples; ``entropy`` is
    :math:`-\sum_c \hat p_c \log \hat p_c` of the predicted-class histogram; ``confident`` the fraction with
    :math:`\max_c p(c\mid x) \ge` ``threshold``; ``precision``/``recall`` are Kynkäänniemi et al.'s (2019) with
    ``judge.k`` neighbours (recall needs more than ``k`` samples).

    Raises:
        TypeError: ``judge`` is not a :class:`DigitJudge`.
        ValueError: bad ``x``, ``threshold`` outside ``[0, 1]``, ``min_frac`` outside ``(0, 1]``.
    """
    if not isinstance(judge, DigitJudge):
        raise TypeError(f"judge: expected a DigitJudge (from digit_judge()), got {type(judge).__name__}")
    s = _samples(x)
    threshold = checks.real(threshold, "threshold", lo=0.0, hi=1.0)
    min_frac = checks.real(min_frac, "min_frac", positive=True, hi=1.0)
    p = judge.proba(s)
    counts = np.bincount(np.argmax(p, axis=1), minlength=10)
    freq = counts / counts.sum()
    nz = freq[freq > 0]
    recall = float(np.mean(inside_balls(judge.held_out, s, knn_radii(s, judge.k)))) if len(s) > judge.k else float("nan")
    return SampleReport(n=len(s), class_counts=counts, covered=int(np.sum(freq >= min_frac)),
                        entropy=float(-np.sum(nz * np.log(nz))) + 0.0, confident=float(np.mean(p.max(axis=1) >= threshold)),
                        precision=judge.precision(s), recall=recall)
