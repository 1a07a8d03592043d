"""The "ivfpq" vector kind: PQ codes re-scored with exact vectors, and "auto" growing into it."""
import numpy as np
import pytest

from bench import clustered_vectors, recall_at_k
from index.vectors import VectorIndex, file_kind, make_vector_index

DIM = 64


def _data(n, seed=0):
    x = clustered_vectors(n + 50, DIM, seed=seed)
    return x[:n], x[n:]


def _truth(x, q, k=10):
    return np.argsort(-(q @ x.T), axis=1)[:, :k].tolist()


def _exact_from(x):
    return lambda ids: {i: x[i] for i in ids if 0 <= i < len(x)}


def test_ivfpq_rescored_recall_and_scores_are_exact():
    x, q = _data(3000)
    vi = make_vector_index(DIM, "ivfpq", ivf_min=1000)
    vi.exact = _exact_from(x)
    vi.add(np.arange(3000), x)
    assert vi.impl == "ivfpq" and vi.ntotal == 3000
    hits = vi.search_many(q, 10)
    assert recall_at_k([[i for i, _ in h] for h in hits], _truth(x, q), 10) >= 0.95
    for qi, h in enumerate(hits):  # re-scored: the scores are the exact inner products, best first
        assert np.allclose([s for _, s in h], [float(x[i] @ q[qi]) for i, _ in h], atol=1e-5)
        assert [s for _, s in h] == sorted((s for _, s in h), reverse=True)


def test_ivfpq_codes_alone_rank_worse_than_rescored():
    """Why the store passes its exact vectors: without them the 4-bit codes lose neighbours."""
    x, q = _data(3000, seed=3)
    vi = make_vector_index(DIM, "ivfpq", ivf_min=1000)
    vi.add(np.arange(3000), x)
    codes_only = recall_at_k([[i for i, _ in h] for h in vi.search_many(q, 10)], _truth(x, q), 10)
    vi.exact = _exact_from(x)
    rescored = recall_at_k([[i for i, _ in h] for h in vi.search_many(q, 10)], _truth(x, q), 10)
    assert rescored > codes_only


def test_ivfpq_removed_ids_and_missing_vectors_are_never_returned(tmp_path):
    x, q = _data(3000, seed=1)
    vi = make_vector_index(DIM, "ivfpq", ivf_min=1000)
    vi.exact = _exact_from(x)
    vi.add(np.arange(3000), x)
    top = [i for i, _ in vi.search(q[0], 5)]
    vi.remove(top[:2])
    assert not set(top[:2]) & {i for i, _ in vi.search(q[0], 10)}
    gone = top[2]
    vi.exact = lambda ids: {i: x[i] for i in ids if i != gone}  # the store no longer holds it
    assert gone not in {i for i, _ in vi.search(q[0], 10)}
    f = tmp_path / "v.faiss"
    vi.save(f)
    assert file_kind(f.read_bytes()[:16]) == "ivfpq"
    back = VectorIndex.load(f, DIM, "ivfpq")
    assert back.impl == "ivfpq" and back.ntotal == 2998 and back.nprobe == vi.nprobe
    with pytest.raises(ValueError, match="holds a 'ivfpq' index, configured kind is 'ivf'"):
        VectorIndex.load(f, DIM, "ivf")


def test_auto_grows_from_exact_to_sq8_to_pq():
    x, _ = _data(4000, seed=2)
    vi = make_vector_index(DIM, "auto", auto_threshold=1000, pq_threshold=3000)
    vi.exact = _exact_from(x)
    vi.add(np.arange(1000), x[:1000])
    assert vi.impl == "flat"
    vi.add(np.arange(1000, 2000), x[1000:2000])
    assert vi.impl == "ivf"
    vi.add(np.arange(2000, 4000), x[2000:])
    assert vi.impl == "ivfpq" and sorted(vi.ids().tolist()) == list(range(4000))


def test_pq_threshold_from_environment(set_env):
    set_env(QA_VECTOR_PQ_THRESHOLD="1234")
    assert make_vector_index(DIM, "auto").pq_threshold == 1234


def test_store_rescores_with_its_own_vectors(tmp_path, embedder, bbc_sample):
    """Through the store: an "ivfpq" index answers with the exact cosine SQLite's vector gives."""
    from index.store import IndexStore

    s = IndexStore(tmp_path / "idx", embedder=embedder, vector_kind="ivfpq")
    s.add_paths([bbc_sample])
    s.vectors.ivf_min = 1  # train now, on the few hundred chunks of the sample
    s.vectors.fit(*s.vectors.arrays())
    assert s.vectors.impl == "ivfpq"
    qv = embedder.encode(["a football match"])[0]
    hits = s.search_dense(qv, 5)
    stored = s.vectors_of([i for i, _ in hits])
    assert hits and all(abs(sc - float(stored[i] @ qv)) < 1e-5 for i, sc in hits)
    s.close()


def test_calibration_stops_where_more_lists_stop_helping():
    """Codes alone cannot reach the recall target: calibration stops at the plateau instead of
    scanning every list (which only costs time)."""
    import faiss

    from index.vectors.ivf import calibrate_nprobe

    x, _ = _data(20000, seed=4)
    idx = faiss.index_factory(DIM, "IVF128,PQ8x4fs", faiss.METRIC_INNER_PRODUCT)  # 4 bytes a vector: far too coarse for 0.97
    idx.train(x)
    idx.add_with_ids(x, np.arange(20000))
    nprobe = calibrate_nprobe(idx, x, np.arange(20000, dtype=np.int64))
    assert nprobe < 128
