"""Evidence first: from the retrieved chunks pick the sentences that bear on the question and
number them as passages, within a token budget of the generator's context."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable

import numpy as np

from index.chunking import split_sentences

from .config import Settings
from .records import Hit
from .retriever import sentence_scores

SENTENCE_TOKENS = 2  # what joining a picked sentence to the others costs on top of its own tokens
PASSAGE_TOKENS = 4  # what a whole passage costs on top of its text (its number and separators)

# Text in an article that addresses the model is data, not an instruction: such sentences are
# never put in front of the model.
_INJECTION = re.compile(
    r"(ignore|disregard|forget)\s+(all\s+|any\s+|the\s+|your\s+|previous\s+|prior\s+|above\s+)*(instructions|prompts?|rules|context)"
    r"|\byou are (now )?(a|an|the) (assistant|ai|chatbot|language model)\b|\bsystem prompt\b|\bnew instructions?\b"
    r"|\b(answer|reply|respond|say) (only |always )?(with|that)\b.*\b(instead|regardless)\b",
    re.IGNORECASE,
)


_AI = (
    r"(?:ai|a\.i\.|artificial intelligence|assistants?|chat ?bots?|bots?|language models?|llms?|gpts?|models?"
    r"|ai (?:systems?|models?|assistants?|readers?|tools?|agents?))"
)
# what an article says *to* a model instead of to its readers (checked on each sentence, and titles)
_TO_THE_MODEL = re.compile(
    "|".join([
        rf"\b(?:note|message|notice|reminder|instructions?|update|warning|memo)s?\s+(?:for|to)\s+(?:all\s+|any\s+|the\s+)?{_AI}\b",
        rf"\b(?:dear|hey|hi|hello|attention|calling all)\s+(?:the\s+)?{_AI}\b",
        rf"\bif you are an?\s+{_AI}\b",
        rf"\b{_AI}\s+(?:reading|processing|parsing|summari[sz]ing)\s+(?:this|these)\b",
        rf"\b{_AI}\s+(?:must|should|shall|are to|is to|need to|needs to|have to|has to)\s+(?:always\s+|only\s+|now\s+)?"
        r"(?:answer|reply|respond|say|output|tell|state|write|print|ignore|disregard)\b",
        r"\b(?:forget|ignore|disregard|override)\s+(?:all\s+|any\s+)?(?:your|previous|prior|earlier|above|the above|the previous)\b",
        r"\b(?:tell|inform|remind)\s+(?:your|the)\s+users?\b|\byour\s+(?:rules|instructions|guidelines|system prompt|programming)\b",
        r"\bsystem\s+(?:override|prompt|message)\b|\byou are now\b|\byou are (?:a|an|the)\s+(?:ai|assistant|chatbot|language model)\b",
        r"\b(?:your|the) (?:only|real|new) (?:task|job|instructions?)\b",
        r"(?:^|\n)\s*(?:system|user|assistant|human|model)\s*:",  # a fake chat turn's role label
        r"\[/?INST\]|<</?SYS>>|[\"']role[\"']\s*:|<\|[^|<>\n]{1,40}\|>|<(?:start|end)_of_turn>",  # chat markup
        r"\bquestion\s*:.*\banswer\s*:",  # a fake worked example (the completion style's format)
    ]),
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)


def visible(text: str) -> str:
    """Without invisible format characters (zero-width spaces, bidi controls ...) that split words apart."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def looks_like_injection(sentence: str) -> bool:
    """True for article text that speaks to an AI reader (or fakes a chat turn) instead of reporting."""
    t = visible(sentence)
    return bool(_INJECTION.search(t) or _TO_THE_MODEL.search(t))


@dataclass
class Sentence:
    hit: Hit
    text: str
    start: int  # offsets in the document
    end: int
    score: float = 0.0


@dataclass
class Passage:
    number: int
    hit: Hit
    sentences: list[Sentence]

    @property
    def text(self) -> str:
        return " ".join(" ".join(s.text.split()) for s in self.sentences)


def hit_sentences(hit: Hit) -> list[Sentence]:
    out = []
    for s, e in split_sentences(hit.text):
        t = hit.text[s:e]
        if t.strip():
            out.append(Sentence(hit=hit, text=t, start=hit.start + s, end=hit.start + e))
    return out


def clean_sentences(hit: Hit) -> list[Sentence]:
    """The hit's sentences, without any that address the model."""
    return [x for x in hit_sentences(hit) if not looks_like_injection(x.text)]


def select_evidence(
    question: str,
    hits: list[Hit],
    embed: Callable[[list[str]], np.ndarray],
    count_tokens: Callable[[str], int],
    budget_tokens: int,
    s: Settings | None = None,
) -> list[Passage]:
    """Score every sentence of the hits (embedding similarity + term overlap + the hit's rank),
    keep the best within the budget (at most s.evidence_sentences), and group them into numbered
    passages (hit order, sentence order inside each hit)."""
    s = s or Settings()
    sents = _distinct_sentences(hits)
    if not sents:
        return []
    scores = sentence_scores(question, embed([question])[0], [x.text for x in sents], embed, s.evidence_terms)
    rank_of = {h.chunk_id: r for r, h in enumerate(hits)}
    for x, sc in zip(sents, scores):
        x.score = float(sc) - s.evidence_rank_penalty * rank_of[x.hit.chunk_id]
    return _group(hits, _best_within(sents, count_tokens, budget_tokens, s.evidence_sentences))


def _distinct_sentences(hits: list[Hit]) -> list[Sentence]:
    """The hits' clean sentences; overlapping chunks repeat sentences: each document sentence once."""
    sents, seen = [], set()
    for h in hits:
        for x in clean_sentences(h):
            if (h.doc_id, x.start) not in seen:
                seen.add((h.doc_id, x.start))
                sents.append(x)
    return sents


def _best_within(sents: list[Sentence], count_tokens: Callable[[str], int], budget_tokens: int, most: int) -> list[Sentence]:
    """The best-scored sentences that fit the budget, at most `most`."""
    chosen: list[Sentence] = []
    used = 0
    for x in sorted(sents, key=lambda x: -x.score):
        n = count_tokens(x.text) + SENTENCE_TOKENS
        if used + n > budget_tokens:
            continue
        chosen.append(x)
        used += n
        if len(chosen) >= most:
            break
    return chosen


def _group(hits: list[Hit], chosen: list[Sentence]) -> list[Passage]:
    """One numbered passage per hit holding chosen sentences (in document order), best passage first."""
    passages: list[Passage] = []
    for h in hits:
        mine = sorted((x for x in chosen if x.hit.chunk_id == h.chunk_id), key=lambda x: x.start)
        if mine:
            passages.append(Passage(number=len(passages) + 1, hit=h, sentences=mine))
    # best passage first: the small model copies most reliably from what it reads first
    passages.sort(key=lambda p: -max(x.score for x in p.sentences))
    for i, p in enumerate(passages, start=1):
        p.number = i
    return passages


def reading_passages(
    question: str,
    hits: list[Hit],
    embed: Callable[[list[str]], np.ndarray],
    count_tokens: Callable[[str], int],
    budget_tokens: int,
    s: Settings | None = None,
) -> list[Passage]:
    """The best s.read_passages retrieved chunks, whole (a tiny model reads coherent text far
    better than picked sentences: measured F1 40 vs 10-22 on SQuAD), minus sentences that address
    the model. Falls back to sentence selection when they do not fit the token budget."""
    s = s or Settings()
    passages: list[Passage] = []
    used = 0
    for h in hits[: s.read_passages]:
        sents = clean_sentences(h)
        if not sents:
            continue
        p = Passage(number=len(passages) + 1, hit=h, sentences=sents)
        cost = count_tokens(p.text) + PASSAGE_TOKENS
        if used + cost > budget_tokens:
            break
        passages.append(p)
        used += cost
    if not passages:
        return select_evidence(question, hits[: s.read_passages], embed, count_tokens, budget_tokens, s)
    return passages


def read_on(passage: Passage, following: Hit, count_tokens: Callable[[str], int], budget_tokens: int) -> Passage:
    """The passage with the sentences of the chunk after it in its article (those the two chunks
    share once), when the whole still fits the budget; else the passage as it was."""
    seen = {x.start for x in passage.sentences}
    more = [x for x in clean_sentences(following) if x.start not in seen and x.start >= passage.sentences[-1].start]
    longer = Passage(number=passage.number, hit=passage.hit, sentences=passage.sentences + more)
    return longer if more and count_tokens(longer.text) + PASSAGE_TOKENS <= budget_tokens else passage
