"""Pure scoring functions.

Answer scores follow the official SQuAD v2.0 evaluation script (normalize_answer, get_tokens,
compute_exact, compute_f1, best over the gold answers). Retrieval, abstention, citation and
latency summaries are defined below and used by `eval.run`.
"""
from __future__ import annotations

import collections
import math
import re
import string
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from qa.text import strip_markers  # noqa: F401 - the one definition; eval scores the answers' text without markers

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


# ---- SQuAD v2 official normalisation and scores ------------------------------------------
def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (official SQuAD v2)."""

    def remove_articles(text):
        return _ARTICLES.sub(" ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s or ""))))


def get_tokens(s: str) -> list[str]:
    if not s:
        return []
    return normalize_answer(s).split()


def compute_exact(a_gold: str, a_pred: str) -> int:
    return int(normalize_answer(a_gold) == normalize_answer(a_pred))


def compute_f1(a_gold: str, a_pred: str) -> float:
    gold_toks = get_tokens(a_gold)
    pred_toks = get_tokens(a_pred)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        # If either is no-answer, then F1 is 1 if they agree, 0 otherwise
        return float(gold_toks == pred_toks)
    if num_same == 0:
        return 0.0
    precision = 1.0 * num_same / len(pred_toks)
    recall = 1.0 * num_same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


def gold_list(answers: Iterable[str]) -> list[str]:
    """Gold answers as the official script keeps them: non-empty after normalisation; [''] if none."""
    golds = [a for a in answers if normalize_answer(a)]
    return golds or [""]


def best_exact(answers: Sequence[str], pred: str) -> int:
    return max(compute_exact(a, pred) for a in gold_list(answers))


def best_f1(answers: Sequence[str], pred: str) -> float:
    return max(compute_f1(a, pred) for a in gold_list(answers))


# ---- answers as text ------------------------------------------------------------------------
def contains_answer(text: str, answers: Iterable[str]) -> bool:
    """A normalised gold answer is a substring of the normalised text."""
    norm = normalize_answer(text)
    for a in answers:
        na = normalize_answer(a)
        if na and na in norm:
            return True
    return False


def predicted_span(short_answer: str, text: str) -> str:
    """What EM/F1 score: the short answer if the system gave one, else the text without markers."""
    return short_answer.strip() if short_answer and short_answer.strip() else strip_markers(text)


# ---- retrieval and citations --------------------------------------------------------------
def gold_docs(gold: str | Sequence[str] | None) -> tuple[str, ...]:
    """Gold doc ids as a tuple: None -> (), one id -> (id,)."""
    if gold is None:
        return ()
    return (gold,) if isinstance(gold, str) else tuple(gold)


def is_hit(doc_id: str, text: str, gold: str | Sequence[str] | None, answers: Iterable[str]) -> bool:
    """A retrieved or cited passage answers the question: it is from ANY of the gold docs (any doc when
    there are none) and contains a gold answer. A question without answer strings (an explain question)
    needs no answer in the passage, only a gold doc."""
    docs = gold_docs(gold)
    if docs and doc_id not in docs:
        return False
    answers = list(answers)
    if not answers:
        return bool(docs)
    return contains_answer(text, answers)


def first_hit_rank(
    hits: Sequence[tuple[str, str]], gold: str | Sequence[str] | None, answers: Sequence[str], depth: int | None = None
) -> int | None:
    """1-based rank of the first (doc_id, text) pair that is a hit, or None."""
    for i, (doc_id, text) in enumerate(hits[:depth] if depth else hits, start=1):
        if is_hit(doc_id, text, gold, answers):
            return i
    return None


def recall_at(ranks: Sequence[int | None], k: int) -> float | None:
    """Share of questions whose first hit is within the top k (None: no questions)."""
    if not ranks:
        return None
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mrr_at(ranks: Sequence[int | None], k: int = 10) -> float | None:
    if not ranks:
        return None
    return sum(1.0 / r for r in ranks if r is not None and r <= k) / len(ranks)


def retrieval_summary(ranks: Sequence[int | None]) -> dict:
    return {
        "recall@1": recall_at(ranks, 1),
        "recall@5": recall_at(ranks, 5),
        "recall@10": recall_at(ranks, 10),
        "mrr@10": mrr_at(ranks, 10),
    }


# ---- small aggregates ---------------------------------------------------------------------
def mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def share(flags: Sequence[bool]) -> float | None:
    return sum(1 for f in flags if f) / len(flags) if flags else None


def percentile(xs: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method), q in [0, 100]."""
    if not xs:
        return None
    s = sorted(xs)
    pos = (len(s) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


# ---- per-question outcomes and their summaries ------------------------------------------------
@dataclass
class Outcome:
    """What one question scored. The answer fields stay None in a retrieval-only run; exact and f1
    stay None for questions without gold answer strings (unanswerable ones, explain ones)."""

    type: str = ""
    phrasing: str = ""
    answerable: bool = False
    explain: bool = False
    rank: int | None = None  # first hit at the final retrieval stage (answerable only)
    declined: bool | None = None
    exact: int | None = None
    f1: float | None = None
    contains: bool | None = None  # answerable only
    citations_ok: list[bool] = field(default_factory=list)  # answerable and answered only
    cited: bool | None = None  # answered only: it had at least one citation
    latency_s: float | None = None


def _values(outs: Sequence[Outcome], name: str, **where) -> list:
    """The non-None `name` of the outcomes whose fields equal `where`."""
    keep = [o for o in outs if all(getattr(o, k) == v for k, v in where.items())]
    return [getattr(o, name) for o in keep if getattr(o, name) is not None]


def answer_summary(outs: Sequence[Outcome]) -> dict:
    """EM/F1 over questions with gold answers (all, and factoid = not explain); contains over answerable
    (explain ones separately); the official SQuAD v2 overall score (a declined unanswerable counts 1)."""
    unans = _values(outs, "declined", answerable=False)
    return {
        "exact_match": mean(_values(outs, "exact")),
        "f1": mean(_values(outs, "f1")),
        "contains": share(_values(outs, "contains", answerable=True)),
        "exact_match_factoid": mean(_values(outs, "exact", explain=False)),
        "f1_factoid": mean(_values(outs, "f1", explain=False)),
        "n_factoid": len(_values(outs, "f1", explain=False)),
        "contains_explain": share(_values(outs, "contains", answerable=True, explain=True)),
        "n_explain": len(_values(outs, "contains", answerable=True, explain=True)),
        "squad_v2_exact": mean(_values(outs, "exact") + [int(d) for d in unans]),
        "squad_v2_f1": mean(_values(outs, "f1") + [float(d) for d in unans]),
    }


def abstention_summary(outs: Sequence[Outcome]) -> dict:
    return {
        "declined_unanswerable": share(_values(outs, "declined", answerable=False)),
        "declined_answerable": share(_values(outs, "declined", answerable=True)),
    }


def citation_summary(outs: Sequence[Outcome]) -> dict:
    ok = [c for o in outs for c in o.citations_ok]
    return {"precision": share(ok), "coverage": share(_values(outs, "cited")), "n_citations_scored": len(ok)}


def latency_summary(outs: Sequence[Outcome]) -> dict:
    xs = _values(outs, "latency_s")
    return {"p50": percentile(xs, 50), "p95": percentile(xs, 95), "mean": mean(xs), "max": max(xs) if xs else None}


def group_summary(outs: Sequence[Outcome]) -> dict:
    """The headline figures of one group of questions (a type, a phrasing)."""
    ranks = [o.rank for o in outs if o.answerable]
    return {
        "n": len(outs),
        "n_answerable": len(ranks),
        "recall@1": recall_at(ranks, 1),
        "recall@5": recall_at(ranks, 5),
        "exact_match": mean(_values(outs, "exact")),
        "f1": mean(_values(outs, "f1")),
        "contains": share(_values(outs, "contains", answerable=True)),
        "declined": share(_values(outs, "declined")),
    }


def breakdown(outs: Sequence[Outcome], key: str) -> dict[str, dict]:
    """group_summary per value of `key` ("type" or "phrasing"); {} when no question carries one.
    Questions without a value are grouped under "(none)"."""
    if not any(getattr(o, key) for o in outs):
        return {}
    groups: dict[str, list[Outcome]] = {}
    for o in outs:
        groups.setdefault(getattr(o, key) or "(none)", []).append(o)
    return {name: group_summary(groups[name]) for name in sorted(groups)}
