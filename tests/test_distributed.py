"""Distributed scoring with Dask (`kstance score --engine dask`, kstance.distributed), on the tiny model.

One LocalCluster of two worker processes (one thread each) serves the module; every test keeps
its inputs small. Skipped where dask is not installed.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("dask.distributed")

import pandas as pd  # noqa: E402  (after the skip: pandas comes with dask[dataframe])
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from kstance import distributed as kd  # noqa: E402
from kstance.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cluster():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=logging.CRITICAL)
    client = distributed.Client(cluster)
    try:
        yield cluster, client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """A folder of statement tables in three formats, with the awkward rows `kstance score` handles:
    an empty text, a malformed line, a row with no text field, a None speaker."""
    d = tmp_path_factory.mktemp("tables") / "in"
    d.mkdir()
    rows = [json.loads(line) for line in (ROOT / "data" / "corpus" / "test.jsonl").open(encoding="utf-8")][:90]
    rows = [{k: r.get(k) for k in ("id", "text", "speaker", "source", "context")} for r in rows]
    rows[3]["text"] = "   "
    rows[4]["speaker"] = None
    with open(d / "a.jsonl", "w", encoding="utf-8") as fh:
        for r in rows[:35]:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        fh.write("{oops\n\n" + json.dumps({"id": "no-text", "speaker": "x"}) + "\n")
    pq.write_table(pa.Table.from_pylist(rows[35:65]), d / "b.parquet", row_group_size=7)
    with open(d / "c.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "text", "speaker", "source", "context"])
        w.writeheader()
        w.writerows(rows[65:])
    return d


@pytest.fixture(scope="module")
def single(tables, tiny_model, tmp_path_factory):
    """Single-process `kstance score` on the same files (the folder's files in name order)."""
    out = tmp_path_factory.mktemp("single") / "single.jsonl"
    files = sorted(str(p) for p in tables.iterdir())
    assert main(["score", *files, "-o", str(out), "--model", str(tiny_model), "--quiet"]) == 1  # bad rows
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def assert_same(single_rows: list[dict], out_dir: Path) -> pd.DataFrame:
    """Row for row: same rows, same order, same fields and labels; probabilities within 1e-5."""
    df = pd.read_parquet(out_dir)
    assert df.index.name == kd.POS and df.index.is_monotonic_increasing
    got = df.to_dict("records")
    assert len(got) == len(single_rows)
    for s, d in zip(single_rows, got):
        for k, v in s.items():
            if k.endswith("_probs"):
                probs = json.loads(d[k])
                assert probs.keys() == v.keys()
                assert all(abs(probs[lab] - v[lab]) <= 1e-5 for lab in v), (s.get("id"), k)
            elif v is None:
                assert d[k] is None or pd.isna(d[k]), (s.get("id"), k)
            else:
                assert d[k] == v, (s.get("id"), k, d[k], v)
        for k in set(d) - set(s):  # columns this row lacks in JSONL output are null
            assert d[k] is None or pd.isna(d[k]), (s.get("id"), k, d[k])
    return df


def test_single_machine_scoring_never_imports_dask():
    code = "import kstance.cli, kstance.scoring, kstance.predict, sys; assert 'dask' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_cli_dask_engine_matches_single_process(tables, single, tiny_model, cluster, tmp_path, capsys):
    _, client = cluster
    out = tmp_path / "scored"
    args = ["score", str(tables), "-o", str(out), "--model", str(tiny_model), "--engine", "dask",
            "--scheduler", cluster[0].scheduler_address, "--quiet"]
    assert main(args + ["--partitions", "5"]) == 1  # like the single run: some rows have errors
    err = capsys.readouterr().err
    assert "a.jsonl:36: malformed JSON" in err and "row(s) could not be scored" in err
    df = assert_same(single, out)
    assert df.loc[df["id"] == "no-text", "error"].tolist() == ["no 'text' field"]
    assert len(list(out.glob("part.*.parquet"))) >= 5
    # the model is loaded once per worker process, not once per partition
    loads = client.run(kd._model_loads)
    assert all(len(v) <= 1 for v in loads.values()) and sum(map(len, loads.values())) >= 1
    # default partitioning (--chunk-size rows) and replacing an earlier result: same rows, and the
    # same input positions (file number * 2**39 + row in the file), whatever the partitioning
    assert main(args + ["--chunk-size", "16"]) == 1
    again = assert_same(single, out)
    assert again.index.tolist() == df.index.tolist()
    assert [(p >> 39, p & (2**39 - 1)) for p in df.index[[0, 36, 37, 67]]] == [(0, 0), (0, 36), (1, 0), (2, 0)]
    # a folder that is not a kstance dataset is never replaced; usage errors exit 2
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    assert main(["score", str(tables), "-o", str(other), "--engine", "dask", "--model", str(tiny_model)]) == 2
    assert (other / "notes.txt").read_text() == "keep me"
    assert main(["score", str(tables), "-o", str(out), "--engine", "dask", "--resume"]) == 2
    assert main(["score", str(tables), "-o", str(tmp_path / "x.jsonl"), "--partitions", "3"]) == 2
    assert "need --engine dask" in capsys.readouterr().err


def test_articles_on_a_local_cluster_match_single_process(tiny_model, tmp_path):
    """`.txt` articles, extracted on the workers; no --scheduler: the command starts its own cluster."""
    files = sorted(str(p) for p in (ROOT / "examples" / "articles").glob("*.txt"))
    assert main(["score", *files, "-o", str(tmp_path / "single.jsonl"), "--model", str(tiny_model), "--quiet"]) == 0
    single_rows = [json.loads(line) for line in (tmp_path / "single.jsonl").read_text(encoding="utf-8").splitlines()]
    out = tmp_path / "articles"
    glob_arg = str(ROOT / "examples" / "articles" / "*.txt")
    assert main(["score", glob_arg, "-o", str(out), "--model", str(tiny_model), "--engine", "dask",
                 "--partitions", "3", "--quiet"]) == 0
    df = assert_same(single_rows, out)
    assert (df["scored"] == False).any() and df.loc[df["scored"] == False, "stance"].isna().all()  # noqa: E712


def test_score_dataframe_on_a_users_dataframe(tiny_model, cluster):
    from kstance.predict import StanceClassifier

    texts = [f"We will respond to provocation number {i}." * (i % 3 + 1) for i in range(23)]
    pdf = pd.DataFrame({"text": texts, "source": ["PRK", "USA", None] * 7 + ["KOR", None]})
    ddf = dd.from_pandas(pdf, npartitions=3)
    got = kd.score_dataframe(ddf, tiny_model).compute()
    assert got.index.tolist() == list(range(23)) and got["text"].tolist() == texts
    want = StanceClassifier.load(tiny_model).score_batch([{k: v for k, v in r.items() if v is not None}
                                                          for r in pdf.to_dict("records")])
    assert got["stance"].tolist() == [r["stance"] for r in want]
    assert got["target"].tolist() == [r["target"] for r in want]
    for g, w in zip(got["stance_probs"], want):
        assert json.loads(g) == pytest.approx(w["stance_probs"], abs=1e-5)
    with pytest.raises(ValueError, match="no 'text' column"):
        kd.score_dataframe(dd.from_pandas(pd.DataFrame({"quote": ["x"]}), npartitions=1), tiny_model)


def _kill_in_partition(number: int, marker: str | None):
    """A partition function that kills its worker process (os._exit) in partition ``number``:
    on the first attempt only when ``marker`` names a file to create, else on every attempt."""

    def hook(df, partition_info=None):
        if partition_info is not None and partition_info["number"] == number:
            if marker is None:
                os._exit(1)
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return df
            os.close(fd)
            os._exit(1)
        return df

    return hook


def test_a_worker_that_dies_mid_run_loses_no_rows(tables, single, tiny_model, cluster, tmp_path):
    _, client = cluster
    marker = tmp_path / "died-once"
    ddf = kd.read_inputs(tables, partitions=6)
    assert ddf.npartitions >= 6
    doomed = ddf.map_partitions(_kill_in_partition(2, str(marker)), meta=ddf._meta)
    out = tmp_path / "scored"
    summary = kd.score_to_parquet(client, doomed, out, tiny_model)
    assert marker.exists()  # a worker process really died while the run was in flight
    assert summary.rows == len(single) and summary.partitions == ddf.npartitions
    df = assert_same(single, out)
    assert df.index.is_unique  # every row exactly once
    client.wait_for_workers(2, timeout=60)


def test_a_worker_that_keeps_dying_fails_cleanly(tables, tiny_model, cluster, tmp_path):
    local, client = cluster
    out = tmp_path / "scored"
    kd.score_to_parquet(client, tables / "b.parquet", out, tiny_model)  # an earlier, complete result
    before = sorted((p.name, p.read_bytes()) for p in out.iterdir())
    ddf = kd.read_inputs(tables, partitions=4)
    doomed = ddf.map_partitions(_kill_in_partition(1, None), meta=ddf._meta)
    allowed = local.scheduler.allowed_failures
    local.scheduler.allowed_failures = 0  # give up on the first death (default: 3 retries)
    try:
        with pytest.raises(kd.DistributedScoringError, match="worker process died.*no output written"):
            kd.score_to_parquet(client, doomed, out, tiny_model)
    finally:
        local.scheduler.allowed_failures = allowed
    assert sorted((p.name, p.read_bytes()) for p in out.iterdir()) == before  # the earlier result is intact
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no partial dataset left
    fresh = tmp_path / "fresh"
    with pytest.raises(kd.DistributedScoringError):
        local.scheduler.allowed_failures = 0
        try:
            kd.score_to_parquet(client, doomed, fresh, tiny_model)
        finally:
            local.scheduler.allowed_failures = allowed
    assert not fresh.exists()
    client.wait_for_workers(2, timeout=60)
