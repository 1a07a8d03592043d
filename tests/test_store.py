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

from conftest import doc_count
from index import CorruptIndex, IndexError_, IndexStore
from index.__main__ import main as cli_main
from index.embedder import DEFAULT_EMBEDDER
from index.records import ChunkRecord, Document, Filters, RemoveReport

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
    """Check SQLite, FTS and FAISS agree (the store's own integrity report); return counts."""
    c = store.integrity()
    assert c["vectors_match"] and c["vectors"] == c["chunks"] == len(store.chunk_ids())
    assert c["fts_intact"], "the full-text index disagrees with the chunks"
    assert c["duplicate_ords"] == 0
    assert c["partial_documents"] == 0, "a document row whose chunks are partly missing"
    assert c["orphan_chunks"] == 0 and c["chunks_listed"] == c["chunks"]
    return {"documents": c["documents"], "chunks": c["chunks"]}


@pytest.fixture(scope="module")
def built_index(tmp_path_factory, any_embedder) -> Path:
    """An index of ARTICLES, built once per embedder; tests that damage it work on a copy (see `index_copy`)."""
    path = tmp_path_factory.mktemp("built") / "idx"
    store = IndexStore(path, embedder=any_embedder)
    store.add_documents([Document(n, t.split("\n")[0], t) for n, t in ARTICLES.items()])
    store.close()  # the last connection closing checkpoints the WAL into meta.sqlite
    assert not (path / "meta.sqlite-wal").exists()
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
    return [rows[i].doc_id for i, _ in hits]


# ---- add / unchanged / replace / remove ---------------------------------------------------------

@pytest.mark.parametrize("limits, commits", [({"batch_docs": 2}, 2), ({"batch_chars": 1}, 3), ({}, 1)])
def test_add_paths_commits_in_batches_of_documents_or_text(tmp_path, fast_embedder, limits, commits):
    """An add commits a batch once it holds `batch_docs` documents or `batch_chars` characters of
    text: three articles are one, two or three transactions (each moves the store's generation)."""
    folder = write_articles(tmp_path / "news", ARTICLES)
    store = IndexStore(tmp_path / "idx", embedder=fast_embedder)
    gen = store.generation
    rep = store.add_paths([folder], **limits)
    assert len(rep.added) == 3 and store.generation - gen == commits


def test_add_unchanged_replace_remove(tmp_path, any_embedder):
    folder = write_articles(tmp_path / "news", ARTICLES)
    store = IndexStore(tmp_path / "idx", embedder=any_embedder)
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
    old_ids = set(store.chunk_ids("zoo.txt"))
    (folder / "zoo.txt").write_text(ARTICLES["zoo.txt"].replace("zebra", "giraffe"), encoding="utf-8")
    rep = store.add_paths([folder])
    assert rep.replaced == ["zoo.txt"] and sorted(rep.unchanged) == ["cup.txt", "rates.txt"]
    assert consistency(store) == counts
    assert store.search_lexical("zebra", 5) == []
    assert doc_of(store, store.search_lexical("giraffe", 5)) == ["zoo.txt"]
    assert "zebra" not in store.document("zoo.txt").text
    new_ids = set(store.chunk_ids("zoo.txt"))
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
    again = IndexStore(tmp_path / "idx", embedder=any_embedder)
    assert consistency(again) == after
    assert [d["doc_id"] for d in again.documents()] == ["cup.txt", "rates.txt"]
    again.close()


class CountingEmbedder:
    """The embedder, counting the texts that reach it."""

    def __init__(self, inner):
        self.inner, self.texts = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, texts, **kw):
        self.texts += list(texts)
        return self.inner.encode(texts, **kw)


def test_repeated_text_reuses_vectors(tmp_path, any_embedder, monkeypatch):
    """A story filed twice is embedded once; an edited article re-embeds only its changed passages."""
    sentences = [f"Sentence number {i} of the council report says the budget for item {i} was {i * 7} million pounds." for i in range(40)]
    long_text = "Council budget report\n\n" + " ".join(sentences)
    folder = write_articles(tmp_path / "news", {"a.txt": long_text, "wire-copy.txt": long_text})
    store = IndexStore(tmp_path / "idx", embedder=any_embedder)
    counting = CountingEmbedder(any_embedder)
    monkeypatch.setattr(store, "_embedder", counting)
    rep = store.add_paths([folder])
    n = rep.chunks // 2
    assert sorted(rep.added) == ["a.txt", "wire-copy.txt"] and n >= 3
    assert len(counting.texts) == n  # the copy's chunks came from the first one's vectors
    vecs = store.vectors_of(store.chunk_ids())
    first, copy = store.chunk_ids("a.txt"), store.chunk_ids("wire-copy.txt")
    assert len(first) == len(copy) == n
    assert all(np.array_equal(vecs[a], vecs[b]) for a, b in zip(first, copy))
    # the reused vectors are the model's own: each chunk still finds itself
    first = store.chunker.chunk(store.document("a.txt"))[0]
    assert top_dense(store, store.chunker.embed_text(first), 2)[0][1] > 0.99
    store.close()

    # a new process (empty cache) edits the last sentence: only the last chunk goes to the model
    store = IndexStore(tmp_path / "idx", embedder=any_embedder)
    counting = CountingEmbedder(any_embedder)
    monkeypatch.setattr(store, "_embedder", counting)
    (folder / "a.txt").write_text(long_text.replace("item 39 was 273", "item 39 was 274"), encoding="utf-8")
    rep = store.add_paths([folder])
    assert rep.replaced == ["a.txt"] and rep.unchanged == ["wire-copy.txt"]
    assert len(counting.texts) == 1 and "274 million" in counting.texts[0]
    fresh = any_embedder.encode(counting.texts)[0]
    last = store.chunk_ids("a.txt")[-1]
    assert np.allclose(store.vectors_of([last])[last], fresh, atol=1e-6)
    consistency(store)
    # the index remembers how it was embedded, and queries use the same backend
    assert store._meta("embed_backend") == any_embedder.backend
    store.close()


def test_replace_then_crash_before_faiss_save_serves_new_vectors(index_copy, any_embedder):
    """A replace committed to SQLite but not yet to the FAISS file must not leave stale vectors."""
    store = IndexStore(index_copy, embedder=any_embedder)  # ARTICLES, saved; cup.txt holds the highest chunk ids
    changed = Document("cup.txt", "Storm closes airport", "Storm closes airport\n\nHeavy snow closed the airport and grounded all flights.")
    store.add_documents([changed], save=False)  # committed; the FAISS file is now behind
    store.close()  # "crash": no save
    store = IndexStore(index_copy, embedder=any_embedder)
    consistency(store)
    hits = top_dense(store, store.chunker.embed_text(store.chunker.chunk(changed)[0]), 1)
    assert doc_of(store, hits) == ["cup.txt"] and hits[0][1] > 0.99  # the new vector, not the old one
    store.close()


def test_duplicate_doc_ids_in_one_add(tmp_path, any_embedder):
    a = write_articles(tmp_path / "a", {"x.txt": ARTICLES["zoo.txt"]})
    b = write_articles(tmp_path / "b", {"x.txt": ARTICLES["rates.txt"]})
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"id": 1, "title": "One", "text": "First."}\n{"id": 1, "title": "Again", "text": "Second."}\n', encoding="utf-8")
    store = IndexStore(tmp_path / "idx", embedder=any_embedder)
    rep = store.add_paths([a / "x.txt", b / "x.txt", feed])
    assert sorted(rep.added) == ["feed.jsonl#1", "x.txt"]
    assert sorted(e.reason.split("'")[1] for e in rep.skipped) == ["feed.jsonl#1", "x.txt"]
    assert all("duplicate document id" in e.reason for e in rep.skipped)
    assert "zebra" in store.document("x.txt").text  # the first one is kept
    rep = store.add_documents([Document("y", "Y", "Y\n\none"), Document("y", "Y", "Y\n\ntwo")])
    assert rep.added == ["y"] and len(rep.skipped) == 1
    assert rep.skipped[0].reason == "duplicate document id 'y' (already loaded in this add)"  # as add_paths says it
    consistency(store)
    store.close()


# ---- CLI ---------------------------------------------------------------------------------------

def embedder_flag(emb) -> list[str]:
    """`index add`'s flag for emb: none for the default (MiniLM), as a user types it."""
    return [] if emb.name == DEFAULT_EMBEDDER else ["--embedder", emb.name]


def run_cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "index", *args], cwd=REPO_ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)


def test_cli_add_list_remove_stats(tmp_path, any_embedder, capsys):
    folder = write_articles(tmp_path / "news", ARTICLES)
    (folder / "broken.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (folder / "feed.jsonl").write_text(
        '{"id": "f1", "title": "Ferry strike", "text": "Ferry crews walked out."}\n{"title": "Fog", "text": "Thick fog delayed ferries."}\n',
        encoding="utf-8",
    )
    idx = str(tmp_path / "idx")
    # add runs in-process (shares the loaded embedder); the read-only commands run as real subprocesses
    assert cli_main(["add", str(folder), "--index-dir", idx, "--quiet", *embedder_flag(any_embedder)]) == 0
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
    assert stats["documents"] == 2 and stats["embedder"] == any_embedder.name and stats["chunks"] >= 2
    store = IndexStore(idx, embedder=any_embedder)
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
def test_cli_add_failures_are_reported_without_traceback(tmp_path, capsys, monkeypatch, exc, rc, says):
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


def test_sigkill_during_add_keeps_committed_state_and_resumes(tmp_path, embedder):
    # MiniLM, not the fast embedder: the kill has to land mid-add, and hashing 200 short articles
    # could finish before it does
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
def test_corrupt_vector_file_is_rebuilt_from_sqlite(index_copy, any_embedder, caplog, damage):
    store = IndexStore(index_copy, embedder=any_embedder)
    before = consistency(store)
    store.close()
    (vf,) = list(index_copy.glob("vectors-*.faiss"))
    data = vf.read_bytes()
    vf.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"not a faiss index" * 50, "empty": b""}[damage])

    with caplog.at_level(logging.WARNING, logger="index.store"):
        store = IndexStore(index_copy, embedder=any_embedder)
        assert doc_of(store, top_dense(store, "interest rates mortgage", 1)) == ["rates.txt"]
    assert any(r.levelno == logging.WARNING and vf.name in r.getMessage() and "rebuild" in r.getMessage() for r in caplog.records)
    assert consistency(store) == before
    store.close()
    # the rebuilt file was written back: the next open is clean
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="index.store"):
        store = IndexStore(index_copy, embedder=any_embedder)
        assert store.vectors.ntotal == before["chunks"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    store.close()


@pytest.mark.parametrize("damage", ["garbage", "truncate"])
def test_corrupt_metadata_raises_corrupt_index_and_cli_exits_2(index_copy, any_embedder, damage):
    idx = index_copy
    db = idx / "meta.sqlite"
    data = db.read_bytes()
    for extra in idx.glob("meta.sqlite-*"):
        extra.unlink()
    db.write_bytes(b"this is not sqlite " * 500 if damage == "garbage" else data[: len(data) // 3])

    with pytest.raises(CorruptIndex) as ei:
        IndexStore(idx, embedder=any_embedder)
    msg = str(ei.value)
    assert str(db) in msg and "corrupt" in msg and "python -m index add" in msg and "Rebuild" in msg
    assert isinstance(ei.value, IndexError_)

    r = run_cli("stats", "--index-dir", str(idx))
    assert r.returncode == 2
    assert "corrupt" in r.stderr and "python -m index add" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


# ---- concurrency -------------------------------------------------------------------------------

def test_searches_from_threads_while_adding(tmp_path, any_embedder):
    store = IndexStore(tmp_path / "idx", embedder=any_embedder)
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


def test_open_rules(tmp_path, built_index, any_embedder):
    name = any_embedder.name  # "minilm" for the real one
    with pytest.raises(IndexError_, match="no index at"):
        IndexStore(tmp_path / "missing", create=False)
    assert not (tmp_path / "missing").exists()
    # an index remembers its embedder: opening it with another one is refused (vectors would not compare)
    with pytest.raises(IndexError_, match=f"built with embedder '{name}'"):
        IndexStore(built_index, embedder="some/other-model")
    store = IndexStore(built_index, create=False)  # no embedder given: the stored one
    assert store.embedder_name == name and store.stats()["documents"] == len(ARTICLES)
    store.close()


# ---- the public contract: typed chunk records, filters as data, feed removal, integrity ----------

FILTERED = [  # every text mentions the council, so one lexical query reaches them all
    Document("bbc/tech/1.txt", "Chip plant opens", "Chip plant opens\n\nThe council approved a chip plant. It opens in spring.", source="tech", date="2005-03-31"),
    Document("bbc/sport/2.txt", "Madrid: 100 days to go", "Madrid: 100 days to go\n\nThe council in Madrid readied the stadium.", source="sport", date="2005-02-01"),
    Document("bbc/business/3.txt", "Bank cuts 100% of bonuses", "Bank cuts 100% of bonuses\n\nThe council fined the bank.", source="business", date="2005-02-10T09:30"),
    Document("x_y/4.txt", "Weather warning", "Weather warning\n\nThe council warned of storms.", source=""),
    Document("xay/5.txt", "Harbour dredged", "Harbour dredged\n\nThe council dredged the harbour.", source=""),
]


@pytest.fixture(scope="module")
def filtered_store(tmp_path_factory, any_embedder):
    store = IndexStore(tmp_path_factory.mktemp("filtered") / "idx", embedder=any_embedder)
    store.add_documents(FILTERED)
    yield store
    store.close()


def docs_passing(store: IndexStore, filters) -> dict[str, set[str]]:
    """The documents each filtered read returns: lexical search, dense search, filter_ids."""
    lex = store.search_lexical("council", 20, filters)
    dense = store.search_dense(store.embedder.encode(["the council"])[0], 20, filters)
    every = store.chunk_ids()
    ok = store.filter_ids(every, filters)
    rows = store.chunks(every)
    return {
        "lexical": {rows[i].doc_id for i, _ in lex},
        "dense": {rows[i].doc_id for i, _ in dense},
        "filter_ids": {rows[i].doc_id for i in ok},
    }


ALL_FILTERED = {d.doc_id for d in FILTERED}


@pytest.mark.parametrize(
    "filters, expected",
    [
        (None, ALL_FILTERED),
        (Filters(), ALL_FILTERED),
        (Filters(source="tech"), {"bbc/tech/1.txt"}),  # the stored source
        (Filters(source="bbc/sport/"), {"bbc/sport/2.txt"}),  # a folder prefix of the id
        (Filters(source="bbc"), {"bbc/tech/1.txt", "bbc/sport/2.txt", "bbc/business/3.txt"}),
        (Filters(source="x_y"), {"x_y/4.txt"}),  # '_' is a character, not a LIKE wildcard ("xay/" stays out)
        (Filters(title="madrid"), {"bbc/sport/2.txt"}),  # case-insensitive
        (Filters(title="bank bonuses"), {"bbc/business/3.txt"}),  # every word must be in the title
        (Filters(title="bank madrid"), set()),
        (Filters(title="100%"), {"bbc/business/3.txt"}),  # '%' is a character: "100 days" does not match
        (Filters(date_from="2005-02-10"), {"bbc/tech/1.txt", "bbc/business/3.txt"}),  # undated documents never pass
        (Filters(date_from="2005-03"), {"bbc/tech/1.txt"}),
        (Filters(date_to="2005-02-10"), {"bbc/sport/2.txt", "bbc/business/3.txt"}),  # the whole day, time stamps included
        (Filters(date_to="2005-02"), {"bbc/sport/2.txt", "bbc/business/3.txt"}),  # the whole month
        (Filters(date_to="2005"), {"bbc/tech/1.txt", "bbc/sport/2.txt", "bbc/business/3.txt"}),
        (Filters(date_from="2005-02-05", date_to="2005-03-01"), {"bbc/business/3.txt"}),
        (Filters(source="bbc", title="madrid", date_to="2005-02"), {"bbc/sport/2.txt"}),  # conditions combine
        (Filters(source="bbc", title="madrid", date_from="2005-03"), set()),
    ],
)
def test_filters_are_data_the_store_queries(filtered_store, filters, expected):
    got = docs_passing(filtered_store, filters)
    assert got == {"lexical": expected, "dense": expected, "filter_ids": expected}


@pytest.mark.parametrize(
    "filters, message",
    [
        (Filters(date_from="31/03/2005"), "date_from must be an ISO date yyyy-mm-dd"),
        (Filters(date_to="2005-13-01"), "date_to must be an ISO date yyyy-mm-dd"),  # no month 13
        (Filters(date_from="2005-02-30"), "date_from must be an ISO date"),  # no 30 February
        (Filters(date_to="March 2005"), "date_to must be an ISO date"),
        (Filters(date_from="2005-03-02", date_to="2005-03-01"), "date_from 2005-03-02 is after date_to 2005-03-01"),
        (Filters(source=5), "filter source must be text"),
    ],
)
def test_bad_filter_values_are_clear_errors_before_any_search(filtered_store, filters, message):
    vec = filtered_store.embedder.encode(["the council"])[0]
    for search in (
        lambda: filtered_store.search_lexical("council", 5, filters),
        lambda: filtered_store.search_lexical("", 5, filters),  # even with nothing to search for
        lambda: filtered_store.search_dense(vec, 5, filters),
        lambda: filtered_store.filter_ids(filtered_store.chunk_ids(), filters),
    ):
        with pytest.raises(ValueError, match=message):
            search()
    with pytest.raises(ValueError, match="filters must be index.records.Filters"):
        filtered_store.search_lexical("council", 5, {"source": "tech"})


def test_filtered_dense_search_looks_deeper_but_returns_at_most_k(filtered_store):
    vec = filtered_store.embedder.encode(["a chip plant opens"])[0]
    # without filters the nearest chunk is the chip plant; a filter that excludes it still fills k from deeper
    assert filtered_store.chunks([filtered_store.search_dense(vec, 1)[0][0]]).popitem()[1].doc_id == "bbc/tech/1.txt"
    hits = filtered_store.search_dense(vec, 2, Filters(source="bbc/sport"))
    assert len(hits) == 1 and filtered_store.chunks([hits[0][0]])[hits[0][0]].doc_id == "bbc/sport/2.txt"
    assert filtered_store.search_dense(vec, 1, Filters(title="no such words")) == []
    assert len(filtered_store.search_dense(vec, 3, Filters(source="bbc"))) == 3


def test_chunk_records_are_typed_and_point_into_their_document(filtered_store):
    doc = FILTERED[2]
    ids = filtered_store.chunk_ids(doc.doc_id)
    assert ids and ids == sorted(ids)
    rows = filtered_store.chunks(ids + [10**9])  # an id that is not stored is simply absent
    assert sorted(rows) == ids
    for n, cid in enumerate(ids):
        r = rows[cid]
        assert isinstance(r, ChunkRecord) and r.chunk_id == cid
        assert (r.doc_id, r.ord, r.title, r.source, r.date) == (doc.doc_id, n, doc.title, "business", "2005-02-10T09:30")
        assert r.text == doc.text[r.start : r.end] and r.end > r.start
    undated = filtered_store.chunks(filtered_store.chunk_ids("x_y/4.txt"))
    assert {(r.source, r.date) for r in undated.values()} == {("", "")}
    assert filtered_store.chunks([]) == {} and filtered_store.chunk_ids("nobody.txt") == []
    assert set(filtered_store.chunk_ids()) == set().union(*(filtered_store.chunk_ids(d.doc_id) for d in FILTERED))


def test_remove_feed_removes_every_record_of_one_jsonl_file(tmp_path, any_embedder):
    feed = [
        Document("news/feed.jsonl#f1", "Ferry strike", "Ferry strike\n\nFerry crews walked out at dawn."),
        Document("news/feed.jsonl:2", "Fog", "Fog\n\nThick fog delayed the ferries."),
        Document("news/feed.jsonl#f3", "Pier", "Pier\n\nThe old pier reopened after repairs."),
    ]
    others = [
        Document("news/feed.jsonl2#x", "Lighthouse", "Lighthouse\n\nThe lighthouse keeper retired."),  # another file
        Document("news/feed.txt", "Harbour", "Harbour\n\nThe harbour master counted boats."),
        Document("a_b.jsonl#1", "Canal", "Canal\n\nThe canal froze overnight."),
        Document("axb.jsonl#1", "Bridge", "Bridge\n\nThe bridge was repainted."),
    ]
    store = IndexStore(tmp_path / "idx", embedder=any_embedder)
    store.add_documents(feed + others)
    feed_chunks = sum(len(store.chunk_ids(d.doc_id)) for d in feed)
    gen = store.generation

    rep = store.remove_feed("news/feed.jsonl")
    assert rep == RemoveReport(documents=sorted(d.doc_id for d in feed), chunks=feed_chunks)
    assert store.generation == gen + 1  # one transaction for the whole feed
    assert sorted(d["doc_id"] for d in store.documents()) == sorted(d.doc_id for d in others)
    assert store.search_lexical("ferry ferries pier", 10) == []
    assert consistency(store) == {"documents": len(others), "chunks": len(store.chunk_ids())}

    assert store.remove_feed("news/feed.jsonl") == RemoveReport()  # nothing left of it
    assert store.remove_feed("news/feed") == RemoveReport()  # a prefix of a name is not a feed
    assert store.remove_feed("") == RemoveReport()
    assert store.generation == gen + 1  # nothing written
    assert store.remove_feed("a_b.jsonl").documents == ["a_b.jsonl#1"]  # '_' is literal: axb.jsonl stays
    assert [d["doc_id"] for d in store.documents()] == ["axb.jsonl#1", "news/feed.jsonl2#x", "news/feed.txt"]
    store.close()
    # the removal reached the vector file on disk too
    store = IndexStore(tmp_path / "idx", embedder=any_embedder)
    assert consistency(store)["documents"] == 3
    store.close()


def test_integrity_reports_a_full_text_index_out_of_step(index_copy, any_embedder):
    store = IndexStore(index_copy, embedder=any_embedder)
    assert store.integrity()["fts_intact"]
    cid = store.chunk_ids("zoo.txt")[0]
    r = store.chunks([cid])[cid]
    conn = sqlite3.connect(index_copy / "meta.sqlite")  # damage from outside: one chunk dropped from the full-text index only
    with conn:
        conn.execute("INSERT INTO chunks_fts(chunks_fts, rowid, title, text) VALUES ('delete', ?, ?, ?)", (cid, r.title, r.text))
    conn.close()
    c = store.integrity()
    assert not c["fts_intact"] and c["vectors_match"] and c["orphan_chunks"] == 0
    store.close()


def test_word_cases_follow_the_articles_as_they_are_added_replaced_and_removed(tmp_path, fast_embedder):
    from index.records import WordCase

    store = IndexStore(tmp_path / "idx", embedder=fast_embedder)
    rank = "The Rank Group sold its DVD arm. Shares in Rank rose. The bank said Rank's DVD unit was for sale."
    bank = "Banks lend. A bank said the Bank of England kept rates, and another bank agreed."
    store.add_documents([Document("rank.txt", "Rank", rank), Document("bank.txt", "Bank", bank)])

    def cases(*words):
        return {c.word: c for c in store.word_cases(words)}

    got = cases("rank", "DVD", "Bank", "banks", "the", "never")
    # a sentence's first word tells nothing ("The", "Shares", "Banks"); a possessive is its word ("Rank's")
    assert got["rank"] == WordCase("rank", "Rank", capitalised=3, lower=0)
    assert got["dvd"] == WordCase("dvd", "DVD", capitalised=2, lower=0)
    assert got["bank"] == WordCase("bank", "Bank", capitalised=1, lower=3)
    assert got["the"] == WordCase("the", "", capitalised=0, lower=1)
    assert "banks" not in got and "never" not in got  # only ever a sentence's first word / never written

    store.add_documents([Document("rank.txt", "Rank", rank.replace("DVD", "video"))])  # replaced: its old words discounted
    got = cases("dvd", "video", "rank")
    assert "dvd" not in got and got["video"].lower == 2 and got["rank"].capitalised == 3
    assert store.remove("rank.txt")
    assert set(cases("rank", "video", "bank")) == {"bank"} and cases("bank")["bank"].lower == 2  # "The bank" went with rank.txt


def test_an_index_built_before_word_cases_counts_them_once_when_opened_writable(tmp_path, fast_embedder):
    store = IndexStore(tmp_path / "idx", embedder=fast_embedder)
    store.add_documents([Document("a.txt", "A", "Fans saw Lazio lose. Lazio had won, and Lazio fans sang.")])
    store.conn.execute("DELETE FROM word_forms")  # as an index from before the counts were kept
    store.conn.execute("DELETE FROM meta WHERE key='word_forms'")
    store.close()
    assert IndexStore(tmp_path / "idx", read_only=True).word_cases(["lazio"]) == []  # read-only: nothing written
    assert IndexStore(tmp_path / "idx").word_cases(["lazio"])[0].capitalised == 2
    assert IndexStore(tmp_path / "idx").word_cases(["lazio"])[0].capitalised == 2  # counted once, not again
