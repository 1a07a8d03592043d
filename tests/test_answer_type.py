"""The answer-type check (qa.answer_type) and its decline rule: no model, no index."""
from __future__ import annotations

import pytest

from qa import Settings
from qa.answer_type import asked_type, wrong_type
from qa.answerable import counts, rate_unsaid
from qa.citations import Support
from qa.evidence import Passage, hit_sentences
from qa.records import Hit
from qa.rules import VERIFY, Turn, first_decline


@pytest.mark.parametrize("question, kind", [
    ("How many people were hurt in the blast?", "count"),
    ("Do you know how many people were hurt in the blast?", "count"),  # a request around the question
    ("Can you tell me what year the plant opened?", "year"),
    ("How many of the voters backed him?", "number"),  # a share may answer it
    ("By how much did the shares fall?", "number"),
    ("How old is the Wales hooker?", "age"),
    ("How much weight has the hunger striker lost?", "measure"),  # a quantity that is not money
    ("What do tickets for the open-air show cost?", "amount"),
    ("how much is a weekend ticket for the festival this year", "amount"),
    ("What percentage of the vote did Labour win?", "number"),
    ("How much did the father pay for the album?", "amount"),
    ("How much is the make-up artist seeking from Snoop Dogg?", "amount"),
    ("How much prize money did the two gamers win?", "amount"),
    ("How much extra government funding will each pilot area receive?", "amount"),  # money by name
    ("How much net income did the company make in 2002?", "amount"),
    ("How much of Poland's national income does Warsaw produce?", "amount"),  # a share fits ("12%")
    ("How much time did the negotiators spend in talks?", "measure"),  # a verb of paying, but not money
    ("How much did the album sell?", "number"),  # copies
    ("In what year was the ruling made?", "year"),
    ("Which year did the band split?", "year"),
    ("When will the match be replayed?", "date"),
    ("When's the trial due to start?", "date"),
    ("When exactly will the match be replayed?", "date"),  # a hedge after the question word changes nothing
    ("What was Derartu Tulu's finishing time in the Great Caledonian Run?", "clock"),
    ("What time did the Ethiopian great clock in Spain?", "clock"),
    # no type: the form leaves it open
    ("When Japanese companies introduced compact trucks, what policy ended?", None),
    ("Who is the chief executive of the bank?", None),
    ("Which accountancy firm counts the Oscar votes?", None),
    ("What punishment did the court hand the sprinters?", None),
    ("Why did the copper price rise?", None),
    ("What time of year is the festival held?", None),
])
def test_the_question_form_asks_for_a_type(question, kind):
    assert asked_type(question) == kind


@pytest.mark.parametrize("question, answer", [
    # answerable questions whose right answers are in unusual words: never declined
    ("How many people were hurt in the blast?", "five"),
    ("How many people were hurt in the blast?", "dozens"),
    ("How many seats did the party win?", "2,850"),
    ("How many of the voters backed him?", "40%"),
    ("By how much did the shares fall?", "8%"),
    ("How old is the Wales hooker?", "the 32"),
    ("What share of British people have never sent a picture message?", "36%"),
    ("How much did the father pay for the album?", "$13"),
    ("How much did the group pay for the steelworks?", "$800m"),
    ("How much did Italy hope to raise?", "25bn euros"),
    ("How much did Saudi Arabia spend on spreading Wahhabism?", "100 billion"),
    ("How much does it cost to gain entry to a parliament meeting?", "free"),
    ("How much time did the negotiators spend in talks?", "three hours"),
    ("How much did the album sell?", "500,000 copies"),
    ("How much did the stamp cost?", "99p"),
    ("By how much did BT cut what it charges rivals?", "70%"),  # a change in a sum: a share answers it
    ("how much did heineken's profits fall by in 2004", "33%"),
    ("What do tickets for the open-air show cost?", "£35"),
    ("how much is a weekend ticket for the festival", "free"),
    ("How much weight has the hunger striker lost?", "two stone"),
    ("How much weight has the hunger striker lost?", "12kg"),
    ("How old is the Wales hooker?", "32"),
    ("In what year was the ruling made?", "1984"),
    ("What year did the dispute begin?", "the 1990s"),
    ("What year did the dispute begin?", "the following year"),
    ("When did it happen?", "last week"),
    ("When did it happen?", "Tuesday"),
    ("When will the game be completed?", "5 January"),
    ("When will the game be completed?", "2100 local time"),
    ("When was the first known reference to immunity?", "430 BC"),
    ("When did it happen?", "2004"),
    ("When will he retire?", "after the World Cup"),
    ("When are subject committees established?", "at the beginning of each parliamentary session"),
    ("When was Warsaw razed?", "During the Second World War"),
    ("What was her finishing time?", "2:23:45"),
    ("What was his winning time?", "9.85 seconds"),
    ("What time did the show start?", "7pm"),
    ("What time did the show start?", "that evening"),
    ("What time will the game kick off?", "2100 local time"),
    ("Who is in charge of the bank?", "the chief executive, Mr Smith"),
    ("Who elects the members of the European Parliament?", "citizens"),
])
def test_an_answer_of_the_asked_type_fits(question, answer):
    assert wrong_type(question, answer) is None


@pytest.mark.parametrize("question, answer, kind", [
    ("How much did the father pay for the Evanescence album?", "a 13", "amount"),
    ("How much extra government funding will each pilot area receive?", "400", "amount"),  # 400 dispersal orders
    ("How many subscribers does the mobile operator have?", "40%", "count"),
    ("How many people were at a Harvard sponsored regatta in 1875?", "21st", "count"),  # an ordinal ranks
    ("How old is the club?", "the 4th", "age"),
    ("How old is she?", "20%", "age"),
    ("How much weight has the hunger striker lost?", "a £65,000", "measure"),
    ("How much storage does the bigger model have?", "$599", "measure"),
    ("What do tickets for the open-air show cost?", "10,000", "amount"),  # 10,000 fans
    ("how much is a weekend ticket for the festival this year", "10 weeks", "amount"),
    ("How much revenue did Converse bring in for Nike?", "11%", "amount"),  # a share is no sum
    ("How much cash did migrant workers send home last year?", "24%", "amount"),
    ("How many people were hurt in the blast?", "the city centre", "count"),
    ("What was Derartu Tulu's finishing time?", "10,000", "clock"),
    ("What time did the Ethiopian great clock when he won the half-marathon?", "2002", "clock"),
    ("What time did he clock?", "the 1990s", "clock"),
    ("What time did Haile Gebrselassie run when he won the half-marathon?", "Sunday", "clock"),  # a day, no time
    ("What time did he clock?", "March", "clock"),
    ("In which year did the club win the cup?", "Tuesday", "year"),
    ("When is the refinery expected to start making petrol again?", "in the US as refinery problems propelled petrol prices to", "date"),
    ("When are problems that have polynomial-time solutions?", "intractable problems", "date"),
    ("When does the Miyazaki film open in UK cinemas?", "50 countries around the world", "date"),  # counts something else
    ("When did the Gurkhas arrive in Aceh?", "2nd Battalion Royal Gurkha Rifles", "date"),
    ("How long will the Boro winger be out with his hamstring injury?", "16", "length"),
    ("How long has the board given Glazer to finish his checks?", "300", "length"),
    ("How long had he been a member of the party before he was suspended?", "one", "length"),  # a number word has no unit
    ("For how long did Huguenots continue to use French names?", "the 100", "length"),
])
def test_an_answer_of_another_type_is_wrong(question, answer, kind):
    assert wrong_type(question, answer) == kind


@pytest.mark.parametrize("sentence, wrong", [
    ("The novel was published in 1968 and sold 11 million copies.", True),
    ("In 1968 the novel became a film.", True),
    ("Floods reached 1968 homes in the valley.", False),  # a count
    ("It came out in 1968 editions across Europe.", False),  # a number of things
])
def test_a_count_is_not_a_year_its_sentence_writes_as_one(sentence, wrong):
    assert (wrong_type("How many copies did the novel sell?", "1968", sentence) == "count") is wrong
    assert wrong_type("How many copies did the novel sell?", "1968") is None  # no sentence: a number fits


@pytest.mark.parametrize("answer", ["16 weeks", "three months", "2km", "until 1796", "1796", "a fortnight"])
def test_a_length_of_time_or_distance_fits_with_its_unit_or_as_the_year_it_ends(answer):
    assert wrong_type("How long will the Boro winger be out?", answer) is None


@pytest.mark.parametrize("answer, sentence, fits", [
    ("1.5 million", "Brookside was axed in 2003 after its ratings slumped from a peak of seven million to just 1.5 million.", False),
    ("1.9 million", "The deal sees Mr Fuller receive £64.5m in cash and about 1.9 million shares in the firm.", False),
    ("100 billion", "Saudi Arabia spent over 100 billion dollars in the ensuing decades.", True),
    ("1.9 million", "The firm paid $1.9 million for the rights.", True),
    ("£1.9 million", "The firm paid £1.9 million for the rights.", True),
    ("2 million", "The firm paid two million for the rights.", True),  # not in its sentence: the benefit of the doubt
])
def test_a_size_alone_is_money_only_where_its_sentence_writes_it_as_money(answer, sentence, fits):
    question = "How much did the company pay?"
    assert wrong_type(question, answer) is None  # no sentence: a size is money, as before
    assert wrong_type(question, answer, sentence) == (None if fits else "amount")


@pytest.mark.parametrize("answer, sentence, counts", [
    ("20.9bn", "Third-quarter sales rose 34% to 20.9bn rupees.", False),  # "How many people does Wipro employ?"
    ("789m", "The firm said sales were down 4% in 2004 to 789m euros ($1.03bn; £548m).", False),
    ("1.9 million", "The firm paid $1.9 million for the rights.", False),
    ("£1.9 million", "The firm paid £1.9 million for the rights.", False),
    ("1.9 million", "Mr Fuller receives about 1.9 million shares in the firm.", True),
    ("4m", "Nintendo has sold almost 4m DS consoles.", True),  # "4m" is a size, not money
    ("14", "A third of the population will receive 14 free-to-air channels.", True),  # free, half: no currency
    ("four", "Undergraduates take four half-courses per term.", True),
    ("2 million", "The firm paid two million for the rights.", True),  # not in its sentence: the benefit of the doubt
])
def test_a_sum_of_money_counts_nothing(answer, sentence, counts):
    assert wrong_type("How many shares did he get?", answer, sentence) == (None if counts else "count")
    assert wrong_type("How many shares did he get?", answer) == ("count" if answer.startswith("£") else None)  # no sentence


def test_how_many_of_a_currency_asks_for_a_number_not_a_count():
    assert asked_type("How many euros did the tickets cost?") == "number"
    assert asked_type("How many pounds of steam does the engine use?") == "number"
    assert wrong_type("How many euros did the tickets cost?", "20", "The tickets cost 20 euros.") is None


@pytest.mark.parametrize("question, kind", [
    ("What did the US regulator OFHEO accuse Fannie Mae of doing with its accounts?", "explain"),
    ("Parmalat's administrator has sued 80 banks - what is his case against them?", "explain"),
    ("What worries the RSPCA about online hunting?", "explain"),
    ("According to Ericsson's research, why are older people texting more?", "explain"),
    ("What is the name of the woman who accused him?", "factoid"),  # a name asked for, not what was said
    ("What's Age Concern's criticism of the government's plans for care budgets?", "explain"),
    ("whats the problem the church ministers in jonesboro have with nelly", "explain"),
    ("What's the Electronic Frontier Foundation's argument against Apple?", "explain"),
    ("Metal Slug 3 - where does the game's name actually come from?", "explain"),  # an origin, told in a sentence
    ("tell me where the name Yahoo came from", "explain"),
    ("What is the problem attributed to defining if two graphs are isomorphic?", "factoid"),  # the problem's name
    ("What is his case number?", "factoid"),
    ("Where did the striker come from?", "factoid"),  # a place
    ("What's the reason MG Rover's tie-up with Shanghai Automotive has been held up?", "explain"),
    ("What's behind Uefa's decision to allow matches on artificial pitches?", "explain"),
    ("What exactly is the Balco lab accused of?", "explain"),  # a hedge after "what" changes nothing
    ("What exactly is the name of the lab?", "factoid"),
    ("What did the Taliban want to subject the country to?", "factoid"),
])
def test_what_a_person_is_accused_of_or_worried_by_is_explained(question, kind):
    from qa.prompt import question_kind

    assert question_kind(question) == kind


@pytest.mark.parametrize("question, kind", [
    ("What got the blame for Japanese manufacturers turning gloomier?", "explain"),
    ("What set off the dollar's biggest one-day fall in four months?", "explain"),
    ("what actually brought down the italian food group parmalat?", "explain"),
    ("What is holding back online shopping in China?", "explain"),
    ("What has made it easier for people to get games onto their phones?", "explain"),
    ("What annoys the reviewer about Star Wars: Battlefront?", "explain"),  # a feeling's cause, as "What worries ...?"
    ("What surprised analysts about the results?", "explain"),
    ("What did Sun Microsystems compare its grid computing to?", "explain"),
    ("What does the councillor see as Labour's biggest problem?", "explain"),
    ("What did the referees' manager make of Kaplan's handling of the game?", "explain"),
    ("What did the watchdog put its higher oil demand forecast down to?", "explain"),
    ("What was made in the factory?", "factoid"),  # a passive "made": a thing, not a cause
    ("What has the firm made this year?", "factoid"),
    ("What does the company make?", "factoid"),
    ("Which composer did the Fed chairman compare Adam Smith to?", "factoid"),  # "which": a name asked for
    ("How low have Scotland sunk in the Fifa world rankings?", "factoid"),  # a degree: a span ("77th")
    ("How successful was the initial effort by Braddock?", "factoid"),
    ("How quickly can an algorithm solve the knapsack problem?", "factoid"),
    ("How did Scotland sink so low?", "explain"),
    ("How come the January sales didn't help?", "explain"),
    ("How else can the bank raise cash?", "explain"),
    ("how ebay makes its money", "explain"),
    # eleventh session: conditions, worries of what may happen, wishes for an action, advice, verdicts
    ("Under what conditions does the German chancellor think countries may run bigger deficits?", "explain"),
    ("On what grounds do officials say they can take the land?", "explain"),
    ("What are critics worried the software patents law would do to small developers?", "explain"),
    ("What were children's charities worried about in the plan?", "factoid"),  # about what: a span, as ever
    ("What are American TV networks nervous of?", "factoid"),
    ("What was the seed giant hoping to achieve by paying off an official?", "explain"),
    ("What does the marathon world record holder want done with athletes caught doping?", "explain"),
    ("What does Brian Brink want companies to do about HIV?", "explain"),
    ("What advice did the director give students?", "explain"),
    ("What's Gerard Houllier's verdict on the man who replaced him?", "explain"),
    ("What's the Sale rugby boss's answer to clubs losing players?", "explain"),
    ("What's pushing up demand for cars in India?", "explain"),  # "what's" as "what is"
    ("Tell me what the ex-WorldCom boss said in court.", "explain"),  # what was said, asked without "did"
    ("What's the deal with Dominica's Carib leader and the Disney sequel?", "explain"),
    ("spam is dirt cheap to send but why is it still such an attractive business", "explain"),
    ("What did the Taliban want to subject the country to?", "factoid"),  # a wish for a thing, not an action asked for
    ("What was the deal worth?", "factoid"),
    ("What is the answer number?", "factoid"),
    ("Tell me what company the ex-WorldCom boss worked for.", "factoid"),
    ("Which company's shares were investors worried about?", "factoid"),
    # twelfth session: a purpose, a conclusion, what is being said, a cause or a worry going on, the actual reason
    ("What's the point of Ask Jeeves buying the blog reader site?", "explain"),
    ("What did the Video Standards Council report conclude about violent games?", "explain"),
    ("What are anti-poverty campaigners saying about UK government policy?", "explain"),
    ("What's making the French striker think about leaving Manchester City?", "explain"),
    ("What's bothering the Lib Dems about the outcome of the inquiry?", "explain"),
    ("So what was the actual reason the radio group took Howard Stern off the air?", "explain"),
    ("What's the problem facing ordinary South Korean consumers right now?", "explain"),
    ("What are business groups worried about with Labour's maternity pay plans?", "explain"),
    ("What is Sony making at the plant?", "factoid"),  # a thing made, no cause
    ("What was the point score at half-time?", "factoid"),
    ("What are the warning signs of a fraud?", "factoid"),
    ("Where does the Leicester band Kasabian get its name?", "explain"),  # as "Where did ... get its name?"
    ("What's Martin O'Neill's problem with Bulgaria's post-Christmas friendly?", "explain"),  # a name with an apostrophe
    ("What convinced the law lords that holding suspects without trial was wrong?", "explain"),
    ("What's got Deutsche Boerse's Frankfurt staff worried about the LSE deal?", "explain"),
    ("What's Newry's plan if their appeal fails?", "explain"),
    ("What's India's biggest airline planning to do with the money from its share sale?", "explain"),
    ("What are the consequences for the hardware of building such a PC?", "explain"),
    ("What has the group of leading economists got against the 2004 pension law?", "explain"),
    ("What's got to happen before the deal closes?", "factoid"),  # "got to": no cause
    ("What is the plan's name?", "factoid"),
    ("What are the band planning to call the album?", "factoid"),  # a name planned, no action
])
def test_causes_views_likenesses_worries_and_wishes_are_explained_a_degree_is_a_span(question, kind):
    from qa.prompt import question_kind

    assert question_kind(question) == kind


@pytest.mark.parametrize("question, answer, repeats", [
    ("Who replaced Ian MacDonald QC on the special advocates panel?", "Mr MacDonald", True),
    ("Which security firm was working at the Vibe awards?", "Vibe magazine", True),
    ("Which foreign partner did RHB pick for its Islamic bank in Malaysia?", "Malaysia's third-biggest lender", True),
    ("Who has Korn brought in to replace Head on guitar?", "Brian 'Head' Welch", False),  # names someone new
    ("Which team did Chelsea beat?", "Arsenal", False),
    ("What is the highest court in European Union law?", "the European Court of Justice", False),  # not who / which
    ("Who won the race?", "the Kenyan", False),  # no name at all: not this check's to judge
])
def test_a_who_or_which_answer_naming_only_the_questions_names_repeats_it(question, answer, repeats):
    from qa.answerable import repeats_the_question

    assert repeats_the_question(question, answer) is repeats


def _turn(question: str, span: str, **settings) -> Turn:
    text = f"The answer is {span}."
    hit = Hit(chunk_id=1, doc_id="d", title="t", text=text, start=0, end=len(text), score=2.0, rerank=2.0)
    passage = Passage(number=1, hit=hit, sentences=hit_sentences(hit))
    turn = Turn(question=question, standalone=question, settings=Settings().with_(**settings),
                articles=lambda passages: text, hits=[hit], passages=[passage])
    turn.raw = span
    turn.supports = [Support(span=span, sentence=passage.sentences[0], passage=passage, score=1.0)]
    return turn


def test_the_rule_declines_a_wrong_type_and_says_which_was_asked_for():
    d = first_decline(VERIFY, _turn("What was Derartu Tulu's finishing time?", "10,000"))
    assert d is not None and d.rule == "type" and d.reason == "the question asks for a time or duration and the answer gives none"
    assert first_decline(VERIFY, _turn("What was Derartu Tulu's finishing time?", "31:50")) is None
    d = first_decline(VERIFY, _turn("How much did Redmond offer for Channel 4?", "1.5 million"))  # its sentence: no money
    assert d is not None and d.rule == "type" and "an amount of money" in d.reason
    assert first_decline(VERIFY, _turn("How much did Redmond offer for Channel 4?", "1.5 million pounds")) is None


def test_the_rule_can_be_turned_off_and_leaves_explanations_alone():
    assert first_decline(VERIFY, _turn("How much did he pay for the album?", "a 13", answer_type=False)) is None
    turn = _turn("How much did he pay for the album?", "a 13")
    turn.trace.kind = "explain"
    assert first_decline(VERIFY, turn) is None


def test_every_verify_rule_stands_alone_without_supports():
    """No verify rule depends on NotSupported running first: with no support at all, each one
    either declines with its own reason or lets the turn through, and none raises."""
    from qa.config import Settings
    from qa.records import Trace
    from qa.rules import VERIFY, Turn

    for kind in ("factoid", "explain"):
        turn = Turn(question="How many stores will close?", standalone="How many stores will close?",
                    settings=Settings(), articles=lambda ps: "", trace=Trace(kind=kind), raw="ten stores")
        assert [r.name for r in VERIFY if r.reason(turn)] == ["support"]


# ---- the second reader's rule (another verify rule on the same kind of turn) -------------------
def test_two_readers_that_disagree_decline_and_two_that_agree_answer():
    turn = _turn("Who came out on top in the quarter-final?", "Sania Mirza")
    assert first_decline(VERIFY, turn) is None  # no second reader asked: nothing to compare
    turn.trace.second = "Jelena Jankovic"
    d = first_decline(VERIFY, turn)
    assert d is not None and d.rule == "second" and "Jelena Jankovic" in d.reason
    turn.trace.second = "Mirza"  # part of the same name: they agree
    assert first_decline(VERIFY, turn) is None
    turn.trace.second = ""  # the second reader found nothing to say
    assert first_decline(VERIFY, turn).rule == "second"


def test_answers_agree_by_their_words_however_an_amount_is_written():
    from qa.citations import agree

    assert agree("$3.25bn", "3.25 billion dollars") == 1.0
    assert agree("13", "13 points behind Real Madrid") == 1.0  # one inside the other
    assert agree("Sania Mirza", "Mirza") == 1.0 and agree("two front teeth", "his teeth") == 0.5
    assert agree("1,200", "2,850") == 0.0 and agree("", "2,850") == 0.0 and agree("Travis", "Snow Patrol") == 0.0


@pytest.mark.parametrize("message, question", [
    ("Hi, how many jobs is ABN Amro cutting?", "how many jobs is ABN Amro cutting?"),
    ("Hey there! Did Lazio lose on Sunday?", "Did Lazio lose on Sunday?"),
    ("Quick question: who ordered the Home Office review?", "who ordered the Home Office review?"),
    ("OK so did Lazio lose?", "so did Lazio lose?"),
    ("Thanks! And when does the Mac mini go on sale?", "And when does the Mac mini go on sale?"),
    ("I read that Ericsson's profits went up. Why did they rise?", "Why did they rise?"),
    ("I saw something about this in the news. Tell me about the Gizmondo.", "Tell me about the Gizmondo."),
    # a message that opens as a question is its own question; so is one with no later question
    ("What did Mr. Blair say?", "What did Mr. Blair say?"),
    ("Who won the U.S. Open in 2021?", "Who won the U.S. Open in 2021?"),
    ("If the plan fails, who pays?", "If the plan fails, who pays?"),
    ("The U.S. Army was formed when?", "The U.S. Army was formed when?"),
    ("ABN Amro job cuts - how many?", "how many?"),
    ("The operator says lorry traffic is picking up - so why isn't it benefiting?", "so why isn't it benefiting?"),
    ("Who is the MP - the one who defected?", "Who is the MP - the one who defected?"),
    ("Did it rise? I read that it fell. What happened?", "Did it rise? I read that it fell. What happened?"),
    # a clause before a comma, then why / how / what: the question proper follows the comma
    ("According to Ericsson's research, why are older people texting more?", "why are older people texting more?"),
    ("If satellite maps are online, why do aid workers want paper ones?", "why do aid workers want paper ones?"),
    ("hey quick question, why is Davenport having a go at Wimbledon?", "why is Davenport having a go at Wimbledon?"),
    ("According to Incomes Data Services, how much do employers pay?", "how much do employers pay?"),
    # but not before who / which / a verb, which go on a statement as well
    ("The bank, which was bought in 2004, is cutting jobs - why?", "why?"),
    ("The Council, the legislative body, is made up of what type of people?", "The Council, the legislative body, is made up of what type of people?"),
    # a check of what was said, then the question: the question
    ("I read that Real Madrid are chasing Everton's midfielder - is that right, and who's his agent?", "who's his agent?"),
    ("Is it true? So when does it open?", "when does it open?"),
    ("Is that right?", "Is that right?"),  # nothing after it: it is the question
    ("Is it true that Blair lied?", "Is it true that Blair lied?"),
])
def test_the_question_proper_leaves_out_a_greeting_and_what_is_said_before_it(message, question):
    from qa.answer_type import question_proper

    assert question_proper(message) == question


def test_a_greeting_or_a_sentence_before_the_question_changes_no_question_form():
    from qa.answer_type import asks_yes_or_no, offers_choice
    from qa.prompt import asks_gist, question_kind

    for before in ("", "Hi, ", "Hey there! ", "Quick question: ", "I saw something about this in the news. "):
        assert asked_type(before + "how many jobs is ABN Amro cutting?") == "count"
        assert asked_type(before + "when does the Mac mini go on sale?") == "date"
        assert question_kind(before + "why did Ericsson's profits rise?") == "explain"
        assert question_kind(before + "who ordered the review?") == "factoid"
        assert asks_yes_or_no(before + "did Lazio lose on Sunday?") and question_kind(before + "did Lazio lose?") == "explain"
        assert asks_gist(before + "what happened to Gizmondo?")
        assert offers_choice(before + "did Henry or Pires score more?")
        assert wrong_type(before + "how much did the group pay for the steelworks?", "a motorcycle crash") == "amount"


def test_a_greeting_and_thanks_are_not_read():
    from qa.answer_type import without_courtesy

    assert without_courtesy("Hi, how many jobs is ABN Amro cutting?") == "How many jobs is ABN Amro cutting?"
    assert without_courtesy("hi, how many jobs is abn amro cutting") == "How many jobs is abn amro cutting"
    assert without_courtesy("Hey there. Did Lazio lose? Cheers") == "Did Lazio lose?"
    assert without_courtesy("Who won the final? Thank you very much.") == "Who won the final?"
    assert without_courtesy("Quick question - who won?") == "Who won?"
    # words that only look so stay: a hyphenated word, "please" inside the question, nothing left
    for q in ("Right-wing parties: who won?", "Well-known firms: who?", "Which issues may members vote on as they please?",
              "Thanks", "Hi!"):
        assert without_courtesy(q) == q


@pytest.mark.parametrize("follow_up, again", [
    ("And Qantas shares?", True), ("What about Arsenal?", True), ("and the half-time score", True),
    ("Thanks! And Qantas shares?", True),
    ("And where will it be awarded?", False), ("And when?", False), ("Who carried it out?", False),
])
def test_a_follow_up_without_a_question_form_asks_the_previous_question_again(follow_up, again):
    from qa.answer_type import asks_again

    assert asks_again(follow_up) == again


def test_a_follow_up_that_asks_again_asks_for_the_previous_questions_type():
    """"And Qantas shares?" after "How much did Virgin Blue shares fall?" asks how much Qantas
    shares fell: "Jetstar" is no answer, "8%" is one; a follow-up with its own form keeps it."""
    from qa.history import follow_up_of, standalone_question

    hist = [("How much did Virgin Blue shares fall after its profit warning?", "20% [1]")]
    for asked, span, declined in (("And Qantas shares?", "Jetstar", True), ("And Qantas shares?", "8%", False),
                                  ("And who runs its budget airline?", "Jetstar", False)):
        turn = _turn(asked, span)
        turn.standalone, turn.follow_up = standalone_question(asked, hist), follow_up_of(asked, hist)
        turn.trace.kind = "factoid"
        d = first_decline(VERIFY, turn)
        assert (d is not None and d.rule == "type") == declined, (asked, span, d)


# ---- what a count counts (qa.answerable.counts) and the rule that compares the two ------------------
@pytest.mark.parametrize("question, answer, sentence, asked, said, same", [
    ("How many MEPs voted for the directive at its second reading?", "two",
     "Poland rejected its adoption twice in two months.", "MEPs", "months", False),
    ("How many texts were sent to the appeal?", "15 billion",
     "He estimates 15 billion WAP page impressions.", "texts", "WAP page impressions", False),
    ("How many jobs is Heineken cutting in Sweden?", "200 jobs",
     "It is cutting 200 jobs in Sweden.", "jobs", "jobs", True),  # the answer's own noun
    ("How many Asbos did the courts issue?", "2,600",
     "Some 2,600 anti-social behaviour orders were issued.", "Asbos", "anti-social behaviour orders", True),  # initials
    ("How many refugees came?", "200", "200 clergymen came.", "refugees", "clergymen", False),
    ("How many clergymen came?", "200", "200 clergy came.", "clergymen", "clergy", True),  # one begins the other
    ("How many Gurkha soldiers did Britain offer?", "120", "Britain offered 120 Gurkhas.", "Gurkha soldiers", "Gurkhas", True),
])
def test_what_a_count_counts_is_read_from_the_question_and_the_answers_sentence(question, answer, sentence, asked, said, same):
    count = counts(question, answer, sentence)
    assert (count.asked, count.said, count.same) == (asked, said, same)


@pytest.mark.parametrize("question, answer, sentence", [
    ("How many people were injured?", "100", "The town is 100 kilometres south of the capital."),  # people: any kind
    ("How many times has Labour put up taxes?", "66", "66 rises in tax."),
    ("How many member states adopted the charter?", "11", "It was adopted by 11 of the then 12 member states."),  # nothing after
    ("How many copies did it sell?", "1968", "Airport (1968) remains his best-loved work."),
    ("How many copies did it sell?", "ten million", "It sold ten million."),  # nothing after the number
    ("How many copies did it sell?", "10 million", "It sold ten million copies."),  # not in its sentence as given
    ("What did it sell?", "ten", "It sold ten cars."),  # no count asked
    ("Only a handful of householders were prosecuted. How many exactly?", "11", "Only 11 householders were prosecuted."),  # a hedge counts nothing
])
def test_a_count_whose_thing_is_unknown_is_not_compared(question, answer, sentence):
    assert counts(question, answer, sentence) is None


def _counted_turn(question: str, span: str, sentence: str, encode) -> Turn:
    turn = _turn(question, span)
    hit = Hit(chunk_id=1, doc_id="d", title="t", text=sentence, start=0, end=len(sentence), score=2.0, rerank=2.0)
    passage = Passage(number=1, hit=hit, sentences=hit_sentences(hit))
    turn.passages, turn.encode = [passage], encode
    turn.supports = [Support(span=span, sentence=passage.sentences[0], passage=passage, score=1.0)]
    return turn


@pytest.mark.model
def test_the_rule_declines_a_count_of_something_else_by_the_embedders_meaning(embedder):
    """The real embedder: "supporters" are unlike a club's "year history"; "tracks" are like "songs"
    (no shared word, but the same thing), so that count answers."""
    other = _counted_turn("How many supporters turned up to watch Middlesbrough?", "128",
                          "Lazio, in their 128-year history, are top of Group E.", embedder.encode)
    d = first_decline(VERIFY, other)
    assert d is not None and d.rule == "counted" and "supporters" in d.reason and "year history" in d.reason
    same = _counted_turn("How many tracks can the phones hold?", "250", "The phones can hold 250 songs.", embedder.encode)
    assert first_decline(VERIFY, same) is None
    assert first_decline(VERIFY, _counted_turn("How many supporters turned up?", "128", "Lazio, in their 128-year "
                                               "history, lead.", None)) is None  # no embedder: not compared
    other.settings = other.settings.with_(min_count_similarity=0.0)
    assert first_decline(VERIFY, other) is None  # off


# ---- an amount asked per unit (qa.answerable.rate_unsaid, rules.RateUnsaid) -------------------------
@pytest.mark.parametrize("question, sentence, unsaid", [
    ("How much a week were Arsenal offering Edu?", "They should have come up with an offer six months before.", "week"),
    ("What price per share is Nasdaq selling its stock at?", "Nasdaq plans to raise $100m (£52m) from the sale.", "share"),
    ("How many barrels of oil a day does Venezuela produce?", "Chinese firms may operate 15 mature oil fields.", "day"),
    ("How much a week is the maternity pay?", "Mothers would get £170 a week.", None),
    ("What price per share is he offering?", "Reports put the offer at 300p per share.", None),
    ("How many applications is each officer expected to get through a year?", "Every officer had an annual target of 8,000.", None),
    ("How much did each ticket cost?", "Tickets cost £20 apiece.", None),  # each ticket: tickets, apiece
    ("How much did the minister commit per vaccine?", "Nations would buy 300m vaccines.", None),  # no unit of the list
    ("What did the firm earn?", "It earned £5m a year.", None),  # no rate asked for
])
def test_an_amount_asked_per_unit_needs_a_sentence_that_gives_one(question, sentence, unsaid):
    assert rate_unsaid(question, sentence) == unsaid


def test_the_rule_declines_an_amount_without_the_rate_asked_for():
    d = first_decline(VERIFY, _turn("How much a week were Arsenal offering Edu?", "six months"))
    assert d is not None and d.rule == "rate" and d.reason == "the question asks for an amount per week and the answer's sentence gives none"
    assert first_decline(VERIFY, _turn("How much a week were Arsenal offering Edu?", "£60,000 a week")) is None
    assert first_decline(VERIFY, _turn("How much a week were Arsenal offering Edu?", "six months", answer_type=False)) is None
