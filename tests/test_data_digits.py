"""Tests for kexue.data.digits (the scikit-learn 8x8 digits, offline)."""

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from kexue import data  # noqa: E402


def test_digits_shapes_range_and_labels():
    x, y = data.digits()
    assert x.shape == (1797, 64) and y.shape == (1797,)
    assert x.dtype == jnp.float64 and y.dtype == jnp.int32
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert sorted(np.unique(np.asarray(y)).tolist()) == list(range(10))
    assert np.all(np.bincount(np.asarray(y)) >= 170)  # about 180 images per class
    np.testing.assert_array_equal(np.asarray(x) * 16, np.round(np.asarray(x) * 16))  # grey levels 0..16


def test_digits_is_exported_and_deterministic():
    assert "digits" in data.__all__
    x1, _ = data.digits()
    x2, _ = data.digits()
    np.testing.assert_array_equal(x1, x2)


def test_digits_without_scikit_learn_says_what_to_install(monkeypatch):
    import sys

    import pytest

    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # makes the import fail
    with pytest.raises(ModuleNotFoundError,
                       match=r"needs the package 'scikit-learn'; pip install scikit-learn, .*kexue\[data\]"):
        data.digits()
