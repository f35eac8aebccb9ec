"""Scoring throughput: a plain transformers loop against kstance fp32 and kstance onnx, in one run.

    python benchmarks/score_throughput.py [--model models/default] [--n 5000] [--threads 2]

On the same N mixed-length statements (drawn from the corpus, all splits, seeded):
- reference: the model's encoder and heads run in a plain loop, batches of 32 in input order,
  padded to the longest in each batch (what one writes first with transformers);
- kstance fp32: `StanceClassifier.score_records` (length-sorted batches in bounded chunks);
- kstance onnx: the same with `--backend onnx` (int8, per-channel).
Prints quotes/s and the ratio to the reference for each, the agreement of onnx labels with fp32
labels on the corpus test split, and the ceiling that the machine's arithmetic allows (floating-
point operations per quote over a measured matrix-multiply rate). Targets: fp32 >= 1.6x the
reference, onnx >= 2.5x, onnx agreement >= 99%.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load_statements(n: int, seed: int = 0) -> list[dict]:
    rows = []
    for split in ("train", "dev", "test"):
        with open(ROOT / "data" / "corpus" / f"{split}.jsonl", encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    rng = random.Random(seed)
    picked = [rng.choice(rows) for _ in range(n)]
    keep = ("id", "text", "speaker", "source", "context")
    return [{k: r.get(k) for k in keep} for r in picked]


def reference_loop(clf, records: list[dict], batch_size: int = 32) -> float:
    """Input-order batches padded to their longest: the plain loop. Returns seconds."""
    import torch

    tok, model, settings = clf.tokenizer, clf.model, clf.settings
    firsts = [r["text"] for r in records]
    seconds_seg = [settings.template.second_segment(r, settings.actor_names) or "" for r in records]
    t0 = time.perf_counter()
    with torch.inference_mode():
        for b in range(0, len(records), batch_size):
            enc = tok(firsts[b : b + batch_size], seconds_seg[b : b + batch_size], padding=True,
                      truncation=True, max_length=settings.max_length, return_tensors="pt")
            model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
    return time.perf_counter() - t0


def matmul_gflops(seconds: float = 2.0) -> float:
    """Measured fp32 matrix-multiply rate of this machine (GFLOP/s), at the encoder's shapes."""
    import torch

    a = torch.randn(4096, 384)
    b = torch.randn(384, 1536)
    torch.mm(a, b)
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        torch.mm(a, b)
        n += 1
    return 2 * 4096 * 384 * 1536 * n / (time.perf_counter() - t0) / 1e9


def flops_per_quote(clf, records: list[dict]) -> float:
    """Forward FLOPs per quote at the mean real (unpadded) token length."""
    cfg = clf.model.encoder.config
    enc = clf.encode(records)
    t = sum(len(ids) for ids, _ in enc) / len(enc)
    d, layers, ff = cfg.hidden_size, cfg.num_hidden_layers, cfg.intermediate_size
    per_layer = 2 * t * (4 * d * d + 2 * d * ff) + 4 * t * t * d  # projections, FFN, attention scores
    return layers * per_layer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "default"))
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-onnx", action="store_true")
    args = parser.parse_args()

    import torch

    from kstance.predict import StanceClassifier

    torch.set_num_threads(args.threads)
    records = load_statements(args.n)
    clf = StanceClassifier.load(args.model)
    onnx = None if args.skip_onnx else StanceClassifier.load(args.model, backend="onnx")
    reference_loop(clf, records[:64])  # warm-up
    if onnx is not None:
        onnx.predict("warm-up")
    # The three run in turns over blocks of 1,000 rows, so a change in the machine's load (these
    # machines are shared) falls on all of them alike rather than on whichever ran last.
    times = {"ref": 0.0, "fp32": 0.0, "onnx": 0.0}
    for b in range(0, len(records), 1000):
        block = records[b : b + 1000]
        times["ref"] += reference_loop(clf, block)
        t0 = time.perf_counter()
        list(clf.score_records(block, batch_size=32))
        times["fp32"] += time.perf_counter() - t0
        if onnx is not None:
            t0 = time.perf_counter()
            list(onnx.score_records(block, batch_size=32))
            times["onnx"] += time.perf_counter() - t0
    ref_s = times["ref"]
    rows = [("reference (plain loop, input order)", ref_s), ("kstance fp32", times["fp32"])]
    agreement = None
    if onnx is not None:
        rows.append(("kstance onnx (int8 attention)", times["onnx"]))
        with open(ROOT / "data" / "corpus" / "test.jsonl", encoding="utf-8") as fh:
            test = [json.loads(line) for line in fh if line.strip()]
        a = clf.score_batch(test)
        b = onnx.score_batch(test)
        agreement = {
            "stance": sum(x["stance"] == y["stance"] for x, y in zip(a, b)) / len(test),
            "target": sum(x["target"] == y["target"] for x, y in zip(a, b)) / len(test),
            "n": len(test),
        }
    gflops = matmul_gflops()
    ceiling = gflops * 1e9 / flops_per_quote(clf, records[:500])
    print(f"{args.n} statements, {args.threads} threads, model {args.model}")
    print(f"{'backend':38s} {'seconds':>8s} {'quotes/s':>9s} {'x ref':>6s}")
    for name, s in rows:
        print(f"{name:38s} {s:8.1f} {args.n / s:9.1f} {ref_s / s:6.2f}")
    print(f"arithmetic ceiling: {gflops:.1f} GFLOP/s measured matmul rate / "
          f"{flops_per_quote(clf, records[:500]) / 1e9:.3f} GFLOP per quote = {ceiling:.0f} quotes/s (fp32)")
    if agreement:
        print(f"onnx vs fp32 labels on the corpus test split (n={agreement['n']}): "
              f"stance {agreement['stance']:.2%}, target {agreement['target']:.2%}")
    print("targets: fp32 >= 1.6x reference, onnx >= 2.5x reference, onnx agreement >= 99%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
