""""hnsw": approximate graph search (HNSW over exact vectors).

HNSW cannot delete: removed ids are filtered out of results, and the graph is rebuilt without them
once more than a tenth (at least 100) are dead. The dead ids are saved with the index, in a file
of its own format: MAGIC, the count (uint64 LE), the ids (int64 LE), then the serialised FAISS index.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from .base import VectorIndex, faiss

HNSW_M = 32  # graph neighbours per node
EF_CONSTRUCTION = 64  # candidate list while building
EF_SEARCH = 96  # candidate list while searching (recall against latency)
MAGIC = b"NQHNSW1\n"


class HNSWIndex(VectorIndex):
    kind = "hnsw"
    signature = MAGIC
    opens = ("hnsw",)

    def __init__(self, dim: int, ef_search: int = EF_SEARCH):
        self.ef_search = ef_search
        self.deleted: set[int] = set()
        super().__init__(dim)

    def _empty(self):
        f = faiss()
        h = f.IndexHNSWFlat(self.dim, HNSW_M, f.METRIC_INNER_PRODUCT)
        h.hnsw.efConstruction = EF_CONSTRUCTION
        h.hnsw.efSearch = self.ef_search
        return f.IndexIDMap2(h)

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal) - len(self.deleted)

    def ids(self) -> np.ndarray:
        ids = super().ids()
        if self.deleted:
            ids = ids[~np.isin(ids, np.fromiter(self.deleted, np.int64, len(self.deleted)))]
        return ids

    def _add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        if self.deleted and self.deleted.intersection(ids.tolist()):
            self._compact()  # an id that is re-added must not stay hidden (nor appear twice)
        super()._add(ids, vecs)

    def _remove(self, ids: np.ndarray) -> None:
        present = set(super().ids().tolist())
        self.deleted.update(i for i in ids.tolist() if i in present)
        if len(self.deleted) > max(100, self.index.ntotal // 10):
            self._compact()

    def _compact(self) -> None:
        """Rebuild the graph without the deleted ids."""
        all_ids = super().ids()
        keep = ~np.isin(all_ids, np.fromiter(self.deleted, np.int64, len(self.deleted)))
        vecs = self.index.index.reconstruct_n(0, self.index.ntotal)[keep] if len(all_ids) else np.zeros((0, self.dim), np.float32)
        self.index = self._empty()
        self.deleted = set()
        if keep.any():
            self.index.add_with_ids(np.ascontiguousarray(vecs), all_ids[keep])

    def search_many(self, vecs: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        if not self.deleted:
            return super().search_many(vecs, k)
        rows = super().search_many(vecs, k + len(self.deleted))
        return [[h for h in row if h[0] not in self.deleted][:k] for row in rows]

    def _write(self, path: Path) -> None:
        dead = np.array(sorted(self.deleted), dtype=np.int64)
        with open(path, "wb") as fh:
            fh.write(MAGIC + struct.pack("<Q", len(dead)) + dead.tobytes())
            fh.write(faiss().serialize_index(self.index).tobytes())

    def _read(self, path: Path, held: str, mmap: bool | None) -> None:
        data = np.fromfile(path, dtype=np.uint8)
        off = len(MAGIC) + 8
        (n_dead,) = struct.unpack("<Q", data[len(MAGIC) : off].tobytes())
        self.deleted = set(np.frombuffer(data[off : off + 8 * n_dead].tobytes(), dtype=np.int64).tolist())
        self.index = faiss().deserialize_index(data[off + 8 * n_dead :])

    def _loaded(self) -> None:
        faiss().downcast_index(self.index.index).hnsw.efSearch = self.ef_search
