""""openvino-int8": the sentence-transformers network (transformer + mean pooling + L2 normalisation
in one graph) converted to OpenVINO and statically quantised to int8 with NNCF.

Static quantisation measures activation ranges once, on index/calibration.txt (passages written for
this project, no eval data), so unlike the dynamically quantised ONNX model a text's vector does not
depend on the texts it is batched with. OpenVINO runs the int8 matmuls on VNNI where the CPU has it
and the remaining ops in bf16 where the CPU supports it; without VNNI it is slower than ONNX
Runtime's int8 (see index/embedder/choice.py).

Measured on 1,000 BBC chunks, 2 cores (AMD EPYC, AVX-512 VNNI/BF16): 117-132 chunks/s, against 88
for the ONNX int8 model, 47 for fp32 and about 31 for plain sentence-transformers; cosine to the
torch embeddings 0.997 mean, 0.992 min (ONNX int8: 0.994 / 0.986). Calibrating on 300 BBC chunks
or 300 Wikipedia paragraphs instead gave the same agreement (0.997 / 0.991-0.993).
"""
from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from .base import Feeds, Runtime, calibration_texts


@functools.cache
def telemetry_off() -> None:
    """NNCF and the OpenVINO model converter (imported by `import openvino` itself) report usage to
    Google Analytics unless the user has opted out: they write a client id to ~/intel and send
    events. Nothing leaves this machine: decline for this process, before either is imported
    (once per process, first thing where openvino is imported: here and in qa/generators/ov.py).
    The user's own setting is not touched; `import index` alone imports none of this."""
    try:
        from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker
    except ImportError:  # no telemetry package: nothing to turn off
        return
    OptInChecker.check = lambda self, *args, **kwargs: ConsentCheckResult.DECLINED


class OpenVINOInt8Runtime(Runtime):
    """One compiled model and one infer request. Not thread-safe on its own; the Embedder calls it
    under its lock."""

    backend = "openvino-int8"
    cache = "openvino"
    model_file = "model.int8.xml"
    min_cosine = 0.98

    def __init__(self, f: Path, threads: int):
        telemetry_off()
        import openvino as ov

        core = ov.Core()
        cfg = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": int(threads)}
        if int(threads) < (os.cpu_count() or 1):
            # a process given part of the cores (a Ray embedding actor, $QA_EMBED_THREADS): OpenVINO
            # would pin its threads to the first cores, the same ones in every such process
            cfg["ENABLE_CPU_PINNING"] = False
        self.compiled = core.compile_model(str(f), "CPU", cfg)
        self.request = self.compiled.create_infer_request()
        self._core, self._file, self._cfg = core, f, cfg
        self._queue = None  # the throughput-compiled model's requests, made at the first many-batch call

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = self.request.infer({"input_ids": ids, "attention_mask": mask})
        return np.asarray(out[0], dtype=np.float32)

    def encode_all(self, feeds: Iterator[tuple[np.ndarray, dict]], out: np.ndarray) -> None:
        """Many batches (indexing) run side by side: the model compiled a second time for throughput
        (OpenVINO's streams, e.g. two of one thread on 2 cores), one request per stream, so no core
        waits at a layer's end for another (the same rate on an idle machine; 1.96x with one core busy,
        `make bench`'s busy_core_speedup).
        One batch (a question) keeps the latency-compiled request. The vectors are the same (bit for
        bit on the development machine)."""
        batches = list(feeds)  # a few small padded arrays: one add's or one question's
        if len(batches) < 2:
            return super().encode_all(iter(batches), out)
        queue = self._throughput_queue()

        def done(request, rows):
            out[rows] = request.get_output_tensor(0).data

        queue.set_callback(done)
        for rows, feed in batches:
            queue.start_async(feed, rows)
        queue.wait_all()

    def _throughput_queue(self):
        """The second compilation (hint THROUGHPUT, the same threads and pinning) and its request queue."""
        if self._queue is None:
            import openvino as ov

            cfg = {**self._cfg, "PERFORMANCE_HINT": "THROUGHPUT"}
            compiled = self._core.compile_model(str(self._file), "CPU", cfg)
            self._queue = ov.AsyncInferQueue(compiled, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        return self._queue

    def op_seconds(self, feeds: Iterator[tuple[np.ndarray, dict]]) -> dict[str, float]:
        """Seconds per kind of operation over the batches (OpenVINO's per-node counters), on a
        one-thread copy of the model: where the encoder's time goes (`make bench`)."""
        import openvino as ov

        cfg = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": 1, "PERF_COUNT": True}
        request = ov.Core().compile_model(str(self._file), "CPU", cfg).create_infer_request()
        seconds: dict[str, float] = {}
        for _, feed in feeds:
            request.infer(feed)
            for node in request.profiling_info:
                seconds[node.node_type] = seconds.get(node.node_type, 0.0) + node.real_time.total_seconds()
        return seconds

    @staticmethod
    def export(st_model, folder: Path, feeds: Feeds) -> None:
        export_openvino(st_model, folder, feeds)


def export_openvino(st_model, folder: Path, feeds: Feeds) -> Path:
    """Convert and quantise the loaded sentence-transformers model; write folder/model.int8.{xml,bin}.

    feeds turns texts into (rows, {"input_ids", "attention_mask"}) batches, the way the embedder
    batches, so calibration sees the shapes used at run time. Needs torch, openvino and nncf; no
    network."""
    telemetry_off()
    import nncf
    import openvino as ov
    import torch

    bert = st_model[0].auto_model.eval()
    uses_types = "token_type_ids" in getattr(st_model.tokenizer, "model_input_names", [])

    class _Pooled(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            extra = {"token_type_ids": torch.zeros_like(input_ids)} if uses_types else {}
            h = self.m(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            v = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(v, dim=-1)

    def inputs(texts: list[str]) -> list[dict]:
        return [feed for _, feed in feeds(texts)]

    example = {k: torch.from_numpy(v) for k, v in inputs(["hello world", "a somewhat longer sentence for the conversion trace"])[0].items()}
    with torch.no_grad():
        model = ov.convert_model(
            _Pooled(bert), example_input=example,
            input=[("input_ids", [-1, -1], ov.Type.i64), ("attention_mask", [-1, -1], ov.Type.i64)],
        )
    calib = inputs(calibration_texts())
    q = nncf.quantize(model, nncf.Dataset(calib), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(calib))
    folder.mkdir(parents=True, exist_ok=True)
    model_file = OpenVINOInt8Runtime.model_file
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        xml = Path(tmp) / model_file
        ov.save_model(q, str(xml), compress_to_fp16=False)
        os.replace(xml.with_suffix(".bin"), folder / "model.int8.bin")  # weights first: the .xml marks a complete pair
        os.replace(xml, folder / model_file)
    return folder / model_file
