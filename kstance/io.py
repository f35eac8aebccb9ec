"""Reading and writing JSONL / CSV / Parquet statement tables and plain-text / HTML / JSONL articles.

Readers stream (chunks of rows, never the whole file) and name the file and line of any bad input.
Writers are atomic: rows go to a temporary file beside the target, renamed over it only when the
run finishes, so a failed run leaves an earlier result intact.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

TABLE_SUFFIXES = {".jsonl", ".csv", ".parquet"}
ARTICLE_SUFFIXES = {".txt", ".html", ".htm"}


class InputError(ValueError):
    """Bad input: the message names the file, and the line or field where it can."""


def read_text_file(path: str | Path) -> str:
    """Read a UTF-8 text file, with a one-line error for binary or undecodable content.

    Args:
        path: the file.

    Returns:
        Its text (a leading byte-order mark removed; CRLF line ends folded to LF).

    Example:
        >>> read_text_file("examples/articles/01_joint_drills.txt")[:5]  # doctest: +SKIP
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    if b"\x00" in raw[:8192]:
        raise InputError(f"{path}: looks like a binary file (NUL bytes), not text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def html_to_text(html: str, path: str | Path = "<html>") -> tuple[str, dict]:
    """Take the main article text out of an HTML page with trafilatura.

    Args:
        html: the page.
        path: its name, for messages.

    Returns:
        (text, metadata): the title as the first paragraph, then the body paragraphs one per
        line; metadata holds `title`, `date` and `url` where the page gives them.

    Raises:
        InputError: when the page holds no article text.
    """
    import trafilatura  # maintained main-text extraction; only needed for HTML input

    body = trafilatura.extract(html, include_comments=False, include_tables=False, favor_precision=True)
    # A page of navigation links yields a few words ("Home"); that is not an article.
    if not body or len(body.split()) < 15:
        raise InputError(f"{path}: no article text found in the HTML page")
    meta = trafilatura.extract_metadata(html)
    info = {}
    if meta is not None:
        for key in ("title", "date", "url"):
            value = getattr(meta, key, None)
            if value:
                info[key] = value
    paras = [p.strip() for p in body.split("\n") if p.strip()]
    if info.get("title") and (not paras or paras[0] != info["title"]):
        paras.insert(0, info["title"])
    return "\n\n".join(paras), info


def iter_articles(path: str | Path) -> Iterator[tuple[str, str, dict]]:
    """Yield (doc_id, text, extra fields) for each article in a .txt, .html or JSONL file.

    A .txt or .html file is one document (a page may hold several stories: the extractor splits
    it). A JSONL file holds one article per line with `id` and `text` and optional `title`,
    `date`, `url`.

    Args:
        path: the file.

    Example:
        >>> next(iter_articles("examples/articles/01_joint_drills.txt"))[0]  # doctest: +SKIP
        '01_joint_drills.txt'
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".txt":
        yield path.name, read_text_file(path), {}
    elif suffix in {".html", ".htm"}:
        text, info = html_to_text(read_text_file(path), path)
        yield path.name, text, info
    elif suffix == ".jsonl":
        for n, row in iter_jsonl(path):
            if "text" not in row:
                raise InputError(f"{path}:{n}: article has no 'text' field (fields: {sorted(row)})")
            if not isinstance(row["text"], str):
                raise InputError(f"{path}:{n}: field 'text' must be a string")
            doc_id = str(row.get("id", f"{path.name}:{n}"))
            extra = {k: row[k] for k in ("title", "date", "url") if row.get(k) is not None}
            yield doc_id, row["text"], extra
    else:
        raise InputError(f"{path}: unsupported article file type '{suffix}' (use .txt, .html or .jsonl)")


def iter_jsonl(path: str | Path, bad_lines: str = "raise") -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for each non-blank line of a JSONL file.

    Args:
        path: the file.
        bad_lines: "raise" stops at a malformed line; "report" yields it as
            ``{"error": "FILE:LINE: ..."}`` so that the rest of the file is still read.

    Raises:
        InputError: naming the file and line of a malformed line or undecodable bytes.
    """
    path = Path(path)
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    with fh:
        for n, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{n}: malformed JSON ({exc.msg} at column {exc.colno})") from None
                if not isinstance(obj, dict):
                    raise InputError(f"{path}:{n}: expected a JSON object, got {type(obj).__name__}")
            except UnicodeDecodeError as exc:
                msg = f"{path}:{n}: not UTF-8 (byte 0x{raw[exc.start]:02x})"
                if bad_lines == "raise":
                    raise InputError(msg) from None
                yield n, {"error": msg}
                continue
            except InputError as exc:
                if bad_lines == "raise":
                    raise
                yield n, {"error": str(exc)}
                continue
            yield n, obj


def open_parquet(path: str | Path, required: str | None = "text", shown: str | Path | None = None):
    """Open a Parquet file, with one-line errors for a missing, corrupt or column-less file.

    Args:
        path: the file.
        required: a column it must have (None: any).
        shown: the name to use in messages (default: ``path``).

    Returns:
        A ``pyarrow.parquet.ParquetFile``.
    """
    import pyarrow.parquet as pq

    shown = shown if shown is not None else path
    try:
        pf = pq.ParquetFile(path)
    except FileNotFoundError:
        raise InputError(f"{shown}: file not found") from None
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise InputError(f"{shown}: not a readable Parquet file ({exc})") from None
    names = pf.schema_arrow.names
    if required and required not in names:
        raise InputError(f"{shown}: no '{required}' column (columns found: {', '.join(names)})")
    return pf


def iter_table(path: str | Path, chunk_rows: int = 2048, bad_lines: str = "raise",
               required: str | None = "text") -> Iterator[list[tuple[int, dict]]]:
    """Stream a statement table in chunks of (row number, record).

    Row numbers are file lines for JSONL and CSV (the header is line 1) and 1-based rows for
    Parquet, so messages can point at them.

    Args:
        path: a .jsonl, .csv or .parquet file with a `text` column.
        chunk_rows: rows per chunk.
        bad_lines: for JSONL, "raise" or "report" (see :func:`iter_jsonl`).
        required: the column every table must have (None: any columns).

    Raises:
        InputError: when the file is unreadable or has no `text` column (naming those it has).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        chunk = []
        first = True
        for n, row in iter_jsonl(path, bad_lines):
            if first and required and required not in row and "error" not in row:
                # the first row sets the schema; a later row without text is that row's error
                raise InputError(f"{path}:{n}: no '{required}' field (fields found: {', '.join(sorted(row))})")
            first = False
            chunk.append((n, row))
            if len(chunk) >= chunk_rows:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
    elif suffix == ".csv":
        try:
            fh = open(path, encoding="utf-8", newline="")
        except FileNotFoundError:
            raise InputError(f"{path}: file not found") from None
        with fh:
            try:
                reader = csv.DictReader(fh)
                if reader.fieldnames is None:
                    return
                if required and required not in reader.fieldnames:
                    raise InputError(
                        f"{path}: no '{required}' column (columns found: {', '.join(reader.fieldnames)})"
                    )
                chunk = []
                for row in reader:
                    n = reader.line_num
                    chunk.append((n, {k: (v if v != "" else None) for k, v in row.items() if k is not None}))
                    if len(chunk) >= chunk_rows:
                        yield chunk
                        chunk = []
                if chunk:
                    yield chunk
            except UnicodeDecodeError as exc:
                raise InputError(f"{path}: not UTF-8 (byte 0x{exc.object[exc.start]:02x})") from None
    elif suffix == ".parquet":
        pf = open_parquet(path, required)
        n = 0
        for batch in pf.iter_batches(batch_size=chunk_rows):
            rows = batch.to_pylist()
            yield [(n + i + 1, r) for i, r in enumerate(rows)]
            n += len(rows)
    else:
        raise InputError(f"{path}: unsupported table type '{suffix}' (use .jsonl, .csv or .parquet)")


class AtomicWriter:
    """Write records to JSONL, CSV or Parquet (by the suffix), atomically.

    Rows go to a temporary file in the target's folder; :meth:`commit` renames it over the
    target, :meth:`abort` removes it (or keeps it as ``NAME.partial.SUFFIX``). Used as a context manager it commits on success and aborts
    on an exception, so a failed run never leaves a half-written or clobbered output.

    Args:
        path: the output file, or None for JSONL on standard output.
        fmt: force a format ("jsonl", "csv", "parquet"); by default the suffix decides.
        keep_partial: on abort, keep the rows written so far as ``NAME.partial.SUFFIX`` (for --resume).

    Example:
        >>> import tempfile, os
        >>> out = os.path.join(tempfile.mkdtemp(), "o.jsonl")
        >>> with AtomicWriter(out) as w:
        ...     w.write([{"id": "1", "text": "x"}])
        >>> open(out).read()
        '{"id": "1", "text": "x"}\\n'
    """

    def __init__(self, path: str | Path | None, fmt: str | None = None, keep_partial: bool = False):
        self.path = Path(path) if path else None
        self.fmt = fmt or (self.path.suffix.lower().lstrip(".") if self.path else "jsonl")
        if self.fmt not in {"jsonl", "csv", "parquet"}:
            raise InputError(f"{path}: unsupported output type '.{self.fmt}' (use .jsonl, .csv or .parquet)")
        self._columns: list[str] | None = None
        self._pq_writer = None
        self._pq_schema = None
        self._count = 0
        if self.path is None:
            self._fh = sys.stdout
            self._tmp = None
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.keep_partial = keep_partial
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        self._fh = None
        if self.fmt in {"jsonl", "csv"}:
            self._fh = open(self._tmp, "w", encoding="utf-8", newline="")

    @property
    def partial_path(self) -> Path | None:
        """Where an interrupted run leaves its rows when ``keep_partial`` is set: ``NAME.partial.SUFFIX``."""
        return self.path.with_name(f"{self.path.stem}.partial{self.path.suffix}") if self.path else None

    @property
    def count(self) -> int:
        """Rows written so far."""
        return self._count

    def write(self, records: Iterable[dict]) -> None:
        """Append records; for CSV and Parquet the first chunk fixes the columns."""
        records = list(records)
        if not records:
            return
        if self.fmt == "jsonl":
            buf = io.StringIO()
            for r in records:
                buf.write(json.dumps(r, ensure_ascii=False))
                buf.write("\n")
            self._fh.write(buf.getvalue())
        elif self.fmt == "csv":
            if self._columns is None:
                self._columns = list(dict.fromkeys(k for r in records for k in r))
                self._csv = csv.DictWriter(self._fh, fieldnames=self._columns, extrasaction="ignore")
                self._csv.writeheader()
            for r in records:
                self._csv.writerow({k: _csv_cell(r.get(k)) for k in self._columns})
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._columns is None:
                self._columns = list(dict.fromkeys(k for r in records for k in r))
            rows = [{k: _pq_cell(r.get(k)) for k in self._columns} for r in records]
            table = pa.Table.from_pylist(rows, schema=self._pq_schema)
            if self._pq_writer is None:
                self._pq_schema = table.schema
                self._pq_writer = pq.ParquetWriter(self._tmp, table.schema)
            self._pq_writer.write_table(table)
        self._count += len(records)

    def commit(self) -> None:
        """Finish the file and move it into place."""
        if self.path is None:
            self._fh.flush()
            return
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
        if self.fmt == "parquet":
            if self._pq_writer is None:
                import pyarrow as pa
                import pyarrow.parquet as pq

                pq.write_table(pa.table({"text": pa.array([], pa.string())}), self._tmp)
            else:
                self._pq_writer.close()
        # mkstemp makes the file private (0600); give the result the permissions a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self._tmp, 0o666 & ~umask)
        os.replace(self._tmp, self.path)
        if self.keep_partial and self.partial_path.exists():
            self.partial_path.unlink()  # the run finished: its partial output is superseded

    def abort(self) -> None:
        """Stop without touching the target.

        The rows written so far are dropped, or, with ``keep_partial``, kept as ``NAME.partial.SUFFIX``
        (a complete file of whole chunks) for a later ``--resume``.
        """
        if self.path is None:
            return
        try:
            if self._fh is not None and not self._fh.closed:
                self._fh.close()
            if self._pq_writer is not None:
                self._pq_writer.close()  # closing leaves a readable Parquet file of the row groups so far
        finally:
            if self._tmp is not None and self._tmp.exists():
                if self.keep_partial and self._count:
                    os.replace(self._tmp, self.partial_path)
                else:
                    self._tmp.unlink()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()
        return False


def _csv_cell(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    return value


def _pq_cell(value):
    # Probability maps become JSON strings so that every chunk has the same Parquet schema.
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value
