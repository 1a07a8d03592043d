"""`python -m qa serve`: the question API from Ray Serve replicas, on a real local Ray cluster (2 CPUs).

The real CLI joins the test's cluster (--ray ADDRESS) with two reader replicas over an index of five
BBC articles and the real reader. Eight questions sent at once get, over HTTP, the Answer JSON that
QA.ask gives in this process (as app.answer_json makes it for the page's /ask), from both replicas;
a bad question gets 400 with qa.check_input's message; a burst larger than the replicas plus the
queue gets 503 "busy" replies at once. Without `serve`, Ray is never imported.
"""
from __future__ import annotations

import base64
import concurrent.futures as cf
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from index import IndexStore
from qa import QA, Answer, BadQuestion, Citation, answer_json
from qa.access import basic_auth_ok, refuse_bind
from qa.records import Trace
from qa.serve import ask_remote, parse_request

from conftest import BBC_SAMPLE

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)}

# about the five sample articles, answered and declined (the last one: no article says)
QUESTIONS = [
    "How much did Time Warner's quarterly profits rise?",
    "Who will unwrap the text messages sent to the Tate tree?",
    "By how much is maternity pay to rise?",
    "Why did Chelsea sack Adrian Mutu?",
    "What is the Kyrgyz Republic using in its elections?",
    "How many subscribers did AOL lose?",
    "Which sculptor did Richard Wentworth work for?",
    "Who coaches Arsenal?",
]
REPLICAS, MAX_QUEUED = 2, 8
AUTH = ("ann", "s3cret")  # QA_AUTH of the served API: required on loopback too, as for the page


# ---- without Ray -------------------------------------------------------------------------------
def test_answer_json_is_the_pages_answer_json():
    """qa.answer_json / Answer.to_json give app.answer_json's JSON, field for field."""
    app = pytest.importorskip("app")
    c = Citation(number=1, doc_id="bbc/a.txt", title="T <b>", chunk_id=3, passage="P q.", quote="q.", quote_start=2, quote_end=4, score=0.5, source="bbc", date="2004-01-02")
    a = Answer(text="q [1]", citations=[c], question="Q?", short_answer="q", hits=[object()], seconds=1.5,
               trace=Trace(kind="factoid", relevance=1.2, missing=["X"], seconds={"read": 0.5}))
    want = app.answer_json(a)
    assert answer_json(a) == a.to_json() == want and "hits" not in want
    assert json.loads(json.dumps(answer_json(a))) == want
    declined = Answer(text="no", declined=True, trace=Trace(declined_by="Relevance", declined_because="low"))
    assert answer_json(declined) == app.answer_json(declined)


def test_requests_are_checked_before_any_work():
    assert parse_request({"question": "Q?", "k": 3, "filters": {"source": "bbc", "date_to": "2005"}})["k"] == 3
    for bad, msg in [
        ([], "JSON object"), ({"question": "Q?", "x": 1}, "Unknown field"), ({"question": "Q?", "k": "3"}, "integer"),
        ({"question": "Q?", "k": 0}, "between 1 and 10"), ({"question": "Q?", "history": "hi"}, "list"),
        ({"question": "Q?", "filters": {"date_from": "May"}}, "ISO date"), ({"question": "Q?", "filters": {"who": "x"}}, "Unknown filter"),
    ]:
        with pytest.raises(ValueError, match=msg):
            parse_request(bad)


def test_public_address_needs_a_password_as_for_the_page():
    assert refuse_bind("127.0.0.1", None) is None and refuse_bind("0.0.0.0", ("u", "p")) is None
    assert "refusing to serve on 0.0.0.0 without a password" in refuse_bind("0.0.0.0", None)
    good = "Basic " + base64.b64encode(b"ann:s3cret").decode()
    assert basic_auth_ok(good, ("ann", "s3cret")) and basic_auth_ok(None, None)
    assert not basic_auth_ok(None, ("ann", "s3cret")) and not basic_auth_ok("Basic !!", ("ann", "s3cret"))
    assert not basic_auth_ok("Bearer " + base64.b64encode(b"ann:s3cret").decode(), ("ann", "s3cret"))
    assert not basic_auth_ok("Basic " + base64.b64encode(b"ann:wrong").decode(), ("ann", "s3cret"))


def test_cli_refuses_before_importing_ray(tmp_path):
    """`python -m qa serve` on 0.0.0.0 without QA_AUTH, or without an index, exits 2 at once; `import qa`,
    `qa.serve` and the CLI's other commands never import Ray."""
    env = {k: v for k, v in ENV.items() if k != "QA_AUTH"}
    code = ("import sys, runpy; sys.argv = ['qa'] + sys.argv[1:]\n"
            "try:\n    runpy.run_module('qa', run_name='__main__')\nexcept SystemExit as e:\n"
            "    print('ray' in sys.modules, e.code)")
    for args, err in [(["--host", "0.0.0.0"], "refusing to serve on 0.0.0.0 without a password"), (["--index-dir", str(tmp_path / "none")], "no index at")]:
        r = subprocess.run([sys.executable, "-c", code, "serve", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert err in r.stderr, r.stderr[-2000:]
        assert r.stdout.split() == ["False", "2"], r.stdout
    r = subprocess.run([sys.executable, "-c", "import sys, qa, qa.serve, qa.__main__; print('ray' in sys.modules)"],
                       cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "False", r.stderr[-2000:]


def test_the_front_turns_away_a_question_beyond_the_answered_and_the_waiting():
    """The front counts the questions it has handed to the readers: with every place taken (2
    answered + 8 waiting), the next gets 503 "busy" at once, whatever Serve's own best-effort queue
    bound lets through; an answer that comes back frees its place for the next question."""
    import asyncio

    from starlette.requests import Request

    from qa.serve import Front

    class Readers:  # a DeploymentHandle's shape: ask.remote(args) is awaited; the answers wait for `go`
        def __init__(self):
            self.go, self.asked, self.ask = asyncio.Event(), [], self

        async def remote(self, args):
            self.asked.append(args["question"])
            await self.go.wait()
            return 200, {"answer": args["question"]}, "r1"

    def request(question: str) -> Request:
        body = json.dumps({"question": question}).encode()

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}
        return Request({"type": "http", "method": "POST", "path": "/ask", "headers": [], "query_string": b""}, receive)

    async def burst():
        readers = Readers()
        front = Front(readers, replicas=REPLICAS, max_queued=MAX_QUEUED)
        waiting = [asyncio.ensure_future(front(request(f"Q{i}?"))) for i in range(REPLICAS + MAX_QUEUED)]
        await asyncio.sleep(0.05)
        turned_away = await asyncio.wait_for(front(request("One too many?")), 1)
        readers.go.set()
        answered = await asyncio.gather(*waiting)
        again = await asyncio.wait_for(front(request("Later?")), 1)
        return readers.asked, turned_away, answered, again

    asked, turned_away, answered, again = asyncio.run(burst())
    assert asked == [f"Q{i}?" for i in range(REPLICAS + MAX_QUEUED)] + ["Later?"]  # never "One too many?"
    assert turned_away.status_code == 503 and turned_away.headers["retry-after"] == "5"
    assert json.loads(turned_away.body)["error"] == "busy"
    assert [r.status_code for r in answered] == [200] * (REPLICAS + MAX_QUEUED)
    assert again.status_code == 200


# ---- on a local Ray cluster --------------------------------------------------------------------
@pytest.fixture(scope="module")
def index_dir(tmp_path_factory, bbc_dir, embedder) -> Path:
    import shutil

    src = tmp_path_factory.mktemp("serve") / "bbc"
    for rel in BBC_SAMPLE:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(bbc_dir / rel, src / rel)
    idx = tmp_path_factory.mktemp("serve") / "idx"
    store = IndexStore(idx, embedder=embedder)
    assert len(store.add_paths([src]).added) == len(BBC_SAMPLE)
    store.close()
    return idx


@pytest.fixture(scope="module")
def local(index_dir) -> dict[str, dict]:
    """Each question's answer from QA.ask in this process, as the page's /ask returns it."""
    app = pytest.importorskip("app")
    qa = QA(index_dir)
    out = {q: app.answer_json(qa.ask(q)) for q in QUESTIONS}
    qa.store.close()
    return out


@pytest.fixture(scope="module")
def cluster(local):  # after the in-process answers: the replicas then have both cores
    pytest.importorskip("ray.serve")
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray
    from ray import serve

    serve.shutdown()
    ray.shutdown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(cluster, index_dir, tmp_path_factory):
    """`python -m qa serve --replicas 2 --ray ADDRESS` joined to the test's cluster; yields its /ask URL."""
    port, logs = _free_port(), tmp_path_factory.mktemp("serve-logs")
    address = cluster.get_runtime_context().gcs_address  # (RAY_AUTH_MODE and the token come with the env)
    with open(logs / "out", "w") as out, open(logs / "err", "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve", "--index-dir", str(index_dir), "--replicas", str(REPLICAS),
             "--max-queued", str(MAX_QUEUED), "--ray", address, "--port", str(port)],
            cwd=REPO_ROOT, env={**os.environ, **ENV, "QA_AUTH": ":".join(AUTH)}, stdout=out, stderr=err,
        )
    deadline = time.time() + 180
    while "serving" not in (logs / "out").read_text():
        assert proc.poll() is None, (logs / "err").read_text()[-3000:]
        assert time.time() < deadline, "the server did not start in 180 s"
        time.sleep(0.5)
    assert f"with {REPLICAS} replica(s) on http://127.0.0.1:{port}/ask" in (logs / "out").read_text()
    yield f"http://127.0.0.1:{port}/ask"
    proc.send_signal(signal.SIGTERM)  # stops cleanly: the application is deleted from the cluster
    assert proc.wait(timeout=60) == 0, (logs / "err").read_text()[-3000:]
    from ray import serve

    assert "newsqa" not in serve.status().applications


def post(url: str, body, timeout: float = 150, auth=AUTH) -> tuple[int, dict, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read()), {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), {k.lower(): v for k, v in e.headers.items()}


@pytest.mark.ray
def test_two_replicas_answer_eight_concurrent_questions_as_qa_ask(server, local):
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(len(QUESTIONS)) as ex:
        results = list(ex.map(lambda q: post(server, {"question": q}), QUESTIONS))
    took = time.perf_counter() - t0
    replicas = set()
    for q, (status, got, headers) in zip(QUESTIONS, results):
        assert status == 200, got
        want = local[q]
        assert set(got) == set(want)  # the same JSON fields as the page's /ask
        assert (got["text"], got["declined"], got["short_answer"], got["question"]) == (want["text"], want["declined"], want["short_answer"], want["question"]), q
        assert len(got["citations"]) == len(want["citations"]), q
        for g, w in zip(got["citations"], want["citations"]):
            assert g == {**w, "score": pytest.approx(w["score"], abs=1e-4)}, q
        replicas.add(headers["x-replica"])
    assert len(replicas) == REPLICAS, replicas  # both replicas answered
    assert any(r[2] and not r[1]["declined"] for r in results) and any(r[1]["declined"] for r in results)
    print(f"\n{len(QUESTIONS)} concurrent questions, {REPLICAS} replicas: {took:.1f} s")


@pytest.mark.ray
def test_bad_requests_get_400_with_the_message_and_a_password_is_needed(server):
    status, body, _ = post(server, {"question": "   "})  # checked by qa.check_input on a replica
    assert status == 400 and body["error"] == "bad_request" and "the question is empty" in body["message"]
    status, body, _ = post(server, {"question": "x" * 2001})
    assert status == 400 and "too long (2,001 characters; the limit is 2,000)" in body["message"]
    status, body, _ = post(server, {"question": "Who?", "history": [["only one"]]})
    assert status == 400 and "pairs" in body["message"]
    status, body, _ = post(server, {"question": "Who?", "k": 99})  # checked by the front, before any queue
    assert status == 400 and "k must be between 1 and 10" in body["message"]
    status, body, _ = post(server, b"{not json")
    assert status == 400 and "not valid JSON" in body["message"]
    with pytest.raises(BadQuestion, match="the question is empty"):  # the client for scripts and the page
        ask_remote(server, "", auth=AUTH)
    status, body, headers = post(server, {"question": "Who?"}, auth=None)  # QA_AUTH is set: a password is needed
    assert status == 401 and headers["www-authenticate"].startswith("Basic")
    assert post(server, {"question": "Who?"}, auth=("ann", "wrong"))[0] == 401
    health = urllib.request.Request(server.rsplit("/", 1)[0] + "/health", headers={"Authorization": "Basic " + base64.b64encode(b"ann:s3cret").decode()})
    with urllib.request.urlopen(health, timeout=30) as r:
        assert json.loads(r.read())["replicas"] == REPLICAS


@pytest.mark.ray
def test_a_burst_beyond_the_queue_gets_busy_replies_at_once(server):
    """Two replicas answer one question each and about MAX_QUEUED wait: of a burst of 22, the rest
    get 503 "busy" (with Retry-After) at once, the others their answers. (The burst is well over
    the 10 places: on a loaded machine the proxy hands requests on slowly enough for the first
    answers to free a place or two: with a burst of 14, two of three runs there turned none away.
    So each answer that came back before the last "busy" reply allows one more answered request.)"""
    burst = REPLICAS + MAX_QUEUED + 12
    q = "Which sculptor did Richard Wentworth work for?"  # a short answer
    t0 = time.perf_counter()

    def timed():
        t = time.perf_counter()
        status, body, headers = post(server, {"question": q})
        end = time.perf_counter()
        return status, body, headers, end - t, end - t0

    with cf.ThreadPoolExecutor(burst) as ex:
        results = list(ex.map(lambda _: timed(), range(burst)))
    busy = [r for r in results if r[0] == 503]
    ok = [r for r in results if r[0] == 200]
    assert busy and len(busy) + len(ok) == burst, [r[:2] for r in results]
    # (a place freed by an answer before the burst was all turned away may be taken again; one more for
    # an answer that freed its place on the server a moment before its reply reached this client)
    freed = sum(1 for r in ok if r[4] < max(b[4] for b in busy))
    assert REPLICAS <= len(ok) <= REPLICAS + MAX_QUEUED + 1 + freed, (len(ok), freed, [r[:2] for r in results])
    for _, body, headers, secs, _end in busy:
        assert body["error"] == "busy" and "Try again in a few seconds" in body["message"], body
        assert headers.get("retry-after") == "5"
        assert secs < min(r[3] for r in ok), "a busy reply must not wait for an answer"
