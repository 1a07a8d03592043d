"""The evaluation runner: build/reuse the index, ask every question, score, write the report.

Definitions (all shares are 0..1; a metric with no questions to score is null)
- retrieval (answerable questions only; per stage of `qa.retrieve_stages(question, depth=10)`):
  a chunk is a hit when it comes from the question's gold doc and its text contains a gold answer
  (SQuAD-normalised substring). recall@k = share with a hit in the first k; mrr@10 = mean 1/rank of
  the first hit (0 if none). Top-level numbers = the final stage ('reranked' if present, else 'fused').
- answer (answerable only): SQuAD v2 EM/F1 (best over gold answers) of Answer.short_answer, or of
  Answer.text without [n] markers when there is no short answer; a declined answer scores 0.
  contains = a normalised gold answer occurs in the normalised Answer.text.
- abstention: declined_unanswerable = share of unanswerable questions declined;
  declined_answerable = share of answerable questions declined.
- citations: precision = share of citations on answerable, non-declined answers whose passage is
  from the gold doc and contains a gold answer; coverage = share of non-declined answers with >= 1 citation.
- latency_s: wall time of qa.ask, after one uncounted warm-up ask.
"""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

from index import REPO_ROOT, IndexStore

from . import metrics as M
from .data import SEED, build_index, default_index_dir, load_questions, read_build_info, select

STAGES = ("dense", "lexical", "fused", "reranked")


class Progress:
    """One self-overwriting status line on stderr: count, elapsed, ETA."""

    def __init__(self, label: str, total: int, stream=None, every: float = 0.5, enabled: bool = True):
        self.label, self.total, self.stream = label, total, stream or sys.stderr
        self.every, self.enabled = every, enabled
        self.t0 = time.time()
        self.last = 0.0

    def __call__(self, done: int, total: int | None = None, extra: str = "") -> None:
        if not self.enabled:
            return
        total = total if total is not None else self.total
        now = time.time()
        if now - self.last < self.every and done < total:
            return
        self.last = now
        el = now - self.t0
        eta = (total - done) * el / done if done else 0.0
        self.stream.write(f"\r[{self.label}] {done}/{total}  elapsed {el:.0f}s  ETA {eta:.0f}s  {extra}   ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def open_eval_index(corpus: str | Path, index_dir: str | Path | None = None, show_progress: bool = True) -> tuple[IndexStore, dict]:
    """Open the evaluation index, building it when missing or empty; returns (store, build info)."""
    idir = Path(index_dir) if index_dir else default_index_dir(corpus, REPO_ROOT)
    store = IndexStore(idir)
    info = read_build_info(idir)
    n = store.stats()["documents"]
    if n == 0 or info is None:
        # missing, empty, or built by something else / interrupted: add (unchanged docs are skipped)
        bar = Progress("index", 0, enabled=show_progress)
        info = build_index(store, corpus, progress=bar)
        bar.close()
        info["reused"] = False
    else:
        info = dict(info, reused=True)
    return store, info


def _hits(hits) -> list[tuple[str, str]]:
    return [(h.doc_id, h.text) for h in hits or []]


def run_eval(
    corpus: str | Path,
    questions: str | Path,
    k: int = 5,
    limit: int | None = None,
    index_dir: str | Path | None = None,
    retrieval_only: bool = False,
    generator: str | None = None,
    overrides: dict | None = None,
    depth: int = 10,
    show_progress: bool = True,
    qa=None,
) -> dict:
    qs = select(load_questions(questions), limit)
    if not qs:
        raise ValueError(f"no questions in {questions}")
    if qa is None:
        from qa import QA, Settings

        store, info = open_eval_index(corpus, index_dir, show_progress)
        settings = Settings().with_(k=k, generator=generator, **(overrides or {}))
        qa = QA(store=store, settings=settings)
    else:
        store, info = qa.store, dict(read_build_info(qa.store.path) or {}, reused=True)
    settings = qa.settings

    if not retrieval_only:  # warm-up: loads the generator, not counted
        qa.ask(qs[0].question)

    ranks: dict[str, list[int | None]] = {s: [] for s in STAGES}
    present = {s: False for s in STAGES}
    per_q: list[dict] = []
    em, f1, contains, latencies = [], [], [], []
    declined_ans, declined_unans, covered = [], [], []
    cit_ok: list[bool] = []
    squad_v2_em, squad_v2_f1 = [], []

    bar = Progress("eval", len(qs), enabled=show_progress)
    for i, q in enumerate(qs, 1):
        stages = qa.retrieve_stages(q.question, depth=depth)
        row = {"id": q.id, "question": q.question, "gold": list(q.answers), "doc": q.doc}
        stage_ranks = {}
        for s in STAGES:
            hs = stages.get(s)
            if hs:
                present[s] = True
            if q.answerable:
                r = M.first_hit_rank(_hits(hs), q.doc, q.answers, depth)
                ranks[s].append(r)
                stage_ranks[s] = r
        row["retrieval_rank"] = stage_ranks
        if not retrieval_only:
            t0 = time.perf_counter()
            ans = qa.ask(q.question)
            lat = time.perf_counter() - t0
            latencies.append(lat)
            pred = "" if ans.declined else M.predicted_span(ans.short_answer, ans.text)
            if q.answerable:
                e = M.best_exact(q.answers, pred) if not ans.declined else 0
                f = M.best_f1(q.answers, pred) if not ans.declined else 0.0
                c = (not ans.declined) and M.contains_answer(M.strip_markers(ans.text), q.answers)
                em.append(e), f1.append(f), contains.append(c), declined_ans.append(ans.declined)
                squad_v2_em.append(e), squad_v2_f1.append(f)
                if not ans.declined:
                    for cit in ans.citations:
                        cit_ok.append(M.is_hit(cit.doc_id, cit.passage, q.doc, q.answers))
                row.update(exact_match=e, f1=round(f, 4), contains=c)
            else:
                declined_unans.append(ans.declined)
                squad_v2_em.append(int(ans.declined)), squad_v2_f1.append(float(ans.declined))
            if not ans.declined:
                covered.append(bool(ans.citations))
            row.update(
                answer=ans.text, short_answer=ans.short_answer, declined=ans.declined,
                citations=[c.doc_id for c in ans.citations], latency_s=round(lat, 3),
                diagnostics=ans.diagnostics,
            )
        per_q.append(row)
        bar(i)
    bar.close()

    final = "reranked" if present["reranked"] else "fused"
    # a stage that never returned anything (e.g. no reranker configured) reports nulls
    stage_summary = {s: M.retrieval_summary(ranks[s] if present[s] else []) for s in STAGES}
    retrieval = dict(stage_summary[final])
    retrieval.update(stages=stage_summary, final_stage=final, depth=depth)
    for row in per_q:
        if row["retrieval_rank"]:
            row["retrieval_rank"] = dict(row["retrieval_rank"], final=row["retrieval_rank"].get(final))

    n_ans = sum(1 for q in qs if q.answerable)
    s = store.stats()
    report = {
        "n_questions": len(qs),
        "n_answerable": n_ans,
        "n_unanswerable": len(qs) - n_ans,
        "retrieval": retrieval,
        "answer": None,
        "abstention": None,
        "citations": None,
        "latency_s": None,
        "index": {
            "documents": s["documents"],
            "chunks": s["chunks"],
            "build_s": info.get("build_s"),
            "reused": info.get("reused"),
            "resumed": info.get("resumed", False),  # build_s then times only the missing part
            "path": str(store.path),
        },
        "config": {
            "settings": dataclasses.asdict(settings),
            "k": settings.k,
            "generator": None if retrieval_only else settings.generator,
            "corpus": str(corpus),
            "questions": str(questions),
            "limit": limit,
            "seed": SEED,
            "embedder": s["embedder"],
            "retrieval_only": retrieval_only,
        },
    }
    if not retrieval_only:
        report["answer"] = {
            "exact_match": M.mean(em), "f1": M.mean(f1), "contains": M.share(contains),
            # official SQuAD v2 overall score: an unanswerable question counts 1 when declined
            "squad_v2_exact": M.mean(squad_v2_em), "squad_v2_f1": M.mean(squad_v2_f1),
        }
        report["abstention"] = {"declined_unanswerable": M.share(declined_unans), "declined_answerable": M.share(declined_ans)}
        report["citations"] = {"precision": M.share(cit_ok), "coverage": M.share(covered), "n_citations_scored": len(cit_ok)}
        report["latency_s"] = {
            "p50": M.percentile(latencies, 50), "p95": M.percentile(latencies, 95),
            "mean": M.mean(latencies), "max": max(latencies) if latencies else None,
        }
    report["per_question"] = per_q
    return report


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


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
            f"abstention  declined unanswerable {_fmt(ab['declined_unanswerable'])}  declined answerable {_fmt(ab['declined_answerable'])}",
            f"citations   precision {_fmt(c['precision'])}  coverage {_fmt(c['coverage'])}",
            f"latency     p50 {_fmt(l['p50'])} s  p95 {_fmt(l['p95'])} s",
        ]
    return "\n".join(lines)


def write_report(report: dict, out: str | Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    tmp.replace(out)
    return out
