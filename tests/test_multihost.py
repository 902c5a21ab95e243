"""kexue.train.run across two processes on localhost (jax.distributed, CPU collectives over gloo).

Two worker processes with one CPU device each join one distributed runtime and run a supervised step and a
game step through ``run``; a third process runs the same code alone on two CPU devices.  The mesh, the key
schedule and the sharding of each batch are the same, so the histories and final parameters must agree bit for
bit (an all-reduce of two partial sums is the same IEEE addition in either runtime).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).with_name("multihost_worker.py")
TIMEOUT_S = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _start(tmp: Path, name: str, *args: str) -> subprocess.Popen:
    env = os.environ | {"JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)  # the worker sets its own device count
    log = open(tmp / f"{name}.log", "w")
    return subprocess.Popen([sys.executable, str(WORKER), "--out", str(tmp / f"{name}.npz"), *args],
                            env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, dict[str, np.ndarray]]:
    tmp = tmp_path_factory.mktemp("multihost")
    port = str(_free_port())
    procs = {
        "p0": _start(tmp, "p0", "--num-processes", "2", "--process-id", "0", "--port", port),
        "p1": _start(tmp, "p1", "--num-processes", "2", "--process-id", "1", "--port", port),
        "ref": _start(tmp, "ref", "--num-processes", "1", "--devices", "2"),
    }
    try:
        for name, p in procs.items():
            rc = p.wait(timeout=TIMEOUT_S)
            assert rc == 0, f"{name} exited with {rc}:\n{(tmp / f'{name}.log').read_text()[-3000:]}"
    finally:
        for p in procs.values():  # never leave a worker behind (one may wait forever for its peer)
            if p.poll() is None:
                p.kill()
                p.wait()
    return {name: dict(np.load(tmp / f"{name}.npz")) for name in procs}


def test_two_processes_form_one_mesh(runs):
    for name in ("p0", "p1"):
        assert int(runs[name]["process_count"]) == 2 and int(runs[name]["device_count"]) == 2
    assert int(runs["ref"]["process_count"]) == 1 and int(runs["ref"]["device_count"]) == 2
    # each process holds its share of a 16-row batch; the single process holds both devices' shares
    assert [int(runs[n]["local_rows"]) for n in ("p0", "p1", "ref")] == [8, 8, 16]


def test_two_processes_reproduce_one_process_on_two_devices(runs):
    ref = runs["ref"]
    keys = sorted(k for k in ref if k not in ("process_count", "local_rows"))
    assert any(k.startswith("sup_params_") for k in keys) and any(k.startswith("game_g_") for k in keys)
    for name in ("p0", "p1"):
        assert sorted(k for k in runs[name] if k not in ("process_count", "local_rows")) == keys
        for k in keys:
            np.testing.assert_array_equal(runs[name][k], ref[k], err_msg=f"{name}: {k}")


def test_parameters_stay_replicated_and_training_moves(runs):
    for name in ("p0", "p1", "ref"):
        r = runs[name]
        assert bool(r["sup_params_replicated"]) and bool(r["game_d_replicated"]) and bool(r["game_g_replicated"])
    loss = runs["p0"]["sup_loss"]
    assert np.all(np.isfinite(loss)) and loss[-8:].mean() < 0.5 * loss[:8].mean()  # the regression learns
