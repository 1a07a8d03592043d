""""hash-ngram": a deterministic stand-in embedder for tests and offline smoke runs. It loads no
model and downloads nothing. It is not for answering: it matches spelling, not meaning, so a
synonym or a paraphrase scores 0.

A text's vector is built from its lower-cased words (stopwords dropped while any content word is
left), word bigrams and the character trigrams of each word. Each feature is hashed with CRC-32
to one of DIM buckets with a sign, weighted 1 + log(count) by kind, and the vector is
L2-normalised. Texts that share words score high. A text's vector is the same in every process
and on every machine, and it does not depend on the batch it is encoded in.

Tokens (what the chunker sizes chunks in) come from a regex standing in for a subword tokenizer:
each run of up to 6 letters or digits is one token, and so is each other non-space character.
With 256 positions, as MiniLM has, chunks come out about the size they do in production.

Used by name: make_embedder("hash-ngram"), or `python -m index add --embedder hash-ngram`. An
index built with it records the name, and reopening the index uses it again.
"""
from __future__ import annotations

import math
import re
import threading
import zlib
from collections import Counter

import numpy as np

from ..lexical import STOPWORDS
from .encoder import Embedder

NAME = "hash-ngram"
BACKEND = "hash"  # what an index built with it records as its embed_backend
DIM = 256
MAX_SEQ_LENGTH = 256  # as MiniLM: a token budget of 254 after [CLS] and [SEP]
WEIGHTS = {"w": 1.0, "b": 0.5, "c": 0.3, "t": 1.0}  # word, word bigram, character trigram, whole text (no word in it)

_WORD = re.compile(r"\w+")
_PIECE = re.compile(r"[^\W_]{1,6}|[^\w\s]|_")  # a token: up to 6 letters/digits, or one other non-space character
_CLS, _SEP, _PAD, _VOCAB = 1, 2, 0, 30000


def count_pieces(text: str) -> int:
    return len(_PIECE.findall(text))


class RegexTokenizer:
    """The calls the embedder and the tests make of a Hugging Face tokenizer: text(s) ->
    {"input_ids": ...}, [CLS] ... [SEP] added unless add_special_tokens=False, cut to max_length
    when truncation=True."""

    pad_token_id = _PAD

    def __call__(self, texts, add_special_tokens: bool = True, truncation: bool = False, max_length: int | None = None, **_):
        one = isinstance(texts, str)
        ids = [self._ids(t, add_special_tokens, max_length if truncation else None) for t in ([texts] if one else texts)]
        return {"input_ids": ids[0] if one else ids}

    @staticmethod
    def _ids(text: str, special: bool, limit: int | None) -> list[int]:
        ids = [3 + zlib.crc32(p.encode("utf-8")) % _VOCAB for p in _PIECE.findall(text)]
        if limit is not None:
            ids = ids[: max(0, limit - (2 if special else 0))]
        return [_CLS, *ids, _SEP] if special else ids


def features(text: str) -> Counter:
    """The hashed features of a text, by name ("w:", "b:", "c:" + the n-gram), with their counts."""
    words = _WORD.findall(text.lower())
    words = [w for w in words if w not in STOPWORDS] or words
    feats: Counter = Counter()
    for w in words:
        feats["w:" + w] += 1
        padded = f"<{w}>"
        for i in range(len(padded) - 2):
            feats["c:" + padded[i : i + 3]] += 1
    for a, b in zip(words, words[1:]):
        feats[f"b:{a} {b}"] += 1
    if not feats:  # no word at all ("", "???"): the text itself, so no vector is zero
        feats["t:" + text] += 1
    return feats


def hash_vector(text: str, dim: int = DIM) -> np.ndarray:
    v = np.zeros(dim, dtype=np.float32)
    for f, n in features(text).items():
        h = zlib.crc32(f.encode("utf-8"))
        v[h % dim] += (-1.0 if h & 0x80000000 else 1.0) * WEIGHTS[f[0]] * (1.0 + math.log(n))
    norm = float(np.linalg.norm(v))
    if norm == 0.0:  # features that cancel out: one bucket set instead
        v[zlib.crc32(text.encode("utf-8")) % dim] = norm = 1.0
    return v / norm


class HashingEmbedder(Embedder):
    """The Embedder interface (name, dim, backend, max_seq_length, token_budget, tokenizer,
    count_tokens, count_tokens_batch, encode) without a model: see the module docstring."""

    def __init__(self, name: str = NAME, dim: int = DIM):  # nothing to load: Embedder.__init__ is not called
        self.name, self.path, self.device = name, name, "cpu"
        self.dim, self.max_seq_length = dim, MAX_SEQ_LENGTH
        self.batch_size, self.threads = 64, 1
        self.requested_backend = self.backend = BACKEND
        self.spec, self._model, self._runner = None, None, None
        self._lock = threading.Lock()
        self.tokenizer = RegexTokenizer()

    @property
    def model(self):
        raise RuntimeError(f"the {self.name} embedder has no model to load or convert")

    def open_runtime(self, backend: str):
        raise RuntimeError(f"the {self.name} embedder has no model to load or convert")

    def count_tokens(self, text: str) -> int:
        return count_pieces(text)

    def count_tokens_batch(self, texts: list[str]) -> list[int]:
        return [count_pieces(t) for t in texts]

    def encode(self, texts: list[str], batch_size: int | None = None, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i] = hash_vector(t, self.dim)
        return out
