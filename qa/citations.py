"""Grounding: snap the model's answer to the exact span of the evidence that supports it, and
cite the passage and sentence that contain it. An answer no sentence supports is not given."""
from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass

from .evidence import Passage, Sentence
from .records import Citation

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation) | set("“”‘’–—")


def normalize(s: str) -> str:
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def f1(pred: str, gold: str) -> float:
    p, g = normalize(pred).split(), normalize(gold).split()
    common = Counter(p) & Counter(g)
    same = sum(common.values())
    if not p or not g or same == 0:
        return 0.0
    prec, rec = same / len(p), same / len(g)
    return 2 * prec * rec / (prec + rec)


@dataclass
class Support:
    span: str  # exact text from the document
    sentence: Sentence
    passage: Passage
    score: float  # token F1 of the model's answer against the span (1.0 = copied exactly)


_CITE = re.compile(r"\[(\d+)\]")


def strip_markers(text: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", text).strip()


def find_support(answer: str, passages: list[Passage]) -> Support | None:
    """The evidence span that best matches the answer (token F1 over word windows)."""
    ans = strip_markers(answer).strip().strip(".").strip()
    na = normalize(ans)
    if not na:
        return None
    n_ans = len(na.split())
    best: Support | None = None
    for p in passages:
        for s in p.sentences:
            ns = normalize(s.text)
            if f" {na} " in f" {ns} ":
                # exact (normalised) containment: recover the literal span from the sentence
                span = _literal_span(s.text, ans) or ans
                cand = Support(span=span, sentence=s, passage=p, score=1.0)
                if best is None or best.score < 1.0:
                    best = cand
                continue
            words = [(m.start(), m.end()) for m in re.finditer(r"\S+", s.text)]
            for i in range(len(words)):
                for L in range(max(1, n_ans - 2), n_ans + 3):
                    j = i + L
                    if j > len(words):
                        break
                    span = s.text[words[i][0] : words[j - 1][1]].strip(string.punctuation + "“”‘’ ")
                    sc = f1(ans, span)
                    if best is None or sc > best.score:
                        best = Support(span=span, sentence=s, passage=p, score=sc)
    return best


def _literal_span(sentence: str, answer: str) -> str | None:
    """Find `answer` in `sentence` ignoring case/punctuation; return the sentence's own text."""
    toks = normalize(answer).split()
    if not toks:
        return None
    words = list(re.finditer(r"\S+", sentence))
    for i in range(len(words)):
        got = []
        for j in range(i, len(words)):
            got += normalize(words[j].group()).split()
            if got == toks:
                return sentence[words[i].start() : words[j].end()].strip(string.punctuation.replace("%", "").replace("$", "") + "“”‘’ ")
            if len(got) >= len(toks) or got != toks[: len(got)]:
                break
    return None


def make_citation(number: int, support: Support) -> Citation:
    h = support.passage.hit
    s = support.sentence
    return Citation(
        number=number, doc_id=h.doc_id, title=h.title, chunk_id=h.chunk_id, passage=h.text, quote=s.text,
        quote_start=s.start, quote_end=s.end, score=round(float(h.score), 4), source=h.source, date=h.date,
    )
