""""ivf", "ivfpq" and "auto": approximate search in an inverted file (inner product).

- "ivf" holds 8-bit scalar-quantised codes (IVF<nlist>,SQ8), 4x less RAM than flat. It is exact
  (flat) until it holds `ivf_min` vectors, then trained on a sample of them; it retrains when its
  size calls for twice the lists.
- "ivfpq" is the same with 4-bit product-quantised codes (IVF<nlist>,PQ<dim/2>x4fs: dim/2 bytes a
  vector, 16x less than flat, 4x less than SQ8). Those codes alone rank poorly, so each search takes
  RERANK times the candidates asked for and re-scores them with the exact vectors from `exact` (the
  store passes its SQLite reader: it keeps every vector anyway). For indexes past ~10M chunks.
- "auto" is exact while it holds at most `auto_threshold` vectors, SQ8 above, and PQ from
  `pq_threshold` on (see docs/scale.md for the measurements behind both).
All add and remove by chunk id. A large SQ8 file is opened memory-mapped (read-only pages the OS
can drop) and copied into RAM on the first write.
"""
from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from ..config import env
from .base import faiss
from .flat import FlatIndex

IVF_MIN = 10_000  # "ivf" stays exact below this many vectors (enough to train); $QA_VECTOR_IVF_MIN
AUTO_THRESHOLD = 200_000  # "auto" stays exact up to this many vectors; $QA_VECTOR_AUTO_THRESHOLD
MMAP_BYTES = 256 * 1024 * 1024  # larger IVF files are opened memory-mapped; $QA_VECTOR_MMAP=1/0 forces it
TRAIN_SAMPLE = 100_000  # k-means runs on at most this many vectors ...
TRAIN_PER_LIST = 40  # ... or this many per list where that is more (FAISS warns below 39 per list)
RECALL_TARGET = 0.97  # nprobe calibration aims above the 0.95 promised, for margin on unseen queries
PQ_THRESHOLD = 5_000_000  # "auto" holds PQ codes from this many vectors (SQ8 would need ~1.9 GB); $QA_VECTOR_PQ_THRESHOLD
RERANK = 50  # "ivfpq" re-scores this many candidates per result asked for (1M vectors, top 10: 0.96 from 200, 0.985 from 500)
RERANK_MAX = 1000  # ... but at most this many per query (each is a row read from SQLite: a few ms for 1,000)
PLATEAU = 0.001  # calibration stops raising nprobe once a step gains less recall than this (the codes, not the lists, limit it)
RAM_BUFFER_BYTES = 1 << 30  # retraining decodes the vectors into RAM up to this size, past it into a temporary file


def _first(*values):
    """The first value that is not None (an argument, then the environment, then the default)."""
    return next(v for v in values if v is not None)


def ivf_nlist(n: int) -> int:
    """Number of inverted lists for n vectors: ~2*sqrt(n), with >= 39 training points per list."""
    return int(max(1, min(4096, 2 * math.sqrt(max(n, 1)), n // 39)))


def train_size(n: int, nlist: int) -> int:
    """How many of n vectors k-means trains on: TRAIN_SAMPLE, or TRAIN_PER_LIST per list if more."""
    return min(n, max(TRAIN_SAMPLE, TRAIN_PER_LIST * nlist))


def rerank(q: np.ndarray, cands: np.ndarray, vectors_of: Callable[[np.ndarray], np.ndarray], k: int) -> list[list[tuple[int, float]]]:
    """Re-score each query's candidate ids (rows of `cands`, -1 = none) by exact inner product and
    keep the best k. vectors_of(ids) -> their vectors, one row per id, in order (NaN: no vector)."""
    flat = np.unique(cands[cands >= 0])
    if not len(flat):
        return [[] for _ in range(len(q))]
    vecs = np.asarray(vectors_of(flat), dtype=np.float32)
    out = []
    for qi, row in enumerate(cands):
        row = row[row >= 0]
        s = vecs[np.searchsorted(flat, row)] @ q[qi]
        row, s = row[np.isfinite(s)], s[np.isfinite(s)]  # an id without a vector (NaN) is gone
        top = np.argsort(-s, kind="stable")[:k]
        out.append([(int(row[j]), float(s[j])) for j in top])
    return out


def candidates(k: int, factor: int) -> int:
    """How many codes-ranked candidates are re-scored to return k."""
    return k if factor <= 1 else max(k, min(k * factor, RERANK_MAX))


def calibrate_nprobe(index, vecs: np.ndarray, ids: np.ndarray, target: float = RECALL_TARGET, n_queries: int = 200, k: int = 10, factor: int = 1) -> int:
    """Smallest nprobe whose recall@k against exact search reaches `target` on a sample of the
    indexed vectors used as queries (each query's own id left out of both result lists), or where
    recall stops growing (PLATEAU) short of it. With
    factor > 1 the candidates are re-scored exactly first, as IVFIndex.search_many does for PQ codes.
    vecs may be a memory-mapped array: it is read by blocks."""
    ivf = faiss().extract_index_ivf(index)
    rng = np.random.default_rng(1)
    pick = rng.choice(len(vecs), min(n_queries, len(vecs)), replace=False)
    q = np.ascontiguousarray(vecs[np.sort(pick)], dtype=np.float32)
    self_ids = ids[np.sort(pick)]
    best = [np.full((len(q), k + 1), -np.inf, np.float32), np.full((len(q), k + 1), -1, np.int64)]
    for i in range(0, len(vecs), 200_000):  # exact top-(k+1) by blocks, without a second copy of vecs
        s = q @ np.asarray(vecs[i : i + 200_000], dtype=np.float32).T
        top = np.argpartition(-s, min(k, s.shape[1] - 1), axis=1)[:, : k + 1]
        sc = np.take_along_axis(s, top, 1)
        allsc = np.concatenate([best[0], sc], 1)
        allid = np.concatenate([best[1], ids[i : i + 200_000][top]], 1)
        order = np.argsort(-allsc, axis=1)[:, : k + 1]
        best = [np.take_along_axis(allsc, order, 1), np.take_along_axis(allid, order, 1)]
    truth = [[j for j in row if j != me][:k] for row, me in zip(best[1].tolist(), self_ids.tolist())]
    by_id = np.argsort(ids)

    def vectors_of(want: np.ndarray) -> np.ndarray:
        rows = by_id[np.searchsorted(ids, want, sorter=by_id)]
        return np.asarray(vecs[np.sort(rows)], dtype=np.float32)[np.argsort(np.argsort(rows))]

    nprobe, last = 1, None
    while True:
        ivf.nprobe = nprobe
        _, got = index.search(q, candidates(k + 1, factor))
        if factor > 1:
            got = [[i for i, _ in hits] for hits in rerank(q, got, vectors_of, k + 1)]
        got = [[j for j in row if j != me and j >= 0][:k] for row, me in zip(np.asarray(got).tolist() if factor <= 1 else got, self_ids.tolist())]
        r = float(np.mean([len(set(a) & set(b)) / max(1, len(b)) for a, b in zip(got, truth)]))
        if last is not None and nprobe >= 16 and r - last[1] < PLATEAU:
            return last[0]  # more lists no longer help: the target is out of the codes' reach
        if r >= target or nprobe >= ivf.nlist:
            return nprobe
        last = (nprobe, r)
        nprobe = min(ivf.nlist, nprobe * 2 if nprobe < 8 else int(nprobe * 1.5))


class IVFIndex(FlatIndex):
    kind = "ivf"
    signature = b"IwSq"  # FAISS fourcc of an IVF-SQ8 index once trained; until then a flat file
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

    def _codes_for(self, n: int) -> str:
        """The kind whose codes an IVF of n vectors holds: "ivf" (SQ8) or "ivfpq" (PQ)."""
        return "ivf"

    @property
    def trained(self) -> bool:
        return self.impl in ("ivf", "ivfpq")

    @property
    def nprobe(self) -> int | None:
        return int(faiss().extract_index_ivf(self.index).nprobe) if self.trained else None

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self.nprobe_override = int(value)
        self._apply_nprobe()

    def _apply_nprobe(self) -> None:
        if self.trained and self.nprobe_override:
            faiss().extract_index_ivf(self.index).nprobe = self.nprobe_override

    # ---- the store's API -----------------------------------------------------------------
    def ids(self) -> np.ndarray:
        if not self.trained:
            return super().ids()
        f = faiss()
        inv = f.extract_index_ivf(self.index).invlists
        parts = []
        for lst in range(inv.nlist):
            size = inv.list_size(lst)
            if size:
                parts.append(f.rev_swig_ptr(inv.get_ids(lst), size).copy())
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    def search_many(self, vecs: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        if self.impl != "ivfpq" or self.exact is None or self.ntotal == 0 or k <= 0:
            return super().search_many(vecs, k)
        q = np.ascontiguousarray(vecs, dtype=np.float32).reshape(-1, self.dim)
        _, cands = self.index.search(q, min(candidates(k, RERANK), self.ntotal))
        return rerank(q, cands, self._exact_rows, k)

    def _exact_rows(self, ids: np.ndarray) -> np.ndarray:
        """The exact vectors of ids from self.exact, one row each (NaN where it has none)."""
        got = self.exact(ids.tolist())
        out = np.full((len(ids), self.dim), np.nan, np.float32)
        for row, i in enumerate(ids.tolist()):
            v = got.get(i)
            if v is not None:
                out[row] = v
        return out

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
        if held == "ivfpq":
            mmap = False  # PQ codes are small; FAISS reads its block lists into RAM anyway
        elif mmap is None:
            mmap = env().vector_mmap
            if mmap is None:
                mmap = path.stat().st_size > MMAP_BYTES
        self.index = f.read_index(str(path), f.IO_FLAG_MMAP) if mmap else f.read_index(str(path))
        self.impl, self.mmapped = held, bool(mmap)

    def _loaded(self) -> None:
        self._apply_nprobe()
        self._maybe_upgrade()

    # ---- training --------------------------------------------------------------------------
    def fit(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        """Replace the index by an IVF trained on (a sample of) vecs, holding them all: SQ8 or PQ
        codes as _codes_for(len(vecs)) says. vecs may be memory-mapped: it is read by blocks."""
        f = faiss()
        n = len(vecs)
        codes = self._codes_for(n)
        nlist, rng = ivf_nlist(n), np.random.default_rng(0)
        spec = f"IVF{nlist}," + ("SQ8" if codes == "ivf" else f"PQ{self.dim // 2}x4fs")
        index = f.index_factory(self.dim, spec, f.METRIC_INNER_PRODUCT)
        m = train_size(n, nlist)
        sample = vecs if m == n else vecs[np.sort(rng.choice(n, m, replace=False))]
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        for i in range(0, n, 200_000):
            index.add_with_ids(np.ascontiguousarray(vecs[i : i + 200_000], dtype=np.float32), ids[i : i + 200_000])
        index.nprobe = calibrate_nprobe(index, vecs, ids, factor=RERANK if codes == "ivfpq" else 1)
        self.index, self.impl, self.mmapped = index, codes, False
        self._apply_nprobe()

    def _maybe_upgrade(self) -> None:
        """Exact -> IVF once the index holds enough vectors."""
        if self.impl == "flat" and self.ntotal >= self._train_at():
            self.fit(*self.arrays())

    def _maybe_retrain(self) -> None:
        """An IVF trained when the index was small gets long lists as it grows: once the size
        calls for twice the lists (or other codes), retrain on the vectors it holds: the exact ones
        when the store gives them, else decoded from the codes."""
        if not self.trained:
            return
        ivf = faiss().extract_index_ivf(self.index)
        grown = ivf.nlist < 4096 and ivf_nlist(self.ntotal) >= 2 * ivf.nlist
        if not grown and self._codes_for(self.ntotal) == self.impl:
            return
        ids = self.ids()
        self.fit(ids, self._held_vectors(ids))

    def _held_vectors(self, ids: np.ndarray) -> np.ndarray:
        """Every held vector, in ids order, in RAM up to RAM_BUFFER_BYTES and past it in a
        temporary file (10M vectors would take 15 GB)."""
        n = len(ids)
        if n * self.dim * 4 <= RAM_BUFFER_BYTES:
            out = np.empty((n, self.dim), np.float32)
        else:
            tmp = tempfile.NamedTemporaryFile(prefix="newsqa-retrain-", suffix=".f32")
            out = np.memmap(tmp, dtype=np.float32, mode="w+", shape=(n, self.dim))
            out._tmp = tmp  # the file lives (and is deleted) with the array
        if self.exact is None:
            faiss().extract_index_ivf(self.index).set_direct_map_type(faiss().DirectMap.Hashtable)
        for i in range(0, n, 100_000):
            part = ids[i : i + 100_000]
            out[i : i + len(part)] = self._exact_rows(part) if self.exact is not None else self.index.reconstruct_batch(part)
        return out

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


class IVFPQIndex(IVFIndex):
    kind = "ivfpq"
    signature = b"IwPf"  # FAISS fourcc of a trained IVF-PQ fast-scan index
    opens = ("flat", "ivfpq")

    def _codes_for(self, n: int) -> str:
        return "ivfpq"


class AutoIndex(IVFIndex):
    kind = "auto"
    opens = ("flat", "ivf", "ivfpq")

    def __init__(self, dim: int, auto_threshold: int | None = None, pq_threshold: int | None = None, nprobe: int | None = None):
        super().__init__(dim, nprobe=nprobe)
        self.auto_threshold = _first(auto_threshold, env().vector_auto_threshold, AUTO_THRESHOLD)
        self.pq_threshold = _first(pq_threshold, env().vector_pq_threshold, PQ_THRESHOLD)

    def _train_at(self) -> int:
        return max(self.auto_threshold, 1) + 1

    def _codes_for(self, n: int) -> str:
        return "ivfpq" if n >= self.pq_threshold else "ivf"
