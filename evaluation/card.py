"""Put a model's figures against the baselines into its model card, and the card's figures into README.md.

    python -m evaluation.card MODEL_DIR REPORT_DIR [--readme README.md]

Reads REPORT_DIR/metrics.json (written by `python -m evaluation`), replaces the card's
"Against baselines" section with the headline table (value and 95% interval per system and data
file), and copies the card's "Evaluation" and "Against baselines" sections into README.md between
its `figures:begin` / `figures:end` markers, so the README never carries retyped figures.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

BEGIN = "<!-- figures:begin"
END = "<!-- figures:end -->"
SECTION = "## Against baselines"
COLUMNS = (("stance_macro_f1", "stance macro-F1"), ("stance_accuracy", "stance acc"),
           ("target_accuracy", "target acc"), ("target_macro_f1", "target macro-F1"),
           ("both_accuracy", "both right"))


def baseline_section(metrics: dict, report_dir: str) -> str:
    """The "Against baselines" section, from a harness metrics.json."""
    lines = [SECTION, "",
             f"From `python -m evaluation` (report: `{report_dir}/report.md`); each cell is the value and its "
             f"95% bootstrap interval ({metrics['settings']['bootstrap']} replicates, seed {metrics['settings']['seed']}). "
             "Baselines learn from the corpus train split.", ""]
    for name, ds in metrics["datasets"].items():
        lines += [f"**{ds['file']}** ({ds['n']} rows)", "",
                  "| system | " + " | ".join(c for _, c in COLUMNS) + " |",
                  "|---" * (len(COLUMNS) + 1) + "|"]
        for system, res in ds["systems"].items():
            cells = []
            for key, _ in COLUMNS:
                fig = res["headline"][key]
                cells.append(f"{fig['value']:.3f} [{fig['ci'][0]:.3f}, {fig['ci'][1]:.3f}]")
            label = f"**{system}**" if system == "model" else system
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _replace_section(card: str, title: str, body: str) -> str:
    pattern = re.compile(rf"^{re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(card):
        return pattern.sub(lambda _: body + "\n", card)
    anchor = "## Intended use and limits"
    return card.replace(anchor, body + "\n" + anchor) if anchor in card else card + "\n" + body + "\n"


def card_figures(card: str) -> str:
    """The card's "Evaluation" and "Against baselines" sections, as copied into README.md."""
    parts = []
    for title in ("## Evaluation", SECTION):
        m = re.search(rf"^{re.escape(title)}\n.*?(?=^## |\Z)", card, re.S | re.M)
        if m:
            parts.append(m.group(0).strip().replace(title, "###" + title[2:], 1))
    return "\n\n".join(parts)


def readme_block(card: str) -> str:
    return card_figures(card)


def update(model_dir: Path, report_dir: Path, readme: Path | None) -> None:
    metrics = json.loads((report_dir / "metrics.json").read_text(encoding="utf-8"))
    card_path = model_dir / "README.md"
    card = _replace_section(card_path.read_text(encoding="utf-8"), SECTION, baseline_section(metrics, str(report_dir)))
    card_path.write_text(card, encoding="utf-8")
    if readme is not None:
        text = readme.read_text(encoding="utf-8")
        start = text.index(BEGIN)
        start = text.index("-->", start) + 3
        end = text.index(END)
        text = text[:start] + "\n" + readme_block(card) + "\n" + text[end:]
        readme.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.card", description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("report_dir")
    parser.add_argument("--readme", default=None, help="README.md to update (default: none)")
    args = parser.parse_args(argv)
    update(Path(args.model_dir), Path(args.report_dir), Path(args.readme) if args.readme else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
