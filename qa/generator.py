"""Compatibility module: the generators live in the qa.generators package."""
from .generators import (  # noqa: F401
    ALIASES, DEFAULT_GENERATOR, ChatTemplateError, GenerationStats, Generator, ModelFileError, gguf_path,
    make_generator,
)
