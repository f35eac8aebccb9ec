"""Throughput of the quote extractor, ``QuoteExtractor().extract(text, doc_id)``, on one core.

Usage (from the repository root)::

    python benchmarks/extract_throughput.py [--mb 20]

Builds large inputs of about ``--mb`` megabytes each and runs the extractor once on each:

* ``seed``: the seed page ``../shared/seeds/000_39f09be0566d20db.txt`` (next to the clone; it is
  read from there, never copied into the repository) repeated, pages joined by blank lines.
  Skipped when the page is not there.
* ``articles``: the example articles ``examples/articles/*.txt`` repeated in turn. They are denser
  in quotes than the seed page, so slower per megabyte.

For each input it prints MB (10^6 bytes of UTF-8 text), articles (as the page splitter finds them),
quotes extracted, seconds, articles/s, MB/s, and whether MB/s meets the target (``--target``,
default 5 MB/s).

The extractor is single-threaded: one process, one core. ``--cpu N`` pins the process to CPU N
(Linux); without it the OS may move it between cores, which is fairer on a busy machine. Other
load on the machine slows the numbers down; the load average is printed with them. This is a
script, not a test: it exits 0 whether or not the target is met.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kstance.extract import QuoteExtractor  # noqa: E402
from kstance.quotes import split_articles  # noqa: E402

SEED = ROOT.parent / "shared" / "seeds" / "000_39f09be0566d20db.txt"
ARTICLES = ROOT / "examples" / "articles"
PAGE_SEPARATOR = "\n\n\n"


def build_input(units: list[str], mb: float) -> str:
    """Repeat ``units`` in turn, joined by blank lines, until the text has ``mb`` MB of UTF-8."""
    target = mb * 1e6
    parts: list[str] = []
    size = 0
    sep = len(PAGE_SEPARATOR.encode("utf-8"))
    while size < target:
        for unit in units:
            parts.append(unit)
            size += len(unit.encode("utf-8")) + sep
            if size >= target:
                break
    return PAGE_SEPARATOR.join(parts)


def machine_note(cpu: int | None) -> str:
    """Pin to ``cpu`` if asked (Linux), and say so, with the load average."""
    note = []
    if cpu is not None:
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {cpu})
            note.append(f"pinned to CPU {cpu}")
        else:
            note.append("cannot pin (no sched_setaffinity)")
    if hasattr(os, "getloadavg"):
        note.append("load average %.2f %.2f %.2f" % os.getloadavg())
    if hasattr(os, "cpu_count"):
        note.append(f"{os.cpu_count()} CPUs")
    return ", ".join(note)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=20.0, help="size of each generated input in MB (default 20)")
    ap.add_argument("--target", type=float, default=5.0, help="MB/s to meet (default 5)")
    ap.add_argument("--cpu", type=int, default=None, help="pin the process to this CPU (Linux)")
    args = ap.parse_args(argv)

    inputs: list[tuple[str, list[str]]] = []
    if SEED.is_file():
        inputs.append(("seed", [SEED.read_text(encoding="utf-8")]))
    else:
        print(f"seed page not found at {SEED}: skipping the seed input")
    article_files = sorted(ARTICLES.glob("*.txt"))
    if article_files:
        inputs.append(("articles", [p.read_text(encoding="utf-8") for p in article_files]))
    if not inputs:
        print("no input found")
        return 1

    print(f"python {sys.version.split()[0]}, {machine_note(args.cpu)}")
    header = (
        f"{'input':<10} {'MB':>7} {'articles':>9} {'quotes':>8} {'seconds':>8} {'articles/s':>11} {'MB/s':>7}  target"
    )
    print(header)
    print("-" * len(header))
    for name, units in inputs:
        text = build_input(units, args.mb)
        mb = len(text.encode("utf-8")) / 1e6
        n_articles = len(split_articles(text))
        extractor = QuoteExtractor()  # loads the gazetteer (once per process): not timed
        t0 = time.perf_counter()
        records = extractor.extract(text, name)
        seconds = time.perf_counter() - t0
        rate = mb / seconds
        met = f"met ({args.target:g} MB/s)" if rate >= args.target else f"NOT met ({args.target:g} MB/s)"
        print(
            f"{name:<10} {mb:7.2f} {n_articles:9d} {len(records):8d} {seconds:8.2f} "
            f"{n_articles / seconds:11.0f} {rate:7.2f}  {met}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
