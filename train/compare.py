"""Compare training runs: per-epoch dev and seed figures, and the final figures, grouped by recipe.

    python -m train.compare RUN_DIR [RUN_DIR ...] [--markdown]

Runs are grouped by their config's `name` (one group per recipe, one run per seed); each group
reports mean ± sd over its seeds, so a difference between recipes can be read against the spread
between seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import yaml


def load_run(run_dir: Path) -> dict:
    """A run's config, per-epoch history and final figures (its model's kstance.json, else summary.json)."""
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    history = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    summary = json.loads((run_dir / "summary.json").read_text()) if (run_dir / "summary.json").exists() else None
    settings = run_dir / "model" / "kstance.json"
    if summary and settings.exists():
        # figures recomputed by `python -m train.refresh` after a scoring change win over the
        # ones written at the end of training
        summary["figures"] = json.loads(settings.read_text()).get("evaluation") or summary["figures"]
    return {"dir": str(run_dir), "name": cfg["name"], "seed": cfg["seed"], "history": history, "summary": summary}


def _ms(vals: list[float]) -> str:
    if not vals:
        return "-"
    sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return f"{statistics.mean(vals):.3f} ± {sd:.3f}"


def compare(run_dirs: list[Path]) -> str:
    """The comparison as Markdown tables."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for d in run_dirs:
        groups[load_run(d)["name"] if (d / "config.yaml").exists() else d.name].append(load_run(d))
    out = ["### Final figures (best epoch on dev; calibrated; mean ± sd over seeds)", "",
           "| recipe | seeds | best epoch | dev stance F1 | dev target acc | test stance F1 | test target acc | "
           "seed stance F1 | seed target acc |", "|---" * 9 + "|"]
    for name, runs in sorted(groups.items()):
        done = [r for r in runs if r["summary"]]
        f = lambda split, key: [r["summary"]["figures"][split][key] for r in done if split in r["summary"]["figures"]]
        out.append(f"| {name} | {', '.join(str(r['seed']) for r in done)} | "
                   f"{', '.join(str(r['summary']['best_epoch']) for r in done)} | "
                   f"{_ms(f('dev', 'stance_macro_f1'))} | {_ms(f('dev', 'target_accuracy'))} | "
                   f"{_ms(f('test', 'stance_macro_f1'))} | {_ms(f('test', 'target_accuracy'))} | "
                   f"{_ms(f('seed_real_quotes', 'stance_macro_f1'))} | {_ms(f('seed_real_quotes', 'target_accuracy'))} |")
    out += ["", "### By epoch (uncalibrated, as watched during training; mean ± sd over seeds)", "",
            "| recipe | epoch | dev stance F1 | dev target F1 | seed stance F1 | seed target acc |", "|---" * 6 + "|"]
    for name, runs in sorted(groups.items()):
        epochs = sorted({h["epoch"] for r in runs for h in r["history"]})
        for e in epochs:
            hs = [h for r in runs for h in r["history"] if h["epoch"] == e]
            seed = [h["seed_real_quotes"] for h in hs if "seed_real_quotes" in h]
            out.append(f"| {name} | {e} | {_ms([h['dev']['stance_macro_f1'] for h in hs])} | "
                       f"{_ms([h['dev']['target_macro_f1'] for h in hs])} | "
                       f"{_ms([s['stance_macro_f1'] for s in seed])} | {_ms([s['target_accuracy'] for s in seed])} |")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.compare", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    args = parser.parse_args(argv)
    print(compare([Path(r) for r in args.runs]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
