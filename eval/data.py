"""Evaluation data: questions (JSON Lines or SQuAD v2 JSON) and corpora (folder or SQuAD v2 JSON).

Question selection with --limit N: the questions are shuffled with a FIXED seed (0) and the first N
taken, so a limited run has a representative answerable/unanswerable mix and is reproducible.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import time
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

from index.records import Document
from qa.answer_type import opens_as_question

SEED = 0


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...] = ()
    docs: tuple[str, ...] = ()  # doc_ids of every passage/article that answers it (empty: unanswerable)
    type: str = ""  # e.g. "person", "date", "explain", "unanswerable"
    phrasing: str = ""  # "own-words" or "article" when the set records how it was written
    contains: tuple[str, ...] = ()  # explain questions: phrases a good answer contains (any one)
    near: str | None = None  # unanswerable questions: the doc they were written near (not scored)
    history: tuple[tuple[str, str], ...] = ()  # a follow-up: the chat's earlier (question, answer) turns, oldest first

    @property
    def doc(self) -> str | None:
        """The first (main) gold doc, or None."""
        return self.docs[0] if self.docs else None

    @property
    def explain(self) -> bool:
        return self.type == "explain"

    @property
    def answerable(self) -> bool:
        return bool(self.answers or self.contains)


def is_squad(path: str | Path) -> bool:
    p = Path(path)
    if not p.is_file() or p.suffix.lower() != ".json":
        return False
    with open(p, "rb") as f:
        head = f.read(4096).lstrip()
    return head.startswith(b"{") and (b'"data"' in head or b'"version"' in head)


def _squad(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict) or "data" not in data:
        raise ValueError(f"{path}: not a SQuAD JSON file (no 'data' list)")
    return data


def _dedupe(xs) -> tuple[str, ...]:
    out: list[str] = []
    for x in xs:
        x = (x or "").strip()
        if x and x not in out:
            out.append(x)
    return tuple(out)


def _strings(value) -> list[str]:
    """A JSON field that may be missing, one string, or a list of strings."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _history(value) -> tuple[tuple[str, str], ...]:
    """A record's "history": a list of [question, answer] pairs of text (missing: none)."""
    if value is None:
        return ()
    if isinstance(value, (str, dict)) or not all(
        isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in value
    ):
        raise TypeError('"history" must be a list of [question, answer] pairs of text')
    return tuple((q, a) for q, a in value)


def jsonl_question(r: dict, lineno: int) -> Question:
    """One JSON Lines record: {"id","question","answers","doc"} plus the optional "type", "phrasing",
    "contains" (explain questions), "near" (unanswerable), "alt_docs" (RGB: more passages that answer)
    and "history" (a follow-up: the earlier [question, answer] turns, given to the answerer as the chat's).
    "doc" may be a string or a list; the gold docs are "doc" then "alt_docs", for answerable questions only."""
    answers = _dedupe(_strings(r.get("answers")))
    contains = _dedupe(_strings(r.get("contains")))
    answerable = bool(answers or contains)
    docs = _dedupe(_strings(r.get("doc")) + _strings(r.get("alt_docs"))) if answerable else ()
    return Question(
        id=str(r.get("id", lineno)), question=r["question"], answers=answers, docs=docs,
        type=r.get("type") or "", phrasing=r.get("phrasing") or "", contains=contains,
        near=r.get("near") or None, history=_history(r.get("history")),
    )


def with_copies(questions: list[Question], hashes: dict[str, str]) -> list[Question]:
    """Each answerable question with every stored document whose content hash equals a gold doc's
    appended to its gold docs (hashes: doc_id -> content hash, `Store.content_hashes`): a corpus that
    holds the same article twice (the BBC set has 98 such pairs) answers from either copy, and a set
    that lists one of them should not count the other's citation as a miss."""
    by_hash: dict[str, list[str]] = {}
    for doc_id, h in hashes.items():
        by_hash.setdefault(h, []).append(doc_id)
    out = []
    for q in questions:
        copies = [c for d in q.docs if d in hashes for c in sorted(by_hash[hashes[d]])]
        out.append(replace(q, docs=_dedupe(q.docs + tuple(copies))) if copies else q)
    return out


def load_questions(path: str | Path) -> list[Question]:
    """Read questions from JSON Lines (see `jsonl_question`) or a SQuAD v2 JSON file."""
    p = Path(path)
    out: list[Question] = []
    if p.suffix.lower() == ".jsonl":
        with open(p, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    out.append(jsonl_question(json.loads(line), lineno))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{p}:{lineno}: bad JSON ({exc})") from exc
                except (KeyError, TypeError, AttributeError) as exc:
                    raise ValueError(f"{p}:{lineno}: bad question record ({exc!r})") from exc
        return out
    data = _squad(p)
    for art in data["data"]:
        title = art["title"]
        for para in art["paragraphs"]:
            for qa in para["qas"]:
                impossible = bool(qa.get("is_impossible")) or not qa.get("answers")
                answers = () if impossible else _dedupe(a["text"] for a in qa["answers"])
                out.append(Question(
                    id=str(qa["id"]), question=qa["question"], answers=answers,
                    docs=(title,) if answers else (), type="unanswerable" if not answers else "squad",
                ))
    return out


_LETTERS = re.compile(r"[A-Za-z]{5,}")
_VOWEL_SLIP = str.maketrans("aeiou", "eaeao")


def misspelt(question: str) -> str:
    """The question with one slip of the keys in its longest name (a capitalised word of five letters
    or more after the first word; else its longest such word): a doubled letter typed once
    ("Ericsson" -> "Ericson"), else, by a hash of the question, a letter left out, two neighbours
    swapped or a vowel for another, never the first or last letter. Deterministic."""
    words = [m for m in _LETTERS.finditer(question) if m.start() > 0]
    if not words:
        return question
    m = max(words, key=lambda w: (w.group()[0].isupper(), len(w.group()), -w.start()))
    w, h = m.group(), zlib.crc32(question.encode())
    double = next((i for i in range(1, len(w) - 1) if w[i] == w[i - 1]), None)
    i = 1 + h // 3 % (len(w) - 3)  # an interior letter that has an interior letter after it
    if double is not None:
        typo = w[:double] + w[double + 1 :]
    elif h % 3 == 0:
        typo = w[:i] + w[i + 1 :]
    elif h % 3 == 1:
        typo = w[:i] + w[i + 1] + w[i] + w[i + 2 :]
    else:
        at = next((j for j in [*range(i, len(w) - 1), *range(1, i)] if w[j] in "aeiou"), None)  # the first vowel from i on, else before it
        typo = w if at is None else w[:at] + w[at].translate(_VOWEL_SLIP) + w[at + 1 :]
    return question[: m.start()] + typo + question[m.end() :]


# what people write around a question: a greeting or a word to the listener before it, a sentence
# of their own before it, thanks after it
CHATTY = (("Hi, ", ""), ("Hello! ", ""), ("Quick question: ", ""), ("", " Thanks!"),
          ("I saw something about this in the news. ", ""), ("Hey there. ", " Thank you."))


def chatty(question: str) -> str:
    """The question as typed in a chat: with one of CHATTY around it, chosen by a hash of the
    question; after a comma its question word in lower case ("Hi, who bought Instagram?"). Deterministic."""
    before, after = CHATTY[zlib.crc32(question.encode()) % len(CHATTY)]
    if before.endswith(", ") and opens_as_question(question.lower()):
        question = question[:1].lower() + question[1:]
    return before + question + after


# how people also type a question (`python -m eval --typed HOW`): the same answers and documents, so a
# report on the retyped set reads against the set's own report
TYPINGS = {
    "lower": str.lower,
    "capitals": str.upper,
    "request": lambda t: "Can you tell me " + t[:1].lower() + t[1:],
    "typos": misspelt,
    "chatty": chatty,
}


def retyped(questions: list[Question], how: str | None) -> list[Question]:
    """The questions typed `how` (a TYPINGS key; None: as written)."""
    if how is None:
        return list(questions)
    if how not in TYPINGS:
        raise ValueError(f"unknown typing {how!r}: one of {', '.join(TYPINGS)}")
    return [replace(q, question=TYPINGS[how](q.question)) for q in questions]


def select(questions: list[Question], limit: int | None, seed: int = SEED) -> list[Question]:
    """The first `limit` questions after a fixed-seed shuffle (all of them, unshuffled, without a limit)."""
    if not limit or limit >= len(questions):
        return list(questions)
    qs = list(questions)
    random.Random(seed).shuffle(qs)
    return qs[:limit]


def squad_documents(path: str | Path) -> Iterator[Document]:
    """One Document per SQuAD article: its paragraphs joined by blank lines; doc_id = the article title."""
    for art in _squad(path)["data"]:
        title = art["title"]
        text = "\n\n".join(p["context"].strip() for p in art["paragraphs"])
        yield Document(doc_id=title, title=title.replace("_", " "), text=text, path=str(path), source="squad")


def corpus_name(corpus: str | Path) -> str:
    p = Path(corpus)
    return (p.stem if p.is_file() else p.name) or "corpus"


def default_index_dir(corpus: str | Path, root: Path) -> Path:
    digest = hashlib.sha1(str(Path(corpus).resolve()).encode()).hexdigest()[:8]
    return root / "indexes" / f"eval-{corpus_name(corpus)}-{digest}"


BUILD_FILE = "eval_build.json"


def build_index(store, corpus: str | Path, progress: Callable[[int, int], None] | None = None, batch_docs: int = 4) -> dict:
    """Add the corpus to `store` (resumes: unchanged documents are skipped); returns what to record."""
    t_load = time.time()
    store.embedder  # load the model first: build_s times indexing, not the model load
    load_s = time.time() - t_load
    t0 = time.time()
    before = store.stats()["documents"]
    skipped = 0
    if is_squad(corpus):
        docs = list(squad_documents(corpus))
        for i in range(0, len(docs), batch_docs):
            store.add_documents(docs[i : i + batch_docs], save=False)
            if progress:
                progress(min(i + batch_docs, len(docs)), len(docs))
        store.save()
    else:
        cb = (lambda done, total, rep: progress(done, total)) if progress else None
        rep = store.add_paths([Path(corpus)], progress=cb)  # its own batching (64 files)
        skipped = len(rep.skipped)
    s = store.stats()
    info = {
        "build_s": round(time.time() - t0, 2),
        "embedder_load_s": round(load_s, 2),
        "documents": s["documents"],
        "chunks": s["chunks"],
        "resumed": before > 0,
        "skipped": skipped,
        "corpus": str(Path(corpus).resolve()),
        "embedder": s["embedder"],
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    (Path(store.path) / BUILD_FILE).write_text(json.dumps(info, indent=2))
    return info


def read_build_info(index_dir: str | Path) -> dict | None:
    f = Path(index_dir) / BUILD_FILE
    try:
        return json.loads(f.read_text())
    except (OSError, ValueError):
        return None
