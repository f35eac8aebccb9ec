"""Several seeds of one recipe: the spread between seeds is as large as many recipe differences."""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from pathlib import Path

from train.config import ROOT, TrainConfig

KEYS = ("stance_macro_f1", "stance_accuracy", "target_accuracy", "target_macro_f1", "both_accuracy", "stance_ece")


def summarise(summaries: list[dict]) -> dict:
    """Mean, standard deviation, min and max of each figure over seeds, per split."""
    out = {}
    splits = {s for summ in summaries for s in summ["figures"]}
    for split in sorted(splits):
        out[split] = {}
        for key in KEYS:
            vals = [s["figures"][split][key] for s in summaries if split in s["figures"]]
            if vals:
                out[split][key] = {"mean": statistics.mean(vals), "sd": statistics.stdev(vals) if len(vals) > 1 else 0.0,
                                   "min": min(vals), "max": max(vals), "values": vals}
    return out


def train_seeds(cfg: TrainConfig, k: int, out: str | None, progress: bool = True) -> dict:
    """Train seeds cfg.seed .. cfg.seed+k-1 in subfolders of one fresh folder; write seeds.json."""
    from train.__main__ import _new_run_dir, train_one

    base = Path(out) if out else ROOT / "runs" / f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}-seeds{k}"
    base.mkdir(parents=True, exist_ok=False)
    summaries = []
    for i in range(k):
        c = dataclasses.replace(cfg, seed=cfg.seed + i)
        summaries.append(train_one(c, _new_run_dir(c, str(base / f"seed-{c.seed}"), False), progress=progress))
    result = {"seeds": [cfg.seed + i for i in range(k)], "summary": summarise(summaries)}
    (base / "seeds.json").write_text(json.dumps(result, indent=2))
    for split, figs in result["summary"].items():
        print(f"{split:17s} " + "  ".join(f"{key} {v['mean']:.3f}±{v['sd']:.3f}" for key, v in figs.items()))
    return result
