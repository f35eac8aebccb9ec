"""The model card (README.md of a model directory), generated from the run's own records."""

from __future__ import annotations

from collections import Counter

from train.config import TrainConfig


def _fmt(x) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def model_card(cfg: TrainConfig, settings, data, figures: dict, fit_result, calibration: dict) -> str:
    """Render the model card.

    Args:
        cfg: the training config.
        settings: the model settings (labels, template).
        data: the :class:`train.trainer.Data` it was trained on.
        figures: split -> metrics from :func:`train.trainer.evaluate_splits`.
        fit_result: the training history.
        calibration: the temperature report.
    """
    train = list(data.train)
    stance = Counter(r["stance"] for r in train)
    target = Counter(r["target"] for r in train)
    lines = [
        f"# kstance model: {cfg.name}",
        "",
        "Labels the **stance** (threatening, demanding, conciliatory, neutral) and the **target** actor of an",
        "official's quote about Korean-peninsula diplomacy and security, with calibrated probabilities.",
        "Labels are defined in `docs/annotation-guidelines.md` of the kstance project.",
        "",
        "## Use",
        "```python",
        "from kstance import StanceClassifier",
        "clf = StanceClassifier.load(\"path/to/this/folder\")",
        "clf.predict(\"We will respond mercilessly.\", speakers=\"KPA General Staff\", sources=\"PRK\")",
        "```",
        "",
        "## Model",
        f"- Encoder: {settings.training.get('base_encoder')}, fine-tuned; mean pooling; two linear heads.",
        f"- Input: the quote, then `{settings.template.joiner.strip()}`-joined "
        f"{', '.join(f for f, _ in settings.template.fields)}; at most {settings.max_length} tokens.",
        f"- Stance labels: {', '.join(settings.stance_labels)}.",
        f"- Target labels: {', '.join(settings.target_labels)}.",
        f"- Weights on disk: {cfg.save_dtype}, safetensors.",
        "- Target: an official speaker's own side is ruled out (the guidelines: \"we\" is never the target)."
        if settings.exclude_own_side else "- Target: no rule on the speaker's own side.",
        "",
        "## Training data",
        f"- {len(train)} training rows from {', '.join(cfg.train_files)}; {len(data.dev)} dev rows "
        f"from {', '.join(cfg.dev_files)} (writer-held-out).",
        f"- Training stance counts: {', '.join(f'{k} {v}' for k, v in sorted(stance.items()))}.",
        f"- Training target counts: {', '.join(f'{k} {v}' for k, v in sorted(target.items()))}.",
        "- The corpus is written by the project (not real quotes); see `docs/datasheet.md`.",
        "",
        "## Training settings",
        f"- epochs (max) {cfg.epochs}, best epoch {fit_result.best_epoch}, batch {cfg.batch_size}, "
        f"lr {cfg.learning_rate} (heads {cfg.head_learning_rate}), warm-up {cfg.warmup_ratio}, "
        f"weight decay {cfg.weight_decay}, dropout {cfg.dropout}, field dropout {cfg.field_dropout}, "
        f"class balance {cfg.class_balance}, seed {cfg.seed}.",
        f"- Training time {fit_result.seconds / 60:.1f} min on {cfg.threads} CPU threads "
        f"({fit_result.examples_per_second:.1f} examples/s).",
        "",
        "## Calibration",
        f"- Temperatures fitted on dev: stance {_fmt(calibration.get('temperatures', {}).get('stance', 1.0))}, "
        f"target {_fmt(calibration.get('temperatures', {}).get('target', 1.0))}.",
        f"- Dev ECE before/after: stance {_fmt(calibration.get('ece_before', {}).get('stance', 0.0))} -> "
        f"{_fmt(calibration.get('ece_after', {}).get('stance', 0.0))}, target "
        f"{_fmt(calibration.get('ece_before', {}).get('target', 0.0))} -> "
        f"{_fmt(calibration.get('ece_after', {}).get('target', 0.0))}.",
        "",
        "## Evaluation",
        "| split | rows | stance macro-F1 | stance acc | target acc | target macro-F1 | both right | stance ECE |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for split, m in figures.items():
        lines.append(f"| {split} | {m['n']} | {_fmt(m['stance_macro_f1'])} | {_fmt(m['stance_accuracy'])} | "
                     f"{_fmt(m['target_accuracy'])} | {_fmt(m['target_macro_f1'])} | {_fmt(m['both_accuracy'])} | "
                     f"{_fmt(m['stance_ece'])} |")
    lines += [
        "",
        "`dev` and `test` come from writers whose rows are in no other split; `seed_real_quotes` are the",
        "real officials' quotes of the project's seed page (never trained on; watched, not selected on).",
        "Full reports with baselines and intervals: `python -m evaluation MODEL_DIR --data FILE --out DIR`.",
        "",
        "## Intended use and limits",
        "- For researchers scoring English news quotes on Korean-peninsula diplomacy and security.",
        "- Trained on authored text: real quotes score lower than the authored test split (see the seed row).",
        "- One stance and one target per quote; mixed quotes follow the precedence rule of the guidelines.",
        "- English only; no sarcasm detection beyond what the training text shows.",
        "",
    ]
    return "\n".join(lines)
