"""`python -m train CONFIG [--out DIR] [--seed N] [--resume] [--seeds K]`: one training run per seed.

Each run gets a fresh folder (never overwriting an earlier one) holding the resolved config, the
log, per-epoch metrics, checkpoints, the exported model directory and a summary.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import yaml

from train.config import ROOT, ConfigError, TrainConfig, load_config


def _setup_logging(run_dir: Path) -> None:
    logger = logging.getLogger("kstance.train")
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S")
    for handler in (logging.FileHandler(run_dir / "log.txt", encoding="utf-8"), logging.StreamHandler(sys.stderr)):
        handler.setFormatter(fmt)
        logger.addHandler(handler)


def train_one(cfg: TrainConfig, run_dir: Path, resume: bool = False, progress: bool = True) -> dict:
    """Train, calibrate, export and evaluate one model in ``run_dir``; return its summary."""
    from train.card import model_card
    from train.trainer import build, calibrate, evaluate_splits, export, fit, load_data, set_threads

    set_threads(cfg.threads)
    _setup_logging(run_dir)
    log = logging.getLogger("kstance.train")
    data = load_data(cfg)  # validates every file before any training starts
    log.info("data: %d train, %d dev, %s test rows%s", len(data.train), len(data.dev),
             len(data.test) if data.test is not None else 0,
             f", {len(data.seed)} seed real quotes watched" if data.seed else "")
    model, tokenizer, settings = build(cfg)
    result = fit(cfg, model, tokenizer, settings, data, run_dir, resume=resume, progress=progress)
    calib = calibrate(model, tokenizer, settings, list(data.dev)) if cfg.calibrate else {}
    settings.training.update({"config": cfg.to_dict(), "best_epoch": result.best_epoch,
                              "seconds": round(result.seconds, 1)})
    model_dir = run_dir / "model"
    export(model, tokenizer, settings, cfg, model_dir, card="")
    figures = evaluate_splits(model_dir, data)
    settings.evaluation = figures
    export(model, tokenizer, settings, cfg, model_dir, card=model_card(cfg, settings, data, figures, result, calib))
    summary = {"run_dir": str(run_dir), "best_epoch": result.best_epoch, "train_seconds": result.seconds,
               "examples_per_second": result.examples_per_second, "calibration": calib, "figures": figures,
               "history": result.history}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    for split, m in figures.items():
        log.info("%-17s stance macro-F1 %.3f  target acc %.3f  target macro-F1 %.3f  stance ECE %.3f  (n=%d)",
                 split, m["stance_macro_f1"], m["target_accuracy"], m["target_macro_f1"], m["stance_ece"], m["n"])
    log.info("model directory: %s (%.1f min of training)", model_dir, result.seconds / 60)
    return summary


def _new_run_dir(cfg: TrainConfig, out: str | None, resume: bool) -> Path:
    if out:
        run_dir = Path(out)
        if resume:
            if not run_dir.is_dir():
                raise SystemExit(f"--resume: {run_dir} does not exist")
            return run_dir
    else:
        if resume:
            raise SystemExit("--resume needs --out RUN_DIR (the folder of the interrupted run)")
        run_dir = ROOT / "runs" / f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}-s{cfg.seed}"
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        run_dir.mkdir(exist_ok=False)  # an earlier run is never overwritten
    except FileExistsError:
        raise SystemExit(f"{run_dir} exists: choose another --out, or add --resume to continue it") from None
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    return run_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train", description=__doc__.splitlines()[0])
    parser.add_argument("config", help="training config YAML (configs/default.yaml, configs/fast.yaml)")
    parser.add_argument("--out", help="run folder (default: runs/NAME-TIME-sSEED); must not exist unless --resume")
    parser.add_argument("--seed", type=int, help="override the config's seed")
    parser.add_argument("--seeds", type=int, default=1, help="train K seeds (seed, seed+1, ...) and report mean and spread")
    parser.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    parser.add_argument("--cv", type=int, default=0, help="K-fold cross-validation over the training files")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    overrides = {"seed": args.seed} if args.seed is not None else {}
    try:
        cfg = load_config(args.config, overrides)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    from train.data import DataError
    from kstance.io import InputError

    try:
        if args.cv:
            from train.crossval import cross_validate

            cross_validate(cfg, args.cv, args.out, progress=not args.no_progress)
            return 0
        if args.seeds <= 1:
            train_one(cfg, _new_run_dir(cfg, args.out, args.resume), args.resume, not args.no_progress)
            return 0
        from train.multiseed import train_seeds

        train_seeds(cfg, args.seeds, args.out, progress=not args.no_progress)
        return 0
    except (DataError, InputError, FileNotFoundError) as exc:
        print(f"data error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
