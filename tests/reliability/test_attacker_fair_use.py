"""A repeat outside probe, on what one user may cost everyone else, against a live ``align serve`` in
login mode, with raw HTTP (httpx) and real session cookies:

- the conversation storage quota and the per-user requests per minute hold at every door that stores a
  chat turn (the ``chat`` endpoint, the Chat tab's handler, ``/v1``) and for decisions; one limit per
  user for all doors; a refusal stores nothing and says what to do (the Chat tab's "Delete this
  conversation" frees the storage);
- one user cannot fill Gradio's shared queue: past their share a new job gets 429, others still answer;
- a stolen session cannot mint a lasting API key (the current password is asked for, wrong ones are
  limited like logins), and one's own password change revokes one's API keys and says so.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import web
from tests.helpers.gradio_queue import call_fn, handler_inputs, joined, refusal
from tests.helpers.serve import new_site, serving, start_server
from tests.helpers.store import add_users, api_keys_of, new_api_key, opened, stored_chat
from tests.helpers.web import call, password_of

pytestmark = pytest.mark.timeout(900)

PER_MINUTE = 6
QUOTA_CHARS = 10_000
QUEUE_SHARE = 3
MAX_FAILURES = 3
EXTRA_USERS = {
    "frank": "frank-password",  # over his storage quota
    "gina": "gina-password",  # past the rate limit
    "hank": "hank-password",  # fills the queue
    "kim": "kim-password",  # her session is stolen
    "lena": "lena-password",  # her stolen session guesses her password
    "nina": "nina-password",  # branches a long conversation through /v1
    "omar": "omar-password",  # names a conversation with HTML
}
SCENARIO = {
    "scenario": "A patient is bleeding and another is not breathing. Who is treated first?",
    "choices": ["The bleeding patient", "The patient who is not breathing"],
    "algorithm": "unaligned",
}


def _prepare(database_url: str) -> str:
    """The extra users, frank's conversations past the quota; gina's API key (returned)."""
    from profiles.schemas import ConversationCreate, MessageCreate

    add_users(database_url, EXTRA_USERS)
    with opened(database_url) as store:
        frank = store.users.actor("frank")
        for n in range(2):
            convo = store.conversations.create(frank, ConversationCreate(title=f"old talk {n}"))
            store.conversations.add_message(frank, convo.id, MessageCreate(role="user", content="x" * 6000))
    return new_api_key(database_url, "gina")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir, database_url = new_site(tmp_path_factory, "fair-use")
    gina_key = _prepare(database_url)
    env = {
        "ALIGN_LOGIN_MAX_FAILURES": str(MAX_FAILURES),
        "ALIGN_LOGIN_COOLDOWN_S": "60",
        "ALIGN_API_REQUESTS_PER_MINUTE": str(PER_MINUTE),
        "ALIGN_CONVERSATION_QUOTA_CHARS": str(QUOTA_CHARS),
        "ALIGN_QUEUE_MAX_PER_USER": str(QUEUE_SHARE),
    }
    with serving(start_server(data_dir, extra_env=env)) as app:
        yield {"url": app.url, "db": database_url, "log": app.log, "gina_key": gina_key}


# -- helpers ----------------------------------------------------------------------------------------


def logged_in(url: str, name: str) -> httpx.Client:
    return web.logged_in(url, name, password_of(name, EXTRA_USERS), timeout=300)


def elem_position(client: httpx.Client, api_name: str, elem_id: str) -> int:
    config = client.get("/config").json()
    ids = {c.get("props", {}).get("elem_id"): c["id"] for c in config["components"]}
    for dep in config["dependencies"]:
        if dep.get("api_name") == api_name:
            return list(dep["inputs"]).index(ids[elem_id])
    raise AssertionError(f"no handler {api_name}")


def toasts(client: httpx.Client, index: int, data: list[Any], session: str) -> list[str]:
    """The pop-up messages (``gr.Info``/``gr.Warning``) an unnamed UI handler sends the page."""
    joined(client, index, data, session)
    said: list[str] = []
    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "log":
                    said.append(str(message.get("log")))
                if message.get("msg") == "process_completed":
                    assert message.get("success"), message
                    return said
    raise AssertionError("the queue ended without an answer")


# -- the storage quota and the rate limit, at every door ---------------------------------------------


def test_a_user_over_the_storage_quota_stores_nothing_through_the_chat_endpoint_or_tab(server):
    frank = logged_in(server["url"], "frank")
    try:
        before = stored_chat(server["db"], "frank")
        assert before[2] >= QUOTA_CHARS
        status, message = call(frank, "chat", {"message": "Should I rest or work tonight?"})
        assert status == "error" and "delete old conversations in the Chat tab" in message, message
        assert stored_chat(server["db"], "frank") == before
        # the Chat tab's own handler
        index, data = handler_inputs(frank, "respond")
        data[elem_position(frank, "respond", "chat-input")] = "Should I rest or work tonight?"
        ok, output = call_fn(frank, index, data)
        assert "delete old conversations in the Chat tab" in refusal(ok, output), output
        assert stored_chat(server["db"], "frank") == before
        # the way out: in the Chat tab, open each conversation, then "Delete this conversation"
        status, listed = call(frank, "list_conversations", {})
        assert status == "ok" and len(listed["conversations"]) == 2, listed
        delete_index, _ = handler_inputs(frank, "delete_current")
        reopen_index, _ = handler_inputs(frank, "reopen")
        refresh_index, _ = handler_inputs(frank, "refresh_list")
        for conversation in listed["conversations"]:
            page = uuid.uuid4().hex
            assert call_fn(frank, refresh_index, [], page)[0]  # "Refresh list", then pick it
            ok, output = call_fn(frank, reopen_index, [str(conversation["id"])], page)
            assert ok and "x" * 100 in json.dumps(output["data"][0]), output  # shown, and open
            ok, output = call_fn(frank, delete_index, [None], page)
            assert ok and output["data"][0] == [], output
        assert stored_chat(server["db"], "frank")[2] == 0
        ok, output = call_fn(frank, delete_index, [None])  # nothing open: words, nothing deleted
        assert ok, output
    finally:
        frank.close()


def test_a_v1_branch_copy_counts_against_the_storage_quota(server):
    """A history that is the start of a stored conversation is copied into a new one (a branch): the
    copy counts in the storage check, so the quota holds (before, stored text reached about 1.5 times
    the quota this way, up to twice with longer conversations)."""
    from profiles.api_keys import ApiKeyCreate
    from profiles.schemas import ConversationCreate, MessageCreate
    from profiles.store import open_store

    said = [("user" if n % 2 == 0 else "assistant", f"{n:02d}" + "w" * 498) for n in range(16)]
    store = open_store(server["db"])
    try:
        nina = store.users.actor("nina")
        key = store.api_keys.create(nina, ApiKeyCreate(label="chat app")).key
        talk = store.conversations.create(nina, ConversationCreate(title="a long talk"))
        for role, content in said:  # 8,000 characters stored: room left for one more turn
            store.conversations.add_message(nina, talk.id, MessageCreate(role=role, content=content))
    finally:
        store.close()
    before = stored_chat(server["db"], "nina")
    assert before[2] == 8000
    # the first 14 messages again, with a new question: a branch would copy 7,000 more characters
    messages = [{"role": role, "content": content} for role, content in said[:14]]
    branch = httpx.post(
        server["url"] + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "align", "messages": [*messages, {"role": "user", "content": "hello 0"}]},
        timeout=300,
    )
    assert branch.status_code == 429 and branch.json()["error"]["code"] == "insufficient_quota", branch.text
    assert stored_chat(server["db"], "nina") == before  # nothing of the refused branch is stored


def test_a_deleted_conversations_title_shows_as_text_not_html(server):
    """The Chat tab's "Deleted ..." pop-up renders HTML: a title with markup shows as the characters
    typed, and runs nothing."""
    from profiles.schemas import ConversationCreate, MessageCreate
    from profiles.store import open_store

    title = '<img src=x onerror="alert(1)">'
    store = open_store(server["db"])
    try:
        omar = store.users.actor("omar")
        talk = store.conversations.create(omar, ConversationCreate(title=title))
        store.conversations.add_message(omar, talk.id, MessageCreate(role="user", content="hi"))
    finally:
        store.close()
    client = logged_in(server["url"], "omar")
    try:
        page = uuid.uuid4().hex
        refresh_index, _ = handler_inputs(client, "refresh_list")
        reopen_index, _ = handler_inputs(client, "reopen")
        delete_index, _ = handler_inputs(client, "delete_current")
        assert call_fn(client, refresh_index, [], page)[0]
        assert call_fn(client, reopen_index, [str(talk.id)], page)[0]
        said = toasts(client, delete_index, [None], page)
        assert len(said) == 1 and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in said[0], said
        assert "<img" not in said[0]
    finally:
        client.close()


def test_the_rate_limit_is_one_per_user_for_v1_the_endpoints_and_decisions(server):
    gina = logged_in(server["url"], "gina")
    alice = logged_in(server["url"], "alice")
    try:
        missing = {**SCENARIO, "profile": "no-such-profile"}  # refused after it is counted: no model time
        for _ in range(PER_MINUTE - 2):
            status, message = call(gina, "decide", missing)
            assert status == "error" and "no-such-profile" in message, message
        two = {"scenario": SCENARIO["scenario"], "choices": SCENARIO["choices"]}
        columns = [{"profile": "no-such-profile"}, {"profile": "none-either"}]
        compared = call(gina, "compare", {**two, "columns": columns})
        assert compared[0] == "error" and "no-such-profile" in str(compared[1]), compared
        v1 = httpx.post(
            server["url"] + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {server['gina_key']}"},
            json={"model": "align:no-such-profile", "messages": [{"role": "user", "content": "hello"}]},
            timeout=60,
        )
        assert v1.status_code == 404 and "no-such-profile" in v1.text, v1.text  # the sixth, through /v1
        before = stored_chat(server["db"], "gina")
        for endpoint, payload in (
            ("chat", {"message": "hello"}),
            ("decide", SCENARIO),
            ("compare", {**two, "columns": columns}),
        ):
            status, message = call(gina, endpoint, payload)
            assert status == "error" and f"more than {PER_MINUTE} requests in a minute" in message, (
                endpoint,
                message,
            )
        assert stored_chat(server["db"], "gina") == before
        status, message = call(alice, "decide", missing)  # others are not affected
        assert status == "error" and "in a minute" not in message, message
    finally:
        gina.close()
        alice.close()


# -- one user's share of Gradio's queue ----------------------------------------------------------------


def test_one_user_cannot_fill_the_gradio_queue(server):
    hank = logged_in(server["url"], "hank")
    alice = logged_in(server["url"], "alice")
    session = "hank" + uuid.uuid4().hex[:8]
    events: list[str] = []
    try:
        decide, _ = handler_inputs(hank, "decide")
        codes: list[int] = []
        for _ in range(QUEUE_SHARE + 5):
            joined = hank.post(
                "/gradio_api/queue/join",
                json={"data": [SCENARIO], "fn_index": decide, "session_hash": session},
            )
            codes.append(joined.status_code)
            if joined.status_code == 200:
                events.append(joined.json()["event_id"])
            else:
                assert joined.status_code == 429 and "your share" in joined.json()["detail"], joined.text
        assert codes == [200] * QUEUE_SHARE + [429] * 5, codes
        refused = hank.post("/gradio_api/call/whoami", json={"data": [{}]})
        assert refused.status_code == 429, refused.text
        assert call(alice, "whoami", {}) == ("ok", call(alice, "whoami", {})[1])
        for event in events[1:]:  # hank gives up his waiting ones; alice's decision is answered
            hank.post(
                "/gradio_api/cancel", json={"session_hash": session, "fn_index": decide, "event_id": event}
            )
        status, reply = call(alice, "decide", SCENARIO)
        assert status == "ok" and reply["log_id"], reply
    finally:
        hank.close()
        alice.close()


# -- API keys and a stolen session ------------------------------------------------------------------


def test_a_stolen_session_cannot_mint_an_api_key_and_a_password_change_revokes_them(server):
    url = server["url"]
    kim = logged_in(url, "kim")
    try:
        create, _ = handler_inputs(kim, "create_key")
        for password in (None, "", "a-wrong-guess"):
            ok, output = call_fn(kim, create, ["stolen", password])
            assert "current password" in refusal(ok, output), output
        assert api_keys_of(server["db"], "kim") == 0
        ok, output = call_fn(kim, create, ["laptop", "kim-password"])
        assert ok, output
        key = output["data"][1]["value"]
        models = httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert models.status_code == 200
        # her own password change ends the stolen key too, and says so
        change, _ = handler_inputs(kim, "change_own")
        ok, output = call_fn(kim, change, ["kim-password", "kim-new-password"])
        assert ok, output
        assert "1 API key was revoked" in json.dumps(output) and "Profiles tab" in json.dumps(output), output
        models = httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert models.status_code == 401, models.text
    finally:
        kim.close()


def test_a_stolen_session_cannot_guess_the_password_for_a_key_for_long(server):
    lena = logged_in(server["url"], "lena")
    try:
        create, _ = handler_inputs(lena, "create_key")
        for n in range(MAX_FAILURES):
            ok, output = call_fn(lena, create, ["stolen", f"guess-{n}"])
            assert "not right" in refusal(ok, output), output
        ok, output = call_fn(lena, create, ["stolen", "lena-password"])
        assert "too many wrong current passwords" in refusal(ok, output), output
        assert api_keys_of(server["db"], "lena") == 0
    finally:
        lena.close()
