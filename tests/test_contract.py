"""The one contract between `qa` and `index`: filters are data the store turns into its query,
chunks come back as records; the answer-text conventions (decline, [n] markers) are defined once."""
from __future__ import annotations

import pytest

import eval.metrics as M
import qa
import qa.citations
import qa.config
from index import Document, IndexStore
from index.records import Filters
from qa.history import standalone_question
from qa.text import DECLINE_TEXT, is_decline, strip_markers

DOCS = [
    Document("bbc/politics/1.txt", "Council tax rises", "Council tax rises\n\nThe council raised tax by 4% to pay for schools.",
             source="politics", date="2005-01-20"),
    Document("bbc/business/2.txt", "Council sells offices", "Council sells offices\n\nThe council sold its offices to a developer.",
             source="business", date="2005-03-15"),
]


@pytest.fixture(scope="module")
def answerer(tmp_path_factory, any_embedder):
    store = IndexStore(tmp_path_factory.mktemp("contract") / "idx", embedder=any_embedder)
    store.add_documents(DOCS)
    yield qa.QA(store=store)
    store.close()


def test_one_filters_type_everywhere():
    assert qa.Filters is qa.config.Filters is Filters
    assert Filters().empty() and Filters(title="  ").empty() is False
    with pytest.raises(AttributeError):  # plain frozen data
        Filters().source = "x"


def test_the_retriever_hands_its_filters_to_the_store(answerer):
    for filters, expected in (
        (Filters(), {"bbc/politics/1.txt", "bbc/business/2.txt"}),
        (Filters(source="business"), {"bbc/business/2.txt"}),
        (Filters(date_to="2005-01"), {"bbc/politics/1.txt"}),
        (Filters(title="offices"), {"bbc/business/2.txt"}),
    ):
        stages = answerer.retrieve_stages("What did the council do?", filters=filters)
        for name, hits in stages.items():
            assert {h.doc_id for h in hits} == expected, (filters, name)
        hit = stages["reranked"][0]  # fields copied from the store's ChunkRecord
        doc = next(d for d in DOCS if d.doc_id == hit.doc_id)
        assert (hit.title, hit.source, hit.date) == (doc.title, doc.source, doc.date)
        assert hit.text == doc.text[hit.start : hit.end]
    with pytest.raises(ValueError, match="date_from must be an ISO date"):
        answerer.retrieve("What did the council do?", filters=Filters(date_from="15.03.2005"))


def test_one_strip_markers_for_answerer_history_and_scorer():
    assert M.strip_markers is qa.citations.strip_markers is strip_markers
    assert strip_markers("Prices rose [1, 2] after the drought [3].") == "Prices rose after the drought."
    assert strip_markers("Theresa May [1] [2]") == "Theresa May"
    assert strip_markers("Ranges [1-3] and lists [2; 4] go,\n too [12]") == "Ranges and lists go, too"
    assert strip_markers("In [2005] it rose [1].") == "In it rose."  # a bracketed number is a marker, whatever it holds
    assert strip_markers("no markers here ") == "no markers here" and strip_markers(None) == ""


def test_follow_up_rewrite_drops_every_marker_form_and_the_decline():
    assert standalone_question("and when?", [("Who cut jobs?", "ABN Amro [1, 2] cut them [3].")]) == "and when? (Who cut jobs? ABN Amro)"  # the answer's names, no markers
    assert standalone_question("and when?", [("Who cut jobs?", DECLINE_TEXT)]) == "and when? (Who cut jobs?)"
    assert is_decline(DECLINE_TEXT) and is_decline(" " + DECLINE_TEXT + " [1]") and not is_decline("The indexed articles say no.")
    assert qa.DECLINE_TEXT is DECLINE_TEXT
