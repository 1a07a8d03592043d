"""Vector index kinds: add/search/remove/save/load, ANN recall against exact search, auto switching."""
from __future__ import annotations

import numpy as np
import pytest

from bench import clustered_vectors, recall_at_k
from index.vectors import KIND_CLASSES, KINDS, VectorIndex, file_kind, make_vector_index

DIM = 64


def _small(kind: str) -> VectorIndex:
    # small thresholds so "ivf" and "auto" really use the inverted file on a few thousand vectors
    return make_vector_index(DIM, kind, auto_threshold=1000, ivf_min=1000)


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw", "auto"])
def test_round_trip(kind, tmp_path):
    x = clustered_vectors(3000, DIM, seed=1)
    ids = np.arange(3000, dtype=np.int64) * 7 + 5  # arbitrary, non-contiguous chunk ids
    vi = _small(kind)
    vi.add(ids[:2000], x[:2000])
    vi.add(ids[2000:], x[2000:])
    assert vi.ntotal == 3000
    assert vi.impl == {"flat": "flat", "ivf": "ivf", "hnsw": "hnsw", "auto": "ivf"}[kind]
    assert set(vi.ids().tolist()) == set(ids.tolist())
    # a stored vector finds itself first
    for j in (0, 1500, 2999):
        top = vi.search(x[j], 5)
        assert top[0][0] == ids[j] and top[0][1] == pytest.approx(1.0, abs=0.02)
        assert len(top) == 5 and all(top[i][1] >= top[i + 1][1] for i in range(4))
    # remove by chunk id
    gone = ids[:100]
    vi.remove(gone)
    assert vi.ntotal == 2900
    assert not set(gone.tolist()) & set(vi.ids().tolist())
    assert all(i not in set(gone.tolist()) for i, _ in vi.search(x[0], 20))
    # save / load round trip (atomic write leaves no temporary file)
    f = tmp_path / "vectors-1.faiss"
    vi.save(f)
    assert f.exists() and not list(tmp_path.glob("*.tmp"))
    back = VectorIndex.load(f, DIM, kind, auto_threshold=1000, ivf_min=1000)
    assert back.impl == vi.impl and back.ntotal == 2900
    assert set(back.ids().tolist()) == set(vi.ids().tolist())
    q = x[2500]
    assert [i for i, _ in back.search(q, 10)] == [i for i, _ in vi.search(q, 10)]
    # the loaded index stays writable: re-add a removed id, remove another
    back.add(gone[:1], x[:1])
    back.remove(ids[2999:])
    assert back.search(x[0], 1)[0][0] == gone[0]
    assert ids[2999] not in set(back.ids().tolist()) and back.ntotal == 2900
    with pytest.raises(ValueError):
        VectorIndex.load(f, DIM + 1, kind)


def test_ivf_memory_mapped_file_is_copied_on_write(tmp_path):
    x = clustered_vectors(2000, DIM, seed=2)
    vi = _small("ivf")
    vi.add(np.arange(2000), x)
    f = tmp_path / "v.faiss"
    vi.save(f)
    m = VectorIndex.load(f, DIM, "ivf", mmap=True)
    assert m.mmapped and m.ntotal == 2000
    assert m.search(x[10], 1)[0][0] == 10
    m.remove([10])  # would abort inside FAISS if the read-only mapping were written to
    m.add(np.array([5000]), x[10:11])
    assert not m.mmapped and m.search(x[10], 1)[0][0] == 5000


def test_unknown_kind_and_kind_mismatch(tmp_path):
    with pytest.raises(ValueError):
        make_vector_index(DIM, "lsh")
    vi = _small("hnsw")
    vi.add(np.arange(50), clustered_vectors(50, DIM))
    f = tmp_path / "h.faiss"
    vi.save(f)
    with pytest.raises(ValueError):  # the store then rebuilds from SQLite
        VectorIndex.load(f, DIM, "flat")


def test_factory_refuses_unknown_kinds_and_settings(tmp_path):
    with pytest.raises(ValueError, match=r"unknown vector index kind 'lsh' \(available: flat, ivf, hnsw, auto, ivfpq\)"):
        make_vector_index(DIM, "lsh")
    with pytest.raises(TypeError, match="unknown vector index setting"):
        make_vector_index(DIM, "flat", nlist=64)  # a typo is not silently ignored
    # one configuration serves every kind: a setting of another kind is accepted and ignored
    assert make_vector_index(DIM, "flat", ef_search=10, ivf_min=5).impl == "flat"
    assert make_vector_index(DIM, "hnsw", ef_search=10, ivf_min=5).ef_search == 10
    f = tmp_path / "junk.faiss"
    f.write_bytes(b"not a faiss index" * 10)
    with pytest.raises(ValueError, match="not a vector index file"):
        VectorIndex.load(f, DIM, "flat")
    with pytest.raises(ValueError, match="unknown vector index kind"):
        VectorIndex.load(f, DIM, "lsh")


@pytest.mark.parametrize("kind", KINDS)
def test_every_registered_kind_round_trips(kind, tmp_path):
    """Each kind the factory knows builds, saves and reopens as itself (the default settings: a
    small index stays exact where the kind says so)."""
    x = clustered_vectors(300, DIM, seed=8)
    ids = np.arange(300, dtype=np.int64) * 3 + 1
    vi = make_vector_index(DIM, kind)
    assert isinstance(vi, KIND_CLASSES[kind]) and vi.kind == kind
    vi.add(ids, x)
    vi.remove(ids[:10])
    f = tmp_path / "v.faiss"
    vi.save(f)
    assert file_kind(f.read_bytes()[:16]) == vi.impl
    back = VectorIndex.load(f, DIM, kind)
    assert type(back) is type(vi) and back.impl == vi.impl and back.ntotal == 290
    assert back.search_many(x[20:25], 5) == vi.search_many(x[20:25], 5)
    assert all(hits[0][0] == ids[20 + r] for r, hits in enumerate(back.search_many(x[20:25], 5)))


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_ann_recall_against_exact(kind):
    n, nq = 20_000, 200
    both = clustered_vectors(n + nq, DIM, seed=3)
    x, q = both[:n], both[n:]  # queries: unseen points around the same topic centres
    ids = np.arange(n, dtype=np.int64)
    exact = make_vector_index(DIM, "flat")
    exact.add(ids, x)
    ann = make_vector_index(DIM, kind)  # default settings: ivf trains at 10k vectors
    ann.add(ids, x)
    assert ann.impl == kind
    truth = [[i for i, _ in hits] for hits in exact.search_many(q, 10)]
    got = [[i for i, _ in hits] for hits in ann.search_many(q, 10)]
    r = recall_at_k(got, truth, 10)
    assert r >= 0.95, f"{kind} recall@10 {r:.3f}"


def test_auto_switches_past_threshold():
    x = clustered_vectors(1600, DIM, seed=4)
    vi = make_vector_index(DIM, "auto", auto_threshold=1000)
    vi.add(np.arange(1000), x[:1000])
    assert vi.impl == "flat"  # at the threshold: still exact
    vi.add(np.arange(1000, 1600), x[1000:])
    assert vi.impl == "ivf" and vi.ntotal == 1600
    assert set(vi.ids().tolist()) == set(range(1600))
    assert vi.search(x[1234], 1)[0][0] == 1234


def test_auto_threshold_from_environment(set_env):
    set_env(QA_VECTOR_AUTO_THRESHOLD="100")
    vi = make_vector_index(DIM, "auto")
    assert vi.auto_threshold == 100
    vi.add(np.arange(150), clustered_vectors(150, DIM, seed=5))
    assert vi.impl == "ivf"


def test_hnsw_compacts_after_many_removals():
    x = clustered_vectors(1200, DIM, seed=6)
    vi = make_vector_index(DIM, "hnsw")
    vi.add(np.arange(1200), x)
    vi.remove(range(50))
    assert len(vi.deleted) == 50 and vi.ntotal == 1150  # filtered, not yet rebuilt
    vi.remove(range(50, 200))
    assert not vi.deleted and vi.index.ntotal == 1000  # rebuilt without the dead
    assert vi.search(x[500], 1)[0][0] == 500


def test_ivf_retrains_as_it_grows():
    x = clustered_vectors(6000, DIM, seed=7)
    vi = make_vector_index(DIM, "ivf", ivf_min=1000)
    vi.add(np.arange(1000), x[:1000])
    small = vi.index.nlist
    vi.add(np.arange(1000, 6000), x[1000:])
    assert vi.index.nlist >= 2 * small and vi.ntotal == 6000
    assert set(vi.ids().tolist()) == set(range(6000))
    assert vi.search(x[4321], 1)[0][0] == 4321


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_store_reconciles_every_kind(kind, tmp_path, set_env, any_embedder):
    """The store's FAISS file is a cache of SQLite: stale or missing files are repaired on open."""
    from index import Document, IndexStore

    set_env(QA_VECTOR_IVF_MIN="4")  # let the inverted file engage on a handful of chunks
    # six stories on six unrelated subjects (not six copies of one template): the query below is one
    # of d3's own sentences, and no other story is anywhere near it
    stories = [
        "The central bank raised interest rates by half a point to curb inflation. Mortgage payments will rise.",
        "The striker scored twice as United beat City in the cup final. Fans celebrated at Wembley.",
        "Voters in the rural constituency re-elected the sitting MP. Turnout fell to a record low.",
        "A new semiconductor plant will make memory chips for phones. The factory opens next spring.",
        "The director's third film won the top prize at the festival. Critics praised its lead actress.",
        "Heavy rain flooded hundreds of homes along the river valley. Rescue teams used boats overnight.",
    ]
    docs = [Document(f"d{i}", f"Story {i}", f"Story {i}\n\n{text}", source="t") for i, text in enumerate(stories)]
    s = IndexStore(tmp_path, embedder=any_embedder, vector_kind=kind)
    s.add_documents(docs)
    n = s.stats()["chunks"]
    assert s.vectors.impl == kind and s.vectors.ntotal == n
    q = s.embedder.encode(["A new semiconductor plant will make memory chips for phones."])[0]
    hits = s.search_dense(q, n)
    owner = {i: s.chunks([i])[i].doc_id for i, _ in hits}
    assert owner[hits[0][0]] == "d3"
    best_other = max(score for i, score in hits if owner[i] != "d3")
    assert hits[0][1] - best_other > 0.1  # a clear margin, not a near-tie the test would depend on
    stale = sorted(tmp_path.glob("vectors-*.faiss"))[-1].read_bytes()
    s.remove("d3")
    assert all(s.chunks([i])[i].doc_id != "d3" for i, _ in s.search_dense(q, 5))
    s.close()
    # put back the pre-removal file as if the process died before writing the new one
    for f in tmp_path.glob("vectors-*.faiss"):
        f.unlink()
    (tmp_path / "vectors-1.faiss").write_bytes(stale)
    s2 = IndexStore(tmp_path, vector_kind=kind)
    assert s2.vectors.impl == kind
    assert set(s2.vectors.ids().tolist()) == set(s2.chunk_ids())
    assert all(s2.chunks([i])[i].doc_id != "d3" for i, _ in s2.search_dense(q, 5))
    s2.close()


def test_fast_embedder_agrees_with_torch_reference(embedder):
    """The default (ONNX int8 where available) embedder stays close to plain sentence-transformers."""
    from index.embedder import Embedder

    ref = Embedder(backend="torch")
    texts = [
        "Chelsea beat Arsenal 2-1 at Stamford Bridge.",
        "The Bank of England held interest rates at 4.75% on Thursday, citing slowing inflation and weak growth. " * 3,
        "Gordon Brown unveiled his pre-budget report.",
        "x",
    ]
    a, b = embedder.encode(texts), ref.encode(texts)
    assert a.shape == b.shape == (4, ref.dim)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    assert (a * b).sum(1).min() > 0.98
    # the nearest text to each query is the same under both backends
    q = ["football match result", "central bank rates", "budget statement by the chancellor"]
    assert (embedder.encode(q) @ a.T).argmax(1).tolist() == (ref.encode(q) @ b.T).argmax(1).tolist()
    assert embedder.count_tokens_batch(texts) == [embedder.count_tokens(t) for t in texts]
    # order of the inputs does not matter (length bucketing puts them back in place)
    assert np.allclose(embedder.encode(texts[::-1])[::-1], a, atol=1e-5)


def test_ivf_trains_on_enough_vectors_for_its_lists():
    """k-means gets TRAIN_SAMPLE vectors, or 40 per list where the lists need more (FAISS asks for
    39): at 4,096 lists that is 163,840, not 100,000; a small index trains on all it has."""
    from index.vectors.ivf import TRAIN_SAMPLE, ivf_nlist, train_size

    assert ivf_nlist(10_000_000) == 4096 and train_size(10_000_000, 4096) == 163_840 > TRAIN_SAMPLE
    assert train_size(1_000_000, ivf_nlist(1_000_000)) == TRAIN_SAMPLE  # 2,000 lists x 40 < 100k
    assert train_size(20_000, ivf_nlist(20_000)) == 20_000
    for n in (10_000, 300_000, 1_000_000, 7_000_000):
        assert train_size(n, ivf_nlist(n)) >= 39 * ivf_nlist(n)
