"""Scoring: the Python API and `kstance score` / `kstance summarize`, on the tiny fast model."""

import csv
import json
from pathlib import Path

import pytest

from kstance.cli import main
from kstance.model import ModelDirError
from kstance.predict import StanceClassifier

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def clf(tiny_model):
    return StanceClassifier.load(tiny_model)


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_predict_one_and_many_keeps_order(clf):
    one = clf.predict("We will respond mercilessly.")
    assert one["stance"] in clf.settings.stance_labels and one["target"] in clf.settings.target_labels
    assert abs(sum(one["stance_probs"].values()) - 1) < 1e-5
    texts = ["Short.", "A much longer statement " * 20, "Medium length statement here."]
    many = clf.predict(texts, speakers=["KCNA", None, "a spokesperson"], sources=["PRK", None, "USA"])
    assert [r["text"] for r in many] == texts
    # the batch result equals one-at-a-time results: sorting by length never mixes rows up
    for t, r in zip(texts, many):
        single = clf.predict([t], speakers=[r.get("speaker")], sources=[r.get("source")])[0]
        assert single["stance_probs"] == pytest.approx(r["stance_probs"], abs=1e-5)
    with pytest.raises(ValueError, match="speakers has 1 items but texts has 3"):
        clf.predict(texts, speakers=["x"])


def test_score_records_streams_in_chunks_in_order(clf):
    recs = [{"id": str(i), "text": "word " * (i % 37 + 1)} for i in range(300)]
    out = list(clf.score_records(iter(recs), batch_size=16, chunk_size=64))
    assert [r["id"] for r in out] == [r["id"] for r in recs]
    direct = clf.score_batch(recs)
    assert [r["stance"] for r in out] == [r["stance"] for r in direct]


def test_broken_model_directory_names_the_file(tmp_path, tiny_model):
    with pytest.raises(ModelDirError, match="not found"):
        StanceClassifier.load(tmp_path / "nope")
    import shutil
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    (broken / "kstance.json").write_text("{not json")
    with pytest.raises(ModelDirError, match=r"kstance.json: not valid JSON"):
        StanceClassifier.load(broken)
    (broken / "kstance.json").write_text((tiny_model / "kstance.json").read_text())
    (broken / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelDirError, match="model.safetensors"):
        StanceClassifier.load(broken)


def test_score_cli_formats_errors_and_exit_code(tmp_path, tiny_model, capsys):
    good = tmp_path / "good.jsonl"
    good.write_text('{"id": "a", "text": "We will strike back.", "source": "PRK", "extra": 7}\n'
                    '{"id": "b", "text": "   "}\n'
                    '{"id": "c", "text": "' + "very long words " * 200 + '"}\n')
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("id,quote\n1,hello\n")
    badjson = tmp_path / "bad.jsonl"
    badjson.write_text('{"id": "x", "text": "fine"}\n{oops\n')
    out = tmp_path / "out.csv"
    code = main(["score", str(good), str(nocol), str(badjson), "-o", str(out), "--model", str(tiny_model), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "nocol.csv: no 'text' column (columns found: id, quote)" in err
    assert "bad.jsonl:2: malformed JSON" in err
    assert "1 statement(s) longer than" in err
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    by_id = {r["id"]: r for r in rows}
    assert by_id["a"]["extra"] == "7" and by_id["a"]["stance"]  # every input field kept
    assert by_id["b"]["error"] == "empty text"  # never a silent drop
    assert "x" in by_id  # the good line before the malformed one was written
    assert any(r["error"].endswith("bad.jsonl:2: malformed JSON (Expecting property name enclosed in double quotes at column 2)") for r in rows if r["error"])
    assert json.loads(by_id["a"]["stance_probs"]).keys() == set(StanceClassifier.load(tiny_model).settings.stance_labels)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_interrupted_run_resumes_to_the_same_result(tmp_path, tiny_model, monkeypatch, suffix):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "text": f"statement number {i} " * (i % 5 + 1)}) + "\n"
                           for i in range(50)))
    full = tmp_path / f"full{suffix}"
    args = ["--model", str(tiny_model), "--quiet", "--chunk-size", "8"]
    assert main(["score", str(src), "-o", str(full)] + args) == 0
    out = tmp_path / f"out{suffix}"
    out.write_text("an earlier result that must survive the failed run")
    real = StanceClassifier.score_batch
    calls = {"n": 0}

    def flaky(self, records, batch_size=32):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt  # interrupted while scoring the fourth chunk
        return real(self, records, batch_size)

    monkeypatch.setattr(StanceClassifier, "score_batch", flaky)
    assert main(["score", str(src), "-o", str(out)] + args) == 130
    monkeypatch.setattr(StanceClassifier, "score_batch", real)
    assert out.read_text() == "an earlier result that must survive the failed run"
    partial = tmp_path / f"out.partial{suffix}"
    assert partial.exists()
    assert main(["score", str(src), "-o", str(out), "--resume"] + args) == 0
    assert not partial.exists()
    assert out.read_bytes() == full.read_bytes()


def test_parquet_round_trip(tmp_path, tiny_model):
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": ["1", "2"], "text": ["We urge talks.", "They will pay."], "date": ["2019-09", "2019-10"]}), src)
    out = tmp_path / "out.parquet"
    assert main(["score", str(src), "-o", str(out), "--model", str(tiny_model), "--quiet"]) == 0
    rows = pq.read_table(out).to_pylist()
    assert [r["id"] for r in rows] == ["1", "2"] and all(r["stance"] for r in rows)


def test_articles_are_extracted_then_scored(tmp_path, tiny_model):
    art = ROOT / "examples" / "articles" / "01_seoul_door_open.txt"
    out = tmp_path / "a.jsonl"
    assert main(["score", str(art), "-o", str(out), "--model", str(tiny_model), "--quiet"]) == 0
    rows = read_jsonl(out)
    assert len(rows) == 12
    scored = [r for r in rows if "stance" in r]
    unscored = [r for r in rows if r.get("scored") is False]
    assert scored and unscored and len(scored) + len(unscored) == 12
    assert all(r["official"] and not r["fragment"] for r in scored)
    out2 = tmp_path / "b.jsonl"
    assert main(["score", str(art), "-o", str(out2), "--model", str(tiny_model), "--quiet", "--all-quotes"]) == 0
    assert all("stance" in r for r in read_jsonl(out2))


def test_onnx_backend_agrees_with_fp32(tiny_model):
    a = StanceClassifier.load(tiny_model)
    b = StanceClassifier.load(tiny_model, backend="onnx")
    rows = [json.loads(line) for line in (ROOT / "tests" / "data" / "tiny_dev.jsonl").read_text().splitlines()]
    pa_, pb_ = a.score_batch(rows), b.score_batch(rows)
    for x, y in zip(pa_, pb_):
        assert x["stance_probs"] == pytest.approx(y["stance_probs"], abs=0.02)


def test_summarize_counts_dyads_by_month(tmp_path):
    scored = tmp_path / "s.jsonl"
    rows = [
        {"source": "PRK", "target": "USA", "stance": "threatening", "date": "2019-09-10"},
        {"source": "PRK", "target": "USA", "stance": "threatening", "date": "2019-09-12"},
        {"source": "PRK", "target": "USA", "stance": "conciliatory", "date": "2019-10-01"},
        {"source": "USA", "target": "PRK", "stance": "neutral", "date": "2019-10-02"},
        {"source": "USA", "target": "PRK", "scored": False},
    ]
    scored.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "sum"
    assert main(["summarize", str(scored), "-o", str(out)]) == 0
    dyads = {(r["source"], r["target"]): r for r in csv.DictReader(open(out / "dyads.csv"))}
    assert dyads[("PRK", "USA")]["threatening"] == "2" and dyads[("PRK", "USA")]["total"] == "3"
    assert float(dyads[("PRK", "USA")]["threatening_share"]) == pytest.approx(2 / 3, abs=1e-3)
    monthly = list(csv.DictReader(open(out / "dyads_by_month.csv")))
    sep = next(r for r in monthly if r["month"] == "2019-09")
    assert sep["threatening"] == "2" and sep["total"] == "2"
    assert (out / "dyads.png").stat().st_size > 1000


def test_a_run_whose_inputs_all_fail_keeps_the_earlier_output(tmp_path, tiny_model):
    out = tmp_path / "out.jsonl"
    out.write_text('{"kept": true}\n')
    assert main(["score", str(tmp_path / "missing.jsonl"), "-o", str(out), "--model", str(tiny_model), "--quiet"]) == 1
    assert out.read_text() == '{"kept": true}\n'
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob("*.partial.*"))
