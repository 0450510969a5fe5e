"""The turn reader with the real MiniLM embedder, on phrasings written apart from the ones the
reader was developed on (the first examples a person gave are checked one by one; the rest as a share).

Measured when each batch was first run, before the reader was changed for it: the first batch
47 of 55 read right, the second 34 of 40 (the one wrong guess then, "my own finances" read as
loyalty, is now asked about). A miss left in: "Being free to make my own choices" reads as
liberty, not self-direction.

Values are the seed packs' (Schwartz, Moral Foundations, medical triage) with their everyday words."""

from __future__ import annotations

from typing import Any

import pytest

from alignment.turns import Conversation, Turn, TurnReader, ValueDef
from alignment.value_words import words_for
from profiles.seed import load_pack, value_words
from tests.helpers.examples import CachedMiniLM

CAR = Conversation(options=["Buy a new car", "Keep my old car"], chosen=0, decided_on=["security"])
LOAN = Conversation(
    options=["Co-sign the loan", "Tell him no and offer to help him find a cheaper car"],
    chosen=0,
    decided_on=["loyalty"],
)
JOB = Conversation(
    options=["Take the job in Berlin", "Stay near my family"],
    chosen=1,
    decided_on=["benevolence", "achievement"],
)
SHARE = 0.9  # of the held-apart phrasings read right


@pytest.fixture(scope="module")
def reader() -> TurnReader:
    values = [
        ValueDef(a.name, a.label, a.description, words_for(a.name), a.domain)
        for pack in ("schwartz", "moral_foundations", "triage")
        for a in load_pack(pack)
    ]
    return TurnReader(CachedMiniLM(), values)


def _high(value: float) -> bool:
    return value >= 0.65


def _low(value: float) -> bool:
    return value <= 0.35


# -- the first examples, one by one ---------------------------------------------------------------


def test_values_in_words_as_the_issue_says_them(reader: TurnReader) -> None:
    # honesty is no theory pack's value: with those packs alone the reader asks rather than guess;
    # with the everyday pack (as a chat has it) it is honesty itself
    assert reader.read("honesty matters most to me").kind == "unclear"
    everyday = TurnReader(
        CachedMiniLM(),
        [
            ValueDef(a.name, a.label, a.description, value_words(a.name), a.domain)
            for pack in ("everyday", "schwartz", "moral_foundations")
            for a in load_pack(pack)
        ],
    )
    t = everyday.read("honesty matters most to me")
    assert t.kind == "values" and list(t.values) == ["honesty"] and _high(t.values["honesty"])
    t = reader.read("family comes first; my career only a little")
    assert t.kind == "values" and _high(t.values["benevolence"]) and _low(t.values["achievement"])
    t = reader.read("generosity 0.9, financial security 0.2")
    assert t.values == {"benevolence": 0.9, "security": 0.2}
    t = reader.read("I love excitement and adventure")
    assert t.kind == "values" and list(t.values) == ["stimulation"] and _high(t.values["stimulation"])
    t = reader.read("security 0.9, stimulation 0.2")
    assert t.values == {"security": 0.9, "stimulation": 0.2}


def test_follow_ups_as_the_issue_says_them(reader: TurnReader) -> None:
    assert reader.read("why not the other one?", CAR) == Turn(kind="why_not", option=1)
    assert reader.read("why not keep my old car?", CAR) == Turn(kind="why_not", option=1)
    t = reader.read("what if I cared more about excitement?", CAR)
    assert (t.kind, t.attribute, t.direction) == ("what_if", "stimulation", "more")
    t = reader.read("what if I cared less about the environment?", CAR)
    assert (t.kind, t.attribute, t.direction) == ("what_if", "universalism", "less")
    t = reader.read("what if money mattered more?", CAR)
    assert (t.kind, t.attribute) == ("what_if", "power")
    assert reader.read("I would choose B", CAR).model_dump(include={"kind", "option"}) == {
        "kind": "feedback",
        "option": 1,
    }


def test_what_if_moves_a_value_of_the_target_not_a_triage_one(reader: TurnReader) -> None:
    fair = Conversation(options=["a", "b"], chosen=0, decided_on=["equality"])
    t = reader.read("what if I cared less about fairness?", fair)
    assert (t.kind, t.attribute) == ("what_if", "equality")  # not triage's "fairness"
    t = reader.read("what if I cared more about my career?", JOB)
    assert t.attribute == "achievement"
    t = reader.read("and what if I cared less about it?", JOB)  # two values: which one?
    assert t.kind == "unclear" and "Benevolence" in t.question and "Achievement" in t.question


def test_other_turns_as_the_issue_says_them(reader: TurnReader) -> None:
    assert reader.read("hi").kind == "greeting"
    assert reader.read("what can you do?").kind == "help"
    assert reader.read("what is the capital of France?").kind == "off_topic"
    assert reader.read("why?").kind == "no_decision"  # nothing decided yet: never "two options"
    task = "### Task:\nGenerate a concise title.\n### Chat History:\n<chat_history>\nUSER: x\n</chat_history>"
    assert reader.read(task, CAR).kind == "task"
    t = reader.read("Should I take the job in Berlin or stay near my family? Family comes first for me.")
    assert t.kind == "dilemma" and t.options == ["take the job in Berlin", "stay near my family"]
    assert _high(t.values["benevolence"])


def test_a_word_that_names_no_value_is_asked_about_not_guessed(reader: TurnReader) -> None:
    t = reader.read("what if I cared more about flurbing?", CAR)
    assert t.kind == "unclear" and t.question.startswith("Which value do you mean")
    t = reader.read("zorp matters a lot to me")
    assert t.kind in ("unclear", "off_topic") and not t.values


# -- phrasings held apart ---------------------------------------------------------------------------

# (message, conversation, expected): expected holds the kind and, where it matters, the values
# ({name: "high" | "low"}), the option, the value moved and its direction
HELD_APART: list[tuple[str, Conversation | None, dict[str, Any]]] = [
    (
        "Being truthful is the most important thing for me",
        None,
        {"kind": "values", "values": {"equality": "high"}},
    ),
    ("I really care about my kids", None, {"kind": "values", "values": {"benevolence": "high"}}),
    (
        "job security: very important. fun: not so much",
        None,
        {"kind": "values", "values": {"security": "high", "hedonism": "low"}},
    ),
    ("ambition 7/10", None, {"kind": "values", "values": {"achievement": "high"}}),
    ("tradition 20%", None, {"kind": "values", "values": {"tradition": "low"}}),
    ("I don't care about status", None, {"kind": "values", "values": {"power": "low"}}),
    ("Nature means everything to me", None, {"kind": "values", "values": {"universalism": "high"}}),
    ("my faith is central to my life", None, {"kind": "values", "values": {"tradition": "high"}}),
    (
        "I prefer safety over thrills",
        None,
        {"kind": "values", "values": {"security": "high", "stimulation": "low"}},
    ),
    ("loyalty > fairness for me", None, {"kind": "values"}),
    ("I'm very adventurous", None, {"kind": "values", "values": {"stimulation": "high"}}),
    ("I'm not religious at all", None, {"kind": "values", "values": {"tradition": "low"}}),
    (
        "Being free to make my own choices matters hugely",
        None,
        {"kind": "values", "values": {"self_direction": "high"}},
    ),
    ("wealth is pretty important to me", None, {"kind": "values", "values": {"power": "high"}}),
    ("protecting the vulnerable is key for me", None, {"kind": "values", "values": {"care": "high"}}),
    ("I like to follow the rules", None, {"kind": "values", "values": {"conformity": "high"}}),
    ("hello!", None, {"kind": "greeting"}),
    ("hey there :)", None, {"kind": "greeting"}),
    ("what are you for?", None, {"kind": "help"}),
    ("how do I use this?", None, {"kind": "help"}),
    ("what's 2+2?", None, {"kind": "off_topic"}),
    ("who painted the Mona Lisa?", None, {"kind": "off_topic"}),
    ("tell me a joke", None, {"kind": "off_topic"}),
    ("write me a poem about cats", None, {"kind": "off_topic"}),
    ("thanks a lot", None, {"kind": "thanks"}),
    ("Should I get a dog or a cat?", None, {"kind": "dilemma", "options": 2}),
    ("Rent or buy?", None, {"kind": "dilemma", "options": 2}),
    ("I can't decide whether to move to Canada or stay in Ireland.", None, {"kind": "dilemma", "options": 2}),
    ("Options: tell her the truth; keep the secret", None, {"kind": "dilemma", "options": 2}),
    (
        "My friend asked me to lie for him. Should I cover for him or tell the truth? Honesty matters a lot to me.",
        None,
        {"kind": "dilemma", "options": 2, "values": {"equality": "high"}},
    ),
    ("Which is better: a gym membership or running outside?", None, {"kind": "dilemma", "options": 2}),
    (
        "I'm stuck between the cheap flat far away and the pricey one near work",
        None,
        {"kind": "dilemma", "options": 2},
    ),
    ("I have a problem at work and I don't know what to do", None, {"kind": "situation"}),
    ("why would you say that?", CAR, {"kind": "why"}),
    ("Can you explain your reasoning?", CAR, {"kind": "why"}),
    ("what's the reasoning behind that?", CAR, {"kind": "why"}),
    ("why not buy a new one?", CAR, {"kind": "why_not", "option": 0}),
    ("how about the second option?", CAR, {"kind": "why_not", "option": 1}),
    ("Why not option A?", CAR, {"kind": "why_not", "option": 0}),
    ("why didn't you choose staying near my family?", JOB, {"kind": "why_not", "option": 1}),
    ("why not Berlin?", JOB, {"kind": "why_not", "option": 0}),
    ("what if safety mattered less?", CAR, {"kind": "what_if", "attribute": "security", "direction": "less"}),
    (
        "What if I valued adventure more?",
        CAR,
        {"kind": "what_if", "attribute": "stimulation", "direction": "more"},
    ),
    (
        "what if the planet was more important to me?",
        CAR,
        {"kind": "what_if", "attribute": "universalism", "direction": "more"},
    ),
    (
        "suppose I cared less about being rich",
        CAR,
        {"kind": "what_if", "attribute": "power", "direction": "less"},
    ),
    (
        "what if family mattered less?",
        JOB,
        {"kind": "what_if", "attribute": "benevolence", "direction": "less"},
    ),
    (
        "what if my job was my top priority?",
        JOB,
        {"kind": "what_if", "attribute": "achievement", "direction": "more"},
    ),
    (
        "what if I didn't care about tradition?",
        JOB,
        {"kind": "what_if", "attribute": "tradition", "direction": "less"},
    ),
    ("I'd keep the old one", CAR, {"kind": "feedback", "option": 1}),
    ("I think I'd go for Berlin", JOB, {"kind": "feedback", "option": 0}),
    ("makes sense", CAR, {"kind": "feedback", "option": 0}),
    ("I disagree", CAR, {"kind": "feedback", "option": 1}),
    (
        "Should I tell my sister about her husband's affair or stay out of it?",
        CAR,
        {"kind": "dilemma", "options": 2},
    ),
    ("what is the tallest mountain in the world?", CAR, {"kind": "off_topic"}),
    ("<chat_history>\nUSER: hi\n</chat_history>\nSuggest follow-up questions.", CAR, {"kind": "task"}),
    # a second batch, written after the reader was fixed on the first
    (
        "to me, kindness is the most important value",
        None,
        {"kind": "values", "values": {"benevolence": "high"}},
    ),
    ("Adventure: 10/10", None, {"kind": "values", "values": {"stimulation": "high"}}),
    ("i dont really care about money", None, {"kind": "values", "values": {"power": "low"}}),
    (
        "Tradition and faith are a big part of who I am",
        None,
        {"kind": "values", "values": {"tradition": "high"}},
    ),
    ("Being fair to everyone matters most", None, {"kind": "values", "values": {"equality": "high"}}),
    ("I'm a pretty cautious person", None, {"kind": "values", "values": {"security": "high"}}),
    ("I value my freedom above everything else", None, {"kind": "values", "values": {"liberty": "high"}}),
    (
        "success at work is important but my family more",
        None,
        {"kind": "values", "values": {"benevolence": "high"}},
    ),
    (
        "safety 0.3 excitement 0.8",
        None,
        {"kind": "values", "values": {"security": "low", "stimulation": "high"}},
    ),
    ("respecting my elders matters a lot", None, {"kind": "values", "values": {"authority": "high"}}),
    ("Yo", None, {"kind": "greeting"}),
    ("Good evening, assistant", None, {"kind": "greeting"}),
    ("what kind of questions can you answer?", None, {"kind": "help"}),
    ("How far is the moon?", None, {"kind": "off_topic"}),
    ("Translate 'hello' into Spanish", None, {"kind": "off_topic"}),
    ("What's the best pizza topping?", None, {"kind": "off_topic"}),
    ("Should I call my ex or leave it?", None, {"kind": "dilemma", "options": 2}),
    ("Keep studying tonight or go to the concert with friends?", None, {"kind": "dilemma", "options": 2}),
    (
        "I need to decide: accept the offer from Google, or stay at my startup.",
        None,
        {"kind": "dilemma", "options": 2},
    ),
    ("What should I do - report the accident or drive away?", None, {"kind": "dilemma", "options": 2}),
    ("Two choices:\n* sell the house\n* rent it out", None, {"kind": "dilemma", "options": 2}),
    ("Would it be better to confront my roommate or just move out?", None, {"kind": "dilemma", "options": 2}),
    ("Either I take the loan or I wait a year.", None, {"kind": "dilemma", "options": 2}),
    ("My boss is asking me to work weekends.", None, {"kind": "situation"}),
    ("why", CAR, {"kind": "why"}),
    ("Why that one?", CAR, {"kind": "why"}),
    ("and why not the alternative?", CAR, {"kind": "why_not", "option": 1}),
    ("Why not option B?", LOAN, {"kind": "why_not", "option": 1}),
    ("why not tell him no?", LOAN, {"kind": "why_not", "option": 1}),
    (
        "What if loyalty mattered less to me?",
        LOAN,
        {"kind": "what_if", "attribute": "loyalty", "direction": "less"},
    ),
    ("what if I was less loyal?", LOAN, {"kind": "what_if", "attribute": "loyalty", "direction": "less"}),
    ("What if I cared more about my own finances?", LOAN, {"kind": "unclear"}),
    (
        "what if being free mattered more?",
        CAR,
        {"kind": "what_if", "attribute": "liberty", "direction": "more"},
    ),
    ("what if I prioritised fun?", CAR, {"kind": "what_if", "attribute": "hedonism", "direction": "more"}),
    (
        "what if i cared a lot less about safety",
        CAR,
        {"kind": "what_if", "attribute": "security", "direction": "less"},
    ),
    ("I would go with co-signing", LOAN, {"kind": "feedback", "option": 0}),
    ("Honestly I'd choose the second one", LOAN, {"kind": "feedback", "option": 1}),
    ("good choice", LOAN, {"kind": "feedback", "option": 0}),
    ("cheers!", LOAN, {"kind": "thanks"}),
    ("who is the president of France?", LOAN, {"kind": "off_topic"}),
]


def _level(value: float) -> str:
    return "high" if value >= 0.65 else "low" if value <= 0.35 else "moderate"


def _meets(turn: Turn, expected: dict[str, Any]) -> bool:
    if turn.kind != expected["kind"]:
        return False
    for name, level in expected.get("values", {}).items():
        if name not in turn.values or _level(turn.values[name]) != level:
            return False
    if "options" in expected and len(turn.options) != expected["options"]:
        return False
    if "option" in expected and turn.option != expected["option"]:
        return False
    if "attribute" in expected and turn.attribute != expected["attribute"]:
        return False
    return "direction" not in expected or turn.direction == expected["direction"]


def test_held_apart_phrasings_are_read_right(reader: TurnReader) -> None:
    misses = []
    for message, conversation, expected in HELD_APART:
        turn = reader.read(message, conversation)
        if not _meets(turn, expected):
            misses.append(f"{message!r}: {turn.model_dump(exclude_defaults=True)}, expected {expected}")
    met = len(HELD_APART) - len(misses)
    print(f"\nturn reader on held-apart phrasings: {met}/{len(HELD_APART)} read right")
    for miss in misses:
        print("  missed:", miss)
    assert met / len(HELD_APART) >= SHARE, "\n".join(misses)


def test_values_an_admin_added_are_named_by_their_own_words(reader: TurnReader) -> None:
    """With the ten everyday values of tests/fixtures/novel_attributes.json added (as an admin adds them,
    with no everyday words listed), the words of their labels name them before the seed packs'."""
    import json
    from pathlib import Path

    novel = json.loads(
        (Path(__file__).resolve().parents[1] / "fixtures" / "novel_attributes.json").read_text()
    )
    added = [ValueDef(a["name"], a["label"], a["description"], (), a["domain"]) for a in novel]
    both = TurnReader(reader.embedder, [*reader.values, *added])
    assert both.read("honesty matters most to me").values == {"honesty": 0.9}
    t = both.read("family comes first; my career only a little")
    assert _high(t.values["family_care"]) and _low(t.values["achievement"])
    assert both.read("generosity 0.9, financial security 0.2").values == {
        "generosity": 0.9,
        "financial_prudence": 0.2,
    }
    assert list(both.read("I care about animals").values) == ["animal_welfare"]
    t = both.read("what if I cared less about the environment?", CAR)
    assert (t.kind, t.attribute, t.direction) == ("what_if", "environmental_care", "less")
    # a value of the decision is moved before a new one is added
    t = both.read(
        "what if I cared less about the environment?", Conversation(["a", "b"], 0, ["universalism"])
    )
    assert t.attribute == "universalism"
