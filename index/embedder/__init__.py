"""Sentence embedder: the packaged all-MiniLM-L6-v2 by default, any local sentence-transformers folder by config.

Backends (`backend=` or $QA_EMBED_BACKEND), one file each:
- "torch" (torch_runtime.py): sentence-transformers on PyTorch, the reference.
- "onnx", "onnx-int8" (onnx_runtime.py): exported to ONNX and run by ONNX Runtime, fp32 (identical
  embeddings) or with int8 dynamically quantised weights (cosine ~0.994 to torch).
- "openvino-int8" (openvino_runtime.py): statically quantised to int8 with NNCF and run by OpenVINO
  (cosine 0.997; a text's vector does not depend on its batch); fast where the CPU has VNNI.
- "auto" (default; choice.py): the converted runtime measured fastest on this CPU, measured once and
  recorded, where the model is a plain Transformer + mean pooling (+ Normalize) stack; else "torch".
And one embedder that is not a model: the name "hash-ngram" (hashing.py) gives hashed word and
character n-grams, with no model to load. It is for tests and offline smoke runs, never for answers.
An index remembers the backend it was built with, and its queries use the same one. Measured on the
eval (news dev set, 1,000 SQuAD questions), the int8 runtimes retrieve, answer, decline and cite as
the exact embeddings do.

A converted runtime (base.Runtime) is exported once from the local model folder, without network,
into $QA_CACHE_DIR/<runtime>/<model-key>/ (default ~/.cache/newsqa), checked against torch once,
then opened from there. A new runtime is a Runtime subclass in a file of its own, added to RUNTIMES.
"""
from __future__ import annotations

import threading

from ..config import env
from .base import CALIBRATION_FILE, CHECK_TEXTS, DEFAULT_EMBEDDER, Runtime, cache_dir, calibration_texts, convertible, resolve_model_path
from .encoder import BATCH_TOKENS, Embedder, TokenCounter
from .hashing import HashingEmbedder
from .onnx_runtime import OnnxInt8Runtime, OnnxRuntime, export_onnx
from .openvino_runtime import OpenVINOInt8Runtime, export_openvino, telemetry_off

# most exact first: the order in which "auto" settles a tie (index/embedder/choice.py)
RUNTIMES: dict[str, type[Runtime]] = {c.backend: c for c in (OnnxRuntime, OpenVINOInt8Runtime, OnnxInt8Runtime)}
BACKENDS = ("auto", "torch", *RUNTIMES)
MIN_COSINE = {b: c.min_cosine for b, c in RUNTIMES.items()}
# embedders by name that load no model; each has its one backend, and a backend asked for is ignored
MODEL_FREE: dict[str, type[Embedder]] = {"hash-ngram": HashingEmbedder}

_CACHE: dict[tuple[str, str], Embedder] = {}
_CACHE_LOCK = threading.Lock()


def make_embedder(name: str = DEFAULT_EMBEDDER, backend: str | None = None) -> Embedder:
    """Factory with a process-wide cache: the model loads once and is shared."""
    name = name or DEFAULT_EMBEDDER
    if name in MODEL_FREE:
        key = (name, "")
    else:
        key = (name, (backend or env().embed_backend or "auto").lower())
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = MODEL_FREE[name](name) if name in MODEL_FREE else Embedder(key[0], backend=key[1])
        return _CACHE[key]


__all__ = [
    "Embedder", "TokenCounter", "HashingEmbedder", "MODEL_FREE", "make_embedder", "Runtime", "RUNTIMES", "BACKENDS", "DEFAULT_EMBEDDER", "BATCH_TOKENS",
    "CHECK_TEXTS", "MIN_COSINE", "CALIBRATION_FILE", "cache_dir", "calibration_texts", "convertible",
    "resolve_model_path", "export_onnx", "export_openvino", "telemetry_off",
    "OnnxRuntime", "OnnxInt8Runtime", "OpenVINOInt8Runtime",
]
