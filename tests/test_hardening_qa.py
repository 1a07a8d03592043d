"""Input limits on every way into the model: the Python API and `python -m qa ask` (the page and its
/ask API: tests/test_app.py). Real index; the real embedder and default reader where an answer is
asked for, the fast embedder where the question is refused first."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from index import Document, IndexStore
from qa import QA, Settings
from qa.__main__ import main as qa_main

REPO = Path(__file__).resolve().parent.parent
HUGE = "a" * 200_000  # the history of the report that held the server for over 7 minutes

DOCS = [
    Document("politics/vote.txt", "Krellford council backs the new library",
             "Krellford council backs the new library\n\nThe council of Krellford voted 31 to 9 on Monday to build a new library. "
             "Council leader Maria Okafor said the library would open in 2027.",
             source="politics", date="2024-03-04"),
    Document("sport/run.txt", "McIlroy aims for Madrid title",
             "McIlroy aims for Madrid title\n\nJames McIlroy credits coach Tony Lester with getting his career back on track. "
             "He wants to win the European Indoor Championships in Madrid in March.",
             source="sport", date="2005-02-01"),
]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory, embedder) -> Path:
    d = tmp_path_factory.mktemp("ix")
    IndexStore(d, embedder=embedder).add_documents(DOCS)
    return d


@pytest.fixture(scope="module")
def qa(index_dir) -> QA:
    return QA(index_dir)


@pytest.fixture(scope="module")
def fast_index_dir(tmp_path_factory, fast_embedder) -> Path:
    d = tmp_path_factory.mktemp("fast-ix")
    IndexStore(d, embedder=fast_embedder).add_documents(DOCS)
    return d


@pytest.fixture(scope="module")
def fast_qa(fast_index_dir) -> QA:
    return QA(fast_index_dir)


# ---- the Python API --------------------------------------------------------------------------
def test_questions_over_the_limits_are_refused_with_a_clear_message(fast_qa):
    from qa import BadQuestion

    s = Settings()
    with pytest.raises(BadQuestion, match="empty"):
        fast_qa.ask("   ")
    with pytest.raises(BadQuestion, match=rf"too long \(2,001 characters; the limit is {s.max_question_chars:,}\)"):
        fast_qa.ask("x" * (s.max_question_chars + 1))
    with pytest.raises(BadQuestion, match="too long"):  # refused before the (missing) model is even looked for
        list(fast_qa.ask_stream("x" * 100_000, generator="no-such-model"))
    assert isinstance(BadQuestion("x"), ValueError)


@pytest.mark.slow  # the reader's tokenizer counts the question: the real reader loads
def test_a_question_over_the_readers_token_limit_is_refused(fast_qa):
    from qa import BadQuestion

    s = Settings()
    # under the character limit but not the token limit: the reader splits digits one by one
    digits = " ".join("7" * 3 for _ in range(s.max_question_chars // 4))
    assert len(digits) <= s.max_question_chars
    with pytest.raises(BadQuestion, match=rf"tokens for the reader; the limit is {s.max_question_tokens}"):
        fast_qa.ask(digits)


def test_history_keeps_the_last_turns_each_cut_to_a_slice():
    from qa import BadQuestion
    from qa.validate import bound_history

    s = Settings()
    hist = [(f"q{i} " + "x" * 5000, f"a{i}") for i in range(100)]
    out = bound_history(hist, s)
    assert len(out) == s.max_history_turns and out[-1][0].startswith("q99") and out[0][0].startswith("q80")
    assert all(len(q) <= s.max_history_chars and len(a) <= s.max_history_chars for q, a in out)
    assert bound_history(None, s) == [] and bound_history([["q", None]], s) == [("q", "")]
    for bad in ("not a list", [("only one",)], [(1, 2)]):
        with pytest.raises(BadQuestion, match="history"):
            bound_history(bad, s)


@pytest.mark.slow
def test_a_huge_history_is_bounded_before_retrieval_and_the_model(qa):
    """The report's request: answered (or declined) at once, from a bounded retrieval question."""
    q = "and how many votes?"
    for hist in ([(HUGE, "b")], [("How did Krellford council vote on the library?", HUGE)], [(HUGE, HUGE)] * 50):
        ans = qa.ask(q, hist)
        assert ans.standalone_question.startswith(q)
        assert len(ans.standalone_question) <= len(q) + 450, len(ans.standalone_question)
    # a follow-up still leans on the previous turn (its question, and a slice of its huge answer)
    ans = qa.ask(q, [("How did Krellford council vote on the new library?", "b " + HUGE)])
    assert "Krellford" in ans.standalone_question and len(ans.standalone_question) <= len(q) + 450
    assert not ans.declined and "31" in ans.text, ans


# ---- python -m qa ask -------------------------------------------------------------------------
def test_cli_refuses_bad_questions_with_exit_2_before_opening_the_index(tmp_path, capsys):
    missing = str(tmp_path / "no-index-here")  # validation comes first: the index is never opened
    assert qa_main(["ask", "", "--index-dir", missing]) == 2
    err = capsys.readouterr().err
    assert "error: Ask a question first" in err and "Traceback" not in err
    assert qa_main(["ask", "x" * 100_000, "--index-dir", missing]) == 2
    err = capsys.readouterr().err
    assert "error: The question is too long (100,000 characters; the limit is 2,000)" in err


def test_cli_empty_question_exits_2_without_traceback(fast_index_dir):
    """The report's command, as a process: `python -m qa ask ""` on a real index."""
    env = dict(os.environ, QA_INDEX_DIR=str(fast_index_dir))
    r = subprocess.run([sys.executable, "-m", "qa", "ask", ""], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r
    assert "Traceback" not in r.stderr and "error: Ask a question first" in r.stderr, r.stderr
