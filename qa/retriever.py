"""Hybrid retrieval: dense (FAISS) + lexical (FTS5 BM25), fused by weighted reciprocal rank,
then a second-stage reranker. Every hit carries the score of each stage."""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Callable

import numpy as np

from index.chunking import split_sentences
from index.embedder import MODEL_FREE, make_embedder
from index.lexical import STOPWORDS
from index.records import ChunkRecord
from index.store import IndexStore

from .answer_type import COURTESY
from .config import Settings
from .records import Hit

_WORD = re.compile(r"\w+", re.UNICODE)
STRONG_WEIGHT = 2.0  # a name or number of the question counts this many times an ordinary term in term_coverage
MIN_STEM = 4  # a suffix (-ing, -ed, -es, -s) is cut only when at least this many letters remain ("sing" stays)


def content_terms(text: str) -> list[str]:
    return [t for t in _WORD.findall(text.lower()) if t not in STOPWORDS]


def key_terms(question: str) -> tuple[set[str], set[str]]:
    """(all content terms, 'strong' terms: names, numbers, capitalised words not at the start and
    not COURTESY; of a question typed in capitals throughout, its numbers only)."""
    words = _WORD.findall(question)
    cased = any(c.islower() for c in question)  # a question typed in capitals throughout names nothing by its case
    strong = set()
    for i, w in enumerate(words):
        if any(c.isdigit() for c in w) or (cased and ((i > 0 and w[:1].isupper()) or (len(w) > 1 and w.isupper()))):
            strong.add(w.lower())
    return set(content_terms(question)), strong - STOPWORDS - COURTESY


def stem(t: str) -> str:
    """The word without a plural or verb ending ("oscars" -> "oscar", "counting" -> "count"), and
    without a final e, so that "sentence", "sentences" and "sentenced" read the same ("sentenc"),
    and "companies" reads "company"."""
    if len(t) - 3 >= MIN_STEM and t.endswith("ies"):
        return t[:-3] + "y"
    for suf in ("ing", "ed", "es", "s"):
        if len(t) - len(suf) >= MIN_STEM and t.endswith(suf):
            t = t[: -len(suf)]
            break
    return t[:-1] if len(t) > MIN_STEM and t.endswith("e") else t


def term_coverage(question: str, text: str, terms: tuple[set[str], set[str]] | None = None) -> float:
    """Share of the question's content terms found in text, names and numbers counting double.
    `terms`: the question's key_terms, when the caller scores many texts against one question."""
    terms, strong = terms or key_terms(question)
    if not terms:
        return 0.0
    have = {stem(t) for t in content_terms(text)}
    total = got = 0.0
    for t in terms:
        w = STRONG_WEIGHT if t in strong else 1.0
        total += w
        if stem(t) in have:
            got += w
    return got / total


def words_said(question: str, text: str) -> float:
    """Share of the question's content terms other than its names and numbers that text holds: how
    much of what the question asks about (not whom) a sentence says (1.0 for a question of names only)."""
    every, strong = key_terms(question)
    plain = every - strong
    return term_coverage(question, text, (plain, set())) if plain else 1.0


def names_said(question: str, text: str) -> bool:
    """Does text hold any of the question's names or numbers (its strong key_terms)?"""
    _, strong = key_terms(question)
    have = {stem(t) for t in content_terms(text)}
    return any(stem(t) in have for t in strong)


def terms_left(question: str, said: list[str], terms: tuple[set[str], set[str]] | None = None) -> tuple[set[str], set[str]]:
    """The question's key_terms that none of the texts in `said` holds: what a further sentence
    may add to the ones already chosen (its term_coverage of them; 0.0 when none is left)."""
    every, strong = terms or key_terms(question)
    have = {stem(t) for x in said for t in content_terms(x)}
    left = {t for t in every if stem(t) not in have}
    return left, strong & left


def within_story(hits: list[Hit], asked: str, depth: int) -> list[Hit]:
    """A follow-up's hits with the chunk its own words point to first. Its rewrite finds the story
    (the bracket holds the previous turn's subject) but ranks first the chunk that answered that
    turn; of the top `depth` hits from the best hit's article, the one that covers most of the
    follow-up as asked ("How fast can it move?": "fast", "move") comes first, ties keeping their order;
    the rest keep retrieval's order, so the first by score is still the one the rewrite found first."""
    if depth < 2 or len(hits) < 2:
        return hits
    terms = key_terms(asked)
    story = [h for h in hits[:depth] if h.doc_id == hits[0].doc_id]
    best = max(story, key=lambda h: term_coverage(asked, h.text, terms))  # the first of equals
    return hits if best is hits[0] else [best, *(h for h in hits if h is not best)]


def sentence_scores(
    question: str, qvec: np.ndarray, texts: list[str], encode: Callable[[list[str]], np.ndarray], term_weight: float
) -> np.ndarray:
    """How well each text (a sentence) answers the question: cosine to the question vector +
    term_weight x question-term coverage. The texts are embedded in one batch."""
    if not texts:
        return np.zeros(0, dtype=np.float32)
    terms = key_terms(question)
    return encode(texts) @ qvec + term_weight * np.array([term_coverage(question, t, terms) for t in texts])


class MemoEncoder:
    """The embedder's encode for one question: each distinct text is embedded once, however many
    stages score it (the question by retrieval, evidence and explanation; evidence sentences by the
    evidence pick and the explanation's second sentence). With the default int8 OpenVINO runtime a
    text's vector does not depend on its batch, so this changes no score; with the others, at most
    by rounding."""

    def __init__(self, encode: Callable[[list[str]], np.ndarray]):
        self._encode = encode
        self._memo: dict[str, np.ndarray] = {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if todo:
            self._memo.update(zip(todo, self._encode(todo)))
        return np.stack([self._memo[t] for t in texts]) if texts else self._encode([])


class Retriever:
    def __init__(self, store: IndexStore):
        self.store = store

    @staticmethod
    def _hits(ids: list[int], rows: dict[int, ChunkRecord], scores: dict[str, dict[int, float]], key: str) -> list[Hit]:
        hits = []
        for cid in ids:
            r = rows.get(cid)
            if r is None:  # removed meanwhile
                continue
            hits.append(
                Hit(
                    chunk_id=cid, doc_id=r.doc_id, title=r.title, text=r.text, start=r.start, end=r.end,
                    score=scores[key].get(cid) or 0.0,
                    dense=scores["dense"].get(cid), lexical=scores["lexical"].get(cid),
                    fused=scores["fused"].get(cid), rerank=scores["rerank"].get(cid),
                    sentence=scores["sentence"].get(cid), model=scores["model"].get(cid), source=r.source, date=r.date,
                )
            )
        return hits

    def _best_sentences(self, question: str, qvec: np.ndarray, texts: dict[int, str], term_weight: float, encode) -> dict[int, float]:
        """Per chunk, its best sentence's score (never below 0, so a rescored chunk never drops)."""
        owners, sents = [], []
        for c, text in texts.items():
            for a, b in split_sentences(text):
                owners.append(c)
                sents.append(text[a:b])
        best = dict.fromkeys(texts, 0.0)
        for c, x in zip(owners, sentence_scores(question, qvec, sents, encode, term_weight)):
            best[c] = max(best[c], float(x))
        return best

    def second_embedder(self, s: Settings):
        """The embedder that rescores the top chunks (Settings.rerank_model), loaded once per process
        in the backend the index's own embedder uses; None when there is none: rerank_model is "", or
        the index was built by an embedder that loads no model (tests, smoke runs)."""
        if not s.rerank_model or self.store.embedder.name in MODEL_FREE:
            return None
        return make_embedder(s.rerank_model, backend=self.store.embedder.backend)

    def _model_scores(self, question: str, rows: dict[int, ChunkRecord], s: Settings) -> dict[int, float]:
        """The second embedder's cosine of the question and each chunk as the index embedded it."""
        model = self.second_embedder(s) if rows else None
        if model is None:
            return {}
        ids = list(rows)
        vecs = model.encode([question] + [self.store.chunker.embed_text_of(rows[c].title, rows[c].text) for c in ids])
        return {c: float(v @ vecs[0]) for c, v in zip(ids, vecs[1:])}

    def stages(self, question: str, s: Settings, depth: int | None = None, encode=None, focus: str | None = None) -> dict[str, list[Hit]]:
        """Ranked hit lists of every stage: dense, lexical, fused, reranked. encode: the embedder's
        encode (default), or a MemoEncoder the later stages of the same question share. focus: a
        follow-up as asked, whose own words choose the final stage's first chunk (within_story)."""
        encode = encode or self.store.embedder.encode
        qvec = encode([question])[0]
        dense = self.store.search_dense(qvec, s.dense_depth, s.filters)  # filtered: the store searches 10x deeper
        lexical = self.store.search_lexical(question, s.lexical_depth, s.filters)
        scores: dict[str, dict[int, float]] = {
            "dense": dict(dense), "lexical": dict(lexical), "fused": {}, "rerank": {}, "sentence": {}, "model": {},
        }
        fused: dict[int, float] = {}
        for w, lst in ((s.dense_weight, dense), (s.lexical_weight, lexical)):
            for rank, (cid, _) in enumerate(lst):
                fused[cid] = fused.get(cid, 0.0) + w / (s.rrf_k + rank + 1)
        scores["fused"] = fused
        fused_ids = sorted(fused, key=lambda c: -fused[c])
        out = {
            "dense": [i for i, _ in dense],
            "lexical": [i for i, _ in lexical],
            "fused": fused_ids,
        }
        n = depth or max(len(v) for v in out.values())
        cand = fused_ids[: s.rerank_depth] if s.rerank else []
        # one metadata read per query: every chunk any stage shows, plus the rerank candidates
        rows = self.store.chunks(sorted({c for ids in out.values() for c in ids[:n]} | set(cand)))
        if cand:
            vecs = self.store.vectors_of(cand)
            max_rrf = max(fused[c] for c in cand)
            max_lex = max((scores["lexical"].get(c, 0.0) for c in cand), default=0.0) or 1.0
            rer = {}
            for c in cand:
                if c not in rows:
                    continue
                text = rows[c].title + " " + rows[c].text
                cos = float(vecs[c] @ qvec) if c in vecs else scores["dense"].get(c, 0.0)
                scores["dense"].setdefault(c, cos)
                rer[c] = (
                    s.rerank_dense * cos
                    + s.rerank_terms * term_coverage(question, text)
                    + s.rerank_rrf * fused[c] / max_rrf
                    + s.rerank_lexical * scores["lexical"].get(c, 0.0) / max_lex
                )
            if s.sentence_depth > 0 and rer:
                # The top few are rescored, so they stay above the rest. A chunk answers a question
                # in one sentence: the best sentence's own score separates the right paragraph from
                # its neighbours on the same topic (SQuAD R@1 +3.5 to +4.8 points on two disjoint
                # samples). A larger embedder than the index's reads them whole (docs/decisions.md).
                top = sorted(rer, key=lambda c: -rer[c])[: s.sentence_depth]
                top += [c for c in out["dense"][: s.sentence_dense] if c in rer and c not in top]
                if s.rerank_sentence:
                    scores["sentence"] = self._best_sentences(question, qvec, {c: rows[c].text for c in top}, s.rerank_terms, encode)
                scores["model"] = self._model_scores(question, {c: rows[c] for c in top}, s)
                for c in top:
                    rer[c] += s.rerank_sentence * scores["sentence"].get(c, 0.0) + s.rerank_model_weight * scores["model"].get(c, 0.0)
            scores["rerank"] = rer
            out["reranked"] = sorted(rer, key=lambda c: -rer[c])
        keys = {"dense": "dense", "lexical": "lexical", "fused": "fused", "reranked": "rerank"}
        hits = {name: self._hits(ids[:n], rows, scores, keys[name]) for name, ids in out.items()}
        if focus:
            final = "reranked" if "reranked" in hits else "fused"
            hits[final] = within_story(hits[final], focus, s.follow_up_focus)
        return hits

    def opening(self, doc_id: str) -> Hit | None:
        """The article's first chunk, which opens with its lede (None: the article is gone)."""
        return self._unscored(self.store.chunk_ids(doc_id)[:1])

    def following(self, hit: Hit) -> Hit | None:
        """The chunk after this one in its article (None: it is the last, or the article is gone)."""
        ids = self.store.chunk_ids(hit.doc_id)
        return self._unscored(ids[ids.index(hit.chunk_id) + 1 :][:1] if hit.chunk_id in ids else [])

    def _unscored(self, ids: list[int]) -> Hit | None:
        """The first of these chunks as a Hit that no stage scored (None: none of them is stored)."""
        return next(iter(self._hits(ids, self.store.chunks(ids), defaultdict(dict), "rerank")), None)

    def retrieve(self, question: str, s: Settings, encode=None, focus: str | None = None) -> list[Hit]:
        st = self.stages(question, s, depth=s.k, encode=encode, focus=focus)
        return st.get("reranked", st["fused"])[: s.k]
