"""The FAISS + SQLite store: add / unchanged / replace / remove, CLI, crash safety, corruption, concurrency."""
from __future__ import annotations

import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from index import CorruptIndex, IndexError_, IndexStore
from index.__main__ import main as cli_main
from index.records import Document

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)}

ARTICLES = {
    "zoo.txt": "Zoo welcomes zebra foal\n\nA zebra foal was born at the city zoo on Sunday. Keepers said the zebra and her mother are healthy.",
    "rates.txt": "Bank raises rates\n\nThe central bank raised interest rates by a quarter point. Mortgage costs are expected to rise.",
    "cup.txt": "United win the cup\n\nUnited beat City 2-1 in the cup final at Wembley. The winning goal came in extra time.",
}


def write_articles(folder: Path, articles: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in articles.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def consistency(store: IndexStore) -> dict:
    """Check SQLite, FTS and FAISS agree; return counts."""
    conn = store.conn
    chunk_ids = {r[0] for r in conn.execute("SELECT id FROM chunks")}
    assert set(store.vectors.ids().tolist()) == chunk_ids
    assert store.vectors.ntotal == len(chunk_ids)
    fts = conn.execute("SELECT COUNT(*) FROM chunks_fts").fetchone()[0]
    assert fts == len(chunk_ids)
    dup = conn.execute("SELECT doc_id, ord, COUNT(*) FROM chunks GROUP BY doc_id, ord HAVING COUNT(*) > 1").fetchall()
    assert dup == []
    bad = conn.execute(
        "SELECT d.doc_id FROM documents d LEFT JOIN chunks c ON c.doc_id = d.doc_id GROUP BY d.doc_id HAVING COUNT(c.id) != d.n_chunks"
    ).fetchall()
    assert bad == [], "a document row whose chunks are partly missing"
    orphans = conn.execute("SELECT COUNT(*) FROM chunks c LEFT JOIN documents d ON d.doc_id = c.doc_id WHERE d.doc_id IS NULL").fetchone()[0]
    assert orphans == 0
    return {"documents": conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0], "chunks": len(chunk_ids)}


@pytest.fixture(scope="module")
def built_index(tmp_path_factory, embedder) -> Path:
    """An index of ARTICLES, built once; tests that damage it work on a copy (see `index_copy`)."""
    path = tmp_path_factory.mktemp("built") / "idx"
    store = IndexStore(path, embedder=embedder)
    store.add_documents([Document(n, t.split("\n")[0], t) for n, t in ARTICLES.items()])
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return path


@pytest.fixture
def index_copy(built_index, tmp_path) -> Path:
    shutil.copytree(built_index, tmp_path / "idx")
    return tmp_path / "idx"


def top_dense(store: IndexStore, text: str, k: int = 3):
    vec = store.embedder.encode([text])[0]
    return store.search_dense(vec, k)


def doc_of(store: IndexStore, hits) -> list[str]:
    rows = store.chunks([i for i, _ in hits])
    return [rows[i][0] for i, _ in hits]


# ---- add / unchanged / replace / remove ---------------------------------------------------------

def test_add_unchanged_replace_remove(tmp_path, embedder):
    folder = write_articles(tmp_path / "news", ARTICLES)
    store = IndexStore(tmp_path / "idx", embedder=embedder)
    rep = store.add_paths([folder])
    assert sorted(rep.added) == sorted(ARTICLES) and rep.skipped == [] and rep.chunks >= 3
    counts = consistency(store)
    assert counts["documents"] == 3
    assert doc_of(store, top_dense(store, "zebra foal born at the zoo"))[0] == "zoo.txt"
    assert doc_of(store, store.search_lexical("zebra", 5)) == ["zoo.txt"]
    gen = store.generation

    # unchanged: nothing is written
    rep = store.add_paths([folder])
    assert sorted(rep.unchanged) == sorted(ARTICLES) and rep.added == rep.replaced == [] and rep.chunks == 0
    assert store.generation == gen and consistency(store) == counts

    # changed file: its chunks are replaced, old text unretrievable (dense, lexical, SQLite)
    old_ids = {r[0] for r in store.conn.execute("SELECT id FROM chunks WHERE doc_id='zoo.txt'")}
    (folder / "zoo.txt").write_text(ARTICLES["zoo.txt"].replace("zebra", "giraffe"), encoding="utf-8")
    rep = store.add_paths([folder])
    assert rep.replaced == ["zoo.txt"] and sorted(rep.unchanged) == ["cup.txt", "rates.txt"]
    assert consistency(store) == counts
    assert store.search_lexical("zebra", 5) == []
    assert doc_of(store, store.search_lexical("giraffe", 5)) == ["zoo.txt"]
    assert "zebra" not in store.document("zoo.txt").text
    new_ids = {r[0] for r in store.conn.execute("SELECT id FROM chunks WHERE doc_id='zoo.txt'")}
    assert not (old_ids & set(store.vectors.ids().tolist()))
    assert old_ids.isdisjoint(new_ids)  # chunk ids are never reused
    assert store.chunks(sorted(old_ids)) == {}
    hits = top_dense(store, store.chunker.embed_text(store.chunker.chunk(store.document("zoo.txt"))[0]), 1)
    assert hits[0][0] in new_ids and hits[0][1] > 0.99

    # remove: gone from SQLite, FTS and FAISS
    assert store.remove("zoo.txt") == len(new_ids)
    assert store.remove("zoo.txt") == 0
    assert store.document("zoo.txt") is None
    assert store.search_lexical("giraffe", 5) == []
    assert not (new_ids & set(store.vectors.ids().tolist()))
    assert "zoo.txt" not in doc_of(store, top_dense(store, "giraffe foal born at the zoo", 5))
    after = consistency(store)
    assert after["documents"] == 2
    store.close()

    # reopened from disk: same content, FAISS file agrees with SQLite
    again = IndexStore(tmp_path / "idx", embedder=embedder)
    assert consistency(again) == after
    assert [d["doc_id"] for d in again.documents()] == ["cup.txt", "rates.txt"]
    again.close()


class CountingEmbedder:
    """The real embedder, counting the texts that reach the model."""

    def __init__(self, inner):
        self.inner, self.texts = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, texts, **kw):
        self.texts += list(texts)
        return self.inner.encode(texts, **kw)


def test_repeated_text_reuses_vectors(tmp_path, embedder, monkeypatch):
    """A story filed twice is embedded once; an edited article re-embeds only its changed passages."""
    sentences = [f"Sentence number {i} of the council report says the budget for item {i} was {i * 7} million pounds." for i in range(40)]
    long_text = "Council budget report\n\n" + " ".join(sentences)
    folder = write_articles(tmp_path / "news", {"a.txt": long_text, "wire-copy.txt": long_text})
    store = IndexStore(tmp_path / "idx", embedder=embedder)
    counting = CountingEmbedder(embedder)
    monkeypatch.setattr(store, "_embedder", counting)
    rep = store.add_paths([folder])
    n = rep.chunks // 2
    assert sorted(rep.added) == ["a.txt", "wire-copy.txt"] and n >= 3
    assert len(counting.texts) == n  # the copy's chunks came from the first one's vectors
    rows = store.conn.execute("SELECT doc_id, ord, vector FROM chunks ORDER BY doc_id, ord").fetchall()
    assert [r[2] for r in rows[:n]] == [r[2] for r in rows[n:]]
    # the reused vectors are the model's own: each chunk still finds itself
    first = store.chunker.chunk(store.document("a.txt"))[0]
    assert top_dense(store, store.chunker.embed_text(first), 2)[0][1] > 0.99
    store.close()

    # a new process (empty cache) edits the last sentence: only the last chunk goes to the model
    store = IndexStore(tmp_path / "idx", embedder=embedder)
    counting = CountingEmbedder(embedder)
    monkeypatch.setattr(store, "_embedder", counting)
    (folder / "a.txt").write_text(long_text.replace("item 39 was 273", "item 39 was 274"), encoding="utf-8")
    rep = store.add_paths([folder])
    assert rep.replaced == ["a.txt"] and rep.unchanged == ["wire-copy.txt"]
    assert len(counting.texts) == 1 and "274 million" in counting.texts[0]
    fresh = embedder.encode(counting.texts)[0]
    stored = store.conn.execute("SELECT vector FROM chunks WHERE doc_id='a.txt' ORDER BY ord DESC LIMIT 1").fetchone()[0]
    assert np.allclose(np.frombuffer(stored, dtype=np.float32), fresh, atol=1e-6)
    consistency(store)
    # the index remembers how it was embedded, and queries use the same backend
    assert store._meta("embed_backend") == embedder.backend
    store.close()


def test_replace_then_crash_before_faiss_save_serves_new_vectors(index_copy, embedder):
    """A replace committed to SQLite but not yet to the FAISS file must not leave stale vectors."""
    store = IndexStore(index_copy, embedder=embedder)  # ARTICLES, saved; cup.txt holds the highest chunk ids
    changed = Document("cup.txt", "Storm closes airport", "Storm closes airport\n\nHeavy snow closed the airport and grounded all flights.")
    store.add_documents([changed], save=False)  # committed; the FAISS file is now behind
    store.close()  # "crash": no save
    store = IndexStore(index_copy, embedder=embedder)
    consistency(store)
    hits = top_dense(store, store.chunker.embed_text(store.chunker.chunk(changed)[0]), 1)
    assert doc_of(store, hits) == ["cup.txt"] and hits[0][1] > 0.99  # the new vector, not the old one
    store.close()


def test_duplicate_doc_ids_in_one_add(tmp_path, embedder):
    a = write_articles(tmp_path / "a", {"x.txt": ARTICLES["zoo.txt"]})
    b = write_articles(tmp_path / "b", {"x.txt": ARTICLES["rates.txt"]})
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"id": 1, "title": "One", "text": "First."}\n{"id": 1, "title": "Again", "text": "Second."}\n', encoding="utf-8")
    store = IndexStore(tmp_path / "idx", embedder=embedder)
    rep = store.add_paths([a / "x.txt", b / "x.txt", feed])
    assert sorted(rep.added) == ["feed.jsonl#1", "x.txt"]
    assert sorted(e.reason.split("'")[1] for e in rep.skipped) == ["feed.jsonl#1", "x.txt"]
    assert all("duplicate document id" in e.reason for e in rep.skipped)
    assert "zebra" in store.document("x.txt").text  # the first one is kept
    rep = store.add_documents([Document("y", "Y", "Y\n\none"), Document("y", "Y", "Y\n\ntwo")])
    assert rep.added == ["y"] and len(rep.skipped) == 1
    consistency(store)
    store.close()


# ---- CLI ---------------------------------------------------------------------------------------

def run_cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "index", *args], cwd=REPO_ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)


def test_cli_add_list_remove_stats(tmp_path, embedder, capsys):
    folder = write_articles(tmp_path / "news", ARTICLES)
    (folder / "broken.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (folder / "feed.jsonl").write_text(
        '{"id": "f1", "title": "Ferry strike", "text": "Ferry crews walked out."}\n{"title": "Fog", "text": "Thick fog delayed ferries."}\n',
        encoding="utf-8",
    )
    idx = str(tmp_path / "idx")
    # add runs in-process (shares the loaded embedder); the read-only commands run as real subprocesses
    assert cli_main(["add", str(folder), "--index-dir", idx, "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "added 5, replaced 0, unchanged 0, skipped 1" in out
    assert "broken.txt" in err and "PNG" in err
    assert cli_main(["--index-dir", idx, "add", str(folder), "--quiet"]) == 0
    assert "added 0, replaced 0, unchanged 5" in capsys.readouterr().out
    # removing a JSONL file removes each of its records
    assert cli_main(["remove", "feed.jsonl", "--index-dir", idx]) == 0
    assert "removed 2 documents from feed.jsonl" in capsys.readouterr().out

    r = run_cli("list", "--index-dir", idx)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert [ln.split("\t")[0] for ln in lines] == ["cup.txt", "rates.txt", "zoo.txt"]
    assert "Zoo welcomes zebra foal" in r.stdout

    r = run_cli("--index-dir", idx, "remove", "zoo.txt")
    assert r.returncode == 0 and "removed zoo.txt" in r.stdout, r.stderr
    r = run_cli("--index-dir", idx, "remove", "zoo.txt")
    assert r.returncode == 1 and "no document 'zoo.txt'" in r.stderr

    r = run_cli("stats", "--index-dir", idx)
    assert r.returncode == 0, r.stderr
    import json

    stats = json.loads(r.stdout)
    assert stats["documents"] == 2 and stats["embedder"] == "minilm" and stats["chunks"] >= 2
    store = IndexStore(idx, embedder=embedder)
    assert consistency(store)["documents"] == 2  # the CLI's removal reached FAISS and FTS too
    assert store.search_lexical("zebra", 5) == []
    store.close()

    r = run_cli("list", "--index-dir", str(tmp_path / "nothing-here"))
    assert r.returncode == 2 and "no index at" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "exc,rc,says",
    [
        (KeyboardInterrupt(), 130, "run the same add again to resume"),
        (sqlite3.DatabaseError("database disk image is malformed"), 2, "Rebuild it"),
        (sqlite3.OperationalError("database is locked"), 2, "busy"),
    ],
    ids=["ctrl-c", "damaged", "locked"],
)
def test_cli_add_failures_are_reported_without_traceback(tmp_path, embedder, capsys, monkeypatch, exc, rc, says):
    folder = write_articles(tmp_path / "news", {"zoo.txt": ARTICLES["zoo.txt"]})

    def boom(self, *a, **kw):
        raise exc

    monkeypatch.setattr(IndexStore, "add_paths", boom)
    assert cli_main(["add", str(folder), "--index-dir", str(tmp_path / "idx"), "--quiet"]) == rc
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


# ---- crash safety and corruption ----------------------------------------------------------------

KILL_SCRIPT = """
import sys
from index import IndexStore
IndexStore(sys.argv[1]).add_paths([sys.argv[2]], batch_docs=10)
print("finished")
"""


def generated_articles(n: int) -> dict[str, str]:
    topics = ["harbour", "festival", "election", "railway", "museum", "hospital", "vineyard", "stadium", "library", "bridge"]
    out = {}
    for i in range(n):
        t = topics[i % len(topics)]
        out[f"art{i:03d}.txt"] = (
            f"Story {i} about the {t}\n\nOfficials in town {i} discussed the {t} on day {i % 28 + 1}. "
            f"Residents said the {t} plan number {i} would cost {i * 3 + 7} thousand pounds."
        )
    return out


def doc_count(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def test_sigkill_during_add_keeps_committed_state_and_resumes(tmp_path, embedder):
    n = 200
    folder = write_articles(tmp_path / "corpus", generated_articles(n))
    idx = tmp_path / "idx"
    # an earlier, completed add of the first 20 files (so a FAISS file exists and lags behind later)
    from index.loaders import load_paths

    first = [d for d in load_paths([folder]) if isinstance(d, Document)][:20]
    store = IndexStore(idx, embedder=embedder)
    store.add_documents(first)
    store.close()

    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(idx), str(folder)], cwd=REPO_ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 180
    try:
        while doc_count(idx / "meta.sqlite") <= 20:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.time() < deadline, "the add never committed"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    committed = doc_count(idx / "meta.sqlite")
    assert 20 < committed < n, "killed mid-add"

    store = IndexStore(idx, embedder=embedder)  # opens, reconciles FAISS with SQLite
    counts = consistency(store)
    assert counts["documents"] == committed
    got = store.documents()
    assert all(d["chunks"] >= 1 for d in got)
    some = got[-1]["doc_id"]
    assert doc_of(store, top_dense(store, store.document(some).text, 1)) == [some]

    # resume: re-running the add completes it without duplicates
    rep = store.add_paths([folder])
    assert len(rep.unchanged) == committed and len(rep.added) == n - committed and rep.skipped == []
    counts = consistency(store)
    assert counts["documents"] == n and counts["chunks"] == store.stats()["chunks"]
    assert len(list(idx.glob("vectors-*.faiss"))) == 1 and not list(idx.glob("*.tmp"))
    store.close()


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_vector_file_is_rebuilt_from_sqlite(index_copy, embedder, caplog, damage):
    store = IndexStore(index_copy, embedder=embedder)
    before = consistency(store)
    store.close()
    (vf,) = list(index_copy.glob("vectors-*.faiss"))
    data = vf.read_bytes()
    vf.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"not a faiss index" * 50, "empty": b""}[damage])

    with caplog.at_level(logging.WARNING, logger="index.store"):
        store = IndexStore(index_copy, embedder=embedder)
        assert doc_of(store, top_dense(store, "interest rates mortgage", 1)) == ["rates.txt"]
    assert any(r.levelno == logging.WARNING and vf.name in r.getMessage() and "rebuild" in r.getMessage() for r in caplog.records)
    assert consistency(store) == before
    store.close()
    # the rebuilt file was written back: the next open is clean
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="index.store"):
        store = IndexStore(index_copy, embedder=embedder)
        assert store.vectors.ntotal == before["chunks"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    store.close()


@pytest.mark.parametrize("damage", ["garbage", "truncate"])
def test_corrupt_metadata_raises_corrupt_index_and_cli_exits_2(index_copy, embedder, damage):
    idx = index_copy
    db = idx / "meta.sqlite"
    data = db.read_bytes()
    for extra in idx.glob("meta.sqlite-*"):
        extra.unlink()
    db.write_bytes(b"this is not sqlite " * 500 if damage == "garbage" else data[: len(data) // 3])

    with pytest.raises(CorruptIndex) as ei:
        IndexStore(idx, embedder=embedder)
    msg = str(ei.value)
    assert str(db) in msg and "corrupt" in msg and "python -m index add" in msg and "Rebuild" in msg
    assert isinstance(ei.value, IndexError_)

    r = run_cli("stats", "--index-dir", str(idx))
    assert r.returncode == 2
    assert "corrupt" in r.stderr and "python -m index add" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


# ---- concurrency -------------------------------------------------------------------------------

def test_searches_from_threads_while_adding(tmp_path, embedder):
    store = IndexStore(tmp_path / "idx", embedder=embedder)
    base = generated_articles(40)
    items = [Document(k, v.split("\n")[0], v) for k, v in base.items()]
    store.add_documents(items[:10])
    errors: list[BaseException] = []
    done = {"searches": 0}
    lock = threading.Lock()
    queries = ["harbour plan cost", "festival residents", "election officials", "railway thousand pounds"]

    def searcher(q):
        try:
            vec = store.embedder.encode([q])[0]
            for _ in range(20):
                dense = store.search_dense(vec, 5)
                lex = store.search_lexical(q, 5)
                assert dense and lex
                ids = [i for i, _ in dense] + [i for i, _ in lex]
                rows = store.chunks(ids)
                assert store.stats()["documents"] >= 10
                assert set(rows) == set(ids), "a search returned a chunk id that SQLite does not have"
                with lock:
                    done["searches"] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=searcher, args=(q,)) for q in queries]
    for t in threads:
        t.start()
    for i in range(10, 40, 6):
        store.add_documents(items[i : i + 6])
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[0]
    assert done["searches"] == 4 * 20
    assert consistency(store)["documents"] == 40
    store.close()


def test_open_rules(tmp_path, built_index, embedder):
    with pytest.raises(IndexError_, match="no index at"):
        IndexStore(tmp_path / "missing", create=False)
    assert not (tmp_path / "missing").exists()
    # an index remembers its embedder: opening it with another one is refused (vectors would not compare)
    with pytest.raises(IndexError_, match="built with embedder 'minilm'"):
        IndexStore(built_index, embedder="some/other-model")
    store = IndexStore(built_index, create=False)  # no embedder given: the stored one
    assert store.embedder_name == "minilm" and store.stats()["documents"] == len(ARTICLES)
    store.close()
