"""Baselines scored beside the model, on the same rows, in the same run.

Each baseline is trained (where it learns at all) on labelled rows, normally the corpus train
split, and gives probabilities for both heads, in the label order of ``configs/labels.yaml``, so
that every figure of the report (macro-F1, accuracy, calibration) is computed the same way for it
as for the model.

| name        | stance                                              | target                                             |
|-------------|-----------------------------------------------------|----------------------------------------------------|
| `majority`  | the train split's label frequencies (argmax: the most frequent label) | the same, for targets        |
| `lexicon`   | hand-written cues (``configs/lexicon.yaml``), strongest label first | first named actor not the speaker's side, else a per-side default |
| `tfidf`     | TF-IDF word 1-2-grams of the quote + logistic regression | the same, with the speaker's side as a token   |
| `embed_lr`  | logistic regression on frozen mean-pooled all-MiniLM-L6-v2 embeddings of the quote | embeddings + one-hot side |
| `zero_shot` | cosine of the quote's embedding to label descriptions (``configs/label_descriptions.yaml``) | the same, the speaker's side left out |

Example:
    >>> b = make_baselines(["majority"])["majority"].fit([{"text": "x", "stance": "neutral", "target": "USA"}])
    >>> ps, pt = b.predict_proba([{"text": "y"}])
    >>> load_labels().stance[int(ps.argmax(1)[0])], load_labels().targets[int(pt.argmax(1)[0])]
    ('neutral', 'USA')
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from kstance.labels import ConfigError, config_dir, load_labels, read_yaml

BASELINE_NAMES = ("majority", "lexicon", "tfidf", "embed_lr", "zero_shot")
CHEAP_BASELINES = ("majority", "lexicon", "tfidf")


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and value != value) or str(value).strip() == ""


def _label_index(rows: Sequence[dict], field: str, labels: Sequence[str]) -> np.ndarray:
    pos = {lab: i for i, lab in enumerate(labels)}
    return np.array([pos[r[field]] for r in rows], dtype=np.int64)


def _spread(choice: np.ndarray, n: int, confidence: np.ndarray) -> np.ndarray:
    """One row per choice: `confidence` on the chosen label, the rest shared by the others."""
    out = np.repeat(((1.0 - confidence) / max(1, n - 1))[:, None], n, axis=1)
    out[np.arange(len(choice)), choice] = confidence
    return out


class Baseline:
    """What every baseline offers: :meth:`fit` on labelled rows, :meth:`predict_proba` on any rows.

    Attributes:
        name: the name used on the command line and in the report.
        description: one line for the report.
    """

    name = "baseline"
    description = ""

    def __init__(self) -> None:
        labels = load_labels()
        self.stance_labels = list(labels.stance)
        self.target_labels = list(labels.targets)

    def fit(self, rows: Sequence[dict]) -> "Baseline":
        """Learn from labelled rows (`text`, `stance`, `target`, optional `source`); returns self."""
        return self

    def predict_proba(self, rows: Sequence[dict]) -> tuple[np.ndarray, np.ndarray]:
        """(stance probabilities, target probabilities), one row per record, labels in config order."""
        raise NotImplementedError


class MajorityBaseline(Baseline):
    """The train split's label frequencies for every row: argmax is the most frequent label.

    Giving the frequencies (not a one-hot) makes its calibration error meaningful: the prior is
    what a model knowing nothing about the quote should say.
    """

    name = "majority"
    description = "train-split label frequencies for every quote (predicts the most frequent label)"

    def fit(self, rows):
        s = np.bincount(_label_index(rows, "stance", self.stance_labels), minlength=len(self.stance_labels))
        t = np.bincount(_label_index(rows, "target", self.target_labels), minlength=len(self.target_labels))
        self.stance_prior = s / max(1, s.sum())
        self.target_prior = t / max(1, t.sum())
        return self

    def predict_proba(self, rows):
        n = len(rows)
        return np.tile(self.stance_prior, (n, 1)), np.tile(self.target_prior, (n, 1))


def _compile(patterns: list, where: str) -> list[re.Pattern]:
    out = []
    for p in patterns:
        try:
            out.append(re.compile(str(p), re.IGNORECASE))
        except re.error as exc:
            raise ConfigError(f"{where}: bad regular expression {p!r} ({exc})") from None
    return out


class LexiconBaseline(Baseline):
    """Hand-written cue lists per stance and actor-name matching for target (``configs/lexicon.yaml``).

    Stance: the strongest label with a matching cue (threatening > demanding > conciliatory),
    else the last label (neutral). Target: a call on all parties is `NONE`; otherwise the first
    actor named in the quote other than the speaker's own side; otherwise the side's default.
    It learns nothing: :meth:`fit` is a no-op.

    Args:
        path: the lexicon YAML (default ``configs/lexicon.yaml``).
    """

    name = "lexicon"
    description = "hand-written stance cues and actor names (configs/lexicon.yaml); learns nothing"

    def __init__(self, path: str | Path | None = None):
        super().__init__()
        file = Path(path) if path else config_dir() / "lexicon.yaml"
        data = read_yaml(file)
        for key in ("stance", "actors", "confidence"):
            if key not in data:
                raise ConfigError(f"{file}: missing field '{key}'")
        cue_labels = self.stance_labels[:-1]  # the weakest label is what no cue leaves
        if set(data["stance"]) != set(cue_labels):
            raise ConfigError(f"{file}: field 'stance' must have exactly the labels {cue_labels}")
        self.cues = [(self.stance_labels.index(lab), _compile(data["stance"][lab], f"{file}: stance.{lab}"))
                     for lab in cue_labels]  # label order is precedence order
        unknown = set(data["actors"]) - set(load_labels().actors)
        if unknown:
            raise ConfigError(f"{file}: field 'actors' has unknown codes {sorted(unknown)}")
        self.actors = {code: _compile(pats, f"{file}: actors.{code}") for code, pats in data["actors"].items()}
        self.no_target = _compile(data.get("no_target") or [], f"{file}: no_target")
        self.default_target = dict(data.get("default_target") or {})
        bad = {v for v in self.default_target.values()} - set(self.target_labels)
        if bad:
            raise ConfigError(f"{file}: field 'default_target' has unknown codes {sorted(bad)}")
        self.cue_conf = float(data["confidence"].get("cue", 0.7))
        self.fallback_conf = float(data["confidence"].get("fallback", 0.4))

    def stance_of(self, text: str) -> tuple[int, bool]:
        """(label index, whether a cue decided it) for one quote.

        Example:
            >>> lex = LexiconBaseline()
            >>> lex.stance_labels[lex.stance_of("They will pay dearly.")[0]]
            'threatening'
        """
        for idx, patterns in self.cues:
            if any(p.search(text) for p in patterns):
                return idx, True
        return len(self.stance_labels) - 1, False

    def target_of(self, text: str, source: str | None) -> tuple[int, bool]:
        """(label index, whether a name decided it) for one quote and its speaker's side.

        Example:
            >>> lex = LexiconBaseline()
            >>> lex.target_labels[lex.target_of("Seoul and Washington must stop the drills.", "PRK")[0]]
            'KOR'
        """
        none = load_labels().no_target
        if any(p.search(text) for p in self.no_target):
            return self.target_labels.index(none), True
        first: tuple[int, str] | None = None
        for code, patterns in self.actors.items():
            if code == source:
                continue  # the speaker's own side is never the target
            for p in patterns:
                m = p.search(text)
                if m and (first is None or m.start() < first[0]):
                    first = (m.start(), code)
        if first is not None:
            return self.target_labels.index(first[1]), True
        default = self.default_target.get(source, none) if not _blank(source) else none
        return self.target_labels.index(default), False

    def predict_proba(self, rows):
        s_choice, s_conf, t_choice, t_conf = [], [], [], []
        for r in rows:
            text = str(r.get("text") or "")
            i, hit = self.stance_of(text)
            s_choice.append(i)
            s_conf.append(self.cue_conf if hit else self.fallback_conf)
            src = None if _blank(r.get("source")) else str(r.get("source"))
            j, hit = self.target_of(text, src)
            t_choice.append(j)
            t_conf.append(self.cue_conf if hit else self.fallback_conf)
        return (_spread(np.array(s_choice, dtype=np.int64), len(self.stance_labels), np.array(s_conf)),
                _spread(np.array(t_choice, dtype=np.int64), len(self.target_labels), np.array(t_conf)))


class _LogReg:
    """Logistic regression that always answers over the full label set.

    A label absent from the training rows gets probability 0; with a single label present the
    answer is that label (scikit-learn refuses to fit one class).
    """

    def __init__(self, n_labels: int, C: float = 1.0, solver: str = "saga"):
        self.n_labels = n_labels
        self.C = C
        # saga: scipy's L-BFGS took 10 s on the 39,000 TF-IDF columns of the train split, saga 0.2 s
        self.solver = solver

    def fit(self, X, y: np.ndarray) -> "_LogReg":
        from sklearn.linear_model import LogisticRegression

        self.classes = np.unique(y)
        self.clf = None
        if len(self.classes) > 1:
            self.clf = LogisticRegression(C=self.C, max_iter=3000, solver=self.solver)
            self.clf.fit(X, y)
            self.classes = self.clf.classes_
        return self

    def predict_proba(self, X) -> np.ndarray:
        n = X.shape[0]
        out = np.zeros((n, self.n_labels))
        if self.clf is None:
            out[:, self.classes[0]] = 1.0
        else:
            out[:, self.classes] = self.clf.predict_proba(X)
        return out


def _with_source(r: dict) -> str:
    # the speaker's side as one extra word: "our" in a PRK quote and in a USA quote differ
    src = r.get("source")
    return str(r.get("text") or "") + ("" if _blank(src) else f" __side_{src}__")


class TfidfBaseline(Baseline):
    """TF-IDF word 1-2-grams + logistic regression, one per head.

    Stance reads the quote; target reads the quote and the speaker's side (a target is rarely the
    speaker's own side, so the side is natural evidence). C is fixed in advance, not tuned.
    """

    name = "tfidf"
    description = "TF-IDF word 1-2-grams + logistic regression (target also sees the speaker's side)"

    def __init__(self, C: float = 4.0):
        super().__init__()
        self.C = C

    def fit(self, rows):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vec_s = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        self.vec_t = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        Xs = self.vec_s.fit_transform([str(r["text"]) for r in rows])
        Xt = self.vec_t.fit_transform([_with_source(r) for r in rows])
        self.lr_s = _LogReg(len(self.stance_labels), self.C).fit(Xs, _label_index(rows, "stance", self.stance_labels))
        self.lr_t = _LogReg(len(self.target_labels), self.C).fit(Xt, _label_index(rows, "target", self.target_labels))
        return self

    def predict_proba(self, rows):
        Xs = self.vec_s.transform([str(r.get("text") or "") for r in rows])
        Xt = self.vec_t.transform([_with_source(r) for r in rows])
        return self.lr_s.predict_proba(Xs), self.lr_t.predict_proba(Xt)


class SentenceEncoder:
    """Frozen mean-pooled sentence embeddings from a BERT folder (default: the base encoder).

    Embeddings are cached in memory by text for the life of the object, so the two embedding
    baselines and the train split share one pass; nothing is written to disk.

    Args:
        encoder_dir: a folder with `config.json`, weights and tokenizer; default
            :func:`kstance.model.base_encoder_dir` (all-MiniLM-L6-v2).
        max_length: tokens per text.
        batch_size: texts per forward pass.

    Example:
        >>> enc = SentenceEncoder()  # doctest: +SKIP
        >>> enc.encode(["We will talk."]).shape  # doctest: +SKIP
        (1, 384)
    """

    def __init__(self, encoder_dir: str | Path | None = None, max_length: int = 128, batch_size: int = 64):
        self.encoder_dir = encoder_dir
        self.max_length = max_length
        self.batch_size = batch_size
        self._model = None
        self._tokenizer = None
        self._cache: dict[str, np.ndarray] = {}

    def _load(self):
        import os

        from transformers import AutoModel, AutoTokenizer

        from kstance.model import base_encoder_dir

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        d = str(self.encoder_dir or base_encoder_dir())
        self._tokenizer = AutoTokenizer.from_pretrained(d, local_files_only=True)
        self._model = AutoModel.from_pretrained(d, local_files_only=True)
        self._model.eval()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised embeddings, one row per text, in input order.

        Args:
            texts: the texts.

        Returns:
            A float32 array (len(texts), hidden).
        """
        import torch

        todo = sorted({t for t in texts if t not in self._cache}, key=len)
        if todo:
            if self._model is None:
                self._load()
            for b in range(0, len(todo), self.batch_size):
                chunk = todo[b : b + self.batch_size]  # sorted by length: little padding
                enc = self._tokenizer(chunk, padding=True, truncation=True, max_length=self.max_length,
                                      return_tensors="pt")
                with torch.inference_mode():
                    hidden = self._model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                pooled = torch.nn.functional.normalize(pooled, dim=-1).numpy().astype(np.float32)
                for t, v in zip(chunk, pooled):
                    self._cache[t] = v
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 1), dtype=np.float32)


class EmbedLRBaseline(Baseline):
    """Logistic regression on frozen base-encoder embeddings of the quote (target: plus one-hot side)."""

    name = "embed_lr"
    description = "logistic regression on frozen mean-pooled all-MiniLM-L6-v2 embeddings (target also sees the side)"

    def __init__(self, encoder: SentenceEncoder, C: float = 1.0):
        super().__init__()
        self.encoder = encoder
        self.C = C
        self.sources = list(load_labels().sources)

    def _side(self, rows) -> np.ndarray:
        out = np.zeros((len(rows), len(self.sources)), dtype=np.float32)
        for i, r in enumerate(rows):
            if r.get("source") in self.sources:
                out[i, self.sources.index(r["source"])] = 1.0
        return out

    def fit(self, rows):
        X = self.encoder.encode([str(r["text"]) for r in rows])
        self.lr_s = _LogReg(len(self.stance_labels), self.C).fit(X, _label_index(rows, "stance", self.stance_labels))
        self.lr_t = _LogReg(len(self.target_labels), self.C).fit(np.hstack([X, self._side(rows)]),
                                                                 _label_index(rows, "target", self.target_labels))
        return self

    def predict_proba(self, rows):
        X = self.encoder.encode([str(r.get("text") or "") for r in rows])
        return self.lr_s.predict_proba(X), self.lr_t.predict_proba(np.hstack([X, self._side(rows)]))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


class ZeroShotBaseline(Baseline):
    """Nearest label description by cosine of base-encoder embeddings; learns nothing.

    Args:
        encoder: the shared :class:`SentenceEncoder`.
        path: the descriptions YAML (default ``configs/label_descriptions.yaml``).
    """

    name = "zero_shot"
    description = "cosine of the quote's embedding to label descriptions (configs/label_descriptions.yaml); learns nothing"

    def __init__(self, encoder: SentenceEncoder, path: str | Path | None = None):
        super().__init__()
        self.encoder = encoder
        file = Path(path) if path else config_dir() / "label_descriptions.yaml"
        data = read_yaml(file)
        for key, labels in (("stance", self.stance_labels), ("target", self.target_labels)):
            given = data.get(key)
            if not isinstance(given, dict) or set(given) != set(labels):
                raise ConfigError(f"{file}: field '{key}' must describe exactly the labels {labels}")
        self.temperature = float(data.get("temperature", 0.05))
        self.descriptions = {k: data[k] for k in ("stance", "target")}
        self._protos: dict[str, np.ndarray] = {}

    def _prototypes(self, head: str, labels: list[str]) -> np.ndarray:
        if head not in self._protos:
            rows = []
            for lab in labels:
                v = self.encoder.encode([str(s) for s in self.descriptions[head][lab]]).mean(0)
                rows.append(v / max(np.linalg.norm(v), 1e-12))
            self._protos[head] = np.stack(rows)
        return self._protos[head]

    def predict_proba(self, rows):
        X = self.encoder.encode([str(r.get("text") or "") for r in rows])
        s = X @ self._prototypes("stance", self.stance_labels).T
        t = X @ self._prototypes("target", self.target_labels).T
        for i, r in enumerate(rows):
            src = r.get("source")
            if src in self.target_labels:
                t[i, self.target_labels.index(src)] = -np.inf  # the guidelines: never the speaker's own side
        return _softmax(s / self.temperature), _softmax(t / self.temperature)


def make_baselines(names: Sequence[str], encoder_factory: Callable[[], SentenceEncoder] | None = None) -> dict[str, Baseline]:
    """Build the named baselines (untrained), in the order given.

    The embedding baselines share one :class:`SentenceEncoder` (and its cache); it is made only
    when one of them is asked for, so the cheap baselines never load the encoder.

    Args:
        names: baseline names from :data:`BASELINE_NAMES`.
        encoder_factory: makes the shared encoder (default: the base encoder).

    Returns:
        name -> baseline.

    Raises:
        ValueError: naming an unknown baseline.

    Example:
        >>> list(make_baselines(["majority", "lexicon"]))
        ['majority', 'lexicon']
    """
    unknown = [n for n in names if n not in BASELINE_NAMES]
    if unknown:
        raise ValueError(f"unknown baseline(s) {unknown} (known: {', '.join(BASELINE_NAMES)})")
    encoder = None
    out: dict[str, Baseline] = {}
    for n in names:
        if n in ("embed_lr", "zero_shot") and encoder is None:
            encoder = (encoder_factory or SentenceEncoder)()
        if n == "majority":
            out[n] = MajorityBaseline()
        elif n == "lexicon":
            out[n] = LexiconBaseline()
        elif n == "tfidf":
            out[n] = TfidfBaseline()
        elif n == "embed_lr":
            out[n] = EmbedLRBaseline(encoder)
        elif n == "zero_shot":
            out[n] = ZeroShotBaseline(encoder)
    return out
