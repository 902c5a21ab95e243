"""Facts about the machine a benchmark ran on, shared by the bench_*.py scripts (run as scripts, so
``import _machine`` finds this file beside them)."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
from collections.abc import Iterable
from pathlib import Path


def versions(packages: Iterable[str]) -> list[tuple[str, str]]:
    """``[("python", "3.11.7"), (package, version or "not installed"), ...]``."""
    rows = [("python", platform.python_version())]
    for name in packages:
        try:
            rows.append((name, md.version(name)))
        except md.PackageNotFoundError:
            rows.append((name, "not installed"))
    return rows


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or what ``platform`` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    """The 1/5/15-minute load averages, e.g. ``"0.52 / 0.80 / 1.10"``: timings on shared cores depend on it."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"
