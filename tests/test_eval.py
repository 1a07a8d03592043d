"""eval/: SQuAD metrics, retrieval recall/MRR, data loading, and a small retrieval-only end-to-end run."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import metrics as M
from eval.data import Question, load_questions, select, squad_documents

REPO = Path(__file__).resolve().parent.parent


# ---- SQuAD normalisation and scores ---------------------------------------------------------
def test_normalize_answer_matches_squad():
    assert M.normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert M.normalize_answer("an apple, a pear & the plum") == "apple pear plum"
    assert M.normalize_answer("£8.2bn") == "£82bn"
    assert M.normalize_answer("Theatre") == "theatre"  # 'the' only as a whole word
    assert M.get_tokens("") == []


def test_exact_and_f1_known_values():
    assert M.compute_exact("Tony Lester", "tony lester.") == 1
    assert M.compute_exact("Tony Lester", "Lester") == 0
    # pred "lester" vs gold "tony lester": P=1, R=1/2 -> F1 = 2/3
    assert M.compute_f1("Tony Lester", "Lester") == pytest.approx(2 / 3)
    # gold "the denver broncos" -> [denver, broncos]; pred [denver, broncos, won] -> P=2/3 R=1 -> 0.8
    assert M.compute_f1("the Denver Broncos", "Denver Broncos won") == pytest.approx(0.8)
    assert M.compute_f1("Madrid", "Paris") == 0.0
    # both empty agree (no-answer), one empty disagrees
    assert M.compute_f1("", "") == 1.0
    assert M.compute_f1("Madrid", "") == 0.0
    # best over gold answers
    assert M.best_exact(["Tony Lester", "Lester"], "Lester") == 1
    assert M.best_f1(["Alessandro Troncon", "Troncon"], "scrum-half Troncon") == pytest.approx(2 / 3)


def test_markers_prediction_and_contains():
    assert M.strip_markers("It was Madrid [1] and Paris [2, 3].") == "It was Madrid and Paris."
    assert M.predicted_span("", "Madrid [1].") == "Madrid."
    assert M.predicted_span("  Madrid ", "In Madrid [1].") == "Madrid"
    assert M.contains_answer("Shares sank 14.87% on Monday", ["14.87%"])
    assert not M.contains_answer("Shares sank on Monday", ["14.87%"])
    assert not M.contains_answer("anything", ["", "the"])  # empty after normalisation never matches


# ---- retrieval -----------------------------------------------------------------------------------
def test_first_hit_rank_needs_gold_doc_and_answer():
    hits = [
        ("a.txt", "Madrid is mentioned here"),  # wrong doc
        ("b.txt", "no answer in this chunk"),  # right doc, no answer
        ("b.txt", "The championships were in Madrid."),  # hit
    ]
    assert M.first_hit_rank(hits, "b.txt", ["Madrid"]) == 3
    assert M.first_hit_rank(hits, "b.txt", ["Madrid"], depth=2) is None
    assert M.first_hit_rank(hits, None, ["Madrid"]) == 1  # no gold doc: any chunk with the answer
    assert M.first_hit_rank(hits, "c.txt", ["Madrid"]) is None


def test_recall_and_mrr_on_hand_made_ranks():
    ranks = [1, 3, None, 7, 12]
    assert M.recall_at(ranks, 1) == pytest.approx(1 / 5)
    assert M.recall_at(ranks, 5) == pytest.approx(2 / 5)
    assert M.recall_at(ranks, 10) == pytest.approx(3 / 5)
    assert M.mrr_at(ranks, 10) == pytest.approx((1 + 1 / 3 + 1 / 7) / 5)
    assert M.recall_at([], 5) is None and M.mrr_at([]) is None
    assert set(M.retrieval_summary(ranks)) == {"recall@1", "recall@5", "recall@10", "mrr@10"}


def test_percentile_and_share():
    assert M.percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert M.percentile([1.0, 2.0, 3.0, 4.0, 100.0], 95) == pytest.approx(80.8)
    assert M.percentile([], 50) is None
    assert M.share([True, False, False, True]) == 0.5 and M.share([]) is None


# ---- data --------------------------------------------------------------------------------------
def _squad_fixture(path: Path) -> Path:
    data = {
        "version": "v2.0",
        "data": [
            {
                "title": "Cheese_Festival",
                "paragraphs": [
                    {
                        "context": "The Bramblewick Cheese Festival is held every August in the town of Lowmoor. "
                        "It was founded in 1952 by a dairy farmer called Edith Harrow.",
                        "qas": [
                            {"id": "q1", "question": "Where is the Bramblewick Cheese Festival held?", "is_impossible": False,
                             "answers": [{"text": "Lowmoor", "answer_start": 90}, {"text": "the town of Lowmoor", "answer_start": 78}]},
                            {"id": "q2", "question": "Who founded the Bramblewick Cheese Festival?", "is_impossible": False,
                             "answers": [{"text": "Edith Harrow", "answer_start": 140}]},
                            {"id": "q3", "question": "How many visitors came to the cheese festival in 2020?", "is_impossible": True,
                             "answers": [], "plausible_answers": [{"text": "1952", "answer_start": 110}]},
                        ],
                    },
                    {
                        "context": "The festival's main prize is the Golden Wheel, awarded for the best blue cheese.",
                        "qas": [
                            {"id": "q4", "question": "What is the main prize of the cheese festival called?", "is_impossible": False,
                             "answers": [{"text": "the Golden Wheel", "answer_start": 29}]},
                        ],
                    },
                ],
            },
            {
                "title": "Comet_Tarrow",
                "paragraphs": [
                    {
                        "context": "Comet Tarrow was discovered in 1987 by the astronomer Nadia Okafor at the Kestrel Observatory. "
                        "It returns to the inner solar system every 61 years.",
                        "qas": [
                            {"id": "q5", "question": "Which astronomer discovered Comet Tarrow?", "is_impossible": False,
                             "answers": [{"text": "Nadia Okafor", "answer_start": 54}]},
                            {"id": "q6", "question": "How often does Comet Tarrow return to the inner solar system?", "is_impossible": False,
                             "answers": [{"text": "every 61 years", "answer_start": 130}]},
                            {"id": "q7", "question": "What is the mass of Comet Tarrow?", "is_impossible": True, "answers": []},
                        ],
                    }
                ],
            },
        ],
    }
    f = path / "tiny-squad.json"
    f.write_text(json.dumps(data))
    return f


def test_load_squad_questions_and_documents(tmp_path):
    f = _squad_fixture(tmp_path)
    qs = load_questions(f)
    assert [q.id for q in qs] == ["q1", "q2", "q3", "q4", "q5", "q6", "q7"]
    q1 = qs[0]
    assert q1.answers == ("Lowmoor", "the town of Lowmoor") and q1.doc == "Cheese_Festival" and q1.answerable
    assert not qs[2].answerable and qs[2].doc is None
    docs = list(squad_documents(f))
    assert [d.doc_id for d in docs] == ["Cheese_Festival", "Comet_Tarrow"]
    assert "\n\nThe festival's main prize" in docs[0].text


def test_load_jsonl_questions_and_fixed_seed_limit(tmp_path):
    f = tmp_path / "qa.jsonl"
    rows = [{"id": f"a{i}", "question": f"q{i}?", "answers": ["x"], "doc": "d.txt"} for i in range(8)]
    rows += [{"id": f"u{i}", "question": f"u{i}?", "answers": [], "doc": None} for i in range(4)]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    qs = load_questions(f)
    assert len(qs) == 12 and sum(q.answerable for q in qs) == 8
    assert qs[0] == Question(id="a0", question="q0?", answers=("x",), doc="d.txt")
    a, b = select(qs, 5), select(qs, 5)
    assert [q.id for q in a] == [q.id for q in b]  # same seed, same questions
    assert [q.id for q in a] != [q.id for q in qs[:5]]  # shuffled, not the head of the file
    assert select(qs, None) == qs and select(qs, 100) == qs


def test_news_dev_questions_load():
    f = REPO.parent / "shared" / "data" / "news" / "dev_qa.jsonl"
    if not f.exists():
        pytest.skip("news dev set not present")
    qs = load_questions(f)
    assert qs and all(q.question for q in qs)
    assert all((q.doc is None) == (not q.answerable) for q in qs)


# ---- end to end (real embedder, no generator) ----------------------------------------------------
REPORT_KEYS = {
    "n_questions", "n_answerable", "n_unanswerable", "retrieval", "answer", "abstention",
    "citations", "latency_s", "index", "config",
}


def test_eval_cli_retrieval_only_end_to_end(tmp_path, capsys):
    try:
        from qa import QA  # noqa: F401
    except ImportError:
        pytest.skip("qa.QA not available yet")
    from eval.__main__ import main

    f = _squad_fixture(tmp_path)
    out = tmp_path / "report.json"
    idir = tmp_path / "idx"

    def argv(report, *extra):
        return ["--corpus", str(f), "--questions", str(f), "--out", str(report),
                "--index-dir", str(idir), "--retrieval-only", "--quiet", *extra]

    assert main(argv(out)) == 0
    printed = capsys.readouterr().out
    assert "R@1" in printed and "reranked" in printed
    rep = json.loads(out.read_text())
    assert REPORT_KEYS <= set(rep)
    assert (rep["n_questions"], rep["n_answerable"], rep["n_unanswerable"]) == (7, 5, 2)
    r = rep["retrieval"]
    assert {"recall@1", "recall@5", "recall@10", "mrr@10", "stages"} <= set(r)
    assert set(r["stages"]) == {"dense", "lexical", "fused", "reranked"}
    for name in ("dense", "lexical", "fused", "reranked"):
        assert set(r["stages"][name]) == {"recall@1", "recall@5", "recall@10", "mrr@10"}
        assert r["stages"][name]["recall@10"] > 0
    assert r["final_stage"] == "reranked" and r["recall@5"] == r["stages"]["reranked"]["recall@5"]
    # two tiny distinct articles: the answer chunk is always among the few chunks there are
    assert r["recall@10"] == 1.0 and r["mrr@10"] > 0.3
    assert r["recall@1"] <= r["recall@5"] <= r["recall@10"]
    assert rep["answer"] is None and rep["abstention"] is None and rep["citations"] is None and rep["latency_s"] is None
    assert rep["index"]["documents"] == 2 and rep["index"]["chunks"] >= 2 and rep["index"]["build_s"] >= 0
    assert rep["config"]["embedder"] and rep["config"]["k"] == 5 and "settings" in rep["config"]
    assert len(rep["per_question"]) == 7 and {"id", "question", "gold", "retrieval_rank"} <= set(rep["per_question"][0])
    assert (idir / "eval_build.json").exists()

    # a second run reuses the index and reports the build time recorded when it was built
    out2 = tmp_path / "report2.json"
    assert main(argv(out2, "--limit", "3")) == 0
    rep2 = json.loads(out2.read_text())
    assert rep2["index"]["reused"] is True and rep2["index"]["build_s"] == rep["index"]["build_s"]
    assert rep2["n_questions"] == 3 and rep2["config"]["limit"] == 3


def test_eval_cli_reports_bad_input(tmp_path, capsys):
    from eval.__main__ import main

    empty = tmp_path / "none.jsonl"
    empty.write_text("")
    assert main(["--corpus", str(tmp_path), "--questions", str(empty), "--out", str(tmp_path / "r.json")]) == 2
    assert "no questions" in capsys.readouterr().err


def test_set_overrides_are_typed_by_the_settings_fields():
    from eval.__main__ import parse_overrides

    out = parse_overrides(["k=3", "min_relevance=0.5", "rerank=false", "evidence=sentences"])
    assert out == {"k": 3, "min_relevance": 0.5, "rerank": False, "evidence": "sentences"}
    for bad in (["nosuchfield=1"], ["k"], ["filters=x"]):
        with pytest.raises(SystemExit):
            parse_overrides(bad)


def test_news_probe_questions_are_answered_verbatim_by_their_article():
    news = REPO.parent / "shared" / "data" / "news"
    if not news.is_dir():
        pytest.skip(f"shared data missing: {news}")
    qs = load_questions(REPO / "eval" / "questions" / "news_probe.jsonl")
    assert len({q.id for q in qs}) == len(qs) == 45
    assert sum(bool(q.answers) for q in qs) == 30
    for q in qs:
        if q.answers:
            text = (news / q.doc).read_text(encoding="utf-8")
            assert all(a in text for a in q.answers), q.id
        else:
            assert q.doc is None
