"""Average the weights of several runs of one recipe (a "model soup") into one model directory.

    python -m train.soup RUN_DIR RUN_DIR [...] --config configs/default.yaml --out DIR

The seed-to-seed spread of fine-tuning on this corpus is as large as many recipe differences.
Runs that start from the same pretrained encoder and differ only in their seed stay close enough
in weight space that their average is a working model, often better than each: an ensemble at the
cost of one model. Each run's best epoch (``best.safetensors``) is averaged; the soup is then
calibrated on dev, evaluated like any run, and exported with its card.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file


def average_state(run_dirs: list[Path]) -> dict[str, torch.Tensor]:
    """The element-wise mean of the runs' best weights (same architecture required)."""
    states = [load_file(str(d / "best.safetensors")) for d in run_dirs]
    keys = states[0].keys()
    for d, s in zip(run_dirs, states):
        if s.keys() != keys:
            raise ValueError(f"{d}: weights do not match the first run's architecture")
    return {k: sum(s[k].float() for s in states) / len(states) for k in keys}


def main(argv=None) -> int:
    from train.card import model_card
    from train.config import load_config
    from train.refresh import _Fit
    from train.trainer import build, calibrate, evaluate_splits, export, load_data, set_threads

    parser = argparse.ArgumentParser(prog="python -m train.soup", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--config", required=True, help="the recipe the runs share (for data and export settings)")
    parser.add_argument("--out", required=True, help="model directory to write (must not exist)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        raise SystemExit(f"{out} exists: choose another --out")
    runs = [Path(r) for r in args.runs]
    cfg = load_config(args.config)
    set_threads(cfg.threads)
    data = load_data(cfg)
    model, tokenizer, settings = build(cfg)
    model.load_state_dict(average_state(runs))
    model.eval()
    calib = calibrate(model, tokenizer, settings, list(data.dev)) if cfg.calibrate else {}
    seconds = 0.0
    for r in runs:
        summary = json.loads((r / "summary.json").read_text())
        seconds += summary.get("train_seconds", 0.0)
    settings.training.update({"config": cfg.to_dict(), "soup_of": [str(r) for r in runs], "seconds": round(seconds, 1),
                              "best_epoch": 0})
    export(model, tokenizer, settings, cfg, out, card="")
    figures = evaluate_splits(out, data)
    settings.evaluation = figures
    card = model_card(cfg, settings, data, figures, _Fit(settings.training, len(data.train)), calib)
    card = card.replace("## Model\n", f"## Model\n- A weight average (soup) of {len(runs)} runs of this recipe "
                                      f"(seeds {', '.join(r.name for r in runs)}), each at its best dev epoch.\n", 1)
    export(model, tokenizer, settings, cfg, out, card=card)
    for split, m in figures.items():
        print(f"{split:17s} stance macro-F1 {m['stance_macro_f1']:.3f}  target acc {m['target_accuracy']:.3f}  "
              f"target macro-F1 {m['target_macro_f1']:.3f}  (n={m['n']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
