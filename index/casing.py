"""How the indexed articles write each word: counted as articles are added and removed (the store's
`word_forms` table), so a question typed in lower case can be read with the capitals the articles
give its words ("who did middlesbrough beat?": Middlesbrough is a name; qa.text.with_capitals)."""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

# a word: letters, with inner apostrophes or hyphens ("O'Neill", "east-west", "Rank's")
WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_POSSESSIVE = re.compile(r"['’]s?$")
# a word with what may come just before it when it opens a sentence, a quotation or a line (its
# capital then tells nothing): one pass finds both
_WORD_AFTER = re.compile(r"(^|[.!?:;]['\"’”)]*\s+|['\"‘“(]|\n\s*)?(" + WORD.pattern + ")")


def base(word: str) -> str:
    """The word without a possessive ending ("Rank's" -> "Rank", "Jones'" -> "Jones")."""
    return _POSSESSIVE.sub("", word) or word


def word_forms(text: str) -> Counter[str]:
    """How many times `text` writes each word form where its case tells something: every word but
    a sentence's (or a quotation's, a line's) first, possessives read without their ending."""
    written = Counter(m[2] for m in _WORD_AFTER.finditer(text) if m[1] is None)
    out: Counter[str] = Counter()
    for word, n in written.items():  # each form once: base() per distinct word, not per occurrence
        out[base(word)] += n
    return out


def forms_of(texts: Iterable[str]) -> Counter[str]:
    """word_forms summed over several texts."""
    out: Counter[str] = Counter()
    for t in texts:
        out.update(word_forms(t))
    return out
