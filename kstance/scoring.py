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

from kstance.io import ARTICLE_SUFFIXES, AtomicWriter, InputError, iter_articles, iter_table


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


def _earlier_rows(out: Path) -> tuple[Path | None, Iterator[dict]]:
    """The rows of an interrupted run, in order: ``NAME.partial.SUFFIX`` if present, else ``OUT``."""
    for candidate in (out.with_name(f"{out.stem}.partial{out.suffix}"), out):
        if candidate.exists():
            return candidate, (r for chunk in iter_table(candidate, bad_lines="raise") for _, r in chunk)
    return None, iter(())


def _article_records(path: Path, articles_jsonl: bool, all_quotes: bool) -> Iterator[dict]:
    from kstance.extract import QuoteExtractor

    extractor = QuoteExtractor()
    for doc_id, text, extra in iter_articles(path):
        for rec in extractor.extract(text, doc_id, extra):
            if not all_quotes and (not rec["official"] or rec["fragment"]):
                rec["scored"] = False
            yield rec


def score_command(args) -> int:
    """Run `kstance score` (see :mod:`kstance.cli` for the options); returns the exit status.

    Rows are read, scored and written in chunks aligned to input positions. An interrupted run
    (Ctrl-C, SIGTERM, an error) keeps the whole chunks it finished as ``NAME.partial.SUFFIX``;
    ``--resume`` copies those rows back (checking their ids against the input) and scores the
    rest with the same chunking, so the result is identical to an uninterrupted run.
    """
    import signal

    from kstance.model import ModelDirError
    from kstance.predict import StanceClassifier

    try:
        clf = StanceClassifier.load(args.model, backend=args.backend)
    except (ModelDirError, ImportError) as exc:
        _err(str(exc))
        return 2
    out = Path(args.output) if args.output else None
    earlier: Iterator[dict] = iter(())
    if args.resume:
        if out is None:
            _err("--resume needs -o OUT (the output of the interrupted run)")
            return 2
        try:
            found, earlier = _earlier_rows(out)
        except InputError as exc:
            _err(f"--resume: cannot read the earlier output: {exc}")
            return 2
        if found is None:
            _err(f"--resume: no earlier output at {out} or its .partial file; scoring from the start")
    try:
        writer = AtomicWriter(out, keep_partial=out is not None)
    except InputError as exc:
        _err(str(exc))
        return 2

    def on_term(signum, frame):  # let SIGTERM unwind like Ctrl-C, so the partial output is kept
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    failed_files = failed_rows = reused = 0
    t0 = time.time()
    resuming = args.resume
    try:
        with writer:
            for name in args.inputs:
                path = Path(name)
                suffix = path.suffix.lower()
                is_articles = suffix in ARTICLE_SUFFIXES or (suffix == ".jsonl" and args.articles)
                progress = _Progress(None if is_articles else _count_rows(path), args.quiet)
                try:
                    if is_articles:
                        source = _chunks(_article_records(path, suffix == ".jsonl", args.all_quotes), args.chunk_size)
                    else:
                        source = ([r for _, r in chunk]
                                  for chunk in iter_table(path, chunk_rows=args.chunk_size, bad_lines="report"))
                    for chunk in source:
                        if resuming:
                            kept = _take(earlier, len(chunk))
                            if len(kept) == len(chunk):
                                for a, b in zip(kept, chunk):
                                    if a.get("id") is not None and b.get("id") is not None and str(a["id"]) != str(b["id"]):
                                        raise InputError(f"--resume: the earlier output has id {a['id']} where the "
                                                         f"input has {b['id']} ({path}): not the same input")
                                writer.write(kept)
                                reused += len(kept)
                                progress.update(len(chunk))
                                continue
                            resuming = False  # a torn last chunk is scored again in full
                        for r in chunk:
                            if "error" in r and "text" not in r:
                                _err(r["error"])  # a malformed line: reported, kept as an error row
                        skip = [r.get("scored") is False or ("error" in r and "text" not in r) for r in chunk]
                        to_score = [r for r, s in zip(chunk, skip) if not s]
                        scored = iter(clf.score_batch(to_score, args.batch_size)) if to_score else iter(())
                        out_rows = [r if s else next(scored) for r, s in zip(chunk, skip)]
                        failed_rows += sum(1 for r in out_rows if "error" in r)
                        writer.write(out_rows)
                        progress.update(len(chunk))
                except InputError as exc:
                    progress.close()
                    _err(str(exc))
                    failed_files += 1
                    continue
                progress.close()
            if failed_files and writer.count == 0:
                raise _NothingWritten  # every input failed: leave an earlier output as it was
    except _NothingWritten:
        return 1
    except KeyboardInterrupt:
        if out is not None and writer.count:
            _err(f"interrupted: {writer.count} rows kept in {writer.partial_path}; rerun with --resume to finish")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    if clf.truncated:
        _err(f"warning: {clf.truncated} statement(s) longer than {clf.settings.max_length} tokens were truncated")
    if failed_rows:
        _err(f"{failed_rows} row(s) could not be scored: see their 'error' field")
    if not args.quiet:
        _err(f"scored {writer.count - reused} rows"
             + (f" ({reused} kept from the interrupted run)" if reused else "")
             + f" in {time.time() - t0:.1f} s" + (f" -> {out}" if out else ""))
    return 1 if (failed_files or failed_rows) else 0


class _NothingWritten(Exception):
    """Raised inside the writer's block so that it aborts instead of committing an empty file."""


def _take(it: Iterator[dict], n: int) -> list[dict]:
    out = []
    for r in it:
        out.append(r)
        if len(out) == n:
            break
    return out


def _chunks(records: Iterator[dict], size: int = 2048) -> Iterator[list[dict]]:
    chunk = []
    for r in records:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
