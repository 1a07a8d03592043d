"""The embedder's runtimes against the torch reference they replace, how "auto" picks one, and the
model-free "hash-ngram" embedder the fast tests use. A test that makes its own Embedder is marked
`model` here (those that use the `embedder` fixture are marked by tests/conftest.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index import Document, IndexStore
from index.embedder import RUNTIMES, Embedder, HashingEmbedder, calibration_texts, choice, make_embedder


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


@pytest.fixture(scope="module")
def openvino_int8():
    return Embedder(backend="openvino-int8")


def test_default_backend_is_the_one_measured_fastest_here(embedder):
    """"auto" measured every converted runtime on this CPU once and recorded the choice."""
    if embedder.requested_backend != "auto":
        pytest.skip(f"QA_EMBED_BACKEND={embedder.requested_backend} names the backend")
    rec = json.loads(choice.record_path(embedder).read_text())
    assert rec["signature"] == choice.cpu_signature() and rec["candidates"] == list(RUNTIMES)
    assert embedder.backend == rec["backend"] == choice.pick(rec["texts_per_s"])
    assert set(rec["texts_per_s"]) == set(RUNTIMES)  # every one converted, passed its check and was timed
    assert embedder.dim == 384 and embedder.max_seq_length == 256


def test_pick_takes_the_fastest_unless_a_more_exact_one_is_close():
    # chunks/s measured by `make bench` (openvino-int8, onnx-int8, onnx fp32), most exact first
    avx512_vnni = {"onnx": 47.0, "openvino-int8": 125.0, "onnx-int8": 88.0}
    avx2_only = {"onnx": 27.4, "openvino-int8": 19.3, "onnx-int8": 38.4}
    assert choice.pick(avx512_vnni) == "openvino-int8"
    assert choice.pick(avx2_only) == "onnx-int8"
    assert choice.pick({"onnx": 95.0, "openvino-int8": 100.0, "onnx-int8": 80.0}) == "onnx"  # within 10%: the exact one
    assert choice.pick({"onnx": 80.0, "openvino-int8": 100.0, "onnx-int8": 105.0}) == "openvino-int8"


def test_auto_uses_its_record_and_measures_again_on_another_cpu(embedder, tmp_path, monkeypatch):
    calls = []

    def fake_measure(emb, candidates):  # rates as on the AVX2-only EPYC; the runtimes are real
        calls.append(candidates)
        rates = {"onnx": 27.4, "openvino-int8": 19.3, "onnx-int8": 38.4}
        return rates, {b: emb.open_runtime(b) for b in candidates}

    monkeypatch.setattr(choice, "measure", fake_measure)
    monkeypatch.setattr(choice, "record_path", lambda emb: tmp_path / "choice.json")
    backend, runner = choice.choose(embedder, tuple(RUNTIMES))
    assert backend == "onnx-int8" and len(calls) == 1
    assert json.loads((tmp_path / "choice.json").read_text())["backend"] == "onnx-int8"
    backend, runner = choice.choose(embedder, tuple(RUNTIMES))  # a warm start: the record, no timing
    assert backend == "onnx-int8" and len(calls) == 1
    assert embedder._encode_with(runner, ["interest rates"]).shape == (1, embedder.dim)
    other = dict(choice.cpu_signature(), isa=["avx", "avx2", "fma"])
    monkeypatch.setattr(choice, "cpu_signature", lambda: other)
    choice.choose(embedder, tuple(RUNTIMES))  # another CPU: measured again, recorded with its signature
    assert len(calls) == 2
    assert json.loads((tmp_path / "choice.json").read_text())["signature"] == other


def test_int8_vectors_agree_with_torch_and_rank_the_same(embedder, texts, reference):
    got = embedder.encode(texts)
    cos = (got * reference).sum(1)
    assert cos.min() > 0.98 and cos.mean() > 0.99
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    # each passage's own nearest neighbour among the reference vectors is itself
    assert ((got @ reference.T).argmax(1) == np.arange(len(texts))).all()


@pytest.mark.model
def test_a_static_int8_vector_does_not_depend_on_its_batch(openvino_int8, texts):
    together = openvino_int8.encode(texts)
    for i in (0, 7, len(texts) - 1):
        alone = openvino_int8.encode([texts[i]])[0]
        assert float(alone @ together[i]) > 0.99999


def test_openvino_runs_many_batches_side_by_side_with_the_same_vectors(openvino_int8, texts):
    """Many batches go through the throughput-compiled model's request queue; each row lands where
    it belongs and equals the one-request result (bit for bit here; a tolerance for other CPUs' kernels)."""
    from index.embedder.base import Runtime

    runner = openvino_int8._runner
    feeds = list(openvino_int8._feeds(texts, batch_size=3))
    assert len(feeds) > 4
    one_by_one = np.zeros((len(texts), openvino_int8.dim), dtype=np.float32)
    Runtime.encode_all(runner, iter(feeds), one_by_one)
    side_by_side = np.zeros_like(one_by_one)
    runner.encode_all(iter(feeds), side_by_side)
    assert runner._queue is not None  # the queue was used
    assert np.abs(side_by_side - one_by_one).max() < 1e-5 and np.abs(np.linalg.norm(side_by_side, axis=1) - 1).max() < 1e-3
    assert np.abs(openvino_int8.encode(texts, batch_size=3) - one_by_one).max() < 1e-5


def test_openvino_tells_where_its_time_goes(openvino_int8, texts):
    """`make bench`'s encoder profile: seconds per kind of operation, the int8 matmuls among them."""
    seconds = openvino_int8._runner.op_seconds(openvino_int8._feeds(texts, batch_size=3))
    linear = sum(v for k, v in seconds.items() if k.startswith("FullyConnected"))
    assert linear > 0 and seconds.get("Subgraph", 0.0) >= 0 and sum(seconds.values()) > linear


def test_calibration_text_has_short_and_chunk_length_inputs(embedder):
    """It calibrates OpenVINO's int8 scales and times the runtimes for "auto"."""
    counts = embedder.count_tokens_batch(calibration_texts())
    assert len(counts) >= 40
    assert min(counts) < 10 and max(counts) > 150
    assert max(counts) <= embedder.token_budget  # nothing the calibration sees is truncated


@pytest.mark.model
@pytest.mark.parametrize("backend", list(RUNTIMES))
def test_every_runtime_converts_and_agrees_with_torch(backend, texts, reference):
    """Every runtime `auto` chooses from (and QA_EMBED_BACKEND can name) converts and agrees."""
    e = Embedder(backend=backend)
    assert e.backend == backend
    cos = (e.encode(texts) * reference).sum(1)
    assert cos.min() > RUNTIMES[backend].min_cosine and cos.mean() > (0.99 if "int8" in backend else 0.9999)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown embedder backend"):
        Embedder(backend="tpu")


@pytest.mark.model
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


# ---- "hash-ngram": the fast tests' embedder --------------------------------------------------------
def test_hash_embedder_is_an_embedder_made_by_name_without_a_model(fast_embedder):
    assert isinstance(fast_embedder, HashingEmbedder) and isinstance(fast_embedder, Embedder)
    assert make_embedder("hash-ngram") is fast_embedder
    assert make_embedder("hash-ngram", backend="onnx-int8") is fast_embedder  # it has one backend
    assert (fast_embedder.name, fast_embedder.backend, fast_embedder.dim, fast_embedder.token_budget) == ("hash-ngram", "hash", 256, 254)
    with pytest.raises(RuntimeError, match="no model"):
        fast_embedder.model  # noqa: B018


def test_hash_vectors_are_unit_length_deterministic_and_batch_free(fast_embedder, tmp_path):
    texts = ["The central bank raised interest rates.", "Interest rates rise at the central bank.",
             "Chelsea beat Arsenal 2-1.", "", "?!", "the of and"]
    v = fast_embedder.encode(texts)
    assert v.dtype == np.float32 and v.shape == (len(texts), 256)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(fast_embedder.encode(texts[2:3])[0], v[2])  # a text's vector does not depend on its batch
    assert fast_embedder.encode([]).shape == (0, 256)
    sims = v @ v.T
    assert sims[0, 1] > 0.5 and sims[0, 2] < 0.2  # shared words score high; none, near 0
    # another process (another hash seed) gives the same vectors
    code = "import sys, numpy as np; from index.embedder import make_embedder; np.save(sys.argv[1], make_embedder('hash-ngram').encode(sys.argv[2:]))"
    env = dict(os.environ, PYTHONHASHSEED="123")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "v.npy"), *texts], check=True, env=env, timeout=120,
                   cwd=Path(__file__).resolve().parent.parent)
    assert np.array_equal(np.load(tmp_path / "v.npy"), v)


def test_hash_tokens_count_like_a_subword_tokenizer(fast_embedder):
    assert fast_embedder.count_tokens("The bank cut 2,850 jobs.") == 8  # The bank cut 2 , 850 jobs .
    assert fast_embedder.count_tokens("antidisestablishmentarianism") == 5  # at most 6 letters a token
    assert fast_embedder.count_tokens_batch(["a b", "", "x" * 13]) == [2, 0, 3]
    ids = fast_embedder.tokenizer("a b c", truncation=True, max_length=4)["input_ids"]
    assert len(ids) == 4 and fast_embedder.tokenizer(["a b"], add_special_tokens=False)["input_ids"] == [ids[1:3]]


def test_an_index_built_with_the_hash_embedder_reopens_with_it(tmp_path, fast_embedder):
    store = IndexStore(tmp_path / "idx", embedder="hash-ngram")
    store.add_documents([Document("zoo.txt", "Zoo welcomes zebra foal", "Zoo welcomes zebra foal\n\nA zebra foal was born at the zoo.")])
    store.close()
    store = IndexStore(tmp_path / "idx", create=False)  # the name and backend come from the index
    assert store.embedder is fast_embedder and store._meta("embed_backend") == "hash"
    hits = store.search_dense(store.embedder.encode(["zebra born"])[0], 1)
    assert store.chunks([hits[0][0]])[hits[0][0]].doc_id == "zoo.txt"
    store.close()


def test_token_counter_counts_as_the_embedder_without_its_model(embedder):
    """Ray's chunking actors count tokens with the tokenizer alone: the same counts and budget."""
    from index.embedder import TokenCounter

    tc = TokenCounter.of(embedder.name)
    assert type(tc) is TokenCounter and not hasattr(tc, "encode")
    texts = ["Theresa May ordered the review.", "", "£4.6m — naïve café 2004–05", "word " * 300]
    assert [tc.count_tokens(t) for t in texts] == [embedder.count_tokens(t) for t in texts]
    assert tc.count_tokens_batch(texts) == embedder.count_tokens_batch(texts) and tc.token_budget == embedder.token_budget


def test_token_counter_of_a_model_free_embedder_is_that_embedder():
    from index.embedder import TokenCounter, make_embedder

    assert TokenCounter.of("hash-ngram") is make_embedder("hash-ngram")
