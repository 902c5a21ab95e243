"""Shared test setup: float64 JAX (the book's tolerances need it) and a fast hypothesis profile."""

import jax
from hypothesis import settings

jax.config.update("jax_enable_x64", True)
settings.register_profile("book", max_examples=25, deadline=None, derandomize=True)
settings.load_profile("book")
