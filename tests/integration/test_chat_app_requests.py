"""What chat apps send besides a person's messages, through the real /v1 API and the Chat tab's engine
(the MiniLM embedder, the default value-fit decider, SQLite; the app of test_chat_conversations,
``value_fit_app``): their task prompts (tests/fixtures/conversations/chat_app_tasks.json, filled
with the real chat history), their default request parameters, the parameters refused with 400, and
a streamed answer whose first chunk comes before the decision is made."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from alignment.models import Decision
from assistant.app import AppService
from assistant.app.schemas import ChatRequest
from assistant.decisions.chat import ChatEngine
from assistant.decisions.progress import without_progress
from assistant.decisions.service import DecisionService
from assistant.web.openai_api import OpenAIApi
from profiles.api_keys import ApiKeyCreate
from profiles.schemas import UserCreate
from tests.helpers.chat_apps import TASKS, fill
from tests.helpers.examples import value_fit_app
from tests.helpers.paths import DATASETS

DILEMMAS = [
    (
        "Security matters a lot to me, excitement only a little",
        "Should I put my savings in an index fund or start a food truck?",
        ["index fund", "food truck"],
    ),
    (
        "I value loyalty a lot",
        "My best friend's startup needs a developer and asks me to join, but a big firm offered me a "
        "better paid job. Should I join my friend's startup or take the big firm's offer?",
        ["startup", "offer"],
    ),
    (
        "honesty matters most to me",
        "Should I tell my friend the truth about his wife or keep quiet?",
        ["truth"],
    ),
]
# what Open WebUI 0.12.4 adds to a chat request from its UI by default: its built-in tools (native
# function calling) and, for a model with the usage capability, stream_options
OPEN_WEBUI_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_current_timestamp",
            "description": "Get the current Unix timestamp.",
            "parameters": {"type": "object", "properties": {}},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search_chats",
            "description": "Search the user's previous chats.",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
            },
        },
    },
]
# what LibreChat's custom endpoint (LangChain's ChatOpenAI) sends with a chat request
LIBRECHAT_DEFAULTS = {
    "temperature": 1,
    "top_p": 1,
    "frequency_penalty": 0,
    "presence_penalty": 0,
    "n": 1,
    "stream_options": {"include_usage": True},
    "user": "6566f1e0c6a1b2a3d4e5f601",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppService]:
    app = value_fit_app(
        tmp_path_factory.mktemp("conversations"),
        [DATASETS / "everyday" / "everyday_packs_input_output.json"],
        why="the conversation set must not need a language model",
    )
    yield app
    app.store.close()


class _Api:
    """The real /v1 routes in process, with one person and their key."""

    def __init__(self, app: AppService, name: str) -> None:
        root = app.store.users.actor("root")
        app.store.users.add(root, UserCreate(name=name, password=f"{name}-password"))
        self.app = app
        self.actor = app.store.users.actor(name)
        self.key = app.store.api_keys.create(self.actor, ApiKeyCreate()).key
        self.api = OpenAIApi(app.store, app.decisions.chat_engine, app.service.settings, concurrency=2)
        self.client = TestClient(Starlette(routes=self.api.routes()), client=("127.0.0.1", 50001))
        self.history: list[dict[str, str]] = []

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def post(self, body: dict[str, Any]) -> httpx.Response:
        return self.client.post("/v1/chat/completions", json=body, headers=self.headers)

    def say(self, text: str, **extra: Any) -> dict[str, Any]:
        message = {"role": "user", "content": text}
        reply = self.post({"model": "align", "messages": [*self.history, message], **extra})
        assert reply.status_code == 200, reply.text
        data = reply.json()
        self.history += [message, {"role": "assistant", "content": data["choices"][0]["message"]["content"]}]
        return data

    def stored(self) -> tuple[int, list[tuple[int, int]]]:
        """Decisions logged, and each conversation with its count of messages."""
        conversations = self.app.store.conversations.list(self.actor)
        return len(self.app.store.log.list(self.actor, limit=1000)), [
            (c.id, len(self.app.store.conversations.messages(self.actor, c.id))) for c in conversations
        ]


def test_task_prompts_are_answered_as_tasks_and_their_follow_ups_are_understood(app: AppService) -> None:
    for n, (values, dilemma, named) in enumerate(DILEMMAS):
        api = _Api(app, f"task-person-{n}")
        api.say(values)
        api.say(dilemma)
        pairs = [(m["role"], m["content"]) for m in api.history]
        before = api.stored()
        follow_ups: list[str] = []
        for task in TASKS:
            prompt = fill(task["template"], pairs)
            # as the apps send a task: the prompt alone, not streamed
            reply = api.post(
                {"model": "align", "messages": [{"role": "user", "content": prompt}], "stream": False}
            )
            assert reply.status_code == 200, reply.text
            body = reply.json()
            assert body["align"]["kind"] == "task" and body["align"]["decision_id"] is None
            text = body["choices"][0]["message"]["content"]
            if not task["keys"]:
                assert text and not text.startswith("{"), (task["name"], text)
                if task["kind"] == "title":
                    assert all(w.casefold() in text.casefold() for w in named), text
                continue
            data = json.loads(text)
            assert sorted(data) == sorted(task["keys"]), (task["name"], data)
            if task["kind"] == "title":
                assert all(w.casefold() in data["title"].casefold() for w in named), data
                assert " or " in data["title"]
            if task["kind"] == "tags":
                assert data["tags"] and all(isinstance(t, str) for t in data["tags"])
            if task["kind"] == "follow_ups":
                follow_ups = data["follow_ups"]
        assert api.stored() == before, "a task was logged as a decision or stored in a conversation"
        assert len(follow_ups) >= 3
        # each suggestion, sent as the person's next message, is understood as a follow-up
        base = list(api.history)
        for suggestion in follow_ups:
            api.history = list(base)
            data = api.say(suggestion)
            assert data["align"]["kind"] in ("why", "why_not", "more", "less"), (suggestion, data)
            assert "need at least two options" not in data["choices"][0]["message"]["content"]


def test_a_task_in_the_chat_tabs_conversation_changes_nothing(app: AppService) -> None:
    root = app.store.users.actor("root")
    app.store.users.add(root, UserCreate(name="tab-task-person", password="tab-task-person-password"))
    actor = app.store.users.actor("tab-task-person")

    def chat(message: str, cid: int | None) -> Any:
        updates = list(app.decisions.chat_stream(actor, ChatRequest(message=message, conversation_id=cid)))
        return updates[-1]

    cid = chat(DILEMMAS[0][0], None).conversation_id
    answer = chat(DILEMMAS[0][1], cid)
    messages = app.store.conversations.messages(actor, cid)
    logged = len(app.store.log.list(actor, limit=1000))
    title = next(t for t in TASKS if t["kind"] == "title" and t["app"] == "open-webui")
    reply = chat(fill(title["template"], [("user", DILEMMAS[0][1]), ("assistant", answer.text)]), cid)
    assert reply.kind == "task" and json.loads(reply.text) == {"title": "Index fund or food truck"}
    assert app.store.conversations.messages(actor, cid) == messages
    assert len(app.store.log.list(actor, limit=1000)) == logged


def test_chat_apps_default_parameters_are_accepted(app: AppService) -> None:
    api = _Api(app, "defaults-person")
    api.say(DILEMMAS[0][0], tools=OPEN_WEBUI_TOOLS)
    data = api.say(DILEMMAS[0][1], **LIBRECHAT_DEFAULTS, max_tokens=512, seed=3, stop=["\n\n\n"])
    assert data["align"]["kind"] == "decision" and data["choices"][0]["message"]["content"].startswith(
        "**My advice"
    )
    reply = api.post(
        {
            "model": "align",
            "messages": [*api.history, {"role": "user", "content": "why?"}],
            "stream": True,
            "stream_options": {"include_usage": True},
            "tools": OPEN_WEBUI_TOOLS,
        }
    )
    assert reply.status_code == 200 and reply.text.rstrip().endswith("data: [DONE]")
    models = api.client.get("/v1/models", headers=api.headers).json()["data"]
    assert models[0]["id"] == "align" and models[0]["name"] == "ALIGN assistant (your values)"
    assert all(m["name"] and "ALIGN" in m["name"] for m in models)


REFUSED = [
    ({"n": 2}, "n"),
    ({"tools": OPEN_WEBUI_TOOLS, "tool_choice": "required"}, "tool_choice"),
    (
        {
            "tools": OPEN_WEBUI_TOOLS,
            "tool_choice": {"type": "function", "function": {"name": "search_chats"}},
        },
        "tool_choice",
    ),
    (
        {"functions": [OPEN_WEBUI_TOOLS[0]["function"]], "function_call": {"name": "get_current_timestamp"}},
        "function_call",
    ),
    ({"logprobs": True, "top_logprobs": 3}, "logprobs"),
    ({"top_logprobs": 2}, "top_logprobs"),
    ({"modalities": ["text", "audio"]}, "modalities"),
    ({"best_of": 3}, "best_of"),
    ({"response_format": {"type": "yaml"}}, "response_format"),
    (
        {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "weather", "schema": {"type": "object", "required": ["city"]}},
            }
        },
        "response_format",
    ),
]


@pytest.mark.parametrize(("extra", "param"), REFUSED, ids=[p for _, p in REFUSED])
def test_a_parameter_that_cannot_be_honoured_gets_400(app: AppService, extra: dict, param: str) -> None:
    api = _Api(app, f"refused-{param}-{len(json.dumps(extra))}")
    before = api.stored()
    reply = api.post({"model": "align", "messages": [{"role": "user", "content": DILEMMAS[0][1]}], **extra})
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert error["code"] == "unsupported_parameter" and len(error["message"]) > 30
    assert api.stored() == before  # nothing decided or stored


def test_the_openai_client_sees_the_refusals_and_gets_json(app: AppService) -> None:
    import openai

    api = _Api(app, "client-person")
    client = openai.OpenAI(
        base_url="http://testserver/v1", api_key=api.key, http_client=api.client, max_retries=0
    )
    client.chat.completions.create(model="align", messages=[{"role": "user", "content": DILEMMAS[0][0]}])
    ask = [{"role": "user", "content": DILEMMAS[0][1]}]
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="align", messages=ask, n=3)  # type: ignore[arg-type]
    assert "one answer per request" in str(refused.value)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="align", messages=ask, logprobs=True)  # type: ignore[arg-type]
    reply = client.chat.completions.create(
        model="align",
        messages=ask,
        response_format={"type": "json_object"},  # type: ignore[arg-type]
    )
    data = json.loads(reply.choices[0].message.content or "")
    assert data["kind"] == "decision" and data["chosen"] in data["options"] and len(data["options"]) == 2
    assert data["confidence"] in ("clear", "close call") and data["estimates"] and data["decision_id"]
    entry = api.app.store.log.get(api.actor, data["decision_id"])
    assert Decision.model_validate(entry.result).choice == data["chosen"]
    schema = {
        "type": "object",
        "properties": {"chosen": {"type": "string"}, "reasons": {"type": "string"}},
        "required": ["chosen", "reasons"],
    }
    reply = client.chat.completions.create(
        model="align",
        messages=ask,
        response_format={"type": "json_schema", "json_schema": {"name": "advice", "schema": schema}},  # type: ignore[arg-type]
    )
    assert sorted(json.loads(reply.choices[0].message.content or "")) == ["chosen", "reasons"]


# -- streaming ------------------------------------------------------------------------------------


class _Gated:
    """A real part held at a gate: what it reached goes into ``events``, and it waits (at most 30 s)
    until the test sets ``gate``."""

    gate: threading.Event
    events: list[str]

    def _hold(self, reached: str, what: str) -> None:
        self.events.append(reached)
        assert self.gate.wait(30), f"{what} was never let go"

    def first_chunk_received(self) -> None:
        """What the test does when the first streamed words arrive: notes it and opens the gate."""
        self.events.append("first chunk received")
        self.gate.set()


class _GatedService(_Gated, DecisionService):
    """The real decision service, whose decisions wait until the test lets them go (a slow decider)."""

    def decide(self, *args: Any, **kwargs: Any) -> Decision:
        self._hold("decision started", "the decision")
        self.events.append("decision made")
        return super().decide(*args, **kwargs)


class _GatedEngine(_Gated, ChatEngine):
    """The real chat engine, whose turns start reading only when the test lets them (a slow start)."""

    def _value_defs(self, *args: Any, **kwargs: Any) -> Any:
        self._hold("turn read", "the turn")
        return super()._value_defs(*args, **kwargs)


def _serve(api: OpenAIApi) -> tuple[str, Any, threading.Thread]:
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=api.routes()), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


def _stream_contents(
    url: str, body: dict[str, Any], headers: dict[str, str], on_first: Callable[[], None]
) -> list[str]:
    """The words of a streamed /v1 answer, chunk by chunk; ``on_first`` is called as the first arrives."""
    contents: list[str] = []
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, headers=headers, timeout=60) as reply:
        assert reply.status_code == 200
        for line in reply.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            delta = json.loads(line[6:])["choices"]
            text = delta[0]["delta"].get("content") if delta else None
            if text:
                if not contents:
                    on_first()
                contents.append(text)
    return contents


def test_a_turn_slow_to_start_streams_a_progress_line_first(app: AppService) -> None:
    person = _Api(app, "slow-start-person")
    engine = _GatedEngine(app.store, app.service, suggest=app.decisions.suggest_attributes)
    engine.gate, engine.events = threading.Event(), []
    url, server, thread = _serve(OpenAIApi(app.store, engine, app.service.settings, concurrency=2))
    try:
        body = {"model": "align", "messages": [{"role": "user", "content": "hello"}], "stream": True}
        contents = _stream_contents(url, body, person.headers, engine.first_chunk_received)
    finally:
        engine.gate.set()
        server.should_exit = True
        thread.join(10)
    assert engine.events == ["turn read", "first chunk received"]
    assert contents[0] == "_Reading your message…_\n\n"
    assert "".join(contents[1:]).startswith("Hello!")


@pytest.fixture()
def gated_server(app: AppService) -> Iterator[tuple[str, _GatedService, _Api]]:

    service = app.service
    gated = _GatedService(
        service.settings,
        service.backbones,
        attributes=service.attributes,
        examples=service.examples,
        embedder=service.embedder,
        readers=service.readers,
    )
    gated.gate, gated.events = threading.Event(), []
    person = _Api(app, f"stream-person-{time.monotonic_ns()}")
    engine = ChatEngine(app.store, gated, suggest=app.decisions.suggest_attributes)
    url, server, thread = _serve(OpenAIApi(app.store, engine, service.settings, concurrency=2))
    try:
        yield url, gated, person
    finally:
        gated.gate.set()
        server.should_exit = True
        thread.join(10)


def test_the_first_chunk_streams_before_the_decision_is_made(
    gated_server: tuple[str, _GatedService, _Api],
) -> None:
    url, gated, person = gated_server
    person.say(DILEMMAS[0][0])  # values first (no decision)
    body = {
        "model": "align",
        "messages": [*person.history, {"role": "user", "content": DILEMMAS[0][1]}],
        "stream": True,
    }
    # only once the first chunk is here may the decision go on
    contents = _stream_contents(url, body, person.headers, gated.first_chunk_received)
    # the first words came while the decision was still waiting to be let go
    assert "decision started" in gated.events
    assert gated.events.index("first chunk received") < gated.events.index("decision made")
    streamed = "".join(contents)
    assert contents[0].startswith("_") and contents[0].endswith("…_\n\n")
    assert "_Weighing 2 options against your values…_\n\n**My advice:" in streamed
    answer = without_progress(streamed)
    assert answer.startswith("**My advice:")
    # the stored answer has no progress line, and the streamed text sent back continues the conversation
    conversation = person.app.store.conversations.list(person.actor)[0]
    stored = person.app.store.conversations.messages(person.actor, conversation.id)[-1]
    assert stored.content == answer and "_Weighing" not in stored.content
    history = [
        *body["messages"],
        {"role": "assistant", "content": streamed},
        {"role": "user", "content": "why?"},
    ]
    reply = person.post({"model": "align", "messages": history})
    assert (
        reply.json()["align"]["kind"] == "why" and reply.json()["align"]["conversation_id"] == conversation.id
    )
