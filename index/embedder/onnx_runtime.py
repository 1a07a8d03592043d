""""onnx" and "onnx-int8": the transformer exported once to ONNX (fused attention) and run by ONNX
Runtime, mean pooling and normalisation in numpy.

- "onnx": identical embeddings to torch (fp32), ~1.4x the torch rate on 2 cores.
- "onnx-int8": weights dynamically quantised to int8 (per channel); embeddings within cosine ~0.994
  of torch. Activations are scaled per batch, so a text's vector moves slightly with the texts it is
  batched with (measured: cosine 0.996 mean, 0.994 min, batch of 40 vs alone). Its int8 matmuls
  do not need VNNI to be fast (see index/embedder/choice.py for the rates measured).
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from .base import Feeds, Runtime

log = logging.getLogger(__name__)


class OnnxRuntime(Runtime):
    backend = "onnx"
    cache = "onnx"
    model_file = "model.onnx"
    min_cosine = 0.9999

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

    @staticmethod
    def export(st_model, folder: Path, feeds: Feeds | None = None) -> None:
        export_onnx(st_model, folder)


class OnnxInt8Runtime(OnnxRuntime):
    backend = "onnx-int8"
    model_file = "model.int8.onnx"
    min_cosine = 0.98


def export_onnx(st_model, folder: Path) -> None:
    """Write model.onnx (fused for ONNX Runtime) and model.int8.onnx into folder, atomically.

    Works offline from the loaded sentence-transformers model; needs the `onnx` and `onnxruntime`
    packages. The attention is exported in its eager form so ONNX Runtime can fuse it."""
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
