"""The cost of the two sides of det(exp A) = exp(Tr A) (chapter 1, "Cost"): a timing study.

The chapter asserts only the *operation count* (XLA's flop count grows like k^3 for det(expm(A)) and like k for
exp(Tr A)); its timings are shown, not checked, because they depend on the machine.  This script measures them
with more care than a notebook cell can afford:

* sizes k = 50 ... 1600 (``--sizes``), each A Gaussian scaled to |A|_1 = 4, so only the size varies;
* SciPy's ``det(expm(A))``, JAX's jitted ``det(expm(A))`` (compiled once, ``block_until_ready``) and NumPy's
  ``exp(trace(A))``;
* BLAS limited to 1 thread, and left at the machine's default (``--threads``; threadpoolctl limits NumPy/SciPy's
  BLAS only -- XLA uses its own thread pool in both settings);
* best and median of ``--repeats`` runs, wall-clock and process CPU seconds;
* the fitted log-log exponent over k >= 200 (below that, call overhead dominates), and the arithmetic rate
  in GFLOP/s using XLA's count for the same program (a lower bound: XLA does not count LAPACK's LU).

Expect an exponent near 3 for det(expm(A)) (a little below on small sizes, where BLAS runs less efficiently)
and near 0 for exp(Tr A), whose microsecond is call overhead.  With several threads on a busy machine the
times of mid-sized k jump around; compare the 1-thread rows.

Run: ``python benchmarks/bench_det_cost.py`` (about a minute on 2 cores; ``--quick`` for k <= 400, 3 repeats).
Prints a Markdown report; ``--out FILE`` also writes it.  Not part of ``make bench``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy.linalg import expm  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from _machine import cpu_model, load_average, versions  # noqa: E402  (benchmarks/_machine.py)

jax.config.update("jax_enable_x64", True)


def matrix(k: int) -> np.ndarray:
    """A k x k Gaussian matrix scaled to 1-norm 4 (fixed generator: a benchmark, not a claim)."""
    G = np.random.default_rng(k).standard_normal((k, k))
    return 4.0 * G / np.linalg.norm(G, 1)


def measure(fn, repeats: int, number: int = 1) -> tuple[float, float, float]:
    """(best wall s, median wall s, best CPU s) per call of ``fn`` over ``repeats`` timings of ``number`` calls."""
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(number):
            fn()
        walls.append((time.perf_counter() - w0) / number)
        cpus.append((time.process_time() - c0) / number)
    return min(walls), statistics.median(walls), min(cpus)


def xla_flops(f, k: int) -> float:
    return jax.jit(f).lower(jax.ShapeDtypeStruct((k, k), jnp.float64)).cost_analysis()["flops"]


def det_expm_jax(A):
    return jnp.linalg.det(jax.scipy.linalg.expm(A))


def study(sizes: list[int], repeats: int, threads: int | None) -> list[dict]:
    rows = []
    jitted = jax.jit(det_expm_jax)
    with threadpool_limits(threads):
        for k in sizes:
            A = matrix(k)
            Aj = jnp.asarray(A)
            jitted(Aj).block_until_ready()  # compile outside the timing
            reps = max(3, repeats // 2) if k >= 800 else repeats
            rows.append({
                "k": k,
                "scipy": measure(lambda: np.linalg.det(expm(A)), reps),
                "jax": measure(lambda: jitted(Aj).block_until_ready(), reps),
                "trace": measure(lambda: np.exp(np.trace(A)), repeats, number=1000),
                "flops": xla_flops(det_expm_jax, k),
            })
    return rows


def exponent(ks, ts) -> float:
    ks, ts = np.asarray(ks, float), np.asarray(ts, float)
    keep = ks >= 200
    return float(np.polyfit(np.log(ks[keep]), np.log(ts[keep]), 1)[0]) if keep.sum() >= 2 else float("nan")


def report(results: dict[str, list[dict]]) -> str:
    lines = ["# det(expm A) vs exp(Tr A): timing study", "",
             f"CPU: {cpu_model()}; {os.cpu_count()} logical cores; load average at start {load_average()}.",
             "Versions: " + ", ".join(f"{n} {v}" for n, v in versions(["numpy", "scipy", "jax", "jaxlib"])), ""]
    for label, rows in results.items():
        lines += [f"## {label}", "",
                  "| k | SciPy det(expm) best / median ms | CPU ms | JAX det(expm) best ms | XLA flops | GFLOP/s (JAX) "
                  "| exp(Tr A) best µs |",
                  "|---|---|---|---|---|---|---|"]
        for r in rows:
            best, med, cpu = r["scipy"]
            lines.append(f"| {r['k']} | {1e3 * best:.3g} / {1e3 * med:.3g} | {1e3 * cpu:.3g} | {1e3 * r['jax'][0]:.3g} "
                         f"| {r['flops']:.3g} | {r['flops'] / r['jax'][0] / 1e9:.2f} | {1e6 * r['trace'][0]:.3g} |")
        ks = [r["k"] for r in rows]
        lines += ["", "Fitted exponents over k >= 200 (best times): "
                  f"SciPy {exponent(ks, [r['scipy'][0] for r in rows]):.2f}, "
                  f"JAX {exponent(ks, [r['jax'][0] for r in rows]):.2f}, "
                  f"exp(Tr A) {exponent(ks, [r['trace'][0] for r in rows]):.2f}; "
                  f"XLA's flop count {exponent(ks, [r['flops'] for r in rows]):.2f}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200, 400, 800, 1600])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 0], help="0 = the machine's default")
    parser.add_argument("--quick", action="store_true", help="k <= 400, 3 repeats")
    parser.add_argument("--out", type=Path, help="also write the Markdown report here")
    args = parser.parse_args()
    sizes = [k for k in args.sizes if k <= 400] if args.quick else args.sizes
    repeats = 3 if args.quick else args.repeats
    results = {}
    for t in args.threads:
        label = "1 thread" if t == 1 else ("default threads" if t == 0 else f"{t} threads")
        results[label] = study(sizes, repeats, t or None)
    text = report(results)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
