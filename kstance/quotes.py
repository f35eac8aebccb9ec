"""Finding quotation spans in text: articles, paragraphs, quotation marks and sentences.

This module knows only typography. Who said a quote is decided in :mod:`kstance.extract`.
All offsets are character offsets into the document text.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field

OPENERS = {"\u201c": "d", "\u2018": "s"}  # “ ‘
CLOSERS = {"\u201d": "d", "\u2019": "s"}  # ” ’
STRAIGHT = {'"': "d", "'": "s"}
_MARK_RE = re.compile("[\u201c\u201d\u2018\u2019\"']")
_PARA_RE = re.compile(r"[^\n]+")
_TERMINAL = ".!?\u2026:;\"\u201d\u2019')]"
_WORD_RE = re.compile(r"[A-Za-z0-9]")


@dataclass
class Paragraph:
    """One non-empty line of the document: ``text[start:end]``."""

    start: int
    end: int


@dataclass
class Article:
    """A run of paragraphs that belong to one story; its first may be a headline."""

    index: int
    paragraphs: list[Paragraph]
    headline: bool = False

    @property
    def start(self) -> int:
        return self.paragraphs[0].start

    @property
    def end(self) -> int:
        return self.paragraphs[-1].end


@dataclass
class QuoteSpan:
    """A quotation: the quoted words ``text[start:end]`` (marks excluded).

    Attributes:
        open_pos: offset of the opening mark.
        close_pos: offset of the closing mark, or None when the quote was closed at a paragraph end.
        parts: (start, end) of the quoted words in each paragraph the quote covers.
        para: index (within the article) of the paragraph where it opens.
        end_para: index of the paragraph where it closes.
    """

    start: int
    end: int
    open_pos: int
    close_pos: int | None
    parts: list[tuple[int, int]] = field(default_factory=list)
    para: int = 0
    end_para: int = 0

    def words(self, text: str) -> str:
        """The quoted words, paragraph parts joined by a space."""
        if len(self.parts) == 1:
            s, e = self.parts[0]
            return text[s:e]
        return " ".join(text[s:e] for s, e in self.parts)


def paragraphs(text: str) -> list[Paragraph]:
    """Split a document into non-blank lines (paragraphs), keeping offsets.

    Args:
        text: the document.

    Example:
        >>> [(p.start, p.end) for p in paragraphs("One.\\n\\nTwo.")]
        [(0, 4), (6, 10)]
    """
    out = []
    for m in _PARA_RE.finditer(text):
        line = m.group()
        body = line.strip()  # str.strip() drops the same characters as isspace()
        if body:
            s = m.start() + len(line) - len(line.lstrip())
            out.append(Paragraph(s, s + len(body)))
    return out


def looks_like_headline(line: str) -> bool:
    """True for a short line with no closing punctuation: a headline or section title.

    Example:
        >>> looks_like_headline("North Korea fires two unidentified projectiles")
        True
        >>> looks_like_headline("“We will see,” he said.")
        False
    """
    words = line.split(None, 25)  # enough to tell more than 25 words (26 pieces) from fewer
    if not words or len(words) > 25:
        return False
    if line[-1] in _TERMINAL:
        # a headline may end on a quotation ('… calls drills "rehearsal for invasion"'), but a
        # paragraph that is one quotation, or ends a sentence inside the marks, is body text
        if not (line[-1] in CLOSERS or line[-1] in STRAIGHT) or line[0] in OPENERS or line[0] in STRAIGHT:
            return False
        if len(line) > 1 and line[-2] in ".!?,":
            return False
    return line[0].isupper() or line[0].isdigit() or line[0] in OPENERS or line[0] in STRAIGHT


def split_articles(text: str) -> list[Article]:
    """Split a page into articles at headline-like lines, so no attribution crosses stories.

    Args:
        text: a page holding one or several stories, paragraphs on their own lines.

    Returns:
        Articles in page order; a page with no headline is one article.

    Example:
        >>> arts = split_articles("Title one\\n\\nBody one.\\n\\nTitle two\\n\\nBody two.")
        >>> [len(a.paragraphs) for a in arts]
        [2, 2]
    """
    paras = paragraphs(text)
    articles: list[Article] = []
    current: list[Paragraph] = []
    headline = False
    all_heads = True  # whether every paragraph in `current` looks like a headline
    for p in paras:
        is_head = looks_like_headline(text[p.start : p.end])
        # Consecutive headline-like lines (a title and a kicker, or a tag line) stay together.
        if is_head and current and not all_heads:
            articles.append(Article(len(articles), current, headline))
            current = []
        if not current:
            headline = is_head
            all_heads = True
        current.append(p)
        all_heads = all_heads and is_head
    if current:
        articles.append(Article(len(articles), current, headline))
    return articles


def _is_opening(text: str, i: int, lo: int, hi: int) -> bool:
    """Whether a straight or ambiguous mark at ``i`` opens a quotation (by its neighbours)."""
    before = text[i - 1] if i > lo else " "
    after = text[i + 1] if i + 1 < hi else " "
    return (before.isspace() or before in "([{\u2014\u2013-/:") and not after.isspace()


def _is_closing_single(text: str, i: int, lo: int, hi: int) -> bool:
    """Whether a ’ or ' at ``i`` closes a single quotation rather than being an apostrophe."""
    before = text[i - 1] if i > lo else " "
    after = text[i + 1] if i + 1 < hi else " "
    return not before.isspace() and not after.isalnum()


def _scan_paragraph(text: str, lo: int, hi: int, carry: str | None, marks: list[int] | None = None):
    """List (open_pos, close_pos, kind) for the quotations in one paragraph.

    ``carry`` is the kind of a quote left open by the previous paragraph; when this paragraph
    opens with a mark of that kind, it continues that quote and the first item has ``open_pos``
    -1. A quote still open at the end is listed with ``close_pos`` None. ``marks`` are the
    offsets of the marks in the paragraph, when the caller has found them already.
    """
    if marks is None:
        marks = [m.start() for m in _MARK_RE.finditer(text, lo, hi)]
    found = []
    add = found.append
    open_kind: str | None = None
    open_pos = -1
    straight_open = False
    first_mark = True
    for i in marks:
        ch = text[i]
        cont = False
        if first_mark and carry is not None and text[lo:i].strip() == "":
            cont = True
        first_mark = False
        if open_kind is None:
            if ch in OPENERS or (ch in STRAIGHT and _is_opening(text, i, lo, hi)):
                if ch in STRAIGHT and STRAIGHT[ch] == "s" and not text[i + 1 : i + 2].isalpha():
                    continue
                open_kind = OPENERS.get(ch) or STRAIGHT[ch]
                straight_open = ch in STRAIGHT
                open_pos = -1 if cont else i
                if cont:
                    add(("continue", i, None))
            continue
        if open_kind == "d":
            if ch == "\u201c" and not straight_open:
                # A second opening mark while one is open: the first was never closed.
                add((open_pos, i, "stray"))
                open_pos = i
            elif ch == "\u201d" or (ch == '"' and straight_open):
                add((open_pos, i, "d"))
                open_kind = None
            # single marks inside a double quotation are nested quotes or apostrophes
        else:
            if (ch == "\u2019" or (ch == "'" and straight_open)) and _is_closing_single(text, i, lo, hi):
                add((open_pos, i, "s"))
                open_kind = None
            elif ch == "\u201c" or ch == "\u201d":
                # a double mark inside a single quotation: the single one was an apostrophe-like stray
                pass
    if open_kind is not None:
        add((open_pos, None, open_kind))
    return found


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    """Strip spaces, and a trailing comma that belongs to the reporter's punctuation."""
    while s < e and text[s].isspace():
        s += 1
    while e > s and (text[e - 1].isspace() or text[e - 1] == ","):
        e -= 1
    return s, e


def find_quotes(text: str, article: Article) -> list[QuoteSpan]:
    """Find every quotation in an article.

    Handles curly and straight double quotes, single quotes whose closing mark is also the
    apostrophe, quotations that run over paragraphs (no closing mark, next paragraph opens with
    one), and stray marks (closed at the paragraph end, never swallowing the rest of the article).

    Args:
        text: the document text.
        article: the article to scan.

    Returns:
        Quote spans in document order; spans with no letter or digit are dropped.

    Example:
        >>> doc = "“We are ready,” he said."
        >>> [doc[q.start:q.end] for q in find_quotes(doc, split_articles(doc)[0])]
        ['We are ready']
    """
    quotes: list[QuoteSpan] = []
    pending: QuoteSpan | None = None  # a quote left open at the end of the previous paragraph
    pending_kind: str | None = None
    if not article.paragraphs:
        return quotes
    # the marks of the whole article in one pass, handed out to the paragraphs below
    marks = [m.start() for m in _MARK_RE.finditer(text, article.start, article.end)]
    k = 0
    for pi, para in enumerate(article.paragraphs):
        lo, hi = para.start, para.end
        k = bisect_left(marks, lo, k)
        j = bisect_left(marks, hi, k)
        para_marks = marks[k:j]
        k = j
        if not para_marks and pending is None:
            continue  # no mark and nothing left open: nothing to do here
        carry = pending_kind if pending is not None else None
        continued = False
        for open_pos, close_pos, kind in _scan_paragraph(text, lo, hi, carry, para_marks):
            if open_pos == "continue":
                continued = True
                continue
            if open_pos == -1 and pending is not None:
                # the continuation of a multi-paragraph quotation
                start_here = text.index(text[lo:hi].lstrip()[0], lo) + 1
                end_here = close_pos if close_pos is not None else hi
                s, e = _trim(text, start_here, end_here)
                pending.parts.append((s, e))
                pending.end = e
                pending.end_para = pi
                if close_pos is None:
                    continue  # still open: may continue again
                pending.close_pos = close_pos
                quotes.append(pending)
                pending = None
                continue
            end_here = close_pos if close_pos is not None else hi
            s, e = _trim(text, open_pos + 1, end_here)
            q = QuoteSpan(s, e, open_pos, close_pos if kind != "stray" else None, [(s, e)], pi, pi)
            if close_pos is None:
                if pending is not None:
                    quotes.append(pending)
                pending, pending_kind = q, kind
            else:
                quotes.append(q)
        if pending is not None and not continued and pending.end_para < pi:
            quotes.append(pending)
            pending = None
        # a quote left open here continues only if the next paragraph opens with a mark
        if pending is not None and pending.end_para == pi:
            nxt = article.paragraphs[pi + 1] if pi + 1 < len(article.paragraphs) else None
            first = text[nxt.start] if nxt else ""
            if not (first in OPENERS or first in STRAIGHT):
                quotes.append(pending)
                pending = None
    if pending is not None:
        quotes.append(pending)
    quotes = [q for q in quotes if q.end > q.start and _WORD_RE.search(text, q.start, q.end)]
    quotes.sort(key=lambda q: q.start)
    return quotes


_NONSPACE = re.compile(r"\S")
_OTHER_SPACE = re.compile(r"[^\S ]")  # whitespace other than a plain space
_ASCII_MASK = {i: "x" for i in range(128) if not chr(i).isspace()}  # \S -> x, for ASCII text
_ABBREV = {
    "mr", "ms", "mrs", "dr", "st", "gen", "lt", "col", "sgt", "capt", "rep", "sen", "gov", "prof",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "no", "vs",
    "inc", "corp", "co", "jr", "sr", "u.s", "u.n", "e.g", "i.e", "approx", "est",
}
_SINGLE_LETTER = re.compile(r"[a-z]")
_INITIALS = re.compile(r"([a-z]\.)+[a-z]")
_BOUNDARY = re.compile(r"[.!?\u2026][\"\u201d\u2019')\]]*\s+(?=[\"\u201c\u2018'(\[A-Z0-9])")


def sentence_bounds(masked: str, base: int = 0) -> list[tuple[int, int]]:
    """Split a masked paragraph into sentences; quoted words must already be masked out.

    Args:
        masked: the paragraph text with the inside of quotations replaced (see :func:`mask_quotes`).
        base: the paragraph's offset in the document, added to every bound.

    Returns:
        (start, end) of each sentence, as document offsets.

    Example:
        >>> sentence_bounds("Mr. Kim came. He left.")
        [(0, 13), (14, 22)]
    """
    out = []
    start = 0
    for m in _BOUNDARY.finditer(masked):
        dot = m.start()
        # the word before the mark: the run of word characters and dots ending there, as
        # re.search(r"[\w.]+$", masked[start:dot]) finds it, but read backwards from the mark
        # instead of scanning the sentence from its start (\w is: alphanumeric or "_")
        i = dot
        if i > start and masked[i - 1] == "\n":
            i -= 1  # "$" also matches before a final newline
        end_tok = i
        while i > start and (masked[i - 1].isalnum() or masked[i - 1] in "_."):
            i -= 1
        token = masked[i:end_tok].lower()
        if token in _ABBREV or (len(token) == 1 and _SINGLE_LETTER.fullmatch(token)) or (
            "." in token and _INITIALS.fullmatch(token)
        ):
            continue
        end = m.end()
        while end > start and masked[end - 1].isspace():
            end -= 1
        out.append((base + start, base + end))
        start = m.end()
    if start < len(masked):
        out.append((base + start, base + len(masked)))
    return out


def mask_quotes(text: str, quotes: list[QuoteSpan], lo: int, hi: int) -> str:
    """Return the paragraph ``text[lo:hi]`` with quoted words replaced by 'x' (same length).

    Sentence-final punctuation at the end of a quotation is kept, so that a sentence that ends
    inside the marks (“… soon.”) still ends there.

    Example:
        >>> doc = "He said “go.” Then left."
        >>> q = find_quotes(doc, split_articles(doc)[0])
        >>> mask_quotes(doc, q, 0, len(doc))
        'He said “xx.” Then left.'
    """
    # (start, end) of each quoted part, clipped to the paragraph, and the part's true end
    spans = []
    for q in quotes:
        for s, e in q.parts:
            if e > lo and s < hi:
                spans.append((s if s > lo else lo, e if e < hi else hi, e))
    if not spans:
        return text[lo:hi]
    if len(spans) > 1:
        spans.sort()
    pieces = []
    add = pieces.append
    pos = lo
    for s, e, true_end in spans:
        if s < pos:
            continue
        add(text[pos:s])
        keep_last = e == true_end and text[e - 1] in ".!?\u2026"
        body = text[s : e - 1] if keep_last else text[s:e]
        # Same as _NONSPACE.sub("x", body), done faster where possible: ASCII text by a
        # translation table; text whose only whitespace is plain spaces word by word.
        if body.isascii():
            add(body.translate(_ASCII_MASK))
        elif _OTHER_SPACE.search(body) is None:
            add(" ".join(["x" * len(w) for w in body.split(" ")]))
        else:
            add(_NONSPACE.sub("x", body))
        if keep_last:
            add(text[e - 1])
        pos = e
    add(text[pos:hi])
    return "".join(pieces)
