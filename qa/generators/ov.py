"""OpenVINO runtime: a GGUF file converted once to an OpenVINO model (int8/int4 weights kept) by
openvino-genai's GGUF reader, then run with OpenVINO directly so that every step's logits are ours.

openvino-genai reads GGUF files of the llama, qwen2 and qwen3 architectures with F32/F16/Q8_0/
Q4_0/Q4_1/Q4_K/Q6_K tensors. Other tensor types (the Qwen 0.5B file's Q5_0) are first re-quantised
to Q8_0 with gguf-py (once, ~45 s). The converted model is cached under
$QA_CACHE_DIR/openvino/<file>-<key>/ (written to a temporary folder, then renamed)."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np

from index.embedder import telemetry_off  # nothing leaves the machine: before openvino is imported

from ..config import env
from .base import Generator, default_threads, max_context
from .weights import cache_dir, gguf_architecture

log = logging.getLogger(__name__)

ARCHITECTURES = {"llama", "qwen2", "qwen3"}
READABLE_TYPES = {"F32", "F16", "Q8_0", "Q4_0", "Q4_1", "Q4_K", "Q6_K"}
END_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>", "<|end|>")
PREFILL_CHUNK = 2048  # the prompt in one piece: splitting it costs (512: +25% on 700 tokens)


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("openvino_genai") is not None and importlib.util.find_spec("openvino") is not None


class Unsupported(RuntimeError):
    """openvino-genai cannot read this GGUF file."""


def _field(r, key, default=None):
    f = r.fields.get(key)
    return f.contents() if f is not None else default


def inspect_gguf(gguf: Path) -> dict:
    """What the conversion needs to know: architecture, tensor types, special tokens, template."""
    from gguf import GGUFReader

    r = GGUFReader(str(gguf))
    arch = _field(r, "general.architecture")
    if arch not in ARCHITECTURES:
        raise Unsupported(f"openvino-genai cannot read GGUF architecture '{arch}' (reads {', '.join(sorted(ARCHITECTURES))})")
    types = sorted({t.tensor_type.name for t in r.tensors})
    tokens = _field(r, "tokenizer.ggml.tokens") or []
    index = {t: i for i, t in enumerate(tokens) if t in END_TOKENS}
    eos = {int(x) for x in (_field(r, "tokenizer.ggml.eos_token_id"), _field(r, "tokenizer.ggml.eot_token_id")) if x is not None}
    eos |= set(index.values())
    bos = _field(r, "tokenizer.ggml.bos_token_id")
    return {
        "architecture": arch,
        "tensor_types": types,
        "context_length": int(_field(r, f"{arch}.context_length", 2048) or 2048),
        "eos_ids": sorted(eos),
        "bos_id": int(bos) if bos is not None and bool(_field(r, "tokenizer.ggml.add_bos_token", False)) else None,
        "chat_template": _field(r, "tokenizer.chat_template"),
        "source": str(gguf),
    }


def requantise(src: Path, dst: Path, keep: set[str] = READABLE_TYPES) -> None:
    """Copy a GGUF file, re-quantising every tensor whose type is not in `keep` to Q8_0."""
    import gguf
    from gguf import GGMLQuantizationType as Q
    from gguf import GGUFReader, GGUFWriter, quants

    r = GGUFReader(str(src))
    w = GGUFWriter(str(dst), arch=r.fields["general.architecture"].contents(), endianess=r.endianess)
    for k, f in r.fields.items():
        if k.startswith("GGUF.") or k == "general.architecture":
            continue
        t = f.types[0]
        w.add_key_value(k, f.contents(), t, sub_type=f.types[-1] if t == gguf.GGUFValueType.ARRAY else None)
    for t in r.tensors:
        if t.tensor_type.name in keep:
            w.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)
        else:
            w.add_tensor(t.name, quants.quantize(quants.dequantize(t.data, t.tensor_type), Q.Q8_0), raw_dtype=Q.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def converted_dir(gguf: Path) -> Path:
    st = gguf.stat()
    key = hashlib.sha1(f"{gguf.resolve()}:{st.st_size}:{int(st.st_mtime)}".encode()).hexdigest()[:12]
    return cache_dir() / "openvino" / f"{gguf.stem}-{key}"


def convert(gguf: Path) -> Path:
    """The OpenVINO model folder for a GGUF file, converting it the first time."""
    out = converted_dir(gguf)
    if (out / ".complete").exists():
        return out
    arch = gguf_architecture(gguf)
    if arch is not None and arch not in ARCHITECTURES:  # cheap: the header only
        raise Unsupported(f"openvino-genai cannot read GGUF architecture '{arch}' (reads {', '.join(sorted(ARCHITECTURES))})")
    info = inspect_gguf(gguf)
    telemetry_off()
    import openvino_genai as ov_genai

    t0 = time.time()
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        src = tmp / "model.gguf"
        odd = [t for t in info["tensor_types"] if t not in READABLE_TYPES]
        if odd:
            log.warning("re-quantising %s tensors of %s to Q8_0 for OpenVINO (first start only)", "/".join(odd), gguf.name)
            requantise(gguf, src)
        else:
            src.symlink_to(gguf.resolve())
        log.warning("converting %s to OpenVINO (first start only)", gguf.name)
        pipe = ov_genai.LLMPipeline(str(src), "CPU", enable_save_ov_model=True)  # writes the model beside src
        del pipe
        src.unlink()
        if not (tmp / "openvino_model.xml").exists():
            raise Unsupported(f"openvino-genai did not write a model for {gguf.name}")
        (tmp / "gguf_info.json").write_text(json.dumps(info))
        (tmp / ".complete").write_text(str(gguf))
        if out.exists():
            shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.warning("converted in %.0fs; cached at %s", time.time() - t0, out)
    return out


def _last_token_logits(model) -> None:
    """Compute logits for the last position only (not a vocabulary-sized row for every prompt token)."""
    from openvino import opset13 as ops

    node = model.outputs[0].get_node().input_value(0).get_node()
    for _ in range(6):  # walk back to the vocabulary projection
        if node.get_type_name() == "MatMul":
            break
        node = node.input_value(0).get_node()
    else:
        return
    hidden = node.input_value(0)
    last = ops.gather(hidden, ops.constant(np.array([-1], dtype=np.int64)), ops.constant(np.array(1, dtype=np.int64)))
    node.input(0).replace_source_output(last.output(0))
    model.validate_nodes_and_infer_types()


class OpenVINOGenerator(Generator):
    runtime = "openvino"

    def __init__(self, name: str, path: Path | str, threads: int | None = None):
        super().__init__(name)
        telemetry_off()
        import openvino as ov
        import openvino_genai as ov_genai

        path = Path(path)
        folder = convert(path)
        info = json.loads((folder / "gguf_info.json").read_text())
        core = ov.Core()
        model = core.read_model(str(folder / "openvino_model.xml"))
        _last_token_logits(model)
        config = {"INFERENCE_NUM_THREADS": threads or default_threads(), "PERFORMANCE_HINT": "LATENCY"}
        if env().ov_precision:  # e.g. f32: OpenVINO computes in bf16 where the CPU has it (faster)
            config["INFERENCE_PRECISION_HINT"] = env().ov_precision
        self._compiled = core.compile_model(model, "CPU", config)
        self._req = self._compiled.create_infer_request()
        self.tokenizer = ov_genai.Tokenizer(str(folder))
        self.path = path
        self.folder = folder
        self.context_length = min(int(info["context_length"]), max_context())
        self.eos_ids = set(info["eos_ids"])
        self.bos_id = info["bos_id"]
        self._template = info.get("chat_template") or None
        self._pos = 0

    def tokenize(self, text: str, add_bos: bool = False) -> list[int]:
        ids = self.tokenizer.encode(text, add_special_tokens=False).input_ids.data[0].tolist()
        if add_bos and self.bos_id is not None and (not ids or ids[0] != self.bos_id):
            ids = [self.bos_id] + ids
        return [int(i) for i in ids]

    def detokenize(self, ids: list[int]) -> str:
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=True)

    @property
    def chat_template(self) -> str | None:
        return self._template

    def _special_text(self, tid: int | None) -> str:
        return "" if tid is None else self.tokenizer.decode([tid], skip_special_tokens=False)

    def _run(self, ids: list[int]) -> np.ndarray:
        n = len(ids)
        self._req.infer({
            "input_ids": np.array([ids], dtype=np.int64),
            "attention_mask": np.ones((1, self._pos + n), dtype=np.int64),
            "position_ids": np.arange(self._pos, self._pos + n, dtype=np.int64)[None],
            "beam_idx": np.zeros(1, dtype=np.int32),
        })
        self._pos += n
        return self._req.get_tensor("logits").data[0, -1].copy()

    def _prefill(self, ids: list[int], deadline: float | None) -> np.ndarray | None:
        self._req.reset_state()
        self._pos = 0
        logits = None
        for i in range(0, len(ids), PREFILL_CHUNK):
            if deadline is not None and i and time.monotonic() >= deadline:
                return None
            logits = self._run(ids[i : i + PREFILL_CHUNK])
        return logits

    def _step(self, token: int) -> np.ndarray:
        return self._run([token])
