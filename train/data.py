"""The labelled corpus: schema, validation, coverage, leakage check, and loading for training.

Command line:

```
python -m train.data check [FILES...]     validate the corpus (default: data/corpus/*.jsonl); exit 1 on errors
python -m train.data stats                print the counts the datasheet reports
```

Every labelled file a researcher points the training at goes through :func:`validate_records`,
the same check the corpus passes, before any training starts.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from kstance.io import InputError, iter_table
from kstance.labels import load_labels

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "data" / "corpus"
SPLITS = ("train", "dev", "test")
CASES = (
    "criticism_no_ask", "demand_as_hope", "conditional_offer", "talk_plus_warning", "negated_threat",
    "all_options", "launch_briefing", "all_parties_restraint", "ally_and_adversary",
)
# The stance each hard case must carry (ally_and_adversary has two rows: either side).
CASE_STANCE = {
    "criticism_no_ask": {"neutral"},
    "demand_as_hope": {"demanding"},
    "conditional_offer": {"demanding"},
    "talk_plus_warning": {"threatening"},
    "negated_threat": {"conciliatory"},
    "all_options": {"threatening"},
    "launch_briefing": {"neutral"},
    "all_parties_restraint": {"demanding"},
    "ally_and_adversary": {"conciliatory", "threatening"},
}
# Near-copy threshold on cosine similarity of character 3-5-gram TF-IDF vectors; see the datasheet.
NEAR_DUP_THRESHOLD = 0.80
MIN_PER_STANCE = 600
MIN_PER_DYAD = 150
MIN_PAIRS = 300
MIN_ROWS = 4000

# field -> (types allowed, required)
SCHEMA = {
    "id": ((str,), True),
    "text": ((str,), True),
    "speaker": ((str, type(None)), False),
    "source": ((str, type(None)), False),
    "context": ((str, type(None)), False),
    "official": ((bool, type(None)), False),
    "fragment": ((bool, type(None)), False),
    "stance": ((str,), True),
    "target": ((str,), True),
    "writer": ((str, type(None)), False),
    "pair": ((str, type(None)), False),
    "case": ((str, type(None)), False),
}


@dataclass
class Problem:
    """One validation problem: where (file, row, field) and what."""

    file: str
    row: int | str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row}: field '{self.field}': {self.message}"


class DataError(ValueError):
    """Labelled data failed validation; the message lists the offending rows."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:20])
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the labelled data:\n{shown}{more}")


def _coerce_bool(value):
    # CSV cells arrive as strings; "true"/"false" are the only accepted spellings
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    if isinstance(value, str) and value == "":
        return None
    return value


def validate_records(rows: list[tuple[int, dict]], file: str, strict_schema: bool = False) -> list[Problem]:
    """Check labelled rows against the schema and the label sets in ``configs/labels.yaml``.

    Args:
        rows: (row number, record) pairs as read by :func:`kstance.io.iter_table`.
        file: the file's name, for messages.
        strict_schema: also reject fields the schema does not know (the project's own corpus).

    Returns:
        The problems found (empty when the rows are fine).

    Example:
        >>> validate_records([(1, {"id": "a", "text": " ", "stance": "angry", "target": "USA"})], "f.jsonl")[0].field
        'text'
    """
    labels = load_labels()
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for n, r in rows:
        for key in ("official", "fragment"):
            if key in r:
                r[key] = _coerce_bool(r[key])
        for key, (types, required) in SCHEMA.items():
            if key not in r or (r[key] is None and required):
                if required:
                    problems.append(Problem(file, n, key, "missing"))
                continue
            if not isinstance(r[key], types):
                problems.append(Problem(file, n, key, f"expected {'/'.join(t.__name__ for t in types)}, "
                                                      f"got {type(r[key]).__name__}"))
        if strict_schema:
            for key in r:
                if key not in SCHEMA:
                    problems.append(Problem(file, n, key, "unknown field"))
        text = r.get("text")
        if isinstance(text, str) and not text.strip():
            problems.append(Problem(file, n, "text", "empty"))
        if r.get("stance") is not None and r.get("stance") not in labels.stance:
            problems.append(Problem(file, n, "stance", f"unknown label '{r.get('stance')}' (known: {', '.join(labels.stance)})"))
        if r.get("target") is not None and r.get("target") not in labels.targets:
            problems.append(Problem(file, n, "target", f"unknown label '{r.get('target')}' (known: {', '.join(labels.targets)})"))
        if r.get("source") not in (None, "") and r.get("source") not in labels.sources:
            problems.append(Problem(file, n, "source", f"unknown actor code '{r.get('source')}'"))
        ctx = r.get("context")
        if isinstance(ctx, str) and ctx.strip() and "[Q]" not in ctx:
            problems.append(Problem(file, n, "context", "has no [Q] marker where the quote stood"))
        if r.get("fragment") is True and not (isinstance(ctx, str) and ctx.strip()):
            problems.append(Problem(file, n, "context", "a fragment needs its reporter's sentence as context"))
        if r.get("case") not in (None, ""):
            case = r["case"]
            if case not in CASE_STANCE:
                problems.append(Problem(file, n, "case", f"unknown hard-case tag '{case}'"))
            elif r.get("stance") not in CASE_STANCE[case]:
                problems.append(Problem(file, n, "stance", f"case '{case}' must be {'/'.join(sorted(CASE_STANCE[case]))}"))
        rid = r.get("id")
        if isinstance(rid, str):
            if rid in seen:
                problems.append(Problem(file, n, "id", f"duplicate id '{rid}' (first at row {seen[rid]})"))
            else:
                seen[rid] = n
    return problems


def read_labelled(path: str | Path, strict_schema: bool = False) -> list[dict]:
    """Read and validate one labelled file (.jsonl, .csv, .parquet).

    Raises:
        DataError: listing every problem with file, row and field, before any training starts.
        InputError: when the file cannot be read or lacks a `text` column.
    """
    path = Path(path)
    rows: list[tuple[int, dict]] = []
    for chunk in iter_table(path):
        rows.extend(chunk)
    if not rows:
        raise DataError([Problem(str(path), "-", "text", "the file holds no rows")])
    problems = validate_records(rows, str(path), strict_schema)
    if problems:
        raise DataError(problems)
    return [r for _, r in rows]


def corpus_files() -> dict[str, Path]:
    """The project corpus: split name -> file."""
    return {s: CORPUS_DIR / f"{s}.jsonl" for s in SPLITS}


def load_corpus() -> dict[str, list[dict]]:
    """Load and validate the project's corpus splits."""
    return {s: read_labelled(p, strict_schema=True) for s, p in corpus_files().items()}


# -- corpus-wide checks ----------------------------------------------------------------------------

def _norm_text(t: str) -> str:
    return re.sub(r"[^a-z0-9 ]+", "", re.sub(r"\s+", " ", t.lower())).strip()


def near_duplicates(a: list[dict], b: list[dict], threshold: float = NEAR_DUP_THRESHOLD) -> list[tuple[str, str, float]]:
    """Pairs of rows, one from each list, whose texts are exact or near copies.

    Similarity is the cosine of character 3-5-gram TF-IDF vectors of the normalised texts
    (case, punctuation and spacing removed).

    Returns:
        (id in a, id in b, similarity) for each pair at or above ``threshold``.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not a or not b:
        return []
    ta = [_norm_text(r["text"]) for r in a]
    tb = [_norm_text(r["text"]) for r in b]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=1, sublinear_tf=True)
    vec.fit(ta + tb)
    sim = (vec.transform(ta) @ vec.transform(tb).T).tocoo()
    out = [(a[i]["id"], b[j]["id"], float(v)) for i, j, v in zip(sim.row, sim.col, sim.data) if v >= threshold]
    return sorted(out, key=lambda x: -x[2])


def coverage(rows: list[dict]) -> dict:
    """The counts the validator checks and the datasheet reports."""
    labels = load_labels()
    stance = Counter(r["stance"] for r in rows)
    dyads = Counter((r.get("source"), r["target"]) for r in rows)
    by_source = Counter(r.get("source") for r in rows)
    lengths = [len(r["text"].split()) for r in rows]
    multi = sum(len(re.findall(r"[.!?](?:\s|$)", r["text"].strip())) >= 2 for r in rows)
    pairs = Counter(r["pair"] for r in rows if r.get("pair"))
    cases = Counter(r["case"] for r in rows if r.get("case"))
    return {
        "rows": len(rows),
        "stance": dict(stance),
        "source": {k or "": v for k, v in by_source.items()},
        "target": dict(Counter(r["target"] for r in rows)),
        "dyads": {f"{s}->{t}": n for (s, t), n in dyads.items()},
        "main_dyads": {
            "PRK->USA": dyads[("PRK", "USA")],
            "PRK->KOR": dyads[("PRK", "KOR")],
            "USA->PRK": dyads[("USA", "PRK")],
            "KOR->PRK": dyads[("KOR", "PRK")],
            **{f"{s}->any": by_source[s] for s in ("CHN", "RUS", "JPN", "UN")},
        },
        "missing_sources": [c for c in labels.sources if by_source[c] == 0],
        "missing_targets": [c for c in labels.targets if c not in {r["target"] for r in rows}],
        "words_min": min(lengths) if lengths else 0,
        "words_max": max(lengths) if lengths else 0,
        "multi_sentence_share": multi / len(rows) if rows else 0.0,
        "pairs": sum(1 for n in pairs.values() if n >= 2),
        "cases": dict(cases),
        "official_false": sum(r.get("official") is False for r in rows),
        "fragments": sum(r.get("fragment") is True for r in rows),
        "writers": dict(Counter(r.get("writer") for r in rows)),
    }


def check_corpus(splits: dict[str, list[dict]]) -> list[str]:
    """Corpus-wide checks: coverage minima, pairs and writers within one split, no leakage.

    Returns:
        Human-readable problems (empty when the corpus passes).
    """
    problems = []
    all_rows = [r for rows in splits.values() for r in rows]
    ids = Counter(r["id"] for r in all_rows)
    problems += [f"id '{i}' appears {n} times across splits" for i, n in ids.items() if n > 1]
    cov = coverage(all_rows)
    if cov["rows"] < MIN_ROWS:
        problems.append(f"corpus has {cov['rows']} rows, fewer than {MIN_ROWS}")
    for label in load_labels().stance:
        if cov["stance"].get(label, 0) < MIN_PER_STANCE:
            problems.append(f"stance '{label}' has {cov['stance'].get(label, 0)} rows, fewer than {MIN_PER_STANCE}")
    for dyad, n in cov["main_dyads"].items():
        if n < MIN_PER_DYAD:
            problems.append(f"dyad {dyad} has {n} rows, fewer than {MIN_PER_DYAD}")
    if cov["missing_sources"]:
        problems.append(f"source codes never used: {cov['missing_sources']}")
    if cov["missing_targets"]:
        problems.append(f"target codes never used: {cov['missing_targets']}")
    if cov["words_min"] > 3 or cov["words_max"] < 150:
        problems.append(f"lengths run {cov['words_min']}-{cov['words_max']} words; want 3 or fewer up to 150 or more")
    if cov["multi_sentence_share"] < 0.20:
        problems.append(f"only {cov['multi_sentence_share']:.0%} of rows have several sentences (want 20%)")
    if cov["pairs"] < MIN_PAIRS:
        problems.append(f"{cov['pairs']} contrast pairs, fewer than {MIN_PAIRS}")
    for case in CASES:
        if cov["cases"].get(case, 0) < 6:
            problems.append(f"hard case '{case}' has {cov['cases'].get(case, 0)} rows, fewer than 6")
    # pairs and writers never straddle splits
    where: dict[str, set] = {}
    writer_split: dict[str, set] = {}
    for split, rows in splits.items():
        for r in rows:
            if r.get("pair"):
                where.setdefault(r["pair"], set()).add(split)
            writer_split.setdefault(r.get("writer") or "", set()).add(split)
    problems += [f"pair '{p}' is split across {sorted(s)}" for p, s in where.items() if len(s) > 1]
    problems += [f"writer '{w}' has rows in {sorted(s)}" for w, s in writer_split.items() if len(s) > 1 and w]
    names = list(splits)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            for a, b, sim in near_duplicates(splits[names[i]], splits[names[j]]):
                problems.append(f"near-duplicate across {names[i]}/{names[j]}: {a} ~ {b} (similarity {sim:.2f})")
    # the seed page's real quotes are a test set: no corpus row may near-copy one
    from evaluation.seed import seed_records

    seed = seed_records()
    if seed:
        for a, b, sim in near_duplicates(all_rows, seed):
            problems.append(f"near-copy of a seed quote: {a} ~ {b} (similarity {sim:.2f})")
    return problems


def markdown_tables(splits: dict[str, list[dict]]) -> str:
    """The datasheet's count tables (stance x source, source x target, lengths, splits) as Markdown."""
    labels = load_labels()
    rows = [r for v in splits.values() for r in v]
    out = ["| stance \\ source | " + " | ".join(labels.sources) + " | all |",
           "|---" * (len(labels.sources) + 2) + "|"]
    for st in labels.stance:
        cells = [sum(1 for r in rows if r["stance"] == st and r.get("source") == so) for so in labels.sources]
        out.append(f"| {st} | " + " | ".join(map(str, cells)) + f" | {sum(cells)} |")
    out += ["", "| source \\ target | " + " | ".join(labels.targets) + " |", "|---" * (len(labels.targets) + 1) + "|"]
    for so in labels.sources:
        cells = [sum(1 for r in rows if r.get("source") == so and r["target"] == t) for t in labels.targets]
        out.append(f"| {so} | " + " | ".join(map(str, cells)) + " |")
    bins = [(1, 3), (4, 10), (11, 25), (26, 50), (51, 100), (101, 160)]
    out += ["", "| words | " + " | ".join(f"{a}-{b}" for a, b in bins) + " |", "|---" * (len(bins) + 1) + "|"]
    lens = [len(r["text"].split()) for r in rows]
    out.append("| rows | " + " | ".join(str(sum(a <= n <= b for n in lens)) for a, b in bins) + " |")
    out += ["", "| split | rows | writers | " + " | ".join(labels.stance) + " |", "|---" * (len(labels.stance) + 3) + "|"]
    for name, v in splits.items():
        writers = ", ".join(sorted({r.get("writer") or "?" for r in v}))
        out.append(f"| {name} | {len(v)} | {writers} | " + " | ".join(str(sum(r['stance'] == st for r in v)) for st in labels.stance) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """`python -m train.data check|stats|tables`."""
    parser = argparse.ArgumentParser(prog="python -m train.data")
    sub = parser.add_subparsers(dest="cmd", required=True)
    ck = sub.add_parser("check", help="validate labelled files (default: the project corpus)")
    ck.add_argument("files", nargs="*")
    sub.add_parser("stats", help="print the corpus counts as JSON")
    sub.add_parser("tables", help="print the datasheet's count tables as Markdown")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "tables":
            print(markdown_tables(load_corpus()))
            return 0
        if args.cmd == "stats":
            splits = load_corpus()
            out = {s: coverage(rows) for s, rows in splits.items()}
            out["all"] = coverage([r for rows in splits.values() for r in rows])
            print(json.dumps(out, indent=2, ensure_ascii=False))
            return 0
        if args.files:
            total = 0
            for f in args.files:
                total += len(read_labelled(f))
            print(f"ok: {total} rows in {len(args.files)} file(s)")
            return 0
        splits = load_corpus()
        problems = check_corpus(splits)
    except (DataError, InputError) as exc:
        print(exc, file=sys.stderr)
        return 1
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"corpus check failed: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    n = sum(len(v) for v in splits.values())
    print(f"ok: {n} rows ({', '.join(f'{s} {len(v)}' for s, v in splits.items())}); "
          f"no near-duplicates across splits at similarity >= {NEAR_DUP_THRESHOLD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
