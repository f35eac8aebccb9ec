"""Distributed scoring throughput: single-process `kstance score` against Dask local clusters of 1 and 2 workers.

    python benchmarks/score_dask.py [--model models/default] [--n 3000] [--partitions 8] [--workers 1 2]

On the same N statements (drawn from data/corpus/*.jsonl, seeded, written once to a Parquet
file), in one run:
- single process: `kstance score IN.parquet -o OUT.parquet` (in this process; torch uses every core);
- dask, W workers: a LocalCluster of W worker processes (one thread each, torch threads =
  cores / W), then `kstance.distributed.score_to_parquet` with --partitions partitions.
Each figure covers the whole run: model load (in every worker), reading, scoring and writing; a
cluster's start-up is timed separately. Prints rows/s and the ratio to single process, and checks
that every run gives the same labels.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load_statements(n: int, seed: int = 0) -> list[dict]:
    rows = []
    for path in sorted((ROOT / "data" / "corpus").glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    rng = random.Random(seed)
    keep = ("id", "text", "speaker", "source", "context")
    return [{k: r.get(k) for k in keep} for r in (rng.choice(rows) for _ in range(n))]


def labels(path: Path) -> list[tuple[str, str]]:
    import pandas as pd

    df = pd.read_parquet(path, columns=["stance", "target"])
    return list(zip(df["stance"], df["target"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "default"))
    parser.add_argument("--n", type=int, default=3000, help="statements (default 3000)")
    parser.add_argument("--partitions", type=int, default=8, help="partitions for the dask runs (default 8)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="cluster sizes (default: 1 2)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    import pyarrow as pa
    import pyarrow.parquet as pq
    from dask.distributed import Client, LocalCluster

    from kstance.cli import main as kstance_main
    from kstance.distributed import score_to_parquet

    cores = os.cpu_count() or 1
    tmp = Path(tempfile.mkdtemp(prefix="kstance-dask-bench-"))
    src = tmp / "in.parquet"
    pq.write_table(pa.Table.from_pylist(load_statements(args.n)), src)

    results = []  # (name, seconds, start-up seconds or None)
    single_out = tmp / "single.parquet"
    t0 = time.perf_counter()
    assert kstance_main(["score", str(src), "-o", str(single_out), "--model", args.model, "--quiet"]) == 0
    results.append(("single process (kstance score)", time.perf_counter() - t0, None))
    reference = labels(single_out)

    agree = {}
    for w in args.workers:
        t0 = time.perf_counter()
        cluster = LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR)
        client = Client(cluster)
        client.wait_for_workers(w)
        startup = time.perf_counter() - t0
        try:
            out = tmp / f"dask{w}"
            t0 = time.perf_counter()
            score_to_parquet(client, src, out, args.model, args.partitions, torch_threads=max(1, cores // w))
            results.append((f"dask, {w} worker{'s' if w > 1 else ''} x {max(1, cores // w)} torch thread(s)",
                            time.perf_counter() - t0, startup))
        finally:
            client.close()
            cluster.close()
        agree[w] = sum(a == b for a, b in zip(labels(out), reference)) / len(reference)

    base = results[0][1]
    print(f"{args.n} statements, model {args.model}, {cores} cores, {args.partitions} partitions for dask")
    print(f"{'run':48s} {'seconds':>8s} {'rows/s':>8s} {'x single':>9s} {'start-up s':>11s}")
    for name, s, startup in results:
        print(f"{name:48s} {s:8.1f} {args.n / s:8.1f} {base / s:9.2f} {'' if startup is None else f'{startup:.1f}':>11s}")
    for w, a in agree.items():
        print(f"labels of dask ({w} worker{'s' if w > 1 else ''}) equal to single process: {a:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
