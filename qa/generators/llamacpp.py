"""llama.cpp runtime (llama-cpp-python): reads GGUF files as they are, quantised weights and all.

The KV cache is kept between calls and reused for the longest common prefix of the new prompt,
so the fixed few-shot examples at the head of every prompt, and a retry of the same prompt
(ban_first), are read once."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .base import Generator, default_threads, max_context

log = logging.getLogger(__name__)


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


class LlamaCppGenerator(Generator):
    runtime = "llama.cpp"

    def __init__(self, name: str, path: Path | str, threads: int | None = None, n_ctx: int | None = None, n_batch: int = 512):
        super().__init__(name)
        import llama_cpp
        from llama_cpp import Llama

        self._lc = llama_cpp
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(path)
        threads = threads or default_threads()
        from llama_cpp._utils import suppress_stdout_stderr

        with suppress_stdout_stderr(disable=False):  # llama.cpp's own load messages
            self.llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx or max_context(),
                n_batch=n_batch,
                n_ubatch=n_batch,
                n_threads=threads,
                n_threads_batch=threads,
                swa_full=True,  # keep every position of sliding-window layers, so a cached prefix stays reusable
                logits_all=False,
                verbose=False,
            )
        self.path = path
        trained = int(self._lc.llama_model_n_ctx_train(self.llm._model.model))
        self.context_length = min(self.llm.n_ctx(), trained)
        self._n_vocab = int(self.llm.n_vocab())
        vocab = self.llm._model.vocab
        eos = self.llm.token_eos()
        if eos is not None and eos >= 0:
            self.eos_ids.add(int(eos))
        eot = int(self._lc.llama_vocab_eot(vocab))
        if eot >= 0:
            self.eos_ids.add(eot)
        for tid in self._special_eog(vocab):
            self.eos_ids.add(tid)
        bos = int(self.llm.token_bos())
        self.bos_id = bos if bos >= 0 and bool(self._lc.llama_vocab_get_add_bos(vocab)) else None
        self._template = self.llm.metadata.get("tokenizer.chat_template") or None
        self._cached: list[int] = []  # the tokens whose keys and values are in the KV cache

    def _special_eog(self, vocab) -> list[int]:
        """Tokens the vocabulary marks end-of-generation (<|im_end|>, <end_of_turn>, ...)."""
        out = []
        fn = getattr(self._lc, "llama_vocab_is_eog", None)
        if fn is None:
            return out
        for text in ("<|im_end|>", "<|endoftext|>", "<end_of_turn>", "<|eot_id|>"):
            ids = self.llm.tokenize(text.encode(), add_bos=False, special=True)
            if len(ids) == 1 and fn(vocab, ids[0]):
                out.append(ids[0])
        return out

    # ---- tokens ------------------------------------------------------------------------------
    def tokenize(self, text: str, add_bos: bool = False) -> list[int]:
        ids = self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if add_bos and self.bos_id is not None and (not ids or ids[0] != self.bos_id):
            ids = [self.bos_id] + ids
        return ids

    def detokenize(self, ids: list[int]) -> str:
        data = self.llm._model.detokenize([t for t in ids if t not in self.eos_ids], special=False)
        return data.decode("utf-8", errors="replace")

    @property
    def chat_template(self) -> str | None:
        return self._template

    def _special_text(self, tid: int | None) -> str:
        if tid is None:
            return ""
        return self.llm._model.token_to_piece(tid, special=True).rstrip(b"\0").decode("utf-8", errors="replace")

    def _eos_for_template(self) -> int | None:
        eos = self.llm.token_eos()
        return int(eos) if eos is not None and eos >= 0 else None

    # ---- forward -----------------------------------------------------------------------------
    def _logits(self) -> np.ndarray:
        ptr = self.llm._ctx.get_logits_ith(-1)
        return np.ctypeslib.as_array(ptr, shape=(self._n_vocab,)).copy()

    def _eval(self, ids: list[int]) -> None:
        self.llm.eval(ids)  # removes cached positions >= n_tokens, then decodes in n_batch chunks
        self._cached += list(ids)

    def _prefill(self, ids: list[int], deadline: float | None) -> np.ndarray | None:
        import time

        # reuse the cached prefix (at least one token must be read to get logits)
        n = 0
        limit = min(len(ids) - 1, len(self._cached), self.llm.n_tokens)
        while n < limit and self._cached[n] == ids[n]:
            n += 1
        if n < self.llm.n_tokens and not self.llm._ctx.kv_cache_seq_rm(-1, n, -1):
            n = 0
            self.llm._ctx.kv_cache_clear()
        self.llm.n_tokens = n
        self._cached = list(ids[:n])
        rest = ids[n:]
        step = self.llm.n_batch
        for i in range(0, len(rest), step):
            if deadline is not None and i and time.monotonic() >= deadline:
                return None
            self._eval(rest[i : i + step])
        return self._logits()

    def _step(self, token: int) -> np.ndarray:
        self._eval([token])
        return self._logits()
