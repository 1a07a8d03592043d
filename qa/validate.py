"""Input limits, checked before any work: every way in (the page, its /ask API, `python -m qa ask`,
QA.ask / QA.ask_stream) goes through `check_input`, so all give the same limits and messages.

The limits live in qa.config.Settings (max_question_chars, max_question_tokens, max_history_turns,
max_history_chars). A question over a limit is refused with `BadQuestion` (a ValueError whose text
a person can read); an over-long history is not an error: only its last turns are kept, each cut
to a bounded slice.
"""
from __future__ import annotations

import json

from .config import Settings, field_range


class BadQuestion(ValueError):
    """A question refused before any work is done: empty, or too long in characters or tokens."""


def check_question(question, settings: Settings | None = None, count_tokens: bool = True) -> str:
    """The question, stripped; BadQuestion when it is empty or over the limits of `settings`.
    count_tokens=False where the reader runs elsewhere (a question server counts its own tokens)."""
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
    if count_tokens and len(q.encode("utf-8")) > s.max_question_tokens:
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


def parse_history(history, settings: Settings | None = None) -> list[tuple[str, str]]:
    """History as the APIs receive it, bounded (bound_history): JSON text or a list, of
    [question, answer] pairs or of chat messages {"role": "user"|"assistant", "content": ...}
    (a user message without its answer is dropped). None / "" / [] -> []. BadQuestion otherwise."""
    if history in (None, "", [], "null"):
        return []
    if isinstance(history, str):
        try:
            history = json.loads(history)
        except json.JSONDecodeError as exc:
            raise BadQuestion(f"The history is not valid JSON: {exc.msg}.") from None
    if not isinstance(history, list):
        raise BadQuestion("The history must be a JSON list of [question, answer] pairs.")
    pairs: list[tuple[str, str]] = []
    if all(isinstance(m, dict) for m in history):
        user = None
        for m in history:
            role, content = m.get("role"), m.get("content")
            if not isinstance(content, str):
                continue
            if role == "user":
                user = content
            elif role == "assistant" and user is not None:
                pairs.append((user, content))
                user = None
    else:
        for p in history:
            if not (isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(x, str) for x in p)):
                raise BadQuestion("The history's items must be [question, answer] pairs of text.")
            pairs.append((p[0], p[1]))
    return bound_history(pairs, settings)


def check_k(k) -> int:
    """k (passages) as a whole number within the range the page's slider offers (Settings.k)."""
    lo, hi = field_range("k")
    if isinstance(k, bool):
        raise BadQuestion("k must be an integer.")
    try:
        k = int(k)
    except (TypeError, ValueError):
        raise BadQuestion("k must be an integer.") from None
    if not lo <= k <= hi:
        raise BadQuestion(f"k must be between {lo} and {hi}.")
    return k


def check_input(question, history=None, settings: Settings | None = None) -> tuple[str, list[tuple[str, str]]]:
    """(question, history) within the limits: BadQuestion for a bad question, the history bounded."""
    s = settings or Settings()
    return check_question(question, s), bound_history(history, s)
