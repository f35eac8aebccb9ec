"""Extraction on the real seed page against the hand-made gold file of offsets."""

import hashlib

from evaluation.extraction import read_gold, score_extraction
from kstance.extract import extract_quotes

from conftest import SEED_GOLD


def test_gold_offsets_still_point_at_the_quotes(seed_text):
    # the gold records a hash of each quoted span, so a changed seed page cannot pass silently
    for g in read_gold(SEED_GOLD):
        span = seed_text[g["start"] : g["end"]]
        assert hashlib.sha1(span.encode()).hexdigest()[:12] == g["sha1"], g["id"]


def test_seed_extraction_meets_targets(seed_text):
    pred = extract_quotes(seed_text, "seed")
    r = score_extraction(pred, read_gold(SEED_GOLD))
    assert r["gold"] == 59
    assert r["recall"] == 1.0, r["errors"]
    assert r["precision"] == 1.0, r["errors"]
    assert r["speaker_accuracy"] >= 0.95, r["errors"]
    assert r["source_accuracy"] >= 0.95, r["errors"]
    assert r["official_accuracy"] >= 0.95, r["errors"]


def test_seed_page_is_split_into_its_stories(seed_text):
    from kstance.quotes import split_articles

    arts = split_articles(seed_text)
    heads = [seed_text[a.paragraphs[0].start : a.paragraphs[0].end] for a in arts if a.headline]
    # nine stories; the page's tag line stays with the first headline below it
    assert len(arts) == 9 and len(heads) == 9
    assert heads[0].startswith("Tag Archives")
    # no quote's context reaches into the next story
    pred = extract_quotes(seed_text, "seed")
    starts = sorted(a.start for a in arts)
    for p in pred:
        art = max(i for i, s in enumerate(starts) if s <= p["start"])
        assert p["article"].endswith(f"#{art}")


def test_context_replaces_the_quote_with_the_marker(seed_text):
    pred = extract_quotes(seed_text, "seed")
    for p in pred:
        assert p["context"].count("[Q]") >= 1
        assert p["text"] not in p["context"] or len(p["text"]) < 12
    first = next(p for p in pred if p["text"].startswith("We demand that the US"))
    assert first["context"] == "“[Q],” Kim said in a statement carried by the KCNA news agency."
