"""The FAISS vector index behind the store: exact (flat) by default, approximate by configuration.

The SQLite metadata is the source of truth (it keeps every vector); the FAISS file is a cache of
it, named after the store generation it reflects, and reconciled with SQLite on open.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def _faiss():
    import faiss

    return faiss


class VectorIndex:
    """Inner-product search over normalised vectors, keyed by chunk id."""

    def __init__(self, dim: int, kind: str = "flat"):
        faiss = _faiss()
        self.dim = dim
        self.kind = kind
        if kind != "flat":
            raise ValueError(f"unknown vector index kind '{kind}' (available: flat)")
        self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        return _faiss().vector_to_array(self.index.id_map).astype(np.int64)

    def add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vecs, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids) -> None:
        ids = np.asarray(list(ids), dtype=np.int64)
        if len(ids):
            self.index.remove_ids(ids)

    def search(self, vec: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self.ntotal == 0 or k <= 0:
            return []
        scores, ids = self.index.search(np.ascontiguousarray(vec.reshape(1, -1), dtype=np.float32), min(k, self.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def save(self, path: Path) -> None:
        """Atomic: write a temporary file, fsync, then rename over the target."""
        tmp = path.with_suffix(path.suffix + ".tmp")
        _faiss().write_index(self.index, str(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, dim: int, kind: str = "flat") -> "VectorIndex":
        faiss = _faiss()
        idx = faiss.read_index(str(path))
        if idx.d != dim:
            raise ValueError(f"vector file has dimension {idx.d}, expected {dim}")
        obj = cls.__new__(cls)
        obj.dim, obj.kind, obj.index = dim, kind, idx
        return obj


def make_vector_index(dim: int, kind: str = "flat") -> VectorIndex:
    return VectorIndex(dim, kind)
