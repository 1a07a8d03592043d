"""Model files shipped in PyPI packages (index.packaged): parts assembled once and verified, a zipped
model folder unpacked once; with cheap fakes, and with the real rerank embedder's parts."""
from __future__ import annotations

import hashlib
import io
import os
import sys
import time
import zipfile

import pytest

from index import packaged
from index.embedder.base import MPNET
from index.packaged import ModelFileError


def _packaged(tmp_path, monkeypatch, filename: str, blobs: list[bytes]) -> tuple[packaged.PartedFile, dict]:
    """`blobs` as the parts of `filename`, each in a 'packaged' folder that locate_part finds:
    (the PartedFile joining them, {module: the part's path})."""
    parts, paths = [], {}
    for i, blob in enumerate(blobs, 1):
        part = packaged.Part(f"fake-part{i}", f"fake_part{i}", f"data/part{i:02d}.bin")
        p = tmp_path / "site" / part.module / part.relpath
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(blob)
        parts.append(part)
        paths[part.module] = p
    monkeypatch.setattr(packaged, "locate_part", lambda part: paths[part.module])
    whole = b"".join(blobs)
    return packaged.PartedFile(filename, tuple(parts), len(whole), hashlib.sha256(whole).hexdigest()), paths


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    """Three small 'packaged' parts and the PartedFile that joins them."""
    data = [os.urandom(1000), os.urandom(2000), os.urandom(500)]
    spec, paths = _packaged(tmp_path, monkeypatch, "fake.gguf", data)
    return spec, paths, b"".join(data), tmp_path / "cache"


def test_assembles_once_and_remembers_the_check(fake_parts, monkeypatch):
    spec, _, whole, cache = fake_parts
    out = packaged.assemble(spec, cache)
    assert out.read_bytes() == whole
    assert (cache / "fake.gguf.verified").exists()
    assert not list(cache.glob("*.tmp*"))
    monkeypatch.setattr(packaged, "sha256_file", lambda p: pytest.fail("re-hashed a verified file"))
    assert packaged.assemble(spec, cache) == out  # the marker (size + mtime) is enough


def test_rejects_a_corrupted_part_and_leaves_no_file(fake_parts):
    spec, paths, _, cache = fake_parts
    p = paths["fake_part2"]
    blob = bytearray(p.read_bytes())
    blob[10] ^= 0xFF
    p.write_bytes(bytes(blob))
    with pytest.raises(ModelFileError, match="corrupted"):
        packaged.assemble(spec, cache)
    assert not (cache / "fake.gguf").exists() and not list(cache.glob("fake.gguf*"))


def test_rejects_a_truncated_part_before_assembling(fake_parts):
    spec, paths, _, cache = fake_parts
    p = paths["fake_part3"]
    p.write_bytes(p.read_bytes()[:-1])
    with pytest.raises(ModelFileError, match="add up to"):
        packaged.assemble(spec, cache)
    assert not (cache / "fake.gguf").exists()


def test_a_changed_assembled_file_is_checked_again(fake_parts):
    spec, _, whole, cache = fake_parts
    out = packaged.assemble(spec, cache)
    out.write_bytes(b"x" * len(whole))  # same size, new mtime and content
    os.utime(out, ns=(time.time_ns(), time.time_ns() + 10_000_000))
    assert packaged.assemble(spec, cache).read_bytes() == whole  # rejected, then assembled again


def test_missing_part_names_the_package(monkeypatch):
    part = packaged.Part("no-such-dist-xyz", "no_such_module_xyz", "data/part01.bin")
    with pytest.raises(ModelFileError, match="pip install no-such-dist-xyz"):
        packaged.locate_part(part)



def _zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def zip_parts(tmp_path, monkeypatch):
    """A zipped model folder split into two 'packaged' parts; returns a function making its PartedFile."""
    def make(files: dict[str, bytes]) -> packaged.PartedFile:
        whole = _zipped(files)
        cut = len(whole) // 2
        return _packaged(tmp_path, monkeypatch, "m.zip", [whole[:cut], whole[cut:]])[0]

    return make


def test_a_zipped_model_folder_is_unpacked_once_and_its_zip_removed(zip_parts, tmp_path, monkeypatch):
    spec = zip_parts({"m/config.json": b"{}", "m/sub/weights.bin": b"w" * 5000, "m/desktop.ini": b"[x]"})
    folder = packaged.unpacked(spec, tmp_path)
    assert folder.name == "m" and (folder / "config.json").read_bytes() == b"{}"
    assert (folder / "sub" / "weights.bin").stat().st_size == 5000
    assert not (folder / "desktop.ini").exists()  # packaging litter is left out
    assert not list(folder.parent.glob("m.zip*")) and not list(folder.parent.glob("*.tmp*"))
    monkeypatch.setattr(packaged, "assemble", lambda *a: pytest.fail("assembled a folder already unpacked"))
    assert packaged.unpacked(spec, tmp_path) == folder


def test_a_zip_that_is_not_one_folder_is_refused_and_leaves_nothing(zip_parts, tmp_path):
    spec = zip_parts({"a/config.json": b"{}", "b/config.json": b"{}"})
    with pytest.raises(ModelFileError, match="not one model folder"):
        packaged.unpacked(spec, tmp_path / "models")
    assert not (tmp_path / "models" / "m").exists() and not list((tmp_path / "models").glob("*.tmp*"))


def test_a_corrupted_zip_part_is_refused_before_unpacking(zip_parts, tmp_path):
    spec = zip_parts({"m/config.json": b"{}"})
    bad = packaged.PartedFile(spec.filename, spec.parts, spec.size, "0" * 64)
    with pytest.raises(ModelFileError, match="corrupted"):
        packaged.unpacked(bad, tmp_path / "models")
    assert not (tmp_path / "models" / "m").exists()


def test_rerank_embedder_parts_are_located_without_importing_them():
    paths = [packaged.locate_part(p) for p in MPNET.parts]
    assert sum(p.stat().st_size for p in paths) == MPNET.size
    assert not any(p.module in sys.modules for p in MPNET.parts)
