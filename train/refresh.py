"""Recompute a model directory's figures with the current scoring path and regenerate its card.

    python -m train.refresh MODEL_DIR [--config configs/default.yaml]

For when scoring changes after training (a new rule, a fixed label in the test split): the
weights stay as they are; `kstance.json` gets the new figures and `README.md` is rewritten.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from train.config import load_config


class _Fit:
    """The parts of a training result the card reads, rebuilt from the model's settings."""

    def __init__(self, training: dict, n_train: int):
        self.best_epoch = training.get("best_epoch", 0)
        self.seconds = training.get("seconds", 0.0)
        epochs_run = training.get("epochs_run") or training.get("config", {}).get("epochs", 1)
        self.examples_per_second = n_train * epochs_run / self.seconds if self.seconds else 0.0


def refresh(model_dir: Path, config: Path) -> dict:
    """Re-evaluate ``model_dir`` on the config's dev/test files and the seed; rewrite its card."""
    from kstance.model import SETTINGS_FILE
    from train.card import model_card
    from train.trainer import evaluate_splits, load_data

    cfg = load_config(config)
    data = load_data(cfg)
    figures = evaluate_splits(model_dir, data)
    settings_path = model_dir / SETTINGS_FILE
    raw = json.loads(settings_path.read_text(encoding="utf-8"))
    raw["evaluation"] = figures
    settings_path.write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    from kstance.model import load_model_dir

    _, _, settings = load_model_dir(model_dir)
    card = model_card(cfg, settings, data, figures, _Fit(settings.training, len(data.train)), settings.calibration)
    (model_dir / "README.md").write_text(card, encoding="utf-8")
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.refresh", description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("--config", default="configs/default.yaml")
    args = parser.parse_args(argv)
    figures = refresh(Path(args.model_dir), Path(args.config))
    for split, m in figures.items():
        print(f"{split:17s} stance macro-F1 {m['stance_macro_f1']:.3f}  target acc {m['target_accuracy']:.3f}  (n={m['n']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
