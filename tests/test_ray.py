"""Distributed indexing (`python -m index add PATH... --ray`) on a real local Ray cluster (2 CPUs).

The Ray-built index of 200 BBC articles must be the serial index (documents, chunks, texts, vectors
within cosine 0.999); a worker killed mid-run and a driver killed mid-run leave no duplicates; the
report (added / replaced / unchanged / skipped) is the serial add's; without --ray Ray is never imported.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

pytest.importorskip("ray.data")

from conftest import doc_count  # noqa: E402
from index import IndexStore  # noqa: E402
from index.__main__ import main as cli_main  # noqa: E402
from index.distributed import add_paths_ray  # noqa: E402

pytestmark = pytest.mark.ray

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)}
CATEGORIES = ["business", "entertainment", "politics", "sport", "tech"]
PER_CATEGORY = 40  # 5 x 40 = 200 articles
BATCH = 64  # documents per transaction (add_paths_ray's default)


@pytest.fixture(scope="module")
def articles(tmp_path_factory, bbc_dir) -> Path:
    """The first 40 articles (sorted) of each BBC category, copied to a temporary folder."""
    out = tmp_path_factory.mktemp("ray") / "bbc"
    for cat in CATEGORIES:
        (out / cat).mkdir(parents=True)
        for f in sorted((bbc_dir / cat).glob("*.txt"))[:PER_CATEGORY]:
            shutil.copy(f, out / cat / f.name)
    return out


@pytest.fixture(scope="module")
def cluster():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def serial(tmp_path_factory, articles, embedder) -> IndexStore:
    store = IndexStore(tmp_path_factory.mktemp("serial") / "idx", embedder=embedder)
    rep = store.add_paths([articles])
    assert len(rep.added) == 200 and not rep.skipped
    return store


def snapshot(store: IndexStore) -> tuple[dict, dict, dict]:
    """(doc_id -> (title, text, hash, n_chunks), (doc_id, ord) -> (start, end, title, text), (doc_id, ord) -> vector)."""
    docs = {r[0]: r[1:] for r in store.conn.execute("SELECT doc_id, title, text, hash, n_chunks FROM documents")}
    rows = store.conn.execute('SELECT doc_id, ord, start, "end", title, text, vector FROM chunks').fetchall()
    chunks = {(r[0], r[1]): r[2:6] for r in rows}
    vecs = {(r[0], r[1]): np.frombuffer(r[6], dtype=np.float32) for r in rows}
    assert len(chunks) == len(rows), "duplicate (doc_id, ord)"
    return docs, chunks, vecs


def sound(store: IndexStore) -> dict:
    c = store.integrity()
    assert c["vectors_match"] and c["fts_intact"] and c["vectors"] == c["chunks"] == c["chunks_listed"]
    assert c["duplicate_ords"] == 0 and c["partial_documents"] == 0 and c["orphan_chunks"] == 0
    return c


def assert_same_index(got: IndexStore, want: IndexStore) -> None:
    sound(got)
    gd, gc, gv = snapshot(got)
    wd, wc, wv = snapshot(want)
    assert gd == wd  # same documents: ids, titles, texts, content hashes, chunk counts
    assert gc == wc  # same chunks: offsets, titles, texts
    cos = np.array([float(gv[k] @ wv[k]) for k in wc])
    assert cos.min() >= 0.999, f"worst cosine {cos.min():.5f}"


def test_ray_index_equals_serial_index(tmp_path, cluster, serial, articles):
    batches = []
    store = IndexStore(tmp_path / "idx", embedder=serial.embedder)
    t0 = time.perf_counter()
    rep = add_paths_ray(store, [articles], on_batch=batches.append)
    took = time.perf_counter() - t0
    assert len(rep.added) == 200 and rep.replaced == rep.unchanged == rep.skipped == []
    assert rep.chunks == serial.stats()["chunks"]
    assert_same_index(store, serial)
    # the work ran in Ray actors (not this process), one transaction per batch of 64 documents
    workers = batches[-1]["workers"]
    assert os.getpid() not in workers and sum(workers.values()) == 200
    assert batches[-1]["written"] == -(-200 // BATCH) and store.generation == -(-200 // BATCH)
    print(f"\nray add: 200 docs, {rep.chunks} chunks in {took:.1f}s (workers {workers})")

    # a second run finds everything unchanged: nothing embedded twice, nothing written
    gen = store.generation
    rep = add_paths_ray(store, [articles])
    assert len(rep.unchanged) == 200 and rep.added == [] and rep.chunks == 0
    assert store.generation == gen
    store.close()


def test_killed_embedding_worker_leaves_no_duplicates(tmp_path, cluster, serial, articles):
    killed: list[int] = []
    seen: list[dict] = []
    actors: set[int] = set()  # the embedding actors' processes when one is killed

    def kill_one(info):
        # after the first commit, SIGKILL the process of an embedding actor that produced it (it has
        # more tasks queued): Ray restarts the actor and retries the lost task; the driver still
        # writes each document once
        seen.append(info)
        if not killed:
            pid = next(iter(info["workers"]))
            actors.update(embedding_actors())
            assert pid in actors
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    store = IndexStore(tmp_path / "idx", embedder=serial.embedder)
    rep = add_paths_ray(store, [articles], on_batch=kill_one)
    assert killed, "no batch was written"
    assert not alive(killed[0])  # it is really gone
    after = seen[-1]["workers"]  # (blocks the dead actor finished before the kill are still used)
    assert set(after) - actors, "no restarted actor did the lost work"  # Ray restarted it, and retried its task there
    assert sum(after.values()) == 200
    assert len(rep.added) == 200 and rep.chunks == serial.stats()["chunks"] and not rep.skipped
    assert_same_index(store, serial)
    store.close()


def embedding_actors() -> set[int]:
    """Pids of this test's Ray embedding actors (Ray names an actor's process after its class)."""
    out = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if "MapBatches(_Embed)" in " ".join(p.cmdline()):
                out.add(p.pid)
        except psutil.Error:
            pass
    return out


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_killed_driver_resumes_without_duplicates(tmp_path, cluster, serial, articles, capsys):
    """`python -m index add ... --ray ADDRESS` (a second driver joining the running cluster) killed
    after its first commit; the same add run again finishes the index, skipping what was committed."""
    idx = tmp_path / "idx"
    address = cluster.get_runtime_context().gcs_address
    # (a local ray.init() turns on Ray's token authentication and puts RAY_AUTH_MODE=token in this
    # process's environment; a second driver needs it too, with the token in ~/.ray/auth_token)
    proc = subprocess.Popen([sys.executable, "-m", "index", "add", str(articles), "--index-dir", str(idx), "--quiet", "--ray", address],
                            cwd=REPO_ROOT, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    try:
        while doc_count(idx / "meta.sqlite") == 0:
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.time() < deadline, "the add never committed"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    committed = doc_count(idx / "meta.sqlite")
    assert 0 < committed < 200 and committed % BATCH == 0, committed  # whole batches only

    store = IndexStore(idx, embedder=serial.embedder)
    assert sound(store)["documents"] == committed
    store.close()
    # resume through the CLI: bare --ray uses the Ray already running in this process
    assert cli_main(["add", str(articles), "--index-dir", str(idx), "--quiet", "--ray"]) == 0
    out = capsys.readouterr().out
    assert f"added {200 - committed}, replaced 0, unchanged {committed}, skipped 0 files" in out
    store = IndexStore(idx, embedder=serial.embedder)
    assert_same_index(store, serial)
    store.close()


def test_report_matches_serial_for_errors_duplicates_and_edits(tmp_path, cluster, embedder):
    """Skipped files, a JSONL record id given twice, an unchanged and an edited article: the Ray add
    reports and stores what the serial add does."""
    src = tmp_path / "src"
    (src / "world").mkdir(parents=True)
    (src / "world" / "storm.txt").write_text("Storm hits coast\n\nA storm hit the coast on Monday. Thousands lost power.\n")
    (src / "world" / "rates.txt").write_text("Bank raises rates\n\nThe central bank raised rates by a quarter point.\n")
    (src / "world" / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (src / "README.md").write_text("# not an article\n")
    (src / "empty.txt").write_text("   \n")
    (src / "feed.jsonl").write_text(
        '{"id": "a1", "title": "Rail strike", "text": "Train drivers walked out on Friday."}\n'
        "not json\n"
        '{"id": "a1", "title": "Rail strike again", "text": "A second copy with the same id."}\n'
        '{"title": "Harbour plan", "text": "The harbour plan was approved by the council."}\n'
    )

    def both(tag):
        out = {}
        for how in ("serial", "ray"):
            store = IndexStore(tmp_path / how, embedder=embedder)
            rep = store.add_paths([src]) if how == "serial" else add_paths_ray(store, [src], batch_docs=2)
            out[how] = rep, snapshot(store)
            sound(store)
            store.close()
        (rs, (sd, sc, sv)), (rr, (rd, rc, rv)) = out["serial"], out["ray"]
        assert (sorted(rr.added), sorted(rr.replaced), sorted(rr.unchanged)) == (sorted(rs.added), sorted(rs.replaced), sorted(rs.unchanged)), tag
        assert sorted((e.path, e.reason) for e in rr.skipped) == sorted((e.path, e.reason) for e in rs.skipped), tag
        assert rr.chunks == rs.chunks and rd == sd and rc == sc, tag
        assert min(float(sv[k] @ rv[k]) for k in sc) >= 0.999
        return rs

    rep = both("first add")
    assert len(rep.added) == 4 and len(rep.skipped) == 5  # photo, README, empty, bad JSON line, duplicate id
    (src / "world" / "rates.txt").write_text("Bank raises rates\n\nThe central bank raised rates by half a point.\n")
    rep = both("after an edit")
    assert rep.replaced == ["world/rates.txt"] and len(rep.unchanged) == 3 and rep.added == []


def test_without_ray_flag_ray_is_never_imported(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("Storm hits coast\n\nA storm hit the coast on Monday.\n")
    code = (
        "import sys, index\n"
        "from index.__main__ import main\n"
        f"rc = main(['add', {str(src)!r}, '--index-dir', {str(tmp_path / 'idx')!r}, '--quiet'])\n"
        "bad = sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.') or m == 'index.distributed')\n"
        "print(rc, bad)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "0 []"
