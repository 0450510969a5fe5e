"""A first chat with no values: suggestions instead of an error; messages in words, each shown once."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from app_fixtures import make_app, persona_reply

from alignment.algorithms.simple import PersonaAlgorithm
from alignment.errors import AlignError, BackboneUnavailable, Conflict, InputError, NotFound
from alignment.fake import FakeBackbone, FakeEmbedder
from alignment.models import Scenario
from assistant.app.packs import ADMIN_ADDED, group_by_pack, pack_of, pack_title
from assistant.decisions.chat import SUGGEST_INTRO, AttributeSuggestion, suggestion_text
from assistant.decisions.messages import for_people, has_flag
from assistant.stores.embedding import CachedEmbedder

SAVINGS = (
    "I have savings of 20,000. Should I put them in a broad index fund or start a food truck "
    "business with a friend?\n- Index fund\n- Food truck business"
)
FLAG = re.compile(r"(?<![\w-])--[a-z]")


def WordEmbedder() -> FakeEmbedder:
    return FakeEmbedder(("saving", "safe", "harm", "friend"), bias=0.01)


@pytest.fixture
def app(tmp_path):
    service = make_app(tmp_path)
    yield service
    service.store.close()


# -- messages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("give either --decider or --algorithm, not both", "give either a decider or an algorithm"),
        (
            "'SEX' is a demographic category: give one of its groups with --group SEX=GROUP (groups: a, b)",
            "pick one of its groups",
        ),
        ("profile 'p' already exists; nothing was imported. Use --replace to overwrite", "replace"),
        (
            "you agree with option A but would choose B; give --disagree with --would-choose instead",
            "disagree",
        ),
        ("say which option you would choose instead (A, B, C), e.g. --would-choose B", "for example B"),
        ("option A is what the assistant chose; give --agree instead", "agree instead"),
        ("no user 'x'; create it with `align users add x --password ...`", "an admin can add it"),
        ("out already holds results; pass --resume to continue it, or use another --out", "another output"),
        ("something new; try --some-flag here", "'some flag'"),
    ],
)
def test_for_people_leaves_no_flag(message, expected):
    assert has_flag(message)
    said = for_people(message)
    assert not has_flag(said) and not FLAG.search(said) and expected in said


def test_for_people_keeps_other_text():
    assert (
        for_people("unknown backbone 'gpt-9'; known: embedded") == "unknown backbone 'gpt-9'; known: embedded"
    )
    assert not has_flag("a well-known value, scored 0--1") and not has_flag("")


def test_needs_a_target_says_what_to_do_in_words():
    from alignment.algorithms.base import DecisionContext

    with pytest.raises(InputError, match="algorithm 'persona' needs an alignment target") as caught:
        PersonaAlgorithm().run(
            DecisionContext(scenario=Scenario(text="s", choices=["a", "b"])), FakeBackbone([])
        )
    text = str(caught.value)
    assert "needs an alignment target" in text and "choose a saved profile" in text
    assert not has_flag(text)


def test_guarded_turns_errors_into_words_for_ui_and_api():
    import gradio as gr

    from ui.common import guarded

    @guarded
    def fails() -> None:
        raise Conflict("profile 'p' already exists; nothing was imported. Use --replace to overwrite")

    with pytest.raises(gr.Error) as caught:
        fails()
    assert not has_flag(str(caught.value.message))


# -- packs ----------------------------------------------------------------------------------------


def test_attributes_group_by_pack_everyday_first():
    items = [SimpleNamespace(name=n) for n in ("fairness", "my_own", "security", "care", "risk_aversion")]
    groups = group_by_pack(items)
    assert [g.pack for g in groups] == ["moral_foundations", "schwartz", ADMIN_ADDED, "triage"]
    assert [[i.name for i in g.items] for g in groups] == [
        ["care"],
        ["security"],
        ["my_own"],
        ["fairness", "risk_aversion"],
    ]
    assert [g.everyday for g in groups] == [True, True, False, False]
    assert pack_of("security") == "schwartz" and pack_of("nobody") == ADMIN_ADDED
    assert pack_title(ADMIN_ADDED) == "Added by an admin" and pack_title("triage") == "Medical triage"


# -- the first chat -------------------------------------------------------------------------------


def test_no_values_gets_suggestions_not_an_error(app):
    alice = app.actor("alice")
    updates = list(app.chat_stream(alice, {"message": SAVINGS}))
    assert [u.done for u in updates] == [True]  # one answer, shown once
    final = updates[0]
    assert final.kind == "suggest" and final.decision_id is None
    assert len(final.suggestions) == 3
    seeded = {a.name for a in app.store.attributes.list(kind="scalar") if pack_of(a.name) != ADMIN_ADDED}
    assert {s.name for s in final.suggestions} <= seeded
    assert final.text.startswith(SUGGEST_INTRO) and "in your own words" in final.text
    assert "Calibrate" not in final.text  # a tab chat apps do not have
    assert "could not" not in final.text and not has_flag(final.text)
    for s in final.suggestions:
        assert f"**{s.label}**" in final.text and s.pack_title and 0 < s.value <= 1
    assert app.store.log.list(alice) == []  # nothing decided, nothing failed
    messages = app.store.conversations.messages(alice, final.conversation_id)
    assert [m.role for m in messages] == ["user", "assistant"] and messages[1].content == final.text
    api = app.chat(alice, {"message": SAVINGS})  # the API path: the same structured field
    assert api["kind"] == "suggest" and [s["name"] for s in api["suggestions"]] == [
        s.name for s in final.suggestions
    ]


def test_suggestions_rank_by_the_stores_embedder(app):
    embedder = WordEmbedder()
    app.service.embedder = CachedEmbedder(embedder.embed)  # as build_service wires the store's MiniLM
    alice = app.actor("alice")
    first = app.chat(alice, {"message": SAVINGS})
    # the savings question shares "saving" with nothing and "friend" with... whatever the packs say:
    # the ranking must follow the embedder's similarities exactly
    ranking = next(call for call in embedder.calls if call[0].startswith("I have savings"))
    texts = ranking[1:]
    assert len(texts) >= 20
    sims = [s["similarity"] for s in first["suggestions"]]
    assert sims == sorted(sims, reverse=True)
    before = len(embedder.calls)
    app.chat(alice, {"message": SAVINGS.replace("20,000", "30,000")})
    asked = [call for call in embedder.calls[before:] if call[0].startswith("I have savings")]
    assert [len(call) for call in asked] == [1]  # the attributes' vectors are kept: only the question


def test_picking_a_suggestion_then_asking_again_decides(app):
    alice = app.actor("alice")
    first = app.chat(alice, {"message": SAVINGS})
    name = first["suggestions"][0]["name"]
    cid = first["conversation_id"]
    # "decide now": the situation of the turn that asked for values is decided with them
    second = app.chat(
        alice,
        {
            "message": "ok, decide now",
            "conversation_id": cid,
            "targets": {name: 0.75},
            "algorithm": "persona",
        },
    )
    assert second["kind"] == "decision" and second["decision"]["target"] == {name: 0.75}
    entry = app.store.log.get(alice, second["decision_id"])
    assert entry.request["choices"] == ["Index fund", "Food truck business"]
    # or the same question again, as the browser does after a suggestion is clicked
    third = app.chat(alice, {"message": SAVINGS, "targets": {name: 0.75}, "algorithm": "persona"})
    assert third["kind"] == "decision" and third["text"].startswith("**My advice:")


def test_an_algorithm_without_a_target_decides_without_asking(app):
    result = app.chat(app.actor("alice"), {"message": SAVINGS, "algorithm": "random", "seed": 1})
    assert result["kind"] == "decision" and result["suggestions"] == []


def test_without_an_embedder_words_still_give_suggestions(app):
    app.service.embedder = None  # no embedder: fall back to shared words
    names = [s.name for s in app.suggest_attributes("Should I keep my savings safe?", ["keep", "spend"])]
    assert len(names) == 3 and len(set(names)) == 3


def test_suggestion_text_without_suggestions_still_says_what_to_do():
    text = suggestion_text([])
    assert text.startswith(SUGGEST_INTRO) and "saved profile" in text and "own words" in text
    one = suggestion_text(
        [AttributeSuggestion(name="care", label="Care", description="protect: the weak", pack_title="MF")]
    )
    assert "1. **Care**: protect" in one


# -- every failure a person can reach is in words --------------------------------------------------


def test_chat_failures_name_no_flag(app):
    alice = app.actor("alice")
    failures = [
        app.chat(alice, {"message": SAVINGS, "algorithm": "no-such"}),
        app.chat(alice, {"message": SAVINGS, "targets": {"fairnes": 0.5}, "algorithm": "persona"}),
        app.chat(alice, {"message": SAVINGS, "targets": {"fairness": 0.5}, "backbone": "gpt-9"}),
    ]
    for failed in failures:
        assert failed["kind"] == "error" and not has_flag(failed["text"])
        # shown once: the conversation holds it once, and the text does not repeat itself
        convo = app.get_conversation(alice, {"id": failed["conversation_id"]})
        assert [m["content"] for m in convo["messages"]].count(failed["text"]) == 1
        assert failed["text"].count("I could not decide") == 1


def test_app_errors_reached_through_the_api_name_no_flag(app):
    alice = app.actor("alice")
    decision = app.decide(alice, {"scenario": "s", "choices": ["a", "b"], "algorithm": "random"})
    other = 1 - decision["choice_index"]
    bad_calls = [
        (
            lambda: app.feedback(
                alice, {"decision_id": decision["log_id"], "agree": True, "would_choose": other}
            ),
            "you agree with option [AB] but would choose [AB]; give --disagree",
        ),
        (
            lambda: app.feedback(
                alice, {"decision_id": decision["log_id"], "agree": False, "would_choose": 9}
            ),
            r"decision \d+ has 2 options \(A, B\); choose one of them",
        ),
        (
            lambda: app.evaluate(
                app.actor("root"), {"files": ["x.json"], "algorithms": ["random"], "limit": 1}
            ),
            "no datasets directory is configured on this server",
        ),
        (
            lambda: app.evaluate(alice, {"files": ["x.json"], "algorithms": ["random"], "limit": 1}),
            "may not run evaluations .*; only an admin may",
        ),
        (
            lambda: app.decide(alice, {"scenario": "s", "choices": ["a", "b"], "algorithm": "persona"}),
            "algorithm 'persona' needs an alignment target",
        ),
    ]
    for call, says in bad_calls:
        with pytest.raises(AlignError, match=says) as caught:
            call()
        assert not has_flag(for_people(str(caught.value)))
    with pytest.raises(NotFound, match="no conversation with id 999"):
        app.get_conversation(alice, {"id": 999})


# -- each message once ------------------------------------------------------------------------------


def _turn(app, actor, payload):
    updates = list(app.chat_stream(actor, payload))
    done = [u for u in updates if u.done]
    assert len(done) == 1 and updates[-1].done, [u.text[:60] for u in updates]  # one final answer
    return updates[-1]


def test_every_turn_ends_with_one_final_answer_even_when_deciding_again_fails(app):
    def flaky(request, count):
        if count >= 1:
            raise BackboneUnavailable("the model stopped answering")
        return persona_reply(request, count)

    app.service.backbones.add(FakeBackbone(flaky, name="embedded"))
    alice = app.actor("alice")
    first = _turn(app, alice, {"message": SAVINGS, "targets": {"fairness": 0.6}, "algorithm": "persona"})
    assert first.kind == "decision"
    cid = first.conversation_id
    why = _turn(app, alice, {"message": "why?", "conversation_id": cid})
    failed = _turn(app, alice, {"message": "what if I cared more about fairness?", "conversation_id": cid})
    assert why.kind == "why" and failed.kind == "error" and "stopped answering" in failed.text
    asked = _turn(app, alice, {"message": SAVINGS})
    assert asked.kind == "suggest"
    stored = app.store.conversations.messages(alice, cid)
    assert [m.content for m in stored if m.role == "assistant"] == [first.text, why.text, failed.text]
