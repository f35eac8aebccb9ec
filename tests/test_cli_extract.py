"""`kstance extract` on good and bad input: one-line errors, other files still processed, atomic output."""

import json
import subprocess
import sys
from pathlib import Path

from kstance.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOOD = ROOT / "examples" / "articles" / "01_seoul_door_open.txt"


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_bad_files_give_one_line_errors_and_the_good_file_is_still_processed(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x00\x01\x02\xff" * 100)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Caf\xe9 \u201cquote\u201d".encode("latin-1", errors="replace"))
    marks = tmp_path / "marks.txt"
    marks.write_text("“”“”\"\"‘’" * 50)
    html = tmp_path / "nav.html"
    html.write_text("<html><body><nav><a href='/'>Home</a></nav></body></html>")
    out = tmp_path / "q.jsonl"
    code = main(["extract", str(empty), str(binary), str(latin), str(marks), str(html), str(GOOD), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 1  # some inputs failed
    assert "binary.txt: looks like a binary file" in err
    assert "latin.txt:1: not UTF-8 text" in err
    assert "nav.html: no article text found" in err
    assert "Traceback" not in err
    for line in err.strip().splitlines():
        assert line.startswith("kstance: ")
    recs = read_jsonl(out)
    assert len(recs) == 12 and {r["article"] for r in recs} == {GOOD.name}


def test_a_failed_run_leaves_the_earlier_output_intact(tmp_path):
    out = tmp_path / "q.jsonl"
    out.write_text('{"kept": true}\n')
    code = main(["extract", "--quiet", str(tmp_path / "missing.txt"), "-o", str(out)])
    assert code == 1
    # every input failed: the earlier result is kept as it was
    assert out.read_text() == '{"kept": true}\n'
    assert not list(tmp_path.glob("*.part"))


def test_large_file_is_processed(tmp_path):
    text = GOOD.read_text(encoding="utf-8")
    big = tmp_path / "big.txt"
    reps = 20 * 1000 * 1000 // len(text.encode()) + 1
    big.write_text("\n\n".join([text] * reps), encoding="utf-8")
    out = tmp_path / "big.jsonl"
    assert main(["extract", "--quiet", str(big), "-o", str(out)]) == 0
    assert sum(1 for _ in open(out, encoding="utf-8")) == 12 * reps


def test_jsonl_articles_and_html(tmp_path):
    arts = tmp_path / "arts.jsonl"
    arts.write_text(json.dumps({"id": "a1", "text": GOOD.read_text(encoding="utf-8"), "date": "2024-03-12"}) + "\n"
                    + "{not json\n")
    out = tmp_path / "o.csv"
    code = main(["extract", str(arts), "-o", str(out)])
    assert code == 1  # the malformed second line is reported
    import csv
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert len(rows) == 12 and rows[0]["date"] == "2024-03-12" and rows[0]["article"] == "a1"
    page = tmp_path / "page.html"
    body = "".join(f"<p>{p}</p>" for p in GOOD.read_text(encoding="utf-8").split("\n\n")[1:])
    page.write_text(f"<html><head><title>Talks</title></head><body><article><h1>Seoul keeps door open</h1>{body}"
                    f"</article></body></html>", encoding="utf-8")
    out2 = tmp_path / "h.jsonl"
    assert main(["extract", "--quiet", str(page), "-o", str(out2)]) == 0
    recs = read_jsonl(out2)
    assert len(recs) >= 10 and any(r["speaker"] == "Kim Tae Ho" for r in recs)


def test_console_script_runs():
    res = subprocess.run([sys.executable, "-m", "kstance.cli", "extract", str(GOOD)], capture_output=True, text=True)
    assert res.returncode == 0
    assert len(res.stdout.strip().splitlines()) == 12
