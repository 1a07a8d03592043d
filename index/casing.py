"""How the indexed articles write each word: counted as articles are added and removed (the store's
`word_forms` table), so a question typed in lower case can be read with the capitals the articles
give its words ("who did middlesbrough beat?": Middlesbrough is a name; qa.text.with_capitals)."""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterator

# a word: letters, with inner apostrophes or hyphens ("O'Neill", "east-west", "Rank's")
WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_POSSESSIVE = re.compile(r"['’]s?$")
# what may come just before a sentence's first word, whose capital tells nothing
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]['\"’”)]*\s+|['\"‘“(]|\n\s*)$")


def base(word: str) -> str:
    """The word without a possessive ending ("Rank's" -> "Rank", "Jones'" -> "Jones")."""
    return _POSSESSIVE.sub("", word) or word


def words_in(text: str) -> Iterator[re.Match]:
    """The words of `text` (WORD matches)."""
    return WORD.finditer(text)


def word_forms(text: str) -> Counter[str]:
    """How many times `text` writes each word form where its case tells something: every word but
    a sentence's (or a quotation's, a line's) first, possessives read without their ending."""
    out: Counter[str] = Counter()
    for m in words_in(text):
        if not _SENTENCE_START.search(text[max(0, m.start() - 4) : m.start()]):
            out[base(m.group())] += 1
    return out
