"""Answering settings in one place: `Settings` (every weight, depth, threshold and limit of an
answer, each with its reason), the readers offered, and `Env` (the environment variables the qa
package reads, read once, at the first use; the index's, $QA_CACHE_DIR among them, are in
index/config.py)."""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field, fields, replace
from typing import Mapping

from index.config import EnvCache, env_int, env_str
from index.records import Filters  # noqa: F401 - plain data owned by the index (the store makes the query); re-exported

DEFAULT_GENERATOR = "qwen2.5-0.5b"  # measured best reader here: docs/decisions.md
GENERATORS = (DEFAULT_GENERATOR, "gemma3-270m", "smollm2-135m")  # the packaged readers the page offers


@dataclass(frozen=True)
class Env:
    """The environment variables of the qa package (None: not set)."""

    generator: str | None = None  # QA_GENERATOR: the default reader (Settings.generator): a name, a .gguf file or a model folder
    generator_runtime: str | None = None  # QA_GENERATOR_RUNTIME: openvino, llama.cpp or transformers instead of the measured choice
    max_context: int = 4096  # QA_MAX_CONTEXT: the reader's context in tokens (prompts never need more; a smaller KV cache is faster)
    threads: int | None = None  # QA_THREADS: the reader's threads (else every core this process may use)
    ov_precision: str | None = None  # QA_OV_PRECISION: OpenVINO's inference precision, e.g. f32 (else bf16 where the CPU has it)


def read_env(environ: Mapping[str, str] | None = None) -> Env:
    e = os.environ if environ is None else environ
    max_context, threads = env_int(e, "QA_MAX_CONTEXT", strict=True), env_int(e, "QA_THREADS", strict=True)
    return Env(
        generator=env_str(e, "QA_GENERATOR"),
        generator_runtime=env_str(e, "QA_GENERATOR_RUNTIME"),
        max_context=Env.max_context if max_context is None else max_context,
        threads=None if threads is None else max(1, threads),
        ov_precision=env_str(e, "QA_OV_PRECISION"),
    )


_ENV = EnvCache(read_env)
env = _ENV.get  # the qa package's environment (Env), read at the first call
reload_env = _ENV.reload  # read it again (a test, or a benchmark child that sets a variable first)


def _ranged(default, low, high):
    """A field whose value a control offers within [low, high] (the page's slider, the /ask API)."""
    return field(default=default, metadata={"range": (low, high)})


@dataclass(frozen=True)
class Settings:
    """How a question is answered. Each default is documented once, here, beside its field."""

    k: int = _ranged(5, 1, 10)  # passages given to the answerer / shown as sources (the reader reads only the first few)
    dense_depth: int = 50  # candidates from FAISS
    lexical_depth: int = 50  # candidates from BM25
    rrf_k: int = 60  # reciprocal rank fusion constant
    dense_weight: float = 1.0  # each stage's weight in the fusion: equal, neither ranking is trusted more
    lexical_weight: float = 1.0
    rerank: bool = True  # rescore the fused candidates (off: the fused order stands)
    rerank_depth: int = 30  # fused candidates the reranker rescores
    rerank_dense: float = 1.0  # reranker weights: cosine similarity of question and chunk,
    rerank_terms: float = 0.5  # share of question terms (names/numbers double) in the chunk,
    rerank_rrf: float = 0.2  # the normalised fused score,
    rerank_lexical: float = 0.3  # and the BM25 score relative to the best candidate's
    rerank_sentence: float = 1.0  # then the top `sentence_depth` add their best sentence's score
    sentence_depth: int = 5  # (cosine + rerank_terms x term coverage of that one sentence)
    sentence_dense: int = 2  # the dense stage's own top this many are rescored so too (a chunk only it ranks high)
    rerank_model: str = "mpnet"  # and a larger embedder's cosine of question and whole chunk ("": none; a name or a local folder)
    rerank_model_weight: float = 0.8  # times this (simulated: 0.7 to 1.0 lift R@1 on news users and RGB, lower no set's; 1.1 cost news dev one)
    generator: str = field(default_factory=lambda: env().generator or DEFAULT_GENERATOR)  # the local reader (qa.generators); $QA_GENERATOR
    prompt_style: str = "auto"  # "chat" (the model's chat template) if it has one, else "completion" (four examples)
    evidence: str = "chunk"  # "chunk": the best chunk(s) whole; "sentences": best sentences of the top k
    read_passages: int = 1  # chunks the model reads ("chunk" evidence)
    explain_read_on: bool = True  # an explanation whose reply grounds nothing in its chunk is read again with the article's next chunk: a story's opening ranks first for the question's words, its reason often comes further down (docs/decisions.md)
    evidence_sentences: int = 8  # at most this many sentences ("sentences" evidence, or chunks over the token budget)
    evidence_terms: float = 0.5  # a sentence's score there: cosine + this x its question-term coverage,
    evidence_rank_penalty: float = 0.03  # minus this per rank of its chunk (a better chunk's sentence wins a near-tie)
    max_new_tokens: int = _ranged(24, 8, 256)  # a factoid answer is a short span
    explain_new_tokens: int = 64  # an explanation is one or two sentences
    answer_seconds: float = 20.0  # generation stops here, whatever the input: no request holds the model longer
    context_tokens: int = 900  # generator tokens of evidence in the prompt
    min_context_tokens: int = 64  # but at least this many, even when the reader's context leaves less room
    min_relevance: float = 1.0  # decline without calling the model below this relevance of the best passage (reranker score)
    min_support: float = 0.3  # decline below this match (token F1) of the answer to its best evidence span
    check_negation: bool = True  # decline a negated question whose supporting sentence is not negated
    check_names: bool = True  # decline when the evidence never mentions a name or number of the question
    check_numbers: bool = True  # decline a factoid answer when its passage, up to its sentence, never writes a number the question writes
    answer_type: bool = True  # decline a factoid answer without the type its question's form asks for (qa.answer_type: a year, a number, a date ...)
    min_count_similarity: float = 0.25  # decline a "how many" answer whose sentence counts a thing this unlike the question's (embedder cosine; 0: off): right answers' lowest 0.31 ("members"/"online voters"), most near-misses' below (docs/decisions.md)
    look_again: bool = True  # a factoid answer the reader is unsure of (second_below), from a sentence that says little of the question (look_said), is read once more without it; the other answer is kept when its sentence says more and the reader is surer (docs/decisions.md)
    look_said: float = 0.25  # ... "little": at most this share of the question's own words (Trace.said; measured on the answers at or below it)
    second_reader: str = ""  # cautious answering: a second reader ("gemma3-270m") reads the passage again when the reader is unsure of a factoid answer, and answers that differ are declined ("": off; it declines more near-misses but loses right answers too: docs/decisions.md)
    second_below: float = -0.4  # unsure (a second look, a second reader): the reader's mean log-probability below this (news users: -0.35 to -0.5 decline the same near-misses)
    second_said: float = 0.25  # ... and its sentence holds less than this share of the question's words other than names (its own words: news users' right answers median 0.26, near-misses 0.00; 1.01: whatever it holds)
    second_agree: float = 0.5  # the two answers agree when this share of the shorter one's words is in the other ("13" and "13 points")
    max_unanswerable: float = 1.01  # decline when the model gives "unanswerable" at least this probability (>1: only when it says it)
    min_explain_support: float = 0.5  # an explanation sentence is kept when an evidence sentence holds this share of its content words
    explain_add_best: bool = True  # an explanation of one grounded sentence gets the evidence sentence that best answers the question as its second
    gist_best: bool = True  # a question after a story's gist whose reply grounds nothing (it restates the question) gets the evidence sentences that best answer it
    explain_best_cover: float = 0.7  # ... so does any explain question when those sentences hold this share of its terms (>1: never): lower, SQuAD's near-misses, written against the paragraph, get answered (docs/decisions.md)
    gist_lede: bool = True  # a question after a story's gist is answered first by its article's opening sentence, the lede that sums the story up (news open explain contains 0.882 -> 0.971)
    yes_no_best: bool = True  # a yes/no question ("Did X win?") gets the evidence sentences that best answer it, not the reader's reply (a restatement, its yes or no often wrong)
    explain_sentences: int = 2  # at most this many evidence sentences in an explanation
    left_weight: float = 1.0  # an evidence sentence chosen after another gains this x its coverage of the question's terms the other leaves out: it answers what the first leaves open (news yes/no contains 0.559 -> 0.647)
    max_question_chars: int = 2000  # a longer question is refused before any work: every step's cost grows with it
    max_question_tokens: int = 512  # so is one longer in the reader's tokens (digits, rare scripts): the evidence needs the room
    max_history_turns: int = 20  # only the last turns of a chat are kept (a follow-up leans on the latest one)
    max_history_chars: int = 1000  # each kept history message is cut to this many characters (not an error)
    read_capitals: bool = True  # a question typed in lower case is read with the capitals the indexed articles give its words, so its names count as names
    capitalised_share: float = 0.8  # a word is read capitalised when the articles capitalise it at least this share of the times case tells ("Lazio", not "bank")
    capitalised_least: int = 2  # and at least this many times (one stray capital names nothing)
    respell: bool = True  # a name misspelt one slip of the keys away ("Ericson") is read as the indexed articles write it ("Ericsson")
    respell_chars: int = 5  # names this long or longer: a shorter one is a slip away from too many others ("Amex" / "Alex")
    follow_up_words: int = 3  # a question of at most this many words leans on the previous turn (as pronouns and "and ..." do)
    follow_up_chars: int = 200  # the follow-up rewrite reads at most this much of the previous question and of its answer
    reader_history: bool = True  # a follow-up's reader sees it as asked, after the previous question and its answer (news follow-ups: F1 0.448 -> 0.488, declined unanswerable 0.600 -> 0.700)
    follow_up_focus: int = 3  # a follow-up's own words choose which of this many top chunks of the best one's article is read (its rewrite finds the story, not the paragraph); 0: off
    follow_up_context: str = "subject"  # what a follow-up gets of the previous turn (qa.history): measured best on eval/questions/news_followups.jsonl
    filters: Filters = field(default_factory=Filters)

    def with_(self, **kw) -> "Settings":
        """A copy with the given fields changed; a None value keeps the field as it is (an option
        not given). An unknown name is an error (TypeError naming it and the fields), never ignored."""
        names = [f.name for f in fields(self)]
        unknown = [k for k in kw if k not in names]
        if unknown:
            raise TypeError(f"unknown setting {', '.join(map(repr, unknown))}{_did_you_mean(unknown[0], names)}; "
                            f"the settings are {', '.join(names)}")
        return replace(self, **{k: v for k, v in kw.items() if v is not None})


def _did_you_mean(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def field_range(name: str) -> tuple:
    """(low, high) of a Settings field a control offers (the page's sliders, the /ask API's k)."""
    return next(f for f in fields(Settings) if f.name == name).metadata["range"]
