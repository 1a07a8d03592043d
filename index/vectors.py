"""The FAISS vector index behind the store: exact (flat) by default, approximate by configuration.

Kinds (the store's `vector_kind`):
- "flat": exact inner-product search (IndexIDMap2 over IndexFlatIP). Every vector in RAM.
- "ivf":  approximate: an inverted file with 8-bit scalar-quantised codes (IVF<nlist>,SQ8, inner
          product), 4x less RAM than flat. Trained on a sample once there are `ivf_min` vectors
          (flat until then). Supports add and remove by chunk id. A large file is opened
          memory-mapped (read-only pages the OS can drop), and copied into RAM on the first write.
- "hnsw": approximate graph search (HNSW32 over exact vectors). HNSW cannot delete, so removed
          ids are filtered out of results and the graph is rebuilt when a tenth is dead; the
          deleted ids are saved with the index.
- "auto": flat while the index holds at most `auto_threshold` vectors (default 200k, or
          $QA_VECTOR_AUTO_THRESHOLD), then converted once to "ivf".

The SQLite metadata is the source of truth (it keeps every vector); the FAISS file is a cache of
it, named after the store generation it reflects, written atomically (temporary file + fsync +
rename), and reconciled with SQLite on open (see IndexStore._reconcile), for every kind.
"""
from __future__ import annotations

import math
import os
import struct
from pathlib import Path

import numpy as np

KINDS = ("flat", "ivf", "hnsw", "auto")
AUTO_THRESHOLD = 200_000  # "auto" switches from exact to IVF past this many vectors
IVF_MIN = 10_000  # an explicit "ivf" index stays exact until it holds this many vectors (enough to train)
MMAP_BYTES = 256 * 1024 * 1024  # IVF files larger than this are opened memory-mapped
TRAIN_SAMPLE = 100_000  # k-means runs on at most this many vectors
HNSW_M = 32
_HNSW_MAGIC = b"NQHNSW1\n"


def _faiss():
    import faiss

    return faiss


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, "") or default)
    except ValueError:
        return default


def ivf_nlist(n: int) -> int:
    """Number of inverted lists for n vectors: ~2*sqrt(n), with >= 39 training points per list."""
    return int(max(1, min(4096, 2 * math.sqrt(max(n, 1)), n // 39)))


RECALL_TARGET = 0.97  # calibration aims above the 0.95 promised, for margin on unseen queries


def calibrate_nprobe(index, vecs: np.ndarray, ids: np.ndarray, target: float = RECALL_TARGET, n_queries: int = 200, k: int = 10) -> int:
    """Smallest nprobe whose recall@k against exact search reaches `target` on a sample of the
    indexed vectors used as queries (each query's own id left out of both result lists)."""
    faiss = _faiss()
    ivf = faiss.extract_index_ivf(index)
    rng = np.random.default_rng(1)
    pick = rng.choice(len(vecs), min(n_queries, len(vecs)), replace=False)
    q = np.ascontiguousarray(vecs[pick], dtype=np.float32)
    truth = []
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


class VectorIndex:
    """Inner-product search over normalised vectors, keyed by chunk id (int64)."""

    def __init__(
        self,
        dim: int,
        kind: str = "flat",
        auto_threshold: int | None = None,
        ivf_min: int | None = None,
        nprobe: int | None = None,
        ef_search: int = 96,
    ):
        if kind not in KINDS:
            raise ValueError(f"unknown vector index kind '{kind}' (available: {', '.join(KINDS)})")
        faiss = _faiss()
        self.dim = dim
        self.kind = kind
        self.auto_threshold = auto_threshold if auto_threshold is not None else _env_int("QA_VECTOR_AUTO_THRESHOLD", AUTO_THRESHOLD)
        self.ivf_min = ivf_min if ivf_min is not None else _env_int("QA_VECTOR_IVF_MIN", IVF_MIN)
        self.nprobe_override = nprobe
        self.ef_search = ef_search
        self.deleted: set[int] = set()  # hnsw only
        self.mmapped = False
        if kind == "hnsw":
            self.index = self._new_hnsw()
            self.impl = "hnsw"
        else:
            self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
            self.impl = "flat"

    # ---- construction helpers ------------------------------------------------------------
    def _new_hnsw(self):
        faiss = _faiss()
        h = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        h.hnsw.efConstruction = 64
        h.hnsw.efSearch = self.ef_search
        return faiss.IndexIDMap2(h)

    def _set_search_params(self) -> None:
        faiss = _faiss()
        if self.impl == "ivf":
            if self.nprobe_override:  # else the calibrated nprobe saved with the index
                faiss.extract_index_ivf(self.index).nprobe = self.nprobe_override
        elif self.impl == "hnsw":
            faiss.downcast_index(self.index.index).hnsw.efSearch = self.ef_search

    @property
    def nprobe(self) -> int | None:
        return int(_faiss().extract_index_ivf(self.index).nprobe) if self.impl == "ivf" else None

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self.nprobe_override = int(value)
        self._set_search_params()

    def _flat_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) held by a flat index (copies)."""
        faiss = _faiss()
        n = self.ntotal
        ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
        flat = faiss.downcast_index(self.index.index)
        vecs = faiss.rev_swig_ptr(flat.get_xb(), n * self.dim).reshape(n, self.dim).copy() if n else np.zeros((0, self.dim), np.float32)
        return ids, vecs

    def _build_ivf(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        """Replace the index by an IVF-SQ8 one trained on (a sample of) vecs, holding them all."""
        faiss = _faiss()
        n = len(vecs)
        nlist = ivf_nlist(n)
        index = faiss.index_factory(self.dim, f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = vecs if n <= TRAIN_SAMPLE else vecs[np.sort(rng.choice(n, TRAIN_SAMPLE, replace=False))]
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        for i in range(0, n, 200_000):
            index.add_with_ids(np.ascontiguousarray(vecs[i : i + 200_000], dtype=np.float32), ids[i : i + 200_000])
        index.nprobe = calibrate_nprobe(index, vecs, ids)
        self.index, self.impl, self.mmapped = index, "ivf", False
        self._set_search_params()

    def _maybe_upgrade(self) -> None:
        """flat -> ivf when the configured kind asks for it at this size."""
        if self.impl != "flat":
            return
        limit = self.auto_threshold if self.kind == "auto" else self.ivf_min if self.kind == "ivf" else None
        if limit is not None and self.ntotal > 0 and self.ntotal >= max(limit, 1) + (1 if self.kind == "auto" else 0):
            self._build_ivf(*self._flat_arrays())

    def _maybe_retrain(self) -> None:
        """An IVF trained when the index was small gets long lists as it grows: once the size
        calls for twice the lists, retrain on the (decoded) vectors it holds."""
        if self.impl != "ivf":
            return
        faiss = _faiss()
        ivf = faiss.extract_index_ivf(self.index)
        if ivf.nlist >= 4096 or ivf_nlist(self.ntotal) < 2 * ivf.nlist:
            return
        ids = self.ids()
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        vecs = np.empty((len(ids), self.dim), np.float32)
        for i in range(0, len(ids), 100_000):
            vecs[i : i + 100_000] = self.index.reconstruct_batch(ids[i : i + 100_000])
        self._build_ivf(ids, vecs)

    def _writable(self) -> None:
        """A memory-mapped IVF is read-only: copy it into RAM before the first write."""
        if self.mmapped:
            faiss = _faiss()
            ivf = faiss.extract_index_ivf(self.index)
            src = ivf.invlists
            arr = faiss.ArrayInvertedLists(src.nlist, src.code_size)
            for lst in range(src.nlist):
                size = src.list_size(lst)
                if size:
                    arr.add_entries(lst, size, src.get_ids(lst), src.get_codes(lst))
            ivf.replace_invlists(arr, True)
            arr.this.disown()  # now owned by the index
            self.mmapped = False
            self._set_search_params()

    # ---- the API the store uses ----------------------------------------------------------
    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal) - len(self.deleted)

    def ids(self) -> np.ndarray:
        faiss = _faiss()
        if self.impl == "ivf":
            inv = faiss.extract_index_ivf(self.index).invlists
            parts = []
            for lst in range(inv.nlist):
                size = inv.list_size(lst)
                if size:
                    parts.append(faiss.rev_swig_ptr(inv.get_ids(lst), size).copy())
            return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
        ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
        if self.deleted:
            ids = ids[~np.isin(ids, np.fromiter(self.deleted, np.int64, len(self.deleted)))]
        return ids

    def add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return
        vecs = np.ascontiguousarray(vecs, dtype=np.float32).reshape(len(ids), self.dim)
        self._writable()
        if self.impl == "hnsw" and self.deleted:
            back = self.deleted.intersection(ids.tolist())
            if back:  # an id that is re-added must not stay hidden (nor appear twice): compact first
                self._compact()
        self.index.add_with_ids(vecs, ids)
        self._maybe_upgrade()
        self._maybe_retrain()

    def remove(self, ids) -> None:
        ids = np.asarray(list(ids), dtype=np.int64)
        if not len(ids):
            return
        self._writable()
        if self.impl == "hnsw":
            present = set(_faiss().vector_to_array(self.index.id_map).tolist())
            self.deleted.update(i for i in ids.tolist() if i in present)
            if len(self.deleted) > max(100, self.index.ntotal // 10):
                self._compact()
            return
        self.index.remove_ids(ids)

    def _compact(self) -> None:
        """Rebuild the HNSW graph without the deleted ids."""
        faiss = _faiss()
        all_ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
        keep = ~np.isin(all_ids, np.fromiter(self.deleted, np.int64, len(self.deleted)))
        vecs = self.index.index.reconstruct_n(0, self.index.ntotal)[keep] if len(all_ids) else np.zeros((0, self.dim), np.float32)
        self.index = self._new_hnsw()
        self.deleted = set()
        if keep.any():
            self.index.add_with_ids(np.ascontiguousarray(vecs), all_ids[keep])

    def search(self, vec: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self.ntotal == 0 or k <= 0:
            return []
        return self.search_many(np.asarray(vec).reshape(1, -1), k)[0]

    def search_many(self, vecs: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """Top-k (chunk id, score) for each row of vecs."""
        q = np.ascontiguousarray(vecs, dtype=np.float32).reshape(-1, self.dim)
        if self.ntotal == 0 or k <= 0:
            return [[] for _ in range(len(q))]
        fetch = min(k + len(self.deleted), int(self.index.ntotal))
        scores, ids = self.index.search(q, fetch)
        out = []
        for srow, irow in zip(scores, ids):
            hits = [(int(i), float(s)) for i, s in zip(irow, srow) if i >= 0 and int(i) not in self.deleted]
            out.append(hits[:k])
        return out

    def save(self, path: Path) -> None:
        """Atomic: write a temporary file, fsync, then rename over the target."""
        faiss = _faiss()
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        if self.impl == "hnsw":
            dead = np.array(sorted(self.deleted), dtype=np.int64)
            with open(tmp, "wb") as fh:
                fh.write(_HNSW_MAGIC + struct.pack("<Q", len(dead)) + dead.tobytes())
                fh.write(faiss.serialize_index(self.index).tobytes())
        else:
            faiss.write_index(self.index, str(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, dim: int, kind: str = "flat", mmap: bool | None = None, **kw) -> "VectorIndex":
        """Open a saved index. An IVF file over MMAP_BYTES (or with mmap=True / $QA_VECTOR_MMAP=1)
        is memory-mapped. The file's own structure decides the implementation; `kind` decides
        what it may become (e.g. an "auto" flat index converts to IVF when it grows)."""
        faiss = _faiss()
        path = Path(path)
        obj = cls(dim, kind, **kw) if kind in KINDS else cls(dim, "flat", **kw)
        with open(path, "rb") as fh:
            head = fh.read(len(_HNSW_MAGIC) + 8)
        if head.startswith(_HNSW_MAGIC):
            data = np.fromfile(path, dtype=np.uint8)
            (n_dead,) = struct.unpack("<Q", data[len(_HNSW_MAGIC) : len(_HNSW_MAGIC) + 8].tobytes())
            off = len(_HNSW_MAGIC) + 8
            obj.deleted = set(np.frombuffer(data[off : off + 8 * n_dead].tobytes(), dtype=np.int64).tolist())
            idx = faiss.deserialize_index(data[off + 8 * n_dead :])
            impl = "hnsw"
        else:
            if mmap is None:
                env = os.environ.get("QA_VECTOR_MMAP", "")
                mmap = env == "1" or (env != "0" and path.stat().st_size > MMAP_BYTES)
            impl = "ivf" if head[:2] == b"Iw" else "flat"  # FAISS fourcc: Iw.. = an IVF index
            if impl == "ivf" and mmap:
                idx = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)
                obj.mmapped = True
            else:
                idx = faiss.read_index(str(path))
        if idx.d != dim:
            raise ValueError(f"vector file has dimension {idx.d}, expected {dim}")
        if impl == "flat" and not isinstance(idx, faiss.IndexIDMap2):
            raise ValueError(f"vector file holds an unexpected index type {type(idx).__name__}")
        obj.index, obj.impl = idx, impl
        if (impl == "hnsw") != (kind == "hnsw") or (impl == "ivf" and kind == "flat"):
            raise ValueError(f"vector file holds a '{impl}' index, configured kind is '{kind}'")
        obj._set_search_params()
        obj._maybe_upgrade()
        return obj


def make_vector_index(dim: int, kind: str = "flat", **kw) -> VectorIndex:
    return VectorIndex(dim, kind, **kw)
