"""Extraction on the project's own wire-style articles, each built around the hard cases."""

import json
from pathlib import Path

import pytest

from evaluation.extraction import read_gold, score_extraction
from kstance.extract import extract_quotes

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = sorted((ROOT / "examples" / "articles").glob("*.txt"))


@pytest.mark.parametrize("path", ARTICLES, ids=[p.stem for p in ARTICLES])
def test_article_against_gold(path):
    text = path.read_text(encoding="utf-8")
    gold = read_gold(ROOT / "tests" / "data" / "gold" / f"{path.stem}.jsonl")
    r = score_extraction(extract_quotes(text, path.stem), gold)
    assert r["recall"] == 1.0 and r["precision"] == 1.0, r["errors"]
    assert r["exact_span"] == 1.0, r["errors"]
    assert r["speaker_accuracy"] >= 0.9, r["errors"]
    assert r["source_accuracy"] >= 0.9, r["errors"]
    assert r["official_accuracy"] >= 0.9, r["errors"]


def test_all_articles_together_meet_the_targets():
    preds, golds = [], []
    for path in ARTICLES:
        text = path.read_text(encoding="utf-8")
        preds += [dict(p, start=p["start"] + 10**6 * i, end=p["end"] + 10**6 * i)
                  for i, p in [(ARTICLES.index(path), p) for p in extract_quotes(text, path.stem)]]
        golds += [dict(g, start=g["start"] + 10**6 * ARTICLES.index(path), end=g["end"] + 10**6 * ARTICLES.index(path))
                  for g in read_gold(ROOT / "tests" / "data" / "gold" / f"{path.stem}.jsonl")]
    r = score_extraction(preds, golds)
    assert r["gold"] >= 50
    assert r["speaker_accuracy"] >= 0.95 and r["source_accuracy"] >= 0.95 and r["official_accuracy"] >= 0.95


def test_tag_page_attribution_does_not_cross_stories():
    path = ROOT / "examples" / "articles" / "05_tag_page_north_korea.txt"
    recs = extract_quotes(path.read_text(encoding="utf-8"), "page")
    assert len({r["article"] for r in recs}) == 2
    first_b = next(r for r in recs if r["article"].endswith("#1"))
    assert first_b["speaker"] == "Japan's chief cabinet secretary"
