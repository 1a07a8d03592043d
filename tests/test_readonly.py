"""Read-only stores (IndexStore(read_only=True)): what `python -m qa serve`'s reader replicas open.

A read-only store searches as the writer does, writes nothing (every write raises ReadOnlyIndex and
leaves the folder's bytes as they were), refuses a missing index, reconciles a stale vector file in
memory only, and keeps working while a writer changes the index: its SQLite reads are live, and its
vectors are reconciled in memory after each of the writer's commits.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from index import IndexError_, IndexStore, ReadOnlyIndex, open_index
from index import ingest
from index.records import Chunk, Document, Filters

REPO_ROOT = Path(__file__).resolve().parent.parent

ARTICLES = {
    "zoo.txt": ("Zoo welcomes zebra foal", "A zebra foal was born at the city zoo on Sunday. Keepers said the zebra and her mother are healthy.", "animals"),
    "rates.txt": ("Bank raises rates", "The central bank raised interest rates by a quarter point. Mortgage costs are expected to rise.", "business"),
    "cup.txt": ("United win the cup", "United beat City 2-1 in the cup final at Wembley. The winning goal came in extra time.", "sport"),
    "feed.jsonl#1": ("Library reopens", "The town library reopened after a year of repairs, with a new reading room for children.", "feed"),
}
VOLCANO = Document("volcano.txt", "Volcano erupts", "The volcano on the island erupted overnight, sending ash four kilometres high. Flights were cancelled.", source="nature")
QUESTIONS = ["When was the zebra born?", "How much did the bank raise rates?", "Who won the cup final?", "What reopened in town?"]


def docs() -> list[Document]:
    return [Document(i, t, x, source=s) for i, (t, x, s) in ARTICLES.items()]


def files(folder: Path) -> dict[str, str]:
    """Every file of the folder: name -> hash of its bytes."""
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(folder.iterdir()) if f.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory, embedder) -> Path:
    path = tmp_path_factory.mktemp("ro") / "idx"
    store = IndexStore(path, embedder=embedder)
    store.add_documents(docs())
    store.close()  # the last connection checkpoints the WAL into meta.sqlite and removes -wal/-shm
    assert sorted(files(path)) == ["meta.sqlite", "vectors-1.faiss"]
    return path


@pytest.fixture
def idx(built, tmp_path) -> Path:
    """A fresh copy of the built index for one test."""
    return Path(shutil.copytree(built, tmp_path / "idx"))


def test_read_only_store_searches_as_the_writer_does(idx, embedder):
    from qa import QA

    w = IndexStore(idx, embedder=embedder)
    r = open_index(idx, embedder=embedder, read_only=True)
    assert r.read_only and not w.read_only
    for q in QUESTIONS:
        v = embedder.encode([q])[0]
        assert r.search_dense(v, 3) == w.search_dense(v, 3)
        assert r.search_lexical(q, 3) == w.search_lexical(q, 3)
        f = Filters(source="sport")
        assert r.search_dense(v, 3, f) == w.search_dense(v, 3, f) and r.search_lexical(q, 3, f) == w.search_lexical(q, 3, f)
        ids = [i for i, _ in w.search_dense(v, 4)]
        assert r.chunks(ids) == w.chunks(ids)
        assert [(h.chunk_id, h.score) for h in QA(store=r).retrieve(q)] == [(h.chunk_id, h.score) for h in QA(store=w).retrieve(q)]
    assert r.documents() == w.documents() and r.generation == w.generation == 1
    assert {k: v for k, v in r.stats().items() if k != "bytes_on_disk"} == {k: v for k, v in w.stats().items() if k != "bytes_on_disk"}
    ri, wi = r.integrity(), w.integrity()
    assert ri["fts_intact"] is None and wi["fts_intact"] is True  # FTS5's integrity-check is a write
    assert {k: v for k, v in ri.items() if k != "fts_intact"} == {k: v for k, v in wi.items() if k != "fts_intact"}
    r.close()
    w.close()


def test_writes_raise_and_change_nothing(idx, embedder, tmp_path):
    before_open = files(idx)
    r = IndexStore(idx, embedder=embedder, read_only=True)
    r.search_dense(embedder.encode(["zebra"])[0], 2)  # the vectors are loaded
    # SQLite adds the (empty) -wal and its -shm to read a WAL database no writer has open; the
    # database and the vector file are untouched
    opened = files(idx)
    assert set(opened) == set(before_open) | {"meta.sqlite-wal", "meta.sqlite-shm"}
    assert (idx / "meta.sqlite-wal").stat().st_size == 0
    assert {k: opened[k] for k in before_open} == before_open

    new_file = tmp_path / "new.txt"
    new_file.write_text("Volcano erupts\n\nThe volcano erupted overnight.", encoding="utf-8")
    zoo = r.chunks(r.chunk_ids("zoo.txt"))
    vec = next(iter(r.vectors_of(list(zoo)).values()))
    writes = {
        "add_documents": lambda: r.add_documents([VOLCANO]),
        "add_embedded": lambda: r.add_embedded([(VOLCANO, [Chunk(VOLCANO.doc_id, 0, VOLCANO.text, 0, len(VOLCANO.text))], [vec])]),
        "add_paths": lambda: r.add_paths([new_file]),
        "remove": lambda: r.remove("zoo.txt"),
        "remove_feed": lambda: r.remove_feed("feed.jsonl"),
        "save": r.save,
        "ingest.add_text": lambda: ingest.add_text(r, "Pasted", "Pasted text."),  # the page's ways in
        "ingest.add_uploads": lambda: ingest.add_uploads(r, [new_file]),
    }
    for name, write in writes.items():
        with pytest.raises(ReadOnlyIndex, match=r"is open read-only: cannot .*python -m index") as exc:
            write()
        assert isinstance(exc.value, IndexError_), name
    with pytest.raises(sqlite3.OperationalError, match="readonly"):  # the connection itself cannot write
        r.conn.execute("DELETE FROM documents")
    assert r.stats()["documents"] == len(ARTICLES) and r.chunks(list(zoo)) == zoo
    assert files(idx) == opened  # not one byte, not one file
    r.close()
    assert files(idx) == opened  # a read-only close cannot checkpoint: the side files stay ...
    IndexStore(idx, embedder=embedder).close()
    assert files(idx) == before_open  # ... until a writer's close removes them


def test_missing_or_unfinished_index_read_only_raises(tmp_path):
    missing = tmp_path / "none"
    with pytest.raises(IndexError_, match="no index at"):
        open_index(missing, read_only=True)  # create=True (the default) does not create one read-only
    assert not missing.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "meta.sqlite").touch()  # 0 bytes: no index yet
    with pytest.raises(IndexError_, match="no index at"):
        IndexStore(empty, read_only=True)
    assert files(empty) == {"meta.sqlite": hashlib.sha256(b"").hexdigest()}
    other = tmp_path / "other"
    other.mkdir()
    conn = sqlite3.connect(other / "meta.sqlite")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t(x)")
    conn.close()
    with pytest.raises(IndexError_, match="not a complete index") as exc:
        IndexStore(other, read_only=True)
    assert not isinstance(exc.value, ReadOnlyIndex)
    assert "meta" not in {r[0] for r in sqlite3.connect(other / "meta.sqlite").execute("SELECT name FROM sqlite_master")}


def test_stale_vector_file_is_reconciled_in_memory_only(idx, embedder):
    w = IndexStore(idx, embedder=embedder)
    w.add_documents([VOLCANO], save=False)  # committed to SQLite; the vector file stays at generation 1
    w.close()
    before = files(idx)
    assert sorted(before) == ["meta.sqlite", "vectors-1.faiss"]
    r = IndexStore(idx, embedder=embedder, read_only=True)
    assert r.generation == 2
    new = set(r.chunk_ids(VOLCANO.doc_id))
    v = embedder.encode(["Which volcano erupted overnight and cancelled flights?"])[0]
    assert r.search_dense(v, 1)[0][0] in new  # the new chunks are searched ...
    c = r.integrity()
    assert c["vectors_match"] and c["vectors"] == c["chunks"]
    r.close()
    after = files(idx)
    assert {k: after[k] for k in before} == before and set(after) - set(before) == {"meta.sqlite-wal", "meta.sqlite-shm"}  # ... and never saved


def test_a_writer_changing_the_index_does_not_break_an_open_reader(idx, embedder):
    """SQLite reads are live (documents, chunk text, lexical search see each commit), and so is
    dense search: the reader's vectors are reconciled in memory at its first search after a commit
    (the generation moved), finding the new article and no longer the removed one; nothing is written."""
    from qa import QA

    r = IndexStore(idx, embedder=embedder, read_only=True)
    zebra = embedder.encode(["When was the zebra foal born at the zoo?"])[0]
    volcano = embedder.encode(["Which volcano erupted overnight and cancelled flights?"])[0]
    zoo_ids = set(r.chunk_ids("zoo.txt"))
    assert r.search_dense(zebra, 1)[0][0] in zoo_ids

    w = IndexStore(idx, embedder=embedder)  # stays open: the new rows live in its WAL
    w.add_documents([VOLCANO])
    assert w.remove("zoo.txt")
    new = set(w.chunk_ids(VOLCANO.doc_id))

    files = sorted((p.name, p.stat().st_size) for p in Path(idx).glob("vectors-*.faiss"))
    assert r.stats()["documents"] == len(ARTICLES) and r.generation == 3  # live
    assert {i for i, _ in r.search_lexical("volcano erupted", 3)} == new
    assert r.search_dense(volcano, 1)[0][0] in new  # reconciled at this search
    assert not zoo_ids & {i for i, _ in r.search_dense(zebra, 10)} and r.integrity()["vectors_match"]
    assert sorted((p.name, p.stat().st_size) for p in Path(idx).glob("vectors-*.faiss")) == files  # in memory only
    hits = QA(store=r).retrieve("When was the zebra foal born at the zoo?")  # still answers, without the removed article
    assert hits and "zoo.txt" not in {h.doc_id for h in hits}

    r2 = IndexStore(idx, embedder=embedder, read_only=True)  # a reopen, while the writer is still open
    assert r2.search_dense(volcano, 1)[0][0] in new and not zoo_ids & {i for i, _ in r2.search_dense(zebra, 10)}
    assert r2.integrity()["vectors_match"]
    for s in (r, r2, w):
        s.close()


CHILD = r"""
import json, os, sys
sys.path.insert(0, sys.argv[2])
from index import IndexError_, IndexStore
from index.config import env
from index.vectors.base import faiss
env(), faiss()  # imported before dropping to a user who cannot read this Python's files
if os.geteuid() == 0:  # root writes anywhere: read as nobody
    os.setgid(65534)
    os.setuid(65534)
try:
    s = IndexStore(sys.argv[1], read_only=True)
    ids = s.chunk_ids()
    print(json.dumps({"documents": s.stats()["documents"], "top": s.search_dense(s.vectors_of(ids[:1])[ids[0]], 1)[0][0] == ids[0]}))
except IndexError_ as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


def test_a_folder_it_cannot_write(built):
    """In a folder this user cannot write, a read-only open needs the -wal/-shm files to exist
    already; without them it raises IndexError_ saying so (not CorruptIndex)."""
    if sys.platform == "win32":
        pytest.skip("POSIX permissions")
    top = Path(tempfile.mkdtemp(prefix="qa-ro-"))  # not under pytest's root-only tmp: nobody can reach it
    try:
        os.chmod(top, 0o755)
        idx = Path(shutil.copytree(built, top / "idx"))

        def child() -> dict:
            r = subprocess.run([sys.executable, "-c", CHILD, str(idx), str(REPO_ROOT)], capture_output=True, text=True, timeout=120,
                               env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1"})
            assert r.returncode == 0, r.stderr[-3000:]
            return json.loads(r.stdout.strip().splitlines()[-1])

        os.chmod(idx, 0o555)
        got = child()
        assert got["error"] == "IndexError_" and "cannot read index" in got["message"] and "meta.sqlite-wal" in got["message"], got
        assert sorted(files(idx)) == ["meta.sqlite", "vectors-1.faiss"]
        os.chmod(idx, 0o755)
        IndexStore(idx, read_only=True).close()  # a reader that could write the folder leaves the two files
        os.chmod(idx, 0o555)
        assert child() == {"documents": len(ARTICLES), "top": True}
    finally:
        for d in top.rglob("*"):
            if d.is_dir():
                os.chmod(d, 0o755)
        shutil.rmtree(top, ignore_errors=True)
