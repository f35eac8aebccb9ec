"""`python -m evaluation MODEL_DIR --data FILE [--data FILE ...] --out REPORT_DIR [options]`.

Scores a model directory on labelled files, beside baselines trained on the corpus train split,
and writes REPORT_DIR/report.md, REPORT_DIR/metrics.json and REPORT_DIR/plots/*.png.

```
MODEL_DIR                   the model directory to evaluate
--data FILE                 labelled .jsonl/.csv/.parquet, or an offset gold file such as
                            data/seed_gold.jsonl (text read from the seed page); repeatable
--out REPORT_DIR            where the report goes (created if needed; files in it are replaced)
--compare OTHER_MODEL_DIR   a second model, compared on the same rows with a paired bootstrap
--baselines LIST            comma-separated: majority,lexicon,tfidf,embed_lr,zero_shot (default all);
                            "none" for no baselines
--baseline-train FILE       what the baselines learn from (default data/corpus/train.jsonl)
--bootstrap N               bootstrap replicates for every interval (default 1000)
--seed S                    seed of the resampling (default 0): reruns give the same numbers
--mistakes N                confident mistakes listed per head (default 10)
```

Exit status: 0 on success, 1 on bad input (a one-line message naming the file, row and field),
2 on bad arguments. The layout of metrics.json is documented in :mod:`evaluation.harness`.
"""

from __future__ import annotations

import argparse
import os
import sys

from evaluation.baselines import BASELINE_NAMES


def _baseline_list(value: str) -> list[str]:
    if value.strip().lower() in ("", "none"):
        return []
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in BASELINE_NAMES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown baseline(s) {', '.join(unknown)} (known: {', '.join(BASELINE_NAMES)})")
    return list(dict.fromkeys(names))  # keep the order given, drop repeats


def _positive(value: str) -> int:
    n = int(value)
    if n < 10:
        raise argparse.ArgumentTypeError("must be at least 10")
    return n


def _non_negative(value: str) -> int:
    n = int(value)
    if n < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return n


def one_line_error(exc: Exception) -> str:
    """A one-line message for bad input: the first problem (file, row, field) and how many more.

    Example:
        >>> from train.data import DataError, Problem
        >>> one_line_error(DataError([Problem("f.jsonl", 3, "stance", "unknown label 'x'")]))
        "f.jsonl:3: field 'stance': unknown label 'x'"
    """
    problems = getattr(exc, "problems", None)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s) in the labelled data)" if len(problems) > 1 else ""
        return f"{problems[0]}{more}"
    return " ".join(str(exc).split())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m evaluation``."""
    p = argparse.ArgumentParser(prog="python -m evaluation", description=__doc__.splitlines()[0].strip("`"))
    p.add_argument("model_dir", help="the model directory to evaluate")
    p.add_argument("--data", action="append", required=True, metavar="FILE",
                   help="labelled .jsonl/.csv/.parquet or offset gold JSONL; repeatable")
    p.add_argument("--out", required=True, metavar="REPORT_DIR", help="report folder (created if needed)")
    p.add_argument("--compare", metavar="OTHER_MODEL_DIR", help="a second model for a paired comparison")
    p.add_argument("--baselines", type=_baseline_list, default=list(BASELINE_NAMES),
                   help=f"comma-separated baselines (default: {','.join(BASELINE_NAMES)}; 'none' for none)")
    p.add_argument("--baseline-train", metavar="FILE", help="labelled file the baselines learn from "
                                                            "(default data/corpus/train.jsonl)")
    p.add_argument("--bootstrap", type=_positive, default=1000, metavar="N", help="bootstrap replicates (default 1000)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the resampling (default 0)")
    p.add_argument("--mistakes", type=_non_negative, default=10, metavar="N",
                   help="confident mistakes listed per head (default 10)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Example:
        >>> main(["runs/x/model", "--data", "data/corpus/test.jsonl", "--out", "reports/x"])  # doctest: +SKIP
        0
    """
    args = build_parser().parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from evaluation.harness import evaluate
    from kstance.io import InputError
    from kstance.labels import ConfigError
    from kstance.model import ModelDirError
    from train.data import DataError

    try:
        metrics = evaluate(args.model_dir, args.data, args.out, compare_dir=args.compare, baselines=args.baselines,
                           baseline_train=args.baseline_train, bootstrap=args.bootstrap, seed=args.seed,
                           mistakes=args.mistakes, log=None if args.quiet else _log)
    except (DataError, InputError, ModelDirError, ConfigError, OSError, ValueError) as exc:
        # bad input or an unwritable --out (DataError, InputError, ModelDirError, ConfigError are ValueErrors too)
        print(f"error: {one_line_error(exc)}", file=sys.stderr)
        return 1
    for name, entry in metrics["datasets"].items():
        m = entry["systems"]["model"]["headline"]
        print(f"{name:16s} n={entry['n']:<5d} stance macro-F1 {m['stance_macro_f1']['value']:.3f} "
              f"[{m['stance_macro_f1']['ci'][0]:.3f}, {m['stance_macro_f1']['ci'][1]:.3f}]  "
              f"target acc {m['target_accuracy']['value']:.3f} "
              f"[{m['target_accuracy']['ci'][0]:.3f}, {m['target_accuracy']['ci'][1]:.3f}]")
    print(f"report: {os.path.join(args.out, 'report.md')}")
    return 0


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
