"""The seed page's real quotes as a labelled test set, rebuilt from offsets (the text is never copied).

`data/seed_gold.jsonl` records each quotation by its character offsets in
`../shared/seeds/000_39f09be0566d20db.txt` with its hand labels. This module reads the page and
gives back statement records, with the context that the extractor produces for each quote.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from evaluation.extraction import match_quotes, read_gold

ROOT = Path(__file__).resolve().parent.parent
SEED_PAGE = ROOT.parent / "shared" / "seeds" / "000_39f09be0566d20db.txt"
SEED_GOLD = ROOT / "data" / "seed_gold.jsonl"


def is_offset_gold(rows: list[dict]) -> bool:
    """Whether labelled rows are an offset gold file (no `text`, but `start` and `end`)."""
    return bool(rows) and all("text" not in r and "start" in r and "end" in r for r in rows)


def records_from_offsets(gold: list[dict], page: str | Path = SEED_PAGE, doc_id: str = "seed") -> list[dict]:
    """Turn offset gold rows into statement records: text by offset, context from the extractor.

    Args:
        gold: rows with `start`, `end` and labels (and optionally `sha1` of the span).
        page: the document the offsets point into.
        doc_id: a name for it.

    Raises:
        FileNotFoundError: when the page is absent.
        ValueError: when a span's hash no longer matches (the page changed).
    """
    from kstance.extract import extract_quotes

    text = Path(page).read_text(encoding="utf-8")
    extracted = extract_quotes(text, doc_id)
    pairs = match_quotes(extracted, gold)
    out = []
    for g, p in pairs:
        span = text[g["start"] : g["end"]]
        if "sha1" in g and hashlib.sha1(span.encode()).hexdigest()[:12] != g["sha1"]:
            raise ValueError(f"{page}: the span of {g.get('id')} no longer matches its gold hash")
        rec = {k: v for k, v in g.items() if k not in ("sha1",)}
        rec["text"] = p["text"] if p is not None else span
        rec["context"] = p["context"] if p is not None else None
        out.append(rec)
    return out


def seed_records() -> list[dict] | None:
    """The seed's real quotes as labelled records, or None where the seed page is absent."""
    if not SEED_PAGE.is_file():
        return None
    return records_from_offsets(read_gold(SEED_GOLD))
