""""flat": exact inner-product search (IndexIDMap2 over IndexFlatIP). Every vector in RAM."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import VectorIndex, faiss


class FlatIndex(VectorIndex):
    kind = "flat"
    signature = b"IxM2"  # FAISS fourcc of an IndexIDMap2
    opens = ("flat",)

    def _empty(self):
        return faiss().IndexIDMap2(faiss().IndexFlatIP(self.dim))

    def _read(self, path: Path, held: str, mmap: bool | None) -> None:
        idx = faiss().read_index(str(path))
        if not isinstance(idx, faiss().IndexIDMap2):
            raise ValueError(f"vector file holds an unexpected index type {type(idx).__name__}")
        self.index = idx

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) held, as copies."""
        f = faiss()
        n = self.ntotal
        ids = f.vector_to_array(self.index.id_map).astype(np.int64)
        flat = f.downcast_index(self.index.index)
        vecs = f.rev_swig_ptr(flat.get_xb(), n * self.dim).reshape(n, self.dim).copy() if n else np.zeros((0, self.dim), np.float32)
        return ids, vecs
