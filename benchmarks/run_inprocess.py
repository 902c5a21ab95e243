"""Execute chapter notebooks in this process with IPython (no Jupyter kernel), timing each one.

For machines that have JAX but no Jupyter stack (e.g. a lent GPU machine): each notebook's code cells run in
order in a fresh ``InteractiveShell`` (magics and ``display`` work as in a kernel), with the working directory
``chapters/``. A cell that raises stops that notebook (a false claim raises ``ClaimError``). Prints one line per
notebook: wall time, JAX backend, and ``ok`` or the failing cell; exits 1 if any failed.

Run: ``python benchmarks/run_inprocess.py chapters/03_reparameterization.ipynb ...``
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from IPython.core.interactiveshell import InteractiveShell


def run_notebook(path: Path) -> tuple[float, str]:
    """Run ``path``'s code cells in a fresh shell; return (seconds, "ok" or what failed)."""
    nb = nbformat.read(path, as_version=4)
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    cwd = os.getcwd()
    os.chdir(path.parent)
    t0 = time.perf_counter()
    try:
        for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
            result = shell.run_cell(cell.source, silent=True)
            if not result.success:
                err = result.error_in_exec or result.error_before_exec
                return time.perf_counter() - t0, f"cell {i + 1} failed: {type(err).__name__}: {err}"
        return time.perf_counter() - t0, "ok"
    finally:
        os.chdir(cwd)


def main() -> int:
    import jax

    failed = 0
    for arg in sys.argv[1:]:
        seconds, status = run_notebook(Path(arg).resolve())
        failed += status != "ok"
        print(f"{Path(arg).name}: {seconds:.1f} s on {jax.default_backend()} "
              f"({jax.devices()[0].device_kind}): {status}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
