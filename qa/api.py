"""The Python API: QA(index_dir).ask(question, history) -> Answer, and a streaming form.

An answer goes through six stages, each a method below: retrieve -> gate -> evidence -> read ->
ground -> verify. The gate and verify stages apply the decline rules of `qa.rules`; every stage
writes what it saw into the answer's `Trace`.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from index import IndexStore, default_index_dir, open_index

from .answer_type import asks_yes_or_no, without_courtesy
from .answerable import repeats_the_question
from .citations import Support, best_sentences, find_support, ground_sentences, make_citation
from .config import Settings
from .evidence import Passage, clean_sentences, read_on, reading_passages, select_evidence
from .generator import make_generator
from .history import FollowUp, follow_up_of, rewritten
from .prompt import UNANSWERABLE, asks_gist, build_prompt, question_kind, resolve_style
from .records import Answer, Hit
from .retriever import MemoEncoder, Retriever, names_said, term_coverage, words_said
from .rules import GATE, VERIFY, Decline, Turn, first_decline, p_starts_with
from .text import DECLINE_TEXT, as_read, later_sentences_as_written, respellings, spelt_as, with_capitals
from .validate import check_input

PROMPT_SLACK_TOKENS = 16  # the prompt's tokens beyond the passage-less prompt counted: passage tags and numbers
SETTLE_TOKENS = 4  # a yes/no question's reply is read for its first word only ("unanswerable" or not)


@dataclass(frozen=True)
class Reading:
    """A question as checked, and as retrieved and read with."""

    question: str  # as typed, checked (check_input)
    standalone: str  # read without greeting or thanks, with the articles' spelling and capitals, a follow-up rewritten from its history
    respelt: dict[str, str]  # the words read otherwise than typed: {"Ericson": "Ericsson"}
    follow_up: FollowUp | None  # a follow-up as read, with the turn it leans on (None for any other question)

    @property
    def focus(self) -> str | None:
        """What chooses the chunk within the story retrieval finds: a follow-up as asked."""
        return self.follow_up.asked if self.follow_up else None


def _checked(question: str, history: list[tuple[str, str]] | None, s: Settings, store: IndexStore) -> Reading:
    """The question read as `ask` reads it; BadQuestion before any work."""
    q, history = check_input(question, history, s)
    read, fixes = as_read(without_courtesy(q)), {}
    if s.respell:
        known = lambda w: store.embedder.count_tokens(w.lower()) == 1  # noqa: E731 - the tokenizer holds a word of the language whole
        fixes = respellings(read, store.word_cases, known, s.capitalised_share, s.capitalised_least, s.respell_chars)
        read = spelt_as(read, fixes)
    if s.read_capitals:
        read = with_capitals(read, store.word_cases, s.capitalised_share, s.capitalised_least)
        read = later_sentences_as_written(read, store.word_cases, s.capitalised_share, s.capitalised_least)
    follow_up = follow_up_of(read, history, s)
    return Reading(question=q, standalone=rewritten(follow_up, s) if follow_up else read.strip(), respelt=fixes, follow_up=follow_up)


class QA:
    def __init__(self, index_dir: str | Path | None = None, settings: Settings | None = None, store: IndexStore | None = None):
        self.store = store or open_index(index_dir or default_index_dir(), create=False)
        self.settings = settings or Settings()
        self.retriever = Retriever(self.store)

    def _articles(self, passages: list[Passage]) -> str:
        """The whole articles the passages come from."""
        return " ".join(d.text for d in map(self.store.document, {p.hit.doc_id for p in passages}) if d)

    def load_models(self) -> None:
        """Load now what answering uses (the index's embedder and vectors, the reranker's second
        embedder, the reader), so that the first question does not wait for them."""
        self.store.embedder, self.store.vectors  # noqa: B018 - loaded on first use
        self.retriever.second_embedder(self.settings)
        make_generator(self.settings.generator)
        if self.settings.second_reader:
            make_generator(self.settings.second_reader)

    # ---- retrieval -------------------------------------------------------------------------
    def retrieve(self, question: str, **overrides) -> list[Hit]:
        return self.retriever.retrieve(question, self.settings.with_(**overrides))

    def retrieve_stages(self, question: str | Reading, depth: int = 10, **overrides) -> dict[str, list[Hit]]:
        """The ranked hits of every stage for a question as given, or for a Reading (`read`) as
        `ask` retrieves it: a follow-up's own words choosing the chunk within its story."""
        s = self.settings.with_(**overrides)
        if isinstance(question, Reading):
            return self.retriever.stages(question.standalone, s, depth=depth, focus=question.focus)
        return self.retriever.stages(question, s, depth=depth)

    # ---- answering -------------------------------------------------------------------------
    def ask(self, question: str, history: list[tuple[str, str]] | None = None, **overrides) -> Answer:
        answer = None
        for item in self.ask_stream(question, history, **overrides):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def read(self, question: str, history: list[tuple[str, str]] | None = None, **overrides) -> Reading:
        """The question as `ask` reads it (checked, without a greeting or thanks around it, spelt as
        the articles spell it, a follow-up rewritten from its history, bounded as `ask` bounds it).
        BadQuestion as `ask` raises it."""
        return _checked(question, history, self.settings.with_(**overrides), self.store)

    def standalone(self, question: str, history: list[tuple[str, str]] | None = None, **overrides) -> str:
        """The question `ask` retrieves and reads with: a follow-up rewritten from its history, any
        other question as it is."""
        return self.read(question, history, **overrides).standalone

    def ask_stream(self, question: str, history: list[tuple[str, str]] | None = None, **overrides) -> Iterator[str | Answer]:
        """Yield text deltas as the model generates, then the final, grounded Answer."""
        t0 = time.time()
        s = self.settings.with_(**overrides)
        reading = _checked(question, history, s, self.store)  # BadQuestion (a ValueError) before any work
        q = reading.question
        turn = Turn(question=q, standalone=reading.standalone, settings=s, articles=self._articles,
                    encode=MemoEncoder(self.store.embedder.encode), follow_up=reading.follow_up)
        turn.trace.kind, turn.trace.respelt = question_kind(q), reading.respelt
        turn.settles = turn.trace.kind == "explain" and s.yes_no_best and asks_yes_or_no(q)
        self._retrieve(turn)
        gen = make_generator(s.generator)
        self._evidence(turn, gen)
        decline = first_decline(GATE, turn)  # the model is not called
        if decline is None:
            deltas = self._read(turn, gen)
            if turn.settles:  # the reply of a yes/no question is not its answer: not shown
                for _ in deltas:
                    pass
            else:
                yield from deltas
            self._ground(turn, gen)
            decline = first_decline(VERIFY, turn)
            if decline is None:
                self._lead(turn)
        turn.trace.seconds["total"] = round(time.time() - t0, 3)
        yield self._declined(turn, decline) if decline else self._answer(turn)

    # ---- the stages ------------------------------------------------------------------------
    def _retrieve(self, turn: Turn) -> None:
        t = time.time()
        focus = turn.follow_up.asked if turn.follow_up else None
        turn.hits = self.retriever.retrieve(turn.standalone, turn.settings, encode=turn.encode, focus=focus)
        # relevance of the best passage: the reranker's score (cosine, question-term coverage,
        # fusion and BM25, plus the best sentence's score for the top few), or the cosine
        # similarity when reranking is off
        # (less the second embedder's part: min_relevance was measured without it)
        w = turn.settings.rerank_model_weight
        best = max(((h.rerank - w * (h.model or 0.0) if h.rerank is not None else h.dense) or 0.0 for h in turn.hits), default=0.0)
        turn.trace.relevance = round(best, 4)
        turn.trace.seconds["retrieve"] = round(time.time() - t, 3)

    def _evidence(self, turn: Turn, gen) -> None:
        s = turn.settings
        if not turn.hits or turn.trace.relevance < s.min_relevance:
            return
        # what the prompt costs without passages (instructions or examples, the question), and the answer
        overhead = gen.count_tokens(self._prompt(turn, gen, [])) + PROMPT_SLACK_TOKENS
        room = gen.context_length - max(s.max_new_tokens, s.explain_new_tokens) - overhead
        budget = max(s.min_context_tokens, min(s.context_tokens, room))
        pick = select_evidence if s.evidence == "sentences" else reading_passages
        turn.budget = budget
        turn.passages = pick(turn.standalone, turn.hits, turn.encode, gen.count_tokens, budget, s)

    @staticmethod
    def _prompt(turn: Turn, gen, passages: list[Passage]) -> str:
        """The reader's prompt: a follow-up as asked after its previous turn (reader_history), any
        other question as it stands alone."""
        s = turn.settings
        return build_prompt(s.prompt_style, turn.standalone, passages, gen, turn.trace.kind, turn.follow_up if s.reader_history else None)

    def _read(self, turn: Turn, gen, ban_first: set[int] | None = None) -> Iterator[str]:
        """Stream the model's answer into turn.raw; its probabilities go to the trace."""
        s, t = turn.settings, time.time()
        style = resolve_style(s.prompt_style, gen)
        explain, chat = turn.trace.kind == "explain", style == "chat"
        prompt = self._prompt(turn, gen, turn.passages)
        stop = ("\n\n",) if explain and chat else ("\n",)
        limit = SETTLE_TOKENS if turn.settles else s.explain_new_tokens if explain else s.max_new_tokens
        turn.raw = ""
        for delta in gen.stream(prompt, limit, stop=stop,
                                ban_first=ban_first, deadline=time.monotonic() + s.answer_seconds):
            turn.raw += delta
            yield delta
        stats = gen.last
        turn.trace.raw = turn.raw.strip()
        turn.trace.confidence = stats.mean_logprob
        if chat:
            turn.trace.p_unanswerable = round(p_starts_with(stats.first_top, UNANSWERABLE), 4)
        turn.trace.seconds["read"] = round(turn.trace.seconds.get("read", 0.0) + time.time() - t, 3)

    def _ground(self, turn: Turn, gen) -> None:
        """Snap the answer to the evidence: a span for a factoid, whole sentences for an explanation
        (for a yes/no question, the sentences that best answer it)."""
        s = turn.settings
        if turn.trace.kind == "explain":
            self._explain(turn)
            if not turn.supports and self._read_on(turn, gen):
                self._explain(turn)
            turn.trace.support = round(turn.supports[0].score, 4) if turn.supports else 0.0
            return
        support = find_support(turn.raw, turn.passages)
        if support and support.score >= s.min_support and repeats_the_question(turn.standalone, support.span):
            # an answer that only repeats the question ("Chelsea" for "Which team did Chelsea
            # beat?"): ask once more with that first token ruled out
            turn.trace.repeated = turn.raw.strip()
            support = self._without_first(turn, gen)
        said = words_said(turn.standalone, support.sentence.text) if support else 0.0
        if s.look_again and support and support.score >= s.min_support and (turn.trace.confidence or 0.0) < s.second_below and said <= s.look_said:
            support, said = self._look_again(turn, gen, support, said)
        turn.supports = [support] if support else []
        turn.trace.support = round(support.score, 4) if support else 0.0
        turn.trace.said = round(said, 4) if support else None
        unsure = (turn.trace.confidence or 0.0) < s.second_below and (turn.trace.said or 0.0) < s.second_said
        if s.second_reader and support and turn.follow_up is None and unsure:
            self._second_opinion(turn, gen)

    def _look_again(self, turn: Turn, gen, first: Support, said: float) -> tuple[Support, float]:
        """A factoid answer the reader is unsure of, from a sentence that says little of what the
        question asks (`said`: its share of the question's own words), is read once more with its
        first token ruled out. Unsure, the reader often takes a name that stands near the
        question's names in a sentence about something else ("Albert Montanes", whom Nadal plays
        next, for the man he beat to get there); ruled out, it gives the one the question asks for
        ("Guillermo Canas"). The second answer is kept only when its sentence says more of the
        question and the reader is surer of it (a higher mean log-probability); else the first
        stands, as read. A second look never declines. Returns the answer kept and its `said`."""
        s, t = turn.settings, turn.trace
        before = turn.raw, t.raw, t.confidence, t.p_unanswerable
        other = self._without_first(turn, gen)
        t.looked = t.raw
        other_said = words_said(turn.standalone, other.sentence.text) if other else 0.0
        if (other is not None and other.score >= s.min_support and other_said > said
                and (t.confidence or 0.0) > before[2] and not repeats_the_question(turn.standalone, other.span)):
            return other, other_said
        turn.raw, t.raw, t.confidence, t.p_unanswerable = before
        return first, said

    @staticmethod
    def _explain(turn: Turn) -> None:
        """An explanation's sentences: those of the evidence the reply grounds in (a yes/no question:
        those that best answer it)."""
        s = turn.settings

        def best(n: int, exclude: list | None = None) -> list:  # the evidence sentences that best answer the question
            return best_sentences(turn.standalone, turn.passages, turn.encode, s.rerank_terms, n, exclude, s.left_weight, turn.read_first)

        if turn.settles:
            turn.supports = best(s.explain_sentences)
            return
        turn.supports, turn.trace.dropped = ground_sentences(turn.raw, turn.passages, s.min_explain_support, s.explain_sentences, turn.standalone)
        if not turn.supports and s.gist_best:
            # the reply restates the question ("What's going on with X?" read as "X is going
            # on"; "Why did Stan Lee take Marvel to court?" as "Stan Lee took Marvel to court
            # because he was in a court battle"): the sentences that best answer it stand in,
            # after a gist, or when they hold most of the question's terms (the model's own
            # "unanswerable" still declines: rules.ModelSaysUnanswerable)
            chosen = best(s.explain_sentences)
            if asks_gist(turn.question) or term_coverage(turn.standalone, " ".join(x.span for x in chosen)) >= s.explain_best_cover:
                turn.supports = chosen
        elif turn.supports and len(turn.supports) < s.explain_sentences and s.explain_add_best:
            turn.supports += best(s.explain_sentences - len(turn.supports), [x.sentence for x in turn.supports])

    def _read_on(self, turn: Turn, gen) -> bool:
        """An explanation whose reply grounds nothing in its chunk is read again from the chunk and
        its article's next one (not streamed: the first reply was): a story's opening ranks first
        for the question's words, its reason often comes further down. Not when the reader said
        the passage does not answer, or a yes/no question. True when it was read again."""
        s = turn.settings
        if (not s.explain_read_on or s.evidence != "chunk" or turn.settles or len(turn.passages) != 1
                or turn.raw.strip().lower().startswith(UNANSWERABLE)):
            return False
        following = self.retriever.following(turn.passages[0].hit)
        longer = read_on(turn.passages[0], following, gen.count_tokens, turn.budget) if following else turn.passages[0]
        if longer is turn.passages[0]:
            return False
        turn.trace.read_on, turn.read_first, turn.passages = turn.trace.raw, turn.passages[0].sentences, [longer]
        self._read_again(turn, gen)
        return True

    def _read_again(self, turn: Turn, gen, ban_first: set[int] | None = None) -> None:
        """Read once more, not streamed (the first reply was): the new reply replaces it in the turn."""
        for _ in self._read(turn, gen, ban_first=ban_first):
            pass

    def _without_first(self, turn: Turn, gen) -> Support | None:
        """Read once more with the last reply's first token ruled out; the new reply's support."""
        self._read_again(turn, gen, ban_first={gen.last.tokens[0]})
        return find_support(turn.raw, turn.passages)

    def _lead(self, turn: Turn) -> None:
        """A question after a story's gist ("What happened to ...?", "Tell me about ...") is answered
        first by the opening sentence of its article: a news story's lede sums it up, where the
        sentences grounded in the reader's reply tell one part of it. The first of those follows.
        When the chunk read is not the article's opening, its lede leads only if it mentions a
        name of the question: a long article's opening (an encyclopaedia's) is about its whole
        subject, not the part asked after ("What happened as a result of the Russo-Japanese
        War?" in "Imperialism"). Not for a follow-up, whose conversation has had the story already."""
        s = turn.settings
        if not (s.gist_lede and turn.supports and turn.follow_up is None and asks_gist(turn.question)):  # a gist question is an explain one
            return
        read = turn.supports[0].passage
        opening = self.retriever.opening(read.hit.doc_id)
        if opening is None:
            return
        sents = clean_sentences(opening)
        if not sents or (opening.chunk_id != read.hit.chunk_id and not names_said(turn.standalone, sents[0].text)):
            return  # read further on, the answer leads with the opening only when it is about what the question names
        lede = sents[0]
        passage = read if opening.chunk_id == read.hit.chunk_id else Passage(number=len(turn.passages) + 1, hit=opening, sentences=sents)
        rest = [x for x in turn.supports if (x.sentence.hit.doc_id, x.sentence.start) != (opening.doc_id, lede.start)]
        given = Support(span=" ".join(lede.text.split()), sentence=lede, passage=passage, score=1.0)  # the article's own sentence, whole
        turn.supports = [given] + rest[: s.explain_sentences - 1]

    def _second_opinion(self, turn: Turn, first) -> None:
        """A second reader answers from the same passages (in its own prompt style): the trace keeps
        its answer (rules.ReadersDisagree compares them) and how well the evidence supports it. Not
        for a follow-up: the first reader reads it after its conversation, the second only its
        rewrite, so the two would not be reading the same question."""
        s, t = turn.settings, time.time()
        gen = make_generator(s.second_reader)
        if gen is first:  # the reader itself: nothing to compare
            return
        prompt = build_prompt("auto", turn.standalone, turn.passages, gen, "factoid")
        raw = gen.complete(prompt, s.max_new_tokens, stop=("\n",), deadline=time.monotonic() + s.answer_seconds).strip()
        support = find_support(raw, turn.passages) if raw else None
        turn.trace.second, turn.trace.second_support = raw, round(support.score, 4) if support else 0.0
        turn.trace.second_confidence = gen.last.mean_logprob
        turn.trace.seconds["second"] = round(time.time() - t, 3)

    # ---- the answer ------------------------------------------------------------------------
    def _declined(self, turn: Turn, decline: Decline) -> Answer:
        turn.trace.declined_by, turn.trace.declined_because = decline.rule, decline.reason
        return Answer(
            text=DECLINE_TEXT, declined=True, question=turn.question, standalone_question=turn.standalone,
            hits=turn.hits, seconds=turn.trace.seconds["total"], trace=turn.trace,
        )

    def _answer(self, turn: Turn) -> Answer:
        citations = [make_citation(i, sup) for i, sup in enumerate(turn.supports, start=1)]
        short = " ".join(sup.span for sup in turn.supports)
        text = " ".join(f"{sup.span} [{c.number}]" for sup, c in zip(turn.supports, citations))
        return Answer(
            text=text, citations=citations, declined=False, question=turn.question, standalone_question=turn.standalone,
            short_answer=short, hits=turn.hits, seconds=turn.trace.seconds["total"], trace=turn.trace,
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
