"""Article text -> Quote records: span, speaker, source actor, official, fragment, context.

The pipeline for one document:

1. split the page into articles at headline-like lines (:func:`kstance.quotes.split_articles`);
2. find the quotations in each article (:func:`kstance.quotes.find_quotes`);
3. attribute each quote from the words of its sentence: ``“…,” Kim said``, ``said Kim Kye Gwan``,
   ``Choe said: “…”``, ``according to X``, ``X said …, citing Y``; resolve pronouns, surnames and
   definite roles ("the source") to the fuller name given earlier in the same article; give a quote
   paragraph with no attribution of its own to the speaker of the quote before;
4. say whom the speaker speaks for and whether officially (:mod:`kstance.actors`).

Offsets (`start`, `end`) are into the document text, so ``document[start:end]`` is the quote for
quotes inside one paragraph.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from kstance.actors import Gazetteer, load_gazetteer
from kstance.quotes import Article, QuoteSpan, find_quotes, mask_quotes, sentence_bounds, split_articles

QUOTE_MARKER = "[Q]"

SPEECH_VERBS = (
    "said|says|say|saying|added|adds|adding|told|tells|telling|warned|warns|warning|stressed|stresses|"
    "explained|explains|noted|notes|insisted|insists|stated|states|declared|declares|wrote|writes|"
    "posted|posts|tweeted|tweets|urged|urges|called|calls|demanded|demands|accused|accuses|accusing|described|"
    "describes|reiterated|reiterates|emphasized|emphasised|emphasizes|emphasises|claimed|claims|argued|"
    "argues|announced|announces|vowed|vows|threatened|threatens|complained|complains|reported|reports|"
    "hoped|hopes|mentioned|mentions|expressed|expresses|pledged|pledges|criticized|criticised|"
    "criticizes|criticises|denounced|denounces|lamented|laments|remarked|remarks|replied|replies|"
    "responded|responds|answered|answers|predicted|predicts|continued|continues|concluded|concludes|"
    "agreed|agrees|admitted|admits|acknowledged|acknowledges|confirmed|confirms|reaffirmed|reaffirms|"
    "asserted|asserts|blasted|slammed|branded|brands|dismissed|dismisses|labelled|labeled|termed|"
    "quipped|shouted|boasted|promised|promises|assured|assures|affirmed|affirms|explaining|stressing|"
    "noting|arguing|asking|asked"
)


def _by_first_letter(alternation: str) -> str:
    """The same regex alternation of plain words, grouped by first letter (order kept in a group).

    At any position only one group can match, and within it the words are tried in their
    original order, so every pattern matches exactly as with the flat list; but the engine
    factors each group's first letter out, so it tests ~20 letters at a position, not ~170 verbs.
    """
    groups: dict[str, list[str]] = {}
    for word in alternation.split("|"):
        groups.setdefault(word[:1], []).append(word)
    return "|".join(f"(?:{'|'.join(g)})" for g in groups.values())


_VERB_ALT = _by_first_letter(SPEECH_VERBS)  # use in patterns in place of SPEECH_VERBS
_VERB_RE = re.compile(rf"\b(?:{_VERB_ALT})\b")
# Patterns used per quote or per sentence are compiled once here: building the verb alternation
# into an f-string and looking it up in re's cache on every call cost more than the match itself.
_VERB_THEN_NP = re.compile(rf"(?:{_VERB_ALT})\b\s+(.*)")  # `said Kim ...`
_NOT_SPEAKER_NEXT = re.compile(r"(?:that|on|in|at|to|by|with|he|she|it|they)\b")
_SENTENCE_PUNCT = re.compile(r"[.;:!?]")
_TRAILING_ATTRIBUTION = re.compile(rf",\s*([^,]{{1,80}}?)\s+(?:{_VERB_ALT})\b")  # `…, Biegun said`
_AUX_VERB = re.compile(r"\s+(?:was|were|is|has|had|would|will)\b")
_CLAUSE_VERB = re.compile(rf"\s*((?:{_VERB_ALT})\b)(.*)", re.S)
_CLAUSE_END = re.compile(r"\bthat\b|[:;\u201c\u2018\"]")
_PM_PUNCT = re.compile(r"[,.;]")
_SO_CALLED = re.compile(r"\bso-called\s*$")
_DEFINITE = re.compile(r"(?i:the)\s+([a-z-]+(?:\s+[a-z-]+)?)")
_CORE_SPLIT = re.compile(r"\s+(?:of|from|to|for|at|in|based)\s+")
# The words around a name, cut at a sentence end or a quotation mark. These split exactly as
# r"(?<![A-Z])[.!?]\s|[\u201d\"]" (and r"(?<![A-Z])[.!?]\s|[\u201c\u2018\"]") do, but open with
# a character class, so the engine skips to the candidate marks instead of testing the
# look-behind at every position: a mark, then either it was a quotation mark, or it was
# [.!?] not preceded by a capital ("U.S. envoy") and is followed by a space.
# a sentence end, but not the period of a title ("JCS spokesman Col. Park") or an initial
_LEFT_CUT = re.compile(r"(?<!\bCol)(?<!\bGen)(?<!\bLt)(?<!\bMr)(?<!\bMs)(?<!\bDr)(?<!\bSgt)(?<!\bAdm)(?<!\bMaj)(?<!\bCapt)"
                       r"[.!?\u201d\"](?:(?<=[\u201d\"])|(?<![A-Z].)\s)")
_RIGHT_CUT = re.compile(r"[.!?\u201c\u2018\"](?:(?<=[\u201c\u2018\"])|(?<![A-Z].)\s)")
_ANY_MARK = re.compile("[\u201c\u201d\u2018\u2019\"']")  # any quotation mark or apostrophe
_CITING_RE = re.compile(r",\s*(?:citing|quoting)\s+([^,.;]+)")
_ACCORDING_RE = re.compile(r"\baccording to\s+([^,.;]+)", re.IGNORECASE)

PRONOUNS = {"he", "she", "it", "they", "his", "her", "its", "their", "which", "who"}
_INTERJECTIONS = re.compile(
    r",\s*(?:however|meanwhile|though|too|also|in turn|in response|for (?:his|her|its|their) part|"
    r"for example|in particular|on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)),",
    re.IGNORECASE,
)
_RELATIVE = re.compile(r",\s*(?:who|which|whose)\b[^,]*,\s*$")
# Words that may stand inside a speaker phrase though lowercase: roles and their modifiers.
_ROLE_WORDS = set(
    """
    official officials spokesman spokeswoman spokesperson spokespeople minister ministry ministers
    secretary-general under-secretary-general deputy-director vice-minister vice-chairman
    president presidential leader leaders ambassador envoy secretary adviser advisor advisers director
    director-general chief commander command agency government office council military army navy
    delegation delegate delegates negotiator negotiators diplomat diplomats premier chairman
    chairwoman cabinet department statement authorities representative mission general admiral staff
    lawmaker lawmakers senator congressman congresswoman media committee source sources analyst analysts
    expert experts professor researcher researchers resident residents defector defectors scholar
    fellow observer observers journalist reporter citizen citizens student activist activists insider
    soldier soldiers trader worker farmer academic commentator economist official's
    senior first vice deputy top foreign defense defence unification national security state
    presidential military affairs news based special former retired anonymous unnamed high-ranking
    senior-level working-level intelligence strategic executive acting assistant principal press
    spokesperson's government's party central people's public political policy regional provincial
    local border naval air force forces ground joint chiefs white house department's
    """.split()
)
_CONNECTORS = {"of", "the", "a", "an", "from", "to", "for", "and", "in", "at", "on"}
_AUXILIARIES = {"has", "have", "had", "was", "were", "is", "are", "would", "will", "also", "again",
                "had", "later", "then", "once", "repeatedly", "previously", "recently", "has been",
                "had been", "did", "does", "do", "not", "never", "only", "further", "just", "earlier"}
_TITLES = set(
    """
    President Mr Mr. Ms Ms. Mrs Mrs. Dr Dr. Vice Foreign Minister Defense Defence Secretary State Prime
    Chairman Chairwoman Leader Deputy First Senior General Gen Gen. Ambassador Envoy Special
    Representative Spokesman Spokeswoman Spokesperson Director Chief Unification National Security
    Adviser Advisor Marshal Premier Supreme Commander Admiral Sen Sen. Senator Rep Rep. Congressman
    Congresswoman Governor Lt Lt. Col Col. Colonel Captain Professor Prof Prof. Comrade Chancellor
    Cabinet Secretary-General Under Assistant Executive Acting Former Lieutenant Major Sergeant
    Private Comrade Premier Justice Speaker Mayor Director-General Commissioner Delegate Officer
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June
    July August September October November December Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec
    The A An But And In On At As He She It They We I His Her Its Their Our After Before While When
    Asked Speaking According Despite During Earlier Later Last Next This That These Those Meanwhile
    Tag Archives Korean North South Korea Koreas Peninsula Central News Agency Party Ministry Council Office House Department
    Joint Chiefs Staff Forces Army Navy Air Force Command Assembly Nations United States Republic
    People's Democratic Workers' Central Committee Summit Olympic Olympics
    """.split()
)
_PLACE_WORDS = {"Province", "Provinces", "City", "County", "Island", "Islands", "Sea", "Peninsula",
                "Strait", "Base", "Airport", "Port", "District", "Zone", "River", "Mountain"}
_CAP_TOKEN = re.compile(r"^[A-Z][\w'\u2019.-]*$")
# A run of two to ten capitalised words, not preceded by [\w'\u2019-]. That look-behind is checked
# in _name_runs rather than in the pattern: a pattern opening with a look-behind is tried at every
# position of the article, one opening with [A-Z] lets the engine skip to the capitals. The
# possessive ++ never changes a match (giving back letters or spaces would leave a letter or a
# space where a space, a capital or the run's end must follow) but spares the engine trying it.
_NAME_RUN = re.compile(r"([A-Z][a-z]++(?:-[a-zA-Z]++)?(?:\s++[A-Z][a-z]++(?:-[a-zA-Z]++)?){1,9})(?![\w'\u2019-])")


def _name_runs(body: str):
    r"""Yield the matches that ``(?<![\w'\u2019-])`` + ``_NAME_RUN`` would find with finditer."""
    pos = 0
    while True:
        for m in _NAME_RUN.finditer(body, pos):
            s = m.start()
            if s and (body[s - 1].isalnum() or body[s - 1] in "_'\u2019-"):  # \w is alphanumeric or "_"
                pos = s + 1  # rare: go on from where the look-behind pattern would go on trying
                break
            yield m
        else:
            return


_FUNCTION_WORDS = set(
    """
    after before and or but to of in on at for with by from as is was are were be been has had have
    that which who the a an than over under about while when since if because so it its their his her
    into onto against between during without within across through toward towards amid near
    """.split()
)
_MEDIA = re.compile(r"\b(KCNA|state media|news agency|Yonhap|Xinhua|TASS|Kyodo|newspaper|Rodong Sinmun|"
                    r"television|reported|report)\b", re.IGNORECASE)
_BARE_GENERIC = {"officials", "sources", "analysts", "experts", "people", "authorities", "they", "observers"}
_PERSON_HEADS = {
    "spokesman", "spokeswoman", "spokesperson", "minister", "official", "president", "leader",
    "ambassador", "envoy", "secretary", "adviser", "advisor", "director", "director-general", "chief",
    "commander", "negotiator", "diplomat", "premier", "chairman", "chairwoman", "representative",
    "general", "admiral", "source", "analyst", "expert", "professor", "researcher", "resident",
    "defector", "scholar", "fellow", "observer", "journalist", "soldier", "insider", "lawmaker",
    "senator", "delegate",
}


@dataclass(slots=True)  # many are made per article; slots make them cheaper to build and read
class _Mention:
    """A speaker the article has named: its surface form, fuller name, side and officialness."""

    surface: str
    name: str
    source: str | None
    official: bool
    pos: int
    person: bool
    descriptor: str = ""  # role words and attribution clause seen with it ("in a statement ...")

    def at(self, surface: str, pos: int) -> "_Mention":
        """The same speaker, referred to again at ``pos``."""
        return _Mention(surface, self.name, self.source, self.official, pos, self.person, self.descriptor)


@dataclass
class _ArticleState:
    text: str = ""
    lo: int = 0  # the article's bounds in ``text``
    hi: int = 0
    # The article's personal names as (pos, full name) entries in text order, indexed by first
    # word, last word and whole name (by_ref), and by whole name alone (by_name): resolving a
    # surname looks at that surname's few entries, not at every name in the article.
    by_ref: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    by_name: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    mentions: list[_Mention] = field(default_factory=list)
    _context: dict[int, tuple[str, str]] = field(default_factory=dict)

    def add_name(self, pos: int, name: str) -> None:
        entry = (pos, name)
        parts = name.split()
        first, last = parts[0], parts[-1]
        by_ref = self.by_ref
        by_ref.setdefault(first, []).append(entry)
        if last != first:  # each entry once per key
            by_ref.setdefault(last, []).append(entry)
        if name != first and name != last:
            by_ref.setdefault(name, []).append(entry)
        self.by_name.setdefault(name, []).append(entry)

    def context(self, entry: tuple[int, str]) -> tuple[str, str]:
        """The words before a name within its sentence and its appositive after it.

        Computed when a speaker resolves to the name, not for every name the article holds: most
        names are never looked up.
        """
        pos, name = entry
        got = self._context.get(pos)
        if got is None:
            text = self.text
            s = max(self.lo, pos - 120)
            e = min(self.hi, pos + len(name) + 120)
            left = _LEFT_CUT.split(text[s:pos])[-1]
            right = _RIGHT_CUT.split(text[pos + len(name) : e], maxsplit=1)[0]
            got = self._context[pos] = (left, right)
        return got

    def last(self, pos: int, person: bool | None = None) -> _Mention | None:
        for m in reversed(self.mentions):
            if m.pos < pos and (person is None or m.person == person):
                return m
        return None


def _tokens(np: str) -> list[str]:
    return np.split()


_TIME_TAIL = re.compile(
    r"(?:\s+(?:on|late|early|last|this|earlier|later)\s+(?:on\s+)?(?:Monday|Tuesday|Wednesday|Thursday|Friday|"
    r"Saturday|Sunday|week|month|year|night|morning|evening|afternoon|today)|\s+(?:today|yesterday))+$"
)
_SPACES = re.compile(r"\s+")
_PAREN_ACRONYM = re.compile(r"\s*\([A-Z][A-Za-z.&-]{1,11}\)")
_LEADING_ADJUNCT = re.compile(r"^(?:In|At|From|On|After|Before|Speaking|Asked)\b[^,]{0,60},\s*")
_MASKED_QUOTE = re.compile(r"[\u201c\"\u2018]x[x\s.!?]*[\u201d\"\u2019]")
_REPORTED_THAT = re.compile(rf"\b(?:{_VERB_ALT})\b(?:\s+[\w'\u2019-]+){{0,5}}?\s+that$")
_NEXT_WORD = re.compile(r"\s+([a-z][a-z-]+)")
_POST_MODIFIER = re.compile(
    r"^\s+((?:familiar with|close to|briefed on|involved in|knowledgeable about|based in|"
    r"with knowledge of)\s+(?:the\s+|a\s+)?[\w-]+)"
)


def _clean_np(np: str) -> str:
    np = np.strip(" ,;:\u2014\u2013-")
    np = _SPACES.sub(" ", np)
    np = _TIME_TAIL.sub("", np)
    return np


@functools.lru_cache(maxsize=65536)
def _np_before(text: str) -> str:
    """The noun phrase that ends ``text`` (the subject right before a verb), or ''.

    Scans back over capitalised words, role words, possessives and connectors; stops at a comma
    or at any other word.
    """
    text = _INTERJECTIONS.sub("", text)
    text = _PAREN_ACRONYM.sub("", text)  # "Joint Chiefs of Staff (JCS) said": the acronym repeats the name
    rel = _RELATIVE.search(text)
    if rel:
        text = text[: rel.start()]
    words = text.split()  # same as re.findall(r"[^\s]+", text): both split on Unicode whitespace
    picked: list[str] = []
    # leading auxiliaries ("North Korea has demanded") are skipped
    while words and words[-1].lower() in _AUXILIARIES:
        words.pop()
    for w in reversed(words):
        if w.endswith((",", ";", ":", ")", "(")) or w in {"\u2014", "\u2013", "-"}:
            break
        lw = w.lower().strip("\u201c\u201d\"")
        ok = (
            _CAP_TOKEN.match(w) is not None
            or lw in _ROLE_WORDS
            or lw.endswith(("-based", "'s", "\u2019s"))
            or (lw in _CONNECTORS and picked)
            or (lw in PRONOUNS and not picked)
            or lw in ("u.s.", "u.n.")
        )
        if not ok:
            break
        picked.append(w)
        if lw in PRONOUNS:
            break
    # connectors cannot start a phrase (except a determiner)
    while picked and picked[-1].lower() in _CONNECTORS - {"the", "a", "an"}:
        picked.pop()
    return _clean_np(" ".join(reversed(picked)))


@functools.lru_cache(maxsize=65536)
def _np_after(text: str) -> str:
    """The noun phrase that starts ``text`` (the speaker right after ``said``), or ''."""
    words = text.split()
    picked = []
    for w in words:
        stripped = w.rstrip(",.;:")
        lw = stripped.lower()
        ok = (
            _CAP_TOKEN.match(stripped) is not None
            or lw in _ROLE_WORDS
            or lw.endswith(("-based", "'s", "\u2019s"))
            or lw in _CONNECTORS
            or lw in PRONOUNS
        )
        if not ok:
            break
        picked.append(stripped)
        if stripped != w:
            break
    while picked and picked[-1].lower() in _CONNECTORS:
        picked.pop()
    np = _clean_np(" ".join(picked))
    if np:
        rest = text[text.find(picked[-1]) + len(picked[-1]):] if picked else ""
        pm = _POST_MODIFIER.match(rest)
        if pm and not _PM_PUNCT.search(pm.group(1)):
            np = f"{np} {pm.group(1)}"
    return np


@functools.lru_cache(maxsize=4096)
def _word_pattern(word: str) -> re.Pattern:
    """``\\bword\\b``, compiled once per word."""
    return re.compile(rf"\b{re.escape(word)}\b")


@functools.lru_cache(maxsize=65536)
def _has_person_head(np: str) -> bool:
    """Whether the head of a speaker phrase (before "of", "from", ...) is a person's role."""
    core = _CORE_SPLIT.split(np.lower())[0].split()
    return any(w.strip(",") in _PERSON_HEADS for w in core)


@functools.lru_cache(maxsize=65536)
def _verb_subject(head: str) -> tuple[str, str, int] | None:
    """The first speech verb in ``head`` with a usable subject (not a pronoun, not a bare
    "officials"): (subject, attribution clause, offset of the verb); None if there is none."""
    for vm in _VERB_RE.finditer(head):
        np, appos = _subject_before_verb(head[: vm.start()])
        if np and np.lower() not in PRONOUNS and not _is_weak(np):
            return np, f"{appos} {_attribution_clause(head[vm.start():])}", vm.start()
    return None


def _is_weak(np: str) -> bool:
    return np.lower() in _BARE_GENERIC


_CLAUSE_PREPS = {"in", "on", "at", "to", "during", "after", "before", "through", "via", "from", "while",
                 "when", "by", "late", "earlier", "later", "last", "this", "monday", "tuesday", "wednesday",
                 "thursday", "friday", "saturday", "sunday", "again", "also", "repeatedly", "publicly"}


def _attribution_clause(text: str) -> str:
    """The attribution words after a speech verb ("said in a statement carried by KCNA"), without
    the reported content that may follow ("said Seoul must ..." names the content's actor)."""
    m = _CLAUSE_VERB.match(text)
    if not m:
        return ""
    verb, rest = m.group(1), m.group(2)
    words = rest.split()
    if not words or words[0].lower().strip(",") not in _CLAUSE_PREPS:
        return verb
    cut = _CLAUSE_END.split(rest, maxsplit=1)[0]
    return f"{verb}{cut[:160]}"


@dataclass
class _Attribution:
    np: str
    clause: str  # words around the verb, used to find the speaker's side
    media: bool  # the attribution names a news medium ("KCNA reported")


def _looks_named(np: str) -> bool:
    """Whether a phrase ends in what looks like a personal name (two capitalised words)."""
    toks = np.split()
    return len(toks) >= 2 and all(_CAP_TOKEN.match(t) and t not in _TITLES for t in toks[-2:])


@functools.lru_cache(maxsize=65536)
def _subject_before_verb(text: str) -> tuple[str, str]:
    """The subject of a verb whose left context is ``text``: (noun phrase, appositive).

    Handles an appositive or relative clause between subject and verb, on either side of the
    name: "Yoon Bok-soon, an 84-year-old resident, said"; "the director-general, who was not
    named, said"; "its special representative for North Korea, Daniel Whitford, said".
    """
    t = _INTERJECTIONS.sub("", text).rstrip()
    np = _np_before(t)
    if np.endswith(("'s", "\u2019s")):
        return "", ""  # "Whitford's remarks": a possessive is not a subject
    if np:
        return np, ""
    if not t.endswith(","):
        return "", ""
    chunks = [c.strip() for c in t[:-1].split(",")]
    options = []
    for depth in (2, 3):
        if len(chunks) < depth:
            break
        tail = chunks[-depth:]
        for i, chunk in enumerate(tail):
            cand = _np_before(chunk) if i == 0 else _clean_np(chunk)
            if cand and (i == 0 or _np_before(chunk) == cand):
                others = ", ".join(c for j, c in enumerate(tail) if j != i)
                options.append((cand, others))
        if options:
            break
    if not options:
        return "", ""
    named = [o for o in options if _looks_named(o[0])]
    return (named or options)[0]


def _find_attribution(before: str, after: str) -> _Attribution | None:
    """Find the speaker phrase for a quote from the sentence text before and after it.

    Memoised through its caller, :func:`_read_quote`."""
    candidates: list[_Attribution] = []
    # 1. right after the quote: `,” Kim said` / `,” said Kim` / `, he added`
    a = after.lstrip(" ,")
    m = _VERB_THEN_NP.match(a)
    if m and not _NOT_SPEAKER_NEXT.match(m.group(1)):
        np = _np_after(m.group(1))
        if np:
            candidates.append(_Attribution(np, a, bool(_MEDIA.search(np))))
    # `,” Kim said` / `, its special representative for North Korea, Daniel Whitford, said`
    if not candidates:
        vm = _VERB_RE.search(a)
        if vm and vm.start() < 160 and not _SENTENCE_PUNCT.search(a, 0, vm.start()):
            lead = a[: vm.start()]
            np, appos = _subject_before_verb(lead)
            if np and len(_clean_np(lead)) <= len(np) + len(appos) + 4:
                candidates.append(_Attribution(np, f"{appos} {a}", bool(_MEDIA.search(np))))
    # 2. a trailing attribution later in the sentence: `… is necessary, Biegun said`
    if not candidates:
        for tm in _TRAILING_ATTRIBUTION.finditer(after):
            np = _np_before(tm.group(1))
            if np and np == _clean_np(tm.group(1)):
                candidates.append(_Attribution(np, after[tm.start():], bool(_MEDIA.search(np))))
                break
    # `…, state media said, citing vice foreign minister Choe Son Hui`
    cm = _CITING_RE.search(after)
    if cm:
        np = _np_after(cm.group(1))
        if np:
            candidates.insert(0, _Attribution(np, cm.group(1), False))
    # 3. before the quote: the last speech verb with a subject (`Choe said: “`, `X said on Monday that “`)
    verbs = list(_VERB_RE.finditer(before))
    weak = None
    for vm in reversed(verbs):
        left = before[: vm.start()]
        np, appos = _subject_before_verb(left)
        if np.lower() in {"which", "who"}:
            np, appos = _subject_before_verb(left.rstrip()[: -len(np)].rstrip(" ,") + " ")
        if np:
            att = _Attribution(np, f"{appos} {_attribution_clause(before[vm.start():])}", bool(_MEDIA.search(np)))
            if _is_weak(np):
                weak = weak or att
                continue
            candidates.append(att)
            break
    else:
        if weak is not None:
            candidates.append(weak)
    # a coordinated verb with no subject of its own ("Trump was asked … and mentioned"):
    # the sentence's subject speaks.
    if verbs and not candidates:
        aux = _AUX_VERB.search(before)
        np = _np_before(before[: aux.start()]) if aux else ""
        if np and before.startswith(np):
            candidates.append(_Attribution(np, before, False))
    am = _ACCORDING_RE.search(before + " " + after)
    if am:
        np = _np_after(am.group(1))
        if np:
            candidates.append(_Attribution(np, am.group(0), bool(_MEDIA.search(np))))
    if not candidates:
        return None
    # Prefer a person or office over a news medium or a bare "officials".
    for c in candidates:
        if not c.media and not _is_weak(c.np):
            return c
    return candidates[0]


class QuoteExtractor:
    """Find quotes in documents and attribute them.

    Args:
        gazetteer: actor gazetteer; defaults to ``configs/actors.yaml``.
        split_pages: split a document into articles at headline-like lines.

    Example:
        >>> ex = QuoteExtractor()
        >>> recs = ex.extract("“We are ready to talk,” the Chinese foreign ministry spokesperson said.", "doc")
        >>> recs[0]["speaker"], recs[0]["source"], recs[0]["official"]
        ('the Chinese foreign ministry spokesperson', 'CHN', True)
    """

    def __init__(self, gazetteer: Gazetteer | None = None, split_pages: bool = True):
        self.gaz = gazetteer or load_gazetteer()
        self.split_pages = split_pages
        # These are pure functions of a token or phrase (given the gazetteer), and the same names,
        # titles and speaker phrases recur in every article: memoise them per extractor.
        for name in ("_is_title", "_name_in", "_name_of_run", "_sentence_opening", "_describe_speaker"):
            setattr(self, name, functools.lru_cache(maxsize=65536)(getattr(self, name)))

    # -- names ---------------------------------------------------------------------------------
    def _is_title(self, tok: str) -> bool:
        bare = tok.rstrip(",").replace("\u2019", "'")
        if bare.endswith("'s"):
            return True  # "Seoul's Kim": a possessive is a descriptor, never part of a name
        return bare in _TITLES or bool(self.gaz.actor_in(bare)) or bare.upper() == bare

    def _name_of_run(self, run: str) -> tuple[str, int] | None:
        """The personal name in a run of capitalised words, and its offset in the run; None if the
        run holds no name of two words or more.

        The name is the run after the last title or actor word:
        "Vice North Korean Foreign Minister Choe Son Hui" -> "Choe Son Hui".
        """
        spans = [(m.start(), m.group()) for m in re.finditer(r"\S+", run)]
        toks = [t for _, t in spans]
        cut = max((i + 1 for i, t in enumerate(toks) if self._is_title(t)), default=0)
        toks = toks[cut:]
        if len(toks) < 2 or toks[-1] in _PLACE_WORDS:
            return None
        # joined with single spaces even where the page has several, a tab or a no-break space
        name = " ".join(toks)
        if self.gaz.actor_in(name):
            return None
        return name, spans[cut][0]

    def _register_names(self, text: str, article: Article, state: _ArticleState) -> None:
        """Record every full personal name in the article.

        The words next to a name (which describe it: "an analyst at ... in Seoul") are read later,
        by :meth:`_ArticleState.context`, for the names a speaker resolves to.
        """
        body = text[article.start : article.end]
        for m in _name_runs(body):
            found = self._name_of_run(m.group(1))
            if found is not None:
                name, offset = found
                state.add_name(article.start + m.start(1) + offset, name)

    def _full_name(self, short: str, pos: int, state: _ArticleState) -> tuple[int, str] | None:
        """Resolve a surname or short form to the latest full name given before ``pos``.

        A headline may use a surname that the body spells out just below it, so a name given
        shortly after ``pos`` is the fallback.
        """
        key = short.replace("\u2019", "'")
        key = key[:-2] if key.endswith("'s") else key
        # the entries whose first or last word, or whole name, is ``key``, in text order
        refs = state.by_ref.get(key, ())
        best = None
        for entry in refs:
            if entry[0] >= pos:
                break
            best = entry
        if best is None:
            for entry in refs:
                parts = entry[1].split()
                if pos <= entry[0] < pos + 600 and key in (parts[0], parts[-1]):
                    return entry
        return best

    def _name_in(self, np: str) -> str:
        """The personal name at the end of a speaker phrase, without titles ('' if none)."""
        off = self.gaz.official_named(np)
        if off is not None:
            for n in off.names:
                if n in np.replace("\u2019", "'"):
                    return n
        run: list[str] = []
        for t in reversed(np.split()):
            bare = t.rstrip(",")
            if _CAP_TOKEN.match(bare) and not self._is_title(bare):
                run.append(bare)
            else:
                break
        name = " ".join(reversed(run))
        if name and (self.gaz.actor_in(name) or name.split()[-1] in _PLACE_WORDS):
            return ""
        return name

    # -- attribution ---------------------------------------------------------------------------
    def _resolve_reference(self, np: str, pos: int, state: _ArticleState) -> _Mention | None:
        """A pronoun, "the statement", or a definite role ("the source", "the minister") refers to
        an earlier speaker in the same article."""
        low = np.lower()
        if low in PRONOUNS:
            if low in {"he", "she", "his", "her"}:
                prev = state.last(pos, person=True) or state.last(pos)
            elif low in {"it", "its"}:
                prev = state.last(pos, person=False) or state.last(pos)
            else:
                prev = state.last(pos)
            return prev.at(np, pos) if prev else None
        m = _DEFINITE.fullmatch(np)
        if not m:
            return None
        head = m.group(1).split()[-1]
        if head in {"statement", "report", "release", "commentary", "letter", "readout", "communique"}:
            for prev in reversed(state.mentions):
                if prev.pos < pos and head in prev.descriptor.lower():
                    return prev.at(np, pos)
            prev = state.last(pos, person=False)
            return prev.at(np, pos) if prev else None
        for prev in reversed(state.mentions):
            if prev.pos < pos and (head in prev.name.lower().split() or head in prev.surface.lower().split()
                                   or _word_pattern(head).search(prev.descriptor.lower())):
                return prev.at(np, pos)
        return None

    def _speaker(self, np: str, clause: str, pos: int, state: _ArticleState) -> _Mention | None:
        """Turn a speaker phrase into a mention: resolve references, surnames and roles; find the side."""
        ref = self._resolve_reference(np, pos, state)
        if ref is not None or np.lower() in PRONOUNS:
            return ref
        run = self._name_in(np)
        entry = None
        if run:
            entry = self._full_name(run, pos, state) if len(run.split()) == 1 else None
            if entry is None:
                # the nearest mention of the same full name carries its role
                same = state.by_name.get(run)
                entry = min(same, key=lambda e: abs(e[0] - pos)) if same else None
        full, left, right = (entry[1], *state.context(entry)) if entry is not None else (None, None, None)
        name, source, official, person, no_name_side, descriptor = self._describe_speaker(np, clause, full, left, right)
        # what the article said before about the same speaker
        if run and (source is None or no_name_side):
            # a person keeps the side found at an earlier mention of the same name
            for prev in reversed(state.mentions):
                if prev.person and prev.name == name and prev.source:
                    source = prev.source
                    break
        if source is None:
            # a phrase seen before ("Daily NK sources") keeps the side it had then
            low = np.lower()
            for prev in reversed(state.mentions):
                if prev.source and (low in prev.surface.lower() or prev.surface.lower() in low):
                    source = prev.source
                    break
        return _Mention(np, name, source, official, pos, person, descriptor)

    def _describe_speaker(
        self, np: str, clause: str, full: str | None, left: str | None, right: str | None
    ) -> tuple[str, str | None, bool, bool, bool, str]:
        """The part of :meth:`_speaker` that depends on the words only (so it is memoised).

        Args:
            np: the speaker phrase; clause: its attribution clause.
            full, left, right: the full name that the phrase's personal name resolved to in the
                article, and the words around it there (all None when it resolved to none).

        Returns:
            (name, source, official, person, whether the words around the name named no actor,
            descriptor of the mention).
        """
        name, descriptor, person = np, "", False
        name_side = None
        run = self._name_in(np)
        if run:
            person = True
            if full is not None:
                name = full
                descriptor = f"{left} {right}"
                # the actor words closest before the name, then its appositive
                # ("In Seoul, First Vice Foreign Minister Oh Jin-seok"; "Park, an analyst in Seoul")
                name_side = self.gaz.nearest_actor(left) or self.gaz.actor_in(right)
            else:
                name = run
            role = np.replace(run, "").strip()
            descriptor = f"{role} {descriptor}".strip()
        if _has_person_head(np):
            person = True
        # Side: a gazetteer name, then the speaker phrase's own actor words, then the words seen
        # around the name, then the attribution clause ("in a statement carried by KCNA").
        described = f"{descriptor} {clause}"
        source, official = self.gaz.resolve(np, described)
        if run:
            s_name, o_name = self.gaz.resolve(name, described)
            if self.gaz.official_named(name) is not None:
                source = s_name
            elif self.gaz.actor_in(np) is None and name_side is not None:
                source = name_side
            official = official or o_name
        if self.gaz.is_non_official(np) or self.gaz.is_non_official(descriptor.split(",")[0] if run else ""):
            official = False
        return name, source, official, person, name_side is None, described.strip()

    def _sentence_opening(self, head: str) -> tuple[tuple[str, str] | None, str | None]:
        """What the opening of a sentence (``head``: the sentence up to its first quote) offers.

        Returns (subject, actor): ``subject`` is (phrase, the words after it) when the sentence
        opens with a named person, a candidate antecedent of a later "he"/"she"; ``actor`` is
        the actor that the opening phrase names. Both depend on the words only, so they are
        memoised; whether the subject is registered depends on the article (see _attribute).
        """
        body = _LEADING_ADJUNCT.sub("", head.lstrip())
        np = _np_after(body)
        actor = self.gaz.actor_in(np) if np else None
        if not np or np.lower() in PRONOUNS or not self._name_in(np):
            return None, actor
        rest = body[len(np):].lstrip()
        if rest.startswith(("'s", "\u2019s", ",", "and ")):
            return None, actor  # "Whitford's remarks", a list: not the subject
        return (np, rest[:120]), actor

    # -- main ----------------------------------------------------------------------------------
    def extract(self, text: str, doc_id: str, extra: dict | None = None) -> list[dict]:
        """Extract quote records from one document.

        Args:
            text: the document (one article, or a page of several).
            doc_id: a name for the document, used in `article` and `id`.
            extra: fields copied into every record (an article's `date`, `url`, `title`).

        Returns:
            One record per quotation, in document order, with `id`, `article`, `start`, `end`,
            `text`, `speaker`, `source`, `official`, `fragment` and `context`.

        Example:
            >>> QuoteExtractor().extract("No quotes here.", "d")
            []
        """
        articles = split_articles(text) if self.split_pages else _one_article(text)
        records: list[dict] = []
        for art in articles:
            if not art.paragraphs:
                continue
            if _ANY_MARK.search(text, art.start, art.end) is None:
                continue  # no quotation mark (nor apostrophe) in the article
            quotes = find_quotes(text, art)
            if not quotes:
                continue
            art_id = f"{doc_id}#{art.index}" if len(articles) > 1 else doc_id
            records.extend(self._attribute(text, art, quotes, art_id, extra or {}))
        for i, rec in enumerate(records, 1):
            rec["id"] = f"{doc_id}-q{i}"
        return records

    def _attribute(self, text: str, art: Article, quotes: list[QuoteSpan], art_id: str, extra: dict):
        state = _ArticleState(text=text, lo=art.start, hi=art.end)
        self._register_names(text, art, state)
        # The quotes opening in each paragraph, and those covering it (to be masked there); built
        # once, rather than filtering all of the article's quotes for every paragraph.
        by_para: dict[int, list[QuoteSpan]] = {}
        covering: dict[int, list[QuoteSpan]] = {}
        for q in quotes:
            by_para.setdefault(q.para, []).append(q)
            for pi in range(q.para, q.end_para + 1):
                covering.setdefault(pi, []).append(q)
        last_quote_para = max(by_para)
        n_headline_quotes = len(by_para.get(0, ()))
        out = []
        mentions_of: list[_Mention | None] = []
        prev_quote_speaker: _Mention | None = None
        prev_quote_para = -10
        art_actor: str | None = None
        subject_actor: str | None = None  # the side of the latest sentence subject or speaker
        for pi, para in enumerate(art.paragraphs):
            if pi > last_quote_para and not (
                art.headline and any(m is not None for m in mentions_of[:n_headline_quotes])
            ):
                # No quote opens from here on, so the speakers that the rest of the article names
                # could only serve _resolve_headline, which has no attributed headline quote to
                # fill in: the remaining paragraphs cannot change any record.
                break
            pq = covering.get(pi)
            masked = mask_quotes(text, pq, para.start, para.end) if pq else text[para.start : para.end]
            sents = sentence_bounds(masked, para.start)
            opens = [q.open_pos for q in by_para.get(pi, ())]
            # speakers named outside quotes ("X said on Monday ...") and persons opening a sentence
            # become antecedents for "he said" and "the minister said" later on
            for ss, se in sents:
                first_q = se
                for o in opens:  # the first quote opening in the sentence
                    if ss <= o < first_q:
                        first_q = o
                head = masked[ss - para.start : first_q - para.start]  # the sentence up to its first quote
                # a named person opening the sentence ...
                subject, lead_actor = self._sentence_opening(head)
                registered = False
                if subject is not None:
                    ment = self._speaker(subject[0], subject[1], ss, state)
                    if ment is not None and ment.person:
                        state.mentions.append(ment)
                        registered = True
                if lead_actor:
                    subject_actor = lead_actor
                if registered:
                    continue
                # ... else the subject of a speech verb ("X said on Monday ...")
                verb = _verb_subject(head)
                if verb is not None:
                    np, clause, offset = verb
                    ment = self._speaker(np, clause, ss + offset, state)
                    if ment is not None:
                        state.mentions.append(ment)
            no_verb_here = None  # whether the paragraph has no speech verb outside quotes; found once
            for q in by_para.get(pi, ()):
                for ss, se in sents:  # the sentence the quote opens in
                    if ss <= q.open_pos < se:
                        break
                else:
                    ss, se = para.start, para.end
                close = q.close_pos if q.close_pos is not None else q.end
                context_end = se
                if q.end_para != q.para:
                    # attribution of a multi-paragraph quote may sit after its last part
                    last = art.paragraphs[q.end_para]
                    lmask = mask_quotes(text, [q], last.start, last.end)
                    context_end = next((e for s, e in sentence_bounds(lmask, last.start) if s <= close < e), last.end)
                    after = lmask[close + 1 - last.start : context_end - last.start] if close < last.end else ""
                else:
                    after = masked[close + 1 - para.start : se - para.start] if close < se else ""
                before = masked[ss - para.start : q.open_pos - para.start]
                quote_text = q.words(text)
                # the text right after the closing mark, where a scare quote's noun would be
                next_text = text[q.close_pos + 1 : q.close_pos + 40] if q.close_pos is not None else None
                scare, att, fragment = _read_quote(before, after, quote_text, next_text)
                mention = self._speaker(att.np, att.clause, q.open_pos, state) if att is not None else None
                if mention is None and not scare and att is None:
                    # no attribution in the sentence: a quote paragraph, or a further sentence of the
                    # quote before, belongs to the speaker of that quote
                    if prev_quote_speaker is not None and prev_quote_para >= pi - 1:
                        if no_verb_here is None:
                            no_verb_here = not _VERB_RE.search(masked)
                        if prev_quote_para == pi or no_verb_here or text[para.start] in "\u201c\"\u2018'":
                            mention = prev_quote_speaker.at(prev_quote_speaker.surface, q.open_pos)
                if mention is not None and mention.source is None:
                    # no side named: the side of the sentence before (its subject or its speaker),
                    # else the actor the story names most
                    if not subject_actor and art_actor is None:  # (only needed without subject_actor)
                        art_actor = self.gaz.main_actor(text[art.start : art.end]) or ""
                    mention.source = subject_actor or art_actor or None
                if mention is not None:
                    subject_actor = mention.source or subject_actor
                    # (mention is a fresh object at q.open_pos and is not changed after this, so it is
                    # registered as it is rather than as a copy)
                    state.mentions.append(mention)
                    prev_quote_speaker, prev_quote_para = mention, q.end_para
                mentions_of.append(mention)
                context = text[ss : q.start] + QUOTE_MARKER + text[q.end : context_end]
                rec = {
                    "id": "",
                    "article": art_id,
                    "start": q.start,
                    "end": q.end,
                    "text": quote_text,
                    "speaker": mention.name if mention else None,
                    "source": mention.source if mention else None,
                    "official": bool(mention.official) if mention else False,
                    "fragment": fragment,
                    # = _SPACES.sub(" ", context).strip(): split() cuts at the same (Unicode) whitespace
                    "context": " ".join(context.split()),
                }
                if extra:
                    rec.update(extra)
                out.append(rec)
        if art.headline:
            self._resolve_headline(out, mentions_of, art, state)
        return out

    def _resolve_headline(self, out: list[dict], mentions: list, art: Article, state: _ArticleState) -> None:
        """A headline names its speaker in short ("N. Korean ministry", "Seoul's Kim"); give the
        fuller form the body uses for the same speaker."""
        head_end = art.paragraphs[0].end
        for rec, ment in zip(out, mentions):
            if rec["start"] >= head_end or ment is None:
                continue
            head_words = {w.lower().strip(",.'\u2019s") for w in ment.surface.split()}
            for later in state.mentions:
                if later.pos < head_end or later.source != ment.source:
                    continue
                later_words = {w.lower() for w in later.surface.split()} | {w.lower() for w in later.name.split()}
                shared = head_words & later_words & (_PERSON_HEADS | {"ministry", "office", "agency", "command"}
                                                     | {w.lower() for w in later.name.split()})
                if shared:
                    rec["speaker"], rec["official"] = later.name, later.official
                    break


def _one_article(text: str) -> list[Article]:
    from kstance.quotes import paragraphs

    paras = paragraphs(text)
    return [Article(0, paras)] if paras else []


@functools.lru_cache(maxsize=65536)
def _read_quote(before: str, after: str, quote: str, next_text: str | None) -> tuple[bool, _Attribution | None, bool]:
    """What a quote's own sentence says about it: (scare quote?, attribution, fragment?).

    Args:
        before, after: the (masked) words of its sentence before the opening and after the
            closing mark.
        quote: the quoted words.
        next_text: the text just after the closing mark (None when the quote has none).

    Depends on these words only, so it is memoised: a page's boilerplate and syndicated
    stories repeat whole sentences.
    """
    # other quotes in the sentence are masked already; shorten them to a placeholder
    before_c = _MASKED_QUOTE.sub("Q", before)
    after_c = _MASKED_QUOTE.sub("Q", after)
    scare = _is_scare_quote(quote, before_c, next_text)
    att = None if scare else _find_attribution(before_c, after_c)
    return scare, att, _is_fragment(quote, before_c, after_c)


def _is_fragment(quote: str, before: str, after: str) -> bool:
    """Whether the quote is a fragment: words that continue the reporter's own sentence.

    A quotation that stands as its own sentence, or as the whole clause after "said (that)" or a
    colon, is a statement; one that begins mid-clause ("…would take “corresponding measures”") is
    a fragment, whatever its length. See docs/annotation-guidelines.md.
    """
    b = before.strip()
    if not b or b.endswith((":", ",")) and _VERB_RE.search(b[-60:]) or b.endswith(":"):
        # a quotation opening the sentence is a fragment only if it is a few words that the
        # reporter's sentence goes on from (“Maximum pressure” remains the policy)
        a = after.strip()
        short = len(quote.split()) <= 4 and not quote[:1].isupper()
        return bool(short and a and not a.startswith((",", ".", "!", "?")) and not _VERB_RE.match(a))
    if _REPORTED_THAT.search(b):
        return False  # a reported statement ("adding that “…”"), however short
    return True


def _is_scare_quote(quote: str, before: str, next_text: str | None) -> bool:
    """Words the reporter puts in marks as a term, not as anybody's words: a single word used as a
    modifier of the next noun (“blackout” training), or a so-called “X”.

    ``next_text`` is the text after the closing mark (None when there is none)."""
    if _SO_CALLED.search(before):
        return True
    if len(quote.split()) != 1 or next_text is None:
        return False
    m = _NEXT_WORD.match(next_text)
    return bool(m) and m.group(1) not in _FUNCTION_WORDS and not _VERB_RE.fullmatch(m.group(1))


_DEFAULT: QuoteExtractor | None = None


def extract_quotes(text: str, doc_id: str = "doc", extra: dict | None = None) -> list[dict]:
    """Extract quote records from a document with the default gazetteer.

    Args:
        text: one article or a page of several.
        doc_id: a name for the document.
        extra: fields copied into every record.

    Returns:
        A list of quote records (see :meth:`QuoteExtractor.extract`).

    Example:
        >>> r = extract_quotes("“The drill is a rehearsal for invasion,” KCNA said.")
        >>> r[0]["speaker"], r[0]["source"]
        ('KCNA', 'PRK')
    """
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = QuoteExtractor()
    return _DEFAULT.extract(text, doc_id, extra)
