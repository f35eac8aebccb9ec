"""PNG plots of the report: confusion matrices and reliability diagrams (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # no display on the machines that run evaluations; set before pyplot loads

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_confusion(matrix: Sequence[Sequence[int]], labels: Sequence[str], title: str, path: str | Path) -> Path:
    """Draw a confusion matrix (rows = gold, columns = predicted) with counts in the cells.

    Cells are shaded by the share of their gold row, so a rare label's errors show as clearly as
    a frequent one's; the printed numbers are the raw counts.

    Args:
        matrix: square counts, in label order.
        labels: label names.
        title: the plot title.
        path: the PNG to write.

    Returns:
        The path written.

    Example:
        >>> import tempfile, os
        >>> p = plot_confusion([[2, 0], [1, 3]], ["a", "b"], "t", os.path.join(tempfile.mkdtemp(), "c.png"))
        >>> p.stat().st_size > 0
        True
    """
    m = np.asarray(matrix, dtype=float)
    rows = m.sum(1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    size = 1.6 + 0.55 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    im = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title, fontsize=10)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if m[i, j]:
                ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.55 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of gold row")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_reliability(rel: dict, title: str, path: str | Path, ece: float | None = None) -> Path:
    """Draw a reliability diagram: accuracy against mean confidence per confidence bin.

    Args:
        rel: the output of :func:`evaluation.metrics.reliability` (`lo`, `hi`, `confidence`,
            `accuracy`, `count` per bin).
        title: the plot title.
        path: the PNG to write.
        ece: expected calibration error, shown in the legend when given.

    Returns:
        The path written.

    Example:
        >>> import tempfile, os
        >>> from evaluation.metrics import reliability
        >>> r = reliability(np.array([[0.9, 0.1], [0.3, 0.7]]), [0, 0])
        >>> plot_reliability(r, "t", os.path.join(tempfile.mkdtemp(), "r.png")).suffix
        '.png'
    """
    lo = np.asarray(rel["lo"], dtype=float)
    hi = np.asarray(rel["hi"], dtype=float)
    acc = np.array([a if a is not None else np.nan for a in rel["accuracy"]], dtype=float)
    conf = np.array([c if c is not None else np.nan for c in rel["confidence"]], dtype=float)
    count = np.asarray(rel["count"], dtype=float)
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(4.6, 5.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    width = hi - lo
    ok = ~np.isnan(acc)
    ax.bar(lo[ok], acc[ok], width=width[ok], align="edge", edgecolor="black", color="#4c72b0", alpha=0.8,
           label="accuracy" + (f" (ECE {ece:.3f})" if ece is not None else ""))
    ax.plot(conf[ok], acc[ok], "o", color="#dd8452", markersize=4, label="bin (mean confidence, accuracy)")
    ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1, label="perfect calibration")
    ax.set_ylim(0, 1)
    ax.set_xlim(0, 1)
    ax.set_ylabel("accuracy")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=7)
    ax2.bar(lo, count, width=width, align="edge", edgecolor="black", color="#999999")
    ax2.set_xlabel("confidence of the predicted label")
    ax2.set_ylabel("rows")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
