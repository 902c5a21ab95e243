"""kexue.gan_arch's nearest-code law on the sphere (GLANN's latent space, chapter 15)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kexue import gan_arch

angles = st.floats(0.0, np.pi)


@given(theta=angles)
def test_cap_fraction_matches_circle_and_archimedes(theta):
    assert np.isclose(gan_arch.sphere_cap_fraction(theta, 2), theta / np.pi, atol=1e-12)
    assert np.isclose(gan_arch.sphere_cap_fraction(theta, 3), (1 - np.cos(theta)) / 2, atol=1e-12)


@settings(max_examples=30)
@given(n=st.integers(2, 40), a=angles, b=angles)
def test_cap_fraction_is_a_cdf_symmetric_about_the_equator(n, a, b):
    fa, fb = gan_arch.sphere_cap_fraction(np.array([a, b]), n)
    assert 0 <= fa <= 1 and 0 <= fb <= 1
    assert (fa <= fb + 1e-12) == (a <= b) or np.isclose(fa, fb)
    assert np.isclose(gan_arch.sphere_cap_fraction(np.pi - a, n), 1 - fa, atol=1e-12)
    assert np.isclose(gan_arch.sphere_cap_fraction(np.pi / 2, n), 0.5)


@given(r=st.floats(0.0, 2.0), m=st.integers(1, 50))
def test_survival_on_s2_is_one_minus_quarter_r_squared_to_the_m(r, m):
    # on S^2 the cap of chord radius r has area fraction r^2/4
    assert np.isclose(gan_arch.nearest_code_survival(r, 3, m), (1 - r * r / 4) ** m, atol=1e-12)


def test_mean_closed_forms():
    assert np.isclose(gan_arch.nearest_code_mean(3, 1), 4 / 3, rtol=1e-9)          # ∫ (1 - r²/4) dr on [0, 2]
    assert np.isclose(gan_arch.nearest_code_mean(2, 1), 4 / np.pi, rtol=1e-9)      # mean chord 2 E|sin(θ/2)|
    means = [gan_arch.nearest_code_mean(n, 100) for n in (2, 4, 8, 16)]
    assert np.all(np.diff(means) > 0)                                              # farther in more dimensions
    assert gan_arch.nearest_code_mean(8, 1000) < gan_arch.nearest_code_mean(8, 100)


def test_mean_matches_monte_carlo():
    # independent draws of D: by rotation invariance the query is the pole e_1, each draw with m fresh codes
    g = np.random.default_rng(20190226)
    n, m, q = 5, 60, 4000
    c = g.normal(size=(q, m, n))
    top = (c[..., 0] / np.linalg.norm(c, axis=-1)).max(1)
    d = np.sqrt(2 - 2 * top)
    assert abs(d.mean() - gan_arch.nearest_code_mean(n, m)) < 4 * d.std() / np.sqrt(q)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="n"):
        gan_arch.sphere_cap_fraction(0.3, 1)
    with pytest.raises(ValueError, match="theta"):
        gan_arch.sphere_cap_fraction(-0.1, 3)
    with pytest.raises(ValueError, match="r"):
        gan_arch.nearest_code_survival(-1.0, 3, 5)
    with pytest.raises(ValueError, match="m"):
        gan_arch.nearest_code_survival(0.5, 3, 0)
    with pytest.raises(TypeError, match="theta"):
        gan_arch.sphere_cap_fraction("a", 3)
    with pytest.raises(TypeError, match="n"):
        gan_arch.nearest_code_mean(2.5, 3)
