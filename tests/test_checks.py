"""kexue.checks: the shared argument checks name the argument and refuse each class of bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kexue import checks


@pytest.mark.parametrize(("n", "exc"), [(True, TypeError), (2.0, TypeError), ("3", TypeError), (None, TypeError),
                                        (0, ValueError), (-4, ValueError)])
def test_count_refuses(n, exc):
    with pytest.raises(exc, match="^steps:"):
        checks.count(n, "steps")


def test_count_bounds_and_numpy_ints():
    assert checks.count(np.int64(5), "n") == 5 and isinstance(checks.count(np.int64(5), "n"), int)
    assert checks.count(0, "n", minimum=0) == 0
    with pytest.raises(ValueError, match="<= 10"):
        checks.count(11, "n", maximum=10)


@pytest.mark.parametrize(("x", "kw", "exc"), [
    (True, {}, TypeError), ("1", {}, TypeError), (1j, {}, TypeError), (None, {}, TypeError),
    (np.array([1.0, 2.0]), {}, TypeError), (np.nan, {}, ValueError), (np.inf, {}, ValueError),
    (0.0, {"positive": True}, ValueError), (-1e-300, {"nonnegative": True}, ValueError),
    (2.0, {"lo": 0, "hi": 1}, ValueError), (np.nan, {"finite": False}, ValueError),
])
def test_real_refuses(x, kw, exc):
    with pytest.raises(exc, match="^tau:"):
        checks.real(x, "tau", **kw)


def test_real_accepts_numpy_and_jax_scalars():
    assert checks.real(np.float32(0.5), "a") == 0.5
    assert checks.real(jnp.array(2.0), "a") == 2.0
    assert checks.real(np.inf, "a", finite=False) == np.inf


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_real_roundtrips_finite_floats(x):
    assert checks.real(x, "x") == x


@pytest.mark.parametrize(("x", "kw", "exc", "match"), [
    (None, {}, TypeError, "expected an array"),
    ("abc", {}, TypeError, "expected an array"),
    (np.array(["a"]), {}, TypeError, "dtype"),
    (np.array([1 + 1j]), {}, TypeError, "dtype"),
    (np.array([True]), {}, TypeError, "dtype"),
    (np.zeros((2, 2)), {"ndim": 1}, ValueError, "dimension"),
    (np.zeros((2, 3)), {"shape": (None, 2)}, ValueError, "shape"),
    (np.zeros(0), {}, ValueError, "at least 1"),
    (np.array([1.0, np.nan]), {}, ValueError, "NaN/inf"),
    ([[1.0], [2.0, 3.0]], {}, TypeError, "expected an array"),
])
def test_array_refuses(x, kw, exc, match):
    with pytest.raises(exc, match=f"^x: .*{match}"):
        checks.array(x, "x", **kw)


def test_array_checks_shape_only_under_jit():
    @jax.jit
    def f(x):
        return checks.array(x, "x", ndim=1).sum()

    assert float(f(jnp.array([1.0, jnp.nan]))) != 0  # traced: finiteness cannot be seen, shape can
    with pytest.raises(ValueError, match="dimension"):
        f(jnp.zeros((2, 2)))


def test_prng_key():
    checks.prng_key(jax.random.key(0))
    checks.prng_key(jax.random.PRNGKey(0))
    for bad in (0, "0", np.array([0, 0], np.uint32), jnp.zeros(2), None):
        with pytest.raises(TypeError, match="^key: expected a PRNG key"):
            checks.prng_key(bad)


def test_callable_and_one_of():
    assert checks.callable_(len, "f") is len
    with pytest.raises(TypeError, match="^f:"):
        checks.callable_(3, "f")
    assert checks.one_of("a", "mode", ("a", "b")) == "a"
    with pytest.raises(ValueError, match="^mode: must be one of 'a', 'b'"):
        checks.one_of("c", "mode", ("a", "b"))


def test_finite_tree_names_the_leaf():
    tree = {"w": jnp.ones(3), "b": {"x": np.array([1.0, np.inf])}, "n": np.array([1, 2]), "k": jax.random.key(0)}
    assert checks.finite_tree(tree) == "['b']['x']"
    assert checks.finite_tree({"w": jnp.ones(2)}) is None
    assert checks.finite_tree({"z": jnp.array([1 + 1j * jnp.nan])}) == "['z']"


def test_array_takes_bfloat16_as_float_and_checks_it():
    x = jnp.array([1.0, 2.0], dtype=jnp.bfloat16)
    assert checks.array(x, "x", kinds="f").dtype == jnp.bfloat16
    with pytest.raises(ValueError, match="NaN/inf"):
        checks.array(jnp.array([1.0, jnp.inf], dtype=jnp.bfloat16), "x", kinds="f")


def test_flag_and_sparse():
    import scipy.sparse as sps

    assert checks.flag(np.bool_(True), "hard") is True
    for bad in ("no", 1, None, 0.0):
        with pytest.raises(TypeError, match="^hard: expected a bool"):
            checks.flag(bad, "hard")
    with pytest.raises(TypeError, match="^M: expected a dense array"):
        checks.array(sps.eye(3, format="csr"), "M")
