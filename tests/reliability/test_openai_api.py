"""The OpenAI-compatible API of a live ``align serve`` in login mode, called with the real
``openai`` client (and raw HTTP where the wire format itself is the point).

Keys are made with the real CLI (``align users api-key create|revoke``) on the server's database. The
server runs the default decider (value-fit: no language model call, the sentence embedder only).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from assistant.decisions.progress import without_progress
from tests.helpers.gradio_queue import call_fn, handler, refusal
from tests.helpers.serve import USERS, align_cli, cli_api_key, new_site, serving, start_server
from tests.helpers.store import opened
from tests.helpers.web import logged_in

pytestmark = pytest.mark.timeout(900)

QUESTION = (
    "I have savings of 20,000. Should I put them in a broad index fund or start a food truck business "
    "with a friend?"
)
MAX_FAILURES = 3


def _profiles(database_url: str) -> None:
    from profiles.schemas import ProfileCreate

    with opened(database_url) as store:
        alice = store.users.actor("alice")
        store.profiles.create(alice, ProfileCreate(name="careful", targets={"security": 0.9}))
        store.profiles.create(alice, ProfileCreate(name="bold", targets={"stimulation": 0.9}))
        store.profiles.create(store.users.actor("bob"), ProfileCreate(name="bobs-own", targets={"care": 0.8}))


def new_key(data_dir: Path, user: str, label: str = "test") -> str:
    return cli_api_key(data_dir, user, label)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir, database_url = new_site(tmp_path_factory, "openai-api")
    _profiles(database_url)
    env = {"ALIGN_LOGIN_MAX_FAILURES": str(MAX_FAILURES), "ALIGN_LOGIN_COOLDOWN_S": "30"}
    with serving(start_server(data_dir, extra_env=env)) as app:
        yield {
            "url": app.url,
            "db": database_url,
            "data_dir": data_dir,
            "log": app.log,
            "alice": new_key(data_dir, "alice", "Open WebUI"),
            "bob": new_key(data_dir, "bob"),
        }


def client(server: dict[str, Any], key: str | None) -> openai.OpenAI:
    return openai.OpenAI(base_url=server["url"] + "/v1", api_key=key or "", max_retries=0, timeout=300)


def logged(server: dict[str, Any], user: str, decision_id: int) -> Any:
    with opened(server["db"]) as store:
        return store.log.get(store.users.actor(user), decision_id)


# -- models ---------------------------------------------------------------------------------------


def test_models_list_shows_exactly_the_callers_profiles(server):
    alices = [m.id for m in client(server, server["alice"]).models.list().data]
    assert alices[0] == "align"
    assert {"align:careful", "align:bold", "align:careful:aligned", "align:bold:persona-greedy"} <= set(
        alices
    )
    assert not any("bobs-own" in m for m in alices)
    bobs = [m.id for m in client(server, server["bob"]).models.list().data]
    assert "align:bobs-own" in bobs and not any("careful" in m for m in bobs)
    assert client(server, server["alice"]).models.retrieve("align:careful").id == "align:careful"


def test_a_key_cannot_use_another_users_profile(server):
    bob = client(server, server["bob"])
    with pytest.raises(openai.NotFoundError) as caught:
        bob.chat.completions.create(model="align:careful", messages=[{"role": "user", "content": QUESTION}])
    error = caught.value.body
    assert isinstance(error, dict) and error["code"] == "model_not_found"
    assert "align:bobs-own" in error["message"] and "careful" not in error["message"].replace(
        "'align:careful'", ""
    )
    with pytest.raises(openai.NotFoundError):
        bob.models.retrieve("align:careful")


# -- decisions ------------------------------------------------------------------------------------


def test_a_decision_not_streamed_is_answered_and_logged(server):
    reply = client(server, server["alice"]).chat.completions.create(
        model="align:careful", messages=[{"role": "user", "content": QUESTION}]
    )
    text = reply.choices[0].message.content or ""
    assert reply.choices[0].finish_reason == "stop" and reply.model == "align:careful"
    assert text.startswith("**My advice: ")
    assert "index fund" in text and "food truck" in text and "security" in text.lower()
    info = reply.model_extra["align"]
    assert info["kind"] == "decision" and info["decision_id"]
    entry = logged(server, "alice", info["decision_id"])
    assert entry.status == "ok" and entry.profile_name == "careful" and entry.algorithm == "value-fit"
    assert entry.request["target"] == {"security": 0.9}
    assert entry.result["choice"] in text


def test_a_decision_streamed_arrives_in_chunks_ending_with_done(server):
    stream = client(server, server["alice"]).chat.completions.create(
        model="align:bold:aligned",
        messages=[{"role": "user", "content": QUESTION}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    contents = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(contents) >= 3  # the verdict, the reasons, the details, as the engine streams them
    text = "".join(contents)
    # a progress line first, at once; then the answer, which has none (nor has the stored one)
    answer = without_progress(text)
    assert "_Weighing 2 options against your values…_" in text and text.startswith("_")
    assert answer.startswith("**My advice: ") and "_Weighing" not in answer
    finishes = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(finishes) == 1
    assert chunks[-1].choices == [] and chunks[-1].usage is not None  # include_usage: the last chunk
    decision_id = finishes[0].model_extra["align"]["decision_id"]
    entry = logged(server, "alice", decision_id)
    assert entry.profile_name == "bold" and entry.decider == "aligned" and entry.result["choice"] in text

    # the wire format: server-sent events, each "data: {json}", the last one "data: [DONE]"
    with httpx.stream(
        "POST",
        server["url"] + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {server['alice']}"},
        json={"model": "align", "messages": [{"role": "user", "content": QUESTION}], "stream": True},
        timeout=300,
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        events = [line for line in answer.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    assert all(json.loads(e[6:])["object"] == "chat.completion.chunk" for e in events[:-1])


def test_follow_up_turns_use_the_history_the_app_sends(server):
    alice = client(server, server["alice"])
    history: list[dict[str, str]] = [{"role": "system", "content": "You are a helpful assistant."}]

    def turn(message: str) -> tuple[str, dict[str, Any]]:
        history.append({"role": "user", "content": message})
        reply = alice.chat.completions.create(model="align:careful", messages=history)  # type: ignore[arg-type]
        text = reply.choices[0].message.content or ""
        history.append({"role": "assistant", "content": text})
        return text, reply.model_extra["align"]

    first, decided = turn(QUESTION)
    assert first.startswith("**My advice: ")
    chosen = logged(server, "alice", decided["decision_id"]).result["choice_index"]
    other = "B" if chosen == 0 else "A"
    why_not, info = turn(f"why not {other}?")
    assert info["kind"] == "why_not" and info["conversation_id"] == decided["conversation_id"]
    assert info["decision_id"] == decided["decision_id"]  # answered from the logged decision
    assert why_not.startswith("I did not pick “")
    what_if, moved = turn("what if I cared more about stimulation?")
    assert moved["kind"] == "more" and moved["conversation_id"] == decided["conversation_id"]
    assert moved["decision_id"] != decided["decision_id"]
    assert "I added **Stimulation** to your values at high" in what_if
    assert logged(server, "alice", moved["decision_id"]).request["target"] == {
        "security": 0.9,
        "stimulation": 0.8,
    }

    # the conversation is stored as the app sent it (the system message is the app's own)
    with opened(server["db"]) as store:
        actor = store.users.actor("alice")
        stored = store.conversations.messages(actor, decided["conversation_id"])
    assert [(m.role, m.content) for m in stored] == [(h["role"], h["content"]) for h in history[1:]]

    # an earlier turn asked again (the app's "regenerate"): a new branch, the follow-up still works
    branch = [*history[1:3], {"role": "user", "content": f"why not {other}?"}]
    reply = alice.chat.completions.create(model="align:careful", messages=branch)  # type: ignore[arg-type]
    again = reply.model_extra["align"]
    assert again["kind"] == "why_not" and again["conversation_id"] != decided["conversation_id"]


# -- keys -----------------------------------------------------------------------------------------


def _error(answer: httpx.Response) -> dict[str, Any]:
    body = answer.json()
    assert set(body) == {"error"} and {"message", "type", "code"} <= set(body["error"])
    return dict(body["error"])


def test_missing_and_wrong_keys_get_401_in_openai_format(server):
    payload = {"model": "align", "messages": [{"role": "user", "content": QUESTION}]}
    with httpx.Client(
        base_url=server["url"], timeout=60, transport=httpx.HTTPTransport(local_address="127.0.0.2")
    ) as raw:
        missing = raw.post("/v1/chat/completions", json=payload)
        assert missing.status_code == 401 and _error(missing)["code"] == "missing_api_key"
        assert "--" not in _error(missing)["message"]
        assert raw.get("/v1/models").status_code == 401
    with pytest.raises(openai.AuthenticationError) as caught:
        client(server, "align-not-a-key-at-all-0123456789").models.list()
    assert caught.value.status_code == 401 and caught.value.code == "invalid_api_key"


def test_a_revoked_key_gets_401(server):
    key = new_key(server["data_dir"], "alice", "soon revoked")
    assert client(server, key).models.list().data
    listed = align_cli(server["data_dir"], "users", "api-key", "list", "alice")
    assert key not in listed.stdout and key[:12] in listed.stdout
    revoked = align_cli(server["data_dir"], "users", "api-key", "revoke", "alice", key[:12])
    assert revoked.returncode == 0, revoked.stderr
    with pytest.raises(openai.AuthenticationError) as caught:
        client(server, key).chat.completions.create(
            model="align", messages=[{"role": "user", "content": QUESTION}]
        )
    assert caught.value.code == "invalid_api_key" and "revoked" in caught.value.message
    assert client(server, server["alice"]).models.list().data  # her other key still works
    # bob may not revoke alice's keys
    denied = align_cli(server["data_dir"], "users", "api-key", "revoke", "alice", "1", "--user", "bob")
    assert denied.returncode == 2 and "only an admin" in denied.stderr


def test_wrong_keys_from_one_address_are_rate_limited(server):
    def attempt(key: str) -> httpx.Response:
        with httpx.Client(
            base_url=server["url"], timeout=60, transport=httpx.HTTPTransport(local_address="127.0.0.9")
        ) as raw:
            return raw.get("/v1/models", headers={"Authorization": f"Bearer {key}"})

    codes = [attempt(f"align-wrong-{i}").status_code for i in range(MAX_FAILURES)]
    assert codes == [401] * MAX_FAILURES
    locked = attempt("align-wrong-again")  # the address cools down for wrong keys
    assert locked.status_code == 429 and _error(locked)["code"] == "rate_limit_exceeded"
    assert int(locked.headers["retry-after"]) >= 1
    assert attempt(server["alice"]).status_code == 200  # a valid key is never refused for them
    assert client(server, server["alice"]).models.list().data  # other addresses are not affected


# -- sizes ----------------------------------------------------------------------------------------


def test_oversize_bodies_and_texts_are_refused(server):
    alice = client(server, server["alice"])
    huge = "x" * 1_100_000  # past max_request_bytes (1 MB): refused before parsing
    with pytest.raises(openai.APIStatusError) as caught:
        alice.chat.completions.create(model="align", messages=[{"role": "user", "content": huge}])
    assert caught.value.status_code == 413
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "request_too_large"
    assert "too large" in caught.value.body["message"]
    long = "y" * 9000  # under 1 MB, but one text past max_text_chars (8000)
    with pytest.raises(openai.BadRequestError) as too_long:
        alice.chat.completions.create(model="align", messages=[{"role": "user", "content": long}])
    assert too_long.value.code == "request_too_large" and "8000" in too_long.value.message
    refused = [line for line in server["log"].read_text(errors="replace").splitlines() if "refused " in line]
    assert refused and not any("xxxxxxxx" in line or "yyyyyyyy" in line for line in refused)


def test_a_request_that_is_not_a_chat_is_refused_with_a_message(server):
    alice = client(server, server["alice"])
    with pytest.raises(openai.BadRequestError) as caught:
        alice.chat.completions.create(model="align", messages=[{"role": "assistant", "content": "hello"}])
    assert "last message must be the user's" in caught.value.message
    with pytest.raises(openai.BadRequestError):
        alice.chat.completions.create(model="align", messages=[])


# -- the Profiles tab: one's own keys -------------------------------------------------------------


def test_the_profiles_tab_creates_lists_and_revokes_ones_own_keys(server):
    with closing(logged_in(server["url"], "bob", timeout=120)) as web:
        ok, output = call_fn(web, handler(web, api_name="create_key"), ["laptop", USERS["bob"][0]])
        assert ok, output
        table, shown = output["data"][0], output["data"][1]
        key = shown["value"]
        assert key.startswith("align-") and shown["visible"] is True
        assert [row[2] for row in table["data"]] == ["laptop", "test"]  # bob's keys only, newest first
        assert key not in json.dumps(table)

        bob = client(server, key)
        assert "align:bobs-own" in [m.id for m in bob.models.list().data]

        ok, output = call_fn(web, handler(web, api_name="list_keys"), [])
        assert ok and all(key not in json.dumps(d) for d in output["data"])
        assert output["data"][1]["visible"] is False  # the key is never shown again

        ok, output = call_fn(web, handler(web, api_name="revoke_key"), [key[:12] + "…"])
        assert ok, output
        assert "revoked" in output["data"][2]
        with pytest.raises(openai.AuthenticationError):
            bob.models.list()
        # alice's keys are not bob's to revoke from his tab
        alices_first = client(server, server["alice"]).models.list()  # still works
        assert alices_first.data
        ok, output = call_fn(web, handler(web, api_name="revoke_key"), ["1"])
        assert "no API key" in refusal(ok, output), output
        assert "no API key" in json.dumps(output["data"])  # the tab's status line says it too
        assert client(server, server["alice"]).models.list().data  # alice's key still works
