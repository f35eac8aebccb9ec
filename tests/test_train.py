"""Training on the fast config: a 2-layer BERT built on the fly with the real tokenizer."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file

from train.__main__ import main as train_main
from train.config import ConfigError, config_from_dict, load_config

ROOT = Path(__file__).resolve().parent.parent
FAST = ROOT / "configs" / "fast.yaml"


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "fast"
    assert train_main([str(FAST), "--out", str(out), "--no-progress"]) == 0
    return out


def test_run_folder_holds_config_log_metrics_checkpoints_and_model(fast_run):
    for name in ("config.yaml", "log.txt", "metrics.jsonl", "summary.json", "model/kstance.json",
                 "model/model.safetensors", "model/README.md", "checkpoints/epoch-1/state.json"):
        assert (fast_run / name).is_file(), name
    history = [json.loads(line) for line in (fast_run / "metrics.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2]
    settings = json.loads((fast_run / "model" / "kstance.json").read_text())
    assert settings["stance_labels"][0] == "threatening" and "NONE" in settings["target_labels"]
    assert set(settings["calibration"]) >= {"temperatures", "ece_before", "ece_after"}
    assert "| dev |" in (fast_run / "model" / "README.md").read_text()


def test_the_model_learns_the_tiny_training_set(fast_run):
    # a few steps on 24 rows: training loss falls
    history = [json.loads(line) for line in (fast_run / "metrics.jsonl").read_text().splitlines()]
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_save_load_predict_gives_identical_probabilities(fast_run):
    from kstance.predict import StanceClassifier
    from train.trainer import predict_logits
    from kstance.model import load_model_dir

    clf = StanceClassifier.load(fast_run / "model")
    texts = ["We will respond mercilessly.", "We welcome the talks.", "The launch was at 7 a.m."]
    a = clf.predict(texts, sources=["PRK", "USA", None])
    b = StanceClassifier.load(fast_run / "model").predict(texts, sources=["PRK", "USA", None])
    assert [r["stance_probs"] for r in a] == [r["stance_probs"] for r in b]
    for r in a:
        assert abs(sum(r["stance_probs"].values()) - 1) < 1e-5 and abs(sum(r["target_probs"].values()) - 1) < 1e-5
    # the loaded model gives the logits the in-memory model gave at export (fp32 on disk here)
    model, tok, settings = load_model_dir(fast_run / "model")
    rows = [{"text": t} for t in texts]
    s1, _ = predict_logits(model, tok, settings, rows)
    s2, _ = clf.logits(rows)
    assert np.allclose(s1, s2, atol=1e-6)


def test_resume_after_interruption_gives_the_same_weights(fast_run, tmp_path):
    # simulate an interruption after epoch 1: keep only the first checkpoint and metrics line
    partial = tmp_path / "partial"
    shutil.copytree(fast_run, partial)
    shutil.rmtree(partial / "checkpoints" / "epoch-2")
    shutil.rmtree(partial / "model")
    lines = (partial / "metrics.jsonl").read_text().splitlines()
    (partial / "metrics.jsonl").write_text(lines[0] + "\n")
    assert train_main([str(FAST), "--out", str(partial), "--resume", "--no-progress"]) == 0
    a = load_file(str(fast_run / "checkpoints" / "epoch-2" / "model.safetensors"))
    b = load_file(str(partial / "checkpoints" / "epoch-2" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert (a[k] == b[k]).all(), k


def test_same_seed_gives_same_metrics(fast_run, tmp_path):
    assert train_main([str(FAST), "--out", str(tmp_path / "again"), "--no-progress"]) == 0
    first = [json.loads(line)["dev"] for line in (fast_run / "metrics.jsonl").read_text().splitlines()]
    second = [json.loads(line)["dev"] for line in (tmp_path / "again" / "metrics.jsonl").read_text().splitlines()]
    assert first == second


def test_an_existing_run_folder_is_never_overwritten(fast_run):
    with pytest.raises(SystemExit, match="exists"):
        train_main([str(FAST), "--out", str(fast_run), "--no-progress"])


def test_bad_config_fails_with_the_field_named(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown keys \['learning_rat'\]"):
        config_from_dict({"learning_rat": 0.1})
    with pytest.raises(ConfigError, match="field 'epochs': expected an integer"):
        config_from_dict({"epochs": "four"})
    with pytest.raises(ConfigError, match="field 'class_balance'"):
        config_from_dict({"class_balance": "always"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: 0\n")
    with pytest.raises(ConfigError, match=f"{bad}.*epochs"):
        load_config(bad)
    # scientific notation that plain YAML reads as a string is accepted as a number
    assert config_from_dict({"learning_rate": "2e-05"}).learning_rate == 2e-05


def test_bad_data_row_stops_the_run_before_training(tmp_path, capsys):
    rows = [json.loads(line) for line in (ROOT / "tests" / "data" / "tiny_train.jsonl").read_text().splitlines()]
    rows[3]["stance"] = "angry"
    rows[5]["text"] = "   "
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(FAST.read_text().replace("tests/data/tiny_train.jsonl", str(bad)))
    code = train_main([str(cfg), "--out", str(tmp_path / "run"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{bad}:4: field 'stance': unknown label 'angry'" in err
    assert f"{bad}:6: field 'text': empty" in err
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_missing_text_column_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,quote,stance,target\n1,hello,neutral,NONE\n")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(FAST.read_text().replace("tests/data/tiny_train.jsonl", str(bad)))
    assert train_main([str(cfg), "--out", str(tmp_path / "run"), "--no-progress"]) == 1
    assert "no 'text' column (columns found: id, quote, stance, target)" in capsys.readouterr().err
