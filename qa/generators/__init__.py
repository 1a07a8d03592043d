"""Local text generators ("readers"): one interface (base.Generator), one file per runtime
(ov.py: OpenVINO, llamacpp.py: llama.cpp, both from GGUF files; hf.py: transformers), the packaged
model files (weights.py) and a cached factory (factory.make_generator). Measured: docs/readers.md."""
from .base import ChatTemplateError, GenerationStats, Generator
from .factory import ALIASES, DEFAULT_GENERATOR, RUNTIMES, canonical, make_generator
from .weights import QWEN25_05B, ModelFileError, cache_dir, gguf_path

__all__ = [
    "ALIASES", "DEFAULT_GENERATOR", "RUNTIMES", "QWEN25_05B", "ChatTemplateError", "GenerationStats", "Generator",
    "ModelFileError", "cache_dir", "canonical", "gguf_path", "make_generator",
]
