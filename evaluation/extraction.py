"""Scoring quote extraction against a gold file of offsets.

Gold rows carry `start`, `end` (character offsets of the quoted words in the document) and the
attribution fields; the document text itself is read from its own file, never copied.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

_TITLES = re.compile(r"^(?:the|a|an|mr\.?|ms\.?|mrs\.?|president|dr\.?)\s+", re.IGNORECASE)


def read_gold(path: str | Path) -> list[dict]:
    """Read a gold JSONL file (one quotation per line).

    Args:
        path: the gold file.

    Example:
        >>> rows = read_gold("data/seed_gold.jsonl")  # doctest: +SKIP
    """
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{n}: not valid JSON: {exc.msg}") from None
    return rows


def norm_speaker(name: str | None) -> str:
    """Normalise a speaker for comparison: case, curly apostrophes, leading articles and titles.

    Example:
        >>> norm_speaker("Ms Choe") == norm_speaker("choe")
        True
    """
    if not name:
        return ""
    s = name.replace("\u2019", "'").strip().lower()
    prev = None
    while prev != s:
        prev = s
        s = _TITLES.sub("", s)
    return re.sub(r"\s+", " ", s)


def match_quotes(pred: list[dict], gold: list[dict]) -> list[tuple[dict, dict | None]]:
    """Pair each gold quote with the predicted quote that overlaps it most (at least half of either).

    Returns:
        (gold, pred or None) for every gold row, in gold order.
    """
    pairs = []
    used = set()
    for g in gold:
        best, best_ov = None, 0
        for i, p in enumerate(pred):
            if i in used:
                continue
            ov = min(g["end"], p["end"]) - max(g["start"], p["start"])
            if ov <= 0:
                continue
            if ov >= 0.5 * (g["end"] - g["start"]) or ov >= 0.5 * (p["end"] - p["start"]):
                if ov > best_ov:
                    best, best_ov = i, ov
        if best is not None:
            used.add(best)
            pairs.append((g, pred[best]))
        else:
            pairs.append((g, None))
    return pairs


def score_extraction(pred: list[dict], gold: list[dict]) -> dict:
    """Quotation recall and precision, and attribution accuracy on the matched quotes.

    Args:
        pred: extracted records (`start`, `end`, `speaker`, `source`, `official`, `fragment`).
        gold: gold rows with the same fields.

    Returns:
        A dict: `gold`, `predicted`, `matched`, `recall`, `precision`, `exact_span` (share of
        matches with identical offsets), `speaker_accuracy` (on gold rows with a speaker),
        `source_accuracy`, `official_accuracy`, `fragment_accuracy`, and `errors` (the mismatches).

    Example:
        >>> g = [{"start": 0, "end": 5, "speaker": "Kim", "source": "PRK", "official": True, "fragment": False}]
        >>> score_extraction(g, g)["recall"]
        1.0
    """
    pairs = match_quotes(pred, gold)
    matched = [(g, p) for g, p in pairs if p is not None]
    errors = []
    counts = {"speaker": [0, 0], "source": [0, 0], "official": [0, 0], "fragment": [0, 0]}
    for g, p in matched:
        if g.get("speaker"):
            ok = norm_speaker(p.get("speaker")) == norm_speaker(g["speaker"])
            counts["speaker"][0] += ok
            counts["speaker"][1] += 1
            if not ok:
                errors.append({"id": g.get("id"), "field": "speaker", "gold": g["speaker"], "pred": p.get("speaker")})
        for f in ("source", "official", "fragment"):
            ok = p.get(f) == g.get(f)
            counts[f][0] += ok
            counts[f][1] += 1
            if not ok:
                errors.append({"id": g.get("id"), "field": f, "gold": g.get(f), "pred": p.get(f)})
    for g, p in pairs:
        if p is None:
            errors.append({"id": g.get("id"), "field": "missed", "gold": [g["start"], g["end"]], "pred": None})
    gold_spans = {(g["start"], g["end"]) for g in gold}
    matched_ids = {id(p) for _, p in matched}
    for p in pred:
        if id(p) not in matched_ids:
            errors.append({"id": p.get("id"), "field": "invented", "gold": None, "pred": [p["start"], p["end"]]})
    exact = sum((p["start"], p["end"]) in gold_spans for _, p in matched)
    return {
        "gold": len(gold),
        "predicted": len(pred),
        "matched": len(matched),
        "recall": len(matched) / len(gold) if gold else 1.0,
        "precision": len(matched) / len(pred) if pred else 1.0,
        "exact_span": exact / len(matched) if matched else 1.0,
        **{f"{k}_accuracy": (v[0] / v[1] if v[1] else 1.0) for k, v in counts.items()},
        "errors": errors,
    }
