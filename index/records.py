"""Typed records passed between indexing stages."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """One article as loaded from disk (or pasted)."""

    doc_id: str
    title: str
    text: str  # full article text; chunk offsets point into it
    path: str = ""
    source: str = ""  # folder / category the article came from
    date: str = ""
    url: str = ""


@dataclass(frozen=True)
class Chunk:
    """A sentence-aligned span of a document, small enough for the embedder."""

    doc_id: str
    ord: int  # position of the chunk within its document
    text: str
    start: int  # character offsets into Document.text
    end: int
    title: str = ""
    chunk_id: int = -1  # assigned by the store


@dataclass(frozen=True)
class LoadError:
    """A file that could not be indexed, and why."""

    path: str
    reason: str


@dataclass
class AddReport:
    """What one `add` did."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[LoadError] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0
