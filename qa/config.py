"""Answering settings: every weight, depth and threshold lives here, not buried in code."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace

from index.records import Filters  # noqa: F401 - plain data owned by the index (the store makes the query); re-exported

from .generators.factory import DEFAULT_GENERATOR


@dataclass(frozen=True)
class Settings:
    k: int = 5  # passages given to the answerer / shown as sources
    dense_depth: int = 50  # candidates from FAISS
    lexical_depth: int = 50  # candidates from BM25
    rrf_k: int = 60  # reciprocal rank fusion constant
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    rerank: bool = True
    rerank_depth: int = 30  # fused candidates the reranker rescores
    rerank_dense: float = 1.0  # reranker weights: cosine similarity of question and chunk,
    rerank_terms: float = 0.5  # share of question terms (names/numbers double) in the chunk,
    rerank_rrf: float = 0.2  # the normalised fused score,
    rerank_lexical: float = 0.3  # and the BM25 score relative to the best candidate's
    rerank_sentence: float = 1.0  # then the top `sentence_depth` add their best sentence's score
    sentence_depth: int = 5  # (cosine + rerank_terms x term coverage of that one sentence)
    sentence_dense: int = 2  # the dense stage's own top this many are rescored so too (a chunk only it ranks high)
    generator: str = os.environ.get("QA_GENERATOR", DEFAULT_GENERATOR)  # the local reader (qa.generators)
    prompt_style: str = "auto"  # "chat" (the model's chat template) if it has one, else "completion" (four examples)
    evidence: str = "chunk"  # "chunk": the best chunk(s) whole; "sentences": best sentences of the top k
    read_passages: int = 1  # chunks the model reads ("chunk" evidence)
    max_new_tokens: int = 24  # a factoid answer is a short span
    explain_new_tokens: int = 64  # an explanation is one or two sentences
    answer_seconds: float = 20.0  # generation stops here, whatever the input: no request holds the model longer
    context_tokens: int = 900  # generator tokens of evidence in the prompt
    min_relevance: float = 1.0  # decline without calling the model below this relevance of the best passage (reranker score)
    min_support: float = 0.3  # decline below this match (token F1) of the answer to its best evidence span
    check_negation: bool = True  # decline a negated question whose supporting sentence is not negated
    check_names: bool = True  # decline when the evidence never mentions a name or number of the question
    max_unanswerable: float = 1.01  # decline when the model gives "unanswerable" at least this probability (>1: only when it says it)
    min_explain_support: float = 0.5  # an explanation sentence is kept when an evidence sentence holds this share of its content words
    reread_after: tuple[str, ...] = ()  # decline rules after which the next chunk is read, once
    explain_add_best: bool = True  # an explanation of one grounded sentence gets the evidence sentence that best answers the question as its second
    explain_sentences: int = 2  # at most this many evidence sentences in an explanation
    max_question_chars: int = 2000  # a longer question is refused before any work: every step's cost grows with it
    max_question_tokens: int = 512  # so is one longer in the reader's tokens (digits, rare scripts): the evidence needs the room
    max_history_turns: int = 20  # only the last turns of a chat are kept (a follow-up leans on the latest one)
    max_history_chars: int = 1000  # each kept history message is cut to this many characters (not an error)
    filters: Filters = field(default_factory=Filters)

    def with_(self, **kw) -> "Settings":
        names = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in kw.items() if k in names and v is not None})
