"""The conversation test set through the chat engine, on the real service: the MiniLM embedder,
an example store holding the everyday example decisions, the default value-fit decider (no
language model), a SQLite store with the seed packs. After each turn the decision log and the
person's default profile are read; at least 0.95 of the checks must be met."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.app import AppService
from assistant.app.schemas import ChatRequest
from profiles.schemas import Actor, UserCreate
from tests.helpers.conversation_checks import SET, plain_problems, run_conversations
from tests.helpers.examples import value_fit_app

REPO = Path(__file__).resolve().parents[2]
EVERYDAY = REPO / "datasets" / "everyday" / "everyday_packs_input_output.json"
TARGET = 0.95


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppService]:
    app = value_fit_app(
        tmp_path_factory.mktemp("conversations"),
        [EVERYDAY],
        why="the conversation set must not need a language model",
    )
    yield app
    app.store.close()


def _new_person(app: AppService, prefix: str = "person") -> Any:
    root = app.store.users.actor("root")
    counter = itertools.count(1)

    def make(conversation: str) -> Actor:
        name = f"{prefix}-{next(counter)}"
        app.store.users.add(root, UserCreate(name=name, password=f"{name}-password"))
        return app.store.users.actor(name)

    return make


def test_the_conversation_set_meets_its_checks(app: AppService) -> None:
    def chat(actor: Actor, payload: dict[str, Any]):  # type: ignore[no-untyped-def]
        updates = list(app.decisions.chat_stream(actor, ChatRequest.model_validate(payload)))
        assert updates and updates[-1].done and sum(u.done for u in updates) == 1
        return updates[-1]

    outcome = run_conversations(app.store, chat, _new_person(app))
    share = outcome.met / outcome.checks
    print(
        f"\nconversation set ({SET.name}): {outcome.met}/{outcome.checks} checks met ({share:.3f}) over "
        f"{outcome.turns} turns in {outcome.conversations} conversations; median turn "
        f"{statistics.median(outcome.seconds):.2f} s"
    )
    for failure in outcome.failures:
        print("  not met:", failure)
    assert outcome.conversations >= 40 and outcome.turns >= 150
    assert share >= TARGET, f"{outcome.met}/{outcome.checks} checks met: " + "\n".join(outcome.failures)


def test_the_conversation_set_through_the_openai_api(app: AppService) -> None:
    """The same set as a chat app sends it to /v1 (model "align": the caller's default profile): the
    whole history with each request, a chat app's task as a request of its own."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from alignment.models import Decision
    from alignment.turns import is_task
    from assistant.decisions.chat import ChatUpdate
    from assistant.web.openai_api import OpenAIApi
    from profiles.api_keys import ApiKeyCreate

    api = OpenAIApi(app.store, app.decisions.chat_engine, app.service.settings, concurrency=2)
    client = TestClient(Starlette(routes=api.routes()), client=("127.0.0.1", 50000))
    keys: dict[str, str] = {}
    histories: dict[str, list[dict[str, str]]] = {}

    def chat(actor: Actor, payload: dict[str, Any]) -> ChatUpdate:
        key = keys.get(actor.name) or keys.setdefault(
            actor.name, app.store.api_keys.create(actor, ApiKeyCreate()).key
        )
        history = histories.setdefault(actor.name, [])
        message = {"role": "user", "content": payload["message"]}
        task = is_task(payload["message"])
        body = {"model": "align", "messages": [message] if task else [*history, message]}
        reply = client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"})
        assert reply.status_code == 200, reply.text
        data = reply.json()
        text = data["choices"][0]["message"]["content"] or ""
        info = data["align"]
        if not task:
            history.extend([message, {"role": "assistant", "content": text}])
        decision = None
        if info["decision_id"]:
            entry = app.store.log.get(actor, info["decision_id"])
            decision = Decision.model_validate(entry.result) if entry.result else None
        return ChatUpdate(
            conversation_id=info["conversation_id"] or 0,
            text=text,
            done=True,
            kind=info["kind"],
            decision_id=info["decision_id"],
            decision=decision,
        )

    outcome = run_conversations(app.store, chat, _new_person(app, prefix="api-person"))
    share = outcome.met / outcome.checks
    print(f"\nconversation set through /v1: {outcome.met}/{outcome.checks} checks met ({share:.3f})")
    for failure in outcome.failures:
        print("  not met:", failure)
    assert share >= TARGET, f"{outcome.met}/{outcome.checks} checks met: " + "\n".join(outcome.failures)


def test_plain_problems_finds_what_it_must() -> None:
    assert plain_problems("**My advice: A.** Security 0.90 decided it.")
    assert plain_problems("Informed by `ex-96098546ab`.")
    assert plain_problems("value-fit on none")
    assert plain_problems(" ".join(["word"] * 121))
    assert plain_problems("fine&nbsp;&nbsp;text")
    assert not plain_problems(
        "**My advice: A.** Security decided it.\n\n<details><summary>Details</summary>\n\n0.5\n\n</details>"
    )
