"""Does the short answer have the type its question asks for? "How much did he pay?" is not answered
by "a motorcycle crash", nor "What year ...?" by "Tuesday", nor "What was her finishing time?" by
"10,000". A reader given a passage that does not answer often copies the nearest phrase of the
wrong type; a wrong type says the passage does not answer.

Conservative by design: a type is asked for only where the question's opening words leave no doubt
(QUESTION_TYPES), and an answer fits it on any sign of that type (one number word, one month, one
word of time), so a correct answer in unusual words ("five", "last week", "after the election")
still fits. Other questions have no type and always fit. "Who ...?" has none: answers without a
capitalised name are common and right ("citizens", "whips": 19 of the 301 answerable "who"
questions of the SQuAD dev file here have only such gold answers); nor have "which firm / club /
country" questions ("a postal company" answers "What type of company ...?").
"""
from __future__ import annotations

import re
from functools import lru_cache

# a request wrapped around the question ("Can you tell me why ...", "Do you know how many ...",
# "Please tell me when ..."): the question proper follows it
REQUESTED = (
    r"(?:(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?(?:tell|remind)\s+me|please(?:\s+tell\s+me)?|tell\s+me"
    r"|do\s+you\s+know|i(?:['’]d|\s+would)\s+like\s+to\s+know|i\s+(?:want|need)\s+to\s+know|i\s+wonder)[\s,:]+"
    r"|(?:can|could|would|will)\s+you\s+(?:please\s+)?(?=explain\b|describe\b))"
)
REQUEST = REQUESTED + "?"
# verbs of saying, thinking and feeling: "what did X <verb> ..." asks for a view, answered in sentences
VIEW_VERBS = (
    r"say|said|think|thought|claim|claimed|argue|argued|warn|warned|tell|told|describe|described|explain|explained"
    r"|mean|meant|blame|blamed|react|reacted|believe|believed|fear|feared|suspect|suspected|reckon|reckoned"
    r"|feel|felt|insist|insisted|admit|admitted|suggest|suggested|conclude|concluded|saying"
)
# a follow-up may open with "and", "so", "but"
OPENER = r"^\s*(?:(?:and|so|but)\s+)?"
# a question may open so, then a request and a preposition ("By how much ...")
_OPEN = OPENER + REQUEST + r"(?:(?:by|in|on|for|at|to|of|from|about|roughly|approximately|around|exactly)\s+)?"
AUX_WORDS = "did|does|do|was|were|is|are|will|would|has|have|had|can|could|should|must|might|may|shall"
_AUX = rf"(?:{AUX_WORDS})\b"

# words a person adds to a question to greet or to thank ("Hi,", "Thanks!", "Please answer
# briefly."): they ask nothing, and capitalised they name nothing (retriever.key_terms)
COURTESY = frozenset("hi hello hey hiya howdy ok okay thanks thank thx cheers please sorry".split())
_THANKING = r"(?:many\s+)?thanks|thank\s+you|thx|cheers"
# what a message may say before its question: a greeting or a word to the listener ("Hi,", "Hey
# there!", "Quick question:", "OK so"), then statements ("I read that Ericsson's profits went up.")
_GREETING = re.compile(
    r"^\s*(?:(?:" + "|".join(sorted(COURTESY - {"thank", "thanks", "thx", "cheers"})) + "|" + _THANKING
    + r"|right|well|so|oh|hmm+|um+|(?:a\s+|one\s+)?(?:quick\s+)?question|one\s+more\s+thing)"
    r"(?:\s+there)?(?:\s*[,.!:;\u2014\u2013]+\s*|\s+-+\s+|\s+(?=so\b)))+",
    re.IGNORECASE,
)
# thanks after the question ("... final? Thanks!", "... Thank you very much.")
_THANKS = re.compile(
    r"(?<=[?.!])\s+(?:" + _THANKING + r")(?:\s+(?:a\s+lot|so\s+much|very\s+much|in\s+advance))?\s*[.!]*\s*$",
    re.IGNORECASE,
)
# where a statement before the question ends: a full stop, or a dash ("Lorry traffic is picking up - so why ...?"),
# or a comma before a question that "why", "how" or "what" opens ("According to the research, why are
# ...?", "If the maps are online, why do ...?", "hey quick question, why is ...?"); not before "who",
# "which", "where", "when" or a verb, which also go on a statement ("The bank, which was bought ...",
# "The Council, the legislative body, is made up of ..."); or "but why" / "so how" with no mark at all
# ("spam is dirt cheap to send but why is it still ...")
_SENTENCE_END = re.compile(
    r"(?:[.!:;]|\s[-\u2013\u2014]+)\s+(?=[^\W\d_])|,\s+(?=(?:why|how|what)\b)|\s+(?=(?:but|so)\s+(?:why|how)\b)", re.IGNORECASE
)
# "if" and "whether" open a question after a request ("Can you tell me if ..."); alone, "If ..." opens
# a condition ("If satellite maps are online, why do ...?")
_QUESTION_START = re.compile(
    OPENER + r"(?:" + REQUESTED + r"(?:if|whether)\b|" + REQUEST + r"(?:who|whom|whose|what|which|when|where|why|how|"
    + AUX_WORDS + r"|tell|give|summari[sz]e|sum\s+up|recap|outline|fill|brief|catch|update|any|explain|describe)\b)",
    re.IGNORECASE,
)


def without_courtesy(message: str) -> str:
    """The message without a greeting before its question ("Hi, how ..." -> "How ...", "Quick
    question: ...") or thanks after it: words that ask nothing, which retrieval and the reader need
    not read."""
    read = _GREETING.sub("", message, count=1)
    if read != message:
        read = read[:1].upper() + read[1:]  # the question now opens the message
    read = _THANKS.sub("", read).strip()
    return read if read and read != message.strip() else message


def opens_as_question(text: str) -> bool:
    """Does the text open with a question form ("who ...", "did ...", "tell me ...")?"""
    return bool(_QUESTION_START.match(text))


_ELLIPSIS = re.compile(r"^\s*(?:and|but|so|also|what\s+about|how\s+about)\b\s*", re.IGNORECASE)


def asks_again(follow_up: str) -> bool:
    """A follow-up with no question form of its own ("And Qantas shares?", "What about Arsenal?"):
    it asks the previous question again, of something else, so it asks for the same type."""
    q = without_courtesy(follow_up)
    m = _ELLIPSIS.match(q)
    return bool(m) and not opens_as_question(q[m.end():])


HEDGES = ("exactly", "precisely", "actually", "really")  # "What exactly ...?", "How many exactly?": they ask nothing more
_HEDGE = re.compile(r"\b(what|when|where|why|how|who|which)\s+(?:" + "|".join(HEDGES) + r")\b", re.IGNORECASE)
# a check of what was said before, then the question ("I read that ... - is that right, and who's his agent?")
_CONFIRM = re.compile(r"^\s*(?:is|was)\s+(?:that|this|it)\s+(?:right|true|correct|so)\s*[?,]?\s*(?:(?:and|so|but|if\s+so)[\s,]+)?"
                      r"(?=(?:who|whom|whose|what|which|when|where|why|how)\b)", re.IGNORECASE)


@lru_cache(maxsize=256)  # every question form reads it, several times a question
def question_proper(message: str) -> str:
    """The question a message asks, without what it says first: a greeting ("Hi, how many jobs
    ...?" -> "how many jobs ...?") or statements before it ("I read that Ericsson's profits went
    up. Why did they rise?" -> "Why did they rise?"). A message that opens with a question form is
    its own question ("What did Mr. Blair say?" is not cut at "Mr."); so is one with no later
    sentence that opens as a question does. A hedge after the question word goes too ("What exactly
    is X accused of?", "When exactly did ...?"), and a check of what was said before ("... - is that
    right, and who's his agent?" -> "who's his agent?"). The question forms below read the question
    proper; the names, numbers and words of the whole message still count."""
    message = _HEDGE.sub(r"\1", message)
    q = _GREETING.sub("", message, count=1)
    if opens_as_question(q):
        return _CONFIRM.sub("", q, count=1)
    first_mark = q.find("?")
    for m in _SENTENCE_END.finditer(q):
        if 0 <= first_mark < m.start():
            break
        if opens_as_question(q[m.end():]):
            return _CONFIRM.sub("", q[m.end():], count=1)
    return message


# money's names: a sum in them is no count, nor does "How many euros ...?" count things
_CURRENCY_WORDS = (r"pounds?|dollars?|euros?|pence|cents?|yen|yuan|francs?|krone|kroner|lira|lire|rupees?"
                   r"|roubles?|rubles?|marks?|quid")

# what "how much" may ask about that money does not measure
_MEASURES = (r"weight|time|rain|rainfall|snow|snowfall|land|ground|space|water|memory|storage|data|sleep"
             r"|electricity|energy")

# the type each question form asks for, the first that matches
QUESTION_TYPES: list[tuple[str, re.Pattern]] = [
    ("clock", re.compile(_OPEN + r"(?:what|which)(?:['’]s|\s+(?:was|is|were|are))?\s+(?:\w+(?:['’]s)?\s+){0,3}?"
                         r"(?:finishing|winning|finish|race|running)\s+time\b"
                         r"|" + _OPEN + r"what\s+time\s+" + _AUX, re.IGNORECASE)),
    ("year", re.compile(_OPEN + r"(?:what|which)\s+year\b", re.IGNORECASE)),
    # "how much" money: "How much money ...", "How much extra government funding ...", "How much of
    # Poland's national income ...", or "How much did/is/will ..." with a verb of paying
    # ("How much time did they spend?" asks for a number; so does "How much did it sell?": copies)
    ("amount", re.compile(_OPEN + r"how\s+much\s+(?:[\w'’-]+\s+){0,3}?(?:money|cash|funding|funds|compensation|profits?|revenues?"
                          r"|salary|salaries|wages?|fees?|fines?|debts?|investment|aid|budget|tax|taxes|damages|dividends?"
                          r"|bonus|bonuses|income|earnings|subsid(?:y|ies)|donations?|ransom|rent)\b|" + _OPEN + r"how\s+much\s+" + _AUX
                          + r".{0,80}?\b(?:pay|pays|paid|paying|cost|costs|costing|spend|spends|spent|bid|bids|offer|offers"
                          r"|offered|offering|worth|seek|seeks|seeking|sought|charge|charges|charged|earn|earns|earned"
                          r"|fetch|fetched)\b"
                          # "What do tickets for the show cost?", "How much is a weekend ticket?"
                          r"|" + _OPEN + r"what\s+(?:do|does|did|will|would|could|might)\b.{0,100}?\bcost\s*[?.!]*\s*$"
                          r"|" + _OPEN + r"how\s+much\s+" + _AUX + r".{0,80}?\b(?:tickets?|fares?|admission|subscriptions?)\b",
                          re.IGNORECASE)),
    # an age: "20%" is none ("How old is she?")
    ("age", re.compile(_OPEN + r"how\s+old\b", re.IGNORECASE)),
    # a quantity of something that is not money: "£65,000" is no weight ("How much weight has he lost?")
    ("measure", re.compile(_OPEN + r"how\s+much\s+(?:" + _MEASURES + r")\b", re.IGNORECASE)),
    ("count", re.compile(_OPEN + r"how\s+many\s+(?!of\b)(?!(?:" + _CURRENCY_WORDS + r")\b)[^\W\d_]", re.IGNORECASE)),
    ("number", re.compile(_OPEN + r"(?:how\s+(?:many|much)\b"
                          r"|(?:what|which)\s+(?:percentage|percent|proportion|share|rate)\b)", re.IGNORECASE)),
    ("date", re.compile(_OPEN + r"when(?:['’]s\b|\s+" + _AUX + ")", re.IGNORECASE)),
    ("length", re.compile(_OPEN + r"how\s+long\b", re.IGNORECASE)),
]

# what each type is, as a reason reads it
TYPE_NAMES = {
    "clock": "a time or duration", "year": "a year", "amount": "an amount of money", "count": "a count",
    "number": "a number", "age": "an age", "measure": "a quantity other than money", "date": "a time or date",
    "length": "a length of time or distance",
}

NUMBER_WORDS = set(
    "zero nil none one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand "
    "million billion trillion dozen half quarter third twice double triple treble several few hundreds thousands "
    "millions billions dozens percent single free nothing".split()
)
_MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_DAYS = "monday tuesday wednesday thursday friday saturday sunday weekend weekday"
_TIME_WORDS = (  # a time or a span of time, or one told by what it comes before, after or during
    "today tonight yesterday tomorrow now ago later earlier soon recently currently once since until till "
    "after before during following when while upon by within last next this previous past coming "
    "morning afternoon evening night noon midnight dawn day days week weeks month months year years decade "
    "decades century centuries season seasons spring summer autumn fall winter christmas easter beginning start "
    "end middle period era bc ad bce ce"
)
DATE_WORDS = set(f"{_MONTHS} {_DAYS} {_TIME_WORDS}".split())
MONTHS = set(_MONTHS.split())
TIME_WORDS = set(_TIME_WORDS.split())  # a day or a month is a date, no time of day nor a duration ("Sunday" for "What time did he run?")
CLOCK = re.compile(
    r"\d\s*[:.]\s*\d\d|\d\s*(?:am|pm|a\.m|p\.m|h|hrs?|hours?|mins?|minutes?|secs?|seconds?)\b|(?<!\d\d\d)\d\s*s\b"  # not "1990s"
    r"|\b(?:noon|midnight|o'clock|gmt|bst|local time|hours?|minutes?|seconds?)\b",
    re.IGNORECASE,
)
# an amount of money, or a share or multiple of one: a bare number is not a price ("a 13")
_CURRENCY = r"[£$€¥]"
_MONEY = (
    _CURRENCY + r"|%|\d\s*(?:m|bn|k|p)\b|\b(?:" + _CURRENCY_WORDS
    + r"|percent|per\s+cent|half|quarter|third|twice|double|triple|free|nothing)\b"
)
MONEY = re.compile(_MONEY, re.IGNORECASE)
# a size alone ("1.9 million") is money only where its sentence says so ("1.9 million shares" is not)
MAGNITUDE = re.compile(r"\b(?:thousand|million|billion|trillion)\b", re.IGNORECASE)
_MONEY_AFTER = re.compile(r"\s*(?:" + _MONEY + r")", re.IGNORECASE)  # "100 billion| dollars"
_SUM = re.compile(_CURRENCY + r"|\b(?:" + _CURRENCY_WORDS + r")\b", re.IGNORECASE)  # a sum of money: "£5m", "5m euros"
_CURRENCY_AFTER = re.compile(r"\s*(?:" + _CURRENCY_WORDS + r")\b", re.IGNORECASE)  # "20.9bn| rupees"
ORDINAL_NUMBER = re.compile(r"\b\d+(?:st|nd|rd|th)\b", re.IGNORECASE)  # "4th", "264th": a rank, the one pattern of an ordinal
PERCENT = re.compile(r"\d[\d,.]*\s*(?:%|percent\b|per\s+cent\b)", re.IGNORECASE)
_NO_UNIT = {"a", "an", "the", "about", "around", "nearly", "almost", "over", "under", "just", "some", "only"}  # "about 16"
_BARE_YEAR = re.compile(r"1[89]\d\d|20\d\d")  # a number that may be a year: "1968", "2004"
YEAR = re.compile(r"\b\d{4}s?\b|\b(?:last|next|this|that|following|previous|same)\s+year\b|['’]\d\d\b", re.IGNORECASE)
_NUMBER_THEN = re.compile(r"\d[\d,.]*\w*(?:\s+([^\W\d_]+))?")  # a number and the word after it, if any
_WORDS = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def asked_type(question: str) -> str | None:
    """The type of answer the question's opening words ask for (QUESTION_TYPES), or None."""
    question = question_proper(question)
    return next((kind for kind, form in QUESTION_TYPES if form.search(question)), None)


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORDS.findall(text)}


def _written_as(sentence: str, answer: str, after: re.Pattern, unheld: bool) -> bool:
    """Does the sentence write the answer as money: a currency sign just before it ("$1.9 million") or
    `after` just after it? `unheld`: the reply where the sentence does not hold the answer."""
    at = sentence.lower().find(answer.lower())
    if at < 0:
        return unheld
    return bool(re.search(_CURRENCY + r"\s*$", sentence[max(0, at - 3):at])) or bool(after.match(sentence, at + len(answer)))


def _sum_in(answer: str, sentence: str | None) -> bool:
    """Is the answer a sum of money ("£1.9 million"), or does its sentence write it as one: a currency
    sign before it or a currency after it ("20.9bn rupees"; a share or multiple, "14 free-to-air
    channels" or "four half-courses", is not one)? No, where there is no sentence or it does not hold
    the answer."""
    return bool(_SUM.search(answer)) or (sentence is not None and _written_as(sentence, answer, _CURRENCY_AFTER, unheld=False))


def _year_in(answer: str, sentence: str | None) -> bool:
    """Is the answer a bare year that its sentence writes as one, after a word of time ("in 1968",
    "since 2004"; not "in 2000 homes")? No, where there is no sentence."""
    if sentence is None or not _BARE_YEAR.fullmatch(answer.strip()):
        return False
    return bool(re.search(r"\b(?i:in|since|until|till|during|before|after)\s+" + re.escape(answer.strip())
                          + r"\b(?!\s+(?:[a-z]+s|people|men|women|children)\b)", sentence))  # not "in 2000 homes"


def _money_in(sentence: str, answer: str) -> bool:
    """Does the sentence write the answer as money ("$1.9 million", "100 billion dollars")? An answer
    the sentence does not hold has the benefit of the doubt."""
    return _written_as(sentence, answer, _MONEY_AFTER, unheld=True)


def fits_type(kind: str | None, answer: str, sentence: str | None = None) -> bool:
    """The answer shows a sign of the type (any sign at all: see the module's note). Where the
    answer's sentence is given, a size alone ("1.5 million") is an amount of money only if the
    sentence writes it as money ("just 1.5 million" viewers is not)."""
    if kind == "sum":  # an amount of money, and not a percentage alone ("11%" is no revenue)
        return not (PERCENT.search(answer) and not _SUM.search(answer)) and fits_type("amount", answer, sentence)
    if kind == "amount":
        if MONEY.search(answer):
            return True
        return bool(MAGNITUDE.search(answer)) and (sentence is None or _money_in(sentence, answer))
    if kind == "count":  # a number, and not only a share ("40%" is not how many subscribers), nor a sum of
        if _sum_in(answer, sentence) or _year_in(answer, sentence):  # money ("20.9bn| rupees" employs no one),
            return False  # nor a year ("in 1968" sold no copies)
        return fits_type("number", PERCENT.sub(" ", answer))
    if kind == "age":  # a number, and not a share or a sum of money ("20%" is no one's age)
        return not (PERCENT.search(answer) or _sum_in(answer, sentence)) and fits_type("number", answer)
    if kind == "measure":  # a number, and not a sum of money ("£65,000" weighs nothing)
        return not _sum_in(answer, sentence) and fits_type("number", answer)
    if kind == "number":  # an ordinal ranks, it counts nothing ("21st" for "How many people ...?")
        answer = ORDINAL_NUMBER.sub(" ", answer)
        return any(c.isdigit() for c in answer) or bool(_words(answer) & NUMBER_WORDS)
    if kind == "year":
        return bool(YEAR.search(answer))
    if kind == "date":  # a number counting something else is no date ("50 countries", "2nd Battalion")
        return bool(_words(answer) & (DATE_WORDS | NUMBER_WORDS)) or bool(CLOCK.search(answer)) or any(
            not m.group(1) or m.group(1).lower() in DATE_WORDS for m in _NUMBER_THEN.finditer(answer))
    if kind == "length":  # a span of time or a distance has its unit ("16 weeks", "three months", "2km"): "16" or
        # "one" alone is neither; a year may be where it ends ("until 1796")
        return bool(_words(answer) - NUMBER_WORDS - _NO_UNIT or YEAR.search(answer))
    if kind == "clock":  # a clock time or a duration, or a time told in words ("that evening"): not a bare number
        return bool(CLOCK.search(answer)) or bool(_words(answer) & TIME_WORDS)
    return True


# a yes/no form with "or" between options ("Is the treaty one that would alter existing treaties or
# replace them?", "Did Chelsea or Arsenal win?"; "whether or not" offers none), or options after a
# comma at the end, a few words each ("Who scored more, Henry or Pires?")
_CHOICE = re.compile(
    _OPEN + _AUX + r".*\bor\b(?!\s+not\b)|,\s*(?:[^\s,?]+\s+){0,3}?[^\s,?]+\s+or\s+(?:[^\s,?]+\s+){0,3}?[^\s,?]+\s*\?*\s*$",
    re.IGNORECASE | re.DOTALL,
)


_WHO_OR_WHICH = re.compile(_OPEN + r"(?:who|whom|whose|which)\b", re.IGNORECASE)


def asks_who_or_which(question: str) -> bool:
    """Does the question ask for someone or something by "who" or "which" ("Who replaced ...?")?"""
    return bool(_WHO_OR_WHICH.match(question_proper(question)))


def offers_choice(question: str) -> bool:
    """The question offers its answers ("... alter existing treaties or replace them?"), so the
    right answer is in the question's own words."""
    return bool(_CHOICE.search(question_proper(question)))


_OPENED = re.compile(OPENER, re.IGNORECASE)
_ASKED = re.compile(OPENER + REQUEST, re.IGNORECASE)  # what comes before the question proper
_YES_OR_NO = re.compile(_AUX, re.IGNORECASE)
_IF = re.compile(r"(?:if|whether)\b", re.IGNORECASE)  # after a request: "Can you tell me if ..."


def asks_yes_or_no(question: str) -> bool:
    """The question is answered yes or no ("Did Ericsson's profits rise?", "can you tell me if Lazio
    lost"), not by one of the options it names (offers_choice) nor by a name or a number ("Do you
    know who won?", "If the plan fails, who pays?")."""
    question = question_proper(question)
    at = _ASKED.match(question).end()
    rest = question[at:]
    requested = at > _OPENED.match(question).end()
    return bool(_YES_OR_NO.match(rest) or (requested and _IF.match(rest))) and not offers_choice(question)


# a share of money or a change in it, which a percentage answers ("By how much did BT cut its charges?",
# "How much of Poland's national income ...?", "How much did profits fall by?")
_SHARE_OR_CHANGE = re.compile(
    r"\bby\s+how\s+much\b|\bhow\s+much\s+of\b|\b(?:rise|rises|rose|risen|fall|falls|fell|fallen|cut|cuts|reduc\w*|increas\w*"
    r"|decreas\w*|drop\w*|jump\w*|grow|grows|grew|grown|shrink\w*|shrank|slump\w*|climb\w*|lower\w*|rais\w*|boost\w*)\b",
    re.IGNORECASE,
)


def wrong_type(question: str, answer: str, sentence: str | None = None) -> str | None:
    """The type the question asks for when the answer (read in its sentence, where given) does not
    have it, else None. An amount of money is read as a "sum" unless the question asks for a share of
    one or a change in it, which a percentage answers."""
    kind = asked_type(question)
    fit = "sum" if kind == "amount" and not _SHARE_OR_CHANGE.search(question_proper(question)) else kind
    return None if fits_type(fit, answer, sentence) else kind
