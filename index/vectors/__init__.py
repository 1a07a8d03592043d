"""The FAISS vector index behind the store: exact (flat) by default, approximate by configuration.

Kinds (the store's `vector_kind`), one file each:
- "flat" (flat.py): exact inner-product search; every vector in RAM.
- "ivf"  (ivf.py):  inverted file with 8-bit codes, 4x less RAM; exact until it holds enough to train.
- "ivfpq" (ivf.py): inverted file with 4-bit PQ codes, 16x less RAM; candidates re-scored exactly
                    from the store's copy of the vectors.
- "auto" (ivf.py):  exact up to AUTO_THRESHOLD vectors, then IVF-SQ8, then IVF-PQ from PQ_THRESHOLD.
- "hnsw" (hnsw.py): graph search over exact vectors; deletes are filtered, then compacted.

The SQLite metadata is the source of truth (it keeps every vector); the FAISS file is a cache of
it, named after the store generation it reflects, written atomically (temporary file + fsync +
rename), and reconciled with SQLite on open (see IndexStore._reconcile), for every kind.

A new kind is a VectorIndex subclass (base.py) in a file of its own, added to KIND_CLASSES.
"""
from __future__ import annotations

import inspect

from .base import VectorIndex
from .flat import FlatIndex
from .hnsw import EF_SEARCH, HNSW_M, HNSWIndex
from .ivf import AUTO_THRESHOLD, IVF_MIN, MMAP_BYTES, PQ_THRESHOLD, RECALL_TARGET, RERANK, TRAIN_SAMPLE, AutoIndex, IVFIndex, IVFPQIndex, calibrate_nprobe, ivf_nlist

KIND_CLASSES: dict[str, type[VectorIndex]] = {c.kind: c for c in (FlatIndex, IVFIndex, HNSWIndex, AutoIndex, IVFPQIndex)}
KINDS = tuple(KIND_CLASSES)
# every kind's settings: one configuration serves all kinds, each taking the settings it has
OPTIONS = {p for c in KIND_CLASSES.values() for p in list(inspect.signature(c).parameters)[1:]}


def make_vector_index(dim: int, kind: str = "flat", **options) -> VectorIndex:
    """An empty index of `kind`. Settings of other kinds (e.g. ivf_min for "flat") are ignored."""
    cls = KIND_CLASSES.get(kind)
    if cls is None:
        raise ValueError(f"unknown vector index kind '{kind}' (available: {', '.join(KINDS)})")
    unknown = set(options) - OPTIONS
    if unknown:
        raise TypeError(f"unknown vector index setting(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(OPTIONS))})")
    own = inspect.signature(cls).parameters
    return cls(dim, **{k: v for k, v in options.items() if k in own})


def file_kind(head: bytes) -> str:
    """Which kind wrote a vector file, from its first bytes (the first registered kind that matches)."""
    for kind, cls in KIND_CLASSES.items():
        if head.startswith(cls.signature):
            return kind
    raise ValueError(f"not a vector index file (it begins {head[:4]!r})")


__all__ = [
    "VectorIndex", "FlatIndex", "IVFIndex", "IVFPQIndex", "AutoIndex", "HNSWIndex", "KINDS", "KIND_CLASSES",
    "make_vector_index", "file_kind", "ivf_nlist", "calibrate_nprobe",
    "AUTO_THRESHOLD", "PQ_THRESHOLD", "RERANK", "IVF_MIN", "MMAP_BYTES", "TRAIN_SAMPLE", "RECALL_TARGET", "HNSW_M", "EF_SEARCH",
]
