"""The question API served by Ray Serve replicas: `python -m qa serve --index-dir DIR [--replicas N] [--ray ADDRESS]`.

    POST /ask  {"question": "...", "history": [["q", "a"], ...], "k": 5,
                "filters": {"source": ..., "title": ..., "date_from": ..., "date_to": ...}}
      200  the Answer as JSON (Answer.to_json(): the same JSON as the page's /ask API);
           header X-Replica: the replica that answered
      400  {"error": "bad_request", "message": ...}  a bad question or request (qa.check_input's message)
      401  a password is set (QA_AUTH) and the request does not carry it (HTTP Basic)
      503  {"error": "busy", "message": ...}  every replica is answering and the queue is full; Retry-After
    GET /health  {"ok": true, "replicas": N, "index": ...}

Two deployments:
    front   one replica, no CPU: reads and checks the request, then asks a reader through a
            DeploymentHandle. It counts the questions it has handed on and not yet got back, and
            one that finds N answered and `max_queued` waiting gets 503 "busy" at once instead of
            waiting without end. (The handle's own bound, max_queued_requests, is kept too, but
            Serve enforces it only on a best-effort basis: a burst got a few more in.)
    reader  N replicas, `cpus_per_replica` CPUs each: each opens the index read-only (open_index(
            read_only=True): it never creates or writes one, and N replicas opening at once do not
            race on its files), makes one QA and loads the reader once, then answers
            one question at a time (max_ongoing_requests=1: the reader is single-stream anyway, and
            one answer takes at most Settings.answer_seconds of generation).

So at most N questions are answered and `max_queued` wait; a waiting one waits for at most
(max_queued / N + 1) answers. Serve's own proxy bounds the front's queue too (a plain 503 from
Serve itself, only when thousands of connections arrive at once).

Ray is imported only by `serve`'s own functions (deploy, main): `import qa` and `python -m qa ask`
never import it. Replicas on another machine (--ray ADDRESS) must see the index at the same path.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

from index.records import Filters

from .access import basic_auth_ok, server_auth
from .remote import Busy, post_json, request_body  # noqa: F401  (Busy: the 503 a client gets)
from .validate import BadQuestion, check_k, parse_history

log = logging.getLogger(__name__)

APP_NAME = "newsqa"
DEFAULT_PORT = 8000
DEFAULT_MAX_QUEUED = 8  # questions waiting for a replica, beyond the N being answered
MAX_BODY = 1 << 20  # bytes of one request; history is cut to its last turns anyway (Settings)
RETRY_AFTER_S = 5
REQUEST_KEYS = ("question", "history", "k", "filters")
FILTER_KEYS = ("source", "title", "date_from", "date_to")
# what the replicas inherit from the process that starts them (a joined cluster's workers do not
# share its environment): the reader, the caches, offline mode
ENV_PREFIXES = ("QA_", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
ENV_SECRET = ("QA_AUTH", "QA_URL")  # (the page's QA_URL may carry a password)


# ---- requests (plain Python, no Ray) -----------------------------------------------------------
def parse_request(body) -> dict:
    """A request's JSON object -> QA.ask's arguments {question, history, k, filters}; BadQuestion
    (its text for the person) for anything malformed. The question and history limits are checked
    by QA.ask itself (qa.check_input), on the replica."""
    if not isinstance(body, dict):
        raise BadQuestion('The request must be a JSON object like {"question": "...", "history": [], "k": 5}.')
    extra = sorted(set(body) - set(REQUEST_KEYS))
    if extra:
        raise BadQuestion(f"Unknown field(s) {', '.join(map(repr, extra))}: a request has only {', '.join(REQUEST_KEYS)}.")
    history = body.get("history")
    if isinstance(history, str):  # a list here: JSON text inside JSON is not this API
        raise BadQuestion("history must be a JSON list of [question, answer] pairs.")
    out: dict = {"question": body.get("question"), "history": parse_history(history)}  # the page's rules: pairs or chat messages
    k = body.get("k")
    if k is not None:
        if not isinstance(k, int) or isinstance(k, bool):  # 5, not "5" or 5.0
            raise BadQuestion("k must be an integer.")
        out["k"] = check_k(k)  # the page's slider and /ask offer the same range
    f = body.get("filters")
    if f:
        if not isinstance(f, dict):
            raise BadQuestion(f"filters must be a JSON object with {', '.join(FILTER_KEYS)}.")
        extra = sorted(set(f) - set(FILTER_KEYS))
        if extra:
            raise BadQuestion(f"Unknown filter(s) {', '.join(map(repr, extra))}: filters are {', '.join(FILTER_KEYS)}.")
        from index.filtering import checked  # the store's own check: one set of rules and messages

        try:
            out["filters"] = checked(Filters(**{key: (v if v != "" else None) for key, v in f.items()}))
        except ValueError as exc:
            raise BadQuestion(str(exc)) from exc
    return out


def busy_message(replicas: int, max_queued: int) -> str:
    return (
        f"The server is busy: all {replicas} replica{'s are' if replicas != 1 else ' is'} answering and "
        f"{max_queued} question{'s are' if max_queued != 1 else ' is'} already waiting. Try again in a few seconds."
    )


# ---- the two deployments (their classes are plain; deploy() wraps them with serve.deployment) ----
class Reader:
    """One replica: the index opened read-only and one QA, made once; answers one question at a time."""

    def __init__(self, index_dir: str, generator: str | None = None):
        from index import open_index

        from .api import QA
        from .config import Settings

        store = open_index(index_dir, read_only=True)
        self.qa = QA(store=store, settings=Settings().with_(generator=generator))
        self.qa.load_models()  # now: the first question should not wait
        self.replica = _replica_id()

    def ask(self, request: dict) -> tuple[int, dict, str]:
        """(HTTP status, JSON body, replica id)."""
        try:
            answer = self.qa.ask(request["question"], request.get("history"), k=request.get("k"), filters=request.get("filters"))
        except BadQuestion as exc:
            return 400, {"error": "bad_request", "message": str(exc)}, self.replica
        return 200, answer.to_json(), self.replica


class Front:
    """The HTTP ingress: checks the request, hands it to a reader; a full queue is a clear 503."""

    def __init__(self, reader, replicas: int, max_queued: int, auth: tuple[str, str] | None = None, index: str = "",
                 max_ongoing: int = 1):
        self.reader, self.replicas, self.max_queued, self.auth, self.index = reader, replicas, max_queued, auth, index
        self.room = replicas * max_ongoing + max_queued  # questions being answered or waiting, at most
        self.handed = 0  # questions handed to the readers and not yet back (one event loop: an exact count)

    async def __call__(self, request):
        from ray.serve.exceptions import BackPressureError
        from starlette.responses import JSONResponse

        def error(status: int, kind: str, message: str, headers: dict | None = None):
            return JSONResponse({"error": kind, "message": message}, status_code=status, headers=headers)

        if not basic_auth_ok(request.headers.get("authorization"), self.auth):
            return error(401, "unauthorized", "This server needs a user and password (HTTP Basic).", {"WWW-Authenticate": 'Basic realm="newsqa"'})
        path = request.url.path.rstrip("/") or "/"
        if path in ("/", "/health"):
            return JSONResponse({"ok": True, "replicas": self.replicas, "max_queued": self.max_queued, "index": self.index})
        if path != "/ask":
            return error(404, "not_found", "Unknown path: POST questions to /ask.")
        if request.method != "POST":
            return error(405, "method_not_allowed", "POST a JSON question to /ask.", {"Allow": "POST"})
        raw = bytearray()
        async for part in request.stream():  # read no more than MAX_BODY bytes of any request
            raw += part
            if len(raw) > MAX_BODY:
                return error(413, "too_large", f"The request is too large (over {MAX_BODY:,} bytes).")
        try:
            args = parse_request(json.loads(bytes(raw) or b"null"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return error(400, "bad_request", f"The request is not valid JSON: {exc}")
        except BadQuestion as exc:
            return error(400, "bad_request", str(exc))
        def busy():
            return error(503, "busy", busy_message(self.replicas, self.max_queued), {"Retry-After": str(RETRY_AFTER_S)})

        if self.handed >= self.room:
            return busy()
        self.handed += 1
        try:
            status, body, replica = await self.reader.ask.remote(args)
        except BackPressureError:
            return busy()
        finally:
            self.handed -= 1
        return JSONResponse(body, status_code=status, headers={"X-Replica": replica})


def _replica_id() -> str:
    try:
        from ray import serve

        return serve.get_replica_context().replica_id.unique_id
    except Exception:  # not inside Serve (a Reader made directly)
        return f"pid-{os.getpid()}"


# ---- deploying ----------------------------------------------------------------------------------
def replica_env(threads: int) -> dict[str, str]:
    """Environment of a reader replica: this process's QA_* settings (never the password), offline
    mode, and threads = the CPUs it reserved (the reader's and the query embedder's)."""
    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES) and k not in ENV_SECRET}
    env.update(QA_THREADS=str(threads), QA_EMBED_THREADS=str(threads))
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    return env


def build_app(
    index_dir: str | Path,
    replicas: int = 1,
    max_queued: int = DEFAULT_MAX_QUEUED,
    max_ongoing: int = 1,
    cpus_per_replica: float = 1,
    generator: str | None = None,
    auth: tuple[str, str] | None = None,
):
    """The Serve application (front + `replicas` readers), not yet running."""
    from ray import serve

    index_dir = str(Path(index_dir).resolve())
    threads = max(1, int(cpus_per_replica))
    reader = serve.deployment(
        Reader, name="reader", num_replicas=replicas, max_ongoing_requests=max_ongoing, max_queued_requests=max_queued,
        ray_actor_options={"num_cpus": cpus_per_replica, "runtime_env": {"env_vars": replica_env(threads)}},
        health_check_period_s=30, health_check_timeout_s=60,
    ).bind(index_dir, generator)
    # the front only waits on readers: no CPU, and room for every answered, queued and rejected request
    front_ongoing = max(64, 4 * (replicas * max_ongoing + max_queued))
    return serve.deployment(
        Front, name="front", num_replicas=1, max_ongoing_requests=front_ongoing, max_queued_requests=front_ongoing,
        ray_actor_options={"num_cpus": 0},
    ).bind(reader, replicas, max_queued, auth, index_dir, max_ongoing)


def deploy(index_dir: str | Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT, **kw) -> str:
    """Start Serve's HTTP proxy on host:port in the connected Ray cluster and run the application;
    returns when every replica has loaded. Returns the /ask URL."""
    from ray import serve

    serve.start(http_options={"host": host, "port": port})
    serve.run(build_app(index_dir, **kw), name=APP_NAME, route_prefix="/")
    return f"http://{host if ':' not in host else f'[{host}]'}:{port}/ask"


def undeploy() -> None:
    from ray import serve

    try:
        serve.delete(APP_NAME)
    except Exception as exc:  # Serve already gone with the cluster
        log.debug("serve.delete: %s", exc)


def connect(address: str | None) -> bool:
    """Join the Ray cluster at `address` ('auto': the running one), or start a local one for None.
    Returns whether this process started a new local cluster. A joined cluster gets this checkout's
    `qa` and `index` packages shipped to its workers."""
    import ray

    if ray.is_initialized():
        return False
    kw: dict = {"logging_level": logging.WARNING}
    if address:
        root = Path(__file__).resolve().parent.parent
        kw["runtime_env"] = {"py_modules": [str(root / "qa"), str(root / "index")], "excludes": ["__pycache__"]}
        ray.init(address=address, **kw)
        return False
    ray.init(include_dashboard=False, **kw)
    return True


def main(args) -> int:
    """`python -m qa serve` (args from qa.__main__): refuses a public address without QA_AUTH, checks
    the index exists, deploys, serves until Ctrl-C or SIGTERM."""
    from index import IndexError_, default_index_dir, open_index

    try:
        auth = server_auth(args.host, os.environ.get("QA_AUTH"))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.replicas < 1 or args.max_queued < 1:
        print("error: --replicas and --max-queued must be at least 1", file=sys.stderr)
        return 2
    index_dir = Path(args.index_dir or default_index_dir()).resolve()
    try:  # fail here, before Ray starts, when there is no index
        store = open_index(index_dir, read_only=True)
        docs = store.stats()["documents"]
        store.close()
    except IndexError_ as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        started = connect(args.ray)
    except ConnectionError as exc:
        print(f"error: no Ray cluster at {args.ray!r} ({exc}); start one with `ray start --head`, or leave out --ray for a local one", file=sys.stderr)
        return 2
    import ray

    # after ray.init, which installs its own (aborting) handler: SIGTERM stops as Ctrl-C does, and
    # the application is deleted from the cluster
    signal.signal(signal.SIGTERM, _stop)

    try:
        cpus = ray.cluster_resources().get("CPU", 1)
        need = args.replicas * args.cpus_per_replica
        if need > cpus:
            log.warning("%d replicas x %s CPUs need %s CPUs; the cluster has %s: some will wait for room", args.replicas, args.cpus_per_replica, need, cpus)
        url = deploy(
            index_dir, host=args.host, port=args.port, replicas=args.replicas, max_queued=args.max_queued,
            cpus_per_replica=args.cpus_per_replica, generator=args.generator, auth=auth,
        )
        print(f"serving {docs} articles from {index_dir} with {args.replicas} replica(s) on {url} (POST JSON; Ctrl-C stops)", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        undeploy()
        if started:
            ray.shutdown()
    return 0


def _stop(signum, frame):
    raise KeyboardInterrupt


# ---- a client (for the page, scripts and tests) ------------------------------------------------
def ask_remote(url: str, question: str, history=None, k: int | None = None, filters: dict | None = None,
               timeout: float = 120, auth: tuple[str, str] | None = None) -> tuple[dict, dict]:
    """POST a question to a `python -m qa serve` URL (…/ask). Returns (Answer JSON, response headers);
    BadQuestion for a 400, Busy for a 503, qa.remote's Unreachable / RemoteError for anything else
    (qa.remote.RemoteQA gives the Answer itself)."""
    return post_json(url, request_body(question, history, k, filters), timeout=timeout, auth=auth)
