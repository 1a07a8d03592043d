"""Sentence-aware chunking sized in the embedder's own tokens.

A chunk never exceeds `max_tokens` tokens of the embedder's tokenizer (title prefix included),
so the embedder never silently truncates it. Consecutive chunks share `overlap` sentences.
"""
from __future__ import annotations

import re
from typing import Callable, Iterator

from .config import CHUNK_TOKENS
from .records import Chunk, Document

# A sentence ends at . ! ? (optionally followed by quotes/brackets) before whitespace and an
# upper-case letter, digit or quote; or at a paragraph break.
_SENT_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9£$])")
_ABBREV = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|St|Sr|Jr|Gen|Col|Lt|Sgt|Rev|Gov|Sen|Rep|No|vs|Inc|Ltd|Co|Corp|U\.S|U\.K|e\.g|i\.e|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.$")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Return (start, end) character spans of the sentences in text[start:end]."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", text[start:end]):
        p0 = start + para.start()
        p1 = start + para.end()
        cur = p0
        for m in _SENT_END.finditer(text, p0, p1):
            if _ABBREV.search(text[cur:m.start()]):
                continue
            s, e = _strip(text, cur, m.start())
            if e > s:
                spans.append((s, e))
            cur = m.end()
        s, e = _strip(text, cur, p1)
        if e > s:
            spans.append((s, e))
    return spans


def _strip(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


class Chunker:
    """Packs whole sentences into chunks of at most `max_tokens` embedder tokens."""

    def __init__(
        self,
        count_tokens: Callable[[str], int],
        max_tokens: int = CHUNK_TOKENS,
        overlap: int = 1,
        hard_limit: int = 254,
        count_batch: Callable[[list[str]], list[int]] | None = None,
    ):
        if max_tokens > hard_limit:
            raise ValueError(f"max_tokens {max_tokens} exceeds the embedder's limit {hard_limit}")
        self.count = count_tokens
        # one tokenizer call for all of a document's sentences (a fast tokenizer batches them)
        self.count_batch = count_batch or (lambda texts: [count_tokens(t) for t in texts])
        self.max_tokens = max_tokens
        self.overlap = overlap
        # a very long title would eat the chunk budget (or alone exceed the embedder's limit)
        self.title_tokens = max(8, max_tokens // 4)
        self._titles: dict[str, tuple[str, int]] = {}  # title -> its prefix, and the prefix's tokens with the newline

    def _fit(self, text: str, s: int, e: int, budget: int) -> int:
        """Largest end in (s, e] such that text[s:end] fits `budget` tokens, preferring word ends.

        Binary search on word ends first; a single word that alone exceeds the budget (a long
        URL, a run of CJK characters) is cut between characters. Always returns > s.
        """
        ends = [s + m.end() for m in re.finditer(r"\S+", text[s:e])]
        lo, hi, best = 0, len(ends) - 1, -1
        while lo <= hi:
            mid = (lo + hi) // 2
            if self.count(text[s:ends[mid]]) <= budget:
                best, lo = mid, mid + 1
            else:
                hi = mid - 1
        if best >= 0:
            return ends[best]
        # the first word alone is too long: cut it between characters
        first_end = ends[0] if ends else e
        lo, hi, cut = s + 1, first_end, s + 1
        while lo <= hi:
            mid = (lo + hi) // 2
            if self.count(text[s:mid]) <= budget:
                cut, lo = mid, mid + 1
            else:
                hi = mid - 1
        return cut

    def _pieces(self, text: str, spans: list[tuple[int, int]], budget: int) -> list[tuple[int, int, int]]:
        """Sentence spans with token counts; sentences over budget are cut (at words, else characters)."""
        out = []
        counts = self.count_batch([text[s:e] for s, e in spans])
        for (s, e), n in zip(spans, counts):
            if n <= budget:
                out.append((s, e, n))
                continue
            while s < e:
                cut = self._fit(text, s, e, budget)
                ps, pe = _strip(text, s, cut)
                if pe > ps:
                    out.append((ps, pe, self.count(text[ps:pe])))
                s = cut
                while s < e and text[s].isspace():
                    s += 1
        return out

    def title_prefix(self, title: str) -> str:
        """The title as prefixed to each chunk's embed text, cut to at most `title_tokens` tokens."""
        return self._title(title)[0]

    def _title(self, title: str) -> tuple[str, int]:
        """The title's prefix and the tokens it takes from each chunk with its newline (cached)."""
        if not title:
            return "", 0
        cached = self._titles.get(title)
        if cached is None:
            t = " ".join(title.split())
            if self.count(t) > self.title_tokens:
                t = t[: self._fit(t, 0, len(t), self.title_tokens)].rstrip()
            if len(self._titles) > 4096:
                self._titles.clear()
            cached = self._titles[title] = (t, self.count(t + "\n") if t else 0)
        return cached

    def chunk(self, doc: Document) -> list[Chunk]:
        from .loaders import split_title

        title, body_start = split_title(doc.text)
        if title != doc.title:
            body_start = 0  # title did not come from the text (e.g. PDF metadata): chunk everything
        prefix, prefix_tokens = self._title(doc.title)
        budget = max(16, self.max_tokens - prefix_tokens)
        spans = split_sentences(doc.text, body_start)
        if not spans and body_start:
            spans = split_sentences(doc.text, 0)
        pieces = self._pieces(doc.text, spans, budget)

        def text_of(i: int, j: int) -> str:  # pieces[i:j] as one stretch of the document
            return doc.text[pieces[i][0]:pieces[j - 1][1]]

        plan = self._plan(pieces, budget)
        # token counts of separately counted pieces need not add up exactly (e.g. a word cut between
        # characters): the real embed texts are counted, all in one tokenizer call; only a document
        # with one over the limit is packed again piece by piece
        if any(n > self.max_tokens for n in self.count_batch([self._embed(prefix, text_of(i, j)) for i, j in plan])):
            plan = self._plan(pieces, budget, lambda i, j: self.count(self._embed(prefix, text_of(i, j))))
        return [
            Chunk(doc_id=doc.doc_id, ord=n, text=text_of(i, j), start=pieces[i][0], end=pieces[j - 1][1], title=doc.title)
            for n, (i, j) in enumerate(plan)
        ]

    def _plan(self, pieces: list[tuple[int, int, int]], budget: int, measure: Callable[[int, int], int] | None = None) -> list[tuple[int, int]]:
        """Pack the pieces greedily into chunks, as (first, end) piece index ranges; consecutive
        chunks share `overlap` pieces. With `measure` (the real token count of pieces[i:j]'s embed
        text), a chunk over `max_tokens` drops pieces from its end until it fits."""
        plan: list[tuple[int, int]] = []
        i = 0
        while i < len(pieces):
            total = 0
            j = i
            while j < len(pieces) and total + pieces[j][2] + (1 if j > i else 0) <= budget:
                total += pieces[j][2] + (1 if j > i else 0)
                j += 1
            j = max(j, i + 1)
            while measure and j > i + 1 and measure(i, j) > self.max_tokens:
                j -= 1
            plan.append((i, j))
            if j >= len(pieces):
                break
            i = max(i + 1, j - self.overlap)
        return plan

    @staticmethod
    def _embed(prefix: str, text: str) -> str:
        return f"{prefix}\n{text}" if prefix else text

    def embed_text(self, chunk: Chunk) -> str:
        """What the embedder sees: the (possibly shortened) title, a newline, the chunk text."""
        return self.embed_text_of(chunk.title, chunk.text)

    def embed_text_of(self, title: str, text: str) -> str:
        return self._embed(self.title_prefix(title), text)


def iter_chunks(chunker: Chunker, docs: list[Document]) -> Iterator[Chunk]:
    for d in docs:
        yield from chunker.chunk(d)
