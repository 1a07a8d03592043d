""""torch": sentence-transformers on PyTorch. The reference every converted runtime is checked
against and exported from, and the runtime for any model whose stack they do not reproduce."""
from __future__ import annotations

import os

import numpy as np

from ..config import env


def set_threads() -> int:
    """Use every core for intra-op parallelism (torch defaults to physical cores; make it explicit),
    or $QA_EMBED_THREADS of them (a Ray embedding actor is given the CPUs it reserved)."""
    want = env().embed_threads
    n = max(1, want) if want is not None else (os.cpu_count() or 1)
    try:
        import torch

        if torch.get_num_threads() < n or want is not None:
            torch.set_num_threads(n)
    except Exception:  # pragma: no cover - torch missing / already initialised
        pass
    return n


def load_model(path: str, device: str = "cpu"):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device=device, local_files_only=True)


def encode(model, texts: list[str], batch_size: int, show_progress: bool = False) -> np.ndarray:
    return model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=show_progress)


def dimension(model) -> int:
    return int(model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") else model.get_sentence_embedding_dimension())
