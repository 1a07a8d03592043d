"""transformers runtime (float32 on CPU). Reads a local transformers model folder, or a GGUF file
de-quantised once (~30-60 s) and cached as safetensors under $QA_CACHE_DIR/converted."""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np

from .base import Generator, default_threads, max_context
from .weights import cache_dir

log = logging.getLogger(__name__)


def offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from transformers.utils import logging as tlog

    tlog.set_verbosity_error()  # no deprecation chatter or progress bars in answers
    tlog.disable_progress_bar()


def converted_dir(gguf: Path) -> Path:
    st = gguf.stat()
    key = hashlib.sha1(f"{gguf.resolve()}:{st.st_size}:{int(st.st_mtime)}".encode()).hexdigest()[:12]
    return cache_dir() / "converted" / f"{gguf.stem}-{key}"


def load_gguf(gguf: Path):
    """Load a GGUF file with transformers, caching the de-quantised model as safetensors."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = converted_dir(gguf)
    if (out / "config.json").exists() and (out / ".complete").exists():
        tok = AutoTokenizer.from_pretrained(out, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32, local_files_only=True)
        return tok, model
    t0 = time.time()
    log.warning("converting %s for transformers (first start only, ~30-60 s)", gguf.name)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    try:
        # the weights are de-quantised to float32 already: drop the GGUF marker so they can be saved
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tmp = out.with_name(out.name + f".tmp{os.getpid()}")
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / ".complete").write_text(str(gguf))
        if out.exists():
            shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
        log.warning("converted in %.0fs; cached at %s", time.time() - t0, out)
    except Exception as exc:  # caching is an optimisation; the loaded model still works
        log.warning("could not cache converted model: %s", exc)
    return tok, model


class HFGenerator(Generator):
    """Greedy decoding with a KV cache through transformers, float32 on CPU."""

    runtime = "transformers"

    def __init__(self, name: str, path: Path | str, threads: int | None = None):
        super().__init__(name)
        offline()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(threads or default_threads())
        path = Path(path)
        if path.suffix == ".gguf":
            self.tokenizer, self.model = load_gguf(path)
        else:
            self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32, local_files_only=True)
        self.path = path
        self.model.eval()
        import inspect

        params = inspect.signature(self.model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        trained = int(getattr(self.model.config, "max_position_embeddings", 2048) or 2048)
        self.context_length = min(trained, max_context())
        eos = self.model.generation_config.eos_token_id if self.model.generation_config else None
        for e in (eos if isinstance(eos, list) else [eos]):
            if e is not None:
                self.eos_ids.add(int(e))
        if self.tokenizer.eos_token_id is not None:
            self.eos_ids.add(int(self.tokenizer.eos_token_id))
        probe = self.tokenizer("a")["input_ids"]  # does the tokenizer add a BOS token itself?
        bos = self.tokenizer.bos_token_id
        self.bos_id = int(bos) if bos is not None and probe and probe[0] == bos else None
        self._past = None

    def tokenize(self, text: str, add_bos: bool = False) -> list[int]:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if add_bos and self.bos_id is not None and (not ids or ids[0] != self.bos_id):
            ids = [self.bos_id] + ids
        return list(ids)

    def detokenize(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    @property
    def chat_template(self) -> str | None:
        return getattr(self.tokenizer, "chat_template", None) or None

    def _render_chat(self, template: str, messages: list[dict]) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def _forward(self, ids) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.model(input_ids=torch.tensor([ids]), **{self._cache_kw: self._past}, use_cache=True, logits_to_keep=1)
        self._past = out.past_key_values
        return out.logits[0, -1].float().numpy()

    def _prefill(self, ids: list[int], deadline: float | None) -> np.ndarray | None:
        self._past = None
        return self._forward(ids)

    def _step(self, token: int) -> np.ndarray:
        return self._forward([token])
