"""Answer text conventions shared by the answerer, the follow-up rewrite, the page and the scorer:
the decline sentence and the [n] citation markers (defined once here), and how a question is read."""
from __future__ import annotations

import re
from typing import Callable, Iterable

from index.casing import WORD, base
from index.records import WordCase

DECLINE_TEXT = "The indexed articles don't say."

# a citation marker as answers carry it: [1], and the list / range forms [1, 2], [1; 2], [1-3]
MARKER = re.compile(r"\s*\[\d+(?:\s*[,;\-–]\s*\d+)*\]")


def strip_markers(text: str | None) -> str:
    """The text without its citation markers, runs of whitespace made one space ('' for None)."""
    return " ".join(MARKER.sub("", text or "").split())


def is_decline(text: str | None) -> bool:
    """Is this answer text the decline (markers and surrounding space aside)?"""
    return strip_markers(text).startswith(DECLINE_TEXT.rstrip("."))


def as_read(question: str) -> str:
    """The question as the answerer reads it: one typed in capitals throughout ("WHO BOUGHT
    INSTAGRAM?") in lower case, as its capitals tell no names and the reader reads it better so
    (docs/decisions.md, "Questions as people type them"); any other as typed."""
    return question if any(c.islower() for c in question) else question.lower()


_PRONOUNS = {"us"}  # "can you tell us ...": the articles' "US" is another word


def typed_in_lower_case(question: str) -> bool:
    """No capital after the first word, the pronoun "I" aside: "who did middlesbrough beat?"."""
    return not any(c.isupper() for w in question.split()[1:] if not re.fullmatch(r"I(?:['’]\w+)?", w) for c in w)


def with_capitals(question: str, cases: Callable[[Iterable[str]], list[WordCase]], share: float, least: int) -> str:
    """A question typed in lower case (typed_in_lower_case) with each later word written as the
    indexed articles write it where they capitalise it (`cases`: the store's word_cases) at least
    `share` of the times and `least` times: "who did middlesbrough beat in the uefa cup?" -> "who
    did Middlesbrough beat in the Uefa Cup?", so that its names count as names (docs/decisions.md,
    "Questions as people type them"). Any other question, and a word the articles never write, as typed."""
    if not typed_in_lower_case(question):
        return question
    head, space, rest = question.partition(" ")
    words = [m.group() for m in WORD.finditer(rest)]
    known = {c.word: c for c in cases(words)}

    def cased(m: re.Match) -> str:
        stem = base(m.group())
        c = known.get(stem.lower())
        if len(stem) < 2 or stem.lower() in _PRONOUNS:
            return m.group()
        if c and c.form and c.capitalised >= least and c.capitalised >= share * (c.capitalised + c.lower):
            return c.form + m.group()[len(stem) :]
        return m.group()

    return head + space + WORD.sub(cased, rest)
