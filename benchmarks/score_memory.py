"""Peak memory of `kstance score` on 10,000 and on 1,000,000 rows: streaming keeps it flat.

    python benchmarks/score_memory.py [--model DIR] [--small 10000] [--large 1000000]

Each run is a fresh process scoring a generated JSONL file (corpus texts, cycled, unique ids) to
JSONL; its peak resident memory (ru_maxrss) is printed with the ratio large/small. Target: the
ratio is at most 1.5. The model does not change how rows stream, so by default a tiny 2-layer
model trained on the fly with configs/fast.yaml keeps the 1,000,000-row run to minutes; pass
--model models/default to measure with the shipped model (about 3 hours for a million rows).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import resource, sys
from kstance.cli import main
rc = main(["score", sys.argv[1], "-o", sys.argv[2], "--model", sys.argv[3], "--quiet", "--batch-size", "64"])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, rc)
"""


def make_input(path: Path, n: int) -> None:
    texts = []
    with open(ROOT / "data" / "corpus" / "train.jsonl", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            texts.append({"text": r["text"], "speaker": r.get("speaker"), "source": r.get("source")})
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            row = dict(texts[i % len(texts)], id=f"r{i}")
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def run(inp: Path, out: Path, model: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", CHILD, str(inp), str(out), model],
                         capture_output=True, text=True, cwd=ROOT)
    if res.returncode != 0:
        raise SystemExit(res.stderr)
    kib, rc = res.stdout.split()
    return int(kib), time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model directory (default: a tiny model trained now)")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = args.model
        if model is None:
            from train.__main__ import main as train_main

            train_main([str(ROOT / "configs" / "fast.yaml"), "--out", str(tmp / "run"), "--no-progress"])
            model = str(tmp / "run" / "model")
        results = {}
        for n in (args.small, args.large):
            inp = tmp / f"in{n}.jsonl"
            make_input(inp, n)
            kib, secs = run(inp, tmp / f"out{n}.jsonl", model)
            lines = sum(1 for _ in open(tmp / f"out{n}.jsonl", encoding="utf-8"))
            results[n] = kib
            print(f"{n:>9,d} rows: peak RSS {kib / 1024:7.1f} MiB, {secs:7.1f} s ({n / secs:,.0f} rows/s), "
                  f"{lines:,d} rows written", flush=True)
            inp.unlink()
        ratio = results[args.large] / results[args.small]
        print(f"peak memory ratio {args.large:,d}/{args.small:,d} rows: {ratio:.2f} (target <= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
