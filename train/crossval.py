"""K-fold cross-validation: `python -m train CONFIG --cv K [--out DIR]`.

For a researcher whose labelled set is too small to split into train, dev and test: the config's
train files are cut into K folds, stratified by stance and grouped so that rows sharing a `pair`
(a contrast pair) or a `writer` always fall in the same fold. Each fold in turn is the test part;
the rest is its training part, of which a further grouped, stratified share (15%) is the dev split
that early stopping and calibration use. The held-out fold is never used for any choice.

Each fold trains with :func:`train.__main__.train_one` in its own fresh folder and is evaluated on
its test part with the evaluation harness (model and baselines, the baselines learning from the
fold's whole training part). The mean and spread of each figure over the folds are written to
``crossval.json`` and printed as a table.

```
OUT/
  crossval.json             k, rows, grouping, per-fold figures, summary (mean, sd, min, max)
  crossval.md               the summary table
  fold-1/                   a training run folder (config.yaml, log.txt, model/, summary.json ...)
    data/                   train.jsonl, dev.jsonl, test.jsonl: the fold's rows
    report/                 report.md, metrics.json, plots/ from the harness
  fold-2/ ...
```
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from train.config import ROOT, TrainConfig

DEV_SHARE = 0.15
GROUP_FIELDS = ("pair", "writer")


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())


def group_ids(rows: Sequence[dict], fields: Sequence[str] = GROUP_FIELDS) -> np.ndarray:
    """One group id per row: rows linked by a shared value of any of ``fields`` share a group.

    Rows with none of the fields are groups of their own. Linking is transitive (a pair whose two
    rows have different writers joins both writers' groups), so no pair and no writer can straddle
    two folds.

    Args:
        rows: labelled records.
        fields: the fields that tie rows together.

    Returns:
        An int array of group ids, one per row.

    Example:
        >>> group_ids([{"pair": "p1"}, {"pair": "p1"}, {}, {"writer": "w", "pair": "p2"}, {"writer": "w"}]).tolist()
        [0, 0, 1, 2, 2]
    """
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, str], int] = {}
    for i, r in enumerate(rows):
        for f in fields:
            v = r.get(f)
            if _blank(v):
                continue
            key = (f, str(v))
            if key in first:
                a, b = find(i), find(first[key])
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                first[key] = i
    roots = [find(i) for i in range(len(rows))]
    ids: dict[int, int] = {}
    return np.array([ids.setdefault(r, len(ids)) for r in roots], dtype=np.int64)


def stratified_group_folds(stance: Sequence[str], groups: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """K test folds (row indices), stratified by stance, never splitting a group.

    Args:
        stance: the stance label of each row.
        groups: group ids (see :func:`group_ids`).
        k: number of folds.
        seed: shuffling seed.

    Returns:
        K sorted index arrays that partition the rows.

    Raises:
        ValueError: when there are fewer groups than folds.

    Example:
        >>> folds = stratified_group_folds(["a", "b"] * 4, np.arange(8), 2, seed=0)
        >>> sorted(len(f) for f in folds)
        [4, 4]
    """
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(np.unique(groups))
    if n_groups < k:
        raise ValueError(f"cannot make {k} folds: the rows form only {n_groups} group(s) "
                         f"(rows sharing a {' or '.join(GROUP_FIELDS)} stay together)")
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # a rare stance with fewer rows than folds is expected in a small set; the folds still partition
        warnings.simplefilter("ignore", UserWarning)
        return [np.sort(test) for _, test in splitter.split(np.zeros(len(stance)), list(stance), groups)]


def dev_split(stance: Sequence[str], groups: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split a fold's training part into (train, dev) indices: about ``share`` to dev, grouped and stratified.

    Example:
        >>> tr, dv = dev_split(["a", "b"] * 10, np.arange(20), 0.15, seed=0)
        >>> len(tr) + len(dv), 1 <= len(dv) <= 4
        (20, True)
    """
    from collections import Counter

    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise ValueError("cannot hold out a dev split: the fold's training part is a single group")
    # scikit-learn refuses more parts than the largest class has rows: a tiny set gets fewer parts
    # (a larger dev share) rather than no dev split
    largest = max(Counter(stance).values())
    parts = max(2, min(n_groups, round(1 / share), largest))
    try:
        folds = stratified_group_folds(stance, groups, parts, seed)
    except ValueError:
        from sklearn.model_selection import GroupKFold

        folds = [np.sort(t) for _, t in GroupKFold(n_splits=parts).split(np.zeros(len(stance)), groups=groups)]
    dev = folds[0]
    train = np.setdiff1d(np.arange(len(stance)), dev)
    return train, dev


def _write_jsonl(path: Path, rows: Sequence[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")


def summarise(per_fold: list[dict]) -> dict:
    """Mean, standard deviation (n-1), min, max and the values of each figure over folds.

    Args:
        per_fold: for each fold, system -> figure -> value.

    Returns:
        system -> figure -> {mean, sd, min, max, values}.

    Example:
        >>> summarise([{"model": {"f": 0.5}}, {"model": {"f": 0.7}}])["model"]["f"]["mean"]
        0.6
    """
    out: dict[str, dict] = {}
    for fold in per_fold:
        for system, figs in fold.items():
            for key, v in figs.items():
                out.setdefault(system, {}).setdefault(key, []).append(float(v))
    return {s: {k: {"mean": statistics.mean(v), "sd": statistics.stdev(v) if len(v) > 1 else 0.0,
                    "min": min(v), "max": max(v), "values": v}
                for k, v in figs.items()} for s, figs in out.items()}


def summary_table(summary: dict, keys: Sequence[str]) -> str:
    """The summary as a Markdown table: one row per system, "mean ± sd" per figure."""
    from evaluation.report import FIGURE_NAMES

    lines = ["| system | " + " | ".join(FIGURE_NAMES.get(k, k) for k in keys) + " |",
             "|---" * (len(keys) + 1) + "|"]
    for system, figs in summary.items():
        lines.append(f"| {system} | " + " | ".join(f"{figs[k]['mean']:.3f} ± {figs[k]['sd']:.3f}" for k in keys) + " |")
    return "\n".join(lines)


def cross_validate(cfg: TrainConfig, k: int, out: str | None, progress: bool = True, *,
                   baselines: Sequence[str] | None = None, dev_share: float = DEV_SHARE,
                   bootstrap: int = 1000) -> dict:
    """Train and evaluate K folds of the config's train files; write crossval.json.

    Args:
        cfg: the training config (its train files are the data; its dev and test files are not used).
        k: number of folds (at least 2).
        out: the folder to create (must not exist); default ``runs/NAME-TIME-cvK``.
        progress: progress bars while training.
        baselines: baselines scored on each fold (default: all of them, or the cheap ones,
            majority, lexicon and tfidf, when the config's encoder is the random `tiny` test encoder).
        dev_share: share of each fold's training part held out as its dev split.
        bootstrap: replicates of the per-fold intervals.

    Returns:
        The crossval.json content.

    Raises:
        SystemExit: with a message, when K is below 2 or the data has fewer groups than folds
            (the way the training command line reports an unusable request).
        DataError: when a train file has a bad row (before any training starts).

    Example:
        >>> cross_validate(load_config("configs/fast.yaml"), 2, "/tmp/cv")  # doctest: +SKIP
    """
    from evaluation.baselines import BASELINE_NAMES, CHEAP_BASELINES
    from evaluation.harness import HEADLINE, EvalData, ModelPredictor, run_evaluation, write_outputs
    from train.__main__ import _new_run_dir, train_one
    from train.data import read_labelled

    if k < 2:
        raise SystemExit(f"--cv needs at least 2 folds, got {k}")
    rows: list[dict] = []
    for f in cfg.train_files:
        rows.extend(read_labelled(cfg.resolve(f)))  # every file validated before any training
    if baselines is None:
        baselines = CHEAP_BASELINES if cfg.base_encoder == "tiny" else BASELINE_NAMES
    stance = [r["stance"] for r in rows]
    groups = group_ids(rows)
    try:
        folds = stratified_group_folds(stance, groups, k, cfg.seed)
    except ValueError as exc:
        raise SystemExit(f"--cv {k}: {exc}") from None
    plan = []  # every split is made before anything is written, so a bad request leaves no folder
    for i, test_idx in enumerate(folds, 1):
        part = np.setdiff1d(np.arange(len(rows)), test_idx)
        try:
            tr_local, dev_local = dev_split([stance[j] for j in part], groups[part], dev_share, cfg.seed + i)
        except ValueError as exc:
            raise SystemExit(f"--cv {k}, fold {i}: {exc}") from None
        plan.append((test_idx, part, part[tr_local], part[dev_local]))
    base = Path(out) if out else ROOT / "runs" / f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}-cv{k}"
    try:
        base.mkdir(parents=True, exist_ok=False)  # an earlier run is never overwritten
    except FileExistsError:
        raise SystemExit(f"{base} exists: choose another --out") from None
    grouped_by = [f for f in GROUP_FIELDS if any(not _blank(r.get(f)) for r in rows)]
    print(f"cross-validation: {len(rows)} rows, {k} folds, stratified by stance"
          + (f", grouped by {' and '.join(grouped_by)}" if grouped_by else "") + f"; output {base}", flush=True)

    fold_records, per_fold = [], []
    for i, (test_idx, part, train_idx, dev_idx) in enumerate(plan, 1):
        fold_dir = base / f"fold-{i}"
        files = {name: fold_dir / "data" / f"{name}.jsonl" for name in ("train", "dev", "test")}
        cfg_i = dataclasses.replace(cfg, name=f"{cfg.name}-cv{k}-fold{i}", train_files=[str(files["train"])],
                                    dev_files=[str(files["dev"])], test_files=[str(files["test"])],
                                    max_train_rows=0)
        run_dir = _new_run_dir(cfg_i, str(fold_dir), False)
        for name, idx in (("train", train_idx), ("dev", dev_idx), ("test", test_idx)):
            _write_jsonl(files[name], [rows[j] for j in idx])
        print(f"fold {i}/{k}: {len(train_idx)} train, {len(dev_idx)} dev, {len(test_idx)} test rows", flush=True)
        summary = train_one(cfg_i, run_dir, progress=progress)
        test_rows = [rows[j] for j in test_idx]
        metrics = run_evaluation(ModelPredictor(run_dir / "model"), [EvalData(f"fold-{i}", str(files["test"]), test_rows)],
                                 baselines=list(baselines), baseline_train=[rows[j] for j in part],
                                 bootstrap=bootstrap, seed=cfg.seed, log=None)
        write_outputs(metrics, run_dir / "report")
        systems = metrics["datasets"][f"fold-{i}"]["systems"]
        figs = {s: {key: m["headline"][key]["value"] for key in HEADLINE} for s, m in systems.items()}
        per_fold.append(figs)
        fold_records.append({"fold": i, "train_rows": len(train_idx), "dev_rows": len(dev_idx),
                             "test_rows": len(test_idx), "run_dir": str(run_dir), "best_epoch": summary["best_epoch"],
                             "report": str(run_dir / "report" / "report.md"), "figures": figs})
    result = {"k": k, "config": cfg.name, "rows": len(rows), "train_files": list(cfg.train_files),
              "stratified_by": "stance", "grouped_by": grouped_by, "dev_share": dev_share, "seed": cfg.seed,
              "baselines": list(baselines), "folds": fold_records, "summary": summarise(per_fold)}
    (base / "crossval.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    table = summary_table(result["summary"], HEADLINE)
    (base / "crossval.md").write_text(f"# {k}-fold cross-validation of {cfg.name}\n\n{len(rows)} rows from "
                                      f"{', '.join(cfg.train_files)}; mean ± standard deviation over folds.\n\n"
                                      f"{table}\n", encoding="utf-8")
    print(f"\n{k}-fold cross-validation, mean ± sd over folds ({len(rows)} rows):\n{table}\n"
          f"written: {base / 'crossval.json'}", flush=True)
    return result
