"""Shared pytest fixtures. Keep this small: one embedder for the whole session, small data."""
from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
NEWS_DIR = Path(os.environ.get("QA_NEWS_DIR") or REPO_ROOT.parent / "shared" / "data" / "news")

# a few real BBC articles, one per category (199.txt is the one cp1252-encoded file)
BBC_SAMPLE = ["business/001.txt", "entertainment/001.txt", "politics/001.txt", "sport/199.txt", "tech/001.txt"]


@pytest.fixture(scope="session")
def embedder():
    """The packaged MiniLM embedder, loaded once (index.embedder.make_embedder caches it)."""
    from index.embedder import make_embedder

    return make_embedder()


@pytest.fixture(scope="session")
def bbc_dir():
    """Folder of the real BBC corpus (read-only); skips when the shared data is absent."""
    d = NEWS_DIR / "bbc"
    if not d.is_dir():
        pytest.skip(f"BBC data not found at {d}")
    return d


@pytest.fixture
def bbc_sample(tmp_path, bbc_dir) -> Path:
    """A writable copy of BBC_SAMPLE under tmp_path/bbc (keeps category subfolders)."""
    out = tmp_path / "bbc"
    for rel in BBC_SAMPLE:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(bbc_dir / rel, out / rel)
    return out


@pytest.fixture
def set_env(monkeypatch):
    """set_env(NAME="value", ...) for one test: index.config and qa.config read the environment once
    per process, so they read it again now, and again after the test."""
    from index import config as index_config
    from qa import config as qa_config

    def set_(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        index_config.reload_env()
        qa_config.reload_env()

    yield set_
    monkeypatch.undo()
    index_config.reload_env()
    qa_config.reload_env()


def doc_count(db: Path) -> int:
    """Documents committed in an index database, read from outside the writer (0 while it cannot be read):
    how the kill-and-resume tests see a running add's progress."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0
