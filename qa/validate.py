"""Input limits, checked before any work: every way in (the page, its /ask API, `python -m qa ask`,
QA.ask / QA.ask_stream) goes through `check_input`, so all give the same limits and messages.

The limits live in qa.config.Settings (max_question_chars, max_question_tokens, max_history_turns,
max_history_chars). A question over a limit is refused with `BadQuestion` (a ValueError whose text
a person can read); an over-long history is not an error: only its last turns are kept, each cut
to a bounded slice.
"""
from __future__ import annotations

from .config import Settings


class BadQuestion(ValueError):
    """A question refused before any work is done: empty, or too long in characters or tokens."""


def check_question(question, settings: Settings | None = None) -> str:
    """The question, stripped; BadQuestion when it is empty or over the limits of `settings`."""
    s = settings or Settings()
    if question is not None and not isinstance(question, str):
        raise BadQuestion(f"The question must be text, not {type(question).__name__}.")
    q = (question or "").strip()
    if not q:
        raise BadQuestion("Ask a question first: the question is empty.")
    if len(q) > s.max_question_chars:
        raise BadQuestion(
            f"The question is too long ({len(q):,} characters; the limit is {s.max_question_chars:,}). Ask a shorter question."
        )
    # a token is at least one UTF-8 byte for every reader here (byte-level BPE, SentencePiece with
    # byte fallback), so only a question with more bytes than the limit needs counting
    if len(q.encode("utf-8")) > s.max_question_tokens:
        from .generator import make_generator

        n = make_generator(s.generator).count_tokens(q)
        if n > s.max_question_tokens:
            raise BadQuestion(
                f"The question is too long ({n:,} tokens for the reader; the limit is {s.max_question_tokens:,}). "
                "Ask a shorter question."
            )
    return q


def bound_history(history, settings: Settings | None = None) -> list[tuple[str, str]]:
    """The last `max_history_turns` (question, answer) pairs, each message cut to `max_history_chars`."""
    s = settings or Settings()
    if not history:
        return []
    if isinstance(history, (str, bytes)) or not hasattr(history, "__iter__"):
        raise BadQuestion("The history must be a list of (question, answer) pairs.")
    history = list(history)
    out: list[tuple[str, str]] = []
    for pair in history[-s.max_history_turns :] if s.max_history_turns > 0 else []:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(x is None or isinstance(x, str) for x in pair)):
            raise BadQuestion("The history must be a list of (question, answer) pairs of text.")
        out.append(tuple((x or "")[: s.max_history_chars] for x in pair))
    return out


def check_input(question, history=None, settings: Settings | None = None) -> tuple[str, list[tuple[str, str]]]:
    """(question, history) within the limits: BadQuestion for a bad question, the history bounded."""
    s = settings or Settings()
    return check_question(question, s), bound_history(history, s)
