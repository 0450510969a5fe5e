"""The parts of the OpenAI-compatible API: model names, the request gate, the conversation a history
continues, and the routes in process (Starlette's test client) on a real SQLite store with a scripted
backbone. The live server with the real ``openai`` client: tests/reliability/test_openai_api.py."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient

from alignment.errors import NotFound
from alignment.fake import FakeBackbone
from assistant.app import AppService
from assistant.app.user_rate import RateLimited, UserRate
from assistant.decisions.chat_threads import KEPT_TAIL, RECENT, Turn, continue_thread
from assistant.web.api_gate import ApiGate, Busy, UserShareUsed
from assistant.web.limits import BodyLimit
from assistant.web.openai_api import OpenAIApi
from assistant.web.openai_models import default_profile, model_ids, parse_model
from assistant.web.openai_schemas import ChunkDelta
from profiles.api_keys import ApiKeyCreate
from profiles.schemas import MessageCreate, ProfileCreate

SITUATION = "Two people are hurt and I have one kit.\n- help the soldier\n- help the civilian"
DECIDERS = ["aligned", "persona-greedy"]


# -- model names ----------------------------------------------------------------------------------


def test_model_names_pick_a_profile_and_a_decider():
    owned = ["careful", "with:colon", "persona-greedy"]
    assert parse_model("align", owned, DECIDERS).profile is None  # three profiles, none is "default"
    assert parse_model("align", ["only"], DECIDERS).profile == "only"
    assert parse_model("align", ["default", "b"], DECIDERS).profile == "default"
    assert parse_model("align:careful", owned, DECIDERS).model_dump() == {
        "profile": "careful",
        "decider": None,
    }
    assert parse_model("align:careful:persona-greedy", owned, DECIDERS).decider == "persona-greedy"
    assert parse_model("align:with:colon", owned, DECIDERS).profile == "with:colon"  # "colon" is no decider
    assert parse_model("align:persona-greedy", owned, DECIDERS).model_dump() == {
        "profile": "persona-greedy",
        "decider": None,
    }
    assert parse_model("align::aligned", ["only"], DECIDERS).model_dump() == {
        "profile": "only",
        "decider": "aligned",
    }
    for wrong in ["gpt-4o", "align:someone-elses", "align:careful:no-such-decider", "align:"]:
        with pytest.raises(NotFound, match="align:careful"):
            parse_model(wrong, owned, DECIDERS)
    assert model_ids(["b", "a"], DECIDERS) == [
        "align",
        "align:a",
        "align:a:aligned",
        "align:a:persona-greedy",
        "align:b",
        "align:b:aligned",
        "align:b:persona-greedy",
    ]
    assert default_profile([]) is None


def test_a_chunk_delta_says_only_what_it_has():
    assert ChunkDelta(content="x").model_dump() == {"content": "x"}
    assert ChunkDelta().model_dump() == {}


# -- the gate -------------------------------------------------------------------------------------


def test_the_gate_lets_concurrency_run_and_max_waiting_wait_then_says_busy():
    async def scenario() -> None:
        gate = ApiGate(concurrency=1, max_waiting=1)
        first = await gate.enter()
        entered: list[str] = []

        async def second() -> None:
            lease = await gate.enter()
            entered.append("second")
            lease.release()

        async with anyio.create_task_group() as tg:
            tg.start_soon(second)
            await anyio.wait_all_tasks_blocked()
            assert gate.waiting == 1 and entered == []
            with pytest.raises(Busy):
                await gate.enter()  # one running, one waiting: the line is full
            first.release()
            first.release()  # idempotent: the slot is given back once
        assert entered == ["second"] and gate.running == 0 and gate.waiting == 0

    anyio.run(scenario)


def test_the_gate_holds_each_user_to_their_share():
    async def scenario() -> None:
        gate = ApiGate(concurrency=1, max_waiting=5, per_user=2)
        first = await gate.enter("hank")
        entered: list[str] = []

        async def waits(user: str) -> None:
            lease = await gate.enter(user)
            entered.append(user)
            lease.release()

        async with anyio.create_task_group() as tg:
            tg.start_soon(waits, "hank")
            await anyio.wait_all_tasks_blocked()
            with pytest.raises(UserShareUsed):  # one running, one waiting: hank's share
                await gate.enter("hank")
            tg.start_soon(waits, "alice")  # others still get in line
            await anyio.wait_all_tasks_blocked()
            assert gate.waiting == 2 and gate.held("hank") == 2 and gate.held("alice") == 1
            first.release()
        assert sorted(entered) == ["alice", "hank"] and gate.held("hank") == 0 and gate.running == 0

    anyio.run(scenario)


def test_one_user_runs_at_most_half_the_slots_so_others_get_in_at_once():
    async def scenario() -> None:
        gate = ApiGate(concurrency=4, max_waiting=8, per_user=6)
        assert gate.running_per_user == 2
        bobs = [await gate.enter("bob"), await gate.enter("bob")]
        entered: list[str] = []

        async def waits(user: str) -> None:
            lease = await gate.enter(user)
            entered.append(user)
            bobs.append(lease)

        async with anyio.create_task_group() as tg:
            tg.start_soon(waits, "bob")
            await anyio.wait_all_tasks_blocked()
            assert entered == [] and gate.running == 2 and gate.waiting == 1  # bob's third waits
            alice = await gate.enter("alice")  # a free slot is alice's at once
            assert gate.running == 3
            alice.release()
            bobs[0].release()  # one of bob's ends: his third runs
        assert entered == ["bob"] and gate.running == 2 and gate.held("bob") == 2
        for lease in bobs:
            lease.release()
        assert gate.running == 0 and gate.held("bob") == 0 and gate.waiting == 0

    anyio.run(scenario)


def test_the_rate_counts_a_users_last_minute_only():
    now = [0.0]
    rate = UserRate(2, clock=lambda: now[0])
    rate.take("gina")
    rate.take("gina")
    with pytest.raises(RateLimited) as caught:
        rate.take("gina")
    assert 0 < caught.value.wait_s <= 60
    rate.take("bob")  # another user is not affected
    now[0] = 60.0
    rate.take("gina")  # the window moved on


# -- the conversation a history continues --------------------------------------------------------


def test_a_history_continues_its_conversation_or_branches_or_is_imported(app: AppService):
    store, alice = app.store, app.actor("alice")
    engine = app.decisions.chat_engine
    from assistant.app.schemas import ChatRequest

    first = list(engine.respond(alice, ChatRequest(message=SITUATION, target={"fairness": 0.9})))[-1]
    history = [Turn(role="user", content=SITUATION), Turn(role="assistant", content=first.text + "\n")]
    assert continue_thread(store, alice, []) is None
    assert continue_thread(store, alice, history) == first.conversation_id  # white space aside
    n_conversations = len(store.conversations.list(alice))

    why = list(engine.respond(alice, ChatRequest(message="why?", conversation_id=first.conversation_id)))[-1]
    assert why.kind == "why"
    # the same first turn sent again: the stored conversation went on, so a branch with a copy
    branch = continue_thread(store, alice, history)
    assert branch is not None and branch != first.conversation_id
    copied = store.conversations.messages(alice, branch)
    assert [(m.role, m.decision_id) for m in copied] == [("user", None), ("assistant", first.decision_id)]
    # a history this server never gave: imported as it was sent, without decisions
    elsewhere = [Turn(role="user", content="hello"), Turn(role="assistant", content="hi, how can I help?")]
    imported = continue_thread(store, alice, elsewhere)
    assert imported is not None
    assert [(m.role, m.content, m.decision_id) for m in store.conversations.messages(alice, imported)] == [
        ("user", "hello", None),
        ("assistant", "hi, how can I help?", None),
    ]
    assert len(store.conversations.list(alice)) == n_conversations + 2
    # another user's identical history is never theirs to continue
    bob = app.actor("bob")
    assert continue_thread(store, bob, history) not in (first.conversation_id, branch)
    assert RECENT >= 10


def test_a_long_unknown_history_is_kept_as_a_digest_and_its_tail(app: AppService):
    store, alice = app.store, app.actor("alice")
    long = [
        Turn(role="user" if i % 2 == 0 else "assistant", content=f"turn {i} " + "x" * 5000) for i in range(9)
    ]
    cid = continue_thread(store, alice, long)
    assert cid is not None
    kept = store.conversations.messages(alice, cid)
    assert [m.role for m in kept] == ["system", "assistant", "user"][: 1 + KEPT_TAIL]
    assert kept[0].content.startswith("7 earlier messages") and len(kept[0].content) < 300
    assert [m.content for m in kept[1:]] == [t.content for t in long[-KEPT_TAIL:]]
    # the chat app's next turn: the same history, the answer, the new message
    store.conversations.add_message(alice, cid, MessageCreate(role="user", content="hello"))
    store.conversations.add_message(alice, cid, MessageCreate(role="assistant", content="which options?"))
    following = [*long, Turn(role="user", content="hello"), Turn(role="assistant", content="which options?")]
    assert continue_thread(store, alice, following) == cid
    # an earlier message changed: not this conversation
    changed = [Turn(role="user", content="turn 0 edited"), *following[1:]]
    assert continue_thread(store, alice, changed) != cid
    # an earlier turn asked again: a branch keeps the digest
    branch = continue_thread(store, alice, [*long, Turn(role="user", content="hello")])
    assert branch is not None and branch != cid
    assert [m.role for m in store.conversations.messages(alice, branch)] == [
        "system",
        "assistant",
        "user",
        "user",
    ]


# -- the routes in process -------------------------------------------------------------------------


def _client(
    app: AppService, *, local_mode: bool = False, concurrency: int = 2
) -> tuple[TestClient, OpenAIApi]:
    api = OpenAIApi(
        app.store,
        app.decisions.chat_engine,
        app.service.settings,
        local_mode=local_mode,
        concurrency=concurrency,
    )
    server = Starlette(
        routes=api.routes(),
        middleware=[Middleware(BodyLimit, max_bytes=20_000, upload_bytes=20_000)],
    )
    return TestClient(server, client=("127.0.0.1", 50000)), api


def _events(text: str) -> list[Any]:
    events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    return [e if e == "[DONE]" else json.loads(e) for e in events]


def test_routes_decide_with_a_named_decider_and_profile(app: AppService):
    alice = app.actor("alice")
    app.store.profiles.create(alice, ProfileCreate(name="fair", targets={"fairness": 0.9}))
    key = app.store.api_keys.create(alice, ApiKeyCreate()).key
    client, api = _client(app)
    body = {"model": "align:fair:persona-greedy", "messages": [{"role": "user", "content": SITUATION}]}
    reply = client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"})
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert data["object"] == "chat.completion" and data["align"]["kind"] == "decision"
    assert data["choices"][0]["message"]["content"].startswith("**My advice: Help the civilian.**")
    entry = app.store.log.get(alice, data["align"]["decision_id"])
    assert entry.decider == "persona-greedy" and entry.profile_name == "fair" and entry.algorithm == "persona"
    # content as a list of parts, as some apps send it
    parts = {**body, "messages": [{"role": "user", "content": [{"type": "text", "text": SITUATION}]}]}
    assert (
        client.post(
            "/v1/chat/completions", json=parts, headers={"Authorization": f"Bearer {key}"}
        ).status_code
        == 200
    )
    too_big = client.post(
        "/v1/chat/completions", content=b"x" * 30_000, headers={"Authorization": f"Bearer {key}"}
    )
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "request_too_large"
    assert api.gate.running == 0


def test_local_mode_needs_no_key_but_a_given_key_must_be_valid(app: AppService):
    client, _ = _client(app, local_mode=True)
    models = client.get("/v1/models")
    assert models.status_code == 200 and models.json()["data"][0]["id"] == "align"
    wrong = client.get("/v1/models", headers={"Authorization": "Bearer align-wrong"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    assert wrong.headers["www-authenticate"] == "Bearer"


def test_a_failure_in_the_middle_of_a_stream_is_an_error_event_then_done(app: AppService):
    def broken(request: Any, count: int) -> Any:
        raise RuntimeError("the model fell over")

    app.service.backbones.add(FakeBackbone(broken, name="embedded"))
    client, api = _client(app, local_mode=True)
    body = {
        "model": "align:medic",  # a profile of triage values, named: a triage decision
        "messages": [{"role": "user", "content": SITUATION}],
        "stream": True,
    }
    local = app.store.users.ensure("local", role="admin")
    app.store.profiles.create(local, ProfileCreate(name="medic", targets={"fairness": 0.9}))
    with client.stream("POST", "/v1/chat/completions", json=body) as answer:
        assert answer.status_code == 200
        events = _events(answer.read().decode())
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert events[-1] == "[DONE]"
    error = events[-2]["error"]
    assert error["type"] == "server_error" and "the model fell over" in error["message"]
    assert api.gate.running == 0


def test_an_admin_chats_on_in_their_own_conversations_only(app: AppService):
    """An admin may read others' conversations, but a chat turn with another user's conversation id
    (an old tab, a guessed id) is not found: it never writes into someone else's conversation."""
    from assistant.app.schemas import ChatRequest

    alice, root = app.actor("alice"), app.actor("root")
    assert root.is_admin
    hers = list(app.decisions.chat_engine.respond(alice, ChatRequest(message="hello")))[-1].conversation_id
    before = app.store.conversations.messages(alice, hers)
    for message in ("hello", "### Task:\nGenerate a concise title for the chat history."):
        with pytest.raises(NotFound):
            list(app.decisions.chat_engine.respond(root, ChatRequest(message=message, conversation_id=hers)))
    assert app.store.conversations.messages(alice, hers) == before
    mine = list(app.decisions.chat_engine.respond(root, ChatRequest(message="hello")))[-1].conversation_id
    again = list(app.decisions.chat_engine.respond(root, ChatRequest(message="hello", conversation_id=mine)))[
        -1
    ]
    assert again.conversation_id == mine
