"""Skip-gram with negative sampling: JAX (``kexue.embeddings`` through ``kexue.train.run``) against gensim.

One process, one corpus, one vocabulary, the same settings for every SGNS run (dimension 100, window 5,
5 negatives, subsampling 1e-3, count >= 5, learning rate 0.025 decaying linearly to 1e-4, the same number of
epochs), and the same scoring (``kexue.embeddings.evaluate``: WordSim-353 and SimLex-999 Spearman rho, 3CosAdd
analogy accuracy). Measured:

1. PPMI + randomised SVD (k = 100), the one-pass baseline of chapter 5;
2. gensim ``Word2Vec`` (optimised C, one and two worker threads);
3. SGNS in JAX, ``kexue.embeddings.train_sgns`` (one compiled ``lax.scan`` chunk, sparse row updates);
4. the JAX step's cost per configuration (steps timed after compilation), to locate the bottleneck.

Speeds are raw corpus words (before subsampling) times epochs per wall-clock second; CPU seconds are the
process's (all threads). Writes ``benchmarks/results/sgns.md`` (a MyST fragment for ``book/performance.md``).

Run: ``python benchmarks/bench_sgns.py`` (about 4-5 minutes on 2 CPU cores; ``--epochs N``; ``--quick`` for a
smoke run on a small corpus that does not write the page).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata as md
import logging
import os
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

from kexue import data  # noqa: E402
from kexue import embeddings as E  # noqa: E402
from kexue.train import run  # noqa: E402

from _machine import cpu_model, load_average, versions  # noqa: E402  (benchmarks/_machine.py)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "sgns.md"
DIM, WINDOW, NEGATIVE, SAMPLE, MIN_COUNT, ALPHA, MIN_ALPHA = 100, 5, 5, 1e-3, 5, 0.025, 1e-4
logging.getLogger("gensim").setLevel(logging.ERROR)


class Timer:
    """Wall-clock and process CPU seconds of a ``with`` block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def train_gensim(corpus: data.Corpus, epochs: int, workers: int):
    from gensim.models import Word2Vec

    with Timer() as t:
        model = Word2Vec(corpus.docs(max_len=1000), vector_size=DIM, window=WINDOW, min_count=MIN_COUNT, sg=1,
                         negative=NEGATIVE, sample=SAMPLE, alpha=ALPHA, min_alpha=MIN_ALPHA, epochs=epochs,
                         workers=workers, seed=1)
    return model.wv, t


def train_jax(enc: E.Encoded, vocab: E.Vocab, epochs: int):
    with Timer() as t:
        w_in, _, _ = E.train_sgns(enc, vocab.counts, dim=DIM, epochs=epochs, sample=SAMPLE,
                                  config=E.SGNSConfig(window=WINDOW, negative=NEGATIVE, alpha=ALPHA,
                                                      min_alpha=MIN_ALPHA), key=jax.random.key(1))
    return E.keyed_vectors(vocab.words, w_in), t


def ppmi_svd(enc: E.Encoded, vocab: E.Vocab):
    with Timer() as t:
        U, s = E.truncated_svd(E.ppmi(E.cooccurrence(enc, len(vocab), window=WINDOW)), DIM)
    return E.keyed_vectors(vocab.words, E.svd_vectors(U, s)), t


def step_costs(enc: E.Encoded, vocab: E.Vocab, steps: int, repeats: int = 3) -> list[dict]:
    """Seconds per step of the JAX SGNS step in several configurations: after a compiling run, the fastest of
    ``repeats`` timed runs of ``steps`` steps (the minimum is the least disturbed by other load)."""
    keep = E.keep_probability(vocab.counts, SAMPLE)
    kept = float(np.mean(keep[enc.ids]))
    rows = []
    for label, cfg in [
        ("default: 256 centres, 30 noise draws each", E.SGNSConfig()),
        ("5 noise draws per centre (weight 6 each)", E.SGNSConfig(draws=5)),
        ("1 noise draw per centre: the positive pairs' cost", E.SGNSConfig(draws=1)),
        ("1024 centres per step, 30 draws", E.SGNSConfig(batch=1024)),
        ("64 centres per step, 30 draws", E.SGNSConfig(batch=64)),
    ]:
        stream = E.sgns_stream(enc, keep, epochs=1, window=cfg.window, batch=cfg.batch, chunk=steps)
        state = E.sgns_init(jax.random.key(0), vocab.counts, DIM, stream)
        step = E.sgns_step(stream.steps, cfg._replace(alpha=1e-4, min_alpha=1e-4))  # tiny rate: no divergence
        run(step, state, steps=steps, key=jax.random.key(1), chunk=steps, progress=False)  # compile
        timers = []
        for r in range(repeats):
            with Timer() as t:
                run(step, state, steps=steps, key=jax.random.key(2 + r), chunk=steps, progress=False)
            timers.append(t)
        t = min(timers, key=lambda x: x.wall)
        centres = steps * cfg.batch / t.wall
        rows.append({"label": label, "ms": 1e3 * t.wall / steps, "cpu_ms": 1e3 * t.cpu / steps,
                     "centres": centres, "words": centres / kept, "noise_rows": cfg.batch * cfg.draws})
    return rows


def fmt_scores(sc: dict) -> str:
    return f"{sc['ws353']:.3f} | {sc['simlex']:.3f} | {sc['analogy']:.1%}"


def page(info: dict, results: list[dict], costs: list[dict]) -> str:
    by = {r["key"]: r for r in results}
    g1, g2, jx = by["gensim1"], by["gensim2"], by["jax"]
    ratio1, ratio2 = jx["speed"] / g1["speed"], jx["speed"] / g2["speed"]
    base = costs[0]["ms"]
    out = [
        "## Skip-gram with negative sampling: JAX vs gensim",
        "",
        "Generated by `benchmarks/bench_sgns.py` (`make bench`); do not edit by hand.",
        "",
        "Chapter 5 ({doc}`../chapters/05_word2vec_svd`) trains its Word2Vec models with gensim and compares them",
        "with SVDs of the co-occurrence matrix; `kexue.embeddings` also implements SGNS in JAX (`train_sgns`: a",
        "plain sparse SGD step — rows gathered, differentiated and scatter-added back, 256 centres at a time — fused",
        "into compiled `lax.scan` chunks by `kexue.train.run`). This page asks what that implementation costs and",
        "what it reaches: both trained with identical settings for the same number of epochs, on more text than",
        "the chapter uses.",
        "",
        f"**Setup.** {info['corpus']}; vocabulary of the {info['V']:,} words seen at least {MIN_COUNT} times. Every",
        f"SGNS run: dimension {DIM}, window {WINDOW} (word2vec's random window), {NEGATIVE} negatives from count^0.75,",
        f"subsampling {SAMPLE:g}, learning rate {ALPHA} → {MIN_ALPHA:g} linearly, {info['epochs']} epochs. Scores by",
        "`kexue.embeddings.evaluate` (WordSim-353 and SimLex-999 Spearman ρ, 3CosAdd accuracy on the",
        f"{info['analogy_n']:,} answerable analogy questions). Speed = raw words × epochs / wall seconds.",
        f"Machine: {info['machine']}; load average at start {info['load0']}, at the end {info['load1']}",
        f"(the cores are shared; timings under load are slower and noisier). {info['versions']}. {info['date']}.",
        "",
        "| method | wall s | CPU s | words/s | vs gensim (1 thread) | words per CPU-s | WS-353 ρ | SimLex ρ "
        "| analogy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rel = f"{r['speed'] / g1['speed']:.2f}×" if r["speed"] else "—"
        speed = f"{r['speed']:,.0f}" if r["speed"] else "—"
        per_cpu = f"{r['speed'] * r['wall'] / r['cpu']:,.0f}" if r["speed"] else "—"
        out.append(f"| {r['label']} | {r['wall']:.1f} | {r['cpu']:.1f} | {speed} | {rel} | {per_cpu} | "
                   f"{fmt_scores(r['scores'])} |")
    per_cpu_ratio = (jx["speed"] * jx["wall"] / jx["cpu"]) / (g1["speed"] * g1["wall"] / g1["cpu"])
    out += [
        "",
        f"**Result.** In wall-clock words/s, JAX SGNS runs at **{ratio1:.2f}×** gensim with one worker thread and",
        f"**{ratio2:.2f}×** gensim with two, at comparable quality after the same {info['epochs']} epochs",
        f"(JAX minus one-thread gensim: {jx['scores']['ws353'] - g1['scores']['ws353']:+.3f} WS-353 ρ, "
        f"{jx['scores']['simlex'] - g1['scores']['simlex']:+.3f} SimLex ρ, "
        f"{100 * (jx['scores']['analogy'] - g1['scores']['analogy']):+.1f} analogy points). On average the JAX run",
        f"kept {jx['cpu'] / jx['wall']:.1f} cores busy (CPU s / wall s), gensim's two threads "
        f"{g2['cpu'] / g2['wall']:.1f}; per CPU-second JAX",
        f"does **{per_cpu_ratio:.2f}×** gensim's work. Wall-clock ratios on shared cores move with the load (see",
        "the load averages above). The target — JAX at 1.0× the words/s of gensim on the same cores (two",
        "threads here), at equal quality — is " + ("**met**." if ratio2 >= 1 else "**not met**.") + " Earlier runs",
        "of this script on the same machine (three on 2026-11-22) put the first ratio between 0.91× and 1.09× and",
        "the second between 0.48× and 0.68×; the second moves most with other load on the cores.",
        f"PPMI-SVD reaches its quality in one pass over the counts, in {by['svd']['wall']:.0f} s.",
        "",
        "**Where the JAX step's time goes** (one epoch's stream; the fastest of three timed runs of",
        f"{info['steps']} steps after compilation; learning rate ≈ 0 so that no configuration diverges):",
        "",
        "| JAX step configuration | ms/step | CPU ms/step | centres/s | ≈ words/s | noise rows gathered+scattered |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in costs:
        out.append(f"| {c['label']} | {c['ms']:.2f} | {c['cpu_ms']:.2f} | {c['centres']:,.0f} | {c['words']:,.0f} | "
                   f"{c['noise_rows']:,} |")
    noise_share = 1 - costs[2]["ms"] / base
    out += [
        "",
        "**Bottleneck.** The positive pairs are cheap: each step gathers the centre rows and one block of context",
        "rows and scatters each back once, whatever the number of pairs. The noise words are not: word2vec gives every",
        f"pair its own {NEGATIVE} negatives, about 30 per centre, and each is a row gathered and scatter-added on its",
        f"own. With 30 draws per centre they take **{noise_share:.0%}** of the step time (default row vs the",
        "1-draw row). Sharing fewer draws per centre cuts that cost but puts a larger weight on each draw; in",
        "exploratory runs during development (not repeated by this script; 3 epochs on the 1.7 M-token",
        "wiki + bbc + lee corpus, rate 0.05) 5 draws per centre lost most of the analogy accuracy (3.4 % → 0.6 %)",
        "while 30 matched gensim, and a single set of 64 noise words shared by the whole batch diverged. Larger",
        "batches do not help on a CPU: per centre they cost more (the gathered rows no longer fit in cache) and",
        "they sum the updates of a frequent word over the whole batch without the feedback",
        "that sequential SGD has — in the same runs 1024 and 4096 centres per step diverged at rate 0.05, 256 did",
        "not. Smaller ones pay the fixed cost of a step (about a hundred XLA operations) too often. And the more",
        "of a step goes to noise rows, the closer JAX comes to using one core (CPU ms / ms: "
        f"{costs[2]['cpu_ms'] / costs[2]['ms']:.1f} with 1 draw,",
        f"{costs[0]['cpu_ms'] / costs[0]['ms']:.1f} with 30): XLA's CPU gathers and scatter-adds run on one thread,"
        " whereas",
        "gensim's C loop updates rows in place, lock-free, on every core (Hogwild). The levers left are a GPU,",
        "where gathers and scatters are cheap and parallel, or another estimator (dense shared negatives),",
        "which changes the algorithm rather than its speed.",
        "",
    ]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=400, help="steps per configuration in the step-cost table")
    parser.add_argument("--quick", action="store_true", help="small corpus, 1 epoch; the page is not written")
    args = parser.parse_args()
    epochs = 1 if args.quick else args.epochs
    sources = ["wiki", "lee"] if args.quick else list(data.ENGLISH_SOURCES)
    load0 = load_average()
    corpus = data.english_corpus(sources)
    vocab = E.build_vocab(corpus, min_count=MIN_COUNT)
    enc = E.encode(corpus, vocab, max_len=1000)
    print(f"corpus {corpus.n_tokens:,} tokens, vocabulary {len(vocab):,}", flush=True)

    results = []

    def record(key, label, kv, t, words):
        sc = E.evaluate(kv)
        speed = words / t.wall if words else 0.0
        results.append({"key": key, "label": label, "wall": t.wall, "cpu": t.cpu, "speed": speed, "scores": sc})
        print(f"{label}: {t.wall:.1f} s wall, {t.cpu:.1f} s CPU, {speed:,.0f} words/s; "
              f"WS {sc['ws353']:.3f} SimLex {sc['simlex']:.3f} analogy {sc['analogy']:.1%}", flush=True)
        return sc

    kv, t = ppmi_svd(enc, vocab)
    sc = record("svd", "PPMI + randomised SVD, k = 100 (one pass)", kv, t, 0)
    for workers in (1, 2):
        kv, t = train_gensim(corpus, epochs, workers)
        record(f"gensim{workers}", f"gensim {md.version('gensim')}, {workers} worker thread{'s' * (workers > 1)}",
               kv, t, epochs * corpus.n_tokens)
    kv, t = train_jax(enc, vocab, epochs)
    record("jax", "JAX `train_sgns` via `kexue.train.run` (incl. compile)", kv, t, epochs * corpus.n_tokens)
    costs = step_costs(enc, vocab, args.steps)
    for c in costs:
        print(f"{c['label']}: {c['ms']:.2f} ms/step, {c['words']:,.0f} words/s", flush=True)

    info = {
        "corpus": (f"The English mix of `kexue.data.english_corpus` ({', '.join(sources)}: {corpus.n_tokens:,} tokens,"
                   f" {corpus.n_docs:,} documents, cut into 1000-token sentences)"),
        "V": len(vocab), "epochs": epochs, "analogy_n": int(sc["analogy_n"]),
        "machine": f"{cpu_model()}, {os.cpu_count()} CPU cores, JAX on {jax.devices()[0].platform.upper()}",
        "steps": args.steps, "load0": load0, "load1": load_average(),
        "versions": "Versions: " + ", ".join(f"{p} {v}" for p, v in versions(("jax", "jaxlib", "numpy", "scipy",
                                                                                  "scikit-learn", "gensim"))),
        "date": datetime.date.today().isoformat(),
    }
    text = page(info, results, costs)
    if args.quick:
        print(text)
        return
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
