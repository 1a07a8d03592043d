"""Evidence first: from the retrieved chunks pick the sentences that bear on the question and
number them as passages, within a token budget of the generator's context."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from index.chunking import split_sentences

from .records import Hit
from .retriever import sentence_scores

# Text in an article that addresses the model is data, not an instruction: such sentences are
# never put in front of the model.
_INJECTION = re.compile(
    r"(ignore|disregard|forget)\s+(all\s+|any\s+|the\s+|your\s+|previous\s+|prior\s+|above\s+)*(instructions|prompts?|rules|context)"
    r"|\byou are (now )?(a|an|the) (assistant|ai|chatbot|language model)\b|\bsystem prompt\b|\bnew instructions?\b"
    r"|\b(answer|reply|respond|say) (only |always )?(with|that)\b.*\b(instead|regardless)\b",
    re.IGNORECASE,
)


def looks_like_injection(sentence: str) -> bool:
    return bool(_INJECTION.search(sentence))


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
    max_sentences: int = 8,
) -> list[Passage]:
    """Score every sentence of the hits (embedding similarity + term overlap + the hit's rank),
    keep the best within the budget, and group them into numbered passages (hit order, sentence
    order inside each hit)."""
    sents, seen = [], set()
    for h in hits:
        for s in clean_sentences(h):
            # overlapping chunks repeat sentences: keep each document sentence once
            if (h.doc_id, s.start) not in seen:
                seen.add((h.doc_id, s.start))
                sents.append(s)
    if not sents:
        return []
    scores = sentence_scores(question, embed([question])[0], [s.text for s in sents], embed)
    rank_of = {h.chunk_id: r for r, h in enumerate(hits)}
    for s, sc in zip(sents, scores):
        s.score = float(sc) - 0.03 * rank_of[s.hit.chunk_id]
    chosen: list[Sentence] = []
    used = 0
    for s in sorted(sents, key=lambda s: -s.score):
        n = count_tokens(s.text) + 2
        if used + n > budget_tokens:
            continue
        chosen.append(s)
        used += n
        if len(chosen) >= max_sentences:
            break
    passages: list[Passage] = []
    for h in hits:
        mine = sorted((s for s in chosen if s.hit.chunk_id == h.chunk_id), key=lambda s: s.start)
        if mine:
            passages.append(Passage(number=len(passages) + 1, hit=h, sentences=mine))
    # best passage first: the small model copies most reliably from what it reads first
    passages.sort(key=lambda p: -max(s.score for s in p.sentences))
    for i, p in enumerate(passages, start=1):
        p.number = i
    return passages


def reading_passages(
    question: str,
    hits: list[Hit],
    embed: Callable[[list[str]], np.ndarray],
    count_tokens: Callable[[str], int],
    budget_tokens: int,
    n: int = 1,
) -> list[Passage]:
    """The best `n` retrieved chunks, whole (a tiny model reads coherent text far better than
    picked sentences: measured F1 40 vs 10-22 on SQuAD), minus sentences that address the
    model. Falls back to sentence selection when they do not fit the token budget."""
    passages: list[Passage] = []
    used = 0
    for h in hits[:n]:
        sents = clean_sentences(h)
        if not sents:
            continue
        p = Passage(number=len(passages) + 1, hit=h, sentences=sents)
        cost = count_tokens(p.text) + 4
        if used + cost > budget_tokens:
            break
        passages.append(p)
        used += cost
    if not passages:
        return select_evidence(question, hits[:n], embed, count_tokens, budget_tokens)
    return passages
