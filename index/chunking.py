"""Sentence-aware chunking sized in the embedder's own tokens.

A chunk never exceeds `max_tokens` tokens of the embedder's tokenizer (title prefix included),
so the embedder never silently truncates it. Consecutive chunks share `overlap` sentences.
"""
from __future__ import annotations

import re
from typing import Callable, Iterator

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

    def __init__(self, count_tokens: Callable[[str], int], max_tokens: int = 200, overlap: int = 1, hard_limit: int = 254):
        if max_tokens > hard_limit:
            raise ValueError(f"max_tokens {max_tokens} exceeds the embedder's limit {hard_limit}")
        self.count = count_tokens
        self.max_tokens = max_tokens
        self.overlap = overlap

    def _pieces(self, text: str, spans: list[tuple[int, int]], budget: int) -> list[tuple[int, int, int]]:
        """Sentence spans with token counts; sentences over budget are cut at word boundaries."""
        out = []
        for s, e in spans:
            n = self.count(text[s:e])
            if n <= budget:
                out.append((s, e, n))
                continue
            words = [(m.start() + s, m.end() + s) for m in re.finditer(r"\S+", text[s:e])]
            i = 0
            while i < len(words):
                j = i + 1
                # grow greedily, counting tokens of the candidate piece
                while j < len(words) and self.count(text[words[i][0]:words[j][1]]) <= budget:
                    j += 1
                out.append((words[i][0], words[j - 1][1], self.count(text[words[i][0]:words[j - 1][1]])))
                i = j
        return out

    def chunk(self, doc: Document) -> list[Chunk]:
        from .loaders import split_title

        title, body_start = split_title(doc.text)
        if title != doc.title:
            body_start = 0  # title did not come from the text (e.g. PDF metadata): chunk everything
        prefix_tokens = self.count(doc.title + "\n") if doc.title else 0
        budget = max(16, self.max_tokens - prefix_tokens)
        spans = split_sentences(doc.text, body_start)
        if not spans and body_start:
            spans = split_sentences(doc.text, 0)
        pieces = self._pieces(doc.text, spans, budget)
        chunks: list[Chunk] = []
        i = 0
        while i < len(pieces):
            total = 0
            j = i
            while j < len(pieces) and total + pieces[j][2] + (1 if j > i else 0) <= budget:
                total += pieces[j][2] + (1 if j > i else 0)
                j += 1
            j = max(j, i + 1)
            s, e = pieces[i][0], pieces[j - 1][1]
            chunks.append(Chunk(doc_id=doc.doc_id, ord=len(chunks), text=doc.text[s:e], start=s, end=e, title=doc.title))
            if j >= len(pieces):
                break
            i = max(i + 1, j - self.overlap)
        return chunks

    def embed_text(self, chunk: Chunk) -> str:
        return f"{chunk.title}\n{chunk.text}" if chunk.title else chunk.text


def iter_chunks(chunker: Chunker, docs: list[Document]) -> Iterator[Chunk]:
    for d in docs:
        yield from chunker.chunk(d)
