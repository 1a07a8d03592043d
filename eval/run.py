"""The evaluation runner: build/reuse the index, ask every question, score, write the report.

Definitions (all shares are 0..1; a metric with no questions to score is null). A question's gold
docs are its "doc" (a string or a list) plus RGB's "alt_docs" and any stored document byte-identical
to one of them (`data.with_copies`); a passage from ANY of them counts.
- retrieval (answerable questions only; per stage of `qa.retrieve_stages(question, depth=10)`):
  a chunk is a hit when it comes from a gold doc and its text contains a gold answer (SQuAD-normalised
  substring; an explain question without answer strings needs only the gold doc). recall@k = share
  with a hit in the first k; mrr@10 = mean 1/rank of the first hit (0 if none). Top-level numbers =
  the final stage ('reranked' if present, else 'fused').
- answer: SQuAD v2 EM/F1 (best over gold answers) of Answer.short_answer, or of Answer.text without
  [n] markers when there is no short answer; a declined answer scores 0. exact_match/f1 = over the
  questions with gold answers; f1_factoid/exact_match_factoid = the same without "explain" questions
  (the headline figure). contains = a normalised gold answer (an explain question: one of its
  "contains" phrases) occurs in the normalised Answer.text without markers, over answerable
  questions; contains_explain = the same over explain questions only.
- abstention: declined_unanswerable = share of unanswerable questions declined;
  declined_answerable = share of answerable questions declined.
- citations: precision = share of citations on answerable, non-declined answers whose passage is a
  hit (as for retrieval); coverage = share of non-declined answers with >= 1 citation.
- follow-ups: a question with a "history" is asked with it (qa.ask(question, history)). Retrieval
  is scored as QA.ask retrieves (`QA.read`: a follow-up rewritten from its history, its own words
  choosing the chunk within the story; a question in capitals read in lower case).
- latency_s: wall time of qa.ask, after one uncounted warm-up ask.
- by_type / by_phrasing: the figures above per "type" / "phrasing" value ({} when no question has one):
  n, n_answerable, recall@1, recall@5, exact_match, f1, contains, declined (share of all its questions).
- machine: CPU model, cores and vector extensions (avx2, avx512f, avx512_vnni); created_at: when run.
An unanswerable question's "near" doc is kept in per_question and never scored.
"""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from index import REPO_ROOT, IndexStore

from . import metrics as M
from .data import SEED, Question, build_index, default_index_dir, load_questions, read_build_info, retyped, select, with_copies
from .machine import machine_info

STAGES = ("dense", "lexical", "fused", "reranked")


def progress_bar(label: str, enabled: bool = True, items=None) -> tqdm:
    """A progress line on stderr (count, elapsed, ETA) over `items`, or moved by _moves; nothing at
    all when not enabled (--quiet)."""
    return tqdm(items, desc=label, disable=not enabled, file=sys.stderr, dynamic_ncols=True)


def _moves(bar: tqdm):
    """A (done, total) progress callback that moves `bar`."""

    def cb(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return cb


def open_eval_index(corpus: str | Path, index_dir: str | Path | None = None, show_progress: bool = True) -> tuple[IndexStore, dict]:
    """Open the evaluation index, building it when missing or empty; returns (store, build info)."""
    idir = Path(index_dir) if index_dir else default_index_dir(corpus, REPO_ROOT)
    store = IndexStore(idir)
    info = read_build_info(idir)
    n = store.stats()["documents"]
    if n == 0 or info is None:
        # missing, empty, or built by something else / interrupted: add (unchanged docs are skipped)
        with progress_bar("index", show_progress) as bar:
            info = build_index(store, corpus, progress=_moves(bar))
        info["reused"] = False
    else:
        info = dict(info, reused=True)
    return store, info


def _hits(hits) -> list[tuple[str, str]]:
    return [(h.doc_id, h.text) for h in hits or []]


@dataclass
class StageRanks:
    """First-hit ranks per retrieval stage over the answerable questions; which stages returned anything."""

    ranks: dict[str, list[int | None]] = field(default_factory=lambda: {s: [] for s in STAGES})
    present: dict[str, bool] = field(default_factory=lambda: {s: False for s in STAGES})

    def add(self, q: Question, stages: dict, depth: int) -> dict[str, int | None]:
        """Record one question's stages; returns its rank per stage (empty for an unanswerable one)."""
        out: dict[str, int | None] = {}
        for s in STAGES:
            hs = stages.get(s)
            self.present[s] = self.present[s] or bool(hs)
            if q.answerable:
                out[s] = M.first_hit_rank(_hits(hs), q.docs, q.answers, depth)
                self.ranks[s].append(out[s])
        return out

    @property
    def final(self) -> str:
        return "reranked" if self.present["reranked"] else "fused"

    def summary(self, depth: int) -> dict:
        # a stage that never returned anything (e.g. no reranker configured) reports nulls
        stages = {s: M.retrieval_summary(self.ranks[s] if self.present[s] else []) for s in STAGES}
        return dict(stages[self.final], stages=stages, final_stage=self.final, depth=depth)


def question_row(q: Question) -> dict:
    """The per-question report fields that come from the question file."""
    row = {"id": q.id, "question": q.question, "gold": list(q.answers), "doc": q.doc, "docs": list(q.docs)}
    extra = {"type": q.type, "phrasing": q.phrasing, "contains": list(q.contains), "near": q.near,
             "history": [list(t) for t in q.history]}
    row.update({k: v for k, v in extra.items() if v})
    return row


def score_answer(q: Question, ans, lat: float, o: M.Outcome) -> dict:
    """Score one Answer into `o`; returns the per-question report fields it adds.

    EM/F1 need gold answer strings; contains looks for the question's `contains` phrases (explain
    questions) or else its answers; a declined answer scores 0 and contains nothing."""
    o.declined, o.latency_s = ans.declined, lat
    row: dict = {}
    if q.answerable:
        said = "" if ans.declined else M.strip_markers(ans.text)
        o.contains = bool(said) and M.contains_answer(said, q.contains or q.answers)
        row["contains"] = o.contains
        if q.answers:
            pred = "" if ans.declined else M.predicted_span(ans.short_answer, ans.text)
            o.exact = M.best_exact(q.answers, pred) if not ans.declined else 0
            o.f1 = M.best_f1(q.answers, pred) if not ans.declined else 0.0
            row.update(exact_match=o.exact, f1=round(o.f1, 4))
        if not ans.declined:
            o.citations_ok = [M.is_hit(c.doc_id, c.passage, q.docs, q.answers) for c in ans.citations]
            row["citations_ok"] = o.citations_ok
    if not ans.declined:
        o.cited = bool(ans.citations)
    row.update(
        answer=ans.text, short_answer=ans.short_answer, declined=ans.declined,
        citations=[c.doc_id for c in ans.citations], quotes=[c.quote for c in ans.citations],
        latency_s=round(lat, 3), trace=dataclasses.asdict(ans.trace),
    )
    return row


@dataclass
class Scores:
    """What the questions scored so far: first-hit ranks per stage, and one Outcome and one report
    row per question."""

    stages: StageRanks = field(default_factory=StageRanks)
    outcomes: list[M.Outcome] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)

    def add(self, q: Question, qa, depth: int, retrieval_only: bool) -> None:
        """Retrieve (every stage) and, unless retrieval_only, answer and score one question."""
        o = M.Outcome(type=q.type, phrasing=q.phrasing, answerable=q.answerable, explain=q.explain)
        row = question_row(q)
        history = [list(t) for t in q.history] or None
        asked = qa.read(q.question, history)  # as ask reads it (a follow-up rewritten, capitals read in lower case)
        if q.history:
            row["standalone_question"] = asked.standalone
        row["retrieval_rank"] = self.stages.add(q, qa.retrieve_stages(asked, depth=depth), depth)
        if not retrieval_only:
            t0 = time.perf_counter()
            ans = qa.ask(q.question, history) if history else qa.ask(q.question)
            row.update(score_answer(q, ans, time.perf_counter() - t0, o))
        self.outcomes.append(o)
        self.rows.append(row)

    def finish(self) -> None:
        """Each answerable question's rank at the final stage (known once every question is in)."""
        for o, row in zip(self.outcomes, self.rows):
            if row["retrieval_rank"]:
                o.rank = row["retrieval_rank"][self.stages.final]
                row["retrieval_rank"] = dict(row["retrieval_rank"], final=o.rank)


def _make_qa(corpus, k, index_dir, generator, overrides, show_progress):
    from qa import QA, Settings

    store, info = open_eval_index(corpus, index_dir, show_progress)
    settings = Settings().with_(k=k, generator=generator, **(overrides or {}))
    return QA(store=store, settings=settings), info


def run_eval(
    corpus: str | Path,
    questions: str | Path,
    k: int | None = None,
    limit: int | None = None,
    index_dir: str | Path | None = None,
    retrieval_only: bool = False,
    generator: str | None = None,
    overrides: dict | None = None,
    depth: int = 10,
    show_progress: bool = True,
    qa=None,
    typed: str | None = None,
) -> dict:
    """Score every question (k, generator: Settings fields; None keeps the default; typed: a
    data.TYPINGS key, every question retyped so) and build the report."""
    qs = retyped(select(load_questions(questions), limit), typed)
    if not qs:
        raise ValueError(f"no questions in {questions}")
    if qa is None:
        qa, info = _make_qa(corpus, k, index_dir, generator, overrides, show_progress)
    else:
        info = dict(read_build_info(qa.store.path) or {}, reused=True)
    qs = with_copies(qs, qa.store.content_hashes())
    if not retrieval_only:  # warm-up: loads the generator, not counted
        qa.ask(qs[0].question)
    scores = Scores()
    for q in progress_bar("eval", show_progress, qs):
        scores.add(q, qa, depth, retrieval_only)
    scores.finish()
    run = RunInfo(corpus=str(corpus), questions=str(questions), limit=limit, retrieval_only=retrieval_only, depth=depth, typed=typed)
    return build_report(qs, scores, qa, info, run)


@dataclass
class RunInfo:
    """How a run was asked for (what the report's config records besides the QA settings)."""

    corpus: str
    questions: str
    limit: int | None
    retrieval_only: bool
    depth: int
    typed: str | None = None  # how every question was retyped (data.TYPINGS), None: as written


def build_report(qs: list[Question], scores: Scores, qa, info: dict, run: RunInfo) -> dict:
    n_ans = sum(1 for q in qs if q.answerable)
    outs, rows, sr = scores.outcomes, scores.rows, scores.stages
    s, settings, answered = qa.store.stats(), qa.settings, not run.retrieval_only
    return {
        "n_questions": len(qs),
        "n_answerable": n_ans,
        "n_unanswerable": len(qs) - n_ans,
        "retrieval": sr.summary(run.depth),
        "answer": M.answer_summary(outs) if answered else None,
        "abstention": M.abstention_summary(outs) if answered else None,
        "citations": M.citation_summary(outs) if answered else None,
        "latency_s": M.latency_summary(outs) if answered else None,
        "by_type": M.breakdown(outs, "type"),
        "by_phrasing": M.breakdown(outs, "phrasing"),
        "index": {
            "documents": s["documents"],
            "chunks": s["chunks"],
            "build_s": info.get("build_s"),
            "reused": info.get("reused"),
            "resumed": info.get("resumed", False),  # build_s then times only the missing part
            "path": str(qa.store.path),
        },
        "config": {
            "settings": dataclasses.asdict(settings),
            "k": settings.k,
            "generator": settings.generator if answered else None,
            "corpus": run.corpus,
            "questions": run.questions,
            "limit": run.limit,
            "typed": run.typed,
            "seed": SEED,
            "embedder": s["embedder"],
            "retrieval_only": run.retrieval_only,
        },
        "machine": dataclasses.asdict(machine_info()),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "per_question": rows,
    }


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def format_groups(title: str, groups: dict[str, dict]) -> list[str]:
    """Rows of a by_type / by_phrasing breakdown (nothing when it is empty)."""
    if not groups:
        return []
    keys = ("n", "recall@5", "f1", "exact_match", "contains", "declined")
    lines = ["", f"{title:<16}" + "".join(f"{h:>10}" for h in ("n", "R@5", "F1", "EM", "contains", "declined"))]
    for name, m in groups.items():
        lines.append(f"{name[:15]:<16}" + "".join(f"{_fmt(m[key]):>10}" for key in keys))
    return lines


def format_table(report: dict) -> str:
    r = report
    lines = [
        f"questions {r['n_questions']} (answerable {r['n_answerable']}, unanswerable {r['n_unanswerable']})",
        f"index     {r['index']['documents']} documents, {r['index']['chunks']} chunks, build {_fmt(r['index']['build_s'])} s"
        + (" (reused)" if r["index"].get("reused") else ""),
        "",
        f"{'retrieval':<12}{'R@1':>8}{'R@5':>8}{'R@10':>8}{'MRR@10':>8}",
    ]
    for name, m in r["retrieval"]["stages"].items():
        mark = " *" if name == r["retrieval"].get("final_stage") else ""
        lines.append(f"{name + mark:<12}" + "".join(f"{_fmt(m[key]):>8}" for key in ("recall@1", "recall@5", "recall@10", "mrr@10")))
    if r["answer"] is not None:
        a, ab, c, l = r["answer"], r["abstention"], r["citations"], r["latency_s"]
        lines += [
            "",
            f"answer      EM {_fmt(a['exact_match'])}  F1 {_fmt(a['f1'])}  contains {_fmt(a['contains'])}",
            f"factoid     EM {_fmt(a['exact_match_factoid'])}  F1 {_fmt(a['f1_factoid'])}  ({a['n_factoid']} questions)",
            f"explain     contains {_fmt(a['contains_explain'])}  ({a['n_explain']} questions)",
            f"abstention  declined unanswerable {_fmt(ab['declined_unanswerable'])}  declined answerable {_fmt(ab['declined_answerable'])}",
            f"citations   precision {_fmt(c['precision'])}  coverage {_fmt(c['coverage'])}",
            f"latency     p50 {_fmt(l['p50'])} s  p95 {_fmt(l['p95'])} s",
        ]
    lines += format_groups("type", r.get("by_type") or {})
    lines += format_groups("phrasing", r.get("by_phrasing") or {})
    return "\n".join(lines)


def write_report(report: dict, out: str | Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    tmp.replace(out)
    return out
