"""8 chats asking at once through the live page's /ask API while articles are being indexed into
the same index: every chat gets an answer or a proper decline, and afterwards the index is
consistent (FAISS ids == SQLite chunk ids, on disk too). Bounded in count and time."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from index import ingest
from index.vectors import VectorIndex

pytestmark = pytest.mark.slow

N_CHATS = 8
BUDGET_S = 150  # hard bound for the whole run (normally ~15-40 s on 2 busy cores)
QUESTIONS = [
    "What did the Home Office review find?",
    "Who ordered the review?",
    "How many children were abused in Rotherham?",
    "What system has the Home Office introduced since 2014?",
    "What did Sarah Champion say?",
    "When was the document written by a Home Office researcher?",
    "What is the boiling point of tungsten on Mars?",  # off-topic: a proper decline
    "Which town was the scandal in?",
]


def _consistency(store) -> dict:
    c = store.integrity()  # one consistent read under the store's lock
    return dict(sql=c["chunks"], per_doc=c["chunks_listed"], orphans=c["orphan_chunks"], ntotal=c["vectors"],
                same_ids=c["vectors_match"], fts=c["fts_intact"])


def test_concurrent_chats_while_indexing(tmp_path):
    from gradio_client import Client

    from app_server import shared_server
    from qa import DECLINE_TEXT

    srv = shared_server()
    store = srv.store
    folder = tmp_path / "incoming"
    folder.mkdir()
    files = []
    for i in range(24):
        p = folder / f"town-{i:02d}.txt"
        files.append(p)

    def write_round(r: int):
        for i, p in enumerate(files):
            p.write_text(
                f"Town {i} council news, edition {r}\n\n"
                f"The council of Town {i} approved a budget of {i + 3} million pounds in edition {r}. "
                f"The new library in Town {i} will open in spring, the council leader said. "
                f"Residents of Town {i} can comment on the plan until the end of the month.\n"
            )

    stop = threading.Event()
    index_spans: list[tuple[float, float]] = []
    index_errors: list[str] = []
    t0 = time.time()

    def indexer():
        r = 0
        while not stop.is_set() and time.time() - t0 < BUDGET_S:
            write_round(r)  # new content each round: documents are re-embedded and replaced
            for b in range(0, len(files), 6):
                a = time.time()
                rep = ingest.add_uploads(store, files[b : b + 6])
                index_spans.append((a, time.time()))
                if rep.skipped or len(rep.added) + len(rep.replaced) != len(files[b : b + 6]):
                    index_errors.append(ingest.describe(rep))
                if stop.is_set():
                    break
                time.sleep(0.2)  # leave the cores some room for the chats
            r += 1

    def chat(i: int):
        client = Client(srv.url, verbose=False)
        a = time.time()
        res = client.predict(QUESTIONS[i], "", 4, api_name="/ask")
        return a, time.time(), res

    idx_thread = threading.Thread(target=indexer, daemon=True)
    idx_thread.start()
    with ThreadPoolExecutor(N_CHATS) as pool:
        futures = [pool.submit(chat, i) for i in range(N_CHATS)]
        results = [f.result(timeout=max(1, BUDGET_S - (time.time() - t0))) for f in futures]
    stop.set()
    idx_thread.join(timeout=60)
    assert not idx_thread.is_alive()
    elapsed = time.time() - t0
    assert elapsed < BUDGET_S

    assert not index_errors, index_errors
    assert index_spans, "indexing never ran"
    # indexing really overlapped with the chats
    overlapped = sum(1 for (a, b) in index_spans for (qa_, qb, _) in results if a < qb and qa_ < b)
    assert overlapped > 0

    answered = declined = 0
    for _, _, r in results:
        assert set(r) >= {"text", "citations", "declined"} and "hits" not in r
        if r["declined"]:
            declined += 1
            assert r["text"] == DECLINE_TEXT and r["citations"] == []
        else:
            answered += 1
            assert r["text"].strip() and r["citations"], r
            for c in r["citations"]:
                assert c["quote"].strip() and c["passage"].strip()
                assert store.document(c["doc_id"]) is not None
    assert declined + answered == N_CHATS
    assert answered >= N_CHATS // 2, [r["text"] for _, _, r in results]
    assert results[QUESTIONS.index("What is the boiling point of tungsten on Mars?")][2]["declined"]

    # the index is consistent: in memory, and the FAISS file on disk matches SQLite
    c = _consistency(store)
    assert c["same_ids"] and c["fts"] and c["ntotal"] == c["sql"] == c["per_doc"] and c["orphans"] == 0, c
    assert store.stats()["documents"] >= 1 + len(files)
    vec_files = sorted(store.path.glob("vectors-*.faiss"))
    assert [f.name for f in vec_files] == [f"vectors-{store.generation}.faiss"]
    on_disk = VectorIndex.load(vec_files[0], store.vectors.dim, store.vector_kind)
    assert set(on_disk.ids().tolist()) == set(store.chunk_ids())

    # clean up through the same path the page's Remove button takes; still consistent
    for p in files:
        assert store.remove(f"upload/{p.name}") > 0
    c = _consistency(store)
    assert c["same_ids"] and c["fts"] and c["ntotal"] == c["sql"] == c["per_doc"] and c["orphans"] == 0, c
    print(f"{N_CHATS} chats ({answered} answered, {declined} declined) with {len(index_spans)} index batches in {elapsed:.1f} s")
