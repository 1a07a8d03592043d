"""eval/: SQuAD metrics, retrieval recall/MRR, data loading, several gold docs, per-type figures, explain
questions, the markdown table, a scoring run over a fake QA, and a small retrieval-only end-to-end run."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from eval import metrics as M
from eval.data import Question, load_questions, select, squad_documents
from qa.records import Trace
from qa.text import DECLINE_TEXT

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
    assert qs[0] == Question(id="a0", question="q0?", answers=("x",), docs=("d.txt",))
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
    "citations", "latency_s", "index", "config", "by_type", "by_phrasing", "machine", "created_at",
}


@pytest.mark.model  # the eval builds its index with the default embedder
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


def test_news_users_set_has_the_mix_real_users_ask_and_every_answer_is_in_its_articles():
    news = REPO.parent / "shared" / "data" / "news"
    if not news.is_dir():
        pytest.skip(f"shared data missing: {news}")
    allowed = set((news / "dev_articles.txt").read_text().split())
    qs = load_questions(REPO / "eval" / "questions" / "news_users.jsonl")
    n = len(qs)
    assert n >= 150 and len({q.id for q in qs}) == n
    assert sum(q.phrasing == "own-words" for q in qs) >= 0.4 * n
    assert sum(not q.answers for q in qs) >= 0.2 * n
    assert sum(q.type == "explain" for q in qs) >= 30
    for q in qs:
        if not q.answers:
            assert not q.docs and q.near in allowed, q.id
            continue
        assert q.docs and set(q.docs) <= allowed, q.id
        texts = [(news / d).read_text(encoding="utf-8", errors="replace") for d in q.docs]
        # every gold article answers; every answer and key phrase is verbatim in one of them
        assert all(any(a in t for a in q.answers) for t in texts), q.id
        assert all(any(a in t for t in texts) for a in q.answers + q.contains), q.id
        assert (q.type == "explain") == bool(q.contains), q.id


# ---- several gold docs, explain and unanswerable-near questions ------------------------------------
def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


MIXED_SET = [
    {"id": "f1", "question": "Who founded the festival?", "answers": ["Edith Harrow"], "doc": "a.txt",
     "alt_docs": ["b.txt"], "type": "person", "phrasing": "article"},
    {"id": "f2", "question": "Where is it held?", "answers": ["Lowmoor"], "doc": ["a.txt", "c.txt"],
     "type": "place", "phrasing": "own-words"},
    {"id": "e1", "question": "Why did cheese get dearer?", "contains": ["cost of milk", "rising milk prices"],
     "doc": "a.txt", "type": "explain", "phrasing": "own-words"},
    {"id": "e2", "question": "Why was the festival cancelled?", "contains": ["drought"], "doc": "c.txt", "type": "explain"},
    {"id": "u1", "question": "How many visitors came in 2020?", "answers": [], "doc": None, "near": "a.txt",
     "type": "unanswerable", "phrasing": "article"},
]


def test_jsonl_doc_lists_alt_docs_contains_phrasing_and_near(tmp_path):
    rows = MIXED_SET + [{"id": "u2", "question": "q?", "answers": [], "doc": "a.txt", "alt_docs": ["b.txt"]}]
    qs = {q.id: q for q in load_questions(_write_jsonl(tmp_path / "m.jsonl", rows))}
    assert qs["f1"].docs == ("a.txt", "b.txt") and qs["f1"].doc == "a.txt"  # doc, then RGB's alt_docs
    assert qs["f2"].docs == ("a.txt", "c.txt")  # "doc" as a list
    assert (qs["f1"].type, qs["f1"].phrasing) == ("person", "article") and not qs["f1"].explain
    e1 = qs["e1"]
    assert e1.explain and e1.answerable and e1.answers == () and e1.contains == ("cost of milk", "rising milk prices")
    assert e1.docs == ("a.txt",)
    u1 = qs["u1"]
    assert not u1.answerable and u1.docs == () and u1.doc is None and u1.near == "a.txt"
    assert qs["u2"].docs == ()  # an unanswerable question has no gold docs, whatever its "doc" says
    assert qs["f2"].near is None


def test_bad_jsonl_record_is_a_value_error(tmp_path):
    f = _write_jsonl(tmp_path / "bad.jsonl", [{"id": "x", "answers": ["a"]}])  # no "question"
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        load_questions(f)


def test_a_passage_from_any_gold_doc_is_a_hit():
    hits = [("z.txt", "Edith Harrow founded it"), ("b.txt", "founded by Edith Harrow"), ("a.txt", "Edith Harrow")]
    assert M.first_hit_rank(hits, ("a.txt", "b.txt"), ["Edith Harrow"]) == 2  # b.txt is an alt doc
    assert M.first_hit_rank(hits, ("a.txt",), ["Edith Harrow"]) == 3
    assert M.first_hit_rank(hits, "b.txt", ["Edith Harrow"]) == 2  # one id as a string, not its characters
    assert not M.is_hit("b", "Edith Harrow", "b.txt", ["Edith Harrow"])
    assert M.is_hit("b.txt", "nothing", ("a.txt", "b.txt"), []) is True  # no answer strings: the doc decides
    assert M.is_hit("q.txt", "nothing", ("a.txt",), []) is False
    assert M.is_hit("q.txt", "nothing", (), []) is False
    assert M.gold_docs(None) == () and M.gold_docs("a") == ("a",) and M.gold_docs(["a", "b"]) == ("a", "b")


def test_answer_summary_keeps_factoid_f1_apart_from_explain():
    outs = [
        M.Outcome(type="person", answerable=True, declined=False, exact=1, f1=1.0, contains=True),
        M.Outcome(type="explain", answerable=True, explain=True, declined=False, exact=0, f1=0.1, contains=True),
        M.Outcome(type="explain", answerable=True, explain=True, declined=True, contains=False),
        M.Outcome(type="unanswerable", declined=True),
        M.Outcome(type="unanswerable", declined=False),
    ]
    a = M.answer_summary(outs)
    assert a["f1_factoid"] == 1.0 and a["exact_match_factoid"] == 1 and a["n_factoid"] == 1
    assert a["f1"] == pytest.approx(0.55)  # the overall field still averages every question with gold answers
    assert a["contains_explain"] == 0.5 and a["n_explain"] == 2
    assert a["contains"] == pytest.approx(2 / 3)
    assert a["squad_v2_f1"] == pytest.approx((1.0 + 0.1 + 1 + 0) / 4)
    ab = M.abstention_summary(outs)
    assert ab == {"declined_unanswerable": 0.5, "declined_answerable": pytest.approx(1 / 3)}


def test_breakdown_per_type_and_phrasing():
    outs = [
        M.Outcome(type="date", phrasing="article", answerable=True, rank=1, declined=False, exact=1, f1=1.0, contains=True),
        M.Outcome(type="date", phrasing="own-words", answerable=True, rank=7, declined=True, exact=0, f1=0.0, contains=False),
        M.Outcome(type="unanswerable", answerable=False, declined=True),
    ]
    by_type = M.breakdown(outs, "type")
    assert list(by_type) == ["date", "unanswerable"]
    d = by_type["date"]
    assert (d["n"], d["n_answerable"], d["f1"], d["exact_match"], d["contains"], d["declined"]) == (2, 2, 0.5, 0.5, 0.5, 0.5)
    assert d["recall@1"] == 0.5 and d["recall@5"] == 0.5
    u = by_type["unanswerable"]
    assert (u["n"], u["n_answerable"], u["declined"], u["f1"], u["recall@5"]) == (1, 0, 1.0, None, None)
    assert set(M.breakdown(outs, "phrasing")) == {"article", "own-words", "(none)"}
    assert M.breakdown([M.Outcome(), M.Outcome()], "phrasing") == {}


# ---- a scoring run over a fake QA (no models) ---------------------------------------------------
@dataclasses.dataclass
class FakeCitation:
    doc_id: str
    passage: str
    quote: str = ""


@dataclasses.dataclass
class FakeAnswer:
    text: str
    citations: list = dataclasses.field(default_factory=list)
    declined: bool = False
    short_answer: str = ""
    trace: Trace = dataclasses.field(default_factory=Trace)


@dataclasses.dataclass
class FakeHit:
    doc_id: str
    text: str


@dataclasses.dataclass
class FakeSettings:
    k: int = 5
    generator: str = "fake-gen"


class FakeStore:
    def __init__(self, path: Path, hashes: dict[str, str] | None = None):
        self.path = path
        self.hashes = hashes or {d: d for d in ("a.txt", "b.txt", "c.txt", "q.txt", "x.txt", "z.txt")}

    def content_hashes(self) -> dict[str, str]:
        return self.hashes

    def stats(self) -> dict:
        return {"documents": 3, "chunks": 3, "embedder": "fake-embedder"}


DECLINED = FakeAnswer(DECLINE_TEXT, declined=True)


class FakeQA:
    """Canned retrieval (the same list at every stage) and answers, by question."""

    def __init__(self, path: Path):
        self.store, self.settings = FakeStore(path), FakeSettings()
        q = {r["id"]: r["question"] for r in MIXED_SET}
        self.hits = {
            q["f1"]: [FakeHit("z.txt", "Edith Harrow"), FakeHit("b.txt", "founded by Edith Harrow")],  # alt doc: rank 2
            q["f2"]: [FakeHit("c.txt", "It is held in Lowmoor.")],  # second doc of the list: rank 1
            q["e1"]: [FakeHit("q.txt", "milk"), FakeHit("a.txt", "Prices went up.")],  # doc-level: rank 2
            q["e2"]: [FakeHit("x.txt", "a drought")],  # never its doc
            q["u1"]: [FakeHit("a.txt", "visitors")],
        }
        self.answers = {
            q["f1"]: FakeAnswer("It was Edith Harrow [1].", short_answer="Edith Harrow",
                                citations=[FakeCitation("b.txt", "founded by Edith Harrow", "founded by Edith Harrow"), FakeCitation("z.txt", "Edith Harrow")]),
            q["f2"]: FakeAnswer("In Lowmoor town [1].", short_answer="Lowmoor town", citations=[FakeCitation("c.txt", "held in Lowmoor")]),
            # the [2] marker splits the phrase: contains must read the text without markers
            q["e1"]: FakeAnswer("Prices rose because of the cost of [2] milk.", citations=[FakeCitation("a.txt", "Prices went up.")]),
            q["e2"]: DECLINED,
            q["u1"]: DECLINED,
        }

    def read(self, question: str, history=None):
        return question  # no follow-ups here

    def retrieve_stages(self, question: str, depth: int = 10) -> dict:
        hs = self.hits[question][:depth]
        return {"dense": hs, "lexical": hs, "fused": hs, "reranked": hs}

    def ask(self, question: str) -> FakeAnswer:
        return self.answers[question]


def _mixed_report(tmp_path) -> dict:
    from eval.run import run_eval

    f = _write_jsonl(tmp_path / "mixed.jsonl", MIXED_SET)
    return run_eval(tmp_path, f, qa=FakeQA(tmp_path), show_progress=False)


def test_run_scores_gold_doc_lists_explain_and_types(tmp_path):
    rep = _mixed_report(tmp_path)
    assert (rep["n_questions"], rep["n_answerable"], rep["n_unanswerable"]) == (5, 4, 1)
    r = rep["retrieval"]
    assert r["recall@1"] == pytest.approx(1 / 4) and r["recall@5"] == pytest.approx(3 / 4)
    a = rep["answer"]
    assert a["exact_match"] == 0.5 and a["f1"] == pytest.approx((1 + 2 / 3) / 2)
    assert a["f1_factoid"] == pytest.approx((1 + 2 / 3) / 2) and a["n_factoid"] == 2
    assert a["contains_explain"] == 0.5 and a["n_explain"] == 2 and a["contains"] == 0.75
    assert rep["abstention"] == {"declined_unanswerable": 1.0, "declined_answerable": 0.25}
    # cited b.txt (alt doc, has the answer) yes, z.txt no, c.txt (second doc) yes, a.txt for explain e1 yes
    assert rep["citations"]["precision"] == 0.75 and rep["citations"]["n_citations_scored"] == 4
    bt = rep["by_type"]
    assert set(bt) == {"person", "place", "explain", "unanswerable"}
    assert bt["explain"]["contains"] == 0.5 and bt["explain"]["declined"] == 0.5 and bt["explain"]["f1"] is None
    assert bt["place"]["f1"] == pytest.approx(2 / 3) and bt["person"]["exact_match"] == 1
    bp = rep["by_phrasing"]
    assert set(bp) == {"article", "own-words", "(none)"}
    assert bp["article"]["n"] == 2 and bp["article"]["declined"] == 0.5 and bp["own-words"]["contains"] == 1.0


def test_run_per_question_rows_and_metadata(tmp_path):
    rep = _mixed_report(tmp_path)
    rows = {row["id"]: row for row in rep["per_question"]}
    assert rows["f1"]["docs"] == ["a.txt", "b.txt"] and rows["f1"]["citations_ok"] == [True, False]
    assert rows["f1"]["retrieval_rank"]["final"] == 2 and rows["e2"]["retrieval_rank"]["final"] is None
    assert rows["e1"]["contains"] is True and "f1" not in rows["e1"] and rows["e1"]["type"] == "explain"
    assert rows["u1"]["near"] == "a.txt" and rows["u1"]["retrieval_rank"] == {} and rows["u1"]["declined"]
    assert "near" not in rows["f1"]
    assert rows["f1"]["quotes"] == ["founded by Edith Harrow", ""] and rows["u1"]["quotes"] == []  # the cited sentences
    m = rep["machine"]
    assert set(m) == {"cpu", "cores", "vector_extensions"} and m["cores"] >= 1
    assert set(m["vector_extensions"]) <= {"avx2", "avx512f", "avx512_vnni"}
    assert rep["created_at"][:2] == "20"


def test_a_byte_identical_copy_of_a_gold_doc_counts_as_gold(tmp_path):
    from eval.data import with_copies
    from eval.run import run_eval

    q = Question(id="q", question="?", answers=("x",), docs=("a.txt", "b.txt"))
    u = Question(id="u", question="?")
    hashes = {"a.txt": "h1", "b.txt": "h2", "z.txt": "h1", "y.txt": "h1", "c.txt": "h3"}
    assert with_copies([q, u], hashes) == [dataclasses.replace(q, docs=("a.txt", "b.txt", "y.txt", "z.txt")), u]
    assert with_copies([q], {"a.txt": "h1"}) == [q]  # no copy: the question as it was
    qa = FakeQA(tmp_path)
    qa.store = FakeStore(tmp_path, dict(hashes))  # z.txt: the same article as f1's a.txt
    rep = run_eval(tmp_path, _write_jsonl(tmp_path / "mixed.jsonl", MIXED_SET), qa=qa, show_progress=False)
    rows = {row["id"]: row for row in rep["per_question"]}
    assert rows["f1"]["docs"] == ["a.txt", "b.txt", "y.txt", "z.txt"]
    assert rows["f1"]["citations_ok"] == [True, True] and rows["f1"]["retrieval_rank"]["final"] == 1
    assert rows["e2"]["docs"] == ["c.txt"] and rows["u1"]["docs"] == []


def test_printed_table_shows_factoid_explain_and_groups(tmp_path):
    from eval.run import format_table

    text = format_table(_mixed_report(tmp_path))
    assert "factoid     EM 0.500  F1 0.833  (2 questions)" in text
    assert "explain     contains 0.500  (2 questions)" in text
    type_rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.startswith(("explain ", "place "))}
    assert type_rows["place"][:3] == ["1", "1.000", "0.667"]  # n, R@5, F1
    assert type_rows["explain"][-2:] == ["0.500", "0.500"]  # contains, declined
    assert "own-words" in text and "(none)" in text


# ---- machine metadata ------------------------------------------------------------------------
CPUINFO = """processor\t: 0
model name\t: Intel(R) Xeon(R)   Platinum 8480C
flags\t\t: fpu sse2 avx avx2 avx512f avx512bw avx512_vnni
processor\t: 1
model name\t: something else
flags\t\t: fpu
"""


def test_machine_from_cpuinfo(tmp_path):
    from eval.machine import machine_info, parse_cpuinfo

    m = parse_cpuinfo(CPUINFO)
    assert m.cpu == "Intel(R) Xeon(R) Platinum 8480C" and m.vector_extensions == ["avx2", "avx512f", "avx512_vnni"]
    assert parse_cpuinfo("model name : AMD EPYC\nflags : sse avx2\n").vector_extensions == ["avx2"]
    f = tmp_path / "cpuinfo"
    f.write_text(CPUINFO)
    assert machine_info(f).cpu.endswith("8480C") and machine_info(f).cores >= 1
    assert machine_info(tmp_path / "missing").vector_extensions == []


# ---- markdown tables from reports ---------------------------------------------------------------
def _table_cells(md: str, first: str) -> list[list[str]]:
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in md.splitlines() if line.startswith("|")]
    return [r for r in rows if r[0] == first]


def test_table_from_reports(tmp_path, capsys):
    from eval.run import write_report
    from eval.table import HEADLINE_COLUMNS, main

    new = _mixed_report(tmp_path)
    new["machine"] = {"cpu": "Xeon X", "cores": 2, "vector_extensions": ["avx2", "avx512f"]}
    new["created_at"] = "2025-01-02T03:04:05"
    old = {  # a report written before factoid/explain figures, machine and date were recorded
        "n_questions": 45, "retrieval": {"recall@1": 0.5, "recall@5": 0.9},
        "answer": {"f1": 0.671, "exact_match": 0.5}, "abstention": {"declined_answerable": 0.1, "declined_unanswerable": 0.6},
        "citations": {"precision": 0.9}, "latency_s": {"p50": 1.25}, "config": {"generator": "gemma"},
    }
    paths = [write_report(old, tmp_path / "news-old.json"), write_report(new, tmp_path / "mixed.json")]
    assert main([str(p) for p in paths]) == 0
    md = capsys.readouterr().out
    assert md.startswith("# Evaluation figures") and "do not edit by hand" in md
    header = _table_cells(md, "set")[0]
    assert header == HEADLINE_COLUMNS
    o = _table_cells(md, "news-old")[0]
    col = dict(zip(header, o))
    assert (col["questions"], col["F1 factoid"], col["EM factoid"], col["p50 latency (s)"]) == ("45", "0.671", "0.500", "1.250")
    assert (col["contains explain"], col["date"], col["CPU"], col["generator"]) == ("-", "-", "-", "gemma")
    (n,) = _table_cells(md, "mixed")[:1]
    col = dict(zip(header, n))
    assert (col["F1 factoid"], col["contains explain"], col["cit. precision"]) == ("0.833", "0.500", "0.750")
    assert (col["date"], col["CPU"], col["generator"]) == ("2025-01-02", "Xeon X (avx2, avx512f)", "fake-gen")
    groups = {r[1]: r for r in _table_cells(md.split("## Sets")[0], "mixed")[1:]}
    assert {"type: explain", "type: place", "phrasing: own-words"} <= set(groups)
    assert groups["type: place"][2:6] == ["1", "1", "1.000", "0.667"]  # questions, answerable, R@5, F1
    sets = md.split("## Sets", 1)[1]
    (s_new,) = _table_cells(sets, "mixed")
    assert s_new[2].endswith("mixed.jsonl") and s_new[4:] == ["4", "1", "no"]  # questions file, answerable, ...


def test_table_refuses_what_is_not_a_report(tmp_path, capsys):
    from eval.table import main

    bad = tmp_path / "bench.json"
    bad.write_text('{"throughput": 3}')
    assert main([str(bad)]) == 2 and "not an eval report" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.json")]) == 2
    capsys.readouterr()
    assert main([]) == 0 and "No reports yet" in capsys.readouterr().out  # make docs-tables before make eval


def test_make_eval_runs_every_set_and_docs_tables_uses_the_generator():
    text = (REPO / "Makefile").read_text()
    recipe = text.split("\neval:", 1)[1].split("\n\n", 1)[0]
    runs = [line.split() for line in recipe.splitlines() if "-m eval" in line]
    qs = {line[line.index("--questions") + 1] for line in runs}
    ours = {f"eval/questions/{p.name}" for p in (REPO / "eval" / "questions").glob("*.jsonl")}  # every committed set
    assert {"eval/questions/news_users.jsonl", "eval/questions/news_open.jsonl"} <= ours
    assert qs == ours | {
        "../shared/data/news/dev_qa.jsonl", "../shared/data/rgb_en_fact/questions.jsonl", "../shared/data/squad/dev-v2.0.json",
    }
    outs = [line[line.index("--out") + 1] for line in runs]
    assert len(set(outs)) == len(outs) and all(o.startswith("eval/reports/") and o.endswith(".json") for o in outs)
    assert ["--limit", "2000"] == [t for t in runs[-1] if t in ("--limit", "2000")]
    assert "../shared/data/rgb_en_fact/corpus" in recipe
    assert "-m eval.table $(wildcard eval/reports/*.json)" in text.split("\ndocs-tables:", 1)[1].split("\n\n", 1)[0]


# ---- RGB (shared data) ---------------------------------------------------------------------------
RGB = REPO.parent / "shared" / "data" / "rgb_en_fact"


def test_rgb_gold_docs_are_the_indexed_doc_ids():
    if not (RGB / "questions.jsonl").exists():
        pytest.skip("RGB set not present")
    from index.loaders import load_paths

    qs = load_questions(RGB / "questions.jsonl")
    assert len(qs) == 99 and sum(q.answerable for q in qs) == 74
    q1 = next(q for q in qs if q.id == "rgb-fact-001")
    assert q1.docs == ("p0123.txt", "p0661.txt", "p0664.txt", "p0831.txt") and q1.type == "entity"
    # the ids the index gives a folder corpus: paths relative to the folder (news: "bbc/sport/014.txt")
    indexed = {d.doc_id for d in load_paths([RGB / "corpus"]) if hasattr(d, "doc_id")}
    assert len(indexed) == 832
    assert {d for q in qs for d in q.docs} <= indexed
    assert sum(len(q.docs) for q in qs) == 74 + 215  # doc + alt_docs, as the README counts them
    assert all(not q.docs for q in qs if not q.answerable)


def test_explain_question_with_a_reference_answer_scores_contains_on_its_phrases():
    from eval.run import score_answer

    q = Question(id="e", question="Why?", answers=("The main reason is that the domestic economy is still weak.",),
                 docs=("a.txt",), type="explain", contains=("domestic economy", "still weak"))
    o = M.Outcome(type=q.type, answerable=True, explain=True)
    row = score_answer(q, FakeAnswer("Demand at home is still [1] weak.", citations=[FakeCitation("a.txt", "x")]), 0.5, o)
    assert o.contains is True and row["contains"] is True  # a phrase, not the whole reference answer
    assert o.f1 is not None and 0 < o.f1 < 1 and o.exact == 0  # F1 against the reference (overall f1 only)
    assert o.citations_ok == [False]  # a cited passage must hold the reference answer, as in retrieval
    a = M.answer_summary([o])
    assert a["f1_factoid"] is None and a["f1"] == o.f1 and a["contains_explain"] == 1.0
    o2 = M.Outcome(answerable=True, explain=True)
    score_answer(q, FakeAnswer("The economy grew.", citations=[]), 0.5, o2)
    assert o2.contains is False and o2.cited is False


def test_retype_changes_only_how_each_question_is_typed(tmp_path):
    from eval.data import retyped

    src = tmp_path / "q.jsonl"
    src.write_text(json.dumps({"id": "q1", "question": "Who bought Instagram?", "answers": ["Facebook"], "doc": "d"}) + "\n")
    q0 = load_questions(src)[0]
    for how, typed in [("lower", "who bought instagram?"), ("capitals", "WHO BOUGHT INSTAGRAM?"),
                       ("request", "Can you tell me who bought Instagram?"), ("typos", "Who bought Instegram?")]:
        [q] = retyped([q0], how)
        assert q == dataclasses.replace(q0, question=typed)
    assert retyped([q0], None) == [q0]
    # a slip of the keys in the longest name, never its first or last letter; a doubled letter typed once
    from eval.data import misspelt
    assert misspelt("Why did Ericsson shares fall?") == "Why did Ericson shares fall?"
    assert misspelt("Which club did Middlesbrough beat?") == "Which club did Midlesbrough beat?"
    assert misspelt("Who won?") == "Who won?"  # no word long enough
    # chatty: a greeting, a sentence before or thanks after (one by a hash of the question); a
    # question word in lower case after a comma
    from eval.data import CHATTY, chatty
    for q in ("Who bought Instagram?", "Ericsson's profits: did they rise?", "Why did Ericsson shares fall?",
              "How many jobs is ABN Amro cutting?", "When does the Mac mini go on sale?"):
        c = chatty(q)
        assert c == chatty(q) and c.lower() in {(b + q + a).lower() for b, a in CHATTY}
        assert not c.startswith("Hi, ") or c == "Hi, " + (q[:1].lower() + q[1:] if q.split()[0] in ("Who", "Why", "How", "When") else q)
    assert len({chatty(q) for q in ("a?", "b?", "c?", "d?", "e?", "f?", "g?", "h?")}) > 2
    with pytest.raises(ValueError):
        retyped([q0], "shouting")
