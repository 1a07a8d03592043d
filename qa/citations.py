"""Grounding: snap the model's answer to the exact span of the evidence that supports it, and
cite the passage and sentence that contain it. An answer no sentence supports is not given."""
from __future__ import annotations

import re
import string
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


_SPLIT = re.compile(r"[-–—/]")
_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
} | {w: str(10 * i) for i, w in enumerate("thirty forty fifty sixty seventy eighty ninety".split(), start=3)}


def support_tokens(s: str) -> list[str]:
    """Tokens for matching an answer to evidence: dashes and slashes split words ("1763–1775"),
    and number words match digits (the model writes "12" for the article's "twelve")."""
    return [_NUMBER_WORDS.get(t, t) for t in normalize(_SPLIT.sub(" ", s)).split()]


def _same(a: str, b: str) -> bool:
    # equal, or one a prefix of the other ("thermodynamics"/"thermodynamic", "1990"/"1990s")
    return a == b or (min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)))


def soft_f1(pred: list[str], gold: list[str]) -> float:
    if not pred or not gold:
        return 0.0
    left = list(gold)
    same = 0
    for t in pred:
        for i, g in enumerate(left):
            if _same(t, g):
                same += 1
                del left[i]
                break
    if same == 0:
        return 0.0
    prec, rec = same / len(pred), same / len(gold)
    return 2 * prec * rec / (prec + rec)


@dataclass
class Support:
    span: str  # exact text from the document
    sentence: Sentence
    passage: Passage
    score: float  # token F1 of the model's answer against the span (1.0 = copied exactly)


def strip_markers(text: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", text).strip()


def find_support(answer: str, passages: list[Passage]) -> Support | None:
    """The evidence span that best matches the answer (token F1 over word windows)."""
    ans = strip_markers(answer).strip().strip(".").strip()
    na = normalize(ans)
    if not na:
        return None
    ans_toks = support_tokens(ans)
    n_ans = len(na.split())
    best: Support | None = None
    for p in passages:
        for s in p.sentences:
            ns = normalize(s.text)
            if f" {na} " in f" {ns} ":
                # exact (normalised) containment: recover the literal span from the sentence
                span = tidy_span(_literal_span(s.text, ans) or ans) or ans
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
                    span = tidy_span(s.text[words[i][0] : words[j - 1][1]])
                    sc = soft_f1(ans_toks, support_tokens(span))
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
        if not normalize(words[i].group()):
            continue  # never start the span on an article or bare punctuation ("the BitTorrent")
        got = []
        for j in range(i, len(words)):
            got += normalize(words[j].group()).split()
            if got == toks:
                return sentence[words[i].start() : words[j].end()].strip(string.punctuation.replace("%", "").replace("$", "") + "“”‘’ ")
            if len(got) >= len(toks) or got != toks[: len(got)]:
                break
    return None


_PAIRS = {"(": ")", "[": "]", "{": "}", "“": "”", "‘": "’", '"': '"'}


def tidy_span(span: str) -> str:
    """Drop unbalanced brackets/quotes and trailing punctuation a word window dragged in."""
    span = span.strip()
    changed = True
    while changed and span:
        changed = False
        for o, c in _PAIRS.items():
            if o == c:
                if span.count(o) % 2:
                    span = span.replace(o, "", 1) if span.startswith(o) else span[: span.rfind(o)] + span[span.rfind(o) + 1 :]
                    changed = True
            elif span.count(o) != span.count(c):
                if span.count(o) > span.count(c):
                    cut = span.rfind(o)
                    span = (span[:cut] if cut > 0 else span[1:]).strip()
                else:
                    cut = span.rfind(c)
                    span = (span[:cut] + span[cut + 1 :]).strip()
                changed = True
        new = span.strip(" ,;:-–—").rstrip(".")
        changed = changed or new != span
        span = new
    return span


def make_citation(number: int, support: Support) -> Citation:
    h = support.passage.hit
    s = support.sentence
    return Citation(
        number=number, doc_id=h.doc_id, title=h.title, chunk_id=h.chunk_id, passage=h.text, quote=s.text,
        quote_start=s.start, quote_end=s.end, score=round(float(h.score), 4), source=h.source, date=h.date,
    )
