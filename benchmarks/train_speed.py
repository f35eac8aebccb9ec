"""Fine-tuning speed on this CPU: length-bucketed against random batches, and the projected time
of the default recipe over the corpus.

    python benchmarks/train_speed.py [--steps 40] [--config configs/default.yaml]

Runs the same number of optimisation steps of the real training step (forward, both losses,
backward, clipping, AdamW) on the corpus training split, once with the recipe's length-bucketed
batches and once with plain shuffled batches, in one process, and prints examples/s for each, the
ratio, and the projected minutes for the recipe's epochs (plus the dev evaluation per epoch).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "default.yaml"))
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()

    import torch
    from torch import nn

    from kstance.predict import StanceClassifier
    from train.config import load_config
    from train.trainer import _collate, _optimizer, build, load_data, make_batches, set_threads

    cfg = load_config(args.config, {"watch_seed": False})
    set_threads(cfg.threads)
    data = load_data(cfg)
    rows = list(data.train)
    results = {}
    for bucket in (True, False):
        model, tok, settings = build(cfg)
        clf = StanceClassifier(model, tok, settings, ROOT)
        lengths = [len(ids) for ids, _ in clf.encode(rows)]
        opt, sched = _optimizer(model, cfg, args.steps)
        batches = make_batches(lengths, cfg.batch_size, random.Random(0), bucket)[: args.steps]
        s_idx = {lab: i for i, lab in enumerate(settings.stance_labels)}
        t_idx = {lab: i for i, lab in enumerate(settings.target_labels)}
        loss_fn = nn.CrossEntropyLoss()
        model.train()
        n = 0
        t0 = time.perf_counter()
        for batch in batches:
            ids, mask, types = _collate(clf.encode([rows[i] for i in batch]), tok.pad_token_id)
            s, t = model(ids, mask, types)
            loss = loss_fn(s, torch.tensor([s_idx[rows[i]["stance"]] for i in batch])) + \
                loss_fn(t, torch.tensor([t_idx[rows[i]["target"]] for i in batch]))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            opt.step()
            sched.step()
            n += len(batch)
        results[bucket] = n / (time.perf_counter() - t0)
    # evaluation of dev once per epoch, at inference speed
    clf = StanceClassifier(model, tok, settings, ROOT)
    t0 = time.perf_counter()
    clf.logits(list(data.dev))
    dev_s = time.perf_counter() - t0
    print(f"{len(rows)} training rows, batch {cfg.batch_size}, {cfg.threads} threads, {args.steps} steps each")
    print(f"length-bucketed batches: {results[True]:6.1f} examples/s")
    print(f"random batches:          {results[False]:6.1f} examples/s")
    print(f"ratio bucketed/random:   {results[True] / results[False]:6.2f}")
    minutes = cfg.epochs * (len(rows) / results[True] + dev_s) / 60
    print(f"projected time for {cfg.epochs} epochs of {Path(args.config).name}: {minutes:.1f} min "
          f"(training plus {dev_s:.0f} s of dev evaluation per epoch)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
