"""Index settings in one place: what a new index is built with (stored with it, in its meta table,
and kept for its life) and the environment variables the index package reads (read once, at the
first use; `reload_env` reads them again)."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Generic, Mapping, TypeVar

E = TypeVar("E")


@dataclass(frozen=True)
class IndexSettings:
    """Chosen when an index is created; an existing index keeps its own (IndexStore reads them back)."""

    chunk_tokens: int = 200  # max embedder tokens per chunk, title included: a few sentences, well under MiniLM's 256
    overlap: int = 1  # sentences consecutive chunks share, so an answer across a boundary is whole in one of them
    vector_kind: str = "auto"  # FAISS index: exact until it is large, then IVF-SQ8, then IVF-PQ (index/vectors/ivf.py)


DEFAULTS = IndexSettings()
CHUNK_TOKENS = DEFAULTS.chunk_tokens


@dataclass(frozen=True)
class IndexEnv:
    """The environment variables of the index package (None: not set)."""

    index_dir: str | None = None  # QA_INDEX_DIR: the default index folder (else indexes/default)
    cache_dir: str | None = None  # QA_CACHE_DIR: converted models and measured choices, the readers' too (else ~/.cache/newsqa)
    embed_backend: str | None = None  # QA_EMBED_BACKEND: the embedder runtime (torch, onnx, onnx-int8, openvino-int8) instead of the measured or recorded one
    embed_threads: int | None = None  # QA_EMBED_THREADS: the embedder's threads (else every core); a Ray embedding actor gets its share
    vector_ivf_min: int | None = None  # QA_VECTOR_IVF_MIN: vectors before an "ivf" index trains (else ivf.IVF_MIN)
    vector_auto_threshold: int | None = None  # QA_VECTOR_AUTO_THRESHOLD: vectors an "auto" index keeps exact (else ivf.AUTO_THRESHOLD)
    vector_pq_threshold: int | None = None  # QA_VECTOR_PQ_THRESHOLD: vectors from which an "auto" index holds PQ codes (else ivf.PQ_THRESHOLD)
    vector_mmap: bool | None = None  # QA_VECTOR_MMAP: 1 always memory-maps IVF files, 0 never (else past ivf.MMAP_BYTES)


def env_str(environ: Mapping[str, str], name: str) -> str | None:
    """The variable's value; None when unset or empty."""
    return environ.get(name) or None


def env_int(environ: Mapping[str, str], name: str, strict: bool = False) -> int | None:
    """The variable as a whole number; None when unset, or (unless strict) not a number."""
    value = env_str(environ, name)
    try:
        return None if value is None else int(value)
    except ValueError:
        if strict:
            raise ValueError(f"${name} must be a whole number (got {value!r})") from None
        return None


def read_env(environ: Mapping[str, str] | None = None) -> IndexEnv:
    e = os.environ if environ is None else environ
    threads, mmap = (env_str(e, "QA_EMBED_THREADS") or "").strip(), env_str(e, "QA_VECTOR_MMAP")
    return IndexEnv(
        index_dir=env_str(e, "QA_INDEX_DIR"),
        cache_dir=env_str(e, "QA_CACHE_DIR"),
        embed_backend=env_str(e, "QA_EMBED_BACKEND"),
        embed_threads=int(threads) if threads.isdigit() else None,
        vector_ivf_min=env_int(e, "QA_VECTOR_IVF_MIN"),
        vector_auto_threshold=env_int(e, "QA_VECTOR_AUTO_THRESHOLD"),
        vector_pq_threshold=env_int(e, "QA_VECTOR_PQ_THRESHOLD"),
        vector_mmap={"1": True, "0": False}.get(mmap or ""),
    )


class EnvCache(Generic[E]):
    """A package's environment record, read at the first use and kept; reload() reads it again (a
    test that sets a variable), with `changes` on top (a Ray worker given its share of the CPUs)."""

    def __init__(self, read: Callable[[], E]):
        self._read, self._value = read, None

    def get(self) -> E:
        if self._value is None:
            self._value = self._read()
        return self._value

    def reload(self, **changes) -> E:
        self._value = replace(self._read(), **changes)
        return self._value


_ENV = EnvCache(read_env)
env = _ENV.get  # the index package's environment (IndexEnv)
reload_env = _ENV.reload  # read it again, e.g. reload_env(embed_threads=n)


def cache_dir() -> Path:
    """Where converted models and measured choices are kept ($QA_CACHE_DIR, else ~/.cache/newsqa)."""
    return Path(env().cache_dir or Path.home() / ".cache" / "newsqa")
