"""`kstance score`: label statement tables or the quotes found in articles, streaming, atomically.

Statement tables (.jsonl/.csv/.parquet with a `text` column) are read in chunks and written in
chunks; articles (.txt/.html, or .jsonl with --articles) are extracted first. Official,
non-fragment quotes are scored; the others are written with `scored: false` unless --all-quotes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Iterator

from kstance.io import ARTICLE_SUFFIXES, AtomicWriter, InputError, iter_articles, iter_table, iter_jsonl


def _err(msg: str) -> None:
    print(f"kstance: {msg}", file=sys.stderr)


class _Progress:
    """Rows per second and, where the total is known, time left, on standard error."""

    def __init__(self, total: int | None, quiet: bool):
        self.quiet = quiet
        self.bar = None
        if not quiet:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit="row", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _count_rows(path: Path) -> int | None:
    """Row count for the progress bar, where it is cheap to know."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        if suffix in {".jsonl", ".csv"} and path.stat().st_size < 2_000_000_000:
            with open(path, "rb") as fh:
                n = sum(1 for line in fh if line.strip())
            return n - 1 if suffix == ".csv" else n
    except OSError:
        return None
    return None


def _done_ids(path: Path) -> set[str]:
    """Ids already written by an interrupted run (for --resume)."""
    done: set[str] = set()
    if not path.exists():
        return done
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        for _, row in iter_jsonl(path):
            if "id" in row:
                done.add(str(row["id"]))
    else:
        for chunk in iter_table(path):
            done.update(str(r["id"]) for _, r in chunk if r.get("id") is not None)
    return done


def _article_records(path: Path, articles_jsonl: bool, all_quotes: bool) -> Iterator[dict]:
    from kstance.extract import QuoteExtractor

    extractor = QuoteExtractor()
    for doc_id, text, extra in iter_articles(path):
        for rec in extractor.extract(text, doc_id, extra):
            if not all_quotes and (not rec["official"] or rec["fragment"]):
                rec["scored"] = False
            yield rec


def score_command(args) -> int:
    """Run `kstance score` (see :mod:`kstance.cli` for the options); returns the exit status."""
    from kstance.model import ModelDirError
    from kstance.predict import StanceClassifier

    try:
        clf = StanceClassifier.load(args.model, backend=args.backend)
    except (ModelDirError, ImportError) as exc:
        _err(str(exc))
        return 2
    out = Path(args.output) if args.output else None
    done: set[str] = set()
    if args.resume:
        if out is None:
            _err("--resume needs -o OUT (the output of the interrupted run)")
            return 2
        try:
            done = _done_ids(out)
        except InputError as exc:
            _err(f"--resume: cannot read the earlier output: {exc}")
            return 2
    try:
        writer = AtomicWriter(out, append_from=out if (args.resume and out is not None and out.exists()) else None)
    except InputError as exc:
        _err(str(exc))
        return 2
    failed_files = 0
    failed_rows = 0
    t0 = time.time()
    with writer:
        for name in args.inputs:
            path = Path(name)
            suffix = path.suffix.lower()
            is_articles = suffix in ARTICLE_SUFFIXES or (suffix == ".jsonl" and args.articles)
            progress = _Progress(None if is_articles else _count_rows(path), args.quiet)
            try:
                if is_articles:
                    source = _chunks(_article_records(path, suffix == ".jsonl", args.all_quotes))
                else:
                    source = ([r for _, r in chunk] for chunk in iter_table(path))
                for chunk in source:
                    if done:
                        chunk = [r for r in chunk if str(r.get("id")) not in done]
                    to_score = [r for r in chunk if r.get("scored") is not False]
                    scored = iter(clf.score_batch(to_score, args.batch_size)) if to_score else iter(())
                    out_rows = [next(scored) if r.get("scored") is not False else r for r in chunk]
                    failed_rows += sum(1 for r in out_rows if "error" in r)
                    writer.write(out_rows)
                    progress.update(len(chunk))
            except InputError as exc:
                progress.close()
                _err(str(exc))
                failed_files += 1
                continue
            progress.close()
    if clf.truncated:
        _err(f"warning: {clf.truncated} statement(s) longer than {clf.settings.max_length} tokens were truncated")
    if failed_rows:
        _err(f"{failed_rows} row(s) could not be scored (empty text): see their 'error' field")
    if not args.quiet:
        _err(f"scored {writer.count} rows in {time.time() - t0:.1f} s" + (f" -> {out}" if out else ""))
    return 1 if (failed_files or failed_rows) else 0


def _chunks(records: Iterator[dict], size: int = 1024) -> Iterator[list[dict]]:
    chunk = []
    for r in records:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
