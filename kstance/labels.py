"""Label sets and actor codes, read once from ``configs/labels.yaml``.

Everything in the project takes the stance labels and actor codes from :func:`load_labels`;
no other module spells them out.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import yaml


class ConfigError(ValueError):
    """A configuration file is missing or malformed; the message names the file and field."""


def config_dir() -> Path:
    """Return the folder holding the project's YAML configs.

    ``KSTANCE_CONFIG_DIR`` overrides it; otherwise it is ``configs/`` at the project root
    (the package is installed in editable mode from a clone).

    Example:
        >>> (config_dir() / "labels.yaml").is_file()
        True
    """
    env = os.environ.get("KSTANCE_CONFIG_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "configs"


def read_yaml(path: Path) -> dict:
    """Read a YAML mapping from ``path``, with errors that name the file.

    Args:
        path: the YAML file.

    Returns:
        The mapping it holds.

    Example:
        >>> sorted(read_yaml(config_dir() / "labels.yaml"))[:2]
        ['actors', 'no_target']
    """
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
        if data is None:
            data = {}  # an empty file is an empty mapping; callers name the fields it lacks
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


@dataclass(frozen=True)
class Labels:
    """The label sets: stance labels strongest first, actor codes, and target codes.

    Attributes:
        stance: stance labels in precedence order (threatening first).
        actors: actor code -> human name, for `source` and `target`.
        no_target: the target-only code for "no single actor".
    """

    stance: tuple[str, ...]
    actors: dict[str, str]
    no_target: str

    @property
    def sources(self) -> tuple[str, ...]:
        """Codes allowed in `source`."""
        return tuple(self.actors)

    @property
    def targets(self) -> tuple[str, ...]:
        """Codes allowed in `target`: the actors plus the no-target code."""
        return tuple(self.actors) + (self.no_target,)


@functools.lru_cache(maxsize=None)
def load_labels(path: str | None = None) -> Labels:
    """Load and check the label sets (cached: the file is read once per process).

    Args:
        path: a labels YAML file; defaults to ``configs/labels.yaml``.

    Returns:
        A :class:`Labels`.

    Example:
        >>> load_labels().stance[0]
        'threatening'
        >>> 'NONE' in load_labels().targets
        True
    """
    file = Path(path) if path else config_dir() / "labels.yaml"
    data = read_yaml(file)
    for key in ("stance", "actors", "no_target"):
        if key not in data:
            raise ConfigError(f"{file}: missing field '{key}'")
    stance = data["stance"]
    if not isinstance(stance, list) or not stance or not all(isinstance(s, str) for s in stance):
        raise ConfigError(f"{file}: field 'stance' must be a non-empty list of strings")
    if len(set(stance)) != len(stance):
        raise ConfigError(f"{file}: field 'stance' has duplicates")
    actors = data["actors"]
    if not isinstance(actors, dict) or not actors:
        raise ConfigError(f"{file}: field 'actors' must be a mapping of code -> name")
    no_target = data["no_target"]
    if not isinstance(no_target, str) or no_target in actors:
        raise ConfigError(f"{file}: field 'no_target' must be a code not among 'actors'")
    return Labels(tuple(stance), {str(k): str(v) for k, v in actors.items()}, no_target)
