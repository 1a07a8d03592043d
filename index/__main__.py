"""python -m index {add,list,remove,stats} [--index-dir DIR]"""
from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
from pathlib import Path

from . import CorruptIndex, IndexError_, IndexStore, default_index_dir, open_index
from .config import DEFAULTS
from .vectors import AUTO_THRESHOLD, KINDS, PQ_THRESHOLD
from .loaders import printable


class _ProgressBar:
    """A tqdm line on stderr moved by the store's (done, total, report) progress callback: files done,
    rate and ETA, with the chunks written so far."""

    def __init__(self):
        from tqdm import tqdm

        self.bar = tqdm(desc="indexing", unit="file", file=sys.stderr, dynamic_ncols=True)

    def __call__(self, done: int, total: int, report) -> None:
        self.bar.total = total
        self.bar.set_postfix(chunks=report.chunks, refresh=False)
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.bar.close()


def _parser() -> argparse.ArgumentParser:
    """The command line: add, list, remove and stats, each taking --index-dir."""
    ap = argparse.ArgumentParser(prog="python -m index", description="Manage the article index.")
    ap.add_argument("--index-dir", default=None, help="index folder (default: $QA_INDEX_DIR or indexes/default)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("add", help="add files or folders (recursive)")
    a.add_argument("paths", nargs="+")
    a.add_argument("--chunk-tokens", type=int, default=DEFAULTS.chunk_tokens,
                   help=f"max embedder tokens per chunk (new index only; default {DEFAULTS.chunk_tokens})")
    a.add_argument("--vector-index", default=DEFAULTS.vector_kind, choices=KINDS,
                   help=f"FAISS index kind for a new index: exact 'flat', approximate 'ivf'/'ivfpq'/'hnsw', or 'auto' "
                        f"(exact, IVF-SQ8 past {AUTO_THRESHOLD:,} chunks, IVF-PQ from {PQ_THRESHOLD:,})")
    a.add_argument("--embedder", default=None, help="'minilm' (packaged) or a local sentence-transformers folder")
    a.add_argument("--quiet", action="store_true")
    a.add_argument("--ray", nargs="?", const="", default=None, metavar="auto|ADDRESS",
                   help="load, chunk and embed on a Ray cluster (pip install '.[ray]'); this process stays the only writer. "
                        "Bare: the cluster RAY_ADDRESS or `ray start` names, else a new local one; 'auto': the running cluster "
                        "only; or its ADDRESS (host:port, ray://...). Put it after the paths, or write --ray=ADDRESS")
    sub.add_parser("list", help="list indexed documents")
    r = sub.add_parser("remove", help="remove a document (or every record of a JSONL file)")
    r.add_argument("doc_id")
    sub.add_parser("stats", help="index statistics")
    for p in sub.choices.values():
        p.add_argument("--index-dir", default=argparse.SUPPRESS)
    return ap


def _add(args: argparse.Namespace, idir: str | Path) -> int:
    """`add`: indexes the paths (serially, or on Ray with --ray) and prints the report and the index's size."""
    store = open_index(idir, embedder=args.embedder, chunk_tokens=args.chunk_tokens, vector_kind=args.vector_index)
    # one line per skipped file, whatever its name (control characters are escaped)
    skip = lambda e: sys.stderr.write(f"\nskipped {printable(e.path)}: {printable(e.reason)}\n")
    if args.ray is not None:  # Ray is imported on this path only
        from .distributed import add_paths_ray

        rep = add_paths_ray(store, args.paths, address=args.ray or None, progress=None if args.quiet else _ProgressBar(), on_skip=skip)
    else:
        rep = store.add_paths(args.paths, progress=None if args.quiet else _ProgressBar(), on_skip=skip)
    sys.stderr.write("\n")
    print(
        f"added {len(rep.added)}, replaced {len(rep.replaced)}, unchanged {len(rep.unchanged)}, "
        f"skipped {len(rep.skipped)} files; {rep.chunks} chunks in {rep.seconds:.1f}s"
    )
    s = store.stats()
    print(f"index {s['path']}: {s['documents']} documents, {s['chunks']} chunks")
    return 0


def _remove(store: IndexStore, doc_id: str) -> int:
    """`remove`: deletes one document, or every document of a JSONL file; 1 when there is none."""
    n = store.remove(doc_id)
    if n:
        print(f"removed {doc_id} ({n} chunks)")
        return 0
    # a JSONL file holds many documents ('feed.jsonl#id' / 'feed.jsonl:line'): remove them all
    feed = store.remove_feed(doc_id)
    if not feed.documents:
        print(f"no document '{doc_id}' in {store.path}", file=sys.stderr)
        return 1
    print(f"removed {len(feed.documents)} documents from {doc_id} ({feed.chunks} chunks)")
    return 0


def _existing(args: argparse.Namespace, idir: str | Path) -> int:
    """`list`, `remove` or `stats` on an index that must already exist."""
    store = open_index(idir, create=False)
    if args.cmd == "list":
        for d in store.documents():
            # one line per document, three tab-separated fields, even for ids stored by older versions
            print(f"{printable(d['doc_id'])}\t{d['chunks']} chunks\t{printable(d['title'])}")
    elif args.cmd == "remove":
        return _remove(store, args.doc_id)
    elif args.cmd == "stats":
        print(json.dumps(store.stats(), indent=2))
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    idir = args.index_dir or default_index_dir()
    try:
        if args.cmd == "add":
            return _add(args, idir)
        return _existing(args, idir)
    except (IndexError_, CorruptIndex) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:  # found after open: a locked database, or a bad page read mid-add
        if "locked" in str(exc) or "busy" in str(exc):
            print(f"error: index {idir} is busy (another process is writing to it); try again", file=sys.stderr)
        else:
            print(f"error: index metadata in {idir} is damaged ({exc}). Rebuild it: delete the folder and run "
                  f"`python -m index add YOUR_ARTICLES --index-dir {idir}`", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: batches already committed are kept; run the same add again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
