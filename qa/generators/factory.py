"""make_generator(name, runtime): one shared instance per (model, runtime) in the process.

name: "qwen2.5-0.5b" (default), "gemma3-270m", "smollm2-135m" (packaged GGUF files), a path to a
.gguf file, or a local transformers model folder (or a cached hub id: transformers only).
runtime: "auto" (default, or $QA_GENERATOR_RUNTIME), "openvino", "llama.cpp" or "transformers".
"auto" (measured, docs/readers.md): OpenVINO for GGUF files of the architectures openvino-genai
reads (qwen2, llama, qwen3: Qwen 0.5B, SmolLM2), llama.cpp for other GGUF files (Gemma 3), each only
when installed and able to load the file, else transformers (float32; always for model folders).
"""
from __future__ import annotations

import importlib
import logging
import threading
from pathlib import Path

from ..config import DEFAULT_GENERATOR, env
from .base import Generator
from .weights import PACKAGED, gguf_path

log = logging.getLogger(__name__)

ALIASES = {
    "gemma": "gemma3-270m", "gemma3": "gemma3-270m", "gemma3-270m": "gemma3-270m",
    "smollm2": "smollm2-135m", "smollm2-135m": "smollm2-135m", "smollm": "smollm2-135m",
    "qwen": "qwen2.5-0.5b", "qwen2.5": "qwen2.5-0.5b", "qwen2.5-0.5b": "qwen2.5-0.5b",
}
RUNTIMES = {
    "auto": "auto",
    "llama.cpp": "llama.cpp", "llamacpp": "llama.cpp", "llama-cpp": "llama.cpp", "gguf": "llama.cpp",
    "transformers": "transformers", "hf": "transformers", "torch": "transformers",
    "openvino": "openvino", "ov": "openvino",
}


def canonical(name: str | None) -> tuple[str, str]:
    """(the model's canonical name, its format: "gguf" or "transformers")."""
    name = (name or DEFAULT_GENERATOR).strip()
    name = ALIASES.get(name.lower(), name)
    if name in PACKAGED:
        return name, "gguf"
    p = Path(name).expanduser()
    if name.endswith(".gguf"):
        if not p.is_file():
            raise FileNotFoundError(f"generator file not found: {name}")
        return str(p.resolve()), "gguf"
    if p.is_dir():
        return str(p.resolve()), "transformers"
    if "/" in name and not name.startswith((".", "/", "~")):  # a hub id already in the local cache
        return name, "transformers"
    raise ValueError(
        f"unknown generator '{name}': use {', '.join(PACKAGED)}, a .gguf file, or a local transformers model folder"
    )


def model_path(name: str, fmt: str) -> Path | str:
    return gguf_path(name) if name in PACKAGED else (Path(name) if fmt == "gguf" or Path(name).exists() else name)


def llama_cpp_available() -> bool:
    from .llamacpp import available

    return available()


def openvino_available() -> bool:
    from .ov import available

    return available()


def auto_order(name: str, fmt: str) -> list[str]:
    """The runtimes "auto" tries, fastest first (docs/readers.md): OpenVINO for the GGUF
    architectures its reader knows, then llama.cpp for any GGUF file, then transformers."""
    if fmt != "gguf":
        return ["transformers"]
    order = []
    path = model_path(name, fmt)  # a missing or corrupted packaged file fails here, whatever the runtime
    if openvino_available():
        from .ov import ARCHITECTURES
        from .weights import gguf_architecture

        if gguf_architecture(Path(path)) in ARCHITECTURES:
            order.append("openvino")
    if llama_cpp_available():
        order.append("llama.cpp")
    return order + ["transformers"]


# the runtimes that read GGUF files: (module, class, the package it needs)
GGUF_RUNTIMES = {
    "openvino": (".ov", "OpenVINOGenerator", "openvino-genai"),
    "llama.cpp": (".llamacpp", "LlamaCppGenerator", "llama-cpp-python"),
}


def build(name: str, fmt: str, runtime: str, **kw) -> Generator:
    if runtime in GGUF_RUNTIMES:
        module, cls, package = GGUF_RUNTIMES[runtime]
        if fmt != "gguf":
            raise ValueError(f"runtime {runtime} reads GGUF files; '{name}' is a transformers model")
        mod = importlib.import_module(module, __package__)
        if not mod.available():
            raise RuntimeError(f"runtime {runtime} needs {package} (make install)")
        return getattr(mod, cls)(name, model_path(name, fmt), **kw)
    if runtime == "transformers":
        from .hf import HFGenerator

        return HFGenerator(name, model_path(name, fmt), **kw)
    if runtime == "auto":
        *faster, last = auto_order(name, fmt)
        for rt in faster:
            try:
                return build(name, fmt, rt, **kw)
            except Exception as exc:  # a tensor type or file it cannot read
                log.warning("%s cannot run %s (%s); trying the next runtime", rt, name, exc)
        return build(name, fmt, last, **kw)
    raise ValueError(f"unknown runtime '{runtime}' (auto, openvino, llama.cpp, transformers)")


_CACHE: dict[tuple[str, str], Generator] = {}
_CACHE_LOCK = threading.Lock()
_BUILD_LOCKS: dict[tuple[str, str], threading.Lock] = {}


def make_generator(name: str | None = None, runtime: str | None = None) -> Generator:
    """The shared generator for (name, runtime): each model loads once per process."""
    rt = RUNTIMES.get((runtime or env().generator_runtime or "auto").lower())
    if rt is None:
        raise ValueError(f"unknown runtime '{runtime}' (auto, openvino, llama.cpp, transformers)")
    key_name, fmt = canonical(name)
    key = (key_name, rt)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        lock = _BUILD_LOCKS.setdefault(key, threading.Lock())
    with lock:  # one load per key; other models may load meanwhile
        if key in _CACHE:
            return _CACHE[key]
        if rt == "auto":  # the runtime auto would pick may be loaded already
            for r in auto_order(key_name, fmt)[:1]:
                if (key_name, r) in _CACHE:
                    _CACHE[key] = _CACHE[(key_name, r)]
                    return _CACHE[key]
        gen = build(key_name, fmt, rt)
        with _CACHE_LOCK:
            _CACHE[key] = gen
            _CACHE.setdefault((key_name, gen.runtime), gen)
        return gen
