"""Does the evidence answer *this* question? Checks that decline an answer the evidence does not
back, whatever the model says:

- names, before the model is called: a question that names something ("the mayor of *Menich*")
  is not answered by a passage that never mentions it. Names are matched leniently: accents,
  case, a shared four-letter prefix ("Norman"/"Normandy"), one typo ("Maastrich"/"Maastricht"),
  a number with a unit ("800m"/"800 metres"), number words and ordinals, and a people and its
  country ("Irish"/"Ireland") all count as mentions;
- negation: a question that asks about a negated relation ("Who did *not* sign the treaty?") is
  not answered by a sentence that states no negation: that sentence says who did;
- a lost answer: the evidence span the model's answer snapped to keeps no content word ("of" for
  "the law of 1685"), or a short answer's number is gone ("years" for "10 years");
- a rate (`rate_unsaid`): "How much a week ...?" is not answered by a sentence that gives no amount
  a week ("six months");
- what a count counts (`counts`): the thing a "how many" question counts and the thing its answer's
  sentence counts with that number, which the verify stage compares ("two months" for "How many
  MEPs voted ...?").
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable

from .answer_type import (AUX_WORDS, HEDGES, MAGNITUDE, MONTHS, NUMBER_WORDS, ORDINAL_NUMBER, VIEW_VERBS, asks_who_or_which,
                          offers_choice, question_proper)
from .citations import POSSESSIVE, same_word, support_tokens
from .retriever import STOPWORDS, content_terms, key_terms, stem, term_coverage

NAME_CHARS = 3  # the question's names and numbers this long or longer are checked ("EU", "10" are not)
ACRONYM_LETTERS = 3  # an all-capitals name this long may be spelled out in the text ("ECSC")
PREFIX = 4  # a name and a word sharing their first this many letters name the same ("Norman"/"Normandy") ...
LENIENT_CHARS = 5  # ... as do one-typo spellings, for names this long or longer (short ones must match)
RESTATES = 0.5  # a sentence holding this share of a negated question's terms (its negation aside) restates it, not negated
SHORT_ANSWER = 3  # an answer of at most this many tokens is lost when its number is ("years" for "10 years")
COUNT_WORDS = 3  # a count's noun phrase is read to at most this many words ("Nintendo DS consoles", "WAP page impressions")

_LEADING_NUMBER = re.compile(r"\d(?:[\d,.]*\d)?(?=[a-z])")  # "800m", "10,000m", "4th", "1600s": the number before a unit or suffix
_ORDINALS = {
    str(i): w
    for i, w in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
        "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split(),
        start=1,
    )
}
# "no" and "never" in a hyphenated word name a kind of thing and negate nothing ("a no-frills carrier",
# "never-before-released tracks"); "not-" keeps its sense ("a not-bloody civil war")
_NEGATION = re.compile(r"\b(?:not|nor|without|cannot)\b|(?<![\w-])(?:never|no)(?![\w-])|n[’']t\b", re.IGNORECASE)


def negated(text: str) -> bool:
    return bool(_NEGATION.search(text))


# a negation after "why", "how come" or a verb of saying is what a reason or a view is asked for,
# not the answer's own polarity ("Why couldn't the jet fly back non-stop?": "prevailing winds meant
# it would have to stop"; "What did she warn could happen if the government didn't act?")
_EXPLAINED_NEGATION = re.compile(
    rf"\b(?:why|how\s+come|for\s+what\s+reason|{VIEW_VERBS})\b.*?(?:{_NEGATION.pattern})", re.IGNORECASE | re.DOTALL
)


def negation_unsupported(question: str, sentence: str, explained: bool = False) -> bool:
    """The question is negated and the supporting sentence is not. explained: the question asks
    for a reason or a view (an explain question), whose negation after "why" or its verb of saying
    (_EXPLAINED_NEGATION) the answer explains rather than repeats, unless the sentence restates
    the question (RESTATES) without its negation, so says the opposite."""
    if not negated(question) or negated(sentence):
        return False
    if explained and _EXPLAINED_NEGATION.search(question):
        # "Why was free movement not based on citizenship?": "Free movement was increasingly based
        # on citizenship ..." says the opposite; "prevailing winds meant ..." gives the reason
        return term_coverage(_NEGATION.sub(" ", question), sentence) >= RESTATES
    return True


def fold(text: str) -> str:
    """Lower case without accents: "Temür" -> "temur"."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    """The words names are matched on: folded, then read as evidence is ("Temür's" -> "temurs")."""
    return support_tokens(fold(text))


def _one_edit(a: str, b: str) -> bool:
    """Equal but for one substitution, insertion, deletion or swap of neighbours."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) <= 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


# a people and its country name each other ("What Irish town ..." / "... in Ireland")
_DEMONYMS = {
    "american": "america", "arab": "arabia", "british": "britain", "chinese": "china", "danish": "denmark",
    "dutch": "netherlands holland", "egyptian": "egypt", "english": "england", "european": "europe",
    "french": "france", "german": "germany", "greek": "greece", "indian": "india", "iranian": "iran",
    "iraqi": "iraq", "irish": "ireland", "israeli": "israel", "italian": "italy", "japanese": "japan",
    "mongol": "mongolia", "norwegian": "norway", "polish": "poland", "russian": "russia", "scottish": "scotland",
    "spanish": "spain", "swedish": "sweden", "swiss": "switzerland", "turkish": "turkey", "welsh": "wales",
}
# ... as do a party and its nickname ("the Tory leader" / "the Conservative leader")
_NICKNAMES = {"tory": "conservative conservatives", "tories": "conservatives conservative"}


def _each_other(names: dict[str, str]) -> dict[str, set[str]]:
    """Each word and the words it names, both ways ("irish" -> {"ireland"}, "ireland" -> {"irish"})."""
    out: dict[str, set[str]] = {}
    for a, others in names.items():
        for b in others.split():
            out.setdefault(a, set()).add(b)
            out.setdefault(b, set()).add(a)
    return out


_SAME_NAME = _each_other(_DEMONYMS | _NICKNAMES)


# Words that describe rather than name: a people, country or region ("a French utility", "a New
# Zealand referee", "an EU spokesman"), a title or office ("the Attorney General"). People asking in
# their own words use them for what the article names otherwise ("EDF", "Lord Goldsmith"), so a
# missing descriptor alone never declines a question; the reader still weighs it.
_PLACES = (
    "afghan afghanistan africa african albania algeria algerian america american argentina argentine argentinian "
    "asia asian atlantic australia australian austria austrian baltic belgian belgium bosnia brazil brazilian "
    "britain british briton scots bulgaria bulgarian burma canada canadian caribbean chile chilean china chinese "
    "colombia colombian congo croatia croatian cuba cuban cyprus czech danish denmark dutch eastern egypt "
    "egyptian england english estonia ethiopia eu europe european finland finnish france french georgia georgian "
    "german germany ghana greece greek holland hungarian hungary iceland india indian indonesia indonesian "
    "iran iranian iraq iraqi ireland irish israel israeli italian italy jamaica jamaican japan japanese "
    "jordan kenya kenyan kingdom kiwi korea korean kosovo kuwait latin latvia lebanon lebanese libya libyan "
    "lithuania malaysia malaysian mexican mexico moroccan morocco nato netherlands nigeria nigerian "
    "nordic northern norway norwegian pacific pakistan pakistani palestinian peru philippines poland polish "
    "portugal portuguese romania romanian russia russian scandinavian scotland scottish serbia serbian "
    "singapore slovak slovakia slovenia southern soviet spain spanish sudan swede sweden swedish swiss "
    "switzerland syria syrian taiwan taiwanese thai thailand tunisia turkey turkish uae uk ukraine ukrainian ulster "
    "un us usa venezuela vietnam vietnamese wales welsh western yemen zimbabwe"
)
_TITLES = (
    "ambassador archbishop attorney bishop boss captain chairman chairwoman chancellor chief coach commissioner "
    "dame director duke editor executive general governor judge justice king lady lord manager mayor minister mp mps "
    "officer pope premier president prime prince princess queen secretary senator sir speaker spokesman "
    "spokeswoman treasurer"
)
# a capital, which news writes for its country's government ("Washington's demands", "Tehran will
# ship") or for what was held there ("just before Athens", "beat Italy in Rome"): the article may
# name neither. Not London, a British corpus's own city, nor the UK's other capitals.
_CAPITALS = (
    "abuja amsterdam ankara athens baghdad bangkok beijing beirut belgrade berlin brussels bucharest budapest "
    "cairo canberra caracas copenhagen damascus delhi dublin hanoi harare havana helsinki islamabad jakarta "
    "jerusalem kabul khartoum kiev kyiv lisbon madrid manila moscow nairobi oslo ottawa paris prague pretoria "
    "pyongyang riyadh rome seoul sofia stockholm taipei tehran tokyo tripoli vienna warsaw washington wellington"
)
# ... as is a place news writes for the institution there ("the Hollywood studios", "the Holyrood
# committee", "moved into Downing Street": PLACE_NAMES below for those of several words)
_SEATS = "bollywood holyrood hollywood kremlin stormont westminster whitehall"
_TITLE_WORDS = set(_TITLES.split())
_DESCRIPTORS = set(_PLACES.split()) | _TITLE_WORDS | set(_CAPITALS.split()) | set(_SEATS.split())
_COMPASS = {"north", "south", "east", "west", "central", "northern", "southern", "eastern", "western"}
_PLACE_NAMES = {  # places of several words, each of which alone names nothing, and seats of institutions
    "hong kong", "ivory coast", "middle east", "new zealand", "north korea", "saudi arabia", "south africa",
    "south korea", "sri lanka", "united kingdom", "united nations", "united states", "west indies",
    "downing street", "wall street", "fleet street", "silicon valley", "white house", "capitol hill",
}


def _describes(term: str) -> bool:
    return fold(term) in _DESCRIPTORS


# the names between "which" / "what" and the noun they ask for describe the answer, not what the
# question is about ("Which Hollywood producer ...?", "What Columbia President ...?"): the article
# may name the producer without calling him one
_ANSWER_DESCRIBED = re.compile(r"\b(?i:which|what)\s+((?:[A-Z][\w'’.&-]*\s+){1,3})(?=[a-z])")


def _answer_descriptors(question: str) -> set[str]:
    m = _ANSWER_DESCRIBED.search(question)
    return set(m.group(1).split()) if m else set()


def _mentions(name: str, words: set[str]) -> bool:
    return _mentions_word(name, words) or any(_mentions_word(n, words) for n in _SAME_NAME.get(name, ()))


def _mentions_word(name: str, words: set[str]) -> bool:
    if name in words or name + "s" in words:  # or its possessive or plural, read as one word ("AAA's" -> "aaas")
        return True
    if any(c.isdigit() for c in name):  # numbers match exactly, or with a suffix ("1600" / "1600s")
        return any(w.startswith(name) and w[len(name) :].isalpha() for w in words)
    return any(
        same_word(name, w) or (len(name) >= LENIENT_CHARS and len(w) >= PREFIX and (w[:PREFIX] == name[:PREFIX] or _one_edit(name, w)))
        for w in words
    )


_ROMAN = re.compile(r"[IVX]+")
_JOINERS = {"of", "and", "the", "for", "on", "in", "de", "du", "des", "la", "le", "&"}


def _acronyms(text: str) -> set[str]:
    """The initials of every run of capitalised words in text (and of each part of a run):
    "European Coal and Steel Community" gives "ECSC", "World War II" gives "WWII" (a Roman numeral
    after the first word is kept whole)."""
    out: set[str] = set()
    for part in re.split(r"[^\w\s&]+", text):
        words = part.split() + [""]
        run: list[str] = []
        for w in words:
            if w[:1].isupper():
                run.append(w)
            elif not (run and w.lower() in _JOINERS):
                for i in range(len(run)):
                    letters = run[i][0]
                    for x in run[i + 1 :]:
                        letters += x if _ROMAN.fullmatch(x) else x[0]
                        out.add(letters)
                run = []
    return out


def missing_names(question: str, text: str, articles: Callable[[], str] | None = None) -> list[str]:
    """The question's names and numbers (three characters or more) that `text` never mentions, as
    the question writes them, in its order.

    A name of several words counts as mentioned when the text shortens it the way articles do:
    to its initials ("AEFA" for "American Express Financial Advisors"), or to a part of it that
    `articles()` (the whole articles the text comes from, read only when a name needs them) introduced in full: "Delta cut 6,900
    jobs" in a story that began "Delta Air Lines is cutting fares"; "Mr Stearns" after "Robert
    Stearns". A story about Delta does not mention "Alaska Airlines". A name that only a statement
    before the question proper writes (answer_type.question_proper) counts as mentioned when the
    articles mention it."""
    words = set(_words(text))
    acronyms: set[str] | None = None
    in_full: str | None = None  # the articles' words

    def mentioned(term: str) -> bool:
        nonlocal acronyms
        # a number with a unit or suffix ("800m", "1600s", "4th") is looked for as its number;
        # a number word ("Six Nations") as its digits, the way the evidence's words are read
        number = _LEADING_NUMBER.match(term.lower())
        names = _words(number.group()) if number else _words(term)  # "10,000" is read as the text's "10000"
        if not names or all(_mentions(n, words) for n in names):
            return True
        if number and _mentions_word(term.lower(), words):  # a size whole, with its unit: "8x10" / the text's "8x10in"
            return True
        if number and (_ORDINALS.get(number.group()) in words or _century(term) & words):  # "4th" / "fourth", "1600s" / "17th century"
            return True
        if len(term) >= ACRONYM_LETTERS and term.isupper() and term.isalpha():  # "ECSC", "WWII": spelled out in text?
            acronyms = _acronyms(text) if acronyms is None else acronyms
            return term in acronyms
        return False

    missing: list[str] = []
    answer_described = _answer_descriptors(question)
    for run in _name_runs(question):
        folded = [fold(t) for t in run]
        if " ".join(folded) in _PLACE_NAMES or (  # "New Zealand"; "North American", "South Korea"
            any(w in _DESCRIPTORS for w in folded) and all(w in _DESCRIPTORS | _COMPASS for w in folded)
        ) or set(run) <= answer_described:
            continue
        absent = [t for t in run if not mentioned(t)]
        if len(run) > 1 and absent:
            initials = "".join(t[0] for t in run).upper()
            if re.search(rf"\b{initials}\b", text):
                continue
            if len(absent) < len(run) and articles:
                in_full = " " + " ".join(_words(articles())) + " " if in_full is None else in_full
                if " " + " ".join(_words(" ".join(run))) + " " in in_full:
                    continue
        missing += [t for t in absent if t not in missing and not _describes(t)]
    if missing and articles and (proper := question_proper(question)) != question:
        # what a statement before the question names places the story ("Davenport beat Vaidisova
        # in Melbourne. Who does she play next?"): the story is enough, the passage read may be
        # another part of it; the question proper's own names stay the passage's to mention
        asked = {t for run in _name_runs(proper) for t in run}
        if any(t not in asked for t in missing):
            unsaid = set(missing_names(question, articles()))
            missing = [t for t in missing if t in asked or t in unsaid]
    return missing


# an ordinal not after a month ranks the thing asked about rather than pinning when or where ("the
# 999th number one", not "on December 25th"); a year before a name still pins ("the 2014 World Cup")
_ORDINAL = re.compile(r"(?:(\w+)\s+)?(" + ORDINAL_NUMBER.pattern + ")", re.IGNORECASE)


def _ranks(question: str) -> set[str]:
    return {m.group(2) for m in _ORDINAL.finditer(question) if (m.group(1) or "").lower() not in MONTHS}


def numbers_unsaid(question: str, text: str) -> list[str]:
    """The numbers the question writes in digits ("in 1939", "the 200m", "85%") that `text` never
    mentions (as missing_names reads a number: "1600s" is the 17th century, "4th" fourth), but for
    an ordinal that ranks what is asked about (_ranks)."""
    ranks = _ranks(question)
    return [t for t in missing_names(question, text) if any(c.isdigit() for c in t) and t not in ranks]


_TOKEN = re.compile(r"\d[\d,.]*\d\w*|\w+(?:['’]\w+)*")


def _name_runs(question: str) -> list[list[str]]:
    """The question's key terms (key_terms' strong ones, three characters or more) as it writes
    them, a number keeping its separators ("200,000"); adjacent capitalised ones form one name
    ("Delta Air Lines"), which a possessive ends ("Marsh's Robert Stearns" is two)."""
    _, strong = key_terms(question)
    runs: list[list[str]] = []
    joined = False  # the next capitalised key term joins the last name
    for w in _TOKEN.findall(question):
        owner = POSSESSIVE.search(w)
        w = w[: owner.start()] if owner else w  # "Gou's calendar": Gou
        parts = re.findall(r"\w+", w)  # one letter after an apostrophe is no name: "didn't" beside "Raw T" ("O'Neill" is)
        key = w[0].isdigit() or any(part.lower() in strong for k, part in enumerate(parts) if k == 0 or len(part) > 1)
        capital = key and w[:1].isupper() and len(w) >= NAME_CHARS
        if key and len(w) >= NAME_CHARS:
            if capital and joined:
                runs[-1].append(w)
            else:
                runs.append([w])
        joined = capital and not owner
    return runs


def _century(term: str) -> set[str]:
    """A century's names for "1600s": {"17th", "seventeenth"}."""
    m = re.fullmatch(r"(\d{1,2})00s", term)
    if not m:
        return set()
    n = str(int(m.group(1)) + 1)
    return {n + "th", _ORDINALS.get(n, n + "th")}


def repeats_the_question(question: str, span: str) -> bool:
    """The answer says nothing the question did not ("Chelsea" for "Which team did Chelsea beat?"),
    or is one word that only inflects a question word ("the Oscars" for "Which firm is counting the
    Oscar votes?"), or answers a who / which question with no name but the question's own (names_only).
    Several question words may name something new ("NP-hard problems" for "... hard for NP ... stated
    how?"), so a phrase repeats only word for word. A question that offers a choice ("... alter
    existing treaties or replace them?") is answered in its own words."""
    said, asked = set(content_terms(span)), set(content_terms(question))
    if not said or offers_choice(question):
        return False
    return said <= asked or (len(said) == 1 and stem(next(iter(said))) in {stem(t) for t in asked}) or names_only(question, span)


_HONORIFICS = {"mr", "mrs", "ms", "miss", "dr", "sir", "lord", "lady", "dame", "prof", "professor"}


def names_only(question: str, span: str) -> bool:
    """A who / which question asks for someone or something besides what it names, so an answer
    whose names are all the question's own names no other ("Mr MacDonald" for "Who replaced Ian
    MacDonald QC on the panel?", "Vibe magazine" for "Which security firm was working at the Vibe
    awards?", "Malaysia's third-biggest lender" for "Which foreign partner did RHB pick for its
    Islamic bank in Malaysia?", "President Bush's new administration" for "Which senior official from
    Bush's new administration ...?"). Names: capitalised words (a title such as "Mr" or "President"
    is none)."""
    if not asks_who_or_which(question):
        return False
    _, strong = key_terms(question)
    asked = {stem(t) for t in strong}
    names = [POSSESSIVE.sub("", w).lower() for w in _TOKEN.findall(span) if w[:1].isupper()]
    names = [stem(w) for w in names if w not in STOPWORDS and w not in _HONORIFICS and w not in _TITLE_WORDS]
    return bool(names) and all(n in asked for n in names)


def _has_number(tokens: list[str]) -> bool:
    return any(any(c.isdigit() for c in t) for t in tokens)


def span_lost_the_answer(answer: str, span: str) -> bool:
    """The evidence span keeps no content word, or a short answer's number is not in it and the
    span has no number of its own: what is left does not say what the model said."""
    if not content_terms(span):
        return True
    said, kept = support_tokens(answer), support_tokens(span)
    return len(said) <= SHORT_ANSWER and _has_number(said) and not _has_number(kept)


_HOW_MANY = re.compile(r"\bhow\s+many\s+", re.IGNORECASE)
_PHRASE_TOKEN = re.compile(r"[^\W\d_][\w'’-]*|\S")  # a word (hyphens kept: "half-courses") or one other character
_AUX = set(AUX_WORDS.split("|"))
# what ends a noun phrase besides an auxiliary or a stopword (index.lexical's): "How many supporters turned up"
_PHRASE_ENDS = STOPWORDS | _AUX | set(HEDGES) | {"with", "over", "under", "up", "down", "only", "just", "some", "all", "each",
                                                  "per", "more", "less", "nearly", "almost", "around", "those", "while", "since", "until"}
_PAST = set("came went won took made got left fled saw ran sold lost bought gave fell rose paid held met became began "
             "said told found kept brought thought".split())  # irregular: what "-ed" does not catch
_SCALES = {"m", "bn", "k"}  # "789m": a scale written as a unit, no thing counted
# a count of any kind: "21 million online voters" and "60,000 European settlers" are people too
_ANY_KIND = {"people", "persons", "times", "ones", "things"}


@dataclass(frozen=True)
class Count:
    """What a "how many" question counts and what its answer's sentence counts with that number."""

    asked: str  # "MEPs"
    said: str  # "months" ("two months")

    @property
    def same(self) -> bool:
        """The two share a word (by stem, or one begins the other: "clergy"/"clergymen") or one
        spells out the other's initials ("Asbos", "anti-social behaviour orders"); the verify stage
        compares the rest by meaning ("tracks"/"songs")."""
        asked, said = self.asked.lower().split(), re.split(r"[\s-]+", self.said.lower())
        if any(same_word(stem(a), stem(b)) for a in asked for b in said):
            return True
        initials = "".join(w[0] for w in said if w)
        return any(a.rstrip("s") == initials for a in asked if len(a) >= 3)


def _noun_phrase(tokens: list[str]) -> list[str]:
    """The first words of `tokens` up to a function word, a verb in the past tense or anything not a
    word, at most COUNT_WORDS ("MEPs| voted for", "WAP page impressions", "clergymen| came")."""
    words: list[str] = []
    for t in tokens:
        w = t.lower()
        if not t[0].isalpha() or w in _PHRASE_ENDS or (words and (w.endswith("ed") or w in _PAST)):
            break
        words.append(t)
        if len(words) == COUNT_WORDS:
            break
    return words


def counts(question: str, answer: str, sentence: str) -> Count | None:
    """What a "How many X ...?" question counts (X: its words up to a verb or a function word) and
    what the answer's number counts in its sentence (the words after it there: "15 billion WAP page
    impressions", or the answer's own: "200 jobs"). None when either is unknown: no "how many", a
    count of any kind ("people", "times"), an answer its sentence does not hold, or no word after
    its number ("11 of the then 12 member states" counts what comes later)."""
    m = _HOW_MANY.search(question)
    if not m:
        return None
    asked = _noun_phrase(_PHRASE_TOKEN.findall(question[m.end():]))
    at = sentence.lower().find(answer.lower())
    if not asked or asked[0].lower() in _ANY_KIND or at < 0:
        return None
    after = _PHRASE_TOKEN.findall(sentence[at + len(answer):].lstrip("-"))
    while after and (MAGNITUDE.fullmatch(after[0]) or after[0].lower() in _SCALES):
        after = after[1:]  # "15 billion| WAP page impressions"
    said = _noun_phrase(after)
    said += [w for w in _PHRASE_TOKEN.findall(answer) if w[0].isalpha() and w.lower() not in _PHRASE_ENDS
             and w.lower() not in NUMBER_WORDS | _SCALES and not MAGNITUDE.fullmatch(w)]  # "200 jobs"
    return Count(" ".join(asked), " ".join(said)) if said else None


# an amount asked per unit ("How much a week ...?", "What price per share ...?", "How many barrels a day ...?")
_RATE_UNITS = ("share tonne ton barrel hour week month year day head person passenger minute litre gallon kilo kilogram "
               "unit copy ticket game match season night mile seat megabyte gigabyte employee worker household customer "
               "subscriber user").split()
_RATE = re.compile(r"\b(?:per|a|an|each|every)\s+(" + "|".join(_RATE_UNITS) + r")s?\b", re.IGNORECASE)
_AMOUNT_ASKED = re.compile(r"\bhow\s+(?:much|many)\b|\b(?:price|rate|cost|fee|salary|wage|charge)\b", re.IGNORECASE)
_PERIODIC = {"year": r"annual|yearly|annually|per\s+annum", "week": r"weekly", "month": r"monthly", "day": r"daily",
             "hour": r"hourly"}  # "an annual target of 8,000" is a year's


def rate_unsaid(question: str, sentence: str) -> str | None:
    """The unit an amount is asked per ("a week" in "How much a week were Arsenal offering Edu?")
    when the answer's sentence never names it, nor its period's adjective ("weekly"), nor an amount
    each ("$20 each", "apiece"): that sentence gives some other amount ("six months", "£52m" for a
    price per share). None when no rate is asked for, or the sentence names it."""
    m = _AMOUNT_ASKED.search(question) and _RATE.search(question)
    if not m:
        return None
    unit = m.group(1).lower()
    if stem(unit) in {stem(w) for w in _words(sentence)}:
        return None
    period = "|" + _PERIODIC[unit] if unit in _PERIODIC else ""
    return None if re.search(r"\b(?:each|apiece" + period + r")\b", sentence, re.IGNORECASE) else unit
