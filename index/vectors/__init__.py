"""The FAISS vector index behind the store: exact (flat) by default, approximate by configuration.

Kinds (the store's `vector_kind`), one file each:
- "flat" (flat.py): exact inner-product search; every vector in RAM.
- "ivf"  (ivf.py):  inverted file with 8-bit codes, 4x less RAM; exact until it holds enough to train.
- "auto" (ivf.py):  exact up to AUTO_THRESHOLD vectors, then converted once to IVF.
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
from .ivf import AUTO_THRESHOLD, IVF_MIN, MMAP_BYTES, RECALL_TARGET, TRAIN_SAMPLE, AutoIndex, IVFIndex, calibrate_nprobe, ivf_nlist

KIND_CLASSES: dict[str, type[VectorIndex]] = {c.kind: c for c in (FlatIndex, IVFIndex, HNSWIndex, AutoIndex)}
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
    raise ValueError("not a vector index file")


__all__ = [
    "VectorIndex", "FlatIndex", "IVFIndex", "AutoIndex", "HNSWIndex", "KINDS", "KIND_CLASSES",
    "make_vector_index", "file_kind", "ivf_nlist", "calibrate_nprobe",
    "AUTO_THRESHOLD", "IVF_MIN", "MMAP_BYTES", "TRAIN_SAMPLE", "RECALL_TARGET", "HNSW_M", "EF_SEARCH",
]
