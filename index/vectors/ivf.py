""""ivf" and "auto": approximate search in an inverted file with 8-bit scalar-quantised codes
(IVF<nlist>,SQ8, inner product), 4x less RAM than flat.

- "ivf" is exact (flat) until it holds `ivf_min` vectors, then trained on a sample of them; it
  retrains when its size calls for twice the lists.
- "auto" is the same, switching at `auto_threshold` instead: exact while it holds at most that many.
Both add and remove by chunk id. A large file is opened memory-mapped (read-only pages the OS can
drop) and copied into RAM on the first write.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..config import env
from .base import faiss
from .flat import FlatIndex

IVF_MIN = 10_000  # "ivf" stays exact below this many vectors (enough to train); $QA_VECTOR_IVF_MIN
AUTO_THRESHOLD = 200_000  # "auto" stays exact up to this many vectors; $QA_VECTOR_AUTO_THRESHOLD
MMAP_BYTES = 256 * 1024 * 1024  # larger IVF files are opened memory-mapped; $QA_VECTOR_MMAP=1/0 forces it
TRAIN_SAMPLE = 100_000  # k-means runs on at most this many vectors
RECALL_TARGET = 0.97  # nprobe calibration aims above the 0.95 promised, for margin on unseen queries


def _first(*values):
    """The first value that is not None (an argument, then the environment, then the default)."""
    return next(v for v in values if v is not None)


def ivf_nlist(n: int) -> int:
    """Number of inverted lists for n vectors: ~2*sqrt(n), with >= 39 training points per list."""
    return int(max(1, min(4096, 2 * math.sqrt(max(n, 1)), n // 39)))


def calibrate_nprobe(index, vecs: np.ndarray, ids: np.ndarray, target: float = RECALL_TARGET, n_queries: int = 200, k: int = 10) -> int:
    """Smallest nprobe whose recall@k against exact search reaches `target` on a sample of the
    indexed vectors used as queries (each query's own id left out of both result lists)."""
    ivf = faiss().extract_index_ivf(index)
    rng = np.random.default_rng(1)
    pick = rng.choice(len(vecs), min(n_queries, len(vecs)), replace=False)
    q = np.ascontiguousarray(vecs[pick], dtype=np.float32)
    best = [np.full((len(q), k + 1), -np.inf, np.float32), np.full((len(q), k + 1), -1, np.int64)]
    for i in range(0, len(vecs), 200_000):  # exact top-(k+1) by blocks, without a second copy of vecs
        s = q @ np.asarray(vecs[i : i + 200_000], dtype=np.float32).T
        top = np.argpartition(-s, min(k, s.shape[1] - 1), axis=1)[:, : k + 1]
        sc = np.take_along_axis(s, top, 1)
        allsc = np.concatenate([best[0], sc], 1)
        allid = np.concatenate([best[1], ids[i : i + 200_000][top]], 1)
        order = np.argsort(-allsc, axis=1)[:, : k + 1]
        best = [np.take_along_axis(allsc, order, 1), np.take_along_axis(allid, order, 1)]
    self_ids = ids[pick]
    truth = [[j for j in row if j != me][:k] for row, me in zip(best[1].tolist(), self_ids.tolist())]
    nprobe = 1
    while True:
        ivf.nprobe = nprobe
        _, got = index.search(q, k + 1)
        got = [[j for j in row if j != me and j >= 0][:k] for row, me in zip(got.tolist(), self_ids.tolist())]
        r = float(np.mean([len(set(a) & set(b)) / max(1, len(b)) for a, b in zip(got, truth)]))
        if r >= target or nprobe >= ivf.nlist:
            return nprobe
        nprobe = min(ivf.nlist, nprobe * 2 if nprobe < 8 else int(nprobe * 1.5))


class IVFIndex(FlatIndex):
    kind = "ivf"
    signature = b"Iw"  # FAISS fourcc of an IVF index once trained (IwSq here); until then a flat file
    opens = ("flat", "ivf")

    def __init__(self, dim: int, ivf_min: int | None = None, nprobe: int | None = None):
        super().__init__(dim)
        self.impl = "flat"
        self.ivf_min = _first(ivf_min, env().vector_ivf_min, IVF_MIN)
        self.nprobe_override = nprobe  # None: the nprobe calibrated at training, saved with the index
        self.mmapped = False

    def _train_at(self) -> int:
        """Size at which the exact index is replaced by a trained IVF."""
        return max(self.ivf_min, 1)

    @property
    def nprobe(self) -> int | None:
        return int(faiss().extract_index_ivf(self.index).nprobe) if self.impl == "ivf" else None

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self.nprobe_override = int(value)
        self._apply_nprobe()

    def _apply_nprobe(self) -> None:
        if self.impl == "ivf" and self.nprobe_override:
            faiss().extract_index_ivf(self.index).nprobe = self.nprobe_override

    # ---- the store's API -----------------------------------------------------------------
    def ids(self) -> np.ndarray:
        if self.impl != "ivf":
            return super().ids()
        f = faiss()
        inv = f.extract_index_ivf(self.index).invlists
        parts = []
        for lst in range(inv.nlist):
            size = inv.list_size(lst)
            if size:
                parts.append(f.rev_swig_ptr(inv.get_ids(lst), size).copy())
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    def _add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        self._writable()
        super()._add(ids, vecs)
        self._maybe_upgrade()
        self._maybe_retrain()

    def _remove(self, ids: np.ndarray) -> None:
        self._writable()
        super()._remove(ids)

    def _read(self, path: Path, held: str, mmap: bool | None) -> None:
        if held == "flat":
            return super()._read(path, held, mmap)
        f = faiss()
        if mmap is None:
            mmap = env().vector_mmap
            if mmap is None:
                mmap = path.stat().st_size > MMAP_BYTES
        self.index = f.read_index(str(path), f.IO_FLAG_MMAP) if mmap else f.read_index(str(path))
        self.impl, self.mmapped = "ivf", bool(mmap)

    def _loaded(self) -> None:
        self._apply_nprobe()
        self._maybe_upgrade()

    # ---- training --------------------------------------------------------------------------
    def _build(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        """Replace the index by an IVF-SQ8 one trained on (a sample of) vecs, holding them all."""
        f = faiss()
        n = len(vecs)
        index = f.index_factory(self.dim, f"IVF{ivf_nlist(n)},SQ8", f.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = vecs if n <= TRAIN_SAMPLE else vecs[np.sort(rng.choice(n, TRAIN_SAMPLE, replace=False))]
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        for i in range(0, n, 200_000):
            index.add_with_ids(np.ascontiguousarray(vecs[i : i + 200_000], dtype=np.float32), ids[i : i + 200_000])
        index.nprobe = calibrate_nprobe(index, vecs, ids)
        self.index, self.impl, self.mmapped = index, "ivf", False
        self._apply_nprobe()

    def _maybe_upgrade(self) -> None:
        """Exact -> IVF once the index holds enough vectors."""
        if self.impl == "flat" and self.ntotal >= self._train_at():
            self._build(*self.arrays())

    def _maybe_retrain(self) -> None:
        """An IVF trained when the index was small gets long lists as it grows: once the size
        calls for twice the lists, retrain on the (decoded) vectors it holds."""
        if self.impl != "ivf":
            return
        f = faiss()
        ivf = f.extract_index_ivf(self.index)
        if ivf.nlist >= 4096 or ivf_nlist(self.ntotal) < 2 * ivf.nlist:
            return
        ids = self.ids()
        ivf.set_direct_map_type(f.DirectMap.Hashtable)
        vecs = np.empty((len(ids), self.dim), np.float32)
        for i in range(0, len(ids), 100_000):
            vecs[i : i + 100_000] = self.index.reconstruct_batch(ids[i : i + 100_000])
        self._build(ids, vecs)

    def _writable(self) -> None:
        """A memory-mapped IVF is read-only: copy it into RAM before the first write."""
        if not self.mmapped:
            return
        f = faiss()
        ivf = f.extract_index_ivf(self.index)
        src = ivf.invlists
        arr = f.ArrayInvertedLists(src.nlist, src.code_size)
        for lst in range(src.nlist):
            size = src.list_size(lst)
            if size:
                arr.add_entries(lst, size, src.get_ids(lst), src.get_codes(lst))
        ivf.replace_invlists(arr, True)
        arr.this.disown()  # now owned by the index
        self.mmapped = False
        self._apply_nprobe()


class AutoIndex(IVFIndex):
    kind = "auto"

    def __init__(self, dim: int, auto_threshold: int | None = None, nprobe: int | None = None):
        super().__init__(dim, nprobe=nprobe)
        self.auto_threshold = _first(auto_threshold, env().vector_auto_threshold, AUTO_THRESHOLD)

    def _train_at(self) -> int:
        return max(self.auto_threshold, 1) + 1
