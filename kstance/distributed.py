"""Scoring beyond one machine: the same scoring as `kstance score`, spread over a Dask cluster.

```python
from dask.distributed import Client
from kstance.distributed import score_to_parquet

client = Client("tcp://scheduler:8786")       # or Client(LocalCluster(...)), or a SLURMCluster
summary = score_to_parquet(client, ["statements/"], "scored/", model_dir="models/default")
```

Inputs (statement tables: Parquet, JSONL, CSV; or articles: .txt / .html files, JSONL of articles
with ``articles=True``) become a Dask DataFrame with one partition per block of rows. Each worker
process loads the model once and keeps it for every partition it scores; each partition goes
through :meth:`kstance.predict.StanceClassifier.score_batch`, the code path of single-machine
``kstance score``. The result is written as a Parquet dataset (one ``part.NNNNNN.parquet`` file per
partition, in input order) into a temporary folder beside the output folder, which is renamed into
place only when every partition is written and checked: a failed run leaves no partial dataset.

Inputs, the model directory and the output folder must be on a file system that every worker sees
(a shared disk on a cluster; any local path on a :class:`~dask.distributed.LocalCluster`).

Row order: every row carries ``_kstance_pos``, its input position (the index of the Dask
DataFrame and of the written dataset): ``file number * 2**39 + row number within the file``
(both from 0; files in input order; for articles the row is the quote's number in its file, and
in a JSONL of articles ``article number * 4096 + quote number``). It does not depend on the
partitioning; sorting by it gives the input order, and ``pandas.read_parquet(OUT_DIR)`` gives the
rows in that order.

Needs the `dask` extra (``pip install 'kstance[dask]'``); dask and pandas are imported when a
function needs them, and single-machine scoring (``kstance.cli``, ``kstance.scoring``,
``kstance.predict``) never imports this module.
"""

from __future__ import annotations

import csv
import glob
import json
import math
import os
import shutil
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from kstance.io import ARTICLE_SUFFIXES, TABLE_SUFFIXES, InputError, open_parquet

POS = "_kstance_pos"
"""The name of the input-position index (and column of the written dataset)."""

OUTPUT_COLUMNS = ("stance", "stance_probs", "target", "target_probs", "error")
"""Columns that scoring adds (or, for `error`, fills): probabilities are JSON strings, as in
single-machine Parquet output."""

MARKER_FILE = "_kstance.json"
_FILE_SHIFT = 39   # position = file number << 39 | row within the file
_QUOTE_BITS = 12   # in a JSONL of articles: row = article number << 12 | quote number
_ARTICLE_COLUMNS = [("id", pa.string()), ("article", pa.string()), ("start", pa.int64()),
                    ("end", pa.int64()), ("text", pa.string()), ("speaker", pa.string()),
                    ("source", pa.string()), ("official", pa.bool_()), ("fragment", pa.bool_()),
                    ("context", pa.string())]
_STRING = pa.string()


class DistributedScoringError(RuntimeError):
    """A distributed run failed (a worker kept dying, a task raised, the cluster went away).

    The message says why; no output dataset was written and an earlier one is untouched.
    """


@dataclass
class ScoreSummary:
    """What :func:`score_to_parquet` did.

    Attributes:
        out_dir: the Parquet dataset written.
        rows: rows written (every input row, scored or not).
        error_rows: rows with an `error` field (empty text, malformed input line, bad article file).
        partitions: partitions scored (one file each).
        seconds: wall time of the run (reading, scoring, writing).
        bad_files: one message per input file that could not be read (skipped with
            ``bad_files="skip"``).
        input_errors: messages of malformed input lines and unreadable article files (up to 20
            per partition), as `kstance score` prints them.
    """

    out_dir: Path
    rows: int
    error_rows: int
    partitions: int
    seconds: float
    bad_files: list[str] = field(default_factory=list)
    input_errors: list[str] = field(default_factory=list)


# -- planning: input files -> partitions -----------------------------------------------------------
@dataclass(frozen=True)
class _Part:
    """One input partition: a block of rows of one table file, or a run of article files."""

    kind: str                    # "parquet", "jsonl", "csv", "articles" (.txt/.html), "jsonl-articles"
    paths: tuple[str, ...]       # absolute paths (a run of files for "articles")
    names: tuple[str, ...]       # the paths as the user gave them, for messages and article ids
    start: int = 0               # parquet: first row; jsonl/csv: byte offset of the first row
    rows: int | None = None      # rows (tables), files (articles) or articles (jsonl-articles) in the block
    first_line: int = 1          # jsonl: the line number at `start`
    header: tuple[str, ...] = ()  # csv: the column names
    file_no: int = 0             # the number of (the first of) its file(s) in the input list
    row0: int = 0                # the number of its first row (article, for jsonl-articles) in the file

    @property
    def first_pos(self) -> int:
        """The smallest input position the block can hold."""
        shift = _QUOTE_BITS if self.kind == "jsonl-articles" else 0
        return (self.file_no << _FILE_SHIFT) | (self.row0 << shift)

    @property
    def last_pos(self) -> int:
        """The largest input position the block can hold."""
        if self.kind == "articles":
            return ((self.file_no + len(self.paths)) << _FILE_SHIFT) - 1
        if self.kind == "jsonl-articles":
            return (self.file_no << _FILE_SHIFT) | ((self.row0 + self.rows) << _QUOTE_BITS) - 1
        return (self.file_no << _FILE_SHIFT) | (self.row0 + max(self.rows, 1) - 1)


def _has_magic(s: str) -> bool:
    return glob.has_magic(s)


def expand_inputs(inputs: str | os.PathLike | Iterable[str | os.PathLike]) -> tuple[list[str], list[str]]:
    """Expand folders and glob patterns into an ordered list of files.

    A folder gives its table and article files (recursively, sorted by path; names starting with
    ``.`` or ``_`` skipped, as Parquet readers do); a pattern gives its matches, sorted; a plain
    path is kept as it is (a missing file is reported when it is read).

    Args:
        inputs: one path, folder or pattern, or several.

    Returns:
        (files, errors): the files in order, and a message for each folder or pattern with no files.

    Example:
        >>> expand_inputs("examples/articles/0[12]_*.txt")[0]  # doctest: +SKIP
        ['examples/articles/01_seoul_door_open.txt', 'examples/articles/02_kcna_drills_warning.txt']
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    known = TABLE_SUFFIXES | ARTICLE_SUFFIXES
    files: list[str] = []
    errors: list[str] = []
    for item in inputs:
        s = os.fspath(item)
        p = Path(s)
        if p.is_dir():
            found = sorted(
                str(f) for f in p.rglob("*")
                if f.is_file() and f.suffix.lower() in known
                and not any(part.startswith((".", "_")) for part in f.relative_to(p).parts)
            )
            if not found:
                errors.append(f"{s}: no {', '.join(sorted(known))} files in the folder")
            files.extend(found)
        elif not p.exists() and _has_magic(s):
            found = sorted(f for f in glob.glob(s, recursive=True) if Path(f).is_file())
            if not found:
                errors.append(f"{s}: no files match")
            files.extend(found)
        else:
            files.append(s)
    return files, errors


def _kind_of(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return "json"


def _type_of(kinds: set) -> pa.DataType:
    kinds = kinds - {None}
    if kinds == {"bool"}:
        return pa.bool_()
    if kinds == {"int"}:
        return pa.int64()
    if kinds and kinds <= {"int", "float"}:
        return pa.float64()
    return _STRING  # text, JSON values (as JSON text, like single-machine Parquet output), or a mix


def _merge_types(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    if a == b or pa.types.is_null(b):
        return a
    if pa.types.is_null(a):
        return b
    if (pa.types.is_integer(a) or pa.types.is_floating(a)) and (pa.types.is_integer(b) or pa.types.is_floating(b)):
        return pa.float64()
    return _STRING


def _merge_schema(fields: dict[str, pa.DataType], more: Iterable[tuple[str, pa.DataType]]) -> None:
    for name, typ in more:
        fields[name] = _merge_types(fields[name], typ) if name in fields else typ


def _as_str(value):
    if value is None or isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def _jsonl_row(path: str, n: int, raw: bytes) -> dict | None:
    """One JSONL line as :func:`kstance.io.iter_jsonl` reads it with ``bad_lines="report"``
    (None for a blank line)."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {"error": f"{path}:{n}: not UTF-8 (byte 0x{raw[exc.start]:02x})"}
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"error": f"{path}:{n}: malformed JSON ({exc.msg} at column {exc.colno})"}
    if not isinstance(obj, dict):
        return {"error": f"{path}:{n}: expected a JSON object, got {type(obj).__name__}"}
    return obj


def _open_binary(path: str, name: str):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{Path(name)}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{Path(name)}: is a directory, not a file") from None


def _scan_jsonl(path: str, name: str, per_part: int | None, table: bool, kinds: dict | None):
    """Count a JSONL file's rows (non-blank lines), note where each block of ``per_part`` rows
    starts (byte offset, line number), and, for ``kinds``, the value kinds of each field."""
    starts: list[tuple[int, int]] = []
    n_rows = 0
    first = True
    pos = 0
    shown = Path(name)
    with _open_binary(path, name) as fh:
        for line_no, raw in enumerate(fh, 1):
            at = pos
            pos += len(raw)
            if kinds is None and per_part is not None:
                # offsets only: a blank (decodable) line is no row
                try:
                    if not raw.decode("utf-8").strip():
                        continue
                except UnicodeDecodeError:
                    pass
                row = None
            else:
                row = _jsonl_row(str(shown), line_no, raw)
                if row is None:
                    continue
                if table and first and "text" not in row and "error" not in row:
                    raise InputError(f"{shown}:{line_no}: no 'text' field (fields found: {', '.join(sorted(row))})")
                first = False
                if kinds is not None:
                    for k, v in row.items():
                        kinds.setdefault(k, set()).add(_kind_of(v))
                    if table and "text" not in row and "error" not in row:
                        kinds.setdefault("error", set()).add("str")
            if per_part is not None and n_rows % per_part == 0:
                starts.append((at, line_no))
            n_rows += 1
    return n_rows, starts


class _LineFeed:
    """Decoded lines of a binary file for :mod:`csv`, keeping the byte offset of the next line.

    The csv reader pulls one line at a time and stops at the end of a record, so after each
    record ``pos`` is where the next one starts.
    """

    def __init__(self, fh, name: str):
        self.fh = fh
        self.pos = fh.tell()
        self.name = name

    def __iter__(self):
        return self

    def __next__(self) -> str:
        raw = self.fh.readline()
        if not raw:
            raise StopIteration
        self.pos += len(raw)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{Path(self.name)}: not UTF-8 (byte 0x{raw[exc.start]:02x})") from None


def _scan_csv(path: str, name: str, per_part: int | None):
    """The header of a CSV file, its number of records, and where each block of records starts."""
    shown = Path(name)
    with _open_binary(path, name) as fh:
        feed = _LineFeed(fh, name)
        reader = csv.reader(feed)
        try:
            header = next(reader, None)
            if header is None:
                return (), 0, []
            if "text" not in header:
                raise InputError(f"{shown}: no 'text' column (columns found: {', '.join(header)})")
            starts: list[int] = []
            n = 0
            while True:
                at = feed.pos
                row = next(reader, None)
                if row is None:
                    break
                if row == []:  # csv.DictReader skips blank records
                    continue
                if per_part is not None and n % per_part == 0:
                    starts.append(at)
                n += 1
        except csv.Error as exc:
            raise InputError(f"{shown}:{reader.line_num}: malformed CSV ({exc})") from None
    return tuple(header), n, starts


def _parquet_info(path: str, name: str) -> tuple[pa.Schema, int]:
    pf = open_parquet(path, "text", shown=Path(name))
    return pf.schema_arrow, pf.metadata.num_rows


def _blocks(n: int, per_part: int) -> list[tuple[int, int]]:
    return [(lo, min(per_part, n - lo)) for lo in range(0, n, per_part)]


def _plan(files: Sequence[str], partitions: int | None, rows_per_partition: int, articles_per_partition: int,
          articles: bool, all_quotes: bool, errors: list[str] | None) -> tuple[list[_Part], pa.Schema]:
    """Partitions and the common schema for a list of input files (see :func:`read_inputs`)."""
    entries = []  # (kind, abs path, name, info, file number)
    fields: dict[str, pa.DataType] = {}
    article_extra = False
    any_articles = False

    def bad(exc: InputError) -> None:
        if errors is None:
            raise exc
        errors.append(str(exc))

    for file_no, name in enumerate(files):
        path = os.path.abspath(name)
        suffix = Path(name).suffix.lower()
        try:
            if suffix in ARTICLE_SUFFIXES:
                if not os.path.isfile(path):
                    raise InputError(f"{Path(name)}: file not found")
                entries.append(("articles", path, name, None, file_no))
                any_articles = True
                article_extra |= suffix != ".txt"
            elif suffix == ".jsonl" and articles:
                n, _ = _scan_jsonl(path, name, None, table=False, kinds=None)
                entries.append(("jsonl-articles", path, name, n, file_no))
                any_articles = article_extra = True
            elif suffix == ".jsonl":
                kinds: dict[str, set] = {}
                n, starts = _scan_jsonl(path, name, None if partitions else rows_per_partition, True, kinds)
                entries.append(("jsonl", path, name, (n, starts), file_no))
                _merge_schema(fields, ((k, _type_of(v)) for k, v in kinds.items()))
            elif suffix == ".csv":
                header, n, starts = _scan_csv(path, name, None if partitions else rows_per_partition)
                if header:
                    entries.append(("csv", path, name, (header, n, starts), file_no))
                    _merge_schema(fields, ((h, _STRING) for h in dict.fromkeys(header)))
            elif suffix == ".parquet":
                schema, n = _parquet_info(path, name)
                entries.append(("parquet", path, name, n, file_no))
                _merge_schema(fields, ((f.name, f.type) for f in schema))
            else:
                raise InputError(f"{Path(name)}: unsupported table type '{suffix}' (use .jsonl, .csv or .parquet)")
        except InputError as exc:
            bad(exc)
    if any_articles:
        _merge_schema(fields, _ARTICLE_COLUMNS)
        if article_extra:
            _merge_schema(fields, [("title", _STRING), ("date", _STRING), ("url", _STRING)])
        if not all_quotes:
            _merge_schema(fields, [("scored", pa.bool_())])
    if not fields:
        fields["text"] = _STRING
    fields.pop(POS, None)  # a position column of an earlier run is replaced by this run's
    schema = pa.schema([pa.field(k, v) for k, v in fields.items()])

    table_rows = sum(e[3] if e[0] == "parquet" else e[3][1] if e[0] == "csv" else e[3][0]
                     for e in entries if e[0] in {"parquet", "csv", "jsonl"})
    units = sum(1 if e[0] == "articles" else e[3] for e in entries if e[0] in {"articles", "jsonl-articles"})
    per_rows = max(1, math.ceil(table_rows / partitions)) if partitions else rows_per_partition
    per_units = max(1, math.ceil(units / partitions)) if partitions else articles_per_partition

    parts: list[_Part] = []
    run: list[tuple[str, str, int]] = []  # consecutive article files (numbered consecutively)

    def flush() -> None:
        for lo in range(0, len(run), per_units):
            block = run[lo : lo + per_units]
            parts.append(_Part("articles", tuple(p for p, _, _ in block), tuple(n for _, n, _ in block),
                               rows=len(block), file_no=block[0][2]))
        run.clear()

    for kind, path, name, info, file_no in entries:
        if kind == "articles":
            if run and run[-1][2] != file_no - 1:
                flush()  # a skipped file in between: keep each run's numbers consecutive
            run.append((path, name, file_no))
            continue
        flush()
        if kind == "parquet":
            parts += [_Part("parquet", (path,), (name,), lo, k, file_no=file_no, row0=lo)
                      for lo, k in _blocks(info, per_rows)]
        elif kind == "jsonl":
            n, starts = info
            if partitions:
                n, starts = _scan_jsonl(path, name, per_rows, True, None)
            for i, (at, line_no) in enumerate(starts):
                parts.append(_Part("jsonl", (path,), (name,), at, min(per_rows, n - i * per_rows), line_no,
                                   file_no=file_no, row0=i * per_rows))
        elif kind == "csv":
            header, n, starts = info
            if partitions:
                header, n, starts = _scan_csv(path, name, per_rows)
            for i, at in enumerate(starts):
                parts.append(_Part("csv", (path,), (name,), at, min(per_rows, n - i * per_rows), header=header,
                                   file_no=file_no, row0=i * per_rows))
        elif kind == "jsonl-articles":
            if info:
                _, starts = _scan_jsonl(path, name, per_units, False, None)
                for i, (at, line_no) in enumerate(starts):
                    parts.append(_Part("jsonl-articles", (path,), (name,), at, min(per_units, info - i * per_units),
                                       line_no, file_no=file_no, row0=i * per_units))
    flush()
    return parts, schema


# -- reading one partition (runs on a worker) ------------------------------------------------------
_EXTRACTOR = None


def _extractor():
    global _EXTRACTOR
    if _EXTRACTOR is None:
        from kstance.extract import QuoteExtractor

        _EXTRACTOR = QuoteExtractor()
    return _EXTRACTOR


def _quote_rows(recs: list[dict], all_quotes: bool) -> list[dict]:
    if not all_quotes:
        for rec in recs:
            if not rec["official"] or rec["fragment"]:
                rec["scored"] = False
    return recs


def _resolve_textless(row: dict) -> dict:
    """Settle a row without text the way `kstance score` does, before it is made columnar:
    a JSONL row with no `text` field gets "no 'text' field"; a row with an empty `text` and an
    earlier `error` gets "empty text" (`score_batch` would overwrite it); a malformed line keeps
    its message. Rows with no text and an `error` are then passed over by the scorer."""
    if row.get("text") is None and "error" in row and row["error"] is not None:
        if "text" in row:
            row["error"] = "empty text"
    elif "text" not in row:
        row["error"] = "no 'text' field"
    return row


def _read_rows(part: _Part, all_quotes: bool) -> tuple[list[dict] | pa.Table, Sequence[int]]:
    """The block's rows and their input positions."""
    kind = part.kind
    base = part.file_no << _FILE_SHIFT
    if kind == "parquet":
        pf = pq.ParquetFile(part.paths[0])
        lo, hi = part.start, part.start + part.rows
        groups, offset, first = [], 0, None
        for i in range(pf.num_row_groups):
            n = pf.metadata.row_group(i).num_rows
            if offset < hi and offset + n > lo:
                groups.append(i)
                first = offset if first is None else first
            offset += n
        table = pf.read_row_groups(groups).slice(lo - (first or 0), part.rows)
        return table.replace_schema_metadata(None), range(base + lo, base + lo + table.num_rows)
    rows: list[dict] = []
    positions: list[int] = []
    if kind == "csv":
        with open(part.paths[0], "rb") as fh:
            fh.seek(part.start)
            reader = csv.DictReader(_LineFeed(fh, part.names[0]), fieldnames=list(part.header))
            for row in reader:
                rows.append(_resolve_textless({k: (v if v != "" else None) for k, v in row.items() if k is not None}))
                if len(rows) == part.rows:
                    break
        return rows, range(base + part.row0, base + part.row0 + len(rows))
    if kind in {"jsonl", "jsonl-articles"}:
        shown = str(Path(part.names[0]))
        with open(part.paths[0], "rb") as fh:
            fh.seek(part.start)
            n_in = 0
            for line_no, raw in enumerate(fh, part.first_line):
                row = _jsonl_row(shown, line_no, raw)
                if row is None:
                    continue
                if kind == "jsonl":
                    rows.append(_resolve_textless(row))
                else:
                    quotes = _article_line(row, shown, line_no, all_quotes)
                    if len(quotes) > 1 << _QUOTE_BITS:
                        raise ValueError(f"{shown}:{line_no}: more than {1 << _QUOTE_BITS} quotes in one article")
                    article = (part.row0 + n_in) << _QUOTE_BITS
                    rows.extend(quotes)
                    positions.extend(base | article | q for q in range(len(quotes)))
                n_in += 1
                if n_in == part.rows:
                    break
        if kind == "jsonl":
            return rows, range(base + part.row0, base + part.row0 + len(rows))
        return rows, positions
    # articles: .txt / .html files, one document each
    from kstance.io import iter_articles

    for j, (path, name) in enumerate(zip(part.paths, part.names)):
        quotes: list[dict] = []
        try:
            for doc_id, text, extra in iter_articles(path):
                quotes.extend(_quote_rows(_extractor().extract(text, doc_id, extra), all_quotes))
        except InputError as exc:
            msg = str(exc).replace(str(Path(path)), str(Path(name)), 1)
            quotes = [{"article": Path(name).name, "error": msg, **({} if all_quotes else {"scored": False})}]
        file_base = (part.file_no + j) << _FILE_SHIFT
        rows.extend(quotes)
        positions.extend(range(file_base, file_base + len(quotes)))
    return rows, positions


def _article_line(row: dict, shown: str, n: int, all_quotes: bool) -> list[dict]:
    """The quotes of one JSONL article line (as :func:`kstance.io.iter_articles` reads it); a
    bad line becomes one row with an `error`."""
    problem = None
    if "error" in row and len(row) == 1:
        problem = row["error"]
    elif "text" not in row:
        problem = f"{shown}:{n}: article has no 'text' field (fields: {sorted(row)})"
    elif not isinstance(row["text"], str):
        problem = f"{shown}:{n}: field 'text' must be a string"
    if problem is not None:
        return [{"article": str(row.get("id", f"{Path(shown).name}:{n}")), "error": problem,
                 **({} if all_quotes else {"scored": False})}]
    doc_id = str(row.get("id", f"{Path(shown).name}:{n}"))
    extra = {k: row[k] for k in ("title", "date", "url") if row.get(k) is not None}
    return _quote_rows(_extractor().extract(row["text"], doc_id, extra), all_quotes)


def _conform(data: list[dict] | pa.Table, schema: pa.Schema) -> pa.Table:
    """The rows as a table of exactly ``schema`` (missing columns null; other types converted)."""
    if isinstance(data, pa.Table):
        n = data.num_rows
        cols = []
        for f in schema:
            if f.name not in data.column_names:
                cols.append(pa.nulls(n, f.type))
                continue
            col = data.column(f.name)
            if col.type != f.type:
                try:
                    col = col.cast(f.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    col = pa.array([_as_str(v) for v in col.to_pylist()], _STRING)
            cols.append(col)
        return pa.Table.from_arrays(cols, schema=schema)
    cols = []
    for f in schema:
        values = [r.get(f.name) for r in data]
        if f.type == _STRING:
            values = [_as_str(v) for v in values]
        cols.append(pa.array(values, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _frame(table: pa.Table, positions: Sequence[int]) -> pd.DataFrame:
    import pandas as pd

    df = table.to_pandas(types_mapper=pd.ArrowDtype)
    df.index = pd.Index(positions, dtype="int64", name=POS)
    return df


def _read_part(part: _Part, schema: pa.Schema, all_quotes: bool) -> pd.DataFrame:
    data, positions = _read_rows(part, all_quotes)
    return _frame(_conform(data, schema), positions)


def _meta(schema: pa.Schema) -> pd.DataFrame:
    return _frame(schema.empty_table(), [])


def _read(inputs, partitions: int | None = None, *, articles: bool = False, all_quotes: bool = False,
          rows_per_partition: int = 2048, articles_per_partition: int = 64,
          errors: list[str] | None = None) -> tuple[dd.DataFrame | None, list[_Part], pd.DataFrame]:
    import dask.dataframe as dd

    if partitions is not None and partitions < 1:
        raise ValueError("partitions must be at least 1")
    files, missing = expand_inputs(inputs)
    if len(files) >= 1 << (63 - _FILE_SHIFT):
        raise ValueError(f"{len(files)} input files: at most {(1 << (63 - _FILE_SHIFT)) - 1} in one run")
    for msg in missing:
        if errors is None:
            raise InputError(msg)
        errors.append(msg)
    parts, schema = _plan(files, partitions, rows_per_partition, articles_per_partition, articles, all_quotes, errors)
    meta = _meta(schema)
    if not parts:
        return None, parts, meta
    divisions = tuple(p.first_pos for p in parts) + (parts[-1].last_pos,)
    ddf = dd.from_map(_read_part, parts, args=(schema, all_quotes), meta=meta,
                      divisions=divisions, label="kstance-read", enforce_metadata=False)
    return ddf, parts, meta


def read_inputs(inputs, partitions: int | None = None, *, articles: bool = False, all_quotes: bool = False,
                rows_per_partition: int = 2048, articles_per_partition: int = 64,
                errors: list[str] | None = None) -> dd.DataFrame:
    """Read statement tables or articles as a Dask DataFrame, row for row as `kstance score` reads them.

    Tables (.parquet, .jsonl, .csv, with a `text` column) keep every field; articles (.txt, .html;
    .jsonl with ``articles=True``) are extracted on the workers into quote records, and quotes
    that are not official or are fragments get ``scored = False`` unless ``all_quotes``. Files are
    only planned here (row counts, column types, where each block starts); the rows are read by the
    workers, from paths they must see too. The columns are the union of all files' columns; the
    index is :data:`POS`, the input position (file number * 2**39 + row within the file).

    Bad input is handled as by `kstance score`: a missing or unreadable table file is left out
    (see ``errors``), a malformed JSONL line becomes a row with an `error`. One difference: an
    article that cannot be read (binary, not UTF-8, an HTML page with no article, a bad line of
    a JSONL of articles) is found on a worker, and becomes one row with an `error` naming it
    where `kstance score` reports it on standard error and writes no row.

    Args:
        inputs: files, folders (their files in path order) or glob patterns, in order.
        partitions: about how many partitions to make (split by rows for tables, by articles for
            articles); default: ``rows_per_partition`` rows or ``articles_per_partition`` articles each.
        articles: read .jsonl inputs as articles (`id`, `text`, optional `title`, `date`, `url`).
        all_quotes: score every extracted quote, not only official non-fragment ones.
        rows_per_partition: rows per partition when ``partitions`` is not given (the default 2048
            is `kstance score`'s chunk size, so the batches are the same).
        articles_per_partition: article files (or JSONL article lines) per partition.
        errors: where to append one message per unreadable file (which is then skipped); without
            it the first one raises.

    Returns:
        A Dask DataFrame (pyarrow-backed columns), or None when there is nothing to read.

    Raises:
        InputError: for a missing or unreadable file, a table with no `text` column, a folder
            or pattern with no files (unless ``errors`` is given).

    Example:
        >>> ddf = read_inputs("data/corpus/test.jsonl", partitions=4)  # doctest: +SKIP
        >>> ddf.npartitions, ddf.index.name  # doctest: +SKIP
        (4, '_kstance_pos')
    """
    return _read(inputs, partitions, articles=articles, all_quotes=all_quotes, rows_per_partition=rows_per_partition,
                 articles_per_partition=articles_per_partition, errors=errors)[0]


# -- scoring one partition (runs on a worker) ------------------------------------------------------
_MODELS: dict[tuple[str, str], tuple[object, threading.Lock]] = {}
_MODELS_LOCK = threading.Lock()
_LOADS: list[tuple[str, str]] = []  # every model load in this process (tests check there is one)


def _classifier(model_dir: str, backend: str):
    """This process's classifier for (model_dir, backend), loaded on first use and kept.

    A Dask worker process scores many partitions; the model is loaded once per process, not
    once per partition. Scoring with one classifier is serialised by its lock (the tokenizer is
    not safe to share between threads); run one thread per worker process.
    """
    key = (model_dir, backend)
    with _MODELS_LOCK:
        entry = _MODELS.get(key)
        if entry is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from kstance.predict import StanceClassifier

            entry = (StanceClassifier.load(model_dir, backend=backend), threading.Lock())
            _MODELS[key] = entry
            _LOADS.append(key)
    return entry


def _model_loads() -> list[tuple[str, str]]:
    """The model loads of this process so far (for ``client.run``)."""
    return list(_LOADS)


def _column_values(series: pd.Series) -> list:
    import pandas as pd

    try:
        return pa.array(series, from_pandas=True).to_pylist()
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        out = []
        for v in series.tolist():
            if v is None or v is pd.NA or (isinstance(v, float) and v != v):
                v = None
            out.append(v)
        return out


def _score_partition(df: pd.DataFrame, model_dir: str, backend: str, batch_size: int,
                     torch_threads: int | None) -> pd.DataFrame:
    """Score one partition with :meth:`StanceClassifier.score_batch`, in input order.

    Every input column is kept as it is; the output columns are added (probabilities as JSON
    text). Rows marked ``scored = False`` and rows without text that carry an `error` are passed
    over, as in `kstance score`.
    """
    import pandas as pd

    if df.index.name == POS:
        df = df.sort_index(kind="stable")
    elif POS in df.columns:
        df = df.sort_values(POS, kind="stable")
    n = len(df)
    results = {c: [None] * n for c in OUTPUT_COLUMNS}
    if n:
        clf, lock = _classifier(model_dir, backend)
        wanted = {"text", "source", "official", "scored", "error"} | {f[0] for f in clf.settings.template.fields}
        values = {c: _column_values(df[c]) for c in df.columns if c in wanted}
        records = [{c: v[i] for c, v in values.items()} for i in range(n)]
        skip = [r.get("scored") is False or (r.get("text") is None and r.get("error") is not None) for r in records]
        to_score = [r for r, s in zip(records, skip) if not s]
        with lock:
            if torch_threads:
                import torch

                torch.set_num_threads(torch_threads)
            scored = iter(clf.score_batch(to_score, batch_size)) if to_score else iter(())
        for i, (r, s) in enumerate(zip(records, skip)):
            rec = r if s else next(scored)
            for c in ("stance", "target", "error"):
                results[c][i] = rec.get(c)
            for c in ("stance_probs", "target_probs"):
                if rec.get(c) is not None:
                    results[c][i] = json.dumps(rec[c], ensure_ascii=False)
    out = df.copy(deep=False)
    for c in OUTPUT_COLUMNS:
        out[c] = pd.array([_as_str(v) for v in results[c]], dtype=pd.ArrowDtype(_STRING))
    return out


def _resolve_model_dir(model_dir) -> str:
    if model_dir:
        return str(Path(model_dir).resolve())
    from kstance.predict import default_model_dir

    return str(default_model_dir().resolve())


def score_dataframe(ddf: dd.DataFrame, model_dir: str | os.PathLike | None = None, *, batch_size: int = 32,
                    backend: str = "torch", torch_threads: int | None = None) -> dd.DataFrame:
    """Score a Dask DataFrame of statements, partition by partition, lazily.

    Each partition goes through :meth:`kstance.predict.StanceClassifier.score_batch` (the code path
    of `kstance score`), in a worker process that loads the model on first use and keeps it for
    every later partition. Rows keep their partition and their order within it (partitions from
    :func:`read_inputs` are sorted by :data:`POS` first).

    Results equal single-process `kstance score` on the same rows: same rows in the same order,
    same labels; probabilities equal to within 1e-5, since the rows batched together (and so the
    padding and the float summation order) can differ with the partitioning.

    Args:
        ddf: a Dask DataFrame with a `text` column (and optional `speaker`, `source`, `context`,
            `official`, `scored`), e.g. from :func:`read_inputs` or ``dask.dataframe.read_parquet``.
        model_dir: the model directory (default: the default model); every worker must see it.
        batch_size: rows per forward pass.
        backend: "torch" (fp32) or "onnx" (int8).
        torch_threads: torch threads per worker process (default: as the worker is set up;
            Dask's nanny sets 1).

    Returns:
        A Dask DataFrame: every input column as it was, plus `stance`, `stance_probs` (JSON text),
        `target`, `target_probs` (JSON text) and `error` (rows that could not be scored).

    Raises:
        ValueError: when the DataFrame has no `text` column.

    Example:
        >>> import dask.dataframe as dd, pandas as pd  # doctest: +SKIP
        >>> ddf = dd.from_pandas(pd.DataFrame({"text": ["We will respond mercilessly."]}), npartitions=1)  # doctest: +SKIP
        >>> score_dataframe(ddf).compute()["stance"].tolist()  # doctest: +SKIP
        ['threatening']
    """
    import pandas as pd

    meta = ddf._meta
    if "text" not in meta.columns:
        raise ValueError(f"no 'text' column (columns found: {', '.join(map(str, meta.columns))})")
    if backend not in {"torch", "onnx"}:
        raise ValueError(f"unknown backend {backend!r} (use 'torch' or 'onnx')")
    out_meta = meta.copy()
    for c in OUTPUT_COLUMNS:
        out_meta[c] = pd.Series([], dtype=pd.ArrowDtype(_STRING), index=meta.index)
    return ddf.map_partitions(_score_partition, _resolve_model_dir(model_dir), backend, batch_size, torch_threads,
                              meta=out_meta)


# -- writing ---------------------------------------------------------------------------------------
def _part_name(number: int) -> str:
    return f"part.{number:06d}.parquet"


def _write_part(df: pd.DataFrame, folder: str, number: int) -> dict:
    """Write one scored partition as ``part.NNNNNN.parquet`` (atomically: a retried task
    rewrites the same file, so every row is written once). Returns counts for checking."""
    final = os.path.join(folder, _part_name(number))
    tmp = f"{final}.{uuid.uuid4().hex}.tmp"
    if df.index.name == POS and not (df.index.is_monotonic_increasing and df.index.is_unique):
        raise DistributedScoringError(f"partition {number}: input positions out of order")
    table = pa.Table.from_pandas(df, preserve_index=True)
    pq.write_table(table, tmp)
    os.replace(tmp, final)
    textless = df["text"].isna() & df["error"].notna()
    messages = [m for m in df.loc[textless, "error"].head(20).tolist() if m not in {"empty text", "no 'text' field"}]
    first = int(df.index[0]) if len(df) and df.index.name == POS else None
    last = int(df.index[-1]) if len(df) and df.index.name == POS else None
    return {"number": number, "rows": len(df), "error_rows": int(df["error"].notna().sum()),
            "messages": messages, "first": first, "last": last}


def _replaceable(out_dir: Path) -> bool:
    """Whether ``out_dir`` may be replaced: absent, an empty folder, or a kstance dataset."""
    if not out_dir.exists():
        return True
    return out_dir.is_dir() and (not any(out_dir.iterdir()) or (out_dir / MARKER_FILE).is_file())


def _remove_tree(path: Path) -> None:
    for attempt in range(20):  # a cancelled task may still be finishing a file in it
        try:
            shutil.rmtree(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.25)
    shutil.rmtree(path, ignore_errors=True)


def _gather(client, futures, progress: Callable[[dict], None] | None) -> list[dict]:
    from dask.distributed import as_completed

    results: list[dict | None] = [None] * len(futures)
    for fut in as_completed(futures):
        res = fut.result()  # re-raises a task's error, or KilledWorker when a task kept killing workers
        results[res["number"]] = res
        if progress is not None:
            progress(res)
    return results  # type: ignore[return-value]


def _check_written(folder: Path, results: list[dict], parts: list[_Part] | None) -> None:
    """Every partition written once, whole, and in input order; nothing else in the folder."""
    expected = {_part_name(i) for i in range(len(results))}
    found = {p.name for p in folder.iterdir()}
    if found != expected:
        raise DistributedScoringError(
            f"the written dataset does not hold exactly the expected parts "
            f"(missing {sorted(expected - found)[:5]}, unexpected {sorted(found - expected)[:5]})")
    for i, res in enumerate(results):
        rows = pq.read_metadata(folder / _part_name(i)).num_rows
        if rows != res["rows"]:
            raise DistributedScoringError(f"partition {i}: {rows} rows on disk, {res['rows']} scored")
        if parts is not None:
            part = parts[i]
            if part.kind != "articles" and part.kind != "jsonl-articles" and part.rows is not None and rows != part.rows:
                raise DistributedScoringError(f"partition {i} ({part.names[0]}): {rows} rows written, {part.rows} read")
            if res["first"] is not None and not (part.first_pos <= res["first"] <= res["last"] <= part.last_pos):
                raise DistributedScoringError(f"partition {i} ({part.names[0]}): rows from another partition")


def _describe_failure(exc: BaseException) -> str:
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        return (f"a worker process died while scoring {exc.task!r}, and again on each retry "
                f"(allowed failures: {exc.allowed_failures}); the task may need more memory than a worker has")
    return f"{type(exc).__name__}: {exc}"


def score_to_parquet(client, inputs, out_dir: str | os.PathLike, model_dir: str | os.PathLike | None = None,
                     partitions: int | None = None, *, batch_size: int = 32, backend: str = "torch",
                     articles: bool = False, all_quotes: bool = False, rows_per_partition: int = 2048,
                     articles_per_partition: int = 64, torch_threads: int | None = None,
                     bad_files: str = "raise", progress: bool | Callable[[dict], None] = False) -> ScoreSummary:
    """Score inputs on a Dask cluster and write a Parquet dataset, all or nothing.

    Reads the inputs (:func:`read_inputs`), scores every partition (:func:`score_dataframe`) and
    writes each as ``part.NNNNNN.parquet`` into a temporary folder beside ``out_dir``. A worker
    that dies takes no rows with it: Dask runs its tasks again elsewhere and a rerun partition
    rewrites the same file, so each row is written exactly once. When every partition is written,
    the files are checked (one per partition, the row counts read, positions in order) and the
    folder is renamed to ``out_dir``, replacing an earlier kstance dataset there. Any failure (a
    task that keeps killing its worker, an error in a task, a lost scheduler) removes the
    temporary folder and raises :class:`DistributedScoringError`: ``out_dir`` is then as it was.

    Results equal single-process `kstance score` on the same input: the same rows in the same
    order (the dataset's index, :data:`POS`, is the input position), the same labels, and
    probabilities equal to within 1e-5 (batch composition, and so float summation order, can
    differ). Probabilities are JSON text, as in `kstance score -o OUT.parquet`.

    Args:
        client: a connected ``dask.distributed.Client`` (a LocalCluster, a `dask-scheduler`
            address, a dask-jobqueue cluster...). Inputs, model and ``out_dir`` must be on a file
            system its workers see.
        inputs: files, folders or glob patterns (see :func:`read_inputs`), or a Dask DataFrame
            with a `text` column (then scored as it is).
        out_dir: the output folder: created, or replaced if it is empty or an earlier kstance
            dataset (it holds ``_kstance.json``); anything else there is refused.
        model_dir: the model directory (default: the default model).
        partitions: about how many partitions (default: ``rows_per_partition`` rows each).
        batch_size: rows per forward pass.
        backend: "torch" or "onnx".
        articles, all_quotes, rows_per_partition, articles_per_partition: see :func:`read_inputs`.
        torch_threads: torch threads per worker process (see :func:`score_dataframe`).
        bad_files: "raise" (an unreadable input file stops the run before anything is scored) or
            "skip" (it is left out and named in the summary, as `kstance score` does).
        progress: True for a progress bar on standard error, or a function called with each
            finished partition's counts.

    Returns:
        A :class:`ScoreSummary`.

    Raises:
        DistributedScoringError: the run failed; no output was written.
        InputError: an unreadable input (with ``bad_files="raise"``).
        ValueError: ``out_dir`` exists and is not a kstance dataset, or a bad argument.

    Example:
        >>> from dask.distributed import Client, LocalCluster  # doctest: +SKIP
        >>> with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:  # doctest: +SKIP
        ...     s = score_to_parquet(client, "data/corpus/test.jsonl", "scored/", partitions=8)
        >>> s.rows, pd.read_parquet("scored/")["stance"].iloc[0]  # doctest: +SKIP
        (520, 'demanding')
    """
    import dask
    import dask.dataframe as dd

    t0 = time.time()
    out_dir = Path(out_dir)
    if not _replaceable(out_dir):
        raise ValueError(f"{out_dir}: exists and is not a kstance output dataset (no {MARKER_FILE}); "
                         "refusing to replace it")
    if bad_files not in {"raise", "skip"}:
        raise ValueError("bad_files must be 'raise' or 'skip'")
    skipped: list[str] = []
    parts: list[_Part] | None = None
    if isinstance(inputs, dd.DataFrame):
        ddf, meta = inputs, inputs._meta
    else:
        ddf, parts, meta = _read(inputs, partitions, articles=articles, all_quotes=all_quotes,
                                 rows_per_partition=rows_per_partition,
                                 articles_per_partition=articles_per_partition,
                                 errors=skipped if bad_files == "skip" else None)
    if ddf is None:  # nothing to read: an empty dataset of the input columns
        ddf, parts = dd.from_pandas(meta, npartitions=1), None
    scored = score_dataframe(ddf, model_dir, batch_size=batch_size, backend=backend, torch_threads=torch_threads)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    futures = []
    bar = None
    try:
        writes = [dask.delayed(_write_part, pure=False)(p, str(tmp), i) for i, p in enumerate(scored.to_delayed())]
        futures = client.compute(writes)
        report = None
        if progress is True:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(futures), unit="part", file=sys.stderr, dynamic_ncols=True)
            done = {"rows": 0}

            def report(res):
                done["rows"] += res["rows"]
                bar.update(1)
                bar.set_postfix(rows=done["rows"], rows_per_s=f"{done['rows'] / max(time.time() - t0, 1e-9):.0f}")
        elif callable(progress):
            report = progress
        results = _gather(client, futures, report)
        for f in tmp.glob("*.tmp"):  # leftovers of attempts on workers that died
            f.unlink()
        _check_written(tmp, results, parts)
        summary = ScoreSummary(out_dir=out_dir, rows=sum(r["rows"] for r in results),
                               error_rows=sum(r["error_rows"] for r in results), partitions=len(results),
                               seconds=0.0, bad_files=skipped,
                               input_errors=[m for r in results for m in r["messages"]])
        from kstance import __version__

        (tmp / MARKER_FILE).write_text(json.dumps({
            "written_by": f"kstance {__version__} (kstance.distributed.score_to_parquet)",
            "rows": summary.rows, "partitions": summary.partitions, "error_rows": summary.error_rows,
            "model_dir": _resolve_model_dir(model_dir), "backend": backend, "index": POS,
        }, indent=2) + "\n", encoding="utf-8")
        _replace_dir(tmp, out_dir)
    except BaseException as exc:
        if futures:
            try:
                client.cancel(futures)
            except Exception:
                pass
        _remove_tree(tmp)
        if isinstance(exc, (KeyboardInterrupt, DistributedScoringError)):
            if isinstance(exc, DistributedScoringError):
                raise DistributedScoringError(f"{exc}; no output written, {out_dir} is unchanged") from exc
            raise
        raise DistributedScoringError(f"scoring failed: {_describe_failure(exc)}; no output written, "
                                      f"{out_dir} is unchanged") from exc
    finally:
        if bar is not None:
            bar.close()
    summary.seconds = time.time() - t0
    return summary


def _replace_dir(tmp: Path, out_dir: Path) -> None:
    """Move the finished dataset into place; an earlier one is replaced only now."""
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:12]}"
        os.replace(out_dir, old)
        try:
            os.replace(tmp, out_dir)
        except BaseException:
            os.replace(old, out_dir)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out_dir)


# -- the command line: `kstance score ... --engine dask` -------------------------------------------
def _err(msg: str) -> None:
    print(f"kstance: {msg}", file=sys.stderr)


def score_command(args) -> int:
    """Run `kstance score INPUT... -o OUT_DIR --engine dask [--scheduler ADDRESS] [--partitions N]`.

    Without ``--scheduler`` a LocalCluster is started with one worker process per core (one
    thread each) and closed at the end. Returns the exit status: 0 when every file and row went
    through, 1 when some file or row failed (or the run failed: then nothing was written), 2 for
    a usage error.
    """
    import logging

    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        _err(f"--engine dask needs dask and distributed: pip install -e '.[dask]' ({exc})")
        return 2
    if not args.output:
        _err("--engine dask needs -o OUT_DIR (a folder for the Parquet dataset)")
        return 2
    if args.resume:
        _err("--resume does not apply to --engine dask: a failed run writes nothing; run it again")
        return 2
    if args.partitions is not None and args.partitions < 1:
        _err("--partitions must be at least 1")
        return 2
    out = Path(args.output)
    if out.suffix.lower() in {".jsonl", ".csv"}:
        _err(f"{out}: with --engine dask, -o names a folder for a Parquet dataset, not a {out.suffix} file")
        return 2
    if not _replaceable(out):
        _err(f"{out}: exists and is not a kstance output dataset (no {MARKER_FILE}); refusing to replace it")
        return 2
    model_dir = Path(_resolve_model_dir(args.model))
    if not (model_dir / "kstance.json").is_file():
        _err(f"{model_dir}: not a model directory (no kstance.json)")
        return 2

    cluster = None
    try:
        if args.scheduler:
            client = Client(args.scheduler, timeout="30s")
        else:
            cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.ERROR)
            client = Client(cluster)
    except (OSError, TimeoutError) as exc:
        _err(f"cannot reach the Dask scheduler at {args.scheduler}: {exc}")
        if cluster is not None:
            cluster.close()
        return 2
    try:
        summary = score_to_parquet(client, args.inputs, out, model_dir, args.partitions, batch_size=args.batch_size,
                                   backend=args.backend, articles=args.articles, all_quotes=args.all_quotes,
                                   rows_per_partition=args.chunk_size, bad_files="skip", progress=not args.quiet)
    except DistributedScoringError as exc:
        _err(str(exc))
        return 1
    except (ValueError, InputError) as exc:
        _err(str(exc))
        return 2
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    for msg in summary.bad_files + summary.input_errors:
        _err(msg)
    if summary.error_rows:
        _err(f"{summary.error_rows} row(s) could not be scored: see their 'error' field")
    if not args.quiet:
        _err(f"scored {summary.rows} rows in {summary.partitions} partitions in {summary.seconds:.1f} s -> {out}")
    return 1 if (summary.bad_files or summary.error_rows) else 0


__all__ = ["score_dataframe", "score_to_parquet", "read_inputs", "expand_inputs", "ScoreSummary",
           "DistributedScoringError", "POS", "OUTPUT_COLUMNS"]
