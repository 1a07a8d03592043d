"""python -m bench [--out bench/report.json] [--news-limit 0] [--repeat 1] [--sizes 10000,100000,1000000] [--skip ...]

Sections (each can be skipped with --skip NAME):
  index    indexing throughput of the real pipeline (load -> chunk -> embed -> SQLite/FAISS) on news
           articles, against plain sentence-transformers `encode` (torch) over the same chunk texts in
           the same run, plus how closely the pipeline's embeddings agree with the plain ones, and
           the encoding rate while another process keeps one core busy (batches one request at a
           time against side by side), and where the encoder's time goes (its linear layers' and
           attention's shares, the linear layers' int8 operations a second on one core).
  ray      the same news articles indexed serially and as a Ray Data pipeline on a local cluster of
           this machine's cores: chunks/s of each, their ratio, Ray's overhead and cluster start.
  writer   the single writer's ceiling: pre-embedded documents committed through add_embedded.
  vectors  retrieval latency p50/p95 (one query at a time, as the app searches) of exact and IVF
           search over clustered synthetic 384-d unit vectors, IVF recall@10 against exact, and the
           resident memory of a process serving the largest index.
  pq       the same for IVF-PQ ("ivfpq") up to 10M vectors, memory-mapped, re-scored from the file
           as the store re-scores from SQLite; recall@10 with and without re-scoring, memory per 1M.
  qa       time to first streamed token and full-answer latency through qa.QA.ask_stream.
  startup  cold start (empty model caches) and warm start of a fresh process: build/open the
           index, construct QA, answer one question; the warm process's resident memory.
The report holds numbers, plus "machine" (CPU model, cores, vector extensions), "created_at" and the
"sections" run; the table printed at the end is the same data, under the CPU it was measured on.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eval.machine import machine_info

from . import clustered_vectors, recall_at_k, target_mark

REPO = Path(__file__).resolve().parent.parent
NEWS = REPO.parent / "shared" / "data" / "news"
QUESTIONS = [
    "When was the Jay Report published?",
    "How many children did the Jay Report estimate had been abused in Rotherham?",
    "Who is the Rotherham Labour MP quoted in the article?",
    "Which home secretary ordered the review?",
    "What did the Home Secretary say the Home Office introduced in 2014?",
    "Who wrote the further review of the internal report?",
    "When was the Home Office researcher's document believed to have been written?",
    "What did Sarah Champion say the Home Office knew about?",
    "Who is the chief executive of the NSPCC?",
    "What did the review find about the key documents?",
]


def run_child(code: str, what: str, timeout: float, **kw) -> dict | None:
    """Run `code` in a fresh Python process; the JSON object its last line prints, or None (logged)
    when it fails: one failed measurement must not stop the others."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, **kw)
    if out.returncode != 0:
        log(f"{what} failed: {out.stderr[-800:]}")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def pct(xs, p) -> float:
    return float(np.percentile(np.asarray(xs, dtype=np.float64), p)) if len(xs) else float("nan")


def log(msg: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


# ---- indexing -------------------------------------------------------------------------------
def pick_news(limit: int) -> list[Path]:
    files = sorted(p for p in (NEWS / "bbc").rglob("*.txt") if p.is_file())
    if limit and limit < len(files):  # evenly spaced: every category, in arrival (path) order
        step = len(files) / limit
        chosen = {files[int(i * step)] for i in range(limit)}
        qa_path = NEWS / "dev_qa.jsonl"
        if qa_path.exists():  # plus the articles the dev questions are about
            for line in qa_path.read_text().splitlines():
                doc = json.loads(line).get("doc") or ""
                if doc.startswith("bbc/") and (NEWS / doc).exists():
                    chosen.add(NEWS / doc)
        files = sorted(chosen)
    return files


def copy_news(files: list[Path], into: Path) -> Path:
    """Copy news articles under into/bbc, in their category folders (doc ids bbc/<cat>/<n>.txt)."""
    corpus = into / "bbc"
    for f in files:
        dst = corpus / f.relative_to(NEWS / "bbc")
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(f.read_bytes())
    return corpus


@dataclass
class Indexed:
    """What the pipeline stored for the benchmark's articles, in chunk id order."""

    texts: list[str]  # each chunk's embedded text (title prefix included)
    chunks: list[str]  # each chunk's own text
    vectors: np.ndarray  # the pipeline's embeddings
    doc_of: list[str]  # each chunk's doc id
    path_of: dict[str, str]  # doc id -> the file it came from
    figures: dict[str, float] = field(default_factory=dict)  # this run's speed (index_seconds, index_chunks_per_s ...)


# a warm-up of several batches: each runtime does its once-a-process work (OpenVINO compiles its
# throughput model at the first many-batch call) before anything is timed, as plain encode does its own
WARM_UP = [" ".join(["A warm-up sentence of ordinary words, repeated."] * 20)] * 48


def bench_index(limit: int, report: dict, repeat: int = 1) -> None:
    from index.embedder import make_embedder

    emb = make_embedder()
    emb.encode(WARM_UP)
    report["embed_backend_openvino_int8"] = int(emb.backend == "openvino-int8")
    report["embed_backend_onnx_int8"] = int(emb.backend == "onnx-int8")
    files = pick_news(limit)
    runs = [index_news(files, emb, report) for _ in range(max(1, repeat))]
    got = runs[-1]
    median_of(report, ["index_seconds", "index_chunks_per_s", "index_chunks_per_cpu_s"], [r.figures for r in runs])
    ref, plain = plain_encode(got.texts, report, repeat)
    plain_per_doc(ref.model, got, report)
    variants = backend_variants(emb, got.texts, report)
    agreement(got, emb, ref, plain, variants, report)
    busy_core(emb, got.texts, report)
    encoder_ops(emb, got.texts, report)


def encoder_ops(emb, texts: list[str], report: dict, sample: int = 300) -> None:
    """Where the converted encoder's time goes, one thread, over `sample` chunks: the share of its
    linear layers (FullyConnected: int8 matmuls under openvino-int8) and of its attention (the fused
    scaled-dot-product Subgraph), and the linear layers' rate in int8 operations a second (their
    2 x (4h^2 + 2hf) a token a layer, from the model's config.json, over the padded tokens): how close
    the encoder is to what the CPU can do."""
    runner = getattr(emb, "_runner", None)
    config = Path(emb.path) / "config.json"
    if not hasattr(runner, "op_seconds") or not config.exists():
        return
    feeds = list(emb._feeds(texts[:sample]))
    seconds = runner.op_seconds(iter(feeds))
    total = sum(seconds.values())
    linear = sum(v for k, v in seconds.items() if k.startswith("FullyConnected"))
    cfg = json.loads(config.read_text())
    h, f, layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    tokens = sum(feed["input_ids"].size for _, feed in feeds)
    report["encoder_linear_share"] = linear / total
    report["encoder_attention_share"] = seconds.get("Subgraph", 0.0) / total
    report["encoder_linear_gops_one_core"] = 2 * layers * (4 * h * h + 2 * h * f) * tokens / linear / 1e9


def busy_core(emb, texts: list[str], report: dict) -> None:
    """Encoding while another process keeps one core busy (the reader answering while articles are
    added): the runtime's batches one request at a time against side by side (Runtime.encode_all)."""
    from index.embedder.base import Runtime

    runner = getattr(emb, "_runner", None)
    if runner is None or type(runner).encode_all is Runtime.encode_all:
        return  # this runtime runs its batches one at a time either way
    out = np.empty((len(texts), emb.dim), dtype=np.float32)
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        for key, run in (("one_request", lambda: Runtime.encode_all(runner, emb._feeds(texts), out)),
                         ("side_by_side", lambda: runner.encode_all(emb._feeds(texts), out))):
            t0 = time.perf_counter()
            run()
            report[f"busy_core_encode_{key}_chunks_per_s"] = len(texts) / (time.perf_counter() - t0)
    finally:
        hog.kill()
        hog.wait()
    report["busy_core_speedup"] = report["busy_core_encode_side_by_side_chunks_per_s"] / report["busy_core_encode_one_request_chunks_per_s"]


def index_news(files: list[Path], emb, report: dict) -> Indexed:
    """Index a copy of `files` (same folders: doc ids bbc/<cat>/<n>.txt) through the real pipeline; time it."""
    from index.store import IndexStore

    with tempfile.TemporaryDirectory() as tmp:
        corpus = copy_news(files, Path(tmp))
        store = IndexStore(Path(tmp) / "index", embedder=emb)
        log(f"indexing {len(files)} news articles with the {emb.backend} backend")
        c0, t0 = time.process_time(), time.perf_counter()
        rep = store.add_paths([corpus])
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        report.update(index_docs=len(rep.added), index_chunks=rep.chunks)
        figures = dict(index_seconds=wall, index_chunks_per_s=rep.chunks / wall, index_chunks_per_cpu_s=rep.chunks / cpu)
        ids = store.chunk_ids()  # every chunk, in id order, through the store's public reads
        rows, vecs = store.chunks(ids), store.vectors_of(ids)
        got = Indexed(
            texts=[store.chunker.embed_text_of(rows[i].title, rows[i].text) for i in ids],
            chunks=[rows[i].text for i in ids],
            vectors=np.stack([vecs[i] for i in ids]) if ids else np.zeros((0, emb.dim), np.float32),
            doc_of=[rows[i].doc_id for i in ids],
            path_of={d["doc_id"]: d["path"] for d in store.documents() if d["chunks"]},
            figures=figures,
        )
        store.close()
    return got


def median_of(report: dict, keys: list[str], runs: list[dict]) -> None:
    """Each key's median over the runs into the report (with more than one run, also the runs' values)."""
    for k in keys:
        values = [r[k] for r in runs]
        report[k] = float(np.median(values))
        if len(values) > 1:
            report.update({f"{k}_run{i}": v for i, v in enumerate(values, start=1)})


def plain_encode(texts: list[str], report: dict, repeat: int = 1):
    """Plain SentenceTransformer.encode over the same texts: one call (the median of `repeat`)."""
    from index.embedder import make_embedder

    ref = make_embedder(backend="torch")
    st = ref.model
    st.encode(WARM_UP, batch_size=32)
    log(f"plain SentenceTransformer.encode over the same {len(texts)} chunks (torch, one call, batch 32)")
    runs = []
    for _ in range(max(1, repeat)):
        c0, t0 = time.process_time(), time.perf_counter()
        plain = st.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        runs.append({"plain_encode_chunks_per_s": len(texts) / wall, "plain_encode_chunks_per_cpu_s": len(texts) / cpu})
    median_of(report, ["plain_encode_chunks_per_s", "plain_encode_chunks_per_cpu_s"], runs)
    report["index_speedup"] = report["index_chunks_per_s"] / report["plain_encode_chunks_per_s"]
    report["index_speedup_cpu"] = report["index_chunks_per_cpu_s"] / report["plain_encode_chunks_per_cpu_s"]
    return ref, plain


def plain_per_doc(st, got: Indexed, report: dict) -> None:
    """The naive way: one encode call per article, in arrival order (on a fifth of them: it is slow)."""
    by_doc: dict[str, list[str]] = {}
    for d, t in zip(got.doc_of, got.texts):
        by_doc.setdefault(d, []).append(t)
    subset = list(by_doc.values())[: max(1, len(by_doc) // 5)]
    t0 = time.perf_counter()
    for ts in subset:
        st.encode(ts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    report["plain_encode_per_doc_chunks_per_s"] = sum(map(len, subset)) / (time.perf_counter() - t0)
    report["index_speedup_vs_per_doc"] = report["index_chunks_per_s"] / report["plain_encode_per_doc_chunks_per_s"]


def backend_variants(emb, texts: list[str], report: dict) -> dict:
    """Encoding speed of each converted backend that loads here; backend -> (embedder, vectors)."""
    from index.embedder import Embedder

    variants = {}
    for b in ("onnx", "onnx-int8", "openvino-int8"):
        try:
            e2 = emb if emb.backend == b else Embedder(backend=b)
        except Exception as exc:
            log(f"backend {b}: {exc}")
            continue
        if e2.backend != b:
            continue
        e2.encode(["warm up"])
        t0 = time.perf_counter()
        v = e2.encode(texts)
        report[f"encode_{b.replace('-', '_')}_chunks_per_s"] = len(texts) / (time.perf_counter() - t0)
        variants[b] = (e2, v)
    return variants


def bench_queries(got: Indexed) -> tuple[list[str], list[tuple[int, str]]]:
    """100 twelve-word windows of chunk texts, then the dev questions whose article is indexed;
    (queries, [(query number, gold doc id)] for the dev questions)."""
    rng = np.random.default_rng(0)
    queries = []
    for i in rng.choice(len(got.chunks), min(100, len(got.chunks)), replace=False):
        words = got.chunks[i].split()
        s = int(rng.integers(0, max(1, len(words) - 12)))
        queries.append(" ".join(words[s : s + 12]))
    gold = []
    qa_path = NEWS / "dev_qa.jsonl"
    if qa_path.exists():
        for line in qa_path.read_text().splitlines():
            ex = json.loads(line)
            hit = [d for d, p in got.path_of.items() if p and ex.get("doc") and p.endswith(ex["doc"])]
            if hit:
                queries.append(ex["question"])
                gold.append((len(queries) - 1, hit[0]))
    return queries, gold


def agreement(got: Indexed, emb, ref, plain: np.ndarray, variants: dict, report: dict) -> None:
    """Does the faster pipeline retrieve what the plain model retrieves?"""
    cos = (got.vectors * plain).sum(1)
    report["embed_cosine_mean"] = float(cos.mean())
    report["embed_cosine_min"] = float(cos.min())
    queries, gold = bench_queries(got)
    top_p = np.argsort(-(ref.encode(queries) @ plain.T), axis=1)[:, :10]

    def gold_hit_at_5(top) -> float:
        return float(np.mean([gd in {got.doc_of[j] for j in top[qi, :5]} for qi, gd in gold]))

    for b, (e2, v) in variants.items():
        tb = np.argsort(-(e2.encode(queries) @ v.T), axis=1)[:, :10]
        key = b.replace("-", "_")
        report[f"top10_agreement_{key}"] = float(np.mean([len(set(x) & set(y)) / 10 for x, y in zip(tb.tolist(), top_p.tolist())]))
        report[f"embed_cosine_min_{key}"] = float((v * plain).sum(1).min())
        if gold:
            report[f"gold_doc_hit_at_5_{key}"] = gold_hit_at_5(tb)
    top_m = np.argsort(-(emb.encode(queries) @ got.vectors.T), axis=1)[:, :10]
    overlap = [len(set(a) & set(b)) / 10 for a, b in zip(top_m.tolist(), top_p.tolist())]
    report["top10_agreement"] = float(np.mean(overlap))
    report["top10_identical_sets"] = float(np.mean([o == 1.0 for o in overlap]))
    if gold:
        report["gold_doc_hit_at_5_fast"] = gold_hit_at_5(top_m)
        report["gold_doc_hit_at_5_plain"] = gold_hit_at_5(top_p)
        report["gold_questions"] = len(gold)


# ---- Ray ----------------------------------------------------------------------------------
def bench_ray(limit: int, report: dict) -> None:
    """The same articles indexed serially (IndexStore.add_paths) and as a Ray Data pipeline on a local
    cluster of this machine's cores (index.distributed.add_paths_ray), same embedder and backend.
    On one machine this is Ray's overhead, or its gain where loading and chunking overlap the
    embedding; a cluster of N such machines scales ray_chunks_per_s up to N times, until the single
    writer (the writer section) is the limit."""
    import ray

    from index.distributed import add_paths_ray
    from index.embedder import make_embedder
    from index.store import IndexStore

    files = pick_news(limit)
    emb = make_embedder()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = copy_news(files, Path(tmp))
        serial = IndexStore(Path(tmp) / "serial", embedder=emb)
        log(f"ray: {len(files)} articles serially ({emb.backend})")
        t0 = time.perf_counter()
        rep = serial.add_paths([corpus])
        report["ray_serial_chunks_per_s"] = rep.chunks / (time.perf_counter() - t0)
        serial.close()
        t0 = time.perf_counter()
        ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, logging_level="WARNING")
        report["ray_cluster_start_s"] = time.perf_counter() - t0
        try:
            dist = IndexStore(Path(tmp) / "ray", embedder=emb)
            log(f"ray: the same articles on a local Ray cluster of {os.cpu_count()} CPUs")
            t0 = time.perf_counter()
            rep = add_paths_ray(dist, [corpus])
            wall = time.perf_counter() - t0
            dist.close()
        finally:
            ray.shutdown()
    report["ray_docs"] = len(rep.added)
    report["ray_chunks_per_s"] = rep.chunks / wall
    report["ray_vs_serial"] = report["ray_chunks_per_s"] / report["ray_serial_chunks_per_s"]
    report["ray_overhead_s"] = wall - rep.chunks / report["ray_serial_chunks_per_s"]
    log(f"ray: {report['ray_chunks_per_s']:.1f} chunks/s vs serial {report['ray_serial_chunks_per_s']:.1f} "
        f"({report['ray_vs_serial']:.2f}x), cluster start {report['ray_cluster_start_s']:.1f} s")


def bench_writer(limit: int, report: dict, copies: int = 5) -> None:
    """The single writer's ceiling: documents already chunked and embedded (what Ray workers hand
    the driver) committed through IndexStore.add_embedded, one transaction per 64 documents, as
    add_paths_ray does. A cluster cannot index faster than this, whatever its size."""
    import dataclasses as dc

    from index.embedder import make_embedder
    from index.loaders import load_paths
    from index.records import Document
    from index.store import IndexStore

    emb = make_embedder()
    docs = [d for d in load_paths([NEWS / "bbc"]) if isinstance(d, Document)][: max(1, limit)]
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        store = IndexStore(Path(tmp) / "w", embedder=emb)
        items = []
        for c in range(copies):  # the same articles under other ids: a bigger sample, same sizes
            for d in docs:
                d2 = dc.replace(d, doc_id=f"{c}/{d.doc_id}", path=f"{c}/{d.path}")
                chunks = store.chunker.chunk(d2)
                v = rng.standard_normal((len(chunks), emb.dim)).astype(np.float32)
                items.append((d2, chunks, v / np.linalg.norm(v, axis=1, keepdims=True)))
        n = sum(len(cs) for _, cs, _ in items)
        t0 = time.perf_counter()
        for i in range(0, len(items), 64):
            store.add_embedded(items[i : i + 64], save=False)
        store.save()
        wall = time.perf_counter() - t0
        report["writer_chunks_per_s"] = n / wall
        store.close()  # checkpoints the WAL: what stays on disk
        report["store_bytes_per_chunk"] = sum(f.stat().st_size for f in (Path(tmp) / "w").iterdir() if f.is_file()) / n
    log(f"writer: {report['writer_chunks_per_s']:.0f} chunks/s committed, {report['store_bytes_per_chunk']:.0f} bytes per chunk on disk")


# ---- vectors ------------------------------------------------------------------------------
SERVE = r"""
import json, sys, time, numpy as np, psutil, faiss
sys.path.insert(0, {repo!r})
from index.vectors import VectorIndex
proc = psutil.Process()
base = proc.memory_info().rss
q = np.load({qfile!r})
vi = VectorIndex.load({path!r}, 384, "ivf", mmap={mmap})
lat = []
for row in q:
    t = time.perf_counter(); vi.search(row, 10); lat.append(time.perf_counter() - t)
print(json.dumps({{"rss_mb": (proc.memory_info().rss - base) / 2**20, "p50": float(np.median(lat)), "p95": float(np.percentile(lat, 95))}}))
"""


def bench_vectors(sizes: list[int], nq: int, report: dict) -> None:
    import faiss

    from index.vectors import make_vector_index

    for n in sizes:
        tag = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}m"
        both = clustered_vectors(n + nq, 384, seed=n % 9973)
        x, q = both[:n], both[n:]
        del both
        exact = faiss.IndexFlatIP(384)
        exact.add(x)
        _, truth = exact.search(q, 10)
        lat = []
        for row in q[: min(nq, 100 if n >= 1_000_000 else nq)]:
            t = time.perf_counter()
            exact.search(row.reshape(1, -1), 10)
            lat.append(time.perf_counter() - t)
        report[f"exact_p50_ms_{tag}"] = pct(lat, 50) * 1e3
        report[f"exact_p95_ms_{tag}"] = pct(lat, 95) * 1e3
        del exact
        log(f"{n} vectors: building IVF")
        t0 = time.perf_counter()
        vi = make_vector_index(384, "ivf")
        vi.add(np.arange(n, dtype=np.int64), x)
        report[f"ann_build_s_{tag}"] = time.perf_counter() - t0
        report[f"ann_nlist_{tag}"] = int(vi.index.nlist)
        report[f"ann_nprobe_{tag}"] = int(vi.nprobe)
        del x
        got = [[i for i, _ in h] for h in vi.search_many(q, 10)]
        report[f"ann_recall_at_10_{tag}"] = recall_at_k(got, truth.tolist(), 10)
        lat = []
        for row in q:
            t = time.perf_counter()
            vi.search(row, 10)
            lat.append(time.perf_counter() - t)
        report[f"retrieval_p50_ms_{tag}"] = pct(lat, 50) * 1e3
        report[f"retrieval_p95_ms_{tag}"] = pct(lat, 95) * 1e3
        log(f"{n} vectors: exact p95 {report[f'exact_p95_ms_{tag}']:.1f} ms, IVF p95 {report[f'retrieval_p95_ms_{tag}']:.1f} ms, recall@10 {report[f'ann_recall_at_10_{tag}']:.3f}")
        if n == max(sizes):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "vectors.faiss"
                vi.save(path)
                report[f"ann_file_mb_{tag}"] = path.stat().st_size / 2**20
                del vi
                qfile = str(Path(tmp) / "q.npy")
                np.save(qfile, q)
                for mm in (False, True):
                    r = run_child(SERVE.format(repo=str(REPO), qfile=qfile, path=str(path), mmap=mm), "serve subprocess", 600)
                    if r is None:
                        continue
                    key = "peak_rss_mb_per_1m_chunks" + ("_mmap" if mm else "")
                    report[key] = r["rss_mb"] * 1_000_000 / n
                    if mm:
                        report["retrieval_p95_ms_mmap"] = r["p95"] * 1e3
        else:
            del vi


# ---- PQ: past 10M chunks --------------------------------------------------------------------
SERVE_PQ = r"""
import json, sys, time, numpy as np, psutil, faiss
sys.path.insert(0, {repo!r})
from index.vectors import VectorIndex
proc = psutil.Process()
base = proc.memory_info().rss
q = np.load({qfile!r})
vecs = np.memmap({vfile!r}, dtype=np.float32, mode="r", shape=({n}, 384))
vi = VectorIndex.load({path!r}, 384, "ivfpq")
held = proc.memory_info().rss - base
vi.exact = lambda ids: {{i: vecs[i] for i in ids}}  # the store reads these rows from SQLite
lat = []
for row in q:
    t = time.perf_counter(); vi.search(row, 10); lat.append(time.perf_counter() - t)
print(json.dumps({{"rss_mb": held / 2**20, "p50": float(np.median(lat)), "p95": float(np.percentile(lat, 95))}}))
"""


def exact_top(vecs: np.ndarray, q: np.ndarray, k: int = 10) -> list[list[int]]:
    """Exact top-k row numbers for each query, reading vecs (memory-mapped) by blocks."""
    best_s = np.full((len(q), k), -np.inf, np.float32)
    best_i = np.full((len(q), k), -1, np.int64)
    for i in range(0, len(vecs), 200_000):
        s = q @ np.asarray(vecs[i : i + 200_000]).T
        top = np.argpartition(-s, min(k, s.shape[1] - 1), axis=1)[:, :k]
        alls = np.concatenate([best_s, np.take_along_axis(s, top, 1)], 1)
        alli = np.concatenate([best_i, top + i], 1)
        order = np.argsort(-alls, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(alls, order, 1), np.take_along_axis(alli, order, 1)
    return best_i.tolist()


def bench_pq(sizes: list[int], nq: int, report: dict) -> None:
    """IVF-PQ ("ivfpq") over clustered synthetic vectors written to a memory-mapped file (10M x 384
    floats are 15 GB: never all in RAM), re-scored from that file as the store re-scores from SQLite."""
    from index.vectors import make_vector_index

    for n in sizes:
        tag = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}m"
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
            vfile = str(Path(tmp) / "vectors.f32")
            log(f"{n} vectors: writing clustered synthetic vectors to {vfile}")
            vecs = np.memmap(vfile, dtype=np.float32, mode="w+", shape=(n + nq, 384))
            clustered_vectors(n + nq, 384, seed=n % 9973, out=vecs)
            q = np.array(vecs[n:])
            vecs = np.memmap(vfile, dtype=np.float32, mode="r", shape=(n, 384))
            truth = exact_top(vecs, q)
            log(f"{n} vectors: building IVF-PQ")
            t0 = time.perf_counter()
            vi = make_vector_index(384, "ivfpq")
            vi.exact = lambda ids: {i: vecs[i] for i in ids}
            vi.fit(np.arange(n, dtype=np.int64), vecs)
            report[f"pq_build_s_{tag}"] = time.perf_counter() - t0
            report[f"pq_nlist_{tag}"] = int(vi.index.nlist)
            report[f"pq_nprobe_{tag}"] = int(vi.nprobe)
            got = [[i for i, _ in h] for h in vi.search_many(q, 10)]
            report[f"pq_recall_at_10_{tag}"] = recall_at_k(got, truth, 10)
            ex = vi.exact
            vi.exact = None
            codes = [[i for i, _ in h] for h in vi.search_many(q, 10)]
            report[f"pq_codes_only_recall_at_10_{tag}"] = recall_at_k(codes, truth, 10)
            vi.exact = ex
            path = Path(tmp) / "vectors.faiss"
            vi.save(path)
            report[f"pq_file_mb_{tag}"] = path.stat().st_size / 2**20
            del vi
            qfile = str(Path(tmp) / "q.npy")
            np.save(qfile, q)
            r = run_child(SERVE_PQ.format(repo=str(REPO), qfile=qfile, vfile=vfile, n=n, path=str(path)), "PQ serve subprocess", 1800)
            if r is None:
                continue
            report[f"pq_retrieval_p50_ms_{tag}"] = r["p50"] * 1e3
            report[f"pq_retrieval_p95_ms_{tag}"] = r["p95"] * 1e3
            report[f"pq_rss_mb_per_1m_chunks_{tag}"] = r["rss_mb"] * 1_000_000 / n
            log(f"{n} vectors: IVF-PQ p95 {r['p95'] * 1e3:.1f} ms, recall@10 {report[f'pq_recall_at_10_{tag}']:.3f}, "
                f"{report[f'pq_rss_mb_per_1m_chunks_{tag}']:.0f} MB per 1M, built in {report[f'pq_build_s_{tag}']:.0f} s")


# ---- QA -------------------------------------------------------------------------------------
def bench_qa(report: dict) -> None:
    from index import EXAMPLES_DIR, open_index
    from qa import QA
    from qa.records import Answer

    with tempfile.TemporaryDirectory() as tmp:
        store = open_index(tmp)
        store.add_paths([EXAMPLES_DIR])
        qa = QA(store=store)
        t0 = time.perf_counter()
        qa.ask(QUESTIONS[0])  # loads the generator: excluded from the per-question numbers
        report["generator_first_answer_s"] = time.perf_counter() - t0
        ttft, total, declined = [], [], 0
        for qn in QUESTIONS:
            t0 = time.perf_counter()
            first = None
            ans = None
            for piece in qa.ask_stream(qn):
                if isinstance(piece, str) and piece and first is None:
                    first = time.perf_counter() - t0
                elif isinstance(piece, Answer):
                    ans = piece
            el = time.perf_counter() - t0
            ttft.append(first if first is not None else el)
            total.append(el)
            declined += bool(ans is not None and ans.declined)
        report["ttft_p50_s"] = pct(ttft, 50)
        report["ttft_p95_s"] = pct(ttft, 95)
        report["answer_p50_s"] = pct(total, 50)
        report["answer_p95_s"] = pct(total, 95)
        report["qa_questions"] = len(QUESTIONS)
        report["qa_declined"] = declined
        store.close()


STARTUP = r"""
import json, sys, time
t = time.perf_counter()
sys.path.insert(0, {repo!r})
import index
from qa import QA
store = index.ensure_default_index({idx!r})
qa = QA(store=store)
a = qa.ask({q!r})
import psutil
print(json.dumps({{"s": time.perf_counter() - t, "text": a.text[:80], "rss_mb": psutil.Process().memory_info().rss / 2**20}}))
"""


def bench_startup(report: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, QA_CACHE_DIR=str(Path(tmp) / "cache"))
        code = STARTUP.format(repo=str(REPO), idx=str(Path(tmp) / "index"), q=QUESTIONS[2])
        for label in ("cold", "warm"):
            r = run_child(code, f"{label} start", 900, env=env, cwd=str(REPO))
            if r is None:
                return
            report[f"{label}_start_s"] = r["s"]
            if label == "warm":  # one answering process: embedder, reader, a small index (what a serve replica holds)
                report["answering_process_rss_mb"] = r["rss_mb"]
            log(f"{label} start: {report[f'{label}_start_s']:.1f} s")


# ---- report ---------------------------------------------------------------------------------
def table(report: dict, machine) -> str:
    lines = [f"CPU: {machine.label()}; load average {report.get('load_average_1m', float('nan')):.1f}", "",
             f"{'metric':40s} {'value':>12s}  target"]
    for k, v in report.items():
        if isinstance(v, (int, float)):
            lines.append(f"{k:40s} {v:12.3f}  {target_mark(k, v, machine.vector_extensions)}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="bench/report.json")
    ap.add_argument("--news-limit", type=int, default=0, help="news articles to index (default 0: all of ../shared/data/news/bbc)")
    ap.add_argument("--repeat", type=int, default=1, help="index and plain-encode runs; their medians are reported (default 1)")
    ap.add_argument("--ray-limit", type=int, default=200, help="news articles indexed serially and on Ray for the ray section")
    ap.add_argument("--sizes", default="10000,100000,1000000", help="vector counts for the retrieval sweep")
    ap.add_argument("--pq-sizes", default="1000000,10000000", help="vector counts for the IVF-PQ sweep (memory-mapped; $BENCH_TMP holds the 15 GB of 10M)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--skip", action="append", default=[], choices=["index", "ray", "writer", "vectors", "pq", "qa", "startup"])
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    report: dict = {"cpu_count": os.cpu_count() or 0}
    machine = machine_info()
    # the machine every figure was measured on, and when (the figures themselves are numbers only)
    meta = {"machine": dataclasses.asdict(machine), "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "sections": []}
    log(f"on {machine.label()}")
    t0 = time.time()
    sections = [
        ("index", lambda: bench_index(args.news_limit, report, args.repeat)),
        ("ray", lambda: bench_ray(args.ray_limit, report)),
        ("writer", lambda: bench_writer(args.ray_limit, report)),
        ("vectors", lambda: bench_vectors([int(s) for s in args.sizes.split(",") if s], args.queries, report)),
        ("pq", lambda: bench_pq([int(s) for s in args.pq_sizes.split(",") if s], args.queries, report)),
        ("qa", lambda: bench_qa(report)),
        ("startup", lambda: bench_startup(report)),
    ]
    for name, fn in sections:
        if name in args.skip:
            continue
        meta["sections"].append(name)
        log(f"section {name}")
        s0 = time.time()
        try:
            fn()
        except Exception as exc:  # one failing section must not lose the others
            log(f"section {name} failed: {type(exc).__name__}: {exc}")
            report[f"{name}_failed"] = 1
        report[f"{name}_section_s"] = time.time() - s0
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(dict({k: v for k, v in report.items() if isinstance(v, (int, float))}, **meta), indent=2) + "\n")
    report["bench_seconds"] = time.time() - t0
    report["load_average_1m"] = os.getloadavg()[0]
    report = {k: v for k, v in report.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    Path(args.out).write_text(json.dumps(dict(report, **meta), indent=2) + "\n")
    print(table(report, machine))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
