"""qa/remote.py and `app.py --qa-url`: the page answering through the question API of `python -m qa serve`.

A small real HTTP server runs in this process (http.server in a thread). The fast tests answer /ask
with canned JSON made by a real Answer.to_json(); the slow one answers with qa/serve.py's own Reader
(the replica: read-only index, real reader) over the example article. RemoteQA turns the JSON back
into the Answer, which the page renders as a local one; busy (503), an unreachable server and a
refused question (400) each give the person a clear message, and every reply is bounded.
"""
from __future__ import annotations

import base64
import dataclasses
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qa import Answer, BadQuestion, Citation, Filters
from qa.records import Trace
from qa.remote import Busy, RemoteError, RemoteQA, Unreachable, ask_url

from app_server import free_port

QUESTION = "When did the bridge open?"
ANSWER = Answer(
    text="It opened on Monday [1], after two years [2].",
    citations=[
        Citation(number=1, doc_id="upload/evil.txt", title="Evil <script>window.__pwned=1</script> headline", chunk_id=7,
                 passage="Intro. The bridge opened on Monday. Outro.", quote="The bridge opened on Monday.", quote_start=7,
                 quote_end=35, score=0.8123, source="upload", date="2024-05-01"),
        Citation(number=2, doc_id="bbc/b.txt", title="Bridge works", chunk_id=9, passage="Work took two years.",
                 quote="Work took two years.", quote_start=0, quote_end=20, score=0.5, source="bbc"),
    ],
    question=QUESTION, standalone_question=QUESTION, short_answer="on Monday", seconds=1.25,
    trace=Trace(kind="factoid", relevance=1.5, raw="on Monday", confidence=-0.25, support=1.0, seconds={"read": 0.5, "total": 1.25}),
)


# ---- a small HTTP server in a thread ------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    def _reply(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append({"method": method, "path": self.path, "headers": dict(self.headers), "body": body})
        status, headers, data = self.server.respond(self.path, body)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        self._reply("POST")

    def do_GET(self):
        self._reply("GET")

    def log_message(self, *args):
        pass


def reply(status: int, body, headers: dict | None = None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return lambda path, raw: (status, {"Content-Type": "application/json", **(headers or {})}, data)


@pytest.fixture(scope="module")
def httpd():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.requests, srv.respond = [], reply(200, ANSWER.to_json())
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def server(httpd):
    """The server's base URL; set `httpd.respond` to change its replies (reset for every test)."""
    httpd.requests.clear()
    httpd.respond = reply(200, ANSWER.to_json())
    return f"http://127.0.0.1:{httpd.server_address[1]}"


def refused_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # bound once and closed: nothing listens there


# ---- Answer JSON ----------------------------------------------------------------------------------
def test_answer_json_round_trip():
    with_hits = dataclasses.replace(ANSWER, hits=[object()])
    back = Answer.from_json(json.loads(json.dumps(with_hits.to_json())))
    assert back == ANSWER and back.hits == []  # the hits never travel
    declined = Answer(text="The articles do not say.", declined=True, trace=Trace(declined_by="relevance", declined_because="no relevant passage"))
    assert Answer.from_json(declined.to_json()) == declined
    newer = {**ANSWER.to_json(), "new_field": 1, "trace": {**ANSWER.to_json()["trace"], "new_stage": 2}}
    assert Answer.from_json(newer) == ANSWER  # a newer server's extra fields are ignored
    assert Answer.from_json({**ANSWER.to_json(), "seconds": 2}).seconds == 2.0  # JSON numbers: cast to the field's type
    for bad in ([], {"citations": []}, {"text": 1}, {"text": "t", "citations": {}}, {"text": "t", "declined": "yes"},
                {"text": "t", "citations": [{"number": "one"}]}, {"text": "t", "citations": [{"number": 1}]}, {"text": "t", "trace": []}):
        with pytest.raises(ValueError):
            Answer.from_json(bad)


# ---- the client --------------------------------------------------------------------------------
def test_ask_posts_the_question_and_returns_the_servers_answer(server, httpd):
    rq = RemoteQA(server)
    assert rq.url == server + "/ask" and rq.store is None
    got = rq.ask(QUESTION, [("Earlier?", "Yes [1].")], k=3, filters=Filters(source="bbc", date_from="2024"), max_new_tokens=64, generator="x")
    assert got == ANSWER
    (req,) = httpd.requests
    assert req["method"] == "POST" and req["path"] == "/ask" and "Authorization" not in req["headers"]
    assert json.loads(req["body"]) == {"question": QUESTION, "history": [["Earlier?", "Yes [1]."]], "k": 3,
                                       "filters": {"source": "bbc", "date_from": "2024"}}  # the reader's own settings stay the server's
    assert list(rq.ask_stream(QUESTION)) == [ANSWER]  # the whole answer, once
    assert json.loads(httpd.requests[-1]["body"]) == {"question": QUESTION, "history": []}
    with pytest.raises(TypeError, match="temperature"):
        rq.ask(QUESTION, temperature=0.5)


def test_password_from_the_url_or_auth_never_in_messages(server, httpd):
    port = httpd.server_address[1]
    assert ask_url(f"http://ann:s%40cret@127.0.0.1:{port}/ask/") == (server + "/ask", ("ann", "s@cret"))
    assert ask_url("https://[::1]:8000")[0] == "https://[::1]:8000/ask"
    for bad in ("ftp://host/ask", "127.0.0.1:8000", "", "http:///ask"):
        with pytest.raises(ValueError, match="http://HOST:PORT"):
            RemoteQA(bad)
    RemoteQA(f"http://ann:s%40cret@127.0.0.1:{port}", auth=("bob", "other")).ask(QUESTION)  # the URL's user wins
    RemoteQA(server, auth=("bob", "other")).ask(QUESTION)
    sent = [r["headers"]["Authorization"] for r in httpd.requests]
    assert sent == ["Basic " + base64.b64encode(b"ann:s@cret").decode(), "Basic " + base64.b64encode(b"bob:other").decode()]
    httpd.respond = reply(401, {"error": "unauthorized", "message": "This server needs a user and password (HTTP Basic)."})
    with pytest.raises(RemoteError, match="needs a user and password") as exc:
        RemoteQA(f"http://ann:s%40cret@127.0.0.1:{port}").ask(QUESTION)
    assert "s@cret" not in str(exc.value) and "s%40cret" not in str(exc.value)


def test_busy_refused_and_bad_requests_are_clear_messages(server, httpd):
    httpd.respond = reply(503, {"error": "busy", "message": "The server is busy."}, {"Retry-After": "7"})
    with pytest.raises(Busy, match=r"busy.*try again in 7 s") as exc:
        RemoteQA(server).ask(QUESTION)
    assert exc.value.retry_after == 7 and isinstance(exc.value, RemoteError)
    httpd.respond = reply(503, b"<html>Service Unavailable</html>")  # Serve's own proxy: no JSON, no Retry-After
    with pytest.raises(Busy, match="try again in 5 s"):
        RemoteQA(server).ask(QUESTION)
    httpd.respond = reply(400, {"error": "bad_request", "message": "The question is too long (600 tokens for the reader; the limit is 512)."})
    with pytest.raises(BadQuestion, match=r"^The question is too long \(600 tokens"):
        RemoteQA(server).ask(QUESTION)
    url = refused_url()
    with pytest.raises(Unreachable, match=rf"Cannot reach the question server at {url}/ask \(Connection refused\)"):
        RemoteQA(url).ask(QUESTION)
    with pytest.raises(Unreachable):
        RemoteQA(url).health()
    httpd.respond = reply(500, {"error": "internal", "message": "replica died"})
    with pytest.raises(RemoteError, match="answered HTTP 500 Internal Server Error: replica died"):
        RemoteQA(server).ask(QUESTION)


def test_replies_are_bounded(server, httpd):
    big = {**ANSWER.to_json(), "text": "x" * 5000}
    httpd.respond = reply(200, big)
    with pytest.raises(RemoteError, match=r"over 2,000 bytes|a reply of [\d,]+ bytes \(the limit is 2,000\)"):
        RemoteQA(server, max_bytes=2000).ask(QUESTION)
    assert RemoteQA(server).ask(QUESTION).text == "x" * 5000
    httpd.respond = reply(200, b"not json")
    with pytest.raises(RemoteError, match="did not reply with JSON"):
        RemoteQA(server).ask(QUESTION)
    httpd.respond = reply(200, {"text": 3})
    with pytest.raises(RemoteError, match="did not reply with an answer"):
        RemoteQA(server).ask(QUESTION)

    def slow(path, raw):
        time.sleep(2)
        return 200, {}, json.dumps(ANSWER.to_json()).encode()

    httpd.respond = slow
    t = time.perf_counter()
    with pytest.raises(Unreachable, match=r"did not answer within 0.5 s"):
        RemoteQA(server, timeout=0.5).ask(QUESTION)
    assert time.perf_counter() - t < 1.8


# ---- the page ----------------------------------------------------------------------------------
def test_page_over_a_remote_qa_renders_its_answers_and_messages(server, httpd):
    """respond (the chat turn) shows the server's answer exactly as a local one, and busy, refused
    and unreachable as messages in the chat; the page has no article controls."""
    import app
    from qa.config import GENERATORS

    rq = RemoteQA(server)
    h = app.chat_handlers(rq, rq.settings)
    turn = lambda q: list(h.respond(q, [], 3, 64, GENERATORS[0], "(any)", "", "", ""))[-1]  # noqa: E731
    assert turn(QUESTION) == app.finished_turn([], QUESTION, ANSWER, "")  # as a local Answer renders
    assert 'id="src-2"' in turn(QUESTION)[2] and "&lt;script&gt;" in turn(QUESTION)[2]
    assert json.loads(httpd.requests[-1]["body"])["k"] == 3
    # over the local reader's token limit (it splits digits one by one) but not the character
    # limit: counting tokens is the server's job, so the page loads no reader and sends it on
    wide = " ".join("7" * 3 for _ in range(rq.settings.max_question_chars // 4))
    assert turn(wide) == app.finished_turn([], wide, ANSWER, "")
    assert json.loads(httpd.requests[-1]["body"])["question"] == wide

    httpd.respond = reply(503, {"error": "busy", "message": "busy"}, {"Retry-After": "9"})
    chat, pairs, sources, _ = turn(QUESTION)
    assert pairs == [(QUESTION, "The question server is busy (every reader is answering and its queue is full): try again in 9 s.")]
    assert "Sorry" not in chat[-1]["content"] and "Traceback" not in chat[-1]["content"]
    httpd.respond = reply(400, {"error": "bad_request", "message": "The question is too long (600 tokens for the reader; the limit is 512)."})
    assert turn(QUESTION)[1][0][1].startswith("The question is too long (600 tokens")
    url = refused_url()
    h2 = app.chat_handlers(RemoteQA(url), rq.settings)
    assert list(h2.respond(QUESTION, [], 3, 64, GENERATORS[0], "(any)", "", "", ""))[-1][1][0][1].startswith(f"Cannot reach the question server at {url}/ask")

    demo = app.build_app(rq)
    ids = {getattr(b, "elem_id", None) for b in demo.blocks.values()}
    assert "remote-note" in ids and not ids & {"upload", "add-files", "paste-text", "add-text", "docs"}
    assert not any(type(b).__name__ == "File" for b in demo.blocks.values())


def test_page_api_answers_through_the_server(server, httpd):
    """The page built over a RemoteQA, live on loopback: its /ask API returns the server's answer;
    busy comes back as the server's message."""
    import app
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    demo = app.build_app(RemoteQA(server))
    demo.queue(default_concurrency_limit=1)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True, **app.launch_kwargs())
    try:
        client = Client(url, verbose=False)
        assert client.predict(QUESTION, '[["Earlier?", "Yes."]]', 4, api_name="/ask") == ANSWER.to_json()
        asked = [json.loads(r["body"]) for r in httpd.requests if r["path"] == "/ask"]
        assert asked == [{"question": QUESTION, "history": [["Earlier?", "Yes."]], "k": 4}]
        httpd.respond = reply(503, {"error": "busy"}, {"Retry-After": "3"})
        with pytest.raises(AppError, match="try again in 3 s"):
            client.predict(QUESTION, "", 4, api_name="/ask")
    finally:
        demo.close()


def test_cli_qa_url(monkeypatch, capsys, server, tmp_path):
    import app

    assert app.read_app_env({"QA_URL": "http://h:1"}).qa_url == "http://h:1" and app.read_app_env({}).qa_url is None
    monkeypatch.delenv("QA_AUTH", raising=False)
    assert app.main(["--qa-url", "ftp://h/ask", "--port", "1"]) == 2
    assert "must look like http://HOST:PORT" in capsys.readouterr().err
    assert app.main(["--qa-url", server, "--index-dir", str(tmp_path), "--port", "1"]) == 2
    assert "exclude each other" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


# ---- the real replica behind the server (slow: loads the reader) --------------------------------
@pytest.mark.slow
def test_remote_answer_equals_the_local_answer(httpd, server, tmp_path, embedder):
    """qa/serve.py's Reader (a read-only index, the real reader) answers /ask in the server; the page's
    RemoteQA gets the Answer QA.ask gives locally."""
    import index
    from qa import QA
    from qa.serve import Reader, parse_request

    store = index.ensure_default_index(tmp_path / "index")  # the example article
    store.close()
    reader = Reader(str(tmp_path / "index"))
    assert reader.qa.store.read_only

    def answer(path, raw):
        status, body, replica = reader.ask(parse_request(json.loads(raw)))
        return status, {"X-Replica": replica}, json.dumps(body).encode()

    httpd.respond = answer
    q = "What did the Home Office review find?"
    got = RemoteQA(server).ask(q, k=3)
    local = QA(tmp_path / "index").ask(q, k=3)
    assert (got.text, got.declined, got.short_answer) == (local.text, local.declined, local.short_answer) and not got.declined
    assert [(c.doc_id, c.quote, c.passage) for c in got.citations] == [(c.doc_id, c.quote, c.passage) for c in local.citations]
    assert [c.score for c in got.citations] == pytest.approx([c.score for c in local.citations], abs=1e-4)
    with pytest.raises(BadQuestion, match="the question is empty"):
        RemoteQA(server).ask("  ")
