"""One live page for the app/browser/load tests: started once per test process, in-thread,
on a free loopback port over a temporary index holding the example article.

The real generator loads on the first question (25-50 s the very first time, seconds with the
converted-model cache), so sharing one server keeps those tests quick.
"""
from __future__ import annotations

import atexit
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

_lock = threading.Lock()
_server = None


@dataclass
class Server:
    url: str
    qa: object
    store: object
    index_dir: Path
    demo: object


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shared_server() -> Server:
    global _server
    with _lock:
        if _server is None:
            import app
            import index
            from qa import QA

            d = Path(tempfile.mkdtemp(prefix="qa-app-test-"))
            store = index.ensure_default_index(d / "index")  # the example article
            qa = QA(store=store)
            demo = app.build_app(qa)
            demo.queue(default_concurrency_limit=1)
            _, url, _ = demo.launch(
                server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True, **app.launch_kwargs()
            )
            _server = Server(url=url.rstrip("/") + "/", qa=qa, store=store, index_dir=d / "index", demo=demo)

            def _stop():
                try:
                    demo.close()
                finally:
                    shutil.rmtree(d, ignore_errors=True)

            atexit.register(_stop)
        return _server
