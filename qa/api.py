"""The Python API: QA(index_dir).ask(question, history) -> Answer, and a streaming form."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Iterator

from index import IndexStore, default_index_dir, open_index

from .answerable import missing_names, negation_unsupported, repeats_the_question, span_lost_the_answer
from .citations import find_support, make_citation
from .config import Settings
from .evidence import Passage, reading_passages, select_evidence
from .generator import make_generator
from .history import standalone_question
from .prompt import build_prompt
from .records import Answer, Hit
from .retriever import Retriever

DECLINE_TEXT = "The indexed articles don't say."


class QA:
    def __init__(self, index_dir: str | Path | None = None, settings: Settings | None = None, store: IndexStore | None = None):
        self.store = store or open_index(index_dir or default_index_dir(), create=False)
        self.settings = settings or Settings()
        self.retriever = Retriever(self.store)

    def _articles(self, passages: list[Passage]) -> str:
        """The whole articles the passages come from."""
        return " ".join(d.text for d in map(self.store.document, {p.hit.doc_id for p in passages}) if d)

    # ---- retrieval -------------------------------------------------------------------------
    def retrieve(self, question: str, **overrides) -> list[Hit]:
        return self.retriever.retrieve(question, self.settings.with_(**overrides))

    def retrieve_stages(self, question: str, depth: int = 10, **overrides) -> dict[str, list[Hit]]:
        return self.retriever.stages(question, self.settings.with_(**overrides), depth=depth)

    # ---- answering -------------------------------------------------------------------------
    def ask(self, question: str, history: list[tuple[str, str]] | None = None, **overrides) -> Answer:
        answer = None
        for item in self.ask_stream(question, history, **overrides):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def ask_stream(self, question: str, history: list[tuple[str, str]] | None = None, **overrides) -> Iterator[str | Answer]:
        """Yield text deltas as the model generates, then the final, grounded Answer."""
        t0 = time.time()
        s = self.settings.with_(**overrides)
        q = (question or "").strip()
        if not q:
            raise ValueError("empty question")
        standalone = standalone_question(q, history)

        diag: dict = {}

        def declined(hits: list[Hit], reason: str) -> Answer:
            diag["declined_because"] = reason
            return Answer(
                text=DECLINE_TEXT, declined=True, question=q, standalone_question=standalone, hits=hits,
                seconds=time.time() - t0, diagnostics=diag,
            )

        hits = self.retriever.retrieve(standalone, s)
        # relevance of the best passage: the reranker's score (cosine, question-term coverage, fusion
        # and BM25, plus the best sentence's score for the top few),
        # or the cosine similarity when reranking is off
        best = max(((h.rerank if h.rerank is not None else h.dense) or 0.0 for h in hits), default=0.0)
        diag["relevance"] = round(best, 4)
        if not hits or best < s.min_relevance:
            yield declined(hits, "no relevant passage")  # the model is not called
            return
        gen = make_generator(s.generator)
        overhead = gen.count_tokens(build_prompt("completion", standalone, [])) + 16  # examples + question
        budget = max(64, min(s.context_tokens, gen.context_length - s.max_new_tokens - overhead))
        if s.evidence == "sentences":
            passages = select_evidence(standalone, hits, self.store.embedder.encode, gen.count_tokens, budget)
        else:
            passages = reading_passages(standalone, hits, self.store.embedder.encode, gen.count_tokens, budget, s.read_passages)
        if not passages:
            yield declined(hits, "no usable evidence")
            return
        if s.check_names:  # before the model is called: nothing it says could change this
            text = " ".join(f"{p.hit.title} {p.text}" for p in passages)
            missing = missing_names(standalone, text, lambda: self._articles(passages))
            if missing:
                diag["missing"] = missing
                yield declined(hits, "the passage found never mentions " + ", ".join(missing))
                return
        prompt = build_prompt(s.prompt_style, standalone, passages, gen.tokenizer)
        raw = ""
        gstats: dict = {}
        copy = None
        if s.decoding == "copy":
            copy = [" ".join(x.text.split()) for p in passages for x in p.sentences]
        for delta in gen.stream(prompt, s.max_new_tokens, copy_from=copy, stats=gstats):
            raw += delta
            yield delta
        support = find_support(raw, passages)
        if support and support.score >= s.min_support and repeats_the_question(standalone, support.span):
            # an answer that only repeats the question ("Chelsea" for "Which team did Chelsea beat?"):
            # ask once more with that first token ruled out (about 6% of answered SQuAD questions)
            diag["repeated"] = raw.strip()
            first, gstats = gstats["first"], {}  # a supported answer has at least one token
            raw = "".join(gen.stream(prompt, s.max_new_tokens, copy_from=copy, stats=gstats, ban_first={first}))
            support = find_support(raw, passages)
        lps = gstats.get("logprobs") or [0.0]
        diag.update(
            raw=raw.strip(), confidence=round(sum(lps) / len(lps), 4), first_logprob=round(lps[0], 4),
            support=round(support.score, 4) if support else 0.0,
        )
        if support is None or support.score < s.min_support:
            yield declined(hits, "answer not supported by the evidence")
            return
        if span_lost_the_answer(raw, support.span):
            yield declined(hits, "the evidence span does not say what the answer said")
            return
        if s.check_negation and negation_unsupported(standalone, support.sentence.text):
            yield declined(hits, "the question is negated and the evidence is not")
            return
        if diag["confidence"] < s.min_confidence:
            yield declined(hits, "model not confident")
            return
        cit = make_citation(1, support)
        yield Answer(
            text=f"{support.span} [1]", citations=[cit], declined=False, question=q, standalone_question=standalone,
            short_answer=support.span, hits=hits, seconds=time.time() - t0, diagnostics=diag,
        )


_DEFAULT: QA | None = None
_DEFAULT_LOCK = threading.Lock()


def default_qa() -> QA:
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            from index import ensure_default_index

            _DEFAULT = QA(store=ensure_default_index())
        return _DEFAULT


def ask(question: str, history: list[tuple[str, str]] | None = None, **overrides) -> Answer:
    return default_qa().ask(question, history, **overrides)


def ask_stream(question: str, history: list[tuple[str, str]] | None = None, **overrides) -> Iterator[str | Answer]:
    return default_qa().ask_stream(question, history, **overrides)
