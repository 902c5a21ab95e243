"""Optional dependencies: import one, or fail saying which package is missing and which extra of kexue brings it.

The core of ``kexue`` needs only the dependencies of ``lib/pyproject.toml``.  Its extras: ``data`` (everything
the chapters need beyond the core: the corpora, scikit-learn, gensim, ipywidgets), ``live`` (ipywidgets alone)
and ``sphinx`` (what the book's Sphinx extension :mod:`kexue._sphinx` serves).  A missing package raises
``ModuleNotFoundError`` whose message names the package and the extra; a package that is installed but fails to
import (one of *its* dependencies is missing, say) raises its own error unchanged.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: The extras of ``lib/pyproject.toml``.
EXTRAS = ("data", "live", "sphinx")


def missing(package: str, what: str, extra: str) -> ModuleNotFoundError:
    """The error for ``what`` (e.g. ``"digits()"``) needing the distribution ``package``, which kexue's ``extra``
    brings: ``"<what> needs the package '<package>'; pip install <package>, or install kexue with its extra:
    kexue[<extra>]"``.

    Raises:
        ValueError: ``extra`` is not one of :data:`EXTRAS`.
    """
    if extra not in EXTRAS:
        raise ValueError(f"extra: expected one of {EXTRAS}, got {extra!r}")
    return ModuleNotFoundError(f"{what} needs the package {package!r}; pip install {package}, or install kexue "
                               f"with its extra: kexue[{extra}]", name=package)


def require(module: str, package: str, what: str, extra: str) -> ModuleType:
    """Import and return ``module`` (e.g. ``"gensim.models"``), which the distribution ``package`` provides.

    Raises:
        ModuleNotFoundError: ``module``'s top-level package is not installed; the message names ``package`` and
            ``extra`` (see :func:`missing`).  When something else is missing (a dependency of an installed
            package), its own error, unchanged.
        ValueError: ``extra`` is not one of :data:`EXTRAS`.
    """
    top = module.split(".")[0]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != top:
            raise
        raise missing(package, what, extra) from exc
