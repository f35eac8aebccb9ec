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

import re
from dataclasses import dataclass, field

from kstance.actors import Gazetteer, load_gazetteer
from kstance.quotes import Article, QuoteSpan, find_quotes, mask_quotes, sentence_bounds, split_articles

QUOTE_MARKER = "[Q]"

SPEECH_VERBS = (
    "said|says|say|saying|added|adds|adding|told|tells|telling|warned|warns|warning|stressed|stresses|"
    "explained|explains|noted|notes|insisted|insists|stated|states|declared|declares|wrote|writes|"
    "posted|posts|tweeted|tweets|urged|urges|called|calls|demanded|demands|accused|accuses|described|"
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
_VERB_RE = re.compile(rf"\b(?:{SPEECH_VERBS})\b")
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
    Tag Archives Korean Peninsula Central News Agency Party Ministry Council Office House Department
    Joint Chiefs Staff Forces Army Navy Air Force Command Assembly Nations United States Republic
    People's Democratic Workers' Central Committee Summit Olympic Olympics
    """.split()
)
_PLACE_WORDS = {"Province", "Provinces", "City", "County", "Island", "Islands", "Sea", "Peninsula",
                "Strait", "Base", "Airport", "Port", "District", "Zone", "River", "Mountain"}
_CAP_TOKEN = re.compile(r"^[A-Z][\w'\u2019.-]*$")
_NAME_RUN = re.compile(
    r"(?<![\w'\u2019-])([A-Z][a-z]+(?:-[a-zA-Z]+)?(?:\s+[A-Z][a-z]+(?:-[a-zA-Z]+)?){1,3})(?![\w'\u2019-])"
)
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


@dataclass
class _Mention:
    """A speaker the article has named: its surface form, fuller name, side and officialness."""

    surface: str
    name: str
    source: str | None
    official: bool
    pos: int
    person: bool


@dataclass
class _ArticleState:
    names: list[tuple[int, str, str]] = field(default_factory=list)  # (pos, full name, descriptor)
    mentions: list[_Mention] = field(default_factory=list)

    def last(self, pos: int, person: bool | None = None) -> _Mention | None:
        for m in reversed(self.mentions):
            if m.pos < pos and (person is None or m.person == person):
                return m
        return None


def _tokens(np: str) -> list[str]:
    return np.split()


def _clean_np(np: str) -> str:
    np = np.strip(" ,;:\u2014\u2013-")
    np = re.sub(r"\s+", " ", np)
    return np


def _np_before(text: str) -> str:
    """The noun phrase that ends ``text`` (the subject right before a verb), or ''.

    Scans back over capitalised words, role words, possessives and connectors; stops at a comma
    or at any other word.
    """
    text = _INTERJECTIONS.sub("", text)
    rel = _RELATIVE.search(text)
    if rel:
        text = text[: rel.start()]
    words = re.findall(r"[^\s]+", text)
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
            or re.fullmatch(r"u\.[sn]\.", lw) is not None
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


def _np_after(text: str) -> str:
    """The noun phrase that starts ``text`` (the speaker right after ``said``), or ''."""
    words = re.findall(r"[^\s]+", text)
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
    return _clean_np(" ".join(picked))


def _is_weak(np: str) -> bool:
    return np.lower() in _BARE_GENERIC


@dataclass
class _Attribution:
    np: str
    clause: str  # words around the verb, used to find the speaker's side
    media: bool  # the attribution names a news medium ("KCNA reported")


def _find_attribution(before: str, after: str) -> _Attribution | None:
    """Find the speaker phrase for a quote from the sentence text before and after it."""
    candidates: list[_Attribution] = []
    # 1. right after the quote: `,” Kim said` / `,” said Kim` / `, he added`
    a = after.lstrip(" ,")
    m = re.match(rf"(?:{SPEECH_VERBS})\b\s+(.*)", a)
    if m and not re.match(r"(?:that|on|in|at|to|by|with|he|she|it|they)\b", m.group(1)):
        np = _np_after(m.group(1))
        if np:
            candidates.append(_Attribution(np, a, bool(_MEDIA.search(np))))
    if not candidates:
        vm = _VERB_RE.search(a)
        if vm and vm.start() < 120:
            np = _np_before(a[: vm.start()])
            if np and _clean_np(a[: vm.start()]).endswith(np) and len(_clean_np(a[: vm.start()])) == len(np):
                candidates.append(_Attribution(np, a, bool(_MEDIA.search(np))))
    # 2. a trailing attribution later in the sentence: `… is necessary, Biegun said`
    if not candidates:
        for tm in re.finditer(rf",\s*([^,]{{1,80}}?)\s+(?:{SPEECH_VERBS})\b", after):
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
        np = _np_before(before[: vm.start()])
        if np.lower() in {"which", "who"}:
            np = _np_before(before[: vm.start()].rstrip()[: -len(np)].rstrip(" ,"))
        if np:
            att = _Attribution(np, before[vm.start():], bool(_MEDIA.search(np)))
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
    if verbs and not any(c.np for c in candidates):
        np = _np_before(re.split(r"\s+(?:was|were|is|has|had|would|will)\b", before, maxsplit=1)[0]) if re.search(r"\s+(?:was|were|is|has|had|would|will)\b", before) else ""
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

    # -- names ---------------------------------------------------------------------------------
    def _register_names(self, text: str, article: Article, state: _ArticleState) -> None:
        """Record every full personal name in the article, with the words next to it."""
        body = text[article.start : article.end]
        for m in _NAME_RUN.finditer(body):
            toks = m.group(1).split()
            # drop leading titles/actor words: "President Donald Trump" -> "Donald Trump"
            while toks and (toks[0] in _TITLES or self.gaz.actor_in(toks[0])):
                toks.pop(0)
            while toks and (toks[-1] in _TITLES or self.gaz.actor_in(toks[-1])):
                toks.pop()
            if len(toks) < 2 or any(t in _TITLES for t in toks):
                continue
            name = " ".join(toks)
            if self.gaz.actor_in(name):
                continue
            pos = article.start + m.start(1) + m.group(1).index(toks[0])
            s = max(article.start, pos - 80)
            e = min(article.end, pos + len(name) + 100)
            descriptor = text[s:e]
            # keep the descriptor within the sentence-ish window around the name
            left = re.split(r"[.!?]\s", text[s:pos])[-1]
            right = re.split(r"(?<!\b[A-Z])[.!?]\s", text[pos + len(name) : e])[0]
            descriptor = (left + " " + right).strip()
            state.names.append((pos, name, descriptor))

    def _full_name(self, short: str, pos: int, state: _ArticleState) -> tuple[str, str] | None:
        """Resolve a surname or short form to the latest full name given before ``pos``."""
        toks = [t for t in short.split() if t not in _TITLES and t.lower() not in {"the", "a", "an"}]
        if len(toks) != 1:
            return None
        key = toks[0].rstrip("'\u2019s") if toks[0].endswith(("'s", "\u2019s")) else toks[0]
        best = None
        for npos, name, desc in state.names:
            if npos >= pos:
                break
            parts = name.split()
            if key in (parts[0], parts[-1]) or key == name:
                best = (name, desc)
        if best is None:
            for npos, name, desc in state.names:
                parts = name.split()
                if npos < pos + 400 and key in (parts[0], parts[-1]):
                    return name, desc
        return best

    # -- attribution ---------------------------------------------------------------------------
    def _speaker(self, np: str, clause: str, pos: int, state: _ArticleState) -> _Mention | None:
        """Turn a speaker phrase into a mention: resolve pronouns, surnames and definite roles."""
        low = np.lower()
        if low in PRONOUNS:
            want_person = low in {"he", "she", "his", "her"}
            prev = state.last(pos, person=want_person) if low != "they" else state.last(pos)
            if prev is None:
                prev = state.last(pos)
            return _Mention(np, prev.name, prev.source, prev.official, pos, prev.person) if prev else None
        # "the source", "the minister": the latest speaker with that head word
        m = re.fullmatch(r"(?i:the)\s+([a-z-]+(?:\s+[a-z-]+)?)", np)
        if m:
            head = m.group(1).split()[-1]
            for prev in reversed(state.mentions):
                if prev.pos < pos and head in prev.name.lower().split():
                    return _Mention(np, prev.name, prev.source, prev.official, pos, prev.person)
        name = np
        descriptor = ""
        person = False
        official_gaz = self.gaz.official_named(np)
        run = self._name_in(np)
        if run:
            resolved = self._full_name(run, pos, state) if len(run.split()) == 1 else None
            if resolved:
                name, descriptor = resolved
                person = True
            elif len(run.split()) >= 2:
                name = run
                person = True
                # an earlier mention of the same name may carry its role ("Kim Yong Chol, a senior
                # North Korean official")
                for npos, full, desc in state.names:
                    if full == run and npos <= pos:
                        descriptor = desc
                        break
                else:
                    for npos, full, desc in state.names:
                        if full == run:
                            descriptor = desc
                            break
            elif official_gaz is None:
                person = True
            role = np.replace(run, "").strip()
            descriptor = f"{role} {descriptor}".strip()
        if official_gaz is not None:
            person = True
            if name == np:
                name = self._name_in(np) or np
        core = re.split(r"\s+(?:of|from|to|for|at|in|based)\s+", np.lower())[0].split()
        if any(w in _PERSON_HEADS for w in core):
            person = True
        source, official = self.gaz.resolve(name if person and run else np, f"{descriptor} {clause}")
        if source is None or (self.gaz.official_named(name) is None and person and run):
            # the role words in the phrase ("JCS spokesman Kim Joon-rak") name the side
            s2, o2 = self.gaz.resolve(np, f"{descriptor} {clause}")
            source = source or s2
            official = official or o2
        if source is None:
            # a phrase seen before ("Daily NK sources") keeps the side it had then
            for prev in reversed(state.mentions):
                if prev.source and (np.lower() in prev.surface.lower() or prev.surface.lower() in np.lower()):
                    source = prev.source
                    break
        if self.gaz.is_non_official(np):
            official = False
        return _Mention(np, name, source, official, pos, person)

    def _name_in(self, np: str) -> str:
        """The personal name at the end of a speaker phrase, without titles ('' if none)."""
        off = self.gaz.official_named(np)
        if off is not None:
            for n in off.names:
                if n in np:
                    return n
        toks = np.split()
        run: list[str] = []
        for t in reversed(toks):
            bare = t.rstrip(",")
            if _CAP_TOKEN.match(bare) and bare not in _TITLES and not self.gaz.actor_in(bare) \
                    and bare.upper() != bare:
                run.append(bare)
            else:
                break
        name = " ".join(reversed(run))
        if name and (self.gaz.actor_in(name) or name.split()[-1] in _PLACE_WORDS):
            return ""
        return name

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
            if not any(ch in text[art.start : art.end] for ch in "\u201c\u201d\u2018\u2019\"'"):
                continue
            quotes = find_quotes(text, art)
            if not quotes:
                continue
            art_id = f"{doc_id}#{art.index}" if len(articles) > 1 else doc_id
            records.extend(self._attribute(text, art, quotes, art_id, extra or {}))
        for i, rec in enumerate(records, 1):
            rec["id"] = f"{doc_id}-q{i}"
        return records

    def _attribute(self, text: str, art: Article, quotes: list[QuoteSpan], art_id: str, extra: dict):
        state = _ArticleState()
        self._register_names(text, art, state)
        by_para: dict[int, list[QuoteSpan]] = {}
        for q in quotes:
            by_para.setdefault(q.para, []).append(q)
        out = []
        prev_quote_speaker: _Mention | None = None
        art_actor: str | None = None
        prev_quote_para = -10
        for pi, para in enumerate(art.paragraphs):
            pq = [q for q in quotes if q.para <= pi <= q.end_para]
            masked = mask_quotes(text, pq, para.start, para.end)
            sents = sentence_bounds(masked, para.start)
            # speech verbs outside quotes update the latest speaker (for "he said" later on)
            for ss, se in sents:
                local = masked[ss - para.start : se - para.start]
                first_q = min((q.open_pos for q in pq if q.para == pi and ss <= q.open_pos < se), default=se)
                for vm in _VERB_RE.finditer(local[: first_q - ss]):
                    np = _np_before(local[: vm.start()])
                    if np and np.lower() not in PRONOUNS and not _is_weak(np):
                        ment = self._speaker(np, local[vm.start():], ss + vm.start(), state)
                        if ment is not None:
                            state.mentions.append(ment)
                        break
            for q in by_para.get(pi, []):
                sent = next(((s, e) for s, e in sents if s <= q.open_pos < e), (para.start, para.end))
                ss, se = sent
                close = q.close_pos if q.close_pos is not None else q.end
                if q.end_para != q.para:
                    # attribution of a multi-paragraph quote may sit after its last part
                    last = art.paragraphs[q.end_para]
                    lmask = mask_quotes(text, [q], last.start, last.end)
                    lsents = sentence_bounds(lmask, last.start)
                    se2 = next((e for s, e in lsents if s <= close < e), last.end)
                    after = lmask[close + 1 - last.start : se2 - last.start] if close < last.end else ""
                else:
                    after = masked[close + 1 - para.start : se - para.start] if close < se else ""
                before = masked[ss - para.start : q.open_pos - para.start]
                # other quotes in the sentence are masked already; shorten to a placeholder
                before_c = re.sub(r"[\u201c\"\u2018]x[x\s.!?]*[\u201d\"\u2019]", "Q", before)
                after_c = re.sub(r"[\u201c\"\u2018]x[x\s.!?]*[\u201d\"\u2019]", "Q", after)
                att = _find_attribution(before_c, after_c)
                quote_text = q.words(text)
                scare = _is_scare_quote(text, q, quote_text)
                mention = None
                if att is not None and not scare:
                    mention = self._speaker(att.np, att.clause, q.open_pos, state)
                if mention is None and not scare and att is None:
                    # no attribution in the sentence: a quote paragraph, or a further sentence of the
                    # quote before, belongs to the speaker of that quote
                    if prev_quote_speaker is not None and prev_quote_para >= pi - 1:
                        no_verb_here = not _VERB_RE.search(masked)
                        if prev_quote_para == pi or no_verb_here or text[para.start] in "\u201c\"\u2018'":
                            mention = prev_quote_speaker
                if mention is not None and mention.source is None and not mention.official:
                    # a non-official with no side named works where the story is set
                    if art_actor is None:
                        art_actor = self.gaz.main_actor(text[art.start : art.end]) or ""
                    mention = _Mention(mention.surface, mention.name, art_actor or None, False,
                                       mention.pos, mention.person)
                if mention is not None:
                    state.mentions.append(
                        _Mention(mention.surface, mention.name, mention.source, mention.official,
                                 q.open_pos, mention.person)
                    )
                    prev_quote_speaker, prev_quote_para = mention, q.end_para
                context_end = se
                if q.end_para != q.para:
                    last = art.paragraphs[q.end_para]
                    lmask = mask_quotes(text, [q], last.start, last.end)
                    context_end = next((e for s, e in sentence_bounds(lmask, last.start) if s <= close < e), last.end)
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
                    "fragment": _is_fragment(quote_text, before_c, after_c),
                    "context": re.sub(r"\s+", " ", context).strip(),
                }
                rec.update(extra)
                out.append(rec)
        return out


def _one_article(text: str) -> list[Article]:
    from kstance.quotes import paragraphs

    paras = paragraphs(text)
    return [Article(0, paras)] if paras else []


def _is_fragment(quote: str, before: str, after: str) -> bool:
    """A few words embedded in the reporter's own sentence, not a statement on its own."""
    words = len(quote.split())
    if words > 10:
        return False
    b = before.strip()
    if re.search(rf"\b(?:{SPEECH_VERBS})\b(?:\s+\w+){{0,4}}\s+that$", b) or b.endswith(":"):
        return False  # a reported statement ("adding that “…”"), however short
    standalone_start = quote[:1].isupper() and (not b or b.endswith((":", ",")) or b.endswith("that"))
    if standalone_start and (not after.strip() or after.lstrip().startswith((",", ".")) or _VERB_RE.search(after[:40])):
        return False
    if quote[:1].isupper() and not b and words >= 3:
        return False
    return True


def _is_scare_quote(text: str, q: QuoteSpan, quote: str) -> bool:
    """One quoted word used as a modifier of the next noun (“blackout” training): nobody's words."""
    if len(quote.split()) != 1 or q.close_pos is None:
        return False
    m = re.match(r"\s+([a-z][a-z-]+)", text[q.close_pos + 1 : q.close_pos + 40])
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
