"""docs/scale.md is computed from bench reports; the IVF-PQ bench section runs end to end at a small size."""
import json

from bench.scale import load, render


def _report(tmp_path, name, **figures):
    f = tmp_path / name
    f.write_text(json.dumps(dict(figures, machine={"cpu": "Test CPU", "cores": 2, "vector_extensions": ["avx2"]},
                                 created_at="2026-11-27T00:00:00", sections=["x"])))
    return str(f)


def test_scale_page_is_computed_from_the_reports(tmp_path):
    a = _report(tmp_path, "a.json", cpu_count=2, index_docs=100, index_chunks=400, ray_chunks_per_s=20.0,
                writer_chunks_per_s=1000.0, store_bytes_per_chunk=5000.0, answer_p50_s=2.0,
                answering_process_rss_mb=1500.0, peak_rss_mb_per_1m_chunks=400.0)
    b = _report(tmp_path, "b.json", pq_rss_mb_per_1m_chunks_10m=100.0, answer_p50_s=3.0)  # a later report wins
    r, meta = load([a, b])
    page = render(r, meta)
    assert "Test CPU, 2 cores (avx2)" in page and r["answer_p50_s"] == 3.0
    # 1M articles x 4 chunks at 10 chunks/s per core: 4e6 / 10 / 3600 = 111 core-hours; on 16 cores 6.9 h;
    # past 100 cores the writer (1,000 chunks/s) is the limit: 4e6 / 1000 / 3600 = 1.1 h on 256 cores
    row = next(x for x in page.splitlines() if x.startswith("| 1,000,000 | 4.0M |"))
    assert row.split(" | ")[2:6] == ["111", "6.9", "1.7", "1.1"]
    assert "past ~100 cores" in page
    # 10M articles = 40M chunks: past the PQ threshold, 100 MB per 1M -> 4,000 MB of vectors
    assert "| 10,000,000 | 40.0M | IVF-PQ | 4,000 | 5,500 |" in page
    assert "| 600 | 30 |" in page  # 10 questions a second, 3 s each: 30 replicas busy at once


def test_pq_bench_section_measures_recall_latency_and_memory(tmp_path, monkeypatch):
    from bench.__main__ import bench_pq

    monkeypatch.setenv("BENCH_TMP", str(tmp_path))
    report = {}
    bench_pq([20_000], 50, report)
    assert report["pq_recall_at_10_20k"] >= 0.9 > report["pq_codes_only_recall_at_10_20k"]
    assert report["pq_retrieval_p95_ms_20k"] > 0 and report["pq_rss_mb_per_1m_chunks_20k"] > 0
    assert not list(tmp_path.iterdir())  # the memory-mapped vectors are gone


def test_the_indexing_target_depends_on_the_cpu():
    """Indexing must reach 4x plain encode where the CPU has VNNI, 2.5x on AVX2 alone (issue 15)."""
    from bench import target_mark

    assert target_mark("index_speedup", 3.6, ["avx2", "avx512f", "avx512_vnni"]) == ">= 4: MISSED"
    assert target_mark("index_speedup", 3.6, ["avx2"]) == ">= 2.5: met"
    assert target_mark("ttft_p50_s", 0.7, ["avx2"]) == "< 1.5: met" and target_mark("index_chunks_per_s", 110) == ""
