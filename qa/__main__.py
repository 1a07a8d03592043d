"""python -m qa ask "QUESTION" [--index-dir DIR] [--k K] [--generator NAME]
   python -m qa serve [--index-dir DIR] [--replicas N] [--ray ADDRESS] [--host 127.0.0.1] [--port 8000] (qa/serve.py)"""
from __future__ import annotations

import argparse
import logging
import sys

from index import CorruptIndex, IndexError_, default_index_dir

from . import QA, Answer, BadQuestion, Settings, check_question
from .config import DEFAULT_GENERATOR, GENERATORS


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m qa")
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("ask", help="answer a question from the index, with sources")
    a.add_argument("question")
    a.add_argument("--index-dir", default=None)
    a.add_argument("--k", type=int, default=None, help=f"passages retrieved (default {Settings.k})")
    a.add_argument("--generator", default=None,
                   help=f"{', '.join(GENERATORS)}, a .gguf file or a model folder (default $QA_GENERATOR or {DEFAULT_GENERATOR})")
    a.add_argument("--max-new-tokens", type=int, default=None, help=f"answer length in tokens (default {Settings.max_new_tokens})")
    s = sub.add_parser("serve", help="serve the question API (POST /ask, JSON) from Ray Serve replicas")
    s.add_argument("--index-dir", default=None)
    s.add_argument("--replicas", type=int, default=1, help="reader replicas, each with the index and a reader of its own (default 1)")
    s.add_argument("--ray", default=None, metavar="ADDRESS", help="join this Ray cluster ('auto': the running one); default: start a local one")
    s.add_argument("--host", default="127.0.0.1", help="address to bind; anything but loopback needs QA_AUTH=user:password")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--max-queued", type=int, default=8, help="questions that may wait for a replica; more get 503 busy (default 8)")
    s.add_argument("--cpus-per-replica", type=float, default=1, help="CPUs each replica reserves and its threads (default 1)")
    s.add_argument("--generator", default=None)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    if args.cmd == "serve":  # Ray is imported only here
        from .serve import main as serve_main

        return serve_main(args)
    try:  # the question first: a bad one is refused before the index or the model is opened
        question = check_question(args.question, Settings().with_(generator=args.generator))
        qa = QA(args.index_dir or default_index_dir())
        answer = None
        for item in qa.ask_stream(question, k=args.k, generator=args.generator, max_new_tokens=args.max_new_tokens):
            if isinstance(item, Answer):
                answer = item
    except (BadQuestion, IndexError_, CorruptIndex) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(answer.text)
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            print(f"[{c.number}] {c.title} ({c.doc_id})\n    \"{c.quote.strip()}\"")
    return 0


if __name__ == "__main__":
    sys.exit(main())
