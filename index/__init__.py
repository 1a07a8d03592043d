"""Articles → searchable index (loaders, chunking, embedding, FAISS + SQLite store)."""
from __future__ import annotations

from pathlib import Path

from .config import env
from .records import AddReport, Chunk, ChunkRecord, Document, Filters, LoadError, RemoveReport
from .store import CorruptIndex, IndexError_, IndexStore, ReadOnlyIndex

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = REPO_ROOT / "examples" / "articles"


def default_index_dir() -> Path:
    return Path(env().index_dir or REPO_ROOT / "indexes" / "default")


def open_index(path: str | Path | None = None, create: bool = True, read_only: bool = False, **kw) -> IndexStore:
    """The index at `path` (default_index_dir()). create=False: IndexError_ when there is none.
    read_only=True: creates and writes nothing (SQLite may add its -wal/-shm files); writes raise
    ReadOnlyIndex (index/store.py)."""
    return IndexStore(path or default_index_dir(), create=create, read_only=read_only, **kw)


def ensure_default_index(path: str | Path | None = None) -> IndexStore:
    """Open the index; when it is the default one and empty, build it from examples/articles."""
    store = open_index(path)
    if store.stats()["documents"] == 0 and EXAMPLES_DIR.exists():
        store.add_paths([EXAMPLES_DIR])
    return store


__all__ = [
    "AddReport", "Chunk", "ChunkRecord", "Document", "Filters", "LoadError", "RemoveReport", "IndexStore", "CorruptIndex", "IndexError_", "ReadOnlyIndex",
    "open_index", "default_index_dir", "ensure_default_index", "EXAMPLES_DIR",
]
