"""Typed records passed between answering stages."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass
class Hit:
    """A retrieved chunk with the score each retrieval stage gave it."""

    chunk_id: int
    doc_id: str
    title: str
    text: str
    start: int
    end: int
    score: float  # final score used for ranking
    dense: float | None = None  # cosine similarity (None: not in dense list)
    lexical: float | None = None  # BM25 score (None: not in lexical list)
    fused: float | None = None  # reciprocal-rank-fusion score
    rerank: float | None = None  # second-stage score
    sentence: float | None = None  # score of the chunk's best sentence (reranked top only)
    model: float | None = None  # the second embedder's cosine of question and chunk (Settings.rerank_model; reranked top only)
    source: str = ""
    date: str = ""


@dataclass
class Citation:
    """One numbered source of an answer, with the sentence that supports it."""

    number: int
    doc_id: str
    title: str
    chunk_id: int
    passage: str  # the whole retrieved passage
    quote: str  # the supporting sentence inside the passage
    quote_start: int  # character offsets of the quote in the document
    quote_end: int
    score: float
    source: str = ""
    date: str = ""


@dataclass
class Trace:
    """What each answering stage saw and decided: why an answer was given or declined."""

    kind: str = "factoid"  # "factoid" (a short span) or "explain" (why / how / what did X say)
    relevance: float = 0.0  # the best passage's reranker score (cosine when reranking is off)
    missing: list[str] = field(default_factory=list)  # question names no passage mentions
    raw: str = ""  # the model's own words
    repeated: str = ""  # a first answer that only repeated the question (asked once more)
    read_on: str = ""  # an explanation's first reply, which grounded nothing in its chunk (read again with the article's next chunk)
    confidence: float | None = None  # mean log-probability of the answer tokens
    p_unanswerable: float | None = None  # the model's probability of saying the passages don't answer
    support: float | None = None  # match of the answer to its evidence (token F1, 1.0 = copied)
    looked: str = ""  # a second look's reply (read with the first answer ruled out; raw is the reply kept): qa.api.QA._look_again
    said: float | None = None  # share of the question's words other than names in the answer's sentence (a factoid answer)
    second: str | None = None  # the second reader's answer from the same passage (None: not asked)
    second_support: float | None = None  # its match to its best evidence span
    second_confidence: float | None = None  # its mean log-probability
    dropped: list[str] = field(default_factory=list)  # explanation sentences no evidence supports
    respelt: dict[str, str] = field(default_factory=dict)  # question words read as the articles spell them: {"Ericson": "Ericsson"}
    declined_by: str = ""  # the rule that declined ("" when answered)
    declined_because: str = ""  # its reason, as a person reads it
    seconds: dict[str, float] = field(default_factory=dict)  # per stage


@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    declined: bool = False
    question: str = ""
    standalone_question: str = ""  # after rewriting a follow-up from history
    short_answer: str = ""  # the bare answer span, without citation markers
    hits: list[Hit] = field(default_factory=list)
    seconds: float = 0.0
    trace: Trace = field(default_factory=Trace)  # why it was answered or declined

    def to_json(self) -> dict:
        """The answer as JSON data (text, citations, declined, trace ...) without the raw retrieval
        hits: what the page's /ask API and `python -m qa serve` both return."""
        d = dataclasses.asdict(self)
        d.pop("hits", None)
        return d

    @classmethod
    def from_json(cls, data) -> "Answer":
        """The inverse of to_json (from a server's /ask reply: qa/remote.py); hits, not in the JSON,
        come back empty. Fields this version does not know are ignored; ValueError for a malformed one."""
        d = _fields(cls, data, "answer")
        if not isinstance(d.get("text"), str):
            raise ValueError("an answer needs its text")
        cites = data.get("citations")
        cites = [] if cites is None else cites
        if not isinstance(cites, list):
            raise ValueError("citations must be a list")
        trace = data.get("trace")
        try:  # TypeError: a required field missing
            d["citations"] = [Citation(**_fields(Citation, c, "citation")) for c in cites]
            d["trace"] = Trace(**_fields(Trace, {} if trace is None else trace, "trace"))
            return cls(**{**d, "hits": []})
        except TypeError as exc:
            raise ValueError(f"malformed answer: {exc}") from None


_CAST = {"int": int, "float": float}


def _fields(cls, data, what: str) -> dict:
    """The fields of dataclass `cls` found in the JSON object `data`, numbers cast to their declared
    type (ValueError when one cannot be; text must be text, a bool a bool)."""
    if not isinstance(data, dict):
        raise ValueError(f"{what} must be a JSON object")
    out = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        v = data[f.name]
        if f.type == "bool" and not isinstance(v, bool) or f.type == "str" and not isinstance(v, str):
            raise ValueError(f"{what}.{f.name} must be {'true or false' if f.type == 'bool' else 'text'}")
        if f.type in _CAST:
            try:
                v = _CAST[f.type](v)
            except (TypeError, ValueError):
                raise ValueError(f"{what}.{f.name} must be a number, not {type(v).__name__}") from None
        out[f.name] = v
    return out


def answer_json(answer: Answer) -> dict:
    """Answer.to_json() as a function (app.answer_json is this)."""
    return answer.to_json()
