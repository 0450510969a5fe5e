"""The chat engine on a real SQLite store with a scripted backbone: turns, follow-ups, streaming."""

from __future__ import annotations

import itertools

import pytest

from alignment.errors import InputError, NotFound
from alignment.fake import FakeBackbone
from assistant.app import AppService
from assistant.app.schemas import ChatRequest, ConversationRequest, OwnerRequest, ProfileCreateRequest
from assistant.decisions.chat import ASK_OPTIONS
from tests.helpers.app import as_json, make_app

SITUATION = "Two people are hurt and I have one kit.\n- help the soldier\n- help the civilian"


def test_a_situation_streams_status_then_the_answer_and_is_logged(app: AppService):
    alice = app.actor("alice")
    updates = list(
        app.decisions.chat_stream(
            alice, ChatRequest(message=SITUATION, domain="triage", target={"fairness": 0.9})
        )
    )
    assert updates[0].text.startswith("_Weighing 2 options against your values")
    assert not updates[0].done and updates[-1].done
    texts = [u.text for u in updates[1:]]
    assert all(a in b for a, b in itertools.pairwise(texts))  # the answer grows
    final = updates[-1]
    assert final.text.startswith("**My advice: Help the civilian.**")  # the verdict first
    main, details = final.text.split("<details>", 1)
    assert "Fair to both" in main and "“help the soldier”" in main  # both options, in the person's words
    assert "persona" not in main and "persona method" in details and details.endswith("</details>")
    assert final.decision_id is not None
    entry = app.store.log.get(alice, final.decision_id)
    assert entry.request["choices"] == ["help the soldier", "help the civilian"]
    messages = app.store.conversations.messages(alice, final.conversation_id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].decision_id == final.decision_id and messages[1].content == final.text


def test_follow_ups_why_why_not_and_what_if(app: AppService):
    alice = app.actor("alice")
    app.profiles.create(alice, ProfileCreateRequest(name="mid", targets={"fairness": 0.6}))
    first = as_json(app.decisions.chat(alice, ChatRequest(message=SITUATION, domain="triage", profile="mid")))
    assert "My advice: Help the soldier" in first["text"] and "profile **mid**" not in first["text"]
    cid = first["conversation_id"]
    n_log = len(app.store.log.list(alice))

    why = as_json(app.decisions.chat(alice, ChatRequest(message="why?", conversation_id=cid)))
    assert why["kind"] == "why" and "I chose “help the soldier”" in why["text"]
    why_not = as_json(app.decisions.chat(alice, ChatRequest(message="Why not B?", conversation_id=cid)))
    assert why_not["kind"] == "why_not" and "I did not pick “help the civilian”" in why_not["text"]
    other = as_json(
        app.decisions.chat(alice, ChatRequest(message="why not the other one?", conversation_id=cid))
    )
    assert other["text"] == why_not["text"]
    assert len(app.store.log.list(alice)) == n_log  # no model call, nothing new logged

    more = as_json(
        app.decisions.chat(
            alice, ChatRequest(message="What if I cared more about fairness?", conversation_id=cid)
        )
    )
    assert more["kind"] == "more" and "from moderate to very high" in more["text"]
    assert more["text"].startswith("**That changes my advice: help the civilian**")
    assert more["decision"]["target"] == {"fairness": 0.9}
    again = as_json(
        app.decisions.chat(
            alice, ChatRequest(message="what if I cared more about fairness?", conversation_id=cid)
        )
    )
    assert again["decision"]["target"] == {"fairness": 1.0} and again["text"].startswith("**Still my advice")
    less = as_json(
        app.decisions.chat(
            alice, ChatRequest(message="what if I cared less about fairness?", conversation_id=cid)
        )
    )
    assert less["decision"]["target"] == {"fairness": 0.7} and "from very high to high" in less["text"]
    assert len(app.store.log.list(alice)) == n_log + 3


def test_missing_options_are_asked_for_and_combined(app: AppService):
    alice = app.actor("alice")
    ask = as_json(
        app.decisions.chat(
            alice, ChatRequest(message="Two people are hurt and I have one kit.", target={"fairness": 0.9})
        )
    )
    assert ask["kind"] == "ask" and ask["text"] == ASK_OPTIONS and ask["decision_id"] is None
    cid = ask["conversation_id"]
    answer = as_json(
        app.decisions.chat(
            alice,
            ChatRequest(
                message="- help the soldier\n- help the civilian",
                conversation_id=cid,
                target={"fairness": 0.9},
            ),
        )
    )
    assert answer["kind"] == "decision" and "My advice: Help the civilian" in answer["text"]
    entry = app.store.log.get(alice, answer["decision_id"])
    assert entry.request["scenario"].startswith("Two people are hurt")


def test_extraction_backbone_finds_options_in_plain_words(tmp_path):
    app = make_app(tmp_path)
    extractor = FakeBackbone(
        [{"scenario": "one kit", "options": ["treat the soldier", "treat the civilian"]}], name="extractor"
    )
    app.service.backbones.add(extractor)
    app.decisions.chat_engine.extraction_backbone = "extractor"
    alice = app.actor("alice")
    result = as_json(
        app.decisions.chat(
            alice,
            ChatRequest(
                message="I have one kit, the soldier or the civilian need it", target={"fairness": 0.9}
            ),
        )
    )
    assert result["kind"] == "decision" and "My advice: Treat the civilian" in result["text"]
    assert "<scenario>" in extractor.requests[0].messages[1].content  # user text is delimited data
    app.store.close()


def test_failures_are_answered_and_conversations_are_private(app: AppService):
    alice, bob = app.actor("alice"), app.actor("bob")
    failed = as_json(
        app.decisions.chat(alice, ChatRequest(message=SITUATION, domain="triage", algorithm="no-such"))
    )
    assert failed["kind"] == "error" and "unknown algorithm 'no-such'" in failed["text"]
    with pytest.raises(InputError, match="empty"):
        app.decisions.chat(alice, app.parse(ChatRequest, {"message": "  "}))
    with pytest.raises(NotFound, match=r"no conversation with id \d+"):
        app.decisions.chat(bob, ChatRequest(message="why?", conversation_id=failed["conversation_id"]))
    with pytest.raises(NotFound, match=r"no conversation with id \d+"):
        app.decisions.conversation(bob, ConversationRequest(id=failed["conversation_id"]))
    listed = as_json(app.decisions.conversations(alice, OwnerRequest()))["conversations"]
    assert [c["id"] for c in listed] == [failed["conversation_id"]]
    assert as_json(app.decisions.conversations(bob, OwnerRequest()))["conversations"] == []
    convo = as_json(app.decisions.conversation(alice, ConversationRequest(id=failed["conversation_id"])))
    assert convo["title"].startswith("Two people") and len(convo["messages"]) == 2


# -- values said in chat, and the turns that are not dilemmas ---------------------------------------


def test_values_said_in_chat_are_kept_in_the_default_profile_and_used(app: AppService):
    from assistant.decisions.chat import DEFAULT_PROFILE
    from assistant.web.openai_models import DEFAULT_PROFILE as API_DEFAULT

    assert DEFAULT_PROFILE == API_DEFAULT  # the profile /v1's model "align" uses
    alice = app.actor("alice")
    said = as_json(app.decisions.chat(alice, ChatRequest(message="fairness matters most to me")))
    assert said["kind"] == "values" and said["decision_id"] is None
    # "fairness" names triage's value and is the label of the everyday one: the everyday one
    assert said["text"].startswith("Got it: **Fairness (Moral Foundations)** matters a great deal to you")
    assert app.store.profiles.get(alice, DEFAULT_PROFILE).targets == {"equality": 0.9}
    assert app.store.log.list(alice) == []
    again = as_json(
        app.decisions.chat(
            alice,
            ChatRequest(message="actually fairness only a little", conversation_id=said["conversation_id"]),
        )
    )
    kept = app.store.profiles.get(alice, DEFAULT_PROFILE).targets
    assert again["kind"] == "values" and kept == {"equality": 0.2}
    decided = as_json(
        app.decisions.chat(alice, ChatRequest(message=SITUATION))
    )  # a new conversation: the kept values decide
    assert decided["kind"] == "decision" and decided["decision"]["target"] == {"equality": 0.2}
    entry = app.store.log.get(alice, decided["decision_id"])
    assert entry.profile_name == DEFAULT_PROFILE


def test_a_dilemma_waiting_for_values_is_decided_once_they_are_said(app: AppService):
    alice = app.actor("alice")
    asked = as_json(app.decisions.chat(alice, ChatRequest(message=SITUATION, domain="triage")))
    assert asked["kind"] == "suggest" and app.store.log.list(alice) == []
    answer = as_json(
        app.decisions.chat(
            alice,
            ChatRequest(
                message="Risk aversion is very important to me",
                conversation_id=asked["conversation_id"],
                domain="triage",
            ),
        )
    )
    assert answer["kind"] == "decision" and answer["text"].startswith("Got it: **Risk aversion**")
    assert answer["decision"]["target"] == {"risk_aversion": 0.8}
    entry = app.store.log.get(alice, answer["decision_id"])
    assert entry.request["choices"] == ["help the soldier", "help the civilian"]


def test_values_stated_with_the_dilemma_are_used_at_once(app: AppService):
    alice = app.actor("alice")
    answer = as_json(
        app.decisions.chat(
            alice, ChatRequest(message=SITUATION + "\nRisk aversion matters a lot to me.", domain="triage")
        )
    )
    assert answer["kind"] == "decision" and answer["decision"]["target"] == {"risk_aversion": 0.8}
    assert answer["text"].startswith("Got it:")


def test_turns_that_are_not_dilemmas_never_get_the_ask_for_options(app: AppService):
    alice = app.actor("alice")
    for message, kind in [
        ("hi", "greeting"),
        ("what can you do?", "help"),
        ("what is the capital of France?", "off_topic"),
        ("why?", "no_decision"),
        ("thanks!", "thanks"),
    ]:
        reply = as_json(app.decisions.chat(alice, ChatRequest(message=message)))
        assert reply["kind"] == kind and reply["text"] != ASK_OPTIONS and "two options" not in reply["text"]
    assert app.store.log.list(alice) == []


def test_a_chat_apps_task_is_neither_decided_nor_logged_nor_stored(app: AppService):
    alice = app.actor("alice")
    task = (
        "### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n"
        '### Guidelines:\n- Use emojis\n- Keep it short\n### Output:\nJSON format: { "title": "..." }\n'
        "### Chat History:\n<chat_history>\nUSER: Should I help the soldier or the civilian?\n</chat_history>"
    )
    reply = as_json(app.decisions.chat(alice, ChatRequest(message=task, target={"fairness": 0.9})))
    assert reply["kind"] == "task" and reply["decision_id"] is None
    assert (
        app.store.log.list(alice) == []
        and as_json(app.decisions.conversations(alice, OwnerRequest()))["conversations"] == []
    )


def test_what_if_moves_only_the_value_named(app: AppService):
    alice = app.actor("alice")
    first = as_json(
        app.decisions.chat(alice, ChatRequest(message=SITUATION, domain="triage", target={"fairness": 0.6}))
    )
    cid = first["conversation_id"]
    added = as_json(
        app.decisions.chat(
            alice, ChatRequest(message="what if I cared more about risk aversion?", conversation_id=cid)
        )
    )
    assert added["kind"] == "more" and added["decision"]["target"] == {"fairness": 0.6, "risk_aversion": 0.8}
    assert "I added **Risk aversion** to your values at high" in added["text"]
    unknown = as_json(
        app.decisions.chat(
            alice, ChatRequest(message="what if I cared less about flurbing?", conversation_id=cid)
        )
    )
    assert unknown["kind"] == "clarify" and unknown["decision_id"] is None
    assert len(app.store.log.list(alice)) == 2


def test_every_answer_streams_as_a_growing_text(app: AppService):
    """A chat app's stream can only grow: the updates that carry the answer extend each other."""
    alice = app.actor("alice")
    first = list(
        app.decisions.chat_stream(
            alice, ChatRequest(message=SITUATION, domain="triage", target={"fairness": 0.6})
        )
    )
    cid = first[-1].conversation_id
    for message in (
        "what if I cared more about fairness?",
        "why?",
        "why not A?",
        "hello",
        "I would choose A",
    ):
        updates = list(app.decisions.chat_stream(alice, ChatRequest(message=message, conversation_id=cid)))
        shown = [u.text for u in updates if u.done or u.decision is not None]
        assert shown and updates[-1].done
        assert all(b.startswith(a) for a, b in itertools.pairwise(shown)), (message, shown)
