"""Does the evidence answer *this* question? Three checks that decline an answer the evidence does
not back, whatever the model says:

- names, before the model is called: a question that names something ("the mayor of *Menich*")
  is not answered by a passage that never mentions it. Names are matched leniently: accents,
  case, a shared four-letter prefix ("Norman"/"Normandy"), one typo ("Maastrich"/"Maastricht"),
  a number with a unit ("800m"/"800 metres"), number words and ordinals, and a people and its
  country ("Irish"/"Ireland") all count as mentions;
- negation: a question that asks about a negated relation ("Who did *not* sign the treaty?") is
  not answered by a sentence that states no negation: that sentence says who did;
- a lost answer: the evidence span the model's answer snapped to keeps no content word ("of" for
  "the law of 1685"), or a short answer's number is gone ("years" for "10 years").
"""
from __future__ import annotations

import re
import unicodedata

from .citations import same_word, support_tokens
from .retriever import content_terms, key_terms

_LEADING_NUMBER = re.compile(r"\d+(?=[a-z])")
_ORDINALS = {
    str(i): w
    for i, w in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
        "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split(),
        start=1,
    )
}
_NEGATION = re.compile(r"\b(?:not|never|no|nor|without|cannot)\b|n[’']t\b", re.IGNORECASE)


def negated(text: str) -> bool:
    return bool(_NEGATION.search(text))


def negation_unsupported(question: str, sentence: str) -> bool:
    """The question is negated and the supporting sentence is not."""
    return negated(question) and not negated(sentence)


def fold(text: str) -> str:
    """Lower case without accents: "Temür" -> "temur"."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


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
_SAME_PLACE = {people: set(places.split()) for people, places in _DEMONYMS.items()} | {
    place: {people} for people, places in _DEMONYMS.items() for place in places.split()
}


def _mentions(name: str, words: set[str]) -> bool:
    return _mentions_word(name, words) or any(_mentions_word(n, words) for n in _SAME_PLACE.get(name, ()))


def _mentions_word(name: str, words: set[str]) -> bool:
    if name in words:
        return True
    if any(c.isdigit() for c in name):  # numbers match exactly, or with a suffix ("1600" / "1600s")
        return any(w.startswith(name) and w[len(name) :].isalpha() for w in words)
    return any(
        same_word(name, w) or (len(name) >= 5 and len(w) >= 4 and (w[:4] == name[:4] or _one_edit(name, w))) for w in words
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


def missing_names(question: str, text: str) -> list[str]:
    """The question's names and numbers (three characters or more) that `text` never mentions, as
    the question writes them, in its order."""
    _, strong = key_terms(question)
    words = set(support_tokens(fold(text)))
    acronyms: set[str] | None = None
    missing = []
    for term in _as_written(question, strong):
        # a number with a unit or suffix ("800m", "1600s", "4th") is looked for as its number;
        # a number word ("Six Nations") as its digits, the way the evidence's words are read
        number = _LEADING_NUMBER.match(term.lower())
        names = [number.group()] if number else support_tokens(fold(term))
        if not names or all(_mentions(n, words) for n in names):
            continue
        if number and _ORDINALS.get(number.group()) in words:  # "4th" and "fourth"
            continue
        if number and _century(term) & words:  # "1600s" and "17th century"
            continue
        if len(term) >= 3 and term.isupper() and term.isalpha():  # "ECSC", "WWII": spelled out in text?
            acronyms = _acronyms(text) if acronyms is None else acronyms
            if term in acronyms:
                continue
        missing.append(term)
    return missing


def _century(term: str) -> set[str]:
    """A century's names for "1600s": {"17th", "seventeenth"}."""
    m = re.fullmatch(r"(\d{1,2})00s", term)
    if not m:
        return set()
    n = str(int(m.group(1)) + 1)
    return {n + "th", _ORDINALS.get(n, n + "th")}


def _as_written(question: str, terms: set[str]) -> list[str]:
    """The key terms as the question writes them; a number keeps its separators ("200,000", not
    "200" and "000")."""
    out: list[str] = []
    for w in re.findall(r"\d[\d,.]*\d\w*|\w+", question):
        if (w[0].isdigit() or w.lower() in terms) and len(w) >= 3 and w not in out:
            out.append(w)
    return out


def _has_number(tokens: list[str]) -> bool:
    return any(any(c.isdigit() for c in t) for t in tokens)


def span_lost_the_answer(answer: str, span: str) -> bool:
    """The evidence span keeps no content word, or a short answer's number is not in it and the
    span has no number of its own: what is left does not say what the model said."""
    if not content_terms(span):
        return True
    said, kept = support_tokens(answer), support_tokens(span)
    return len(said) <= 3 and _has_number(said) and not _has_number(kept)
