"""python -m eval --corpus PATH --questions FILE --out REPORT.json [--k K] [--limit N] [--index-dir DIR]
                  [--retrieval-only] [--generator NAME] [--typed lower|capitals|request|typos|chatty] [--quiet]

Per-question-set tables for docs: python -m eval.table eval/reports/*.json > docs/eval.md

--limit N takes the first N questions after a shuffle with the fixed seed 0, so a limited run keeps a
representative answerable/unanswerable mix and is the same every time.
"""
from __future__ import annotations

import argparse
import logging
import sys

from index import CorruptIndex, IndexError_


def main(argv=None) -> int:
    from qa.config import Settings

    from .data import TYPINGS

    ap = argparse.ArgumentParser(prog="python -m eval", description="Evaluate retrieval and answers against a question set.")
    ap.add_argument("--corpus", required=True, help="a folder of articles, or a SQuAD v2 JSON file")
    ap.add_argument("--questions", required=True,
                    help="JSON Lines {id,question,answers,doc} (doc: one id or a list; optional alt_docs, type, phrasing, "
                    "contains for explain questions, near for unanswerable ones, history: [[question, answer], ...] for a follow-up) "
                    "or a SQuAD v2 JSON file")
    ap.add_argument("--out", required=True, help="where to write the JSON report")
    ap.add_argument("--k", type=int, default=None, help=f"passages given to the answerer (Settings.k, default {Settings.k})")
    ap.add_argument("--limit", type=int, default=None, help="first N questions after a fixed-seed (0) shuffle")
    ap.add_argument("--index-dir", default=None, help="index folder (default indexes/eval-<corpus>-<hash>); built if missing or empty")
    ap.add_argument("--retrieval-only", action="store_true", help="skip generation: only retrieval metrics")
    ap.add_argument("--generator", default=None, help="generator name (Settings.generator)")
    ap.add_argument("--typed", choices=sorted(TYPINGS), default=None,
                    help="ask every question typed so instead (lower case, capitals, wrapped in 'Can you tell me ...', "
                         "one typo in its longest name, chatty: 'Hi, ...', '... Thanks!')")
    ap.add_argument("--quiet", action="store_true", help="no progress line")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override any qa.Settings field, e.g. --set evidence=sentences --set read_passages=2 (repeatable)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")

    from .run import format_table, run_eval, write_report

    try:
        report = run_eval(
            args.corpus, args.questions, k=args.k, limit=args.limit, index_dir=args.index_dir,
            retrieval_only=args.retrieval_only, generator=args.generator, show_progress=not args.quiet,
            overrides=parse_overrides(args.set), typed=args.typed,
        )
    except (IndexError_, CorruptIndex, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = write_report(report, args.out)
    print(format_table(report))
    print(f"report: {out}")
    return 0


def parse_overrides(items: list[str]) -> dict:
    """FIELD=VALUE strings -> typed Settings overrides (bool, int, float or str by the field's default)."""
    import dataclasses

    from qa import Settings

    defaults = {f.name: getattr(Settings(), f.name) for f in dataclasses.fields(Settings)}
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in defaults or key == "filters":
            raise SystemExit(f"error: --set {item!r}: expected FIELD=VALUE with FIELD one of {', '.join(sorted(defaults))}")
        d = defaults[key]
        if isinstance(d, bool):
            out[key] = value.lower() in ("1", "true", "yes", "on")
        elif isinstance(d, int):
            out[key] = int(value)
        elif isinstance(d, float):
            out[key] = float(value)
        else:
            out[key] = value
    return out


if __name__ == "__main__":
    sys.exit(main())
