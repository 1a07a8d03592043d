"""Typed records passed between answering stages."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Hit:
    """A retrieved chunk with the score each retrieval stage gave it."""

    chunk_id: int
    doc_id: str
    title: str
    text: str
    start: int
    end: int
    score: float  # final score used for ranking
    dense: float | None = None  # cosine similarity (None: not in dense list)
    lexical: float | None = None  # BM25 score (None: not in lexical list)
    fused: float | None = None  # reciprocal-rank-fusion score
    rerank: float | None = None  # second-stage score
    sentence: float | None = None  # score of the chunk's best sentence (reranked top only)
    source: str = ""
    date: str = ""


@dataclass
class Citation:
    """One numbered source of an answer, with the sentence that supports it."""

    number: int
    doc_id: str
    title: str
    chunk_id: int
    passage: str  # the whole retrieved passage
    quote: str  # the supporting sentence inside the passage
    quote_start: int  # character offsets of the quote in the document
    quote_end: int
    score: float
    source: str = ""
    date: str = ""


@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    declined: bool = False
    question: str = ""
    standalone_question: str = ""  # after rewriting a follow-up from history
    short_answer: str = ""  # the bare answer span, without citation markers
    hits: list[Hit] = field(default_factory=list)
    seconds: float = 0.0
    # why it was answered or declined: relevance, raw model output, its confidence, support
    diagnostics: dict = field(default_factory=dict)
