"""The reader interface shared by every runtime: greedy streaming with stop strings, a deadline and
a typed record of each generation. A runtime supplies tokenisation and two forward steps
(`_prefill`: the prompt's tokens -> next-token logits; `_step`: one token -> next-token logits)."""
from __future__ import annotations

import functools
import json
import math
import os
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from ..config import env

TOP_FIRST = 10  # candidates kept in GenerationStats.first_top


class ChatTemplateError(ValueError):
    """The model has no chat template, so a chat prompt cannot be built for it."""


@dataclass
class GenerationStats:
    """What one `stream` call did. `logprobs[i]` is the log-probability of `tokens[i]` under the
    model's own distribution (before `ban_first`); `first_top` maps the decoded text of the ~10
    likeliest first tokens (stripped of surrounding spaces, so " Blorp" reads "Blorp"; tokens that
    read the same have their probabilities added) to their log-probabilities, likeliest first."""

    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    first_top: dict[str, float] = field(default_factory=dict)
    ttft_s: float | None = None  # prompt in -> first token chosen
    seconds: float = 0.0  # the whole call
    stopped_by: str = ""  # "stop", "eos", "max_tokens", "deadline" (or "" when the caller stopped reading)
    prompt_tokens: int = 0  # tokens the model read (after any truncation)
    truncated: bool = False  # the prompt was longer than the context allows and lost its beginning
    text: str = ""  # the text yielded

    @property
    def mean_logprob(self) -> float:
        """The mean log-probability of the tokens chosen (0.0 when none were): the reader's confidence."""
        return round(sum(self.logprobs) / len(self.logprobs), 4) if self.logprobs else 0.0


def max_context() -> int:
    """The most context a reader is given ($QA_MAX_CONTEXT, qa.config.Env)."""
    return env().max_context


def default_threads() -> int:
    if env().threads:
        return env().threads
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float32, copy=False)
    m = float(x.max())
    return x - (m + math.log(float(np.exp(x - m).sum())))


@functools.lru_cache(maxsize=8)
def _compiled_template(template: str):
    """A Hugging Face style (Jinja) chat template, compiled once: every question renders it twice."""
    from datetime import datetime

    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    env.filters["tojson"] = lambda x, indent=None, **kw: json.dumps(x, ensure_ascii=False, indent=indent)
    return env.from_string(template)


def render_chat_template(template: str, messages: list[dict], bos_token: str = "", eos_token: str = "") -> str:
    """Render a chat template as tokenizer.apply_chat_template does."""
    return _compiled_template(template).render(
        messages=messages, add_generation_prompt=True, bos_token=bos_token, eos_token=eos_token, tools=None,
    )


class Generator(ABC):
    """A local text generator. Subclasses: qa.generators.hf (transformers) and qa.generators.llamacpp."""

    runtime: str = ""

    def __init__(self, name: str):
        self.name = name
        self.context_length: int = 2048
        self.eos_ids: set[int] = set()
        self.bos_id: int | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    @property
    def last(self) -> GenerationStats | None:
        """The GenerationStats of this thread's latest `stream` (each thread sees its own)."""
        return getattr(self._local, "stats", None)

    @last.setter
    def last(self, stats: GenerationStats | None) -> None:
        self._local.stats = stats

    # ---- what a runtime provides -----------------------------------------------------------
    @abstractmethod
    def tokenize(self, text: str, add_bos: bool = False) -> list[int]:
        """Token ids of `text` (special-token text such as <|im_start|> is parsed as such)."""

    @abstractmethod
    def detokenize(self, ids: list[int]) -> str:
        """Text of a sequence of generated ids (special tokens left out)."""

    @property
    @abstractmethod
    def chat_template(self) -> str | None:
        """The model's Jinja chat template, or None."""

    @abstractmethod
    def _prefill(self, ids: list[int], deadline: float | None) -> np.ndarray | None:
        """Read the prompt; return the logits of the next token (None: the deadline passed)."""

    @abstractmethod
    def _step(self, token: int) -> np.ndarray:
        """Append one token; return the logits of the next."""

    # ---- the interface ---------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def chat_prompt(self, messages: list[dict]) -> str:
        """The prompt text for `messages` ([{"role": "user", "content": ...}, ...]) through the model's
        chat template, ending with the assistant's turn opened."""
        template = self.chat_template
        if not template:
            raise ChatTemplateError(
                f"generator '{self.name}' has no chat template: use the completion prompt style with it"
            )
        return self._render_chat(template, messages)

    def _render_chat(self, template: str, messages: list[dict]) -> str:
        return render_chat_template(template, messages, self._special_text(self.bos_id), self._special_text(self._eos_for_template()))

    def _eos_for_template(self) -> int | None:
        return min(self.eos_ids) if self.eos_ids else None

    def _special_text(self, tid: int | None) -> str:
        return ""

    def prompt_ids(self, prompt: str, max_new_tokens: int) -> tuple[list[int], bool]:
        """The prompt's token ids, bounded to leave room for `max_new_tokens`: a longer prompt keeps
        its end (the question and the answer cue), and its BOS token."""
        ids = self.tokenize(prompt, add_bos=True)
        room = max(8, self.context_length - max_new_tokens - 1)
        if len(ids) <= room:
            return ids, False
        head = [ids[0]] if self.bos_id is not None and ids[0] == self.bos_id else []
        return head + ids[len(ids) - (room - len(head)):], True

    def stream(
        self,
        prompt: str,
        max_new_tokens: int = 32,
        stop: tuple[str, ...] | list[str] = ("\n",),
        ban_first: set[int] | None = None,
        deadline: float | None = None,
    ) -> Iterator[str]:
        """Yield text deltas of the greedy continuation of `prompt`. Stops at a stop string (not
        yielded), an end-of-sequence token, `max_new_tokens`, or when time.monotonic() passes
        `deadline`. `ban_first`: token ids the continuation may not start with. Afterwards
        `self.last` is the GenerationStats of this call."""
        stop = tuple(s for s in (stop or ()) if s)
        with self._lock:
            t0 = time.monotonic()
            st = GenerationStats()
            self.last = st
            try:
                logits = self._begin_stream(st, prompt, max_new_tokens, deadline)
                if logits is None:
                    return
                yield from self._greedy_deltas(st, logits, t0, max_new_tokens, stop, ban_first, deadline)
            finally:
                st.seconds = time.monotonic() - t0

    def _begin_stream(self, st: GenerationStats, prompt: str, max_new_tokens: int, deadline: float | None) -> np.ndarray | None:
        """Read the prompt into `st` and return the first logits (None: nothing to generate, `st.stopped_by` says why)."""
        if deadline is not None and time.monotonic() >= deadline:
            st.stopped_by = "deadline"
            return None
        ids, st.truncated = self.prompt_ids(prompt, max_new_tokens)
        if not ids:
            raise ValueError("empty prompt")
        st.prompt_tokens = len(ids)
        logits = self._prefill(ids, deadline) if max_new_tokens > 0 else None
        if logits is None:
            st.stopped_by = "deadline" if max_new_tokens > 0 else "max_tokens"
        return logits

    def _greedy_deltas(
        self,
        st: GenerationStats,
        logits: np.ndarray,
        t0: float,
        max_new_tokens: int,
        stop: tuple[str, ...],
        ban_first: set[int] | None,
        deadline: float | None,
    ) -> Iterator[str]:
        """The decoding loop of `stream`: yield text deltas, recording tokens and the stop reason in `st`."""
        emitted = ""
        for i in range(max_new_tokens):
            lp = log_softmax(logits)
            nxt = self._pick_token(st, lp, i == 0, ban_first, t0)
            if nxt in self.eos_ids:
                st.stopped_by = "eos"
                break
            st.tokens.append(nxt)
            st.logprobs.append(float(lp[nxt]))
            text, cut = self._cut_at_stop(self.detokenize(st.tokens), stop)
            if len(text) > len(emitted) and text.startswith(emitted) and (cut >= 0 or not text.endswith("\ufffd")):
                delta, emitted = text[len(emitted):], text
                st.text = emitted
                yield delta
            if cut >= 0:
                st.stopped_by = "stop"
                break
            if i == max_new_tokens - 1:
                st.stopped_by = "max_tokens"
                break
            if deadline is not None and time.monotonic() >= deadline:
                st.stopped_by = "deadline"
                break
            logits = self._step(nxt)
        else:
            st.stopped_by = st.stopped_by or "max_tokens"
        if st.stopped_by in ("eos", "max_tokens", "deadline"):  # flush text held back (a partial character)
            text = self.detokenize(st.tokens)
            if len(text) > len(emitted) and text.startswith(emitted):
                delta, emitted = text[len(emitted):], text
                st.text = emitted
                yield delta

    def _pick_token(self, st: GenerationStats, lp: np.ndarray, first: bool, ban_first: set[int] | None, t0: float) -> int:
        """The greedy next token; for the first one also record `first_top` and `ttft_s`, skipping `ban_first`."""
        if not first:
            return int(lp.argmax())
        st.first_top = self._top(lp)
        if ban_first:
            masked = lp.copy()
            masked[[t for t in ban_first if 0 <= t < len(masked)]] = -np.inf
            nxt = int(masked.argmax())
        else:
            nxt = int(lp.argmax())
        st.ttft_s = time.monotonic() - t0
        return nxt

    @staticmethod
    def _cut_at_stop(text: str, stop: tuple[str, ...]) -> tuple[str, int]:
        """`text` up to its first stop string, and where it was cut (-1: it holds none)."""
        cut = min((text.find(s) for s in stop if s in text), default=-1)
        return (text[:cut] if cut >= 0 else text), cut

    def complete(self, prompt: str, max_new_tokens: int = 32, stop: tuple[str, ...] = ("\n",), **kw) -> str:
        return "".join(self.stream(prompt, max_new_tokens, stop, **kw))

    def _top(self, lp: np.ndarray, k: int = TOP_FIRST) -> dict[str, float]:
        idx = np.argpartition(-lp, k)[:k]
        out: dict[str, float] = {}
        for t in sorted(idx.tolist(), key=lambda t: -lp[t]):
            text = self.detokenize([t]) if t not in self.eos_ids else "</s>"
            key = text.strip() or text
            out[key] = float(np.logaddexp(out[key], lp[t])) if key in out else float(lp[t])
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} runtime={self.runtime} context={self.context_length}>"
