"""Decline rules: each an object with a name, the stage it runs at and a reason a person can read.

A rule looks at the `Turn` (everything the stages have found for one question) and returns why the
question should be declined, or None. "gate" rules run before the model is called (nothing it says
could change them); "verify" rules run on its grounded answer. Adding a rule is adding a class here
and listing it in GATE or VERIFY.
"""
from __future__ import annotations

import functools
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable

from .answer_type import TYPE_NAMES, asks_again, wrong_type
from .answerable import (counts, missing_names, negation_unsupported, numbers_unsaid, rate_unsaid, repeats_the_question,
                         span_lost_the_answer)
from .citations import Support, agree
from .config import Settings
from .evidence import Passage, Sentence
from .history import FollowUp
from .prompt import UNANSWERABLE
from .records import Hit, Trace


@dataclass
class Turn:
    """One question on its way through the stages."""

    question: str
    standalone: str  # the question with what a follow-up leans on
    settings: Settings
    articles: Callable[[list[Passage]], str]  # the whole articles of some passages (read only when needed)
    encode: Callable | None = None  # the embedder's encode for this question (a MemoEncoder: each text embedded once)
    trace: Trace = field(default_factory=Trace)
    hits: list[Hit] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    raw: str = ""  # the model's answer
    supports: list[Support] = field(default_factory=list)  # the evidence each answer part snapped to
    follow_up: FollowUp | None = None  # a follow-up as asked, with its previous turn: the reader reads them (reader_history)
    budget: int = 0  # generator tokens the evidence may fill (the evidence stage's budget)
    read_first: list[Sentence] = field(default_factory=list)  # the sentences of a chunk read on from: its reply grounded nothing there, so none is added as a best sentence
    settles: bool = False  # a yes/no question: the evidence sentences that best answer it are the answer, the reply only says whether there is one (yes_no_best)

    @property
    def moved_from(self) -> Hit | None:
        """A follow-up read from another chunk of its story than its rewrite found first
        (retriever.within_story, which moves only that chunk up): the chunk the rewrite found
        first, the best by score; else None."""
        if self.follow_up is None or len(self.hits) < 2:
            return None
        first = max(self.hits[1:], key=lambda h: h.score)
        return first if first.score > self.hits[0].score else None

    @property
    def best(self) -> Support | None:
        """The first (best) support of the answer, or None: each verify rule checks it itself, so
        none depends on running after NotSupported."""
        return self.supports[0] if self.supports else None


class Rule(ABC):
    name = ""
    stage = "verify"  # "gate" or "verify"

    @abstractmethod
    def reason(self, turn: Turn) -> str | None:
        """Why the question is declined at this stage, or None."""


class NoRelevantPassage(Rule):
    name, stage = "relevance", "gate"

    def reason(self, turn):
        if not turn.hits or turn.trace.relevance < turn.settings.min_relevance:
            return "no relevant passage"
        return None


class NoEvidence(Rule):
    name, stage = "evidence", "gate"

    def reason(self, turn):
        return None if turn.passages else "no usable evidence"


class MissingNames(Rule):
    """A question that names something the passages never mention is not answered by them. A
    follow-up read from another chunk of its story than its rewrite found first (within_story):
    its own names must be in the passages, the names of the turn it leans on (the rewrite's
    bracket) in them or in that first chunk, which tied the story to the conversation."""

    name, stage = "names", "gate"

    def reason(self, turn):
        if not turn.settings.check_names:
            return None
        text = " ".join(f"{p.hit.title} {p.text}" for p in turn.passages)
        articles = functools.cache(lambda: turn.articles(turn.passages))  # read only when a name needs them, and once
        if turn.moved_from is None:
            turn.trace.missing = missing_names(turn.standalone, text, articles)
        else:
            own = missing_names(turn.follow_up.asked, text, articles)
            story = f"{text} {turn.moved_from.title} {turn.moved_from.text}"
            turn.trace.missing = own + [m for m in missing_names(turn.standalone, story, articles) if m not in own]
        if turn.trace.missing:
            return "the passage found never mentions " + ", ".join(turn.trace.missing)
        return None


class ModelSaysUnanswerable(Rule):
    """The reader itself says the passages do not answer, or gives that reply a high probability."""

    name = "model"

    def reason(self, turn):
        said = turn.raw.strip().strip(".").lower()
        p = turn.trace.p_unanswerable
        if said.startswith(UNANSWERABLE) or (p is not None and p >= turn.settings.max_unanswerable):
            return "the model found no answer in the passages"
        return None


class NotSupported(Rule):
    name = "support"

    def reason(self, turn):
        if turn.best is None or turn.best.score < turn.settings.min_support:
            return "answer not supported by the evidence"
        return None


class LostAnswer(Rule):
    name = "lost"

    def reason(self, turn):
        if turn.best and turn.trace.kind == "factoid" and span_lost_the_answer(turn.raw, turn.best.span):
            return "the evidence span does not say what the answer said"
        return None


class RepeatsQuestion(Rule):
    """An answer that only repeats the question ("foreign banks" for "Which foreign banks ...?"),
    even after the reader was asked once more without it, says nothing: the passage does not answer."""

    name = "repeats"

    def reason(self, turn):
        if turn.best and turn.trace.kind == "factoid" and repeats_the_question(turn.standalone, turn.best.span):
            return "the answer only repeats the question"
        return None


class NegatedQuestion(Rule):
    """A negated question ("Which team did not ...?") is not answered by a sentence that is not
    negated. A why or what-did-X-say question is, when the negation is what it asks about ("Why
    couldn't ...?"), but not a yes/no one: its sentences settle it only when they say what it says.
    A follow-up is read as asked: its rewrite's bracket holds the story's subject, which any
    sentence of the story repeats, so it would seem to restate the question."""

    name = "negation"

    def reason(self, turn):
        explained = turn.trace.kind == "explain" and not turn.settles
        asked = turn.follow_up.asked if turn.follow_up else turn.standalone
        if turn.best and turn.settings.check_negation and negation_unsupported(asked, turn.best.sentence.text, explained):
            return "the question is negated and the evidence is not"
        return None


class NumbersUnsaid(Rule):
    """A question that pins its fact with a number ("How many people lived in Warsaw in 1939?", "her
    time in the 200m") is not answered by a sentence when neither it nor the text before it in the
    passage (and the passage's title) writes that number: a story sets its year or event before it
    tells what happened, so that sentence tells of another year or race, though the passage may
    name the number further on. Only the numbers of the question as asked count: those a follow-up
    borrows from the previous turn were pinned there."""

    name = "numbers"

    def reason(self, turn):
        best = turn.best
        if not turn.settings.check_numbers or turn.trace.kind != "factoid" or best is None:
            return None
        sents = best.passage.sentences
        at = next((i for i, x in enumerate(sents) if x is best.sentence), len(sents) - 1)
        unsaid = numbers_unsaid(turn.question, " ".join([best.passage.hit.title] + [x.text for x in sents[: at + 1]]))
        return "the answer's sentence never mentions " + ", ".join(unsaid) if unsaid else None


class WrongType(Rule):
    """A short answer without the type its question asks for ("2002" for "What time did he run?",
    "40%" for "How many subscribers ...?") is the passage's nearest phrase, not an answer. A
    follow-up that asks the previous question again ("And Qantas shares?" after "How much did
    Virgin Blue shares fall?": asks_again) asks for the previous question's type."""

    name = "type"

    def reason(self, turn):
        if not turn.settings.answer_type or turn.trace.kind != "factoid" or turn.best is None:
            return None
        again = turn.follow_up is not None and asks_again(turn.follow_up.asked)
        kind = wrong_type(turn.follow_up.question if again else turn.standalone, turn.best.span, turn.best.sentence.text)
        return f"the question asks for {TYPE_NAMES[kind]} and the answer gives none" if kind else None


class RateUnsaid(Rule):
    """An amount asked per unit ("How much a week ...?", "What price per share ...?") is not answered
    by a sentence that gives none per that unit: its amount is another ("six" of "six months", the
    £52m a share sale raises). Part of the answer-type check (Settings.answer_type)."""

    name = "rate"

    def reason(self, turn):
        if not turn.settings.answer_type or turn.trace.kind != "factoid" or turn.best is None:
            return None
        unit = rate_unsaid(turn.standalone, turn.best.sentence.text)
        return f"the question asks for an amount per {unit} and the answer's sentence gives none" if unit else None


class CountsOther(Rule):
    """A "how many" answer whose sentence counts something else with its number ("two months" for
    "How many MEPs voted ...?", "789m euros" for "How many passengers ...?") is the passage's nearest
    number, not the count asked for. The two things are compared by the embedder's cosine when they
    share no word (answerable.counts), so "250 songs" still counts tracks."""

    name = "counted"

    def reason(self, turn):
        s, best = turn.settings, turn.best
        if not s.min_count_similarity or turn.trace.kind != "factoid" or best is None or turn.encode is None:
            return None
        count = counts(turn.standalone, best.span, best.sentence.text)
        if count is None or count.same:
            return None
        a, b = turn.encode([count.asked, count.said])  # unit vectors, as every stage reads them: the dot is the cosine
        if float(a @ b) >= s.min_count_similarity:
            return None
        return f"the question counts {count.asked} and the answer's sentence counts {count.said}"


class ReadersDisagree(Rule):
    """A factoid answer the reader gives with little confidence, from a sentence that says little of
    what the question asks about (Trace.said), and that a second reader, reading the same passage,
    does not give (Settings.second_reader): the passage does not say it plainly.
    An unanswerable near-miss ("Who came out on top ...?" of a match not yet played) is read as
    two different names; where the passage answers, the two readers mostly agree."""

    name = "second"

    def reason(self, turn):
        second, best = turn.trace.second, turn.best
        if second is None or best is None or agree(best.span, second) >= turn.settings.second_agree:
            return None
        return "the reader was unsure, and a second reader found another answer" + (f" ({second})" if second else "")


GATE: list[Rule] = [NoRelevantPassage(), NoEvidence(), MissingNames()]
VERIFY: list[Rule] = [
    ModelSaysUnanswerable(), NotSupported(), LostAnswer(), RepeatsQuestion(), NegatedQuestion(), NumbersUnsaid(), WrongType(),
    RateUnsaid(), CountsOther(), ReadersDisagree(),
]


@dataclass(frozen=True)
class Decline:
    rule: str
    reason: str


def first_decline(rules: list[Rule], turn: Turn) -> Decline | None:
    """The first rule that declines, with its reason; None when every rule lets the answer through."""
    for rule in rules:
        why = rule.reason(turn)
        if why:
            return Decline(rule.name, why)
    return None


def p_starts_with(first_top: dict[str, float], word: str) -> float:
    """Probability that a reply starts with `word`, from the top first-token log-probabilities."""
    w = word.lower()
    return sum(math.exp(lp) for tok, lp in first_top.items() if tok.strip() and w.startswith(tok.strip().lower()))
