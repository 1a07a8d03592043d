"""python -m qa ask "QUESTION" [--index-dir DIR] [--k K] [--generator NAME]"""
from __future__ import annotations

import argparse
import logging
import sys

from index import CorruptIndex, IndexError_, default_index_dir

from . import QA, Answer, BadQuestion, Settings, check_question


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m qa")
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("ask", help="answer a question from the index, with sources")
    a.add_argument("question")
    a.add_argument("--index-dir", default=None)
    a.add_argument("--k", type=int, default=None)
    a.add_argument("--generator", default=None, help="qwen2.5-0.5b (default), gemma3-270m, smollm2-135m, a .gguf file or a model folder")
    a.add_argument("--max-new-tokens", type=int, default=None)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
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
