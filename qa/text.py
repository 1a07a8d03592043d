"""Answer text conventions shared by the answerer, the follow-up rewrite, the page and the scorer:
the decline sentence and the [n] citation markers (defined once here), and how a question is read."""
from __future__ import annotations

import re
from string import ascii_lowercase
from typing import Callable, Iterable

from index.casing import WORD, base
from index.records import WordCase

from .retriever import STOPWORDS, stem

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


def _a_name(c: WordCase | None, share: float, least: int) -> bool:
    """The articles write this word capitalised, at least `least` times and `share` of the times case tells."""
    return bool(c and c.form and c.capitalised >= least and c.capitalised >= share * (c.capitalised + c.lower))


def _a_common_word(c: WordCase, share: float, least: int) -> bool:
    """The articles write this word in lower case, at least `least` times, capitalised less than `share` of the times."""
    return c.lower >= least and c.capitalised < share * (c.capitalised + c.lower)


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
        if _a_name(c, share, least):
            return c.form + m.group()[len(stem) :]
        return m.group()

    return head + space + WORD.sub(cased, rest)


# a word that opens a later sentence of a question, after the sentence's end and any quote or bracket
# (a sentence's end after a word in lower case or a number: not an initial, "U.S." or "John W. Weeks")
_LATER_SENTENCE = re.compile(r"(?<=[a-z0-9][.!?])(['\"’”)]*\s+['\"‘“(]*)(" + WORD.pattern + ")")


def later_sentences_as_written(question: str, cases: Callable[[Iterable[str]], list[WordCase]], share: float, least: int) -> str:
    """A question with each word that opens a later sentence ("... a flash estimate for the end of
    2004. Going by that, how much did the economy grow?") in lower case where the indexed articles
    write it in lower case (`cases`: the store's word_cases, at least `least` times, capitalised
    less than `share` of the times): its capital is its place's, as the first word's is, not a
    name's. A word the articles capitalise ("... Fulham ...") or never write, and a stopword ("What
    ..."), stay as typed."""
    starts = {base(m.group(2)).lower() for m in _LATER_SENTENCE.finditer(question)} - STOPWORDS
    starts = {w for w in starts if len(w) > 1}
    if not starts:  # none, or only question words ("... squad. What ...?"): the articles are not asked
        return question
    lower = {c.word for c in cases(starts) if _a_common_word(c, share, least)}

    def as_written(m: re.Match) -> str:
        word = m.group(2)
        return m.group(1) + (word.lower() if base(word).lower() in lower else word)

    return _LATER_SENTENCE.sub(as_written, question)


def _one_slip(word: str) -> set[str]:
    """Every word one slip of the keys from `word` (lower case): a letter left out, added, swapped
    with its neighbour or typed for another."""
    cuts = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in cuts if b} | {a + b[1] + b[0] + b[2:] for a, b in cuts if len(b) > 1}
    out |= {a + c + b[1:] for a, b in cuts if b for c in ascii_lowercase} | {a + c + b for a, b in cuts for c in ascii_lowercase}
    return out - {word}


def respellings(
    question: str, cases: Callable[[Iterable[str]], list[WordCase]], known: Callable[[str], bool],
    share: float, least: int, chars: int,
) -> dict[str, str]:
    """The names the question misspells one slip of the keys away ("Ericson", "Midlesbrough",
    "Swdish", "Lodnon"), each with the way the indexed articles write it ("Ericsson",
    "Middlesbrough", "Swedish", "London"), so that retrieval, the reader and the names check read
    the name the asker meant (docs/decisions.md, "Questions as people type them"). A word is respelt
    when it is at least `chars` letters, after the first word, capitalised, one the articles never
    write (`cases`: the store's word_cases) and not a word of the language (`known`: the embedder's
    tokenizer holds it whole: "Tesla", "Basil"), and the slip leads to one name the articles
    capitalise at least `share` of the times and `least` times, the most written of them; not to
    the word's own inflection ("Pontiacs" stays, not "Pontiac"). In a question typed in lower case
    any word may be a name, so there the slip must lead to one word the articles write, and that a name."""
    lower = typed_in_lower_case(question)
    words = [base(m.group()) for m in WORD.finditer(question.partition(" ")[2])]
    asked = [w for w in words if len(w) >= chars and w.isalpha() and (lower or w[0].isupper())]
    written = {c.word for c in cases(asked)}
    fixes: dict[str, str] = {}
    for w in dict.fromkeys(asked):
        if w.lower() in written:
            continue
        near = [c for c in cases(sorted(_one_slip(w.lower()))) if c.capitalised + c.lower >= least and stem(c.word) != stem(w.lower())]
        if lower and len(near) > 1:  # its case tells nothing: "stert" may be "start" or "Stern", so no guess
            continue
        names = [c for c in near if _a_name(c, share, least)]
        counts = sorted((c.capitalised + c.lower for c in names), reverse=True)
        # one name, or one written most (else no guess), and the word is none of the language's
        if names and (len(counts) == 1 or counts[0] > counts[1]) and not known(w):
            best = max(names, key=lambda c: c.capitalised + c.lower)
            fixes[w] = best.word if lower else best.form
    return fixes


def spelt_as(question: str, fixes: dict[str, str]) -> str:
    """The question with each word of `fixes` (a possessive keeping its ending) written its way."""
    if not fixes:
        return question
    head, space, rest = question.partition(" ")

    def fixed(m: re.Match) -> str:
        w = base(m.group())
        return fixes[w] + m.group()[len(w) :] if w in fixes else m.group()

    return head + space + WORD.sub(fixed, rest)
