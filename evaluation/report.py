"""report.md: the metrics of :func:`evaluation.harness.run_evaluation` as Markdown, readable on its own."""

from __future__ import annotations

from typing import Sequence

FIGURE_NAMES = {
    "stance_macro_f1": "stance macro-F1",
    "stance_accuracy": "stance accuracy",
    "target_accuracy": "target accuracy",
    "target_macro_f1": "target macro-F1",
    "both_accuracy": "both right",
    "stance_ece": "stance ECE",
    "target_ece": "target ECE",
}
TABLE_FIGURES = ("stance_macro_f1", "stance_accuracy", "target_accuracy", "target_macro_f1", "both_accuracy",
                 "stance_ece", "target_ece")
BREAKDOWN_TITLES = {"source": "by speaker's side (`source`)", "official": "by `official`",
                    "fragment": "by `fragment`"}


def cell(fig: dict) -> str:
    """A figure as "value [low, high]".

    Example:
        >>> cell({"value": 0.8123, "ci": [0.75, 0.86]})
        '0.812 [0.750, 0.860]'
    """
    return f"{fig['value']:.3f} [{fig['ci'][0]:.3f}, {fig['ci'][1]:.3f}]"


def escape(text, limit: int | None = 220) -> str:
    """Make a value safe inside a Markdown table cell (pipes, newlines), shortened to ``limit``.

    Example:
        >>> escape("a | b\\nc")
        'a \\\\| b c'
    """
    s = "" if text is None else str(text)
    s = " ".join(s.split()).replace("|", "\\|")
    if limit and len(s) > limit:
        s = s[: limit - 1].rstrip() + "…"
    return s


def _table(header: Sequence[str], rows: list[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def headline_table(entry: dict, systems: dict) -> list[str]:
    """The model-against-baselines table of one dataset (rows: systems; cells: value [95% CI]).

    Args:
        entry: one dataset's metrics.
        systems: the `systems` block of the metrics (what each system is).
    """
    rows = []
    for name, m in entry["systems"].items():
        label = f"**{name}**" if name in ("model", "compare") else name
        rows.append([label] + [cell(m["headline"][k]) for k in TABLE_FIGURES])
    return _table(["system"] + [FIGURE_NAMES[k] for k in TABLE_FIGURES], rows)


def render_report(metrics: dict) -> str:
    """The whole report.md.

    Args:
        metrics: the metrics dict (with `plots` added by :func:`evaluation.harness.write_outputs`).

    Returns:
        Markdown text.
    """
    st = metrics["settings"]
    systems = metrics["systems"]
    pct = round(100 * (1 - st["alpha"]))
    lines = ["# kstance evaluation report", ""]
    model = systems["model"]
    lines.append(f"- **model**: {escape(model.get('path') or model.get('description'), None)}"
                 + (f" (temperatures: stance {model['temperatures'].get('stance', 1.0):.3f}, "
                    f"target {model['temperatures'].get('target', 1.0):.3f})" if model.get("temperatures") else ""))
    if "compare" in systems:
        c = systems["compare"]
        lines.append(f"- **compare**: {escape(c.get('path') or c.get('description'), None)}")
    for name in st["baselines"]:
        lines.append(f"- baseline **{name}**: {systems[name]['description']}")
    if st["baseline_train"]:
        lines.append(f"- baselines learn from `{st['baseline_train']['file']}` ({st['baseline_train']['rows']} rows)")
    lines += [
        f"- every interval is a {pct}% percentile bootstrap interval over rows resampled with replacement "
        f"({st['bootstrap']} replicates, seed {st['seed']}; all systems resampled on the same rows)",
        f"- macro-F1 averages the labels present in gold or in the predictions; ECE: top-label confidence, "
        f"{st['ece_bins']} equal-width bins; \"both right\": stance and target both correct",
        "",
        "| data | file | rows |",
        "|---|---|---|",
    ]
    for dname, e in metrics["datasets"].items():
        lines.append(f"| [{dname}](#{dname.lower()}) | `{e['file']}`{' (offset gold, text from the seed page)' if e['offset_gold'] else ''} | {e['n']} |")
    lines.append("")
    for dname, e in metrics["datasets"].items():
        lines += [f"## {dname}", "", f"`{e['file']}`: {e['n']} rows. Gold stance: "
                  + ", ".join(f"{k} {v}" for k, v in e["gold_counts"]["stance"].items())
                  + ". Gold target: " + ", ".join(f"{k} {v}" for k, v in e["gold_counts"]["target"].items() if v) + ".", ""]
        lines += ["### Model and baselines", ""]
        lines += headline_table(e, systems)
        lines.append("")
        if "comparison" in e:
            lines += ["### model against compare (paired bootstrap, same rows)", ""]
            rows = []
            for key, c in e["comparison"].items():
                rows.append([FIGURE_NAMES[key], f"{c['model']:.3f}", f"{c['compare']:.3f}", f"{c['diff']:+.3f}",
                             f"[{c['ci'][0]:+.3f}, {c['ci'][1]:+.3f}]", f"{c['p']:.3f}"])
            lines += _table(["figure", "model", "compare", "difference", f"{pct}% CI", "p (two-sided)"], rows)
            lines.append("")
        for sys_name in ("model", "compare"):
            if sys_name not in e["systems"]:
                continue
            m = e["systems"][sys_name]
            lines += [f"### Per-label figures: {sys_name}", ""]
            for head in ("stance", "target"):
                predicted = [sum(col) for col in zip(*m[head]["confusion"])]
                # labels neither in gold nor predicted say nothing here (metrics.json keeps them)
                rows = [[lab, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", v["support"], predicted[i]]
                        for i, (lab, v) in enumerate(m[head]["per_label"].items()) if v["support"] or predicted[i]]
                lines += [f"**{head}**", ""] + _table(["label", "precision", "recall", "F1", "gold rows", "predicted rows"],
                                                      rows) + [""]
            plots = e.get("plots", {}).get(sys_name)
            if plots:
                lines += [f"### Confusion matrices and calibration: {sys_name}", "",
                          "Rows are gold labels, columns predictions; cells count rows, shaded by the share of their gold row. "
                          "Reliability: accuracy per confidence bin against the diagonal of perfect calibration.", "",
                          f"![{sys_name} stance confusion]({plots['stance_confusion']}) "
                          f"![{sys_name} target confusion]({plots['target_confusion']})", "",
                          f"![{sys_name} stance reliability]({plots['stance_reliability']}) "
                          f"![{sys_name} target reliability]({plots['target_reliability']})", ""]
            lines += [f"### Breakdowns: {sys_name}", ""]
            for field, groups in e["breakdowns"][sys_name].items():
                rows = [[escape(value), g["n"]] + [cell(g[k]) for k in
                                                   ("stance_macro_f1", "stance_accuracy", "target_accuracy",
                                                    "target_macro_f1", "both_accuracy")]
                        for value, g in groups.items()]
                lines += [f"**{BREAKDOWN_TITLES[field]}**", ""]
                lines += _table([field, "rows", "stance macro-F1", "stance accuracy", "target accuracy",
                                 "target macro-F1", "both right"], rows) + [""]
            lines += [f"### Most confident mistakes: {sys_name}", ""]
            for head in ("stance", "target"):
                errs = e["confident_mistakes"][sys_name][head]
                lines += [f"**{head}** ({len(errs)} listed)", ""]
                if not errs:
                    lines += ["No mistakes.", ""]
                    continue
                rows = [[escape(x["id"], 40), escape(x["text"]), escape(x["speaker"], 60) + (f" ({x['source']})" if x["source"] else ""),
                         x["gold"], x["predicted"], f"{x['probability']:.3f}", f"{x['gold_probability']:.3f}"]
                        for x in errs]
                lines += _table(["id", "text", "speaker (side)", "gold", "predicted", "p(predicted)", "p(gold)"], rows) + [""]
    lines += ["---", "", "Written by `python -m evaluation`; every figure is in `metrics.json` beside this file."]
    return "\n".join(lines) + "\n"
