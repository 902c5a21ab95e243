"""kexue.ode.rk4: follows known solutions, has fourth-order error, rejects bad input."""

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.linalg import expm

from kexue.ode import rk4

A = np.array([[-0.3, 1.0], [-1.0, -0.1]])


def linear(s):
    return jnp.asarray(A) @ s


@given(st.floats(0.0, 2 * np.pi))
def test_rotation_stays_on_the_circle(theta):
    path = rk4(lambda s: jnp.array([-s[1], s[0]]), [np.cos(theta), np.sin(theta)], 0.01, 300, every=100)
    assert path.shape == (4, 2)
    np.testing.assert_allclose(path[-1], [np.cos(theta + 3.0), np.sin(theta + 3.0)], atol=1e-9)


def test_matches_the_matrix_exponential_with_fourth_order_error():
    s0 = np.array([1.0, 0.5])
    exact = expm(2.0 * A) @ s0
    errors = [np.abs(rk4(linear, s0, 2.0 / n, n)[-1] - exact).max() for n in (20, 40, 80)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(orders - 4) < 0.2), orders


@pytest.mark.parametrize(
    "kwargs, word",
    [(dict(dt=0.1, steps=0), "steps"), (dict(dt=0.1, steps=5, every=0), "every"),
     (dict(dt=0.1, steps=5, every=2), "multiple"), (dict(dt=-1.0, steps=5), "dt"),
     (dict(dt=np.inf, steps=5), "dt")],
)
def test_rejects_bad_input(kwargs, word):
    with pytest.raises(ValueError, match=word):
        rk4(linear, [1.0, 0.0], **kwargs)


def test_rejects_non_finite_start_and_blow_up():
    with pytest.raises(ValueError, match="s0"):
        rk4(linear, [np.nan, 0.0], 0.1, 5)
    with pytest.raises(FloatingPointError):
        rk4(lambda s: s**3, [10.0, 0.0], 0.5, 50)
