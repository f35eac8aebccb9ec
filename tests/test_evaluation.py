"""The evaluation harness: figures known by hand, bootstrap behaviour, the CLI end to end, --cv.

Hand-made data and fixed probability arrays stand in for models where the right figures can be
worked out on paper; the fast config's tiny model runs the command line end to end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evaluation.harness import EvalData, compare_models, figures, read_eval_file, run_evaluation
from evaluation.metrics import (accuracy, bootstrap_interval, bootstrap_indices, confusion_batch, ece_batch,
                                expected_calibration_error, macro_f1, macro_f1_from_confusion)
from kstance.labels import load_labels

ROOT = Path(__file__).resolve().parent.parent
FAST = ROOT / "configs" / "fast.yaml"
TINY_DEV = ROOT / "tests" / "data" / "tiny_dev.jsonl"
LABELS = load_labels()
S, T = list(LABELS.stance), list(LABELS.targets)


class FixedPredictor:
    """A stand-in model: fixed probability arrays, whatever the rows."""

    def __init__(self, ps, pt):
        self.ps, self.pt = np.asarray(ps, dtype=float), np.asarray(pt, dtype=float)

    def predict_proba(self, rows):
        assert len(rows) == len(self.ps)
        return self.ps, self.pt


def onehot(labels: list[str], names: list[str]) -> np.ndarray:
    return np.eye(len(names))[[names.index(x) for x in labels]]


def rows_for(stances: list[str], targets: list[str]) -> list[dict]:
    return [{"id": f"r{i}", "text": f"quote {i}", "stance": s, "target": t, "source": "PRK" if i % 2 else "USA",
             "official": i % 3 != 0, "fragment": i % 4 == 0}
            for i, (s, t) in enumerate(zip(stances, targets))]


def headline(metrics: dict, system: str = "model", data: str = "hand") -> dict:
    return {k: v["value"] for k, v in metrics["datasets"][data]["systems"][system]["headline"].items()}


# -- figures known by hand ----------------------------------------------------------------------------

GOLD_S = ["threatening", "threatening", "demanding", "demanding", "conciliatory", "conciliatory", "neutral", "neutral"]
GOLD_T = ["USA", "USA", "KOR", "KOR", "PRK", "PRK", "NONE", "NONE"]


def test_a_perfect_model_scores_one_everywhere():
    rows = rows_for(GOLD_S, GOLD_T)
    m = run_evaluation(FixedPredictor(onehot(GOLD_S, S), onehot(GOLD_T, T)), [EvalData("hand", "h.jsonl", rows)],
                       bootstrap=200, log=None)
    h = m["datasets"]["hand"]["systems"]["model"]["headline"]
    for key in ("stance_macro_f1", "stance_accuracy", "target_accuracy", "target_macro_f1", "both_accuracy"):
        assert h[key] == {"value": 1.0, "ci": [1.0, 1.0]}, key
    assert h["stance_ece"]["value"] == 0.0  # one-hot and always right: perfectly calibrated
    conf = np.array(m["datasets"]["hand"]["systems"]["model"]["stance"]["confusion"])
    assert (conf == np.diag([2, 2, 2, 2])).all()
    assert m["datasets"]["hand"]["confident_mistakes"]["model"] == {"stance": [], "target": []}
    for groups in m["datasets"]["hand"]["breakdowns"]["model"].values():
        assert all(g["stance_accuracy"]["value"] == 1.0 for g in groups.values())


def test_a_model_that_always_says_neutral():
    # 10 rows: 4 neutral, 2 of each other stance. Neutral: precision 4/10, recall 1, F1 = 0.8/1.4 = 4/7;
    # the three other labels occur in gold and score 0, so macro-F1 = (4/7)/4 = 1/7; accuracy 0.4.
    stances = ["neutral"] * 4 + ["threatening"] * 2 + ["demanding"] * 2 + ["conciliatory"] * 2
    targets = ["PRK"] * 10
    ps = np.tile([0.1, 0.1, 0.1, 0.7], (10, 1))
    m = run_evaluation(FixedPredictor(ps, onehot(targets, T)), [EvalData("hand", "h.jsonl", rows_for(stances, targets))],
                       bootstrap=200, log=None)
    h = headline(m)
    assert h["stance_accuracy"] == pytest.approx(0.4)
    assert h["stance_macro_f1"] == pytest.approx(1 / 7)
    assert h["stance_ece"] == pytest.approx(0.3)  # confidence 0.7 in one bin, accuracy 0.4
    assert h["both_accuracy"] == pytest.approx(0.4)
    per = m["datasets"]["hand"]["systems"]["model"]["stance"]["per_label"]
    assert per["neutral"] == {"precision": pytest.approx(0.4), "recall": 1.0, "f1": pytest.approx(4 / 7), "support": 4}
    assert per["threatening"]["f1"] == 0.0
    # every mistake is at 0.7, gold probability 0.1
    mistakes = m["datasets"]["hand"]["confident_mistakes"]["model"]["stance"]
    assert len(mistakes) == 6 and all(x["predicted"] == "neutral" and x["probability"] == 0.7 for x in mistakes)


def test_a_known_confusion():
    # stance predictions: one threat read as a demand, one conciliatory quote read as neutral.
    #   threatening P 1/1 R 1/2 F1 2/3; demanding P 2/3 R 1 F1 4/5; conciliatory 2/3; neutral 4/5
    #   macro-F1 = (2/3 + 4/5 + 2/3 + 4/5) / 4 = 11/15; accuracy 6/8.
    # target predictions: the last two rows wrong (NONE -> USA): accuracy 6/8; both right 4/8
    #   (rows 1 and 5 have the stance errors, rows 6 and 7 the target errors).
    pred_s = ["threatening", "demanding", "demanding", "demanding", "conciliatory", "neutral", "neutral", "neutral"]
    pred_t = GOLD_T[:6] + ["USA", "USA"]
    m = run_evaluation(FixedPredictor(onehot(pred_s, S), onehot(pred_t, T)),
                       [EvalData("hand", "h.jsonl", rows_for(GOLD_S, GOLD_T))], bootstrap=200, log=None)
    h = headline(m)
    assert h["stance_macro_f1"] == pytest.approx(11 / 15)
    assert h["stance_accuracy"] == pytest.approx(0.75)
    assert h["target_accuracy"] == pytest.approx(0.75)
    # target: USA P 2/4 R 1 F1 2/3; KOR 1; PRK 1; NONE P 0 R 0 F1 0 -> (2/3 + 1 + 1 + 0) / 4
    assert h["target_macro_f1"] == pytest.approx((2 / 3 + 2) / 4)
    assert h["both_accuracy"] == pytest.approx(4 / 8)
    conf = m["datasets"]["hand"]["systems"]["model"]["stance"]["confusion"]
    assert conf == [[1, 1, 0, 0], [0, 2, 0, 0], [0, 0, 1, 1], [0, 0, 0, 2]]
    for fig in m["datasets"]["hand"]["systems"]["model"]["headline"].values():
        assert 0.0 <= fig["ci"][0] <= fig["ci"][1] <= 1.0


def test_vectorised_replicates_equal_the_scalar_metrics():
    rng = np.random.default_rng(3)
    n = 57
    gold = rng.integers(0, 4, n)
    probs = rng.dirichlet(np.ones(4), n)
    pred = probs.argmax(1)
    idx = bootstrap_indices(n, reps=40, seed=5)
    cm = confusion_batch(gold, pred, 4, idx)
    for r in range(40):
        i = idx[r]
        assert macro_f1_from_confusion(cm[r]) == pytest.approx(macro_f1(gold[i], pred[i], 4))
    assert ece_batch(probs, gold, idx) == pytest.approx([expected_calibration_error(probs[i], gold[i]) for i in idx])
    # the harness's interval is the one bootstrap_interval gives for the same seed
    got = figures(gold, gold, probs, probs, reps=300, seed=9)["stance_macro_f1"]["ci"]
    want = bootstrap_interval(lambda i: macro_f1(gold[i], pred[i], 4), n, reps=300, seed=9)
    assert got == pytest.approx(list(want))


def test_bootstrap_interval_narrows_as_data_grows():
    def width(n):
        gold = np.tile([0, 1, 2, 3, 0], n // 5)
        pred = gold.copy()
        pred[::5] = 1  # 80% right at every size
        probs = np.eye(4)[pred]
        fig = figures(gold, gold, probs, probs, reps=500, seed=0)["stance_accuracy"]
        assert fig["value"] == pytest.approx(0.8)
        return fig["ci"][1] - fig["ci"][0]

    w = [width(n) for n in (20, 200, 2000)]
    assert w[0] > w[1] > w[2] > 0


def test_intervals_are_seeded():
    rows = rows_for(GOLD_S, GOLD_T)
    pred = FixedPredictor(onehot(GOLD_S[::-1], S), onehot(GOLD_T, T))
    a = run_evaluation(pred, [EvalData("hand", "h.jsonl", rows)], bootstrap=300, seed=4, log=None)
    b = run_evaluation(pred, [EvalData("hand", "h.jsonl", rows)], bootstrap=300, seed=4, log=None)
    c = run_evaluation(pred, [EvalData("hand", "h.jsonl", rows)], bootstrap=300, seed=5, log=None)
    assert json.dumps(a) == json.dumps(b)
    assert json.dumps(a) != json.dumps(c)


def test_paired_bootstrap_sign():
    rng = np.random.default_rng(0)
    n = 200
    gs = rng.integers(0, 4, n)
    gt = rng.integers(0, 9, n)
    good_s = np.where(rng.random(n) < 0.9, gs, (gs + 1) % 4)
    bad_s = np.where(rng.random(n) < 0.5, gs, (gs + 1) % 4)
    good_t = np.where(rng.random(n) < 0.9, gt, (gt + 1) % 9)
    bad_t = np.where(rng.random(n) < 0.5, gt, (gt + 1) % 9)
    good = (np.eye(4)[good_s], np.eye(9)[good_t])
    bad = (np.eye(4)[bad_s], np.eye(9)[bad_t])
    better = compare_models(gs, gt, good, bad, reps=300)
    worse = compare_models(gs, gt, bad, good, reps=300)
    for key in ("stance_macro_f1", "target_accuracy"):
        assert better[key]["diff"] > 0 and better[key]["ci"][0] > 0 and better[key]["p"] < 0.05
        assert worse[key]["diff"] == pytest.approx(-better[key]["diff"]) and worse[key]["ci"][1] < 0
        assert better[key]["model"] - better[key]["compare"] == pytest.approx(better[key]["diff"])
    same = compare_models(gs, gt, good, good, reps=100)
    assert same["stance_macro_f1"]["diff"] == 0.0 and same["stance_macro_f1"]["p"] == 1.0


def test_comparison_inside_a_run():
    rows = rows_for(GOLD_S, GOLD_T)
    perfect = FixedPredictor(onehot(GOLD_S, S), onehot(GOLD_T, T))
    neutral = FixedPredictor(onehot(["neutral"] * 8, S), onehot(["USA"] * 8, T))
    m = run_evaluation(perfect, [EvalData("hand", "h.jsonl", rows)], compare=neutral, bootstrap=200, log=None)
    comp = m["datasets"]["hand"]["comparison"]
    assert comp["stance_macro_f1"]["diff"] > 0 and comp["target_accuracy"]["diff"] == pytest.approx(0.75)
    assert set(m["datasets"]["hand"]["breakdowns"]) == {"model", "compare"}


# -- baselines ------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 11 near-identical rows
def test_cheap_baselines_on_hand_rows():
    from evaluation.baselines import LexiconBaseline, make_baselines

    lex = LexiconBaseline()
    assert S[lex.stance_of("If they dare, they will pay dearly; we demand an apology.")[0]] == "threatening"
    assert S[lex.stance_of("We urge Pyongyang to return to talks.")[0]] == "demanding"
    assert S[lex.stance_of("We welcome the visit.")[0]] == "conciliatory"
    assert S[lex.stance_of("The launch took place at 7 a.m.")[0]] == "neutral"
    # the speaker's own side is never the target; "us" is not the United States
    assert T[lex.target_of("Seoul must stop the drills with us.", "PRK")[0]] == "KOR"
    assert T[lex.target_of("North Korea and the United States should talk.", "PRK")[0]] == "USA"
    assert T[lex.target_of("We call on all parties to show restraint.", "CHN")[0]] == "NONE"
    train = rows_for(GOLD_S, GOLD_T) + rows_for(["neutral"] * 3, ["PRK"] * 3)
    bs = make_baselines(["majority", "tfidf"])
    ps, pt = bs["majority"].fit(train).predict_proba(train[:2])
    assert S[ps.argmax(1)[0]] == "neutral" and T[pt.argmax(1)[0]] == "PRK"
    assert np.allclose(ps.sum(1), 1) and np.allclose(pt.sum(1), 1)
    ps, pt = bs["tfidf"].fit(train).predict_proba(train)
    assert ps.shape == (11, len(S)) and pt.shape == (11, len(T)) and np.allclose(pt.sum(1), 1)
    with pytest.raises(ValueError, match="unknown baseline"):
        make_baselines(["oracle"])


# -- data files ---------------------------------------------------------------------------------------

def test_offset_gold_is_read_from_the_seed_page(seed_text):
    rows, offsets = read_eval_file(ROOT / "data" / "seed_gold.jsonl")
    assert offsets and len(rows) == 59
    assert all(r["text"].strip() and r["stance"] in S for r in rows)
    assert all(r["text"] in seed_text for r in rows)  # the words come from the page, never from the gold file


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "evaluation", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_bad_data_file_gives_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    good = json.loads(TINY_DEV.read_text().splitlines()[0])
    bad.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "x2", "stance": "angry"}) + "\n")
    res = _cli("no/such/model", "--data", str(bad), "--out", str(tmp_path / "r"), "--baselines", "none")
    assert res.returncode == 1
    assert res.stderr.strip() == f"error: {bad}:2: field 'stance': unknown label 'angry' (known: {', '.join(S)})"
    assert not (tmp_path / "r").exists()  # the data is checked before anything is loaded or written
    res = _cli("no/such/model", "--data", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "r"))
    assert res.returncode == 1 and res.stderr.strip() == f"error: {tmp_path / 'missing.jsonl'}: file not found"
    res = _cli("no/such/model", "--data", str(TINY_DEV), "--out", str(tmp_path / "r"), "--baselines", "majority,oracle")
    assert res.returncode == 2 and "unknown baseline(s) oracle" in res.stderr


# -- the command line on the fast model ---------------------------------------------------------------

@pytest.fixture(scope="module")
def fast_model(tmp_path_factory):
    from train.__main__ import main as train_main

    out = tmp_path_factory.mktemp("evalrun") / "fast"
    assert train_main([str(FAST), "--out", str(out), "--no-progress"]) == 0
    return out


def test_cli_end_to_end(fast_model, tmp_path, capsys):
    from evaluation.__main__ import main
    from evaluation.report import cell

    out = tmp_path / "report"
    # --compare with the same model: the paired difference must be exactly zero
    assert main([str(fast_model / "model"), "--data", str(TINY_DEV), "--out", str(out), "--compare",
                 str(fast_model / "model"), "--baselines", "majority,lexicon,tfidf", "--bootstrap", "200", "--quiet"]) == 0
    assert "report:" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    report = (out / "report.md").read_text()
    assert set(metrics) == {"schema_version", "settings", "labels", "systems", "datasets"}
    assert metrics["settings"]["baselines"] == ["majority", "lexicon", "tfidf"]
    assert metrics["systems"]["model"]["kind"] == "model" and "temperatures" in metrics["systems"]["model"]
    d = metrics["datasets"]["tiny_dev"]
    assert d["n"] == 8 and list(d["systems"]) == ["model", "compare", "majority", "lexicon", "tfidf"]
    for key in ("stance_macro_f1", "target_accuracy"):
        assert d["comparison"][key]["diff"] == 0.0 and d["comparison"][key]["ci"] == [0.0, 0.0]
    assert d["systems"]["compare"] == d["systems"]["model"]
    assert "### model against compare (paired bootstrap, same rows)" in report
    assert set(d) >= {"file", "n", "offset_gold", "gold_counts", "systems", "breakdowns", "reliability",
                      "confident_mistakes", "plots"}
    assert set(d["breakdowns"]["model"]) == {"source", "official", "fragment"}
    for name, sysm in d["systems"].items():
        h = sysm["headline"]
        assert set(h) == {"stance_macro_f1", "stance_accuracy", "stance_ece", "target_accuracy",
                          "target_macro_f1", "target_ece", "both_accuracy"}
        # figures agree with the confusion matrices they come from
        cs, ct = np.array(sysm["stance"]["confusion"]), np.array(sysm["target"]["confusion"])
        assert cs.sum() == ct.sum() == 8
        assert h["stance_accuracy"]["value"] == pytest.approx(np.trace(cs) / 8)
        assert h["target_accuracy"]["value"] == pytest.approx(np.trace(ct) / 8)
        assert h["stance_macro_f1"]["value"] == pytest.approx(macro_f1_from_confusion(cs))
        assert [v["support"] for v in sysm["stance"]["per_label"].values()] == cs.sum(1).tolist()
        for fig in h.values():
            assert 0.0 <= fig["ci"][0] <= fig["ci"][1] <= 1.0
        # ... and the report prints the same numbers
        assert cell(h["stance_macro_f1"]) in report and cell(h["target_accuracy"]) in report
    assert sum(g["n"] for g in d["breakdowns"]["model"]["source"].values()) == 8
    # the harness scores the model exactly as training's own evaluation did (same calibrated path)
    summary = json.loads((fast_model / "summary.json").read_text())["figures"]["test"]
    h = d["systems"]["model"]["headline"]
    for key in ("stance_macro_f1", "stance_accuracy", "target_accuracy", "target_macro_f1", "both_accuracy", "stance_ece"):
        assert h[key]["value"] == pytest.approx(summary[key], abs=1e-5), key
    for rel in d["plots"]["model"].values():
        assert (out / rel).is_file() and (out / rel).stat().st_size > 1000
        assert f"]({rel})" in report
    for section in ("## tiny_dev", "### Model and baselines", "### Breakdowns: model", "### Most confident mistakes: model"):
        assert section in report


def test_cv_2_on_the_fast_config(tmp_path, capsys):
    from train.__main__ import main as train_main

    out = tmp_path / "cv"
    assert train_main([str(FAST), "--cv", "2", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "2-fold cross-validation" in printed and "| model |" in printed
    result = json.loads((out / "crossval.json").read_text())
    assert result["k"] == 2 and result["rows"] == 24 and len(result["folds"]) == 2
    s = result["summary"]["model"]["stance_macro_f1"]
    assert set(s) == {"mean", "sd", "min", "max", "values"} and len(s["values"]) == 2
    assert s["min"] <= s["mean"] <= s["max"]
    assert set(result["summary"]) == {"model", "majority", "lexicon", "tfidf"}
    test_ids, all_ids = [], {json.loads(line)["id"] for line in (ROOT / "tests/data/tiny_train.jsonl").read_text().splitlines()}
    for fold in result["folds"]:
        fold_dir = Path(fold["run_dir"])
        ids = {p: {json.loads(line)["id"] for line in (fold_dir / "data" / f"{p}.jsonl").read_text().splitlines()}
               for p in ("train", "dev", "test")}
        assert not (ids["train"] & ids["dev"]) and not (ids["train"] & ids["test"]) and not (ids["dev"] & ids["test"])
        assert ids["train"] | ids["dev"] | ids["test"] == all_ids
        test_ids += sorted(ids["test"])
        assert (fold_dir / "model" / "kstance.json").is_file()
        assert (fold_dir / "report" / "metrics.json").is_file() and (fold_dir / "report" / "report.md").is_file()
    assert sorted(test_ids) == sorted(all_ids)  # the test folds partition the data


def test_folds_keep_pairs_and_writers_together():
    from train.crossval import dev_split, group_ids, stratified_group_folds

    rows = []
    for w in range(6):
        for p in range(4):
            for j, st in enumerate(("threatening", "neutral")):
                rows.append({"writer": f"w{w}", "pair": f"w{w}-p{p}", "stance": st if p % 2 else S[(p + j) % 4]})
    groups = group_ids(rows)
    assert len(set(groups.tolist())) == 6  # the pairs sit inside writers: one group per writer
    folds = stratified_group_folds([r["stance"] for r in rows], groups, 3, seed=1)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(rows)))
    for key in ("writer", "pair"):
        where = {}
        for f, idx in enumerate(folds):
            for i in idx:
                where.setdefault(rows[i][key], set()).add(f)
        assert all(len(v) == 1 for v in where.values()), key
    train, dev = dev_split([r["stance"] for r in rows], groups, 0.15, seed=0)
    assert {rows[i]["writer"] for i in train}.isdisjoint({rows[i]["writer"] for i in dev})
    with pytest.raises(ValueError, match="only 6 group"):
        stratified_group_folds([r["stance"] for r in rows], groups, 7, seed=0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_embedding_baselines_share_one_encoder():
    from evaluation.baselines import SentenceEncoder, make_baselines
    from kstance.model import ModelDirError, base_encoder_dir
    from train.data import read_labelled

    try:
        base_encoder_dir()
    except ModelDirError:
        pytest.skip("base encoder package not installed")
    made = []

    def factory():
        made.append(SentenceEncoder())
        return made[-1]

    train = read_labelled(ROOT / "tests" / "data" / "tiny_train.jsonl")
    dev = read_labelled(TINY_DEV)
    m = run_evaluation(FixedPredictor(onehot([r["stance"] for r in dev], S), onehot([r["target"] for r in dev], T)),
                       [EvalData("tiny_dev", str(TINY_DEV), dev)], baselines=["embed_lr", "zero_shot"],
                       baseline_train=train, bootstrap=100, encoder_factory=factory, log=None)
    # one encoder for both baselines; every quote embedded once, kept in memory
    assert len(made) == 1
    assert {r["text"] for r in train + dev} <= set(made[0]._cache)
    for name in ("embed_lr", "zero_shot"):
        h = headline(m, name, "tiny_dev")
        assert 0.0 <= h["stance_accuracy"] <= 1.0 and 0.0 <= h["target_accuracy"] <= 1.0
    # zero-shot never names the speaker's own side as the target
    _, pt = make_baselines(["zero_shot"], lambda: made[0])["zero_shot"].predict_proba(dev)
    for r, p in zip(dev, pt):
        assert p[T.index(r["source"])] == 0.0
