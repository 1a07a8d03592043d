"""Shared pytest fixtures. Keep this small: one embedder of each kind for the whole session, small data.

Tiers (markers in pyproject.toml): `model` tests load the real MiniLM embedder, `slow` ones the real
generator, `browser` ones drive Chromium, `ray` ones start a Ray cluster. `make test-fast` runs the
rest; `make test` runs everything. A test that asks for `embedder` (directly or through another
fixture) is marked `model` here, and `any_embedder[model]` is too; a test in the fast tier that still
loads the real embedder is failed with a message saying so (see pytest_runtest_teardown)."""
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


# tests that use one of these fixtures (directly or through another fixture) load the real embedder:
# `client` is tests/test_app.py's live page, over an index of the example article built with MiniLM
MODEL_FIXTURES = {"embedder", "client"}
FAST_EMBEDDER = "hash-ngram"
NOT_FAST = ("model", "slow", "browser", "ray")
_LOADED = pytest.StashKey[set]()  # the real embedders loaded before a test set up


@pytest.fixture(scope="session")
def embedder():
    """The packaged MiniLM embedder, loaded once (index.embedder.make_embedder caches it).
    Every test that uses it is marked `model` (pytest_collection_modifyitems)."""
    from index.embedder import make_embedder

    return make_embedder()


@pytest.fixture(scope="session")
def fast_embedder():
    """The "hash-ngram" embedder (index/embedder/hashing.py): deterministic hashed n-grams, no model.
    For tests of the store, retrieval, evidence and citations that need vectors, not meaning."""
    from index.embedder import make_embedder

    return make_embedder(FAST_EMBEDDER)


@pytest.fixture(scope="module", params=["fast", pytest.param("model", marks=pytest.mark.model)])
def any_embedder(request):
    """Each test that uses it runs twice: on the fast embedder, and on MiniLM (marked `model`: it runs
    in `make test`, not in `make test-fast`). For tests whose asserts hold for either embedder."""
    return request.getfixturevalue("fast_embedder" if request.param == "fast" else "embedder")


# for a test whose fixtures use any_embedder but whose asserts need MiniLM's sense of meaning:
# it runs on MiniLM only (and is marked `model`)
real_embedder_only = pytest.mark.parametrize("any_embedder", [pytest.param("model", marks=pytest.mark.model)], indirect=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if MODEL_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.model)


def _real_embedders() -> set:
    from index.embedder import MODEL_FREE, _CACHE

    return {key for key in _CACHE if key[0] not in MODEL_FREE}


@pytest.hookimpl(tryfirst=True)  # before the test's fixtures are set up
def pytest_runtest_setup(item):
    item.stash[_LOADED] = _real_embedders()


@pytest.hookimpl(trylast=True)  # after its fixtures are torn down
def pytest_runtest_teardown(item, nextitem):
    """A test with none of the NOT_FAST markers must not load the real embedder (in this process:
    a subprocess is not seen). It would make `make test-fast` slow, so it fails here and says why."""
    before = item.stash.get(_LOADED, None)
    if before is None or any(item.get_closest_marker(m) for m in NOT_FAST):
        return
    loaded = _real_embedders() - before
    if loaded:
        pytest.fail(f"{item.nodeid} loaded the real embedder {sorted(loaded)} but is not marked `model`: "
                    f"use the fast_embedder fixture, or the embedder fixture (it marks the test), or mark it", pytrace=False)


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
