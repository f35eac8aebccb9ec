"""The evaluation harness: score a model directory (and baselines) on labelled files, write a report.

Reads a model directory; never trains one (the baselines it fits are its own, in memory).
The command line is :mod:`evaluation.__main__` (``python -m evaluation``); cross-validation
(:mod:`train.crossval`) calls :func:`run_evaluation` and :func:`write_outputs` on each fold.

Every figure is computed on all rows, and every headline figure carries a 95% percentile
bootstrap interval over rows resampled with replacement. Resamples are drawn from ``seed``, and
every system on one file is resampled on the same rows, so reruns give the same numbers and the
systems' intervals are comparable.

metrics.json layout (stable keys; a figure is ``{"value": float, "ci": [low, high]}``):

```
schema_version              1
settings                    bootstrap (replicates), seed, alpha (0.05), ece_bins, reliability_bins,
                            mistakes (rows listed per head), baselines (names, in table order),
                            baseline_train ({"file": str, "rows": int}; null without baselines)
labels                      stance: [...], target: [...]   (index order of every confusion matrix)
systems                     name -> {kind: "model" | "baseline", description, path (models),
                            temperatures (models)}; "model" always, "compare" with --compare
datasets                    name (the file's stem; "-2", "-3" added for repeats) ->
  file                      the path given
  n                         rows
  offset_gold               true when the text was read from the seed page by offsets
  gold_counts               stance: {label: n}, target: {label: n}
  systems                   system name -> (model, compare, then the baselines)
    headline                stance_macro_f1, stance_accuracy, stance_ece,
                            target_accuracy, target_macro_f1, target_ece, both_accuracy  -> figure
    stance, target          per_label: {label: {precision, recall, f1, support}};
                            confusion: [[int]] (rows = gold, columns = predicted, `labels` order)
  breakdowns                model / compare -> field (source, official, fragment) -> value
                            (an actor code, "true", "false", or "(none)" where the field is absent)
                            -> {n, stance_macro_f1, stance_accuracy, target_accuracy,
                                target_macro_f1, both_accuracy}   (figures with intervals)
  reliability               model / compare -> stance / target -> {lo, hi, confidence, accuracy, count}
                            per confidence bin (confidence/accuracy null in an empty bin)
  confident_mistakes        model / compare -> stance / target -> list, most confident first, of
                            {id, text, speaker, source, gold, predicted, probability, gold_probability}
  comparison                (with --compare only) stance_macro_f1 / target_accuracy ->
                            {model, compare, diff (model - compare), ci, p}  (paired bootstrap)
  plots                     model / compare -> {stance_confusion, target_confusion,
                            stance_reliability, target_reliability} -> PNG path relative to the report
```

Example:
    >>> from evaluation.harness import evaluate  # doctest: +SKIP
    >>> m = evaluate("runs/x/model", ["data/corpus/test.jsonl"], "reports/x")  # doctest: +SKIP
    >>> m["datasets"]["test"]["systems"]["model"]["headline"]["stance_macro_f1"]  # doctest: +SKIP
    {'value': 0.81, 'ci': [0.78, 0.84]}
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from evaluation.metrics import (accuracy, accuracy_from_confusion, bootstrap_index_chunks, both_accuracy,
                                confusion_batch, ece_batch, expected_calibration_error, head_metrics,
                                macro_f1, macro_f1_from_confusion, paired_bootstrap, percentile_interval,
                                reliability)
from kstance.io import InputError
from kstance.labels import load_labels

SCHEMA_VERSION = 1
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASELINE_TRAIN = ROOT / "data" / "corpus" / "train.jsonl"
HEADLINE = ("stance_macro_f1", "stance_accuracy", "target_accuracy", "target_macro_f1", "both_accuracy",
            "stance_ece", "target_ece")
BREAKDOWN_FIELDS = ("source", "official", "fragment")
BREAKDOWN_FIGURES = ("stance_macro_f1", "stance_accuracy", "target_accuracy", "target_macro_f1", "both_accuracy")
ECE_BINS = 15
RELIABILITY_BINS = 10
MODEL_SYSTEMS = ("model", "compare")


class Predictor(Protocol):
    """Anything the harness can score: probabilities for both heads, labels in config order."""

    def predict_proba(self, rows: Sequence[dict]) -> tuple[np.ndarray, np.ndarray]: ...


# -- data -------------------------------------------------------------------------------------------

@dataclass
class EvalData:
    """One labelled file, read and validated.

    Attributes:
        name: the key in metrics.json (the file's stem unless given).
        file: the path as given.
        rows: statement records with gold `stance` and `target`.
        offset_gold: whether the text came from the seed page by offsets.
    """

    name: str
    file: str
    rows: list[dict]
    offset_gold: bool = False


def read_eval_file(path: str | Path, page: str | Path | None = None) -> tuple[list[dict], bool]:
    """Read a labelled file, or an offset gold file whose text lives in the seed page.

    Offset gold (JSONL rows with `start` and `end` and no `text`, like ``data/seed_gold.jsonl``)
    is turned into records with :func:`evaluation.seed.records_from_offsets`; every other file goes
    through :func:`train.data.read_labelled`. Both are validated the same way.

    Args:
        path: a .jsonl, .csv or .parquet file.
        page: the document offset gold points into (default: the seed page).

    Returns:
        (records, whether it was offset gold).

    Raises:
        DataError: listing each bad row with file, row and field.
        InputError: when the file (or the page) cannot be read.

    Example:
        >>> rows, offsets = read_eval_file("tests/data/tiny_dev.jsonl")  # doctest: +SKIP
    """
    from evaluation.seed import SEED_PAGE, is_offset_gold, records_from_offsets
    from kstance.io import iter_jsonl
    from train.data import DataError, validate_records, read_labelled

    path = Path(path)
    if path.suffix.lower() == ".jsonl":
        numbered = list(iter_jsonl(path))
        raw = [r for _, r in numbered]
        if is_offset_gold(raw):
            page = Path(page) if page else SEED_PAGE
            try:
                records = records_from_offsets(raw, page)
            except FileNotFoundError:
                raise InputError(f"{path}: offset gold, but the page it points into is missing: {page}") from None
            except (KeyError, TypeError) as exc:
                raise InputError(f"{path}: offset gold rows need integer 'start' and 'end' ({exc})") from None
            except ValueError as exc:
                raise InputError(f"{path}: {exc}") from None
            problems = validate_records([(n, r) for (n, _), r in zip(numbered, records)], str(path))
            if problems:
                raise DataError(problems)
            return records, True
    return read_labelled(path), False


def load_datasets(files: Sequence[str | Path]) -> list[EvalData]:
    """Read every file before anything is scored, so a bad file stops the run at once.

    Names are file stems; a repeated stem gets "-2", "-3".

    Example:
        >>> [d.name for d in load_datasets(["tests/data/tiny_dev.jsonl"])]  # doctest: +SKIP
        ['tiny_dev']
    """
    out, seen = [], Counter()
    for f in files:
        rows, offsets = read_eval_file(f)
        stem = Path(f).stem
        seen[stem] += 1
        name = stem if seen[stem] == 1 else f"{stem}-{seen[stem]}"
        out.append(EvalData(name, str(f), rows, offsets))
    return out


# -- the model as a predictor ----------------------------------------------------------------------

class ModelPredictor:
    """A model directory as a :class:`Predictor`: calibrated probabilities in config label order.

    Args:
        model_dir: a folder written by the training scripts.
        batch_size: rows per forward pass.

    Raises:
        ModelDirError: when the folder is missing or broken.
        ValueError: when the model's labels are not those of ``configs/labels.yaml``.

    Example:
        >>> ps, pt = ModelPredictor("runs/x/model").predict_proba([{"text": "We will talk."}])  # doctest: +SKIP
    """

    def __init__(self, model_dir: str | Path, batch_size: int = 32):
        from kstance.predict import StanceClassifier

        self.path = Path(model_dir)
        self.clf = StanceClassifier.load(self.path)
        self.batch_size = batch_size
        labels = load_labels()
        st, tt = self.clf.settings.stance_labels, self.clf.settings.target_labels
        if set(st) != set(labels.stance) or set(tt) != set(labels.targets):
            raise ValueError(f"{self.path}: the model's labels ({st}, {tt}) are not those of configs/labels.yaml")
        # the model may list labels in another order; the harness always uses the config's
        self._s_order = [st.index(lab) for lab in labels.stance]
        self._t_order = [tt.index(lab) for lab in labels.targets]

    def info(self) -> dict:
        """Path and temperatures, for the report."""
        return {"kind": "model", "path": str(self.path), "description": f"model directory {self.path}",
                "temperatures": dict(self.clf.settings.temperatures)}

    def predict_proba(self, rows):
        s_log, t_log = self.clf.logits(list(rows), batch_size=self.batch_size)
        ps, pt = self.clf.probabilities(s_log, t_log, list(rows))
        return ps[:, self._s_order], pt[:, self._t_order]


# -- figures ----------------------------------------------------------------------------------------

def _fig(value: float, ci: tuple[float, float]) -> dict:
    return {"value": float(value), "ci": [float(ci[0]), float(ci[1])]}


def figures(gold_s: np.ndarray, gold_t: np.ndarray, ps: np.ndarray, pt: np.ndarray, rows: np.ndarray | None = None,
            reps: int = 1000, seed: int = 0, alpha: float = 0.05, keys: Sequence[str] = HEADLINE) -> dict:
    """Headline figures with bootstrap intervals, on all rows or on a subset.

    Point values come from the scalar functions of :mod:`evaluation.metrics` (the same ones the
    training scripts report); intervals from vectorised replicates that compute the same figures.

    Args:
        gold_s, gold_t: gold indices of all rows (stance, target).
        ps, pt: probabilities of all rows.
        rows: indices of the subset to score (default: all rows).
        reps: bootstrap replicates.
        seed: RNG seed of the resampling.
        alpha: 0.05 for 95% intervals.
        keys: which figures (names from :data:`HEADLINE`).

    Returns:
        figure name -> {"value", "ci"}.

    Example:
        >>> g = np.array([0, 1, 1, 0]); p = np.eye(4)[[0, 1, 1, 0]]
        >>> figures(g, g, p, p, reps=50)["stance_accuracy"]
        {'value': 1.0, 'ci': [1.0, 1.0]}
    """
    rows = np.arange(len(gold_s)) if rows is None else np.asarray(rows, dtype=np.int64)
    gs, gt = np.asarray(gold_s)[rows], np.asarray(gold_t)[rows]
    s_pred, t_pred = ps.argmax(1), pt.argmax(1)
    sp, tp = s_pred[rows], t_pred[rows]
    ns, nt = ps.shape[1], pt.shape[1]
    point = {
        "stance_macro_f1": macro_f1(gs, sp, ns),
        "stance_accuracy": accuracy(gs, sp),
        "stance_ece": expected_calibration_error(ps[rows], gs, ECE_BINS),
        "target_accuracy": accuracy(gt, tp),
        "target_macro_f1": macro_f1(gt, tp, nt),
        "target_ece": expected_calibration_error(pt[rows], gt, ECE_BINS),
        "both_accuracy": both_accuracy(gs, sp, gt, tp),
    }
    reps_vals: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    both_ok = (np.asarray(gold_s) == s_pred) & (np.asarray(gold_t) == t_pred)
    for chunk in bootstrap_index_chunks(len(rows), reps, seed):
        idx = rows[chunk]  # replicate positions -> rows of the full arrays
        cs = confusion_batch(gold_s, s_pred, ns, idx) if any(k.startswith("stance_") and k != "stance_ece" for k in keys) else None
        ct = confusion_batch(gold_t, t_pred, nt, idx) if any(k.startswith("target_") and k != "target_ece" for k in keys) else None
        for k in keys:
            if k == "stance_macro_f1":
                v = macro_f1_from_confusion(cs)
            elif k == "stance_accuracy":
                v = accuracy_from_confusion(cs)
            elif k == "target_accuracy":
                v = accuracy_from_confusion(ct)
            elif k == "target_macro_f1":
                v = macro_f1_from_confusion(ct)
            elif k == "both_accuracy":
                v = both_ok[idx].mean(1)
            elif k == "stance_ece":
                v = ece_batch(ps, gold_s, idx, ECE_BINS)
            elif k == "target_ece":
                v = ece_batch(pt, gold_t, idx, ECE_BINS)
            else:
                raise KeyError(k)
            reps_vals[k].append(np.atleast_1d(v))
    return {k: _fig(point[k], percentile_interval(np.concatenate(reps_vals[k]), alpha)) for k in keys}


def _head(gold: np.ndarray, probs: np.ndarray, labels: Sequence[str]) -> dict:
    m = head_metrics(gold, probs, labels)
    return {"per_label": m["per_label"], "confusion": m["confusion"]}


def _group_value(r: dict, field: str) -> str:
    v = r.get(field)
    if v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip()):
        return "(none)"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def breakdowns(rows: Sequence[dict], gold_s, gold_t, ps, pt, reps: int, seed: int, alpha: float) -> dict:
    """Figures per value of `source`, `official` and `fragment`, each with its interval.

    Returns:
        field -> value -> {"n", figure...}; values ordered by row count, largest first.
    """
    out = {}
    for field in BREAKDOWN_FIELDS:
        groups: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            groups.setdefault(_group_value(r, field), []).append(i)
        out[field] = {}
        for value, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            figs = figures(gold_s, gold_t, ps, pt, np.array(members), reps, seed, alpha, BREAKDOWN_FIGURES)
            out[field][value] = {"n": len(members), **figs}
    return out


def confident_mistakes(rows: Sequence[dict], gold: np.ndarray, probs: np.ndarray, labels: Sequence[str],
                       limit: int = 10) -> list[dict]:
    """The wrong predictions the system was surest of, most confident first.

    Args:
        rows: the records.
        gold: gold indices.
        probs: probabilities.
        labels: label names.
        limit: how many to list.

    Returns:
        Dicts with `id`, `text`, `speaker`, `source`, `gold`, `predicted`, `probability` (of the
        predicted label) and `gold_probability`.

    Example:
        >>> confident_mistakes([{"id": "a", "text": "x"}], np.array([0]), np.array([[0.2, 0.8]]), ["p", "q"])[0]["predicted"]
        'q'
    """
    pred = probs.argmax(1)
    wrong = np.flatnonzero(pred != gold)
    conf = probs[wrong, pred[wrong]]
    order = wrong[np.argsort(-conf, kind="stable")][:limit]
    return [{"id": rows[i].get("id"), "text": rows[i].get("text"), "speaker": rows[i].get("speaker"),
             "source": rows[i].get("source"), "gold": labels[gold[i]], "predicted": labels[pred[i]],
             "probability": float(probs[i, pred[i]]), "gold_probability": float(probs[i, gold[i]])}
            for i in order]


def compare_models(gold_s, gold_t, a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray],
                   reps: int = 1000, seed: int = 0) -> dict:
    """Paired bootstrap of model a minus model b: stance macro-F1 and target accuracy.

    Args:
        gold_s, gold_t: gold indices.
        a, b: (stance probabilities, target probabilities) of each model on the same rows.
        reps: replicates.
        seed: RNG seed.

    Returns:
        stance_macro_f1 / target_accuracy -> {model, compare, diff, ci, p}.

    Example:
        >>> g = np.array([0, 1] * 10); good = np.eye(2)[g]; bad = np.eye(2)[1 - g]
        >>> compare_models(g, g, (good, good), (bad, bad), reps=50)["target_accuracy"]["diff"]
        1.0
    """
    gs, gt = np.asarray(gold_s), np.asarray(gold_t)
    ns = a[0].shape[1]
    sa, sb = a[0].argmax(1), b[0].argmax(1)
    ta, tb = a[1].argmax(1), b[1].argmax(1)
    tests = {
        "stance_macro_f1": (lambda i: macro_f1(gs[i], sa[i], ns), lambda i: macro_f1(gs[i], sb[i], ns)),
        "target_accuracy": (lambda i: accuracy(gt[i], ta[i]), lambda i: accuracy(gt[i], tb[i])),
    }
    out = {}
    all_rows = np.arange(len(gs))
    for key, (fa, fb) in tests.items():
        res = paired_bootstrap(fa, fb, len(gs), reps, seed)
        out[key] = {"model": fa(all_rows), "compare": fb(all_rows), **res}
    return out


# -- the run ----------------------------------------------------------------------------------------

def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_evaluation(model: Predictor, datasets: Sequence[EvalData], *, compare: Predictor | None = None,
                   baselines: Sequence[str] = (), baseline_train: str | Path | Sequence[dict] | None = None,
                   bootstrap: int = 1000, seed: int = 0, alpha: float = 0.05, mistakes: int = 10,
                   model_info: dict | None = None, compare_info: dict | None = None,
                   encoder_factory: Callable | None = None, log: Callable[[str], None] | None = _stderr) -> dict:
    """Score a model, an optional second model and the baselines on each dataset.

    Args:
        model: a :class:`Predictor` (a :class:`ModelPredictor`, or any object with ``predict_proba``).
        datasets: the labelled data (see :func:`load_datasets`).
        compare: a second predictor, compared with a paired bootstrap.
        baselines: baseline names (:data:`evaluation.baselines.BASELINE_NAMES`).
        baseline_train: labelled rows (or a labelled file) the baselines learn from; default the
            corpus train split.
        bootstrap: replicates for every interval.
        seed: RNG seed of the resampling.
        alpha: 0.05 for 95% intervals.
        mistakes: confident mistakes listed per head.
        model_info, compare_info: what the report says about the models (default: their ``info()``).
        encoder_factory: builds the sentence encoder of the embedding baselines (tests).
        log: progress lines (None: silent).

    Returns:
        The metrics dict (the layout of metrics.json, less `plots`, added by :func:`write_outputs`).

    Example:
        >>> class Perfect:
        ...     def predict_proba(self, rows):
        ...         lab = load_labels()
        ...         return (np.eye(len(lab.stance))[[lab.stance.index(r["stance"]) for r in rows]],
        ...                 np.eye(len(lab.targets))[[lab.targets.index(r["target"]) for r in rows]])
        >>> d = EvalData("d", "d.jsonl", [{"text": "x", "stance": "neutral", "target": "USA"}] * 3)
        >>> m = run_evaluation(Perfect(), [d], bootstrap=20, log=None)
        >>> m["datasets"]["d"]["systems"]["model"]["headline"]["both_accuracy"]["value"]
        1.0
    """
    from evaluation.baselines import make_baselines
    from train.data import read_labelled

    say = log or (lambda _m: None)
    labels = load_labels()
    s_labels, t_labels = list(labels.stance), list(labels.targets)

    train_rows, train_file = None, None
    fitted = {}
    if baselines:
        if baseline_train is None or isinstance(baseline_train, (str, Path)):
            train_file = str(baseline_train or DEFAULT_BASELINE_TRAIN)
            train_rows = read_labelled(train_file)
        else:
            train_rows, train_file = list(baseline_train), "(rows given)"
        built = make_baselines(list(baselines), encoder_factory)
        for name, b in built.items():
            say(f"fitting baseline {name} on {len(train_rows)} rows")
            fitted[name] = b.fit(train_rows)

    def describe(p, given, kind):
        if given is not None:
            return given
        if hasattr(p, "info"):
            return p.info()
        return {"kind": kind, "description": type(p).__name__}

    systems_info = {"model": describe(model, model_info, "model")}
    if compare is not None:
        systems_info["compare"] = describe(compare, compare_info, "model")
    for name, b in fitted.items():
        systems_info[name] = {"kind": "baseline", "description": b.description}

    metrics = {
        "schema_version": SCHEMA_VERSION,
        "settings": {"bootstrap": bootstrap, "seed": seed, "alpha": alpha, "ece_bins": ECE_BINS,
                     "reliability_bins": RELIABILITY_BINS, "mistakes": mistakes, "baselines": list(fitted),
                     "baseline_train": ({"file": train_file, "rows": len(train_rows)} if fitted else None)},
        "labels": {"stance": s_labels, "target": t_labels},
        "systems": systems_info,
        "datasets": {},
    }
    for ds in datasets:
        rows = ds.rows
        gs = np.array([s_labels.index(r["stance"]) for r in rows], dtype=np.int64)
        gt = np.array([t_labels.index(r["target"]) for r in rows], dtype=np.int64)
        preds: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        predictors = [("model", model)] + ([("compare", compare)] if compare is not None else []) + list(fitted.items())
        for name, p in predictors:
            say(f"{ds.name}: scoring {name} on {len(rows)} rows")
            ps, pt = p.predict_proba(rows)
            ps, pt = np.asarray(ps, dtype=float), np.asarray(pt, dtype=float)
            if ps.shape != (len(rows), len(s_labels)) or pt.shape != (len(rows), len(t_labels)):
                raise ValueError(f"{name}: probabilities of shape {ps.shape}, {pt.shape}; want "
                                 f"({len(rows)}, {len(s_labels)}), ({len(rows)}, {len(t_labels)})")
            preds[name] = (ps, pt)
        entry = {
            "file": ds.file, "n": len(rows), "offset_gold": ds.offset_gold,
            "gold_counts": {"stance": {lab: int((gs == i).sum()) for i, lab in enumerate(s_labels)},
                            "target": {lab: int((gt == i).sum()) for i, lab in enumerate(t_labels)}},
            "systems": {}, "breakdowns": {}, "reliability": {}, "confident_mistakes": {},
        }
        for name, (ps, pt) in preds.items():
            entry["systems"][name] = {
                "headline": figures(gs, gt, ps, pt, None, bootstrap, seed, alpha),
                "stance": _head(gs, ps, s_labels),
                "target": _head(gt, pt, t_labels),
            }
        for name in MODEL_SYSTEMS:
            if name not in preds:
                continue
            ps, pt = preds[name]
            entry["breakdowns"][name] = breakdowns(rows, gs, gt, ps, pt, bootstrap, seed, alpha)
            entry["reliability"][name] = {"stance": reliability(ps, gs, RELIABILITY_BINS),
                                          "target": reliability(pt, gt, RELIABILITY_BINS)}
            entry["confident_mistakes"][name] = {
                "stance": confident_mistakes(rows, gs, ps, s_labels, mistakes),
                "target": confident_mistakes(rows, gt, pt, t_labels, mistakes)}
        if compare is not None:
            entry["comparison"] = compare_models(gs, gt, preds["model"], preds["compare"], bootstrap, seed)
        metrics["datasets"][ds.name] = entry
    return metrics


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def write_outputs(metrics: dict, out_dir: str | Path) -> dict[str, Path]:
    """Write the plots, metrics.json and report.md into ``out_dir`` (created if needed).

    Plot paths are added to ``metrics["datasets"][name]["plots"]`` (relative to the report).

    Args:
        metrics: from :func:`run_evaluation`.
        out_dir: the report folder.

    Returns:
        {"report": path, "metrics": path, "plots": folder}.
    """
    from evaluation.plots import plot_confusion, plot_reliability
    from evaluation.report import render_report

    out = Path(out_dir)
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    labels = metrics["labels"]
    for dname, entry in metrics["datasets"].items():
        entry["plots"] = {}
        for sys_name in MODEL_SYSTEMS:
            if sys_name not in entry["reliability"]:
                continue
            files = {}
            for head, head_labels in (("stance", labels["stance"]), ("target", labels["target"])):
                base = f"{_safe(dname)}_{sys_name}_{head}"
                plot_confusion(entry["systems"][sys_name][head]["confusion"], head_labels,
                               f"{dname}: {sys_name} {head} (n={entry['n']})", plots / f"{base}_confusion.png")
                files[f"{head}_confusion"] = f"plots/{base}_confusion.png"
                plot_reliability(entry["reliability"][sys_name][head], f"{dname}: {sys_name} {head} calibration",
                                 plots / f"{base}_reliability.png",
                                 entry["systems"][sys_name]["headline"][f"{head}_ece"]["value"])
                files[f"{head}_reliability"] = f"plots/{base}_reliability.png"
            entry["plots"][sys_name] = files
    mpath = out / "metrics.json"
    mpath.write_text(json.dumps(metrics, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
    rpath = out / "report.md"
    rpath.write_text(render_report(metrics), encoding="utf-8")
    return {"report": rpath, "metrics": mpath, "plots": plots}


def evaluate(model_dir: str | Path, data_files: Sequence[str | Path], out_dir: str | Path, *,
             compare_dir: str | Path | None = None, baselines: Sequence[str] = (),
             baseline_train: str | Path | None = None, bootstrap: int = 1000, seed: int = 0,
             mistakes: int = 10, log: Callable[[str], None] | None = _stderr) -> dict:
    """Everything ``python -m evaluation`` does: read the data, load the model(s), score, write.

    The data files are read and validated before any model is loaded, so a bad row stops the run
    in a second, not after minutes of scoring.

    Args:
        model_dir: the model directory.
        data_files: labelled files (JSONL/CSV/Parquet or offset gold).
        out_dir: the report folder.
        compare_dir: a second model directory.
        baselines: baseline names.
        baseline_train: labelled file the baselines learn from (default the corpus train split).
        bootstrap: replicates.
        seed: RNG seed.
        mistakes: confident mistakes listed per head.
        log: progress lines.

    Returns:
        The metrics dict as written to metrics.json.

    Example:
        >>> evaluate("runs/x/model", ["tests/data/tiny_dev.jsonl"], "/tmp/r", baselines=["majority"])  # doctest: +SKIP
    """
    datasets = load_datasets(data_files)
    model = ModelPredictor(model_dir)
    compare = ModelPredictor(compare_dir) if compare_dir else None
    metrics = run_evaluation(model, datasets, compare=compare, baselines=baselines, baseline_train=baseline_train,
                             bootstrap=bootstrap, seed=seed, mistakes=mistakes, log=log)
    write_outputs(metrics, out_dir)
    return metrics
