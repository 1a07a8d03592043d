"""What every vector index kind shares: the API the store uses, the atomic save, and load.

A kind is a subclass of VectorIndex in its own file, registered by name in index/vectors/__init__.py.
A subclass gives `_empty` (the FAISS index it starts as) and `_read` (open a saved file), and
overrides `_add` / `_remove` / `search_many` / `_write` where its FAISS index needs more than the
default (an IndexIDMap2-style `add_with_ids` / `remove_ids` / `search` / `write_index`).
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable, ClassVar

import numpy as np


def faiss():
    import faiss as _f

    return _f


class VectorIndex(ABC):
    """Inner-product search over normalised vectors, keyed by chunk id (int64)."""

    kind: ClassVar[str]  # the name the store's `vector_kind` uses
    signature: ClassVar[bytes]  # how the files this kind writes begin
    opens: ClassVar[tuple[str, ...]]  # the kinds whose files it opens (and may grow out of)

    def __init__(self, dim: int):
        self.dim = dim
        self.impl = self.kind  # what the FAISS index holds now ("ivf", "ivfpq" and "auto" start "flat")
        self.exact: Callable[[list[int]], dict] | None = None  # chunk ids -> {id: exact vector} (the store's vectors_of): lossy codes are re-scored with it
        self.index = self._empty()

    # ---- what a kind provides --------------------------------------------------------------
    @abstractmethod
    def _empty(self):
        """A FAISS index holding no vectors yet."""

    @abstractmethod
    def _read(self, path: Path, held: str, mmap: bool | None) -> None:
        """Set self.index (and any state saved with it) from a file holding a `held` index."""

    def _add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        self.index.add_with_ids(vecs, ids)

    def _remove(self, ids: np.ndarray) -> None:
        self.index.remove_ids(ids)

    def _write(self, path: Path) -> None:
        faiss().write_index(self.index, str(path))

    def _loaded(self) -> None:
        """After _read: apply search settings, grow into another structure if the kind asks."""

    # ---- the API the store uses ------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        return faiss().vector_to_array(self.index.id_map).astype(np.int64)

    def add(self, ids, vecs: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids):
            self._add(ids, np.ascontiguousarray(vecs, dtype=np.float32).reshape(len(ids), self.dim))

    def remove(self, ids) -> None:
        ids = np.asarray(list(ids), dtype=np.int64)
        if len(ids):
            self._remove(ids)

    def search(self, vec: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self.ntotal == 0 or k <= 0:
            return []
        return self.search_many(np.asarray(vec).reshape(1, -1), k)[0]

    def search_many(self, vecs: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """Top-k (chunk id, score) for each row of vecs."""
        q = np.ascontiguousarray(vecs, dtype=np.float32).reshape(-1, self.dim)
        if self.ntotal == 0 or k <= 0:
            return [[] for _ in range(len(q))]
        scores, ids = self.index.search(q, min(k, int(self.index.ntotal)))
        return [[(int(i), float(s)) for i, s in zip(irow, srow) if i >= 0] for srow, irow in zip(scores, ids)]

    def save(self, path: Path) -> None:
        """Atomic: write a temporary file, fsync, then rename over the target."""
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        self._write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, dim: int, kind: str = "flat", mmap: bool | None = None, **options) -> "VectorIndex":
        """Open a saved index as `kind`. The file's own structure decides what it holds; the kind
        decides whether it may open it and what it may become (an "auto" flat index converts to
        IVF when it grows). mmap: see index/vectors/ivf.py."""
        from . import file_kind, make_vector_index

        obj = make_vector_index(dim, kind, **options)
        path = Path(path)
        with open(path, "rb") as fh:
            held = file_kind(fh.read(16))
        if held not in obj.opens:
            raise ValueError(f"vector file holds a '{held}' index, configured kind is '{kind}'")
        obj._read(path, held, mmap)
        if obj.index.d != dim:
            raise ValueError(f"vector file has dimension {obj.index.d}, expected {dim}")
        obj._loaded()
        return obj
