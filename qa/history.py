"""Follow-up questions: rewrite "and when did that happen?" into a standalone question."""
from __future__ import annotations

import re

from .config import Settings
from .text import is_decline, strip_markers

_FOLLOW = re.compile(
    r"^\s*(and|but|so|also|what about|how about)\b|\b(it|its|it's|that|this|those|these|they|them|their|he|him|his|she|her|there|then|the same)\b",
    re.IGNORECASE,
)


def is_follow_up(question: str, s: Settings | None = None) -> bool:
    return bool(_FOLLOW.search(question)) or len(question.split()) <= (s or Settings()).follow_up_words


def standalone_question(question: str, history: list[tuple[str, str]] | None, s: Settings | None = None) -> str:
    """Retrieval query for a follow-up: the question plus the subject of the previous turn.

    The tiny local models rewrite poorly, so this is deterministic: when the question leans on
    earlier turns (pronouns, "and ...", very short), the previous user question and the key
    words of its answer are appended as context for retrieval. Only the first s.follow_up_chars
    characters of each are read: the retrieval question stays bounded, whatever the history holds.
    """
    s = s or Settings()
    if not history or not is_follow_up(question, s):
        return question.strip()
    prev_q, prev_a = history[-1]
    n = s.follow_up_chars
    prev_q = (prev_q or "")[: 2 * n].strip()[:n]
    prev_a = strip_markers((prev_a or "")[: 2 * n])  # a slice, with room for the [n] markers it drops
    if is_decline(prev_a):
        prev_a = ""
    extra = " ".join(x for x in (prev_q, prev_a.strip()[:n]) if x)
    return f"{question.strip()} ({extra})" if extra else question.strip()
