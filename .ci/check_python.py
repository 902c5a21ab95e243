"""Stop at once, with a clear message, when the Python that builds a venv is older than the library needs.

``make venv`` and ``make test-lowest`` run ``$(PYTHON) .ci/check_python.py`` before creating their venv, so
``make venv PYTHON=python3.10`` ends with ``Python 3.11 or newer is needed (found 3.10.13)`` instead of failing
deep inside pip.  The minimum is read from ``requires-python`` in ``lib/pyproject.toml`` (the one source of
truth).  This script must itself run on old Pythons: standard library only, no ``tomllib`` (3.11+), no
``match``.  Silent, exit status 0, when the Python is new enough; otherwise the message and status 1.
"""

import re
import sys
from pathlib import Path
from typing import Optional, Sequence, Tuple

PYPROJECT = Path(__file__).resolve().parents[1] / "lib" / "pyproject.toml"
_REQUIRES_RE = re.compile(r'^requires-python\s*=\s*"\s*>=\s*(\d+)\.(\d+)\s*"', re.MULTILINE)


def minimum(pyproject: Path = PYPROJECT) -> Tuple[int, int]:
    """The ``(major, minor)`` of ``requires-python = ">=X.Y"`` in ``pyproject``.

    Raises:
        ValueError: the file has no ``requires-python`` of that form (the message names the file).
    """
    m = _REQUIRES_RE.search(pyproject.read_text(encoding="utf-8"))
    if m is None:
        raise ValueError(f'pyproject: no requires-python = ">=X.Y" in {pyproject}')
    return int(m.group(1)), int(m.group(2))


def problem(version: Sequence[int], need: Tuple[int, int]) -> Optional[str]:
    """``None`` when ``version`` (``sys.version_info`` or a tuple ``(major, minor, micro)``) is at least
    ``need``, else the message ``"Python X.Y or newer is needed (found A.B.C)"``.

    Raises:
        ValueError: ``version`` has fewer than three parts.
    """
    if len(version) < 3:
        raise ValueError(f"version: expected (major, minor, micro), got {tuple(version)!r}")
    found = tuple(int(v) for v in version[:3])
    if found[:2] >= tuple(need):
        return None
    return f"Python {need[0]}.{need[1]} or newer is needed (found {found[0]}.{found[1]}.{found[2]})"


def main() -> int:
    """Check the running interpreter; print the message (with what to do) to stderr when it is too old."""
    message = problem(sys.version_info, minimum())
    if message is None:
        return 0
    print(f"{message}: {sys.executable}. Give make a newer one with PYTHON=..., e.g. make venv PYTHON=python3.11",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
