"""Classification metrics with numpy only: F1, accuracy, confusion, calibration error, bootstrap.

Every function takes label indices (ints) or label strings consistently, never both.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def confusion(gold: Sequence[int], pred: Sequence[int], n: int) -> np.ndarray:
    """Confusion matrix, rows = gold, columns = predicted.

    Example:
        >>> confusion([0, 1, 1], [0, 1, 0], 2).tolist()
        [[1, 0], [1, 1]]
    """
    m = np.zeros((n, n), dtype=np.int64)
    np.add.at(m, (np.asarray(gold, dtype=np.int64), np.asarray(pred, dtype=np.int64)), 1)
    return m


def per_label(gold: Sequence[int], pred: Sequence[int], n: int) -> dict[str, np.ndarray]:
    """Per-label precision, recall, F1 and support (0 where undefined).

    Example:
        >>> per_label([0, 1, 1], [0, 1, 0], 2)["f1"].round(3).tolist()
        [0.667, 0.667]
    """
    m = confusion(gold, pred, n)
    tp = np.diag(m).astype(float)
    pred_n = m.sum(0).astype(float)
    gold_n = m.sum(1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(pred_n > 0, tp / pred_n, 0.0)
        recall = np.where(gold_n > 0, tp / gold_n, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": gold_n}


def macro_f1(gold: Sequence[int], pred: Sequence[int], n: int) -> float:
    """Mean F1 over the labels that occur in gold or in the predictions.

    Labels absent from both do not count (a test set with no `OTHER` target is not penalised
    for never predicting it).

    Example:
        >>> macro_f1([0, 0, 1, 1], [0, 0, 1, 1], 3)
        1.0
    """
    pl = per_label(gold, pred, n)
    m = confusion(gold, pred, n)
    present = (m.sum(0) + m.sum(1)) > 0
    if not present.any():
        return 0.0
    return float(pl["f1"][present].mean())


def accuracy(gold: Sequence[int], pred: Sequence[int]) -> float:
    """Share of exact matches.

    Example:
        >>> accuracy([1, 2, 3], [1, 2, 0])
        0.6666666666666666
    """
    g, p = np.asarray(gold), np.asarray(pred)
    return float((g == p).mean()) if len(g) else 0.0


def expected_calibration_error(probs: np.ndarray, gold: Sequence[int], bins: int = 15) -> float:
    """Expected calibration error of the top-label confidence, equal-width bins.

    Args:
        probs: (n, k) probabilities.
        gold: n gold indices.
        bins: number of confidence bins.

    Example:
        >>> round(expected_calibration_error(np.array([[0.9, 0.1], [0.9, 0.1]]), [0, 1]), 3)
        0.4
    """
    probs = np.asarray(probs, dtype=float)
    if len(probs) == 0:
        return 0.0
    conf = probs.max(1)
    correct = probs.argmax(1) == np.asarray(gold)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(ece)


def reliability(probs: np.ndarray, gold: Sequence[int], bins: int = 10) -> dict[str, list]:
    """Per-bin mean confidence, accuracy and count, for a reliability diagram."""
    probs = np.asarray(probs, dtype=float)
    conf = probs.max(1)
    correct = probs.argmax(1) == np.asarray(gold)
    edges = np.linspace(0.0, 1.0, bins + 1)
    out = {"lo": [], "hi": [], "confidence": [], "accuracy": [], "count": []}
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        out["lo"].append(float(lo))
        out["hi"].append(float(hi))
        out["count"].append(int(mask.sum()))
        out["confidence"].append(float(conf[mask].mean()) if mask.any() else None)
        out["accuracy"].append(float(correct[mask].mean()) if mask.any() else None)
    return out


def bootstrap_interval(metric, n_rows: int, reps: int = 1000, seed: int = 0, alpha: float = 0.05) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric(indices)`` over rows resampled with replacement.

    Args:
        metric: a function of an index array returning a float.
        n_rows: number of rows.
        reps: bootstrap replicates.
        seed: RNG seed, so reruns give the same interval.
        alpha: 0.05 for a 95% interval.

    Example:
        >>> g = np.array([0, 1] * 50); p = g.copy()
        >>> bootstrap_interval(lambda i: accuracy(g[i], p[i]), 100)
        (1.0, 1.0)
    """
    if n_rows == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    vals = np.empty(reps)
    for r in range(reps):
        vals[r] = metric(rng.integers(0, n_rows, n_rows))
    return (float(np.quantile(vals, alpha / 2)), float(np.quantile(vals, 1 - alpha / 2)))


def paired_bootstrap(metric_a, metric_b, n_rows: int, reps: int = 1000, seed: int = 0) -> dict:
    """Paired bootstrap test of the difference metric_a - metric_b on the same rows.

    Returns:
        `diff` (on all rows), `ci` (95% interval of the difference) and `p` (two-sided: twice the
        smaller share of replicates on either side of zero).
    """
    idx = np.arange(n_rows)
    diff = metric_a(idx) - metric_b(idx)
    rng = np.random.default_rng(seed)
    vals = np.empty(reps)
    for r in range(reps):
        i = rng.integers(0, n_rows, n_rows)
        vals[r] = metric_a(i) - metric_b(i)
    p = 2 * min((vals <= 0).mean(), (vals >= 0).mean())
    return {"diff": float(diff), "ci": [float(np.quantile(vals, 0.025)), float(np.quantile(vals, 0.975))],
            "p": float(min(1.0, p))}


def head_metrics(gold: Sequence[int], probs: np.ndarray, labels: Sequence[str]) -> dict:
    """The figures for one head: macro-F1, accuracy, per-label scores, confusion, ECE.

    Args:
        gold: gold indices.
        probs: (n, k) calibrated probabilities.
        labels: label names, in index order.
    """
    pred = np.asarray(probs).argmax(1)
    n = len(labels)
    pl = per_label(gold, pred, n)
    return {
        "macro_f1": macro_f1(gold, pred, n),
        "accuracy": accuracy(gold, pred),
        "ece": expected_calibration_error(probs, gold),
        "per_label": {lab: {"precision": float(pl["precision"][i]), "recall": float(pl["recall"][i]),
                            "f1": float(pl["f1"][i]), "support": int(pl["support"][i])}
                      for i, lab in enumerate(labels)},
        "confusion": confusion(gold, pred, n).tolist(),
    }


# -- vectorised bootstrap ----------------------------------------------------------------------------
# The report puts an interval on every headline figure of every system on every file, and breaks
# the model down by source, official and fragment: thousands of replicates each. Drawing the row
# indices once and counting confusion matrices for all replicates in one bincount keeps a full run
# to seconds. Figures are computed exactly as the scalar functions above compute them.

def both_accuracy(gold_a: Sequence[int], pred_a: Sequence[int], gold_b: Sequence[int], pred_b: Sequence[int]) -> float:
    """Share of rows where both heads are right (stance and target).

    Example:
        >>> both_accuracy([0, 1, 1], [0, 1, 0], [2, 2, 2], [2, 0, 2])
        0.3333333333333333
    """
    ok = (np.asarray(gold_a) == np.asarray(pred_a)) & (np.asarray(gold_b) == np.asarray(pred_b))
    return float(ok.mean()) if len(ok) else 0.0


def bootstrap_indices(n_rows: int, reps: int = 1000, seed: int = 0) -> np.ndarray:
    """Row indices of ``reps`` bootstrap resamples, drawn as :func:`bootstrap_interval` draws them.

    The same (n_rows, reps, seed) always gives the same array, so every system scored on one
    file is resampled on the same rows (the intervals are comparable, and reruns identical).

    Args:
        n_rows: rows in the data.
        reps: replicates.
        seed: RNG seed.

    Returns:
        An int array of shape (reps, n_rows).

    Example:
        >>> bootstrap_indices(3, reps=2, seed=0).shape
        (2, 3)
    """
    chunks = list(bootstrap_index_chunks(n_rows, reps, seed))
    return np.concatenate(chunks) if chunks else np.empty((0, n_rows), dtype=np.int64)


def bootstrap_index_chunks(n_rows: int, reps: int = 1000, seed: int = 0, max_cells: int = 4_000_000):
    """The rows of :func:`bootstrap_indices` in chunks of at most ``max_cells`` indices.

    A large test file (100,000 rows x 1,000 replicates) would need gigabytes at once; chunks keep
    memory bounded and give exactly the same replicates.

    Yields:
        int arrays (reps in chunk, n_rows).

    Example:
        >>> [c.shape for c in bootstrap_index_chunks(4, reps=5, max_cells=8)]
        [(2, 4), (2, 4), (1, 4)]
    """
    rng = np.random.default_rng(seed)
    per = max(1, max_cells // max(1, n_rows))
    done = 0
    while done < reps:
        k = min(per, reps - done)
        out = np.empty((k, n_rows), dtype=np.int64)
        for r in range(k):
            # one draw per replicate, in the order bootstrap_interval uses: identical intervals
            out[r] = rng.integers(0, n_rows, n_rows)
        done += k
        yield out


def confusion_batch(gold: Sequence[int], pred: Sequence[int], n: int, idx: np.ndarray) -> np.ndarray:
    """Confusion matrices of many resamples at once.

    Args:
        gold, pred: label indices of all rows.
        n: number of labels.
        idx: (reps, rows) resample indices (see :func:`bootstrap_indices`).

    Returns:
        An array (reps, n, n), rows = gold, columns = predicted.

    Example:
        >>> confusion_batch([0, 1], [0, 0], 2, np.array([[0, 1], [1, 1]])).tolist()
        [[[1, 0], [1, 0]], [[0, 0], [2, 0]]]
    """
    g = np.asarray(gold, dtype=np.int64)
    p = np.asarray(pred, dtype=np.int64)
    reps = idx.shape[0]
    codes = g[idx] * n + p[idx] + (np.arange(reps, dtype=np.int64) * n * n)[:, None]
    return np.bincount(codes.ravel(), minlength=reps * n * n).reshape(reps, n, n)


def macro_f1_from_confusion(m: np.ndarray) -> np.ndarray | float:
    """Macro-F1 from one confusion matrix (n, n) or a stack of them (..., n, n).

    Same rule as :func:`macro_f1`: the mean over labels present in gold or in the predictions.

    Example:
        >>> macro_f1_from_confusion(np.array([[1, 0], [1, 1]]))
        0.6666666666666666
    """
    m = np.asarray(m, dtype=float)
    tp = np.diagonal(m, axis1=-2, axis2=-1)
    pred_n = m.sum(-2)
    gold_n = m.sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(pred_n > 0, tp / np.where(pred_n > 0, pred_n, 1), 0.0)
        recall = np.where(gold_n > 0, tp / np.where(gold_n > 0, gold_n, 1), 0.0)
        denom = precision + recall
        f1 = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), 0.0)
    present = (pred_n + gold_n) > 0
    count = present.sum(-1)
    out = np.where(count > 0, (f1 * present).sum(-1) / np.maximum(count, 1), 0.0)
    return float(out) if out.ndim == 0 else out


def accuracy_from_confusion(m: np.ndarray) -> np.ndarray | float:
    """Accuracy from one confusion matrix or a stack of them.

    Example:
        >>> accuracy_from_confusion(np.array([[1, 0], [1, 1]]))
        0.6666666666666666
    """
    m = np.asarray(m, dtype=float)
    total = m.sum((-2, -1))
    out = np.where(total > 0, np.trace(m, axis1=-2, axis2=-1) / np.where(total > 0, total, 1), 0.0)
    return float(out) if out.ndim == 0 else out


def ece_batch(probs: np.ndarray, gold: Sequence[int], idx: np.ndarray, bins: int = 15) -> np.ndarray:
    """Expected calibration error of many resamples at once (same bins as :func:`expected_calibration_error`).

    Uses ECE = sum over bins of |correct in bin - confidence in bin| / rows.

    Args:
        probs: (rows, k) probabilities.
        gold: gold indices.
        idx: (reps, rows) resample indices.
        bins: equal-width confidence bins.

    Returns:
        (reps,) ECE values.

    Example:
        >>> p = np.array([[0.9, 0.1], [0.9, 0.1]])
        >>> ece_batch(p, [0, 1], np.array([[0, 1], [0, 0]])).round(3).tolist()
        [0.4, 0.1]
    """
    probs = np.asarray(probs, dtype=float)
    reps, n_rows = idx.shape
    if n_rows == 0:
        return np.zeros(reps)
    conf = probs.max(1)
    correct = (probs.argmax(1) == np.asarray(gold)).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # bin i holds (edges[i], edges[i+1]], the first bin also 0: exactly the scalar function's bins
    b = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, bins - 1)
    codes = b[idx] + (np.arange(reps) * bins)[:, None]
    c_sum = np.bincount(codes.ravel(), weights=correct[idx].ravel(), minlength=reps * bins).reshape(reps, bins)
    p_sum = np.bincount(codes.ravel(), weights=conf[idx].ravel(), minlength=reps * bins).reshape(reps, bins)
    return np.abs(c_sum - p_sum).sum(1) / n_rows


def percentile_interval(values: np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    """The (alpha/2, 1-alpha/2) percentile interval of bootstrap replicates.

    Example:
        >>> percentile_interval(np.arange(101))
        (2.5, 97.5)
    """
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return (0.0, 0.0)
    return (float(np.quantile(values, alpha / 2)), float(np.quantile(values, 1 - alpha / 2)))
