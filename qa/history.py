"""Follow-up questions: rewrite "and when did that happen?" into a standalone question.

The tiny local models rewrite poorly, so the rewrite is deterministic: a question that leans on the
previous turn (a pronoun, "and ...", very short) gets, in brackets, what that turn was about. What it
gets is Settings.follow_up_context, each measured on eval/questions/news_followups.jsonl:

- "subject" (the default): a question with a pronoun gets the subject of the previous question
  ("What did [the Home Office review] find?") and the names and numbers of its answer, the two
  things "it", "he" or "they" most often stand for; a question without one ("And where?", "Who came
  second?") gets the whole previous question and the answer's names and numbers. When the
  previous question's wh-phrase is its subject ("Which company developed the V603SH?"), the answer
  is what it asked for, and the whole question is kept too.
- "names": the whole previous question and the names and numbers of its answer.
- "question": the whole previous question only.
- "turn": the whole previous question and the answer's text (before issue 14).

The answer's other words are left out (all but "turn"): they pull retrieval towards the passage that
answered the previous question, and they reach the decline rules as if the person had asked them (a
"not" negated the follow-up, a sentence's first word read as a name). The reader (chat style) reads
the follow-up as asked, after the previous question and its answer (`follow_up_of`;
Settings.reader_history): read as a question, the brackets made it answer with the previous answer.
Only the first s.follow_up_chars characters of the previous question and of its answer are read: the
question stays bounded, whatever the history holds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from index.lexical import STOPWORDS

from .answer_type import question_proper, without_courtesy
from .config import Settings
from .text import is_decline, strip_markers

CONTEXTS = ("subject", "names", "question", "turn")

_FOLLOW = re.compile(
    r"^\s*(and|but|so|also|what about|how about)\b|\b(it|its|it's|that|this|those|these|they|them|their|he|him|his|she|her|there|then|the same)\b",
    re.IGNORECASE,
)
_PRONOUN = re.compile(r"\b(it|its|it's|they|them|their|he|him|his|she|her|this|that|these|those)\b", re.IGNORECASE)
# a word as names and numbers are written: "Jetstar", "R&B", "O'Brien", "£522,000", "7-6", "4.7.1", "$1m"
_WORD = re.compile(r"[$£€]?\w+(?:[&'’.,/-]\w+)*%?")
_POSSESSIVE = re.compile(r"['’]s$")

_WH = {"what", "which", "who", "whom", "whose", "when", "where", "why", "how"}
_AUX = set("do does did is are was were has have had will would can could should may might must be been being".split())
_MODAL = {"will", "would", "can", "could", "should", "may", "might", "must"}
_DET = set("the a an its his her their this that these those".split())
_ADVERBS = set("still also now already just once probably ever never recently currently really actually finally".split())
_IRREGULAR = set("""been begun bought brought built caught chosen come cut done drawn driven eaten fallen felt found
given gone got grown had heard held hit hurt kept known laid led left lent let lost made meant met paid put read run said
seen sent set shown shut sold spent spoken stood struck taken taught told thought understood won written""".split())
_PREP = set("in on at to for with from by of into over under about after before as than since during against "
            "between through up off out when while".split())


def is_follow_up(question: str, s: Settings | None = None) -> bool:
    """Does the message lean on the previous turn: its question opens with "and", "what about" ...
    or holds a pronoun, or the message, greeting and thanks aside, is a few words ("And where?",
    "Thanks! Who?"; not "ABN Amro job cuts - how many?", whose statement names its subject)."""
    words = len(without_courtesy(question).split())
    return bool(_FOLLOW.search(question_proper(question))) or words <= (s or Settings()).follow_up_words


def answer_names(answer: str) -> list[str]:
    """The names and numbers of an answer, in its order, each once: runs of capitalised words
    ("Judy Boynton", "Maroon 5") and numbers ("£522,000", "7-6"). The first word is a name only
    when the answer is that name ("Jetstar, the budget airline ...") or a name of several words
    starts there ("Patsy Rowlands", "Leicester and Saracens"): "Because of ...", "Key documents
    ..." name nothing."""
    runs: list[str] = []
    joined = False  # the next name word continues the last run
    for i, m in enumerate(_WORD.finditer(answer)):
        w = _POSSESSIVE.sub("", m.group())
        number = w[:1].isdigit() or w[:1] in "$£€"
        name = number or (w[:1].isupper() and w.lower() not in STOPWORDS)
        if name and i == 0 and not number:
            after = re.sub(r"^\s*(?:&|and\b)", "", answer[m.end():]).lstrip()
            name = not after or after[0] in ",.;:([" or after[0].isupper()
        if name:
            if joined:
                runs[-1] += " " + w
            else:
                runs.append(w)
        # a run ends at punctuation or a possessive ("Ahold's inflated": Ahold)
        joined = name and w == m.group() and not answer[m.end():m.end() + 1].strip()
    return list(dict.fromkeys(runs))


def question_subject(question: str) -> str | None:
    """The subject of a wh-question whose wh-phrase is not its subject: the words between the
    auxiliary and the main verb ("What did [the Home Office review] find?", "How much is [Shell]
    paying ...?"); None when the wh-phrase is the subject ("Who leads ...?", "Which film was
    named ...?", "How many people are on broadband ...?") or the question has no such shape.

    Read from the word forms alone (no parser, no lexicon beyond a few closed word classes): the
    subject ends at the first word after it that is an auxiliary, an adverb, a verb ending in -ed
    or -ing, a lower-case word before a preposition or determiner ("oil prices [fall] in ..."), or a
    preposition after a name ("Serena Williams [in] the world rankings"); failing those, at a
    lower-case word between two names ("Tottenham [beat] Nottingham Forest")."""
    words = [w for w in (t.strip(".,?!;:\"'") for t in question.split()) if w]
    low = [w.lower() for w in words]
    wh = next((k for k, w in enumerate(low) if w in _WH), None)
    aux = next((k for k in range(wh + 1, len(words)) if low[k] in _AUX), None) if wh is not None else None
    if aux is None or aux + 1 >= len(words):
        return None  # "Who leads the shortlist?", "Which act beat Kanye West?": no auxiliary follows
    rest, lr = words[aux + 1:], low[aux + 1:]
    lower = [w == w.lower() for w in rest]  # "iPod", "PwC" are names
    if low[aux] not in ("do", "does", "did") and lower[0] and lr[0] not in _DET and (
        _participle(lr[0]) or lr[0] in _PREP or lr[0] in _ADVERBS or low[aux] in _MODAL
    ):
        return None  # "has died", "was named", "are on broadband", "will open": the wh-phrase is the subject
    copula = low[aux] in ("is", "are", "was", "were")
    ends = [k for k in range(1, len(rest)) if lower[k] and (
        lr[k] in _AUX or lr[k] in _ADVERBS or ("-" not in rest[k] and _participle(lr[k]))
        or (lr[k] in _PREP and not lower[k - 1])  # "Serena Williams in the world rankings"
        or (lr[k] not in _DET | _PREP and (k + 1 == len(rest) or lr[k + 1] in _DET | _PREP)
            and not (copula and lower[k - 1])))]  # "oil prices fall in", "the Booker Prize worth" (not "the market leader in")
    between = [k for k in range(1, len(rest) - 1) if lower[k] and not lower[k - 1] and not lower[k + 1] and lr[k] not in _DET | _PREP]
    end = min(ends, default=None)
    if end is None:
        end = min(between, default=len(rest))
    subject = rest[:end]
    while subject and subject[-1].lower() in _DET | _PREP:
        subject.pop()
    return " ".join(subject) or None


def _participle(word: str) -> bool:
    return word.endswith(("ed", "ing")) or word in _IRREGULAR


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


@dataclass(frozen=True)
class FollowUp:
    """A follow-up as asked, and the turn it leans on as read: the first s.follow_up_chars
    characters of that turn's question and of its answer (without citation markers; "" for a
    declined answer)."""

    asked: str
    question: str
    answer: str


def follow_up_of(question: str, history: list[tuple[str, str]] | None, s: Settings | None = None) -> FollowUp | None:
    """The question with its previous turn when it is a follow-up (is_follow_up), else None."""
    s = s or Settings()
    q = question.strip()
    if not history or not is_follow_up(q, s):
        return None
    prev_q, prev_a = history[-1]
    n = s.follow_up_chars
    prev_a = strip_markers((prev_a or "")[: 2 * n]).strip()  # a slice, with room for the [n] markers it drops
    return FollowUp(asked=q, question=(prev_q or "")[: 2 * n].strip()[:n], answer="" if is_decline(prev_a) else prev_a[:n].strip())


def standalone_question(question: str, history: list[tuple[str, str]] | None, s: Settings | None = None) -> str:
    """The question a follow-up stands for: the question, then in brackets what the previous turn
    was about (the module's docstring); any other question as it is."""
    s = s or Settings()
    q = question.strip()
    follow_up = follow_up_of(q, history, s)
    return q if follow_up is None else rewritten(follow_up, s)


def rewritten(follow_up: FollowUp, s: Settings) -> str:
    """A follow-up as standalone_question rewrites it, from its FollowUp (for a caller that holds
    one already)."""
    q = follow_up.asked
    if s.follow_up_context not in CONTEXTS:
        raise ValueError(f"follow_up_context must be one of {', '.join(CONTEXTS)}, not {s.follow_up_context!r}")
    prev_q, prev_a = follow_up.question, follow_up.answer
    if s.follow_up_context == "turn":
        context = [prev_q, prev_a]
    elif s.follow_up_context == "question":
        context = [prev_q]
    else:
        subject = question_subject(prev_q) if s.follow_up_context == "subject" and _PRONOUN.search(q) else None
        said = _words(subject or prev_q)
        # a name the context already holds is not said twice (the small reader echoes a repeated name)
        context = [subject or prev_q, *(x for x in answer_names(prev_a) if not _words(x) <= said)]
    extra = " ".join(x for x in context if x)
    return f"{q} ({extra})" if extra else q
