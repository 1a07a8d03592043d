"""The index folder: SQLite metadata (documents, chunks, vectors, FTS5) + a FAISS vector file.

Consistency rules
- SQLite is the source of truth and every write is one transaction; a killed process leaves the
  last committed state.
- The FAISS file is a cache named after the generation it reflects (vectors-<gen>.faiss), written
  atomically. On open it is reconciled with SQLite: missing chunk ids are added from the stored
  vectors and stale ones removed, so an interrupted add still opens and a re-run resumes.
- The reverse is not repaired: a folder holding index files (vectors-*.faiss, a WAL) beside an
  empty or missing meta.sqlite is corrupt. Opening it raises CorruptIndex with the rebuild command
  and writes nothing (a new empty database would silently stand in for the lost one).

Read-only opens (IndexStore(path, read_only=True): the reader replicas of `python -m qa serve`)
- SQLite is opened with mode=ro and nothing is written: no schema, meta or PRAGMA journal_mode
  (the writer made the database WAL). The FAISS file is reconciled in memory, never saved. Every
  write (add_*, remove*, save) raises ReadOnlyIndex. A missing index raises IndexError_.
- Reading a WAL database needs its meta.sqlite-wal and -shm files: SQLite creates them (empty) when
  no writer holds them and leaves them behind (a writer's next close removes them). In a folder
  this process cannot write, and without those files, the open raises IndexError_ saying so.
- SQLite reads see each committed write at once (documents, chunk text, lexical search); the
  vector index is reconciled again at the first search after a writer's commit (the generation
  in meta moved), so dense search finds chunks added or removed since, without reopening.
"""
from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .chunking import Chunker
from .config import DEFAULTS, env
from .embedder import DEFAULT_EMBEDDER, Embedder, make_embedder
from .filtering import like_literal, where_sql
from .lexical import make_lexical
from .loaders import content_hash, iter_files, load_paths
from .casing import base, forms_of
from .records import AddReport, Chunk, ChunkRecord, Document, Filters, LoadError, RemoveReport, WordCase
from .vectors import VectorIndex, make_vector_index

log = logging.getLogger(__name__)

DB_NAME = "meta.sqlite"
SAVE_EVERY_S = 30  # a long add saves the FAISS cache at most this often (SQLite commits every batch; a killed add is reconciled on open)
ADD_BATCH_DOCS = 256  # add_paths embeds and commits this many documents at a time: the embedder's queue drains once a batch (64: 3% slower indexing here)
ADD_BATCH_CHARS = 2_000_000  # or fewer, once their text reaches this size: a batch of long documents stays a few MB
VEC_CACHE_SIZE = 20_000  # embed-text hash -> vector, for texts seen again (about 30 MB at 384-d)


@dataclass
class _Batch:
    """Documents of one add, checked and chunked, waiting for vectors."""

    todo: list[tuple[Document, str]]  # (document, content hash)
    per_doc: dict[str, list[Chunk]]
    forms: Counter[str] = field(init=False)  # the documents' word forms, counted before the write transaction

    def __post_init__(self) -> None:
        self.forms = forms_of(d.text for d, _ in self.todo)

    @property
    def chunks(self) -> list[Chunk]:
        return [c for d, _ in self.todo for c in self.per_doc[d.doc_id]]


SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL, path TEXT, source TEXT,
    date TEXT, url TEXT, hash TEXT NOT NULL, n_chunks INTEGER NOT NULL, added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ord INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, title TEXT NOT NULL,
    text TEXT NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, ord);
CREATE TABLE IF NOT EXISTS word_forms (word TEXT NOT NULL, form TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (word, form)) WITHOUT ROWID;
"""


class IndexError_(RuntimeError):
    """An index folder that cannot be used as it is (the message says how to fix it)."""


class CorruptIndex(IndexError_):
    pass


class ReadOnlyIndex(IndexError_):
    """A write asked of an index opened read-only (IndexStore(read_only=True))."""


class IndexStore:
    def __init__(
        self,
        path: str | Path,
        embedder: str | Embedder | None = None,
        chunk_tokens: int = DEFAULTS.chunk_tokens,
        overlap: int = DEFAULTS.overlap,
        vector_kind: str = DEFAULTS.vector_kind,
        lexical: str = "fts5",
        create: bool = True,
        read_only: bool = False,
    ):
        self.path = Path(path)
        self.read_only = read_only
        db = self.path / DB_NAME
        self._check_folder(db, create)
        self._lock = threading.RLock()
        self._vec_cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._open_db(db, lexical)
        self._init_meta(embedder, chunk_tokens, overlap, vector_kind)
        if not read_only:
            self._install_word_forms()
        self._vectors: VectorIndex | None = None
        self._saved_at = time.time()  # when the FAISS cache was last written (SAVE_EVERY_S)
        self._chunker: Chunker | None = None

    def _check_folder(self, db: Path, create: bool) -> None:
        """Refuse a folder whose metadata is lost beside index files; create the folder of a new index."""
        if not db.exists() or db.stat().st_size == 0:  # SQLite writes the header at once: 0 bytes = no index yet
            # ... unless index files sit beside it: then the database was lost, and creating a new
            # one would silently drop the vectors. Refuse, and touch nothing.
            left = sorted(f.name for f in [*self.path.glob("vectors-*.faiss"), self.path / f"{DB_NAME}-wal"] if f.is_file())
            if left:
                raise CorruptIndex(
                    f"index metadata {db} is {'empty' if db.exists() else 'missing'} but the folder holds index files "
                    f"({', '.join(left)}): the index is corrupt. Rebuild it: delete the folder {self.path} "
                    f"and run `python -m index add YOUR_ARTICLES --index-dir {self.path}`"
                )
            if not create or self.read_only:
                raise IndexError_(f"no index at {self.path}: build one with `python -m index add PATH --index-dir {self.path}`")
            self.path.mkdir(parents=True, exist_ok=True)

    def _open_db(self, db: Path, lexical: str) -> None:
        """Connect to the SQLite metadata and check or install its tables; an unusable file raises IndexError_."""
        try:
            self._connect(db)
            self.lexical = make_lexical(lexical)
            if self.read_only:
                tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master")}
                if not {"meta", "documents", "chunks", "chunks_fts"} <= tables:
                    raise IndexError_(f"{db} is not a complete index: open it once writable (`python -m index add ... --index-dir {self.path}`)")
            else:
                self.conn.executescript(SCHEMA)
                self.lexical.install(self.conn)
        except sqlite3.DatabaseError as exc:
            if self.read_only and isinstance(exc, sqlite3.OperationalError):  # SQLITE_READONLY / CANTOPEN: not a damaged file
                raise IndexError_(
                    f"cannot read index {self.path} read-only ({exc}): SQLite reads it through {DB_NAME}-wal and "
                    f"{DB_NAME}-shm, which it must create in the folder when no one has the index open. Make the "
                    f"folder writable by this user, or open the index there once as a user who can (the files then stay)"
                ) from exc
            raise CorruptIndex(
                f"index metadata {db} is corrupt ({exc}). Rebuild it: delete the folder {self.path} "
                f"and run `python -m index add YOUR_ARTICLES --index-dir {self.path}`"
            ) from exc

    def _connect(self, db: Path) -> None:
        """Open `self.conn` (read-only: mode=ro, no journal change) and run SQLite's quick check."""
        if self.read_only:  # SQLite itself refuses any write on this connection
            self.conn = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True, check_same_thread=False, timeout=30, isolation_level=None)
        else:
            self.conn = sqlite3.connect(str(db), check_same_thread=False, timeout=30, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        ok = self.conn.execute("PRAGMA quick_check").fetchone()[0]
        if ok != "ok":
            raise sqlite3.DatabaseError(ok)

    def _init_meta(self, embedder: str | Embedder | None, chunk_tokens: int, overlap: int, vector_kind: str) -> None:
        """Settle the embedder and chunking settings: the stored ones win; a new writable index stores these."""
        stored = self._meta("embedder")
        if isinstance(embedder, Embedder):
            self._embedder: Embedder | None = embedder
            name = embedder.name
        else:
            self._embedder = None
            name = embedder or stored or DEFAULT_EMBEDDER
        if stored and stored != name:
            raise IndexError_(f"index {self.path} was built with embedder '{stored}', not '{name}'")
        self.embedder_name = name
        if not stored and not self.read_only:
            self._set_meta("embedder", name)
            self._set_meta("chunk_tokens", str(chunk_tokens))
            self._set_meta("overlap", str(overlap))
            self._set_meta("vector_kind", vector_kind)
            self._set_meta("generation", "0")
        self.chunk_tokens = int(self._meta("chunk_tokens") or chunk_tokens)
        self.overlap = int(self._meta("overlap") or overlap)
        self.vector_kind = self._meta("vector_kind") or vector_kind

    # ---- small helpers -------------------------------------------------------------------
    def _install_word_forms(self) -> None:
        """Count the word forms of every stored document once, for an index built before the table."""
        if self._meta("word_forms"):
            return
        with self._lock:
            cur = self.conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                if not self._meta("word_forms"):  # another process may have counted them meanwhile
                    self._count_forms(cur, forms_of(r[0] for r in cur.execute("SELECT text FROM documents")))
                    self._set_meta("word_forms", "1")
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    @staticmethod
    def _count_forms(cur: sqlite3.Cursor, counts: Counter[str]) -> None:
        """Add these word-form counts (index.casing; negative ones discount) inside the caller's transaction."""
        cur.executemany(
            "INSERT INTO word_forms(word, form, n) VALUES (?, ?, ?) ON CONFLICT(word, form) DO UPDATE SET n = n + excluded.n",
            [(f.lower(), f, n) for f, n in counts.items() if n],
        )
        if any(n < 0 for n in counts.values()):
            cur.execute("DELETE FROM word_forms WHERE n <= 0")

    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    def _writable(self, what: str) -> None:
        """ReadOnlyIndex, before anything is read or written, when this store was opened read-only."""
        if self.read_only:
            raise ReadOnlyIndex(f"index {self.path} is open read-only: cannot {what}. Change it with a writable open, e.g. `python -m index add|remove ... --index-dir {self.path}`")

    @property
    def generation(self) -> int:
        return int(self._meta("generation") or 0)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            # queries are embedded the way the index was built (fp32 or int8) unless the env says otherwise
            self._embedder = make_embedder(self.embedder_name, backend=env().embed_backend or self._meta("embed_backend"))
        return self._embedder

    @property
    def chunker(self) -> Chunker:
        if self._chunker is None:
            e = self.embedder
            self._chunker = Chunker(e.count_tokens, count_batch=e.count_tokens_batch, max_tokens=min(self.chunk_tokens, e.token_budget), overlap=self.overlap, hard_limit=e.token_budget)
        return self._chunker

    # ---- the FAISS cache -----------------------------------------------------------------
    def _vector_file(self, gen: int) -> Path:
        return self.path / f"vectors-{gen}.faiss"

    @property
    def vectors(self) -> VectorIndex:
        """The FAISS index. A read-only store reconciles it again, in memory, once a writer has
        committed since (the generation moved): a replica's dense search sees new articles too."""
        with self._lock:
            if self._vectors is None:
                self._vectors_gen = self.generation
                self._vectors = self._open_vectors()
            elif self.read_only and self.generation != self._vectors_gen:
                self._vectors_gen = self.generation
                self._reconcile(self._vectors)
            return self._vectors

    def _dim(self) -> int:
        d = self._meta("dim")
        if d:
            return int(d)
        return self.embedder.dim

    def _open_vectors(self) -> VectorIndex:
        dim = self._dim()
        files = sorted(self.path.glob("vectors-*.faiss"), key=lambda p: int(p.stem.split("-")[1]) if p.stem.split("-")[1].isdigit() else -1, reverse=True)
        vi = None
        for f in files:
            try:
                vi = VectorIndex.load(f, dim, self.vector_kind)
                break
            except Exception as exc:  # corrupt / truncated file: fall back to an older one or rebuild
                log.warning("vector file %s unreadable (%s); rebuilding from metadata", f, exc)
        if vi is None:
            vi = make_vector_index(dim, self.vector_kind)
        vi.exact = self.vectors_of  # PQ codes are re-scored with the exact vectors SQLite keeps
        changed = self._reconcile(vi)
        if changed or not self._vector_file(self.generation).exists():
            self._save_vectors(vi)
        return vi

    def _reconcile(self, vi: VectorIndex) -> bool:
        """Make the FAISS index hold exactly the chunk ids in SQLite."""
        have = set(vi.ids().tolist())
        want = {r[0] for r in self.conn.execute("SELECT id FROM chunks")}
        extra = have - want
        missing = sorted(want - have)
        if extra:
            vi.remove(extra)
        if missing:  # read in batches under SQLite's limit on bound parameters (50,000 was over the default 32,766)
            rows = self._rows_by_id("SELECT id, vector FROM chunks WHERE id IN ({})", missing)
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            vi.add(ids, np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1))
        if extra or missing:
            log.info("reconciled vector index: +%d -%d", len(missing), len(extra))
        return bool(extra or missing)

    def _save_vectors(self, vi: VectorIndex) -> None:
        if self.read_only:  # reconciled in memory only: a read-only store writes nothing in its folder
            return
        gen = self.generation
        vi.save(self._vector_file(gen))
        self._saved_at = time.time()
        for f in [*self.path.glob("vectors-*.faiss"), *self.path.glob("vectors-*.faiss.tmp")]:
            if f.name != self._vector_file(gen).name:
                try:
                    f.unlink()
                except OSError:
                    pass

    def save(self) -> None:
        self._writable("save its vector file")
        with self._lock:
            if self._vectors is not None:
                self._save_vectors(self._vectors)

    # ---- writing -------------------------------------------------------------------------
    def add_documents(self, docs: Iterable[Document], report: AddReport | None = None, save: bool | None = True) -> AddReport:
        """Index one batch of documents in a single transaction (unchanged ones are skipped).
        save: write the FAISS cache after it (True), not (False), or when SAVE_EVERY_S have passed
        since it was last written (None: the batches of a long add)."""
        self._writable("add documents")
        report = report or AddReport()
        batch = self._prepare(list(docs), report)
        if batch is not None:
            self._commit(batch, self._embed_chunks(batch.chunks), report, save)
        return report

    def content_hashes(self) -> dict[str, str]:
        """doc_id -> content hash of every stored document (what an add compares to skip unchanged ones)."""
        with self._lock:
            return dict(self.conn.execute("SELECT doc_id, hash FROM documents"))

    def add_embedded(self, items: list[tuple[Document, list[Chunk], np.ndarray]], report: AddReport | None = None, save: bool | None = True) -> AddReport:
        """Write documents chunked and embedded elsewhere (index/distributed.py: Ray workers) through
        the same one-transaction commit as add_documents: an unchanged document (same content hash)
        is skipped, a changed one replaces its rows. The vectors must come from this store's embedder."""
        self._writable("add documents")
        report = report or AddReport()
        todo: list[tuple[Document, str]] = []
        per_doc: dict[str, list[Chunk]] = {}
        vecs: list[np.ndarray] = []
        dim = int(self._meta("dim") or 0)
        with self._lock:
            for d, cs, v in items:
                v = np.asarray(v, dtype=np.float32)
                if v.ndim != 2 or len(v) != len(cs) or (dim and v.shape[1] != dim) or any(c.doc_id != d.doc_id for c in cs):
                    raise ValueError(f"embedded document '{d.doc_id}' does not fit index {self.path}: {len(cs)} chunks, vectors {v.shape}, index dim {dim or '?'}")
                new = self._triage(d, per_doc, report)
                if new is None:
                    continue
                todo.append((d, new[0]))
                per_doc[d.doc_id] = cs
                vecs.append(v)
        if todo:
            self._commit(_Batch(todo, per_doc), np.concatenate(vecs), report, save)
        return report

    def _triage(self, d: Document, seen, report: AddReport) -> tuple[str, tuple | None] | None:
        """(content hash, stored row or None) for a document to write; None, reported, for a second
        copy of an id in one add (`seen`: the ids met so far) or an unchanged document. Under the lock."""
        if d.doc_id in seen:
            report.skipped.append(LoadError.duplicate(d.path, d.doc_id))
            return None
        h = content_hash(d)
        row = self.conn.execute("SELECT hash FROM documents WHERE doc_id=?", (d.doc_id,)).fetchone()
        if row and row[0] == h:
            report.unchanged.append(d.doc_id)
            return None
        return h, row

    def _prepare(self, docs: list[Document], report: AddReport) -> _Batch | None:
        """Skip unchanged documents and chunk the rest (no model call, no write)."""
        todo: list[tuple[Document, str]] = []
        in_batch: set[str] = set()
        with self._lock:
            for d in docs:
                new = self._triage(d, in_batch, report)
                in_batch.add(d.doc_id)
                if new is None:
                    continue
                h, row = new
                todo.append((d, h))
                if row:  # an edited article: its unchanged passages keep their stored vectors
                    old = self.conn.execute("SELECT title, text, vector FROM chunks WHERE doc_id=?", (d.doc_id,)).fetchall()
                    with self._cache_lock:
                        for title, text, vec in old:
                            self._vec_cache[self._text_key(self.chunker.embed_text_of(title, text))] = np.frombuffer(vec, dtype=np.float32)
        if not todo:
            return None
        return _Batch(todo, {d.doc_id: self.chunker.chunk(d) for d, _ in todo})

    @staticmethod
    def _text_key(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def _embed_chunks(self, chunks: list[Chunk]) -> np.ndarray:
        """Vectors of the chunks' embed texts; a text seen before in this store's life (a wire story
        filed twice, the unchanged passages of an edited article) reuses its vector instead of running the model again."""
        texts = [self.chunker.embed_text(c) for c in chunks]
        keys = [self._text_key(t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        todo: dict[bytes, str] = {}
        with self._cache_lock:
            for k, t in zip(keys, texts):
                v = self._vec_cache.get(k)
                if v is not None:
                    found[k] = v
                else:
                    todo.setdefault(k, t)
        if todo:
            found.update(zip(todo, self.embedder.encode(list(todo.values()))))
            with self._cache_lock:
                for k in todo:
                    self._vec_cache[k] = found[k]
                while len(self._vec_cache) > VEC_CACHE_SIZE:
                    self._vec_cache.popitem(last=False)
        if not keys:
            return np.zeros((0, self.embedder.dim), np.float32)
        return np.stack([found[k] for k in keys])

    def _commit(self, batch: _Batch, vecs: np.ndarray, report: AddReport, save: bool | None) -> None:
        """Write one prepared batch and its vectors in one transaction, then update the FAISS cache."""
        with self._lock:
            vi = self.vectors
            if self._meta("dim") is None:
                self._set_meta("dim", str(vecs.shape[1] if len(vecs) else self.embedder.dim))
                self._set_meta("embed_backend", self.embedder.backend)
            cur = self.conn.cursor()
            removed: list[int] = []
            cur.execute("BEGIN IMMEDIATE")
            try:
                now = time.time()
                offset = 0
                new_ids: list[int] = []
                old_texts: list[str] = []
                for d, h in batch.todo:
                    # checked again inside the transaction: another thread may have added it meanwhile
                    old = cur.execute("SELECT text FROM documents WHERE doc_id=?", (d.doc_id,)).fetchone()
                    existed = old is not None
                    if existed:
                        old_texts.append(old[0])
                        removed += [r[0] for r in cur.execute("SELECT id FROM chunks WHERE doc_id=?", (d.doc_id,))]
                        cur.execute("DELETE FROM chunks WHERE doc_id=?", (d.doc_id,))
                        cur.execute("DELETE FROM documents WHERE doc_id=?", (d.doc_id,))
                    cs = batch.per_doc[d.doc_id]
                    cur.execute(
                        "INSERT INTO documents(doc_id,title,text,path,source,date,url,hash,n_chunks,added_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (d.doc_id, d.title, d.text, d.path, d.source, d.date, d.url, h, len(cs), now),
                    )
                    for c in cs:
                        cur.execute(
                            'INSERT INTO chunks(doc_id,ord,start,"end",title,text,vector) VALUES (?,?,?,?,?,?,?)',
                            (c.doc_id, c.ord, c.start, c.end, c.title, c.text, vecs[offset].tobytes()),
                        )
                        new_ids.append(cur.lastrowid)
                        offset += 1
                    (report.replaced if existed else report.added).append(d.doc_id)
                counts = batch.forms.copy()
                counts.subtract(forms_of(old_texts))  # a replaced document's old words (signed: Counter's "-" drops them)
                self._count_forms(cur, counts)
                cur.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='generation'")
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            vi.remove(removed)
            vi.add(np.array(new_ids, dtype=np.int64), vecs)
            report.chunks += len(vecs)
            if save or (save is None and time.time() - self._saved_at > SAVE_EVERY_S):
                self._save_vectors(vi)

    def add_paths(
        self,
        paths: list[str | Path],
        batch_docs: int = ADD_BATCH_DOCS,
        progress: Callable[[int, int, AddReport], None] | None = None,
        on_skip: Callable[[LoadError], None] | None = None,
        batch_chars: int = ADD_BATCH_CHARS,
    ) -> AddReport:
        """Stream files → documents → chunks → vectors → store, one transaction per batch (at most
        `batch_docs` documents and about `batch_chars` characters of text).

        (Running the load/chunk stage in a second thread while the model embeds was measured:
        no gain on 2 cores, where the model already keeps both busy.)"""
        self._writable("add files")
        t0 = time.time()
        report = AddReport()
        total = count_files(paths)
        done = 0
        batch: list[Document] = []
        chars = 0

        def flush():
            nonlocal chars
            if batch:
                self.add_documents(batch, report, save=None)
                batch.clear()
            chars = 0

        seen_files: set[str] = set()
        seen_ids: set[str] = set()
        for item in load_paths(paths):
            if not isinstance(item, LoadError) and item.doc_id in seen_ids:
                # e.g. `add a/x.txt b/x.txt`, or a JSONL file repeating a record id: keep the first
                item = LoadError.duplicate(item.path, item.doc_id)
            if isinstance(item, LoadError):
                report.skipped.append(item)
                if on_skip:
                    on_skip(item)
                f = item.path.split(":")[0]
            else:
                seen_ids.add(item.doc_id)
                batch.append(item)
                chars += len(item.text)
                f = item.path
            if f not in seen_files:
                seen_files.add(f)
                done += 1
            if len(batch) >= batch_docs or chars >= batch_chars:
                flush()
            if progress:
                progress(done, total, report)
        flush()
        self.save()
        report.seconds = time.time() - t0
        return report

    def remove(self, doc_id: str) -> int:
        """Remove a document and its chunks; returns the number of chunks removed (0: not found)."""
        self._writable("remove documents")
        rep = self._remove_where("doc_id = ?", (doc_id,))
        return max(rep.chunks, 1) if rep.documents else 0

    def remove_feed(self, feed: str) -> RemoveReport:
        """Remove every record of one JSONL file: the documents 'feed.jsonl#<id>' and 'feed.jsonl:<line>'
        (what the loader names them), in one transaction. An empty report: no such feed."""
        self._writable("remove documents")
        feed = feed.rstrip("#:")
        if not feed:
            return RemoveReport()
        pat = like_literal(feed)
        return self._remove_where("(doc_id LIKE ? ESCAPE '\\' OR doc_id LIKE ? ESCAPE '\\')", (pat + "#%", pat + ":%"))

    def _remove_where(self, cond: str, params: tuple) -> RemoveReport:
        """Remove the documents matching `cond` (SQL on `documents`) with their chunks: one transaction, one vector save."""
        with self._lock:
            vi = self.vectors
            cur = self.conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                docs = [r[0] for r in cur.execute(f"SELECT doc_id FROM documents WHERE {cond} ORDER BY doc_id", params)]
                if not docs:
                    cur.execute("ROLLBACK")
                    return RemoveReport()
                sub = f"SELECT doc_id FROM documents WHERE {cond}"
                gone = forms_of(r[0] for r in cur.execute(f"SELECT text FROM documents WHERE {cond}", params))
                self._count_forms(cur, Counter({f: -n for f, n in gone.items()}))
                ids = [r[0] for r in cur.execute(f"SELECT id FROM chunks WHERE doc_id IN ({sub})", params)]
                cur.execute(f"DELETE FROM chunks WHERE doc_id IN ({sub})", params)
                cur.execute(f"DELETE FROM documents WHERE {cond}", params)
                cur.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='generation'")
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            vi.remove(ids)
            self._save_vectors(vi)
            return RemoveReport(documents=docs, chunks=len(ids))

    # ---- reading -------------------------------------------------------------------------
    def documents(self) -> list[dict]:
        with self._lock:
            rows = self.conn.execute("SELECT doc_id, title, source, date, n_chunks, path FROM documents ORDER BY doc_id").fetchall()
        return [dict(doc_id=r[0], title=r[1], source=r[2], date=r[3], chunks=r[4], path=r[5]) for r in rows]

    def document(self, doc_id: str) -> Document | None:
        with self._lock:
            r = self.conn.execute("SELECT doc_id,title,text,path,source,date,url FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        return Document(*r) if r else None

    def word_cases(self, words: Iterable[str]) -> list[WordCase]:
        """How the stored articles write these words (in any case, a possessive read without its
        ending), one WordCase for each word they write at all; none from an index opened read-only
        that was built before the counts were kept."""
        keys = sorted({base(w).lower() for w in words})
        if not keys:
            return []
        try:
            with self._lock:
                rows = self.conn.execute(f"SELECT word, form, n FROM word_forms WHERE word IN ({','.join('?' * len(keys))})", keys).fetchall()
        except sqlite3.OperationalError:  # no such table
            return []
        seen: dict[str, list[tuple[str, int]]] = {}
        for word, form, n in rows:
            seen.setdefault(word, []).append((form, n))
        out = []
        for word, forms in sorted(seen.items()):
            capitals = [(n, f) for f, n in forms if f[:1].isupper()]
            out.append(WordCase(word=word, form=max(capitals)[1] if capitals else "", capitalised=sum(n for n, _ in capitals),
                                lower=sum(n for f, n in forms if not f[:1].isupper())))
        return out

    def stats(self) -> dict:
        with self._lock:
            n_docs = self.conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            n_chunks = self.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        size = 0
        for f in self.path.iterdir():
            try:  # a temporary vector file may be renamed away between listing and stat
                size += f.stat().st_size if f.is_file() else 0
            except OSError:
                pass
        return {
            "path": str(self.path),
            "documents": n_docs,
            "chunks": n_chunks,
            "embedder": self.embedder_name,
            "chunk_tokens": self.chunk_tokens,
            "overlap": self.overlap,
            "vector_index": self.vector_kind,
            "generation": self.generation,
            "bytes_on_disk": size,
        }

    def chunk_ids(self, doc_id: str | None = None) -> list[int]:
        """Ids of every stored chunk in id order, or of one document's chunks in their order."""
        with self._lock:
            if doc_id is None:
                return [r[0] for r in self.conn.execute("SELECT id FROM chunks ORDER BY id")]
            return [r[0] for r in self.conn.execute("SELECT id FROM chunks WHERE doc_id=? ORDER BY ord", (doc_id,))]

    def chunks(self, ids: list[int]) -> dict[int, ChunkRecord]:
        """id -> ChunkRecord for the ids still stored (a removed chunk is simply absent)."""
        rows = self._rows_by_id(
            'SELECT c.id, c.doc_id, c.ord, c.start, c."end", c.title, c.text, d.source, d.date FROM chunks c '
            "JOIN documents d ON d.doc_id = c.doc_id WHERE c.id IN ({})",
            ids,
        )
        return {r[0]: ChunkRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] or "", r[8] or "") for r in rows}

    def _rows_by_id(self, sql: str, ids: list[int], batch: int = 30_000) -> list[tuple]:
        """`sql` with its IN ({}) filled with ids, run in batches under SQLite's limit on parameters."""
        ids = list(ids)
        out: list[tuple] = []
        with self._lock:
            for i in range(0, len(ids), batch):
                part = ids[i : i + batch]
                out += self.conn.execute(sql.format(",".join("?" * len(part))), part).fetchall()
        return out

    def vectors_of(self, ids: list[int]) -> dict[int, np.ndarray]:
        """Stored embedding of each chunk id (from SQLite, the source of truth)."""
        rows = self._rows_by_id("SELECT id, vector FROM chunks WHERE id IN ({})", ids)
        return {r[0]: np.frombuffer(r[1], dtype=np.float32) for r in rows}

    def neighbours(self, doc_id: str, ord_: int) -> list[tuple[int, str]]:
        with self._lock:
            rows = self.conn.execute("SELECT ord, text FROM chunks WHERE doc_id=? AND ord BETWEEN ? AND ? ORDER BY ord", (doc_id, ord_ - 1, ord_ + 1)).fetchall()
        return [(r[0], r[1]) for r in rows]

    def search_dense(self, vec: np.ndarray, k: int, filters: Filters | None = None, oversample: int = 10) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the k nearest chunks passing `filters`, best first. With filters the
        k x oversample nearest are searched and the passing ones kept, so fewer than k may come back.
        ValueError for a bad filter value (a date that is not ISO)."""
        where, params = where_sql(filters)
        with self._lock:
            if not where:
                return self.vectors.search(vec, k)
            hits = self.vectors.search(vec, k * max(1, oversample))
            ok = self._ids_where([i for i, _ in hits], where, params)
        return [(i, sc) for i, sc in hits if i in ok][:k]

    def search_lexical(self, question: str, k: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) of the k best lexical matches passing `filters`, best first."""
        with self._lock:
            return self.lexical.search(self.conn, question, k, filters)

    def filter_ids(self, ids: list[int], filters: Filters | None) -> set[int]:
        """The ids, of those given, whose documents pass `filters` (all of them for no filter)."""
        where, params = where_sql(filters)
        if not where:
            return set(ids)
        with self._lock:
            return self._ids_where(list(ids), where, params)

    def _ids_where(self, ids: list[int], where: str, params: tuple) -> set[int]:
        if not ids:
            return set()
        rows = self.conn.execute(
            f"SELECT chunks.id FROM chunks JOIN documents ON documents.doc_id = chunks.doc_id "
            f"WHERE chunks.id IN ({','.join('?' * len(ids))}){where}",
            (*ids, *params),
        ).fetchall()
        return {r[0] for r in rows}

    def integrity(self) -> dict:
        """Do SQLite, the full-text index and the vector index agree? Counts, and each kind of
        disagreement (a sound index: vectors_match and fts_intact True, the last three 0; read-only: fts_intact None)."""
        with self._lock:
            ids = {r[0] for r in self.conn.execute("SELECT id FROM chunks")}
            vi = self.vectors
            one = lambda sql: self.conn.execute(sql).fetchone()[0]  # noqa: E731
            return {
                "documents": one("SELECT COUNT(*) FROM documents"),
                "chunks": len(ids),
                "chunks_listed": one("SELECT COALESCE(SUM(n_chunks), 0) FROM documents"),  # what the document rows say they hold
                "vectors": vi.ntotal,
                "vectors_match": set(vi.ids().tolist()) == ids,
                "fts_intact": self.lexical.intact(self.conn) if not self.read_only else None,  # FTS5's check is an INSERT: None, not checked
                "duplicate_ords": one("SELECT COUNT(*) FROM (SELECT 1 FROM chunks GROUP BY doc_id, ord HAVING COUNT(*) > 1)"),
                "partial_documents": one(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM documents d LEFT JOIN chunks c ON c.doc_id = d.doc_id "
                    "GROUP BY d.doc_id HAVING COUNT(c.id) != d.n_chunks)"
                ),
                "orphan_chunks": one("SELECT COUNT(*) FROM chunks c LEFT JOIN documents d ON d.doc_id = c.doc_id WHERE d.doc_id IS NULL"),
            }

    def close(self) -> None:
        with self._lock:
            self.conn.close()


def count_files(paths: list[str | Path]) -> int:
    n = 0
    for p in paths:
        p = Path(p)
        if p.is_dir():
            n += sum(1 for _ in iter_files(p))  # what load_paths walks (a linked folder is one report line)
        elif p.exists():
            n += 1
    return n
