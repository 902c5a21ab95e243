"""The book's one seed: every random number in every chapter derives from it.

The seed is read from the environment variable ``KEXUE_SEED`` (default ``0``) each time a key is made, so
``make reseed`` can re-run every chapter under other seeds without touching the code.  A chapter never
writes a literal seed; it names what the randomness is for, and gets a stream that depends on the book's
seed and on that name only:

* :func:`key`      -- a JAX PRNG key, ``jax.random.key(seed_for(name))``;
* :func:`rng`      -- a NumPy ``Generator``, ``np.random.default_rng(seed_for(name))``;
* :func:`seed_for` -- a plain integer for libraries that take one (scikit-learn's ``random_state``,
  gensim's ``seed``).

The name → integer map is ``sha256(f"{book_seed}/{name}")`` truncated to 31 bits: stable across processes,
Python versions and machines (unlike ``hash``), and different names give independent-looking streams.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np

__all__ = ["ENV_VAR", "book_seed", "key", "rng", "seed_for", "seeds"]

#: The environment variable that moves the whole book to another seed.
ENV_VAR = "KEXUE_SEED"


def book_seed() -> int:
    """The book's seed: ``int(os.environ["KEXUE_SEED"])``, or ``0`` when unset.

    Raises:
        ValueError: when ``KEXUE_SEED`` is set but is not a non-negative integer.
    """
    raw = os.environ.get(ENV_VAR, "0").strip()
    if not raw.isdigit():
        raise ValueError(f"{ENV_VAR} must be a non-negative integer, got {raw!r}")
    return int(raw)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"name must be a non-empty string naming what the randomness is for, got {name!r}")
    return name


def seed_for(name: str) -> int:
    """An integer seed in ``[0, 2**31)`` for ``name`` under the book's seed.

    ``seed_for(name) = int(sha256(f"{book_seed()}/{name}")[:4 bytes]) mod 2**31``.
    """
    digest = hashlib.sha256(f"{book_seed()}/{_check_name(name)}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 2**31


def seeds(name: str, n: int) -> list[int]:
    """``n`` integer seeds for ``n`` independent repetitions of one experiment (``name/0 … name/n-1``)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return [seed_for(f"{_check_name(name)}/{i}") for i in range(int(n))]


def key(name: str, *, impl: str | None = None) -> Any:
    """A JAX PRNG key for ``name``: ``jax.random.key(seed_for(name), impl=impl)``."""
    import jax

    return jax.random.key(seed_for(name), impl=impl)


def rng(name: str) -> np.random.Generator:
    """A NumPy generator for ``name``: ``np.random.default_rng(seed_for(name))``."""
    return np.random.default_rng(seed_for(name))
