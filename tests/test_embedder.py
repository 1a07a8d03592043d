"""The default embedder backend against the torch reference it replaces."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.embed_openvino import calibration_texts
from index.embedder import Embedder


@pytest.fixture(scope="module")
def texts(bbc_dir):
    out = []
    for rel in ["business/002.txt", "politics/010.txt", "sport/020.txt", "tech/030.txt", "entertainment/040.txt"]:
        paras = [p.strip() for p in (bbc_dir / rel).read_text(encoding="utf-8", errors="replace").split("\n\n") if p.strip()]
        out += paras[:6]
    return out + ["Who won the election?", "interest rates"]


@pytest.fixture(scope="module")
def reference(texts):
    return Embedder(backend="torch").encode(texts)


def test_default_backend_is_static_int8_openvino(embedder):
    assert embedder.backend == "openvino-int8"
    assert embedder.dim == 384 and embedder.max_seq_length == 256


def test_int8_vectors_agree_with_torch_and_rank_the_same(embedder, texts, reference):
    got = embedder.encode(texts)
    cos = (got * reference).sum(1)
    assert cos.min() > 0.98 and cos.mean() > 0.99
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    # each passage's own nearest neighbour among the reference vectors is itself
    assert ((got @ reference.T).argmax(1) == np.arange(len(texts))).all()


def test_a_vector_does_not_depend_on_its_batch(embedder, texts):
    together = embedder.encode(texts)
    for i in (0, 7, len(texts) - 1):
        alone = embedder.encode([texts[i]])[0]
        assert float(alone @ together[i]) > 0.99999


def test_calibration_text_has_short_and_chunk_length_inputs(embedder):
    counts = embedder.count_tokens_batch(calibration_texts())
    assert len(counts) >= 40
    assert min(counts) < 10 and max(counts) > 150
    assert max(counts) <= embedder.token_budget  # nothing the calibration sees is truncated


@pytest.mark.parametrize("backend", ["onnx-int8", "onnx"])
def test_fallback_backends_agree_with_torch(backend, texts, reference):
    """The backends `auto` falls back to (and QA_EMBED_BACKEND can name) still convert and agree."""
    e = Embedder(backend=backend)
    assert e.backend == backend
    cos = (e.encode(texts) * reference).sum(1)
    assert cos.min() > (0.98 if backend == "onnx-int8" else 0.9999)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown embedder backend"):
        Embedder(backend="tpu")


def test_openvino_sends_no_telemetry(tmp_path):
    """`import openvino` and NNCF would record a client id under ~/intel and send usage events.
    A fresh process with a fresh home converts the model, a second one opens the cached model
    (the runtime-only path), and neither leaves a trace or has telemetry consent."""
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "from index.embedder import Embedder\n"
        "e = Embedder(backend='openvino-int8')\n"
        "assert e.backend == 'openvino-int8', e.backend\n"
        "e.encode(['a sentence'])\n"
        "from openvino_telemetry import Telemetry\n"
        "assert not Telemetry().consent\n"
    )
    env = dict(os.environ, HOME=str(home), QA_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("CI", None)  # NNCF declines in CI on its own; this checks the project's switch
    for _ in ("convert", "open cached"):
        out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent, env=env, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-2000:]
        assert (tmp_path / "cache" / "openvino").is_dir()
        assert not (home / "intel").exists()
