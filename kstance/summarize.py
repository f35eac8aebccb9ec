"""`kstance summarize`: stance counts and shares per source->target dyad, by month where rows have a date.

Writes ``dyads.csv`` (every dyad, all months together), ``dyads_by_month.csv`` (when dates exist)
and ``dyads.png`` (stance shares of the largest dyads; over time when dates exist).
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from kstance.io import AtomicWriter, InputError, iter_table
from kstance.labels import load_labels

_MONTH = re.compile(r"^(\d{4})-(\d{2})")


def month_of(value) -> str | None:
    """The YYYY-MM of an ISO-like date string, or None.

    Example:
        >>> month_of("2019-09-10T08:00:00Z"), month_of("yesterday")
        ('2019-09', None)
    """
    if value is None:
        return None
    m = _MONTH.match(str(value))
    return f"{m.group(1)}-{m.group(2)}" if m else None


def count_dyads(paths: list[str | Path]) -> tuple[Counter, Counter, int]:
    """Count stances per (source, target) and per (month, source, target) over scored files.

    Rows with no `stance` (unscored quotes, errors) are skipped and counted.

    Returns:
        (dyad counts keyed (source, target, stance), monthly counts keyed
        (month, source, target, stance), number of rows skipped).
    """
    dyads: Counter = Counter()
    monthly: Counter = Counter()
    skipped = 0
    for path in paths:
        for chunk in iter_table(path, required=None):
            for _, r in chunk:
                stance = r.get("stance")
                if not stance:
                    skipped += 1
                    continue
                src = r.get("source") or "unknown"
                tgt = r.get("target") or "unknown"
                dyads[(src, tgt, stance)] += 1
                month = month_of(r.get("date"))
                if month:
                    monthly[(month, src, tgt, stance)] += 1
    return dyads, monthly, skipped


def _rows(counts: Counter, key_len: int, stances: tuple[str, ...]) -> list[dict]:
    groups: dict[tuple, Counter] = defaultdict(Counter)
    for key, n in counts.items():
        groups[key[:key_len]][key[key_len]] += n
    out = []
    for key in sorted(groups):
        c = groups[key]
        total = sum(c.values())
        row = {}
        names = ("month", "source", "target") if key_len == 3 else ("source", "target")
        row.update(dict(zip(names, key)))
        row["total"] = total
        for s in stances:
            row[s] = c.get(s, 0)
        for s in stances:
            row[f"{s}_share"] = round(c.get(s, 0) / total, 4)
        out.append(row)
    return out


def _plot(rows: list[dict], monthly_rows: list[dict], stances, path: Path, top: int = 6) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    biggest = sorted(rows, key=lambda r: -r["total"])[:top]
    colors = {"threatening": "#c0392b", "demanding": "#e67e22", "conciliatory": "#27ae60", "neutral": "#95a5a6"}
    if monthly_rows:
        fig, axes = plt.subplots(len(biggest), 1, figsize=(9, 2.2 * len(biggest)), sharex=True, squeeze=False)
        months = sorted({r["month"] for r in monthly_rows})
        for ax, dyad in zip(axes[:, 0], biggest):
            series = {m: next((r for r in monthly_rows if r["month"] == m and r["source"] == dyad["source"]
                               and r["target"] == dyad["target"]), None) for m in months}
            bottom = [0.0] * len(months)
            for s in stances:
                vals = [series[m][f"{s}_share"] if series[m] else 0.0 for m in months]
                ax.bar(months, vals, bottom=bottom, color=colors.get(s), label=s)
                bottom = [b + v for b, v in zip(bottom, vals)]
            ax.set_ylabel(f"{dyad['source']}→{dyad['target']}")
            ax.set_ylim(0, 1)
        axes[0, 0].legend(ncol=4, fontsize=8, loc="upper left", bbox_to_anchor=(0, 1.35))
        plt.setp(axes[-1, 0].get_xticklabels(), rotation=45, ha="right")
        fig.suptitle("Stance shares by month, largest dyads")
    else:
        fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(biggest)))
        labels = [f"{r['source']}→{r['target']} (n={r['total']})" for r in biggest][::-1]
        left = [0.0] * len(biggest)
        for s in stances:
            vals = [r[f"{s}_share"] for r in biggest][::-1]
            ax.barh(labels, vals, left=left, color=colors.get(s), label=s)
            left = [a + b for a, b in zip(left, vals)]
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of quotes")
        ax.legend(ncol=4, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout()
    tmp = path.with_suffix(".part.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def summarize(paths: list[str | Path], out_dir: str | Path) -> dict:
    """Write the dyad summary for scored files into ``out_dir``.

    Args:
        paths: scored files (.jsonl, .csv, .parquet) with `source`, `target`, `stance`, optional `date`.
        out_dir: output folder (created).

    Returns:
        {"dyads": rows, "monthly": rows, "skipped": n, "files": [...written...]}.

    Example:
        >>> summarize(["scored.jsonl"], "summary")  # doctest: +SKIP
    """
    stances = load_labels().stance
    dyads, monthly, skipped = count_dyads(paths)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = _rows(dyads, 2, stances)
    monthly_rows = _rows(monthly, 3, stances) if monthly else []
    written = []
    with AtomicWriter(out / "dyads.csv") as w:
        w.write(rows)
    written.append(str(out / "dyads.csv"))
    if monthly_rows:
        with AtomicWriter(out / "dyads_by_month.csv") as w:
            w.write(monthly_rows)
        written.append(str(out / "dyads_by_month.csv"))
    if rows:
        _plot(rows, monthly_rows, stances, out / "dyads.png")
        written.append(str(out / "dyads.png"))
    return {"dyads": rows, "monthly": monthly_rows, "skipped": skipped, "files": written}


def summarize_command(args) -> int:
    """Run `kstance summarize`; returns the exit status."""
    try:
        result = summarize(args.inputs, args.output)
    except InputError as exc:
        print(f"kstance: {exc}", file=sys.stderr)
        return 1
    print(f"kstance: {len(result['dyads'])} dyads"
          + (f", {len({r['month'] for r in result['monthly']})} months" if result["monthly"] else "")
          + (f"; {result['skipped']} unscored rows skipped" if result["skipped"] else "")
          + f"; wrote {', '.join(result['files'])}", file=sys.stderr)
    return 0
