"""The `kstance` command line: `kstance extract`, `kstance score`, `kstance summarize`.

The commands and their options are stable: scripts outside the project call them.
Exit status: 0 when every file and row went through, 1 when some input failed (the others are
still processed and written), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kstance.io import ARTICLE_SUFFIXES, TABLE_SUFFIXES, AtomicWriter, InputError, iter_articles


def _err(msg: str) -> None:
    print(f"kstance: {msg}", file=sys.stderr)


def extract_files(paths: list[str], writer: AtomicWriter, quiet: bool = False) -> int:
    """Extract quotes from each article file into ``writer``; return the number of failed files.

    One bad file (missing, binary, not UTF-8, malformed JSONL, HTML with no article) is reported
    in one line on standard error and skipped; the others are still processed.
    """
    from kstance.extract import QuoteExtractor

    extractor = QuoteExtractor()
    failed = 0
    for p in paths:
        n_before = writer.count
        try:
            suffix = Path(p).suffix.lower()
            if suffix not in ARTICLE_SUFFIXES and suffix != ".jsonl":
                raise InputError(f"{p}: unsupported article file type '{suffix}' (use .txt, .html or .jsonl)")
            for doc_id, text, extra in iter_articles(p):
                writer.write(extractor.extract(text, doc_id, extra))
        except InputError as exc:
            _err(str(exc))
            failed += 1
            continue
        if not quiet and writer.count == n_before:
            _err(f"{p}: no quotations found")
    return failed


def cmd_extract(args) -> int:
    try:
        writer = AtomicWriter(args.output)
    except InputError as exc:
        _err(str(exc))
        return 2
    failed = extract_files(args.inputs, writer, args.quiet)
    if failed and writer.count == 0:
        # the inputs failed and produced nothing: an earlier output stays as it was
        writer.abort()
        return 1
    writer.commit()
    if not args.quiet and args.output:
        _err(f"wrote {writer.count} quotes to {args.output}")
    return 1 if failed else 0


def cmd_score(args) -> int:
    if getattr(args, "engine", "local") == "dask":
        try:
            from kstance.distributed import score_command as dask_score_command
        except ImportError as exc:
            _err(f"--engine dask needs dask and distributed: pip install -e '.[dask]' ({exc})")
            return 2
        return dask_score_command(args)
    if getattr(args, "scheduler", None) or getattr(args, "partitions", None) is not None:
        _err("--scheduler and --partitions need --engine dask")
        return 2
    from kstance.scoring import score_command

    return score_command(args)


def cmd_summarize(args) -> int:
    from kstance.summarize import summarize_command

    return summarize_command(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all subcommands."""
    parser = argparse.ArgumentParser(
        prog="kstance",
        description="Find officials' quotes in news text and label their stance and target.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    ex = sub.add_parser("extract", help="find quotes in articles (.txt, .html, JSONL of articles)")
    ex.add_argument("inputs", nargs="+", metavar="ARTICLE", help="article files")
    ex.add_argument("-o", "--output", help="output file (.jsonl, .csv, .parquet); default: JSONL on stdout")
    ex.add_argument("--quiet", action="store_true", help="no messages on standard error")
    ex.set_defaults(func=cmd_extract)

    sc = sub.add_parser("score", help="label statements (tables) or the quotes in articles")
    sc.add_argument("inputs", nargs="+", metavar="INPUT",
                    help=f"statement tables ({', '.join(sorted(TABLE_SUFFIXES))}) or articles (.txt, .html)")
    sc.add_argument("-o", "--output", help="output file (.jsonl, .csv, .parquet); default: JSONL on stdout")
    sc.add_argument("--model", help="model directory (default: the shipped default model)")
    sc.add_argument("--batch-size", type=int, default=32, help="statements per forward pass (default 32)")
    sc.add_argument("--articles", action="store_true",
                    help="treat .jsonl inputs as articles (id, text, title, date, url) to extract from")
    sc.add_argument("--all-quotes", action="store_true",
                    help="also score non-official and fragment quotes found in articles")
    sc.add_argument("--resume", action="store_true",
                    help="continue an interrupted run from OUT's .partial file (or OUT): keep its rows, score the rest")
    sc.add_argument("--chunk-size", type=int, default=2048,
                    help="rows read, sorted by length, scored and written together (default 2048)")
    sc.add_argument("--backend", choices=["torch", "onnx"], default="torch",
                    help="torch (fp32) or onnx (int8, built and cached beside the model on first use)")
    sc.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    sc.add_argument("--engine", choices=["local", "dask"], default="local",
                    help="local (this process) or dask (a Dask cluster; -o names a folder for a Parquet dataset)")
    sc.add_argument("--scheduler", metavar="ADDRESS",
                    help="with --engine dask: a dask-scheduler address (default: a local cluster, one worker per core)")
    sc.add_argument("--partitions", type=int, metavar="N",
                    help="with --engine dask: about N partitions (default: --chunk-size rows each)")
    sc.set_defaults(func=cmd_score)

    sm = sub.add_parser("summarize", help="stance counts and shares per source->target dyad and month")
    sm.add_argument("inputs", nargs="+", metavar="SCORED", help="scored files (.jsonl, .csv, .parquet)")
    sm.add_argument("-o", "--output", default="summary", help="output folder (default: summary/)")
    sm.set_defaults(func=cmd_summarize)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Example:
        >>> main(["extract", "--quiet", "/nonexistent.txt"])
        1
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    for opt in ("batch_size", "chunk_size"):
        if getattr(args, opt, 1) < 1:
            _err(f"--{opt.replace('_', '-')} must be at least 1")
            return 2
    try:
        return args.func(args)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        _err("interrupted; earlier output files are untouched")
        return 130


if __name__ == "__main__":
    sys.exit(main())
