"""Grounding: snap the model's answer to the exact span of the evidence that supports it, and
cite the passage and sentence that contain it. An answer no sentence supports is not given."""
from __future__ import annotations

import re
import string
from dataclasses import dataclass

from index.lexical import STOPWORDS

from .answer_type import ORDINAL_NUMBER
from .evidence import Passage, Sentence
from .records import Citation
from .retriever import key_terms, sentence_scores, term_coverage, terms_left
from .text import strip_markers

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation) | set("“”‘’–—£€¥")  # "4.6m" is supported by "£4.6m"
SAME_WORD_PREFIX = 4  # a word and its prefix of at least this many characters match ("1990"/"1990s"); shorter ones ("a"/"an") do not


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


# an amount's scale, written out or shortened: the model writes "3.25 billion" for the article's "$3.25bn"
_SCALES = {"thousand": "k", "k": "k", "million": "m", "mn": "m", "m": "m", "billion": "bn", "bn": "bn", "trillion": "tn", "tn": "tn"}
_SCALED = re.compile(r"(\d+)(" + "|".join(_SCALES) + r")")


def support_tokens(s: str) -> list[str]:
    """Tokens for matching an answer to evidence: dashes and slashes split words ("1763–1775"),
    number words match digits (the model writes "12" for the article's "twelve"), and an amount is
    one token however its scale is written ("3.25 billion", "$3.25bn": "325bn"), so that another
    number of the same scale never half-matches it."""
    out: list[str] = []
    for t in normalize(_SPLIT.sub(" ", s)).split():
        t = _NUMBER_WORDS.get(t, t)
        scaled = t[0].isdigit() and _SCALED.fullmatch(t)  # the regex only where it can match (find_support calls this for every window)
        if scaled:
            t = scaled.group(1) + _SCALES[scaled.group(2)]
        elif out and t in _SCALES and out[-1].isdigit():
            out[-1] += _SCALES[t]
            continue
        out.append(t)
    return out


def same_word(a: str, b: str) -> bool:
    # equal, or one a prefix of the other ("thermodynamics"/"thermodynamic", "1990"/"1990s"), or a
    # number and its ordinal however short ("264"/"264th": the reader drops the ending)
    if a == b or (min(len(a), len(b)) >= SAME_WORD_PREFIX and (a.startswith(b) or b.startswith(a))):
        return True
    short, long = sorted((a, b), key=len)
    return short.isdigit() and long.rstrip(string.ascii_letters) == short and bool(ORDINAL_NUMBER.fullmatch(long))


def _shared(pred: list[str], gold: list[str]) -> int:
    """Words of pred matched one to one by words of gold (same_word)."""
    left, same = list(gold), 0
    for t in pred:
        for i, g in enumerate(left):
            if same_word(t, g):
                same += 1
                del left[i]
                break
    return same


def soft_f1(pred: list[str], gold: list[str]) -> float:
    same = _shared(pred, gold) if pred and gold else 0
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


def agree(a: str, b: str) -> float:
    """How far two answers say the same: the share of the shorter one's words (support_tokens:
    "325bn" for "$3.25bn"; a word matches its prefix form, as in soft_f1) that the other has, so
    an answer inside a longer one agrees with it ("13", "13 points behind"); 0.0 when either is empty."""
    short, long = sorted((support_tokens(a), support_tokens(b)), key=len)
    return _shared(short, long) / len(short) if short else 0.0


# words for span windows: whitespace, dashes and slashes end a word, so a window can take "1862"
# out of "(1862–90)" or "Kraków" out of "Kraków/Warsaw"
_WORD = re.compile(r"[^\s\-–—/]+")
POSSESSIVE = re.compile(r"['’]s$")
_ASIDE = re.compile(r"\s+\([^()]*\)$")


def find_support(answer: str, passages: list[Passage]) -> Support | None:
    """The evidence span that best matches the answer: token F1 over word windows of every
    sentence. Among equal scores, a span whose tokens are exactly the answer's beats a prefix match
    ("classes" for "class"), and one written as the answer is beats the other exact ones; then the
    first found, i.e. the earliest and shortest."""
    ans = strip_markers(answer).strip().strip(".").strip()
    ans_toks = support_tokens(ans)
    if not ans_toks:
        return None
    n_ans = len(ans_toks)
    na, as_written = normalize(ans), ans.lower()
    keep_possessive = bool(POSSESSIVE.search(ans))
    best: Support | None = None
    best_key: tuple = ()
    for p in passages:
        for s in p.sentences:
            words = [(m.start(), m.end()) for m in _WORD.finditer(s.text)]
            for i in range(len(words)):
                if not any(ch.isalnum() for ch in s.text[words[i][0] : words[i][1]]):
                    continue  # never start a span on bare punctuation
                for L in range(max(1, n_ans - 2), n_ans + 3):
                    j = i + L
                    if j > len(words):
                        break
                    span = tidy_span(s.text[words[i][0] : words[j - 1][1]])
                    if not keep_possessive:
                        span = POSSESSIVE.sub("", span)
                    toks = support_tokens(span)
                    exact = toks == ans_toks or normalize(span) == na
                    # of exact matches, the one written as the answer is: "15" of "15-6", not "a 15";
                    # "1.1%", not an earlier "11%" (normalize drops the point)
                    key = (1.0 if exact else soft_f1(ans_toks, toks), exact, exact and span.lower() == as_written)
                    if best is None or key > best_key:  # ties: the first (earliest, shortest) span
                        best, best_key = Support(span=span, sentence=s, passage=p, score=key[0]), key
    if best is not None:
        # the short answer leaves out a trailing aside: "15 kilometres (9 miles)" -> "15 kilometres"
        best.span = _ASIDE.sub("", best.span) or best.span
    return best


_PAIRS = {"(": ")", "[": "]", "{": "}", "“": "”", "‘": "’", '"': '"'}


def tidy_span(span: str) -> str:
    """Drop unbalanced brackets/quotes, a pair wrapping the whole span, and trailing punctuation
    a word window dragged in."""
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
        for o, c in _PAIRS.items():  # one pair wrapping the whole span: "(1754–1763)", '"formal"'
            once = new.count(o) == 2 if o == c else new.count(o) == new.count(c) == 1
            if len(new) > 2 and new[0] == o and new[-1] == c and once:
                new = new[1:-1].strip()
        changed = changed or new != span
        span = new
    return span


def make_citation(number: int, support: Support) -> Citation:
    h = support.passage.hit
    s = support.sentence
    return Citation(  # the chunk that holds the quote: a passage read on holds two
        number=number, doc_id=h.doc_id, title=h.title, chunk_id=s.hit.chunk_id, passage=s.hit.text, quote=s.text,
        quote_start=s.start, quote_end=s.end, score=round(float(h.score), 4), source=h.source, date=h.date,
    )


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*\[\d+(?:\s*,\s*\d+)*\]\s*")


def _content(tokens: list[str]) -> list[str]:
    return [t for t in tokens if t not in STOPWORDS]


def ground_sentences(
    answer: str, passages: list[Passage], min_support: float, limit: int = 2, question: str = ""
) -> tuple[list[Support], list[str]]:
    """An explanation, sentence by sentence: each of the model's sentences is grounded in the
    evidence sentence holding most of what it adds to the question (its content words the question
    does not have; share >= min_support), and that sentence, in the article's own words, is what the
    reader gets. A sentence that only restates the question adds nothing and is dropped. Returns
    (supports in answer order, at most `limit`, each evidence sentence once; the model's sentences
    that nothing supports)."""
    grounded: list[Support] = []
    dropped: list[str] = []
    asked = _content(support_tokens(question))
    evidence = [(p, s, _content(support_tokens(s.text))) for p in passages for s in p.sentences]  # read once
    for said in (x.strip() for x in _SENTENCE_END.split(strip_markers(answer))):
        words = [w for w in _content(support_tokens(said)) if not any(same_word(w, q) for q in asked)]
        if not words:
            if said:
                dropped.append(said)
            continue
        best: Support | None = None
        for p, s, have in evidence:
            share = sum(any(same_word(w, h) for h in have) for w in words) / len(words)
            if best is None or share > best.score:
                best = Support(span=" ".join(s.text.split()), sentence=s, passage=p, score=share)
        if best is None or best.score < min_support:
            dropped.append(said)
        elif all(g.sentence is not best.sentence for g in grounded) and len(grounded) < limit:
            grounded.append(best)
    return grounded, dropped


def best_sentences(
    question: str, passages: list[Passage], encode, term_weight: float, n: int, exclude: list | None = None,
    left_weight: float = 0.0, skip: list | None = None,
) -> list[Support]:
    """The n evidence sentences that best answer the question by their own words (cosine to the
    question + term_weight x question-term coverage, as the reranker scores a sentence), leaving
    out those in `exclude` and those that only restate the question (no content word of their own).
    A sentence chosen after others (those of `exclude`, already given, or an earlier pick) also
    gains left_weight x its coverage of the question's terms they leave out (terms_left): a
    second sentence answers what the first leaves open ("Was the boss ... given a bonus?" after
    the sentence that names the scheme). Sentences in `skip` are never chosen either (a chunk whose
    reading grounded nothing), but unlike `exclude`'s they were never given: they count as unsaid."""
    asked = _content(support_tokens(question))
    left_out = [*(exclude or []), *(skip or [])]
    cands = [
        (p, x) for p in passages for x in p.sentences
        if all(x is not e for e in left_out)
        and any(not any(same_word(w, q) for q in asked) for w in _content(support_tokens(x.text)))
    ]
    if not cands or n <= 0:
        return []
    qvec = encode([question])[0]
    scores = sentence_scores(question, qvec, [x.text for _, x in cands], encode, term_weight)
    terms, said, picks = key_terms(question), [e.text for e in exclude or []], []
    for _ in range(min(n, len(cands))):
        left = terms_left(question, said, terms) if said and left_weight else None
        value = [scores[i] + (left_weight * term_coverage(question, x.text, left) if left else 0.0) for i, (_, x) in enumerate(cands)]
        best = max((i for i in range(len(cands)) if i not in picks), key=value.__getitem__)  # the first of equals
        picks.append(best)
        said.append(cands[best][1].text)
    return [Support(span=" ".join(cands[i][1].text.split()), sentence=cands[i][1], passage=cands[i][0], score=float(scores[i])) for i in picks]
