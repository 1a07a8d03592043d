"""The Embedder: text -> L2-normalised float32 vectors, with the model's own tokenizer and token limit.

Every runtime batches by length: the texts of one call are tokenised in one fast-tokenizer call,
sorted by token count and packed into batches under a token budget, so little padding is computed
(torch: sentence-transformers' own batching).
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Iterator

import numpy as np

from ..config import env
from . import torch_runtime
from .base import CHECK_TEXTS, DEFAULT_EMBEDDER, Runtime, cache_dir, convertible, resolve_model_path
from .choice import choose

log = logging.getLogger(__name__)

BATCH_TOKENS = 2048  # padded tokens per forward pass (measured best of 1k-8k on 2 cores)


class Tokens:
    """What chunking needs of an embedder: its tokenizer's counts and its token limit
    (self.tokenizer, self.max_seq_length and self._lock set by the subclass)."""

    def count_tokens(self, text: str) -> int:
        with self._lock:  # a fast tokenizer's truncation/padding state is shared: never call it from two threads at once
            return len(self.tokenizer(text, add_special_tokens=False, truncation=False, verbose=False)["input_ids"])

    def count_tokens_batch(self, texts: list[str]) -> list[int]:
        """Token counts of many texts in one fast-tokenizer call."""
        if not texts:
            return []
        with self._lock:
            enc = self.tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)
        return [len(x) for x in enc["input_ids"]]

    @property
    def token_budget(self) -> int:
        """Tokens of content that fit without truncation (room kept for [CLS]/[SEP])."""
        return self.max_seq_length - 2


class TokenCounter(Tokens):
    """An embedder's tokens without its model: a converted-runtime model's tokenizer stands alone
    (Ray's chunking actors count tokens and never embed). TokenCounter.of(name) falls back to the
    whole embedder for a model whose tokenizer does not (a torch-only model)."""

    def __init__(self, name: str, tokenizer, max_seq_length: int):
        self.name, self.tokenizer, self.max_seq_length = name, tokenizer, int(max_seq_length)
        self._lock = threading.Lock()

    @classmethod
    def of(cls, name: str = DEFAULT_EMBEDDER) -> Tokens:
        from . import make_embedder

        path = resolve_model_path(name or DEFAULT_EMBEDDER)
        spec = convertible(path)
        if spec is None:
            return make_embedder(name)
        from transformers import AutoTokenizer

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        return cls(name, AutoTokenizer.from_pretrained(path, local_files_only=True), spec["max_seq_length"])


class Embedder(Tokens):
    """Encodes text to L2-normalised float32 vectors; knows its own token limit."""

    def __init__(self, name: str = DEFAULT_EMBEDDER, device: str = "cpu", batch_size: int = 64, backend: str | None = None):
        from . import BACKENDS, RUNTIMES

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        self.name = name or DEFAULT_EMBEDDER
        self.device = device
        self.path = resolve_model_path(self.name)
        if not Path(self.path).exists() and "/" not in self.path:
            raise RuntimeError(f"embedder model '{self.path}' not found: give a local folder or a cached hub id")
        self.batch_size = batch_size
        self.threads = torch_runtime.set_threads()
        self._lock = threading.Lock()
        self._model = None
        self._runner: Runtime | None = None  # None: the torch model itself
        want = (backend or env().embed_backend or "auto").lower()
        if want not in BACKENDS:
            raise ValueError(f"unknown embedder backend '{want}' (available: {', '.join(BACKENDS)})")
        self.requested_backend = want
        self.backend = "torch"
        self.spec = convertible(self.path) if device == "cpu" else None  # None: torch only
        spec = self.spec if want != "torch" else None
        if spec is not None:
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            self.max_seq_length = int(spec["max_seq_length"])
            self.dim = int(spec["dim"])
            if want == "auto":
                self.backend, self._runner = choose(self, tuple(RUNTIMES))
            else:
                try:
                    self._runner, self.backend = self.open_runtime(want), want
                except Exception as exc:
                    log.warning("embedder backend %s unavailable (%s)", want, exc)
        if self._runner is None:
            m = self.model
            self.tokenizer = m.tokenizer
            self.max_seq_length = int(m.max_seq_length or 256)
            self.dim = torch_runtime.dimension(m)

    # ---- the torch model (reference; also the source of the conversions) ---------------------
    @property
    def model(self):
        if self._model is None:
            self._model = torch_runtime.load_model(self.path, self.device)
        return self._model

    # ---- converted models: export once, cache, check against torch once ----------------
    def open_runtime(self, backend: str) -> Runtime:
        """The converted runtime `backend` for this model (needs a convertible model)."""
        from . import RUNTIMES

        if self.spec is None:
            raise RuntimeError(f"model {self.path} runs on torch only (not a plain Transformer + mean pooling stack, or not on CPU)")
        cls = RUNTIMES[backend]
        folder = cache_dir() / cls.cache / f"{Path(self.path).name}-{self.spec['key']}"
        f = folder / cls.model_file
        if not f.exists():
            cls.export(self.model, folder, self._feeds)
        runner = cls(f, self.threads)
        ok = folder / (f.name + ".checked")
        if not ok.exists():  # one-off check of the converted model against the torch reference
            ref = torch_runtime.encode(self.model, CHECK_TEXTS, self.batch_size)
            worst = float((self._encode_with(runner, CHECK_TEXTS) * ref).sum(1).min())
            if worst < cls.min_cosine:
                raise RuntimeError(f"converted model disagrees with torch (cosine {worst:.4f})")
            ok.write_text(f"{worst:.6f}\n")
        return runner

    # ---- encoding ----------------------------------------------------------------------
    def _batches(self, lengths: list[int], batch_size: int) -> list[np.ndarray]:
        """Indices sorted longest first, cut into batches of <= batch_size texts and <= BATCH_TOKENS padded tokens."""
        order = np.argsort(-np.asarray(lengths), kind="stable")
        out, cur, width = [], [], 0
        for i in order:
            w = max(width, lengths[i])
            if cur and (len(cur) >= batch_size or w * (len(cur) + 1) > BATCH_TOKENS):
                out.append(np.array(cur))
                cur, w = [], lengths[i]
            cur.append(i)
            width = w
        if cur:
            out.append(np.array(cur))
        return out

    def _feeds(self, texts: list[str], batch_size: int | None = None) -> Iterator[tuple[np.ndarray, dict]]:
        """Token-budgeted, length-sorted batches, one at a time: (row indices, model inputs)."""
        enc = self.tokenizer(list(texts), truncation=True, max_length=self.max_seq_length, verbose=False)
        ids_all = enc["input_ids"]
        lengths = [len(x) for x in ids_all]
        pad = self.tokenizer.pad_token_id or 0
        for idx in self._batches(lengths, batch_size or self.batch_size):
            width = max(lengths[i] for i in idx)
            ids = np.full((len(idx), width), pad, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for r, i in enumerate(idx):
                ids[r, : lengths[i]] = ids_all[i]
                mask[r, : lengths[i]] = 1
            yield idx, {"input_ids": ids, "attention_mask": mask}

    def _encode_with(self, runner: Runtime, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        runner.encode_all(self._feeds(texts, batch_size), out)
        return out

    def encode(self, texts: list[str], batch_size: int | None = None, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # one forward pass at a time: it already uses every core
            if self._runner is not None:
                vecs = self._encode_with(self._runner, texts, batch_size)
            else:
                vecs = torch_runtime.encode(self.model, texts, batch_size or self.batch_size, show_progress)
        return np.ascontiguousarray(vecs, dtype=np.float32)
