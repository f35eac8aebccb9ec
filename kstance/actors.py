"""Actor codes and the gazetteer: who speaks for whom.

The gazetteer (``configs/actors.yaml``) lists words that name an actor, named officials, offices,
and the role words that tell an official speaker from an analyst or an anonymous source.
:class:`Gazetteer` turns a speaker phrase (and the words around it) into a `source` actor code and
an `official` flag.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from kstance.labels import ConfigError, config_dir, load_labels, read_yaml

# "the department of US affairs" is a North Korean office: an actor word followed by
# "affairs" names a portfolio, not the speaker's side.
_PORTFOLIO = re.compile(r"\s+affairs\b", re.IGNORECASE)
# "its special representative for North Korea", "ambassador to China": an actor after these words
# is the one dealt with, not the one spoken for.
_OBJECT_PREP = re.compile(r"(?<!spokesman )(?<!spokeswoman )(?<!spokesperson )"
                          r"\b(?:for|to|toward|towards|against|with|on|over|about)\s+(?:the\s+)?$", re.IGNORECASE)
# ("a spokesperson for the UN secretary-general" speaks for the UN: that "for" is not an object)
# What may stand between the actor words of a bare state name ("the North and the South").
_FILLER = re.compile(r"\b(?:the|and|of)\b|[\s,]", re.IGNORECASE)


def _norm_quotes(text: str) -> str:
    """Fold curly apostrophes to straight ones so gazetteer entries match either spelling."""
    return text.replace("\u2019", "'").replace("\u2018", "'")


def _term_alternation(terms: list[str], ignore_case: bool) -> str:
    # Longest first, so "North Korean" wins over "North" and "South Korea's" over "South".
    alts = sorted({_norm_quotes(t) for t in terms}, key=len, reverse=True)
    if ignore_case:
        return "|".join(re.escape(a) for a in alts)
    # Case-sensitive terms are grouped by their first character, keeping the longest-first order
    # within a group. Only one group can match at a given position, so the match is the same, but
    # the regex engine factors the shared first character out of each group and tries about 25
    # groups at a position instead of every term, and can skip to the positions where some term's
    # first character occurs.
    groups: dict[str, list[str]] = {}
    for a in alts:
        groups.setdefault(a[:1], []).append(re.escape(a))
    return "|".join(f"(?:{'|'.join(g)})" for g in groups.values())


def _term_pattern(terms: list[str], ignore_case: bool) -> re.Pattern:
    body = _term_alternation(terms, ignore_case)
    flags = re.IGNORECASE if ignore_case else 0
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", flags)


def _term_scan_pattern(terms: list[str]) -> re.Pattern:
    """The case-sensitive term pattern of :func:`_term_pattern` without its leading look-behind,
    for :func:`_iter_terms`: a pattern that opens with a look-behind must be tried at every
    position, while one that opens with the terms' first characters lets the engine jump."""
    return re.compile(rf"(?:{_term_alternation(terms, False)})(?![\w-])")


def _iter_terms(scan: re.Pattern, text: str):
    """Yield the same matches as ``_term_pattern(...).finditer(text)``, from ``scan``.

    A match that follows a word character or a hyphen is rejected here (the look-behind's job),
    and the search resumes one character after its start, just as the look-behind pattern would
    go on trying there.
    """
    pos = 0
    while True:
        for m in scan.finditer(text, pos):
            s = m.start()
            if s and (text[s - 1].isalnum() or text[s - 1] in "_-"):  # (?<![\w-]): \w is alnum or _
                pos = s + 1
                break  # rare: start again from there
            yield m
        else:
            return


@dataclass
class Official:
    """A named official from the gazetteer."""

    name: str
    actor: str
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,) + self.aliases


@dataclass
class Gazetteer:
    """Actor words, named officials and role words, as loaded from ``configs/actors.yaml``.

    Build one with :func:`load_gazetteer`; it is immutable in use.
    """

    actor_terms: dict[str, list[str]]
    officials: list[Official]
    offices: dict[str, str]
    official_terms: list[str]
    non_official_terms: list[str]
    news_outlets: list[str]
    _term_to_actor: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._term_to_actor = {}
        for actor, terms in self.actor_terms.items():
            for term in terms:
                self._term_to_actor[_norm_quotes(term)] = actor
        for phrase, actor in self.offices.items():
            self._term_to_actor[_norm_quotes(phrase)] = actor
        self._actor_re = _term_pattern(list(self._term_to_actor), ignore_case=False)
        self._actor_scan = _term_scan_pattern(list(self._term_to_actor))
        self._name_to_official = {}
        for off in self.officials:
            for name in off.names:
                self._name_to_official[_norm_quotes(name)] = off
        self._name_re = _term_pattern(list(self._name_to_official), ignore_case=False)
        self._official_re = _term_pattern(self.official_terms, ignore_case=True)
        self._non_official_re = _term_pattern(self.non_official_terms, ignore_case=True)
        self._outlet_re = _term_pattern(self.news_outlets, ignore_case=False)
        # The same role phrases recur across articles; these lookups are pure, so memoise them.
        for name in ("official_named", "actor_in", "nearest_actor", "is_non_official", "is_official", "resolve"):
            setattr(self, name, functools.lru_cache(maxsize=65536)(getattr(self, name)))

    def official_named(self, text: str) -> Official | None:
        """Return the gazetteer official whose name (or alias) occurs in ``text``, if any.

        Args:
            text: a speaker phrase such as "Vice Foreign Minister Choe Son Hui".

        Example:
            >>> load_gazetteer().official_named("said Choe Son-hui").actor
            'PRK'
        """
        m = self._name_re.search(_norm_quotes(text))
        return self._name_to_official[m.group(0)] if m else None

    def actor_in(self, text: str) -> str | None:
        """Return the actor named first in ``text`` (country, capital, office, state medium).

        The first mention wins because in English the speaker's side comes before the role
        ("North Korea's mission to the United Nations", "US special representative for North Korea").
        Portfolio names ("the department of US affairs") are skipped.

        Args:
            text: any phrase.

        Returns:
            An actor code, or None when no actor is named.

        Example:
            >>> load_gazetteer().actor_in("Japanese Defense Minister")
            'JPN'
        """
        norm = _norm_quotes(text)
        for m in _iter_terms(self._actor_scan, norm):
            if _PORTFOLIO.match(norm, m.end()) or _OBJECT_PREP.search(norm[max(0, m.start() - 24): m.start()]):
                continue
            return self._term_to_actor[m.group(0)]
        return None

    def nearest_actor(self, text: str) -> str | None:
        """Return the actor named last in ``text``: the one closest to a name that follows it.

        Used on the words before a name in its sentence ("In Seoul, First Vice Foreign Minister"),
        skipping actors that are the object of the role ("special representative for North Korea").

        Example:
            >>> load_gazetteer().nearest_actor("talks with Pyongyang, South Korea's Vice Unification Minister")
            'KOR'
        """
        norm = _norm_quotes(text)
        found = None
        for m in _iter_terms(self._actor_scan, norm):
            if _PORTFOLIO.match(norm, m.end()) or _OBJECT_PREP.search(norm[max(0, m.start() - 24): m.start()]):
                continue
            found = self._term_to_actor[m.group(0)]
        return found

    def is_non_official(self, text: str) -> bool:
        """True when the phrase marks an analyst, source, resident and the like.

        Example:
            >>> load_gazetteer().is_non_official("a Ryanggang Province-based source")
            True
        """
        return bool(self._non_official_re.search(_norm_quotes(text)))

    def is_official(self, text: str) -> bool:
        """True when the phrase names an office, a role word of a state body, or a known official.

        Non-official markers win: "a government source" is not official.

        Example:
            >>> load_gazetteer().is_official("a US State Department spokeswoman")
            True
            >>> load_gazetteer().is_official("a government source")
            False
        """
        norm = _norm_quotes(text)
        if self.is_non_official(norm) or self._outlet_re.search(norm):
            return False
        if self.official_named(norm):
            return True
        if self._official_re.search(norm):
            return True
        # A bare state name speaking ("North Korea said", "Seoul said") is the state.
        rest = self._actor_re.sub(" ", norm)
        return bool(self._actor_re.search(norm)) and not _FILLER.sub("", rest)

    def main_actor(self, text: str) -> str | None:
        """The actor named most often in ``text`` (ties: the first named); None if none.

        Example:
            >>> load_gazetteer().main_actor("Pyongyang fired. The North said. Seoul said.")
            'PRK'
        """
        counts: dict[str, int] = {}
        for m in _iter_terms(self._actor_scan, _norm_quotes(text)):
            code = self._term_to_actor[m.group(0)]
            counts[code] = counts.get(code, 0) + 1
        return max(counts, key=counts.get) if counts else None

    def resolve(self, speaker: str | None, descriptor: str = "") -> tuple[str | None, bool]:
        """Say whom a speaker speaks for, and whether officially.

        Args:
            speaker: the speaker phrase as the article gives it ("JCS spokesman Kim Joon-rak").
            descriptor: other words the article uses for the same speaker (an appositive such as
                "a senior North Korean official"), or the attribution clause ("in a statement
                carried by KCNA"); used when the speaker phrase names no actor.

        Returns:
            (source actor code or None, official flag).

        Example:
            >>> load_gazetteer().resolve("Kim Joon-rak", "JCS spokesman")
            ('KOR', True)
        """
        if not speaker:
            return None, False
        whole = f"{speaker} {descriptor}".strip()
        person = self.official_named(speaker)
        source = person.actor if person else None
        if source is None:
            source = self.actor_in(speaker)
        if source is None and descriptor:
            source = self.actor_in(descriptor)
        # The side of a non-official is where they work; their role words do not make them official.
        official = self.is_official(speaker) or (
            not self.is_non_official(speaker) and bool(descriptor) and self.is_official(descriptor)
        )
        if self.is_non_official(speaker):
            official = False
        return source, official


def load_gazetteer(path: str | Path | None = None) -> Gazetteer:
    """Load the gazetteer, checking every actor code against ``configs/labels.yaml``.

    Args:
        path: a gazetteer YAML file; defaults to ``configs/actors.yaml``.

    Returns:
        A :class:`Gazetteer` (cached per path).

    Example:
        >>> load_gazetteer().actor_in("the White House")
        'USA'
    """
    return _load_gazetteer(str(path) if path else str(config_dir() / "actors.yaml"))


@functools.lru_cache(maxsize=8)
def _load_gazetteer(path: str) -> Gazetteer:
    data = read_yaml(Path(path))
    codes = set(load_labels().sources)

    def check_code(code, where):
        if code not in codes:
            raise ConfigError(f"{path}: {where}: unknown actor code '{code}' (known: {sorted(codes)})")
        return code

    def str_list(key):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: field '{key}' must be a list of strings")
        return value

    terms = data.get("actor_terms", {})
    if not isinstance(terms, dict):
        raise ConfigError(f"{path}: field 'actor_terms' must map actor codes to lists of words")
    actor_terms = {}
    for code, words in terms.items():
        check_code(code, "actor_terms")
        if not isinstance(words, list):
            raise ConfigError(f"{path}: actor_terms.{code} must be a list")
        actor_terms[code] = [str(w) for w in words]
    officials = []
    for i, entry in enumerate(data.get("officials", []) or []):
        if not isinstance(entry, dict) or "name" not in entry or "actor" not in entry:
            raise ConfigError(f"{path}: officials[{i}] needs 'name' and 'actor'")
        officials.append(
            Official(
                str(entry["name"]),
                check_code(entry["actor"], f"officials[{i}]"),
                tuple(str(a) for a in entry.get("aliases", []) or []),
            )
        )
    offices = {}
    for i, entry in enumerate(data.get("offices", []) or []):
        if not isinstance(entry, dict) or "phrase" not in entry or "actor" not in entry:
            raise ConfigError(f"{path}: offices[{i}] needs 'phrase' and 'actor'")
        offices[str(entry["phrase"])] = check_code(entry["actor"], f"offices[{i}]")
    return Gazetteer(
        actor_terms=actor_terms,
        officials=officials,
        offices=offices,
        official_terms=str_list("official_terms"),
        non_official_terms=str_list("non_official_terms"),
        news_outlets=str_list("news_outlets"),
    )
