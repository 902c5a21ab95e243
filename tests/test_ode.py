"""kexue.ode.rk4: follows known solutions, has fourth-order error, rejects bad input by name."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.linalg import expm

from kexue.ode import MAX_STEPS, rk4

A = np.array([[-0.3, 1.0], [-1.0, -0.1]])


def linear(s):
    return jnp.asarray(A) @ s


def rotation(s):
    return jnp.array([-s[1], s[0]])


def decay(s):
    return -s


@given(st.floats(0.0, 2 * np.pi))
def test_rotation_stays_on_the_circle(theta):
    path = rk4(rotation, [np.cos(theta), np.sin(theta)], 0.01, 300, every=100)
    assert path.shape == (4, 2)
    np.testing.assert_allclose(path[-1], [np.cos(theta + 3.0), np.sin(theta + 3.0)], atol=1e-9)


def test_matches_the_matrix_exponential_with_fourth_order_error():
    s0 = np.array([1.0, 0.5])
    exact = expm(2.0 * A) @ s0
    errors = [np.abs(rk4(linear, s0, 2.0 / n, n)[-1] - exact).max() for n in (20, 40, 80)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(orders - 4) < 0.2), orders


@given(h=st.floats(1e-6, 2.0), s0=st.floats(-1e6, 1e6))
def test_one_step_is_the_degree_4_taylor_polynomial(h, s0):
    # for s' = -s one RK4 step multiplies by p(h) = 1 - h + h^2/2 - h^3/6 + h^4/24 (a closed form)
    p = 1 - h + h**2 / 2 - h**3 / 6 + h**4 / 24
    path = rk4(decay, [s0], h, 8, every=4)
    np.testing.assert_allclose(path[:, 0], s0 * p ** np.array([0, 4, 8]), rtol=1e-13, atol=1e-300)


def test_state_dtypes_and_shapes():
    np.testing.assert_array_equal(rk4(decay, [1, 2], 0.1, 4), rk4(decay, [1.0, 2.0], 0.1, 4))  # ints -> floats
    scalar = rk4(decay, 1.0, 0.1, 4)
    assert scalar.shape == (5,)
    assert rk4(decay, np.ones((2, 3)), 0.1, 4, every=2).shape == (3, 2, 3)
    f32 = rk4(lambda s: (-s).astype(jnp.float64), np.array([1.0], np.float32), 0.1, 4)  # field's dtype is cast
    assert f32.dtype == np.float32
    z = rk4(lambda s: 1j * s, [1.0 + 0j], 0.01, 100)[-1, 0]  # complex states work: e^{i t}
    assert abs(z - np.exp(1j)) < 1e-10


def test_matches_the_recurrence_written_out():
    # the recurrence of the docstring, step by step in NumPy
    s, dt, out = np.array([0.6, 1.2]), 0.01, [np.array([0.6, 1.2])]
    for _ in range(3):
        k1 = A @ s
        k2 = A @ (s + dt / 2 * k1)
        k3 = A @ (s + dt / 2 * k2)
        k4 = A @ (s + dt * k3)
        s = s + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        out.append(s)
    np.testing.assert_allclose(rk4(linear, [0.6, 1.2], dt, 3), np.array(out), rtol=1e-15)


class Unhashable:
    __hash__ = None

    def __call__(self, s):
        return -s


@pytest.mark.parametrize(("args", "kwargs", "exc", "name"), [
    ((None, [1.0], 0.1, 5), {}, TypeError, "field"),
    ((3, [1.0], 0.1, 5), {}, TypeError, "field"),
    ((Unhashable(), [1.0], 0.1, 5), {}, TypeError, "field"),
    ((lambda s: s[:1], [1.0, 2.0], 0.1, 5), {}, ValueError, "field"),
    ((lambda s: 1.0, [1.0, 2.0], 0.1, 5), {}, ValueError, "field"),
    ((lambda s: (s, s), [1.0, 2.0], 0.1, 5), {}, TypeError, "field"),
    ((lambda s: 1j * s, [1.0], 0.1, 5), {}, TypeError, "field"),
    ((decay, None, 0.1, 5), {}, TypeError, "s0"),
    ((decay, "ab", 0.1, 5), {}, TypeError, "s0"),
    ((decay, [True], 0.1, 5), {}, TypeError, "s0"),
    ((decay, [], 0.1, 5), {}, ValueError, "s0"),
    ((decay, [np.nan, 0.0], 0.1, 5), {}, ValueError, "s0"),
    ((decay, [np.inf], 0.1, 5), {}, ValueError, "s0"),
    ((decay, [1.0], "a", 5), {}, TypeError, "dt"),
    ((decay, [1.0], None, 5), {}, TypeError, "dt"),
    ((decay, [1.0], True, 5), {}, TypeError, "dt"),
    ((decay, [1.0], 1j, 5), {}, TypeError, "dt"),
    ((decay, [1.0], np.array([0.1, 0.2]), 5), {}, TypeError, "dt"),
    ((decay, [1.0], 0.0, 5), {}, ValueError, "dt"),
    ((decay, [1.0], -1.0, 5), {}, ValueError, "dt"),
    ((decay, [1.0], np.inf, 5), {}, ValueError, "dt"),
    ((decay, [1.0], np.nan, 5), {}, ValueError, "dt"),
    ((decay, [1.0], 0.1, 0), {}, ValueError, "steps"),
    ((decay, [1.0], 0.1, 5.0), {}, TypeError, "steps"),
    ((decay, [1.0], 0.1, True), {}, TypeError, "steps"),
    ((decay, [1.0], 0.1, "5"), {}, TypeError, "steps"),
    ((decay, [1.0], 0.1, MAX_STEPS + 1), {}, ValueError, "steps"),
    ((decay, [1.0], 0.1, 5), {"every": 0}, ValueError, "every"),
    ((decay, [1.0], 0.1, 5), {"every": 2}, ValueError, "every"),
    ((decay, [1.0], 0.1, 4), {"every": 2.0}, TypeError, "every"),
    ((decay, [1.0, 2.0], 0.1, MAX_STEPS), {}, ValueError, "every"),  # 2e8 numbers: record fewer states
])
def test_rejects_bad_input_by_name(args, kwargs, exc, name):
    with pytest.raises(exc, match=f"^{name}:"):
        rk4(*args, **kwargs)


def test_refuses_to_run_inside_jit():
    with pytest.raises(TypeError, match="^s0: rk4 runs on the host"):
        jax.jit(lambda s: rk4(decay, s, 0.1, 4))(jnp.ones(2))


def test_blow_up_raises():
    with pytest.raises(FloatingPointError, match="left the floats"):
        rk4(lambda s: s**3, [10.0, 0.0], 0.5, 50)
    with pytest.raises(FloatingPointError):
        rk4(decay, [1.0], 1e308, 3)
