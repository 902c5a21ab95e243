"""The cost of going multi-process: ``kexue.train.run`` on one process vs two processes on localhost.

Writes ``benchmarks/results/multihost.md`` (included by ``book/performance.md``).  Three layouts of the same
two-device computation and a one-device baseline, each in fresh processes:

* 1 process, 1 CPU device (no communication);
* 1 process, 2 CPU devices (XLA's in-process all-reduce);
* 2 processes, 1 CPU device each, joined by ``jax.distributed`` on localhost (gloo all-reduce over TCP).

For each: the time per training step of a 64-256-256-1 MLP regression (83k parameters, batch 512, Adam) through
``run`` (median of 3 timed runs after a compiling one), and the time of one all-reduce of as many float32 values
as the model has parameters (what data parallelism adds to every step).  On localhost both "hosts" share the
same cores and no network is crossed: the numbers measure the runtime's overhead, not a cluster's interconnect.

    python benchmarks/bench_multihost.py [--steps 200] [--out benchmarks/results/multihost.md]

``BENCH_XLA_EXTRA`` adds XLA flags to every worker (e.g. ``--xla_cpu_multi_thread_eigen=false``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model, load_average, versions  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIZES = (64, 256, 256, 1)
BATCH = 512


def worker(a: argparse.Namespace) -> None:
    """One process: time ``run`` and an all-reduce; process 0 prints a JSON line."""
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={a.devices} " + os.environ.get("BENCH_XLA_EXTRA", "")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    if a.num_processes > 1:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(coordinator_address=f"localhost:{a.port}", num_processes=a.num_processes,
                                   process_id=a.process_id, initialization_timeout=60)
    import jax.numpy as jnp
    import numpy as np
    import optax
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    from kexue import train

    X = jax.random.normal(jax.random.key(0), (4096, SIZES[0]))
    Y = jnp.sin(X[:, :4].sum(1))
    ks = jax.random.split(jax.random.key(1), len(SIZES) - 1)
    params = [{"w": jax.random.normal(k, (m, n)) / np.sqrt(m), "b": jnp.zeros(n)}
              for k, m, n in zip(ks, SIZES[:-1], SIZES[1:])]
    n_params = sum(x.size for x in jax.tree.leaves(params))

    def loss(p, batch, key):
        x, y = batch
        for layer in p[:-1]:
            x = jax.nn.relu(x @ layer["w"] + layer["b"])
        return jnp.mean((x @ p[-1]["w"] + p[-1]["b"])[:, 0] - y) ** 2

    tx = optax.adam(1e-3)
    step = train.supervised_step(loss, tx, train.batch_sampler((X, Y), BATCH))
    state = train.init_state(params, tx)

    def timed(steps: int) -> float:
        t0 = time.perf_counter()
        s, _ = train.run(step, state, steps=steps, key=jax.random.key(2), chunk=100, progress=False)
        jax.block_until_ready(s)
        return time.perf_counter() - t0

    timed(a.steps)  # compiles
    step_ms = [1e3 * timed(a.steps) / a.steps for _ in range(3)]

    # the collectives XLA placed in one compiled step (gradient and metric reductions)
    hlo = jax.jit(step).lower(train.init_state(params, tx), jax.random.key(3)).compile().as_text()
    n_collectives = sum(hlo.count(f" {op}(") for op in ("all-reduce", "all-gather", "reduce-scatter",
                                                        "all-to-all", "collective-permute"))

    def allreduce_us(size: int) -> float | None:
        if jax.device_count() == 1:
            return None
        mesh = train.data_mesh()
        local = np.ones((jax.local_device_count(), size), np.float32)
        g = jax.make_array_from_process_local_data(NamedSharding(mesh, P("data")), local)
        reduce = jax.jit(lambda v: jnp.sum(v, axis=0), out_shardings=NamedSharding(mesh, P()))
        jax.block_until_ready(reduce(g))
        reps = []
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(100):  # one at a time: queued CPU collectives can starve each other of threads
                out = jax.block_until_ready(reduce(g))
            reps.append(1e6 * (time.perf_counter() - t0) / 100)
        assert float(np.asarray(out)[0]) == jax.device_count()
        return statistics.median(reps)

    result = {"step_ms": statistics.median(step_ms), "step_ms_all": step_ms, "n_params": n_params,
              "collectives": n_collectives, "allreduce_us": allreduce_us(n_params), "latency_us": allreduce_us(1)}
    if jax.process_index() == 0:
        print(json.dumps(result), flush=True)
    if a.num_processes > 1:
        jax.distributed.shutdown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def layout(processes: int, devices: int, steps: int) -> dict:
    """Run one layout in fresh processes; the JSON of process 0."""
    port = str(_free_port())
    env = os.environ | {"JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", "--num-processes", str(processes),
                               "--process-id", str(i), "--port", port, "--devices", str(devices),
                               "--steps", str(steps)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(processes)]
    try:
        outs = [p.communicate(timeout=600) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_, err) in zip(procs, outs):
        if p.returncode:
            raise RuntimeError(f"worker failed ({p.returncode}):\n{err[-2000:]}")
    return json.loads(outs[0][0].strip().splitlines()[-1])


def page(rows: list[tuple[str, dict]], steps: int, load: tuple[str, str]) -> str:
    base = rows[0][1]["step_ms"]
    n_params = rows[0][1]["n_params"]
    lines = [
        "## Several processes on localhost (`bench_multihost.py`)",
        "",
        f"The same data-parallel training step through `kexue.train.run` (MLP {'-'.join(map(str, SIZES))}, "
        f"{n_params:,} parameters, batch {BATCH}, Adam; {steps} steps per timed run, median of 3 after a compiling "
        "run) in fresh processes. Two processes join one `jax.distributed` runtime on localhost with CPU "
        "collectives over gloo; the all-reduce column times one sum across the two devices of as many float32 "
        "values as the model has parameters. Both \"hosts\" share this machine's cores and no network is crossed, "
        "so this measures the distributed runtime's overhead, not a cluster's interconnect.",
        "",
        "| layout | ms per step | vs 1 device | collectives in a step | all-reduce of the parameters | "
        "all-reduce of 1 float |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    us = lambda v: f"{v:,.0f} µs" if v is not None else "—"  # noqa: E731
    for name, r in rows:
        lines.append(f"| {name} | {r['step_ms']:.2f} | {r['step_ms'] / base:.2f}× | {r['collectives']} | "
                     f"{us(r['allreduce_us'])} | {us(r['latency_us'])} |")
    one, two = rows[1][1], rows[2][1]
    alone = two["collectives"] * two["allreduce_us"] / 1e3
    lines += ["", f"Across processes a step costs {two['step_ms'] - one['step_ms']:.1f} ms more than on one process with "
              f"two devices. Its {two['collectives']} collectives, each timed alone, account for about {alone:.1f} ms "
              "of that; the rest is the two processes waiting on each other at every collective inside the compiled "
              "step while they share two cores. We did not break it down further: on a real cluster each host has "
              "its own cores and the interconnect's latency takes the place of localhost's."]
    vs = ", ".join(f"{n} {v}" for n, v in versions(["jax", "jaxlib", "optax"]))
    lines += ["", f"- CPU: {cpu_model()}, {os.cpu_count()} cores; load average at start {load[0]}, at end {load[1]}",
              f"- Versions: {vs}; date {time.strftime('%Y-%m-%d')}", ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--num-processes", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--process-id", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--devices", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "multihost.md")
    a = p.parse_args()
    if a.worker:
        worker(a)
        return
    start = load_average()
    rows = [(name, layout(n, d, a.steps)) for name, n, d in
            [("1 process × 1 device", 1, 1), ("1 process × 2 devices", 1, 2), ("2 processes × 1 device", 2, 1)]]
    text = page(rows, a.steps, (start, load_average()))
    a.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
