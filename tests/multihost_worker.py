"""One process of a multi-process run of ``kexue.train.run`` (used by tests/test_multihost.py and the howto).

    python tests/multihost_worker.py --num-processes 2 --process-id 0 --port 12355 --out p0.npz &
    python tests/multihost_worker.py --num-processes 2 --process-id 1 --port 12355 --out p1.npz
    python tests/multihost_worker.py --num-processes 1 --devices 2 --out ref.npz   # one process, two devices

Each process joins JAX's distributed runtime (``jax.distributed.initialize`` with a coordinator on localhost,
CPU collectives over gloo) and runs the same chapter-style code as a single process would: a supervised
regression through ``batch_sampler`` and a two-player game through ``game_step``. It writes the metrics history
and the final parameters (as seen by this process) to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import sys


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--num-processes", type=int, required=True)
    p.add_argument("--process-id", type=int, default=0)
    p.add_argument("--port", type=int, default=12355)
    p.add_argument("--devices", type=int, default=1, help="CPU devices of this process")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--out", required=True)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    a = _args(argv)
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={a.devices}"
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    if a.num_processes > 1:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(coordinator_address=f"localhost:{a.port}", num_processes=a.num_processes,
                                   process_id=a.process_id, initialization_timeout=60)
    import jax.numpy as jnp
    import numpy as np
    import optax

    from kexue import data, train

    # --- supervised: a two-layer regression, batch of 16 drawn from 256 rows held by every process
    X = jax.random.normal(jax.random.key(1), (256, 3))
    Y = jnp.tanh(X @ jnp.array([1.0, -2.0, 0.5])) + 0.1

    def init_mlp(k: jax.Array, sizes: tuple[int, ...]) -> list[dict[str, jax.Array]]:
        ks = jax.random.split(k, len(sizes) - 1)
        return [{"w": jax.random.normal(kk, (m, n)) / np.sqrt(m), "b": jnp.zeros(n)}
                for kk, m, n in zip(ks, sizes[:-1], sizes[1:])]

    def mlp(params: list[dict[str, jax.Array]], x: jax.Array) -> jax.Array:
        for layer in params[:-1]:
            x = jnp.tanh(x @ layer["w"] + layer["b"])
        return x @ params[-1]["w"] + params[-1]["b"]

    def mse(p, batch, key):
        x, y = batch
        return jnp.mean((mlp(p, x)[:, 0] - y) ** 2), {"max_abs": jnp.max(jnp.abs(mlp(p, x)[:, 0] - y))}

    tx = optax.adam(1e-2)
    sup = train.supervised_step(mse, tx, train.batch_sampler((X, Y), 16))
    s1, h1 = train.run(sup, train.init_state(init_mlp(jax.random.key(2), (3, 16, 1)), tx), steps=a.steps,
                       key=jax.random.key(3), chunk=16, progress=False)

    # --- a game: a small GAN on the eight-Gaussian ring, alternating updates
    real = data.eight_gaussians(jax.random.key(4), 512)

    def d_loss(d, g, batch, key):
        z = jax.random.normal(key, (batch.shape[0], 2))
        return jnp.mean(jax.nn.softplus(-mlp(d, batch))) + jnp.mean(jax.nn.softplus(mlp(d, mlp(g, z))))

    def g_loss(d, g, batch, key):
        z = jax.random.normal(key, (batch.shape[0], 2))
        return jnp.mean(jax.nn.softplus(-mlp(d, mlp(g, z))))

    dtx, gtx = optax.adam(2e-3, b1=0.5), optax.adam(2e-3, b1=0.5)
    game = train.game_step(d_loss, g_loss, dtx, gtx, train.batch_sampler(real, 32))
    g0 = train.init_game(init_mlp(jax.random.key(5), (2, 16, 1)), dtx, init_mlp(jax.random.key(6), (2, 16, 2)), gtx)
    s2, h2 = train.run(game, g0, steps=a.steps, key=jax.random.key(7), chunk=16, progress=False)

    # what this process holds of one global batch: its devices' shards only
    batch = jax.jit(lambda k: train.shard_batch(train.batch_sampler((X, Y), 16)(k)))(jax.random.key(8))
    local_rows = sum(shard.data.shape[0] for shard in batch[0].addressable_shards)

    out = {"process_count": jax.process_count(), "device_count": jax.device_count(), "local_rows": local_rows}
    out |= {f"sup_{k}": v for k, v in h1.items()} | {f"game_{k}": v for k, v in h2.items()}
    for name, tree in (("sup_params", s1.params), ("game_d", s2.d.params), ("game_g", s2.g.params)):
        leaves = jax.tree.leaves(tree)
        out[f"{name}_replicated"] = all(leaf.sharding.is_fully_replicated for leaf in leaves)
        for i, leaf in enumerate(leaves):
            out[f"{name}_{i}"] = np.asarray(jax.device_get(leaf))
    np.savez(a.out, **out)
    if a.num_processes > 1:
        jax.distributed.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:])
