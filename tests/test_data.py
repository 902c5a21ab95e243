"""kexue.data: the 2-D toy distributions are what their docstrings say."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kexue import data

KEY = jax.random.key(0)


@given(k=st.integers(1, 64), radius=st.floats(0.1, 10.0))
def test_ring_modes_are_evenly_spaced_on_the_circle(k, radius):
    mu = np.asarray(data.ring_modes(k, radius))
    assert mu.shape == (k, 2)
    np.testing.assert_allclose(np.linalg.norm(mu, axis=1), radius, rtol=1e-12)
    angles = np.mod(np.arctan2(mu[:, 1], mu[:, 0]), 2 * np.pi)
    np.testing.assert_allclose(np.sort(angles), 2 * np.pi * np.arange(k) / k, atol=1e-9)


def test_eight_gaussians_is_the_ring_mixture():
    n, std = 40_000, 0.02
    x = np.asarray(data.eight_gaussians(KEY, n))
    assert x.shape == (n, 2)
    mu = np.asarray(data.ring_modes())
    nearest = np.argmin(np.linalg.norm(x[:, None] - mu[None], axis=-1), axis=1)
    residual = x - mu[nearest]
    assert np.abs(residual).max() < 6 * std  # every sample belongs to a mode
    np.testing.assert_allclose(residual.std(axis=0), std, rtol=0.03)  # σ per coordinate
    np.testing.assert_allclose(residual.mean(axis=0), 0, atol=4 * std / np.sqrt(n))
    counts = np.bincount(nearest, minlength=8)  # uniform mixture weights: chi-square, 7 dof
    chi2 = ((counts - n / 8) ** 2 / (n / 8)).sum()
    assert chi2 < 24.3  # the 0.999 quantile of chi-square(7)


def test_eight_gaussians_is_a_pure_function_of_the_key():
    a, b = data.eight_gaussians(KEY, 100), data.eight_gaussians(KEY, 100)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, data.eight_gaussians(jax.random.key(1), 100))
    x = np.asarray(data.eight_gaussians(KEY, 1000, radius=5.0, std=0.0))
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 5.0, rtol=1e-12)


def test_eight_gaussians_works_under_jit_as_a_sampler():
    sample = jax.jit(lambda key: data.eight_gaussians(key, 16))
    assert sample(KEY).shape == (16, 2)


@settings(deadline=None)
@given(log_radius=st.floats(-300, 300), ratio=st.floats(0, 1e3))
def test_eight_gaussians_stays_finite_at_extreme_scales(log_radius, ratio):
    radius = 10.0**log_radius
    std = min(ratio * radius, 1e306)
    x = np.asarray(data.eight_gaussians(KEY, 64, radius=radius, std=std))
    assert np.all(np.isfinite(x))
    mu = np.asarray(data.ring_modes(8, radius))
    scale = max(radius, std)  # distances in units of the larger scale, so the norm cannot overflow
    gap = np.min(np.linalg.norm((x[:, None] - mu[None]) / scale, axis=-1), axis=1)
    assert np.all(gap <= (9 * std * np.sqrt(2) + 1e-12 * radius) / scale)  # JAX's normal draws stay below 9


def test_the_arguments_may_be_numpy_scalars():
    np.testing.assert_array_equal(data.ring_modes(np.int64(8), np.float32(2.0)), data.ring_modes())
    np.testing.assert_array_equal(data.eight_gaussians(KEY, np.int32(16), std=np.float64(0.02)),
                                  data.eight_gaussians(KEY, 16))


@pytest.mark.parametrize(
    "call, exc, name",
    [
        (lambda: data.ring_modes(0), ValueError, "k"),
        (lambda: data.ring_modes(-3), ValueError, "k"),
        (lambda: data.ring_modes(2.0), TypeError, "k"),
        (lambda: data.ring_modes(True), TypeError, "k"),
        (lambda: data.ring_modes(None), TypeError, "k"),
        (lambda: data.ring_modes(8, -1.0), ValueError, "radius"),
        (lambda: data.ring_modes(8, 0.0), ValueError, "radius"),
        (lambda: data.ring_modes(8, float("inf")), ValueError, "radius"),
        (lambda: data.ring_modes(8, float("nan")), ValueError, "radius"),
        (lambda: data.ring_modes(8, "2"), TypeError, "radius"),
        (lambda: data.ring_modes(8, None), TypeError, "radius"),
        (lambda: data.ring_modes(8, 2 + 0j), TypeError, "radius"),
        (lambda: data.ring_modes(8, [1.0, 2.0]), TypeError, "radius"),
        (lambda: data.eight_gaussians(KEY, 0), ValueError, "n"),
        (lambda: data.eight_gaussians(KEY, 3.0), TypeError, "n"),
        (lambda: data.eight_gaussians(KEY, None), TypeError, "n"),
        (lambda: data.eight_gaussians(KEY, 4, std=-0.1), ValueError, "std"),
        (lambda: data.eight_gaussians(KEY, 4, std=float("inf")), ValueError, "std"),
        (lambda: data.eight_gaussians(KEY, 4, std=float("nan")), ValueError, "std"),
        (lambda: data.eight_gaussians(KEY, 4, std="0.1"), TypeError, "std"),
        (lambda: data.eight_gaussians(KEY, 4, std=1e308), ValueError, "std"),  # the samples would overflow
        (lambda: data.eight_gaussians(KEY, 4, radius=float("inf")), ValueError, "radius"),
        (lambda: data.eight_gaussians(KEY, 4, radius=-2.0), ValueError, "radius"),
        (lambda: data.eight_gaussians(0, 4), TypeError, "key"),
        (lambda: data.eight_gaussians("key", 4), TypeError, "key"),
        (lambda: data.eight_gaussians(None, 4), TypeError, "key"),
        (lambda: data.eight_gaussians(np.zeros(3, np.uint32), 4), TypeError, "key"),
    ],
)
def test_errors(call, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        call()


def test_radius_must_fit_the_default_float_dtype():
    with jax.enable_x64(False):
        with pytest.raises(ValueError, match="^radius: .*float32"):
            data.ring_modes(8, 1e300)
        with pytest.raises(ValueError, match="^std: .*float32"):
            data.eight_gaussians(KEY, 4, std=1e38)
        assert np.all(np.isfinite(np.asarray(data.eight_gaussians(KEY, 256, radius=1e36, std=1e36))))
