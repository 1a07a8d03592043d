"""The page's pieces (rendering, input checks, upload safety), the CLI's start-up rules, and the
/ask API through gradio_client against a live server on 127.0.0.1."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import app
from index import ingest, open_index
from qa import DECLINE_TEXT, Settings
from qa.history import standalone_question
from qa.records import Answer, Citation, Trace
from qa.text import strip_markers

from app_server import free_port, shared_server

REPO = Path(__file__).resolve().parent.parent
EVIL_TITLE = "Evil <script>window.__pwned=1</script> headline"


def _citation(**kw) -> Citation:
    base = dict(
        number=1, doc_id="upload/evil.txt", title=EVIL_TITLE, chunk_id=7,
        passage='Intro. The mayor said <img src=x onerror="window.__pwned=2"> the bridge opened on Monday. Outro.',
        quote='The mayor said <img src=x onerror="window.__pwned=2"> the bridge opened on Monday.',
        quote_start=0, quote_end=0, score=0.8123, source="upload", date="2024-05-01",
    )
    base.update(kw)
    return Citation(**base)


# ---- rendering: article text is always text ----------------------------------------------------
def test_source_cards_escape_article_text_and_mark_the_quote():
    out = app.sources_html(Answer(text="It opened on Monday [1].", citations=[_citation()]))
    assert 'id="src-1"' in out
    assert "<script" not in out and "<img" not in out  # nothing from the article becomes markup
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in out
    assert "<mark>The mayor said &lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt; the bridge opened on Monday.</mark>" in out
    assert out.index("Intro.") < out.index("<mark>") < out.index("Outro.")
    assert "score 0.812" in out and "2024-05-01" in out and "upload/evil.txt" in out


def test_quote_found_despite_whitespace_differences_or_shown_apart():
    c = _citation(passage="A said\nthat   B happened. C.", quote="that B happened.")
    assert "<mark>that   B happened.</mark>" in app.sources_html(Answer(text="x [1]", citations=[c]))
    c = _citation(passage="Nothing here.", quote="Not in passage <b>")
    out = app.sources_html(Answer(text="x [1]", citations=[c]))
    assert "Nothing here." in out and "Supporting quote: <mark>Not in passage &lt;b&gt;</mark>" in out


def test_declined_answer_has_no_cards():
    out = app.sources_html(Answer(text="The articles do not say.", declined=True))
    assert "src-card" not in out and "No indexed article answers" in out and "Why" not in out
    why = Answer(text="x", declined=True, trace=Trace(declined_because="the passage found never mentions <Kelly>"))
    assert "Why: the passage found never mentions &lt;Kelly&gt;." in app.sources_html(why)


def test_a_respelt_question_says_how_it_was_read():
    out = app.sources_html(Answer(text="x [1]", citations=[_citation()], trace=Trace(respelt={"Ericson": "Ericsson", "<b>": "<i>"})))
    assert "Read “Ericson” as “Ericsson”, “&lt;b&gt;” as “&lt;i&gt;”." in out and out.index("Read") < out.index('id="src-1"')
    assert "Read “" not in app.sources_html(Answer(text="x [1]", citations=[_citation()]))  # nothing respelt, no note


def test_chat_markdown_links_only_existing_sources_and_escapes():
    md = app.chat_markdown("Yes [1], see [2] and [9] <script>x</script> *bold*", n_sources=2)
    assert '<a href="#src-1" class="cite">[1]</a>' in md and '<a href="#src-2" class="cite">[2]</a>' in md
    assert "#src-9" not in md and r"\[9\]" in md  # no card 9: left as (escaped) text
    assert "<script>" not in md and "&lt;script&gt;" in md and r"\*bold\*" in md


def test_chat_text_keeps_quotes_and_escapes_markup_once():
    assert app.chat_markdown("The indexed articles don't say.") == "The indexed articles don't say."
    assert app.md_text('O\'Brien said "yes" & <b>no</b>') == 'O\'Brien said "yes" &amp; &lt;b&gt;no&lt;/b&gt;'


def test_only_the_newest_answer_links_to_the_cards():
    msgs = app.chat_messages([("q1", "old [1]"), ("q2", "new [1]")], last_sources=1)
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"]
    assert "#src-1" not in msgs[1]["content"] and "#src-1" in msgs[3]["content"]
    streaming = app.chat_messages([("q1", "a1 [1]")], pending="q2 <b>", partial="par")
    assert streaming[-2]["content"] == "q2 &lt;b&gt;" and streaming[-1]["content"] == "par"


def test_answer_json_drops_hits_and_is_json():
    d = app.answer_json(Answer(text="t [1]", citations=[_citation()], hits=[object()]))
    assert "hits" not in d and d["citations"][0]["number"] == 1
    json.dumps(d)


# ---- input checks ------------------------------------------------------------------------------
def test_history_formats_and_bad_history():
    assert app.parse_history("") == [] and app.parse_history(None) == []
    assert app.parse_history('[["q", "a"]]') == [("q", "a")]
    msgs = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}, {"role": "user", "content": "dangling"}]
    assert app.parse_history(json.dumps(msgs)) == [("q", "a")]
    for bad in ("{not json", '{"a": 1}', '[["only one"]]', "[[1, 2]]"):
        with pytest.raises(app.gr.Error):
            app.parse_history(bad)


def test_filters_and_questions_are_checked():
    f = app.make_filters("(any)", " election ", "2024-01-01", "")
    assert f.source is None and f.title == "election" and f.date_from == "2024-01-01" and f.date_to is None
    assert app.make_filters("bbc/politics", None, None, None).source == "bbc/politics"
    for bad in ("yesterday", "2024/01/01", "2024-1-1'; DROP TABLE documents; --"):
        with pytest.raises(app.gr.Error):
            app.make_filters(None, None, bad, None)
    with pytest.raises(app.gr.Error):
        app.check_question("   ")
    with pytest.raises(app.gr.Error):
        app.check_question("x" * (app.Settings().max_question_chars + 1))


def test_page_limits_are_the_qa_limits():
    """One place for the limits (qa.Settings): the page's messages are qa's, history is bounded the same way."""
    s = app.Settings()
    with pytest.raises(app.gr.Error, match=r"too long \(2,001 characters; the limit is 2,000\)"):
        app.check_question("x" * (s.max_question_chars + 1))
    with pytest.raises(app.gr.Error, match="Ask a question first"):
        app.check_question(" \n ")
    hist = app.parse_history(json.dumps([["q" * 200_000, "b"]] * 100))
    assert len(hist) == s.max_history_turns and all(len(q) == s.max_history_chars for q, _ in hist)


# ---- upload safety (real store, real embedder) ----------------------------------------------------
@pytest.mark.parametrize(
    "name, label",
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\win.ini.txt", "win.ini.txt"),
        ("/abs/path/x.md", "x.md"),
        ("..", "file"),
        ("a\x00b\nc.txt", "abc.txt"),
        ("<img src=x onerror=alert(1)>.html", "img src_x onerror_alert(1)_.html"),
        ("réunion café.txt", "réunion café.txt"),
    ],
)
def test_safe_name_keeps_only_a_basename_label(name, label):
    out = ingest.safe_name(name)
    assert out == label
    assert "/" not in out and "\\" not in out and not out.startswith(".")


def test_uploads_are_checked_by_size_count_and_content(tmp_path, monkeypatch, embedder):
    store = open_index(tmp_path / "index", embedder=embedder)
    up = tmp_path / "uploads"  # stands in for Gradio's upload cache
    up.mkdir()

    def f(name, data):
        p = up / name
        p.write_bytes(data)
        return p

    good = f("good.txt", b"Bridge opens\n\nThe Exampleton bridge opened on Monday after two years of work.\n")
    traversal = f("x1.txt", b"Sneaky name\n\nThis article arrives with a path in its name.\n")
    png = f("photo.txt", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    fake_pdf = f("report.pdf", b"just text pretending to be a PDF")
    pdf_as_md = f("notes.md", b"%PDF-1.4\n%binary")
    exe = f("tool.exe", b"MZ\x90\x00\x03")
    empty = f("empty.md", b"   \n")
    big = f("big.txt", b"Big\n\n" + b"word " * 3000)
    bad_jsonl = f("feed.jsonl", b'{"title": "Ok", "text": "Fine record."}\nnot json\n')
    monkeypatch.setattr(ingest, "MAX_FILE_BYTES", 10_000)
    seen = []
    rep = ingest.add_uploads(
        store,
        [good, ("../../../evil/pwned.txt", traversal), png, fake_pdf, pdf_as_md, exe, empty, big, bad_jsonl],
        progress=lambda done, total, label: seen.append((done, total)),
    )
    reasons = {e.path: e.reason for e in rep.skipped}
    assert sorted(rep.added) == ["upload/feed.jsonl:1", "upload/good.txt", "upload/pwned.txt"]
    assert "PNG image" in reasons["photo.txt"]
    assert "not a PDF" in reasons["report.pdf"]
    assert "PDF" in reasons["notes.md"]
    assert "unsupported file type '.exe'" in reasons["tool.exe"]
    assert "empty" in reasons["empty.md"]
    assert "too large" in reasons["big.txt"]
    assert "invalid JSON" in reasons["feed.jsonl:2"]
    assert seen[0] == (0, 9) and seen[-1] == (9, 9)
    # the name was only a label: nothing was written anywhere near the path it named
    assert not (tmp_path.parent.parent / "evil").exists() and not list(tmp_path.rglob("pwned.txt"))
    doc = store.document("upload/pwned.txt")
    assert doc.source == "upload" and doc.path == "pwned.txt"
    s = store.stats()
    assert s["documents"] == 3 and store.vectors.ntotal == s["chunks"]
    text = ingest.describe(rep)
    assert "skipped photo.txt: content is a PNG image" in text and "+ upload/good.txt" in text

    monkeypatch.setattr(ingest, "MAX_FILES", 2)
    rep = ingest.add_uploads(store, [good, good, good])
    assert rep.unchanged == ["upload/good.txt"] and rep.added == ["upload/good-2.txt"]  # same name twice: -2
    assert [e.reason for e in rep.skipped] == ["too many files in one upload (limit 2); add it in another upload"]


def test_pasted_text_needs_title_and_text(tmp_path, embedder):
    store = open_index(tmp_path / "index", embedder=embedder)
    assert "title is needed" in ingest.add_text(store, "  ", "Some text.").skipped[0].reason
    assert "empty" in ingest.add_text(store, "Title", " \n ").skipped[0].reason
    rep = ingest.add_text(store, "Council <b>vote</b> / ../x", "The council voted 7-2 for the plan.")
    (doc_id,) = rep.added
    assert doc_id.startswith("pasted/Council") and doc_id.count("/") == 1 and ".." not in doc_id and "<" not in doc_id
    doc = store.document(rep.added[0])
    assert doc.title == "Council <b>vote</b> / ../x" and doc.source == "pasted" and "voted 7-2" in doc.text


# ---- the CLI's start-up rules ------------------------------------------------------------------
def test_refuses_public_bind_without_password(monkeypatch, capsys):
    monkeypatch.delenv("QA_AUTH", raising=False)
    assert app.main(["--host", "0.0.0.0", "--port", "1"]) == 2
    assert "refusing to serve on 0.0.0.0 without a password" in capsys.readouterr().err
    monkeypatch.setenv("QA_AUTH", "nopassword")
    assert app.main(["--host", "0.0.0.0", "--port", "1"]) == 2
    assert "QA_AUTH must look like user:password" in capsys.readouterr().err


def _wait_http(url: str, proc, timeout: float = 90) -> int:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {timeout} s")


def test_cli_serves_on_loopback_with_env_port_and_index(tmp_path):
    """`python app.py` with GRADIO_SERVER_PORT / QA_INDEX_DIR, and QA_AUTH guarding the page."""
    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), QA_INDEX_DIR=str(tmp_path / "idx"), QA_AUTH="ann:s3cret")
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--no-warmup"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert _wait_http(f"http://127.0.0.1:{port}/config", proc) == 401  # password required
        with socket.socket() as s:  # bound to loopback only
            s.settimeout(1)
            host = socket.gethostbyname(socket.gethostname())
            if not host.startswith("127."):
                assert s.connect_ex((host, port)) != 0
        assert (tmp_path / "idx" / "meta.sqlite").exists()  # the index named by QA_INDEX_DIR
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert f"on http://127.0.0.1:{port}" in out and "0 articles" in out


# ---- the /ask API through gradio_client ----------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    from gradio_client import Client

    srv = shared_server()
    assert srv.url.startswith("http://127.0.0.1:")
    return Client(srv.url, verbose=False)


@pytest.fixture(scope="module")
def first_answer(client):
    q = "What did the Home Office review find?"
    return q, client.predict(q, "", 3, api_name="/ask")


@pytest.mark.slow
def test_api_ask_returns_answer_with_citations(first_answer):
    _, r = first_answer
    assert set(r) >= {"text", "citations", "declined", "question"} and "hits" not in r
    assert not r["declined"], r
    assert r["text"].strip() and 1 <= len(r["citations"]) <= 3
    for c in r["citations"]:
        assert c["doc_id"] == "home-office-rotherham-review.txt"
        assert c["quote"] and c["quote"] in c["passage"]
        assert f"[{c['number']}]" in r["text"]


@pytest.mark.slow
def test_api_follow_up_uses_history(client, first_answer):
    q, first = first_answer
    hist = json.dumps([[q, first["text"]]])
    r = client.predict("Who ordered it?", hist, 3, api_name="/ask")
    assert r["question"] == "Who ordered it?"
    # rewritten from history (qa.history): "it" stands for the previous question's subject (the Home
    # Office review) or for a name in its answer; the rest of the answer is left out
    assert r["standalone_question"] == standalone_question("Who ordered it?", [(q, first["text"])])
    assert r["standalone_question"].startswith("Who ordered it? (the Home Office review")
    assert not r["declined"] and r["text"] == f"{r['short_answer']} [1]"
    assert [c["doc_id"] for c in r["citations"]] == ["home-office-rotherham-review.txt"]


@pytest.mark.slow
def test_api_follow_up_finds_who_ordered_the_review(client, first_answer):
    q, first = first_answer
    r = client.predict("Who ordered it?", json.dumps([[q, first["text"]]]), 3, api_name="/ask")
    assert "Theresa May" in r["short_answer"]


@pytest.mark.slow
def test_api_declines_off_topic_question(client):
    r = client.predict("What is the boiling point of tungsten on Mars?", "", 3, api_name="/ask")
    assert r["declined"] and r["citations"] == [] and r["text"] == DECLINE_TEXT
    assert r["trace"]["declined_by"] == "relevance" and r["trace"]["declined_because"] == "no relevant passage"


@pytest.mark.slow
def test_api_huge_history_is_bounded(client):
    """The report's request, which held the server for over 7 minutes: answered or declined at once,
    from a bounded retrieval question."""
    q = "and how many votes?"
    r = client.predict(q, '[["' + "a" * 200000 + '","b"]]', 5, api_name="/ask")
    n = Settings().follow_up_chars  # the rewrite reads this much of the previous question ("b" names nothing)
    assert r["standalone_question"] == f"{q} ({'a' * n})"
    assert r["declined"] and r["trace"]["declined_by"] == "relevance" and r["text"] == DECLINE_TEXT


def test_api_too_long_question_gets_a_clear_message(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=r"The question is too long \(5,000 characters; the limit is 2,000\)"):
        client.predict("x" * 5000, "", 3, api_name="/ask")


def test_api_rejects_bad_input(client):
    from gradio_client.exceptions import AppError

    for args in [("", "", 3), ("Who?", "{broken", 3), ("Who?", "", 0), ("Who?", "", 500), ("x" * 5000, "", 3)]:
        with pytest.raises(AppError):
            client.predict(*args, api_name="/ask")
