"""Lexical (BM25) search with SQLite FTS5, in the same database as the chunk metadata.

Chosen over bm25s because FTS5 updates incrementally inside the same transaction as the chunk
rows (add / replace / remove can never disagree with the metadata, and nothing is rebuilt on
add), it persists with the index, and its bm25() ranking is maintained upstream.
"""
from __future__ import annotations

import re
import sqlite3

from .filtering import where_sql
from .records import Filters

SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    title, text, content='chunks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
  INSERT INTO chunks_fts(chunks_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
END;
"""

TITLE_WEIGHT = 0.5  # BM25 weight of a chunk's title against its text's 1.0: every chunk of an article has its title, the text tells them apart
MAX_QUERY_TERMS = 32  # an FTS5 query ORs at most this many distinct terms of the question (the first ones)

STOPWORDS = set(
    """a an and are as at be been but by did do does for from had has have he her his how i if in into is it its
    me my of on or our she so than that the their them then there these they this to was we were what when where
    which who whom whose why will with would you your about after before can could should many much""".split()
)


def fts_query(question: str) -> str:
    """A safe FTS5 OR-query from free text (quotes each term; drops stopwords)."""
    terms = re.findall(r"\w+", question.lower())
    keep = [t for t in terms if t not in STOPWORDS] or terms
    seen = []
    for t in keep:
        if t not in seen:
            seen.append(t)
    return " OR ".join(f'"{t}"' for t in seen[:MAX_QUERY_TERMS])


class FTS5Lexical:
    name = "fts5"

    def __init__(self, title_weight: float = TITLE_WEIGHT):
        self.title_weight = title_weight

    def install(self, conn: sqlite3.Connection) -> None:
        conn.executescript(SCHEMA)

    def search(self, conn: sqlite3.Connection, question: str, k: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) of the best k chunks passing `filters`, best first."""
        where, params = where_sql(filters)  # checks the filters first: a bad one is an error even for an empty query
        q = fts_query(question)
        if not q:
            return []
        sql = (
            f"SELECT chunks_fts.rowid, -bm25(chunks_fts, ?, 1.0) AS s FROM chunks_fts "
            f"JOIN chunks ON chunks.id = chunks_fts.rowid JOIN documents ON documents.doc_id = chunks.doc_id "
            f"WHERE chunks_fts MATCH ? {where} ORDER BY bm25(chunks_fts, ?, 1.0) LIMIT ?"
        )
        rows = conn.execute(sql, (self.title_weight, q, *params, self.title_weight, k)).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def intact(self, conn: sqlite3.Connection) -> bool:
        """Does the full-text index hold exactly the chunks table's rows (FTS5 'integrity-check' against its content)?"""
        try:
            conn.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError:
            return False
        return True

    def rebuild(self, conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')")


def make_lexical(name: str = "fts5") -> FTS5Lexical:
    if name in ("fts5", "bm25", ""):
        return FTS5Lexical()
    raise ValueError(f"unknown lexical backend '{name}' (available: fts5)")
