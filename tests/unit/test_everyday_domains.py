"""The everyday values pack, and domains kept apart: a chat about everyday life suggests, matches and
decides with everyday values (triage's only when the person picks them); Calibrate asks everyday
dilemmas unless triage is asked for. Real SQLite store, scripted backbone."""

from __future__ import annotations

import pytest

from alignment.turns import TurnReader, ValueDef
from assistant.app import AppService
from assistant.app.schemas import CalibrateRequest, ChatRequest, ProfileCreateRequest, ProfileUpdateRequest
from profiles.seed import PACKS, load_pack, pack_synonyms, value_words
from tests.helpers.app import as_json

SAVINGS = (
    "I inherited 15,000. Should I keep it in a savings account or put all of it into a friend's new bar?"
    "\n- Keep it in the savings account\n- Put it into the bar"
)
TRIAGE = {"risk_aversion", "QualityOfLife", "protocol_focus", "fairness", "utilitarianism"}


def test_the_everyday_pack_holds_the_values_people_name() -> None:
    pack = {a.name: a for a in load_pack("everyday")}
    for name in (
        "honesty",
        "family",
        "health",
        "financial_security",
        "career",
        "environment",
        "personal_freedom",
        "generosity",
        "personal_loyalty",
        "customs",
        "fair_play",
        "safety",
        "adventure",
        "kindness",
        "independence",
        "community",
        "faith",
        "learning",
        "comfort",
        "reliability",
    ):
        a = pack[name]
        assert a.domain == "everyday" and a.kind == "scalar"
        assert a.label and a.description and a.high and a.low and a.high != a.low
        assert len(pack_synonyms()[name]) >= 3
    assert "everyday" in PACKS
    assert {a.label for a in pack.values()} >= {"Loyalty to people", "Tradition and customs", "Fair play"}


def _reader() -> TurnReader:
    defs = [
        ValueDef(a.name, a.label, a.description, value_words(a.name), a.domain)
        for pack in PACKS
        for a in load_pack(pack)
        if a.kind == "scalar"
    ]
    return TurnReader(None, defs)  # outright matches only: no embedder to guess with


@pytest.mark.parametrize(
    ("words", "value"),
    [
        ("honesty", "honesty"),
        ("being honest", "honesty"),
        ("telling the truth", "honesty"),
        ("the truth", "honesty"),
        ("my family", "family"),
        ("money", "financial_security"),
        ("my career", "career"),
        ("adventure", "adventure"),
        ("keeping my word", "reliability"),
        ("the planet", "environment"),
    ],
)
def test_everyday_words_name_the_everyday_values(words: str, value: str) -> None:
    assert _reader().match_value(words, embed=False)[0] == value


def test_honesty_is_no_longer_a_word_of_fairness() -> None:
    assert not {"honesty", "being honest", "telling the truth", "honest"} & set(value_words("equality"))
    assert "family" not in value_words("benevolence") and "my family" in value_words("family")
    assert "helpful" in value_words("benevolence")  # the words no pack claims stay


def test_triage_values_of_a_profile_never_drive_everyday_advice(app: AppService):
    alice = app.actor("alice")
    app.profiles.create(
        alice, ProfileCreateRequest(name="default", targets={"risk_aversion": 0.95, "QualityOfLife": 0.9})
    )
    asked = as_json(app.decisions.chat(alice, ChatRequest(message=SAVINGS)))
    assert asked["kind"] == "suggest" and app.store.log.list(alice) == []  # asked, not decided on triage
    offered = {s["name"] for s in asked["suggestions"]}
    assert offered and not offered & TRIAGE
    domains = {a.name: a.domain for a in app.store.attributes.list()}
    assert {domains[n] for n in offered} == {"everyday"}
    # the everyday values of the same profile decide; its triage ones stay out
    app.profiles.update(alice, ProfileUpdateRequest(name="default", set_targets={"financial_security": 0.9}))
    decided = as_json(app.decisions.chat(alice, ChatRequest(message=SAVINGS)))
    assert decided["kind"] == "decision" and decided["decision"]["target"] == {"financial_security": 0.9}
    assert app.store.log.get(alice, decided["decision_id"]).request["domain"] == "everyday"
    # named by the person, triage's values decide
    triage = as_json(app.decisions.chat(alice, ChatRequest(message=SAVINGS, domain="triage")))
    assert triage["decision"]["target"] == {"risk_aversion": 0.95, "QualityOfLife": 0.9}
    # and picked with the request, a triage value decides an everyday question too
    picked = as_json(app.decisions.chat(alice, ChatRequest(message=SAVINGS, target={"risk_aversion": 0.2})))
    assert picked["decision"]["target"] == {"financial_security": 0.9, "risk_aversion": 0.2}


def test_a_what_if_in_an_everyday_chat_moves_an_everyday_value(app: AppService):
    alice = app.actor("alice")
    first = as_json(app.decisions.chat(alice, ChatRequest(message=SAVINGS, target={"honesty": 0.9})))
    cid = first["conversation_id"]
    more = as_json(
        app.decisions.chat(
            alice, ChatRequest(message="what if I cared more about fairness?", conversation_id=cid)
        )
    )
    assert more["kind"] == "more" and "fairness" not in more["decision"]["target"]
    assert set(more["decision"]["target"]) == {"honesty", "equality"}
    unknown = as_json(
        app.decisions.chat(
            alice, ChatRequest(message="what if I cared more about risk aversion?", conversation_id=cid)
        )
    )
    assert unknown["kind"] == "clarify" and unknown["decision_id"] is None  # a triage value: not here
    # a triage conversation keeps its domain over its follow-ups
    triage = as_json(
        app.decisions.chat(
            alice, ChatRequest(message=SAVINGS, target={"utilitarianism": 0.5}, domain="triage")
        )
    )
    fair = as_json(
        app.decisions.chat(
            alice,
            ChatRequest(
                message="what if I cared more about fairness?", conversation_id=triage["conversation_id"]
            ),
        )
    )
    assert set(fair["decision"]["target"]) == {"utilitarianism", "fairness"}


def test_calibrate_asks_everyday_dilemmas_unless_triage_is_asked_for(app: AppService):
    alice = app.actor("alice")
    domains = {a.name: a.domain for a in app.store.attributes.list()}
    everyday = as_json(app.calibration.next(alice, CalibrateRequest(count=3)))
    assert everyday["dilemma"] is not None and everyday["attributes"]
    assert {domains[a] for a in everyday["attributes"]} == {"everyday"}
    assert "honesty" in everyday["attributes"]
    triage = as_json(app.calibration.next(alice, CalibrateRequest(count=3, domain="triage")))
    assert {domains[a] for a in triage["attributes"]} == {"triage"}
    answers = [{"dilemma_id": everyday["dilemma"]["id"], "choice": 0}]
    saved = as_json(app.calibration.save(alice, CalibrateRequest(answers=answers, count=3, name="daily")))
    assert saved["profile"]["targets"] and {domains[a] for a in saved["profile"]["targets"]} == {"everyday"}
    with pytest.raises(Exception, match="everyday"):
        app.calibration.next(alice, CalibrateRequest(domain="opinion"))
