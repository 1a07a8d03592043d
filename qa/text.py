"""Answer text conventions shared by the answerer, the follow-up rewrite, the page and the scorer:
the decline sentence and the [n] citation markers (defined once here), and how a question is read."""
from __future__ import annotations

import re

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
