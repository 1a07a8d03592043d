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

    @classmethod
    def duplicate(cls, path: str, doc_id: str) -> "LoadError":
        """A second document with an id already loaded in the same add: the first one is kept."""
        return cls(path or doc_id, f"duplicate document id '{doc_id}' (already loaded in this add)")


@dataclass
class AddReport:
    """What one `add` did."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[LoadError] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class ChunkRecord:
    """One stored chunk as the store hands it out: where it sits in its document, and that document's metadata."""

    chunk_id: int
    doc_id: str
    ord: int  # position of the chunk within its document
    start: int  # character offsets into the document's text
    end: int
    title: str
    text: str
    source: str = ""
    date: str = ""


@dataclass(frozen=True)
class Filters:
    """Metadata filters, as plain data: the store turns them into its own query (and checks them).

    source: the document's source/category, or a folder prefix of its id ("bbc/tech");
    title: words that must all appear in the title (case-insensitive for ASCII);
    date_from / date_to: ISO dates, inclusive; "2024" or "2024-05" stand for the whole year or month.
    A document without a date never passes a date filter."""

    source: str | None = None
    title: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def empty(self) -> bool:
        return not (self.source or self.title or self.date_from or self.date_to)


@dataclass
class RemoveReport:
    """What one removal did: the documents removed and their chunk count."""

    documents: list[str] = field(default_factory=list)
    chunks: int = 0


@dataclass(frozen=True)
class WordCase:
    """How the indexed articles write one word where case tells something (not a sentence's first
    word): the commonest capitalised form and how often it is capitalised, how often not."""

    word: str  # in lower case: "dvd"
    form: str  # the commonest capitalised form: "DVD" ("" if never capitalised)
    capitalised: int
    lower: int
