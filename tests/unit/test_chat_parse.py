from alignment.chat_parse import parse_situation
from alignment.turns import Conversation, TurnReader, ValueDef


def test_bulleted_options():
    p = parse_situation("Two casualties, one kit.\n- Treat the soldier\n- Treat the civilian\n")
    assert p.scenario == "Two casualties, one kit."
    assert p.options == ["Treat the soldier", "Treat the civilian"]


def test_numbered_and_lettered_options():
    p = parse_situation("Job offer.\n1. Take the job\n2) Stay\nA) Negotiate")
    assert p.options == ["Take the job", "Stay", "Negotiate"]


def test_options_line_and_should_question():
    p = parse_situation("I have one ticket. Options: give it to Ann; keep it; sell it")
    assert p.options == ["give it to Ann", "keep it", "sell it"]
    q = parse_situation("My friend is late again. Should I wait for him or leave without him?")
    assert q.options == ["wait for him", "leave without him"]
    assert q.complete


def test_options_typed_on_the_situation_line():
    # a chat box sends on Enter, so the options often come on the same line, after spaced hyphens
    p = parse_situation(
        "Two soldiers are hurt and I have one tourniquet. One caused the blast by mistake. "
        "- Treat the soldier who caused it - Treat the other soldier"
    )
    assert p.scenario == "Two soldiers are hurt and I have one tourniquet. One caused the blast by mistake."
    assert p.options == ["Treat the soldier who caused it", "Treat the other soldier"]
    # the listed options win over the ones a "Should I X or Y?" question would give
    q = parse_situation("Should I put my savings in a fund or start a food truck? - Index fund - Food truck")
    assert q.scenario == "Should I put my savings in a fund or start a food truck?"
    assert q.options == ["Index fund", "Food truck"]
    # one spaced hyphen is punctuation, and hyphenated words are words
    r = parse_situation("I have two choices - both bad. My well-known friend asked for a long-term loan.")
    assert not r.complete and r.options == []


def test_questions_that_name_their_options():
    cases = {
        "Index fund or food truck?": ["Index fund", "food truck"],
        "Which should I choose: the index fund or the food truck?": ["the index fund", "the food truck"],
        "I can either take the job in Berlin or stay in Lyon.": ["take the job in Berlin", "stay in Lyon"],
        "Is it better to rent or to buy a flat?": ["rent", "buy a flat"],
        "My sister needs 5,000. Lend it to her, or keep it for my emergency fund?": [
            "Lend it to her",
            "keep it for my emergency fund",
        ],
        "What is better for me, a fixed-rate or a variable mortgage?": [
            "a fixed-rate",
            "a variable mortgage",
        ],
        "Tea, coffee or juice?": ["Tea", "coffee", "juice"],
        "Do you think I should sell or keep the car?": ["sell", "keep the car"],
        "Two patients. Who should I treat first, the soldier or the civilian?": [
            "the soldier",
            "the civilian",
        ],
        "Should I stay or should I go?": ["stay", "go"],
        "I got a car. Option A: sell it. Option B: keep it.": ["sell it", "keep it"],
    }
    for text, options in cases.items():
        parsed = parse_situation(text)
        assert parsed.options == options, text
        assert parsed.complete
    assert parse_situation("I got a car. Option A: sell it. Option B: keep it.").scenario == "I got a car."
    # not dilemmas: a statement with "or", a yes/no question, a follow-up about values
    for text in (
        "I have two or three friends coming over tonight.",
        "Should I tell my boss about my colleague's mistake?",
        "What if I cared more about security or less about risk?",
        "Why did you pick the fund or not the truck?",
    ):
        assert not parse_situation(text).complete, text


def test_missing_options_is_incomplete():
    p = parse_situation("I do not know what to do about my job.")
    assert not p.complete and p.options == []
    assert not parse_situation("- only one option").complete


def _reader(*names: str) -> TurnReader:
    return TurnReader(None, [ValueDef(n) for n in names])  # outright matches only: no embedder


def test_follow_ups():
    options = ["Treat the soldier", "Treat the civilian", "Wait"]
    c = Conversation(options=options, chosen=0, decided_on=["fairness"])
    reader = _reader("fairness", "risk_aversion")
    assert reader.read("why not B?", c).option == 1
    assert reader.read("Why not the civilian?", c).option == 1
    assert reader.read("why not the last one", c).option == 2
    f = reader.read("What if I cared more about fairness?", c)
    assert (f.kind, f.attribute, f.direction) == ("what_if", "fairness", "more")
    f = reader.read("what if I cared less about risk aversion", c)
    assert (f.kind, f.attribute, f.direction) == ("what_if", "risk_aversion", "less")
    assert reader.read("why?", c).kind == "why"
    assert reader.read("what if I cared more about money?", c).kind == "unclear"  # asked, not guessed


def test_what_if_with_an_intensifier_and_it_for_the_one_value():
    options = ["Index fund", "Food truck business"]
    reader = _reader("security", "fairness")
    one = Conversation(options=options, chosen=0, decided_on=["security"])
    f = reader.read("What if I cared much less about it?", one)
    assert (f.kind, f.attribute, f.direction) == ("what_if", "security", "less")
    f = reader.read("what if I valued a lot more about security", one)
    assert (f.kind, f.attribute, f.direction) == ("what_if", "security", "more")
    # "it" is not a value when the decision weighed two: not guessed
    two = Conversation(options=options, chosen=0, decided_on=["security", "fairness"])
    assert reader.read("What if I cared less about it?", two).kind == "unclear"
