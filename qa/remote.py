"""The question API of `python -m qa serve`, from the asking side: RemoteQA(url).ask(question) -> Answer.

`python app.py --qa-url URL` (or $QA_URL) answers through a RemoteQA instead of a local index and
reader: each question is POSTed as JSON to URL/ask (the API at the top of qa/serve.py) and the
Answer JSON comes back as a qa.records.Answer, shown as a local one is. RemoteQA has QA's `ask` and
`ask_stream` (which yields the whole Answer once, at the end) and no `store`: a page using it
cannot change the index.

Every call is bounded: `timeout` seconds to connect and to wait for each read, `timeout` in all
to read the reply, at most MAX_RESPONSE bytes of it. Failures are exceptions whose text is for
the person asking:
    BadQuestion   400: the server's own message (a question it refuses)
    Busy          503: "The question server is busy ... try again in N s" (N: its Retry-After)
    Unreachable   no reply: connection refused, unknown host, timeout; the message names the URL
    RemoteError   any other failure (401, 404, 5xx, a reply too large or not an Answer); the base class
A password (HTTP Basic) comes from `auth`, or from the URL itself (http://user:password@host:8000);
messages never show it.
"""
from __future__ import annotations

import base64
import http.client
import json
import logging
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict
from typing import Iterator

from .config import Settings
from .records import Answer
from .validate import BadQuestion

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 120.0  # a queued question waits for the answers ahead of it (qa/serve.py: at most max_queued / N + 1)
MAX_RESPONSE = 4 << 20  # bytes of one reply: an answer with its citations is a few KB
MAX_ERROR_BODY = 64 << 10  # bytes read of an error reply, for its message
DEFAULT_RETRY_S = 5  # a 503 without Retry-After
IGNORED = ("max_new_tokens", "generator")  # the server's reader and its settings decide these


class RemoteError(RuntimeError):
    """The question server failed to answer (the text says why, for the person asking)."""


class Busy(RemoteError):
    """The server's queue is full: try again later (HTTP 503). retry_after: seconds it asked to wait."""

    def __init__(self, message: str, retry_after: int = DEFAULT_RETRY_S):
        super().__init__(message)
        self.retry_after = retry_after


class Unreachable(RemoteError):
    """No reply from the server: refused, unknown host, or no answer in time."""


def ask_url(url: str) -> tuple[str, tuple[str, str] | None]:
    """(the /ask URL without any user:password, the user and password the URL carried, or None).
    A base URL (http://host:8000) gets /ask; ValueError for anything but an http(s) URL with a host."""
    parts = urllib.parse.urlsplit(str(url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the question server's URL must look like http://HOST:PORT (got {url!r})")
    auth = None
    if parts.username is not None:
        auth = (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    path = parts.path.rstrip("/")
    if not path.endswith("/ask"):
        path += "/ask"
    return urllib.parse.urlunsplit((parts.scheme, netloc, path, "", "")), auth


def request_body(question: str, history=None, k: int | None = None, filters=None) -> dict:
    """The JSON of one POST /ask: {question, history, k?, filters?} (filters: a Filters or a dict; empty fields left out)."""
    body: dict = {"question": question, "history": [list(p) for p in history or []]}
    if k is not None:
        body["k"] = int(k)
    if filters is not None and not isinstance(filters, dict):
        filters = asdict(filters)
    filters = {key: v for key, v in (filters or {}).items() if v not in (None, "")}
    if filters:
        body["filters"] = filters
    return body


def post_json(url: str, body: dict, timeout: float = DEFAULT_TIMEOUT_S, auth: tuple[str, str] | None = None,
              max_bytes: int = MAX_RESPONSE) -> tuple[dict, dict]:
    """POST `body` to `url` (an /ask URL without credentials): (the reply's JSON object, its headers,
    names lower-cased). BadQuestion, Busy, Unreachable or RemoteError as the module says."""
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Accept": "application/json"})
    _authorize(req, auth)
    deadline = time.monotonic() + timeout
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            headers = {k.lower(): v for k, v in r.headers.items()}
            raw = _read(r, max_bytes, deadline, url)
    except urllib.error.HTTPError as exc:
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        try:
            message = json.loads(exc.read(MAX_ERROR_BODY) or b"null").get("message") or ""
        except (ValueError, AttributeError, OSError):
            message = ""
        message = str(message)[:2000]
        if exc.code == 400:
            raise BadQuestion(message or "The question server refused the question.") from None
        if exc.code == 503:
            wait = _seconds(headers.get("retry-after"))
            raise Busy(f"The question server is busy (every reader is answering and its queue is full): try again in {wait} s.", wait) from None
        if exc.code == 401:
            raise RemoteError(f"The question server at {url} needs a user and password: give them as "
                              "http://USER:PASSWORD@HOST:PORT (or the page's QA_AUTH, when they are the same).") from None
        raise RemoteError(f"The question server at {url} answered HTTP {exc.code} {exc.reason}" + (f": {message}" if message else ".")) from None
    except (socket.timeout, TimeoutError):
        raise Unreachable(f"The question server at {url} did not answer within {timeout:g} s.") from None
    except urllib.error.URLError as exc:
        why = exc.reason.strerror if isinstance(exc.reason, OSError) and exc.reason.strerror else exc.reason
        if isinstance(exc.reason, (socket.timeout, TimeoutError)):
            raise Unreachable(f"The question server at {url} did not answer within {timeout:g} s.") from None
        raise Unreachable(f"Cannot reach the question server at {url} ({why}). Is `python -m qa serve` running there?") from None
    except (OSError, http.client.HTTPException) as exc:  # reset or closed, or not HTTP
        raise Unreachable(f"The connection to the question server at {url} failed ({exc}).") from None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise RemoteError(f"The question server at {url} did not reply with JSON.") from None
    if not isinstance(data, dict):
        raise RemoteError(f"The question server at {url} did not reply with a JSON object.")
    return data, headers


def _read(r, max_bytes: int, deadline: float, url: str) -> bytes:
    length = r.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise RemoteError(f"The question server at {url} sent a reply of {int(length):,} bytes (the limit is {max_bytes:,}).")
    out = bytearray()
    while True:
        part = r.read(min(1 << 16, max_bytes + 1 - len(out)))
        if not part:
            return bytes(out)
        out += part
        if len(out) > max_bytes:
            raise RemoteError(f"The question server at {url} sent a reply over {max_bytes:,} bytes.")
        if time.monotonic() > deadline:
            raise Unreachable(f"The question server at {url} did not finish its reply in time.")


def _authorize(req: urllib.request.Request, auth: tuple[str, str] | None) -> None:
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())


def _seconds(value) -> int:
    try:
        return max(1, min(3600, int(str(value).strip())))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_S


class RemoteQA:
    """QA's `ask` / `ask_stream` over HTTP, answered by `python -m qa serve` at `url`."""

    store = None  # no local index: the page hides what would change one

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT_S, auth: tuple[str, str] | None = None,
                 settings: Settings | None = None, max_bytes: int = MAX_RESPONSE):
        self.url, in_url = ask_url(url)
        self.auth = in_url or auth
        self.timeout, self.max_bytes = float(timeout), int(max_bytes)
        self.settings = settings or Settings()  # the page's defaults and limits

    def ask(self, question: str, history: list[tuple[str, str]] | None = None, **overrides) -> Answer:
        """The server's Answer (hits are not sent: empty). overrides: k and filters go to the server;
        max_new_tokens and generator are the server's to decide (ignored); any other is a TypeError."""
        unknown = sorted(set(overrides) - {"k", "filters", *IGNORED})
        if unknown:
            raise TypeError(f"a remote question takes k and filters, not {', '.join(unknown)}")
        body = request_body(question, history, overrides.get("k"), overrides.get("filters"))
        data, _ = post_json(self.url, body, self.timeout, self.auth, self.max_bytes)
        try:
            return Answer.from_json(data)
        except ValueError as exc:
            raise RemoteError(f"The question server at {self.url} did not reply with an answer ({exc}).") from None

    def ask_stream(self, question: str, history: list[tuple[str, str]] | None = None, **overrides) -> Iterator[str | Answer]:
        """QA.ask_stream's form: here the whole Answer once, when the server has answered."""
        yield self.ask(question, history, **overrides)

    def health(self) -> dict:
        """GET /health of the server ({"ok": true, "replicas": N, ...}); Unreachable or RemoteError."""
        url = self.url[: -len("/ask")] + "/health"
        req = urllib.request.Request(url, headers={"Accept": "application/json"})
        _authorize(req, self.auth)
        try:
            with urllib.request.urlopen(req, timeout=min(self.timeout, 10)) as r:
                return json.loads(r.read(MAX_ERROR_BODY))
        except urllib.error.HTTPError as exc:
            raise RemoteError(f"The question server at {url} answered HTTP {exc.code} {exc.reason}.") from None
        except (OSError, ValueError, http.client.HTTPException) as exc:
            raise Unreachable(f"Cannot reach the question server at {url} ({exc}).") from None


def connect(url: str, auth: tuple[str, str] | None = None, **kw) -> RemoteQA:
    """A RemoteQA for `url` (ValueError for a malformed URL), its server asked once for /health: one
    that does not answer is a logged warning, not an error (it may start later)."""
    qa = RemoteQA(url, auth=auth, **kw)
    try:
        qa.health()
    except RemoteError as exc:
        log.warning("%s", exc)
    return qa
