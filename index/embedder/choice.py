"""The "auto" backend: the converted runtime measured fastest on the machine at hand.

A fixed order is wrong somewhere: the int8 runtimes' speed depends on the CPU's instructions.
Indexing rates (chunks/s, the same news chunks, 2 cores; `python -m bench`):

    CPU (2 cores)                      openvino-int8  onnx-int8  onnx fp32  torch
    AMD EPYC, AVX-512 VNNI + BF16      117-132        88         47         31
    AMD EPYC, AVX2, no AVX-512/VNNI    19.3           38.4       27.4       18.2

Rule: once per model and CPU, every candidate is opened (exported and checked first if needed) and
timed encoding the 24 longest passages of index/calibration.txt (~120-160 tokens, close to the
chunks indexing encodes; after a warm-up, passes interleaved across candidates, best pass kept). The fastest wins, except that a candidate within
TIE of it wins if it is more exact (the order of RUNTIMES: fp32 ONNX is exact; OpenVINO's static
int8 gives a text the same vector in any batch; ONNX int8 scales per batch). The choice, the rates and
the CPU's signature (model name, vector ISA flags, cores, runtime versions) are written to
cache_dir()/embedder-choice/<model>-<key>.json; a start on the same signature opens the recorded
runtime only, so a warm start measures nothing. A new CPU, runtime version or candidate measures
again (so does deleting the file). The cost is paid on a cold start: the two ONNX exports (~6 s on 2 cores,
beside ~30 s for OpenVINO's) and the timing (a few seconds). No candidate converts: torch.
`backend=` or $QA_EMBED_BACKEND naming a backend skips all this.
"""
from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import platform
import time
from pathlib import Path

from .base import Runtime, cache_dir, calibration_texts

log = logging.getLogger(__name__)

TIE = 0.10  # rates within 10% of the fastest count as a tie (2 shared cores measure that noisily)
PASSES = 3  # timed passes per candidate, the best kept


def cpu_signature() -> dict:
    """What the measured rates depend on: the CPU, its vector instructions, cores, runtime versions."""
    name, isa = platform.processor() or platform.machine(), []
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    name = value.strip()
                elif key.strip() == "flags":
                    isa = sorted(f for f in value.split() if f.startswith(("avx", "amx", "fma", "f16c", "sse4")))
                    break
    except OSError:  # not Linux: the processor name only
        pass
    sig = {"cpu": name, "isa": isa, "cores": os.cpu_count()}
    for pkg in ("onnxruntime", "openvino"):
        try:
            sig[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            sig[pkg] = None
    return sig


def pick(rates: dict[str, float]) -> str:
    """The fastest backend, or an earlier (more exact) one within TIE of it; rates in candidate order."""
    best = max(rates.values())
    return next(b for b, r in rates.items() if r >= (1 - TIE) * best)


def measure(emb, candidates: tuple[str, ...]) -> tuple[dict[str, float], dict[str, Runtime]]:
    """Open each candidate on emb's model and time it: ({backend: texts/s}, {backend: runtime}),
    in candidate order."""
    texts = sorted(calibration_texts(), key=len)[-24:]  # the longest: chunk-like batches, as indexing sees
    runners: dict[str, Runtime] = {}
    for b in candidates:
        try:
            runners[b] = emb.open_runtime(b)
            emb._encode_with(runners[b], texts[:8])  # warm-up: first-call allocations, kernel choice
        except Exception as exc:
            log.info("embedder backend %s unavailable (%s)", b, exc)
            runners.pop(b, None)
    best = {b: float("inf") for b in runners}
    for _ in range(PASSES):  # interleaved, so a burst of load elsewhere hits every candidate alike
        for b, r in runners.items():
            t0 = time.perf_counter()
            emb._encode_with(r, texts)
            best[b] = min(best[b], time.perf_counter() - t0)
    return {b: len(texts) / s for b, s in best.items()}, runners


def record_path(emb) -> Path:
    return cache_dir() / "embedder-choice" / f"{Path(emb.path).name}-{emb.spec['key']}.json"


def choose(emb, candidates: tuple[str, ...]) -> tuple[str, Runtime | None]:
    """(backend, runtime) for "auto": the recorded choice for this CPU, else the best of the
    candidates (most exact first) measured now."""
    f, sig = record_path(emb), cpu_signature()
    try:
        rec = json.loads(f.read_text())
    except (OSError, ValueError):
        rec = None
    if rec and rec.get("signature") == sig and rec.get("candidates") == list(candidates):
        try:
            return rec["backend"], emb.open_runtime(rec["backend"])
        except Exception as exc:
            log.info("recorded embedder backend %s unavailable (%s): measuring again", rec["backend"], exc)
    rates, runners = measure(emb, candidates)
    if not rates:
        return "torch", None
    backend = pick(rates)
    log.info("embedder backend auto -> %s (texts/s: %s)", backend, ", ".join(f"{b} {r:.1f}" for b, r in rates.items()))
    try:
        f.parent.mkdir(parents=True, exist_ok=True)
        tmp = f.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"backend": backend, "candidates": list(candidates), "texts_per_s": {b: round(r, 1) for b, r in rates.items()}, "signature": sig, "measured": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=1))
        os.replace(tmp, f)
    except OSError as exc:  # a read-only cache: measure again next start
        log.warning("could not record the embedder choice in %s (%s)", f, exc)
    return backend, runners[backend]
