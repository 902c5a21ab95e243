"""Argument checks shared by every room of ``kexue``: bad input gets a clear error that names the argument.

Each check returns the value it accepted, converted (``count`` returns an ``int``, ``real`` a ``float``,
``array`` a NumPy array), so a public function reads

.. code-block:: python

    def f(x, n, tau):
        x = checks.array(x, "x", ndim=2)
        n = checks.count(n, "n")
        tau = checks.real(tau, "tau", positive=True)

Wrong *types* raise ``TypeError``, wrong *values* (shape, sign, NaN/inf, emptiness) raise ``ValueError``;
both messages start with the argument's name.  Values traced by ``jax.jit`` cannot be inspected: ``array``
checks their shape and dtype and skips the finiteness test.  Kept free of heavy imports but NumPy (JAX is
imported only inside the key check).
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable, Iterable

import numpy as np

__all__ = ["array", "callable_", "count", "finite_tree", "flag", "is_traced", "one_of", "prng_key", "real"]

_KINDS = {"b": "bool", "i": "signed int", "u": "unsigned int", "f": "float", "c": "complex"}


def is_traced(x: Any) -> bool:
    """True for a JAX tracer (a value inside ``jit``/``vmap``/``grad`` whose numbers are not known yet)."""
    try:
        from jax.core import Tracer
    except ImportError:  # pragma: no cover - jax is a dependency
        return False
    return isinstance(x, Tracer)


def count(n: Any, name: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer ``minimum <= n <= maximum`` (``bool`` and floats such as ``2.0`` are refused)."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name}: expected an int, got {type(n).__name__} {n!r}")
    n = operator.index(n)
    if n < minimum or (maximum is not None and n > maximum):
        upper = f" and <= {maximum}" if maximum is not None else ""
        raise ValueError(f"{name}: must be an int >= {minimum}{upper}, got {n}")
    return n


def flag(x: Any, name: str) -> bool:
    """A ``bool`` (NumPy's too) as ``bool``; anything else is a ``TypeError`` (``"no"`` or ``1`` must not read as true)."""
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {type(x).__name__} {x!r}")
    return bool(x)


def real(x: Any, name: str, *, positive: bool = False, nonnegative: bool = False, finite: bool = True,
         lo: float | None = None, hi: float | None = None) -> float:
    """A real scalar as ``float``: bools, strings, complex and arrays of size > 1 are refused.

    ``positive``: ``x > 0``; ``nonnegative``: ``x >= 0``; ``finite``: no NaN/inf (NaN is always refused);
    ``lo``/``hi``: closed bounds.
    """
    if isinstance(x, (bool, np.bool_, str, bytes)) or x is None:
        raise TypeError(f"{name}: expected a real number, got {type(x).__name__} {x!r}")
    if is_traced(x):
        raise TypeError(f"{name}: expected a concrete real number, got a traced JAX value")
    arr = np.asarray(x)
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name}: expected a real number, got {type(x).__name__} of dtype {arr.dtype} "
                        f"and shape {arr.shape}")
    v = float(arr.reshape(()))
    if math.isnan(v) or (finite and math.isinf(v)):
        raise ValueError(f"{name}: must be a finite number, got {v}")
    if positive and not v > 0:
        raise ValueError(f"{name}: must be > 0, got {v}")
    if nonnegative and not v >= 0:
        raise ValueError(f"{name}: must be >= 0, got {v}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ValueError(f"{name}: must lie in [{lo}, {hi}], got {v}")
    return v


def array(x: Any, name: str, *, ndim: int | Iterable[int] | None = None, shape: tuple[int | None, ...] | None = None,
          kinds: str = "iuf", finite: bool = True, min_size: int = 1) -> Any:
    """An array with the given number of dimensions, shape (``None`` = any length), dtype kinds and no NaN/inf.

    ``kinds`` are NumPy dtype kinds (``"f"`` float, ``"iu"`` integers, ``"b"`` bool, ``"c"`` complex).  Returns a
    NumPy array, or the JAX array itself when it is traced (then only shape and dtype are checked).
    """
    if x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"{name}: expected an array, got {type(x).__name__}")
    if hasattr(x, "tocsr") and hasattr(x, "nnz"):  # scipy.sparse: NumPy's ufuncs do not apply to it
        raise TypeError(f"{name}: expected a dense array, got a scipy.sparse matrix (call .toarray())")
    traced = is_traced(x)
    try:
        arr = x if traced or hasattr(x, "dtype") and hasattr(x, "shape") else np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected an array, got {type(x).__name__} ({exc})") from exc
    kind = _kind(arr.dtype)
    if kind not in kinds:
        wanted = " or ".join(_KINDS.get(k, k) for k in kinds)
        raise TypeError(f"{name}: expected a {wanted} array, got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            raise ValueError(f"{name}: expected {' or '.join(map(str, allowed))} dimension(s), got shape "
                             f"{tuple(arr.shape)}")
    if shape is not None and (len(shape) != arr.ndim or any(s is not None and s != a for s, a in zip(shape, arr.shape))):
        shown = tuple("*" if s is None else s for s in shape)
        raise ValueError(f"{name}: expected shape {shown}, got {tuple(arr.shape)}")
    if int(np.prod(arr.shape)) < min_size:
        raise ValueError(f"{name}: must hold at least {min_size} value(s), got shape {tuple(arr.shape)}")
    if traced:
        return arr
    arr = np.asarray(arr)
    if finite and kind in "fc" and not np.all(np.isfinite(arr.astype(np.float32) if arr.dtype.kind == "V" else arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise ValueError(f"{name}: contains {bad} NaN/inf value(s)")
    return arr


def _kind(dtype: Any) -> str:
    """NumPy's dtype kind, with JAX's PRNG keys as ``"K"`` and ml_dtypes floats (bfloat16, float8) as ``"f"``."""
    name = str(dtype)
    if name.startswith("key<"):
        return "K"
    kind = np.dtype(dtype).kind
    return "f" if kind == "V" and ("float" in name or name.startswith("bfloat")) else kind


def prng_key(key: Any, name: str = "key") -> Any:
    """A JAX PRNG key: typed (``jax.random.key``, shape ``()``) or raw ``uint32[2]`` (``jax.random.PRNGKey``)."""
    import jax
    import jax.numpy as jnp

    if isinstance(key, jax.Array) or is_traced(key):
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) and key.shape == ():
            return key
        if key.dtype == jnp.uint32 and key.shape == (2,):
            return key
    raise TypeError(f"{name}: expected a PRNG key from jax.random.key (or kexue.seed.key), got "
                    f"{type(key).__name__}{' ' + repr(key) if isinstance(key, (int, str)) else ''}")


def callable_(f: Any, name: str) -> Callable[..., Any]:
    """A callable (function, jitted function, module...)."""
    if not callable(f):
        raise TypeError(f"{name}: expected a callable, got {type(f).__name__}")
    return f


def one_of(x: Any, name: str, options: Iterable[Any]) -> Any:
    """One of a fixed set of options (e.g. a mode string)."""
    options = tuple(options)
    if isinstance(x, bool) or x not in options:
        raise ValueError(f"{name}: must be one of {', '.join(map(repr, options))}; got {x!r}")
    return x


def finite_tree(tree: Any) -> str | None:
    """The path of the first leaf of a pytree that holds NaN/inf (``None`` when every leaf is finite).

    Integer, bool and PRNG-key leaves are finite by nature and skipped.  For use on host values (after a
    jitted chunk), not inside ``jit``.
    """
    import jax

    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        dtype = getattr(leaf, "dtype", None)
        if dtype is None or str(dtype).startswith("key<") or np.dtype(dtype).kind not in "fc":
            continue
        if not bool(np.all(np.isfinite(np.asarray(leaf)))):
            return jax.tree_util.keystr(path) or "<root>"
    return None
