"""A second outside probe, on accounts, API keys and the ``/v1`` API's storage, against a live
``align serve`` in login mode: raw HTTP (httpx) from chosen client addresses, Gradio's named
endpoints and unnamed UI handlers with real session cookies.

- wrong API keys from one address do not lock out the valid keys from it (one stale key in a shared
  chat app), a success resets nothing, and many wrong keys are still refused;
- changing one's own password needs the current one; an admin's reset ends the user's sessions and
  revokes their API keys, and says so;
- creating and revoking keys in a loop counts against the per-minute limit every door shares, and
  keeps a bounded number of revoked rows (an old revoked key is then refused as an unknown one is);
- ``/v1`` stores a bounded amount for a history it does not know, per-user storage quota and rate
  limit, nothing stored for a refused request;
- one key holder cannot fill the shared ``/v1`` queue; a lone surrogate in a history is a 400.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import web
from tests.helpers.gradio_queue import call_fn, handler, handler_inputs, refusal
from tests.helpers.serve import new_site, serving, start_server
from tests.helpers.store import add_users, api_key_rows, new_api_key, opened, stored_chat
from tests.helpers.web import call, password_of

pytestmark = pytest.mark.timeout(900)

MAX_FAILURES = 3
PER_MINUTE = 25
PER_USER = 2
QUOTA_CHARS = 150_000
EXTRA_USERS = {
    "carol": "carol-password",  # changes her own password
    "dave": "dave-password",  # reset by root
    "erin": "erin-password",  # long unknown histories
    "frank": "frank-password",  # fills his storage quota
    "gina": "gina-password",  # past the rate limit
    "hank": "hank-password",  # floods the queue
    "ivan": "ivan-password",  # his stolen session guesses his password
    "judy": "judy-password",  # creates and revokes keys in a loop
}
QUESTION = (
    "I have savings of 20,000. Should I put them in a broad index fund or start a food truck business "
    "with a friend?"
)
TEXT_CHARS = 8000  # the server's max_text_chars (default)


def _add_users(database_url: str) -> None:
    from profiles.schemas import ProfileCreate

    add_users(database_url, EXTRA_USERS)
    with opened(database_url) as store:
        for name in ("alice", "hank"):
            store.profiles.create(
                store.users.actor(name), ProfileCreate(name="careful", targets={"security": 0.9})
            )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir, database_url = new_site(tmp_path_factory, "accounts")
    _add_users(database_url)
    env = {
        "ALIGN_LOGIN_MAX_FAILURES": str(MAX_FAILURES),
        "ALIGN_LOGIN_COOLDOWN_S": "60",
        "ALIGN_MAX_QUEUE": "2",
        "ALIGN_API_MAX_REQUESTS_PER_USER": str(PER_USER),
        "ALIGN_API_REQUESTS_PER_MINUTE": str(PER_MINUTE),
        "ALIGN_CONVERSATION_QUOTA_CHARS": str(QUOTA_CHARS),
    }
    with serving(start_server(data_dir, extra_env=env)) as app:
        keys = {name: new_api_key(database_url, name) for name in ("alice", "bob", *EXTRA_USERS)}
        yield {"url": app.url, "db": database_url, "log": app.log, "keys": keys}


# -- helpers ----------------------------------------------------------------------------------------


def http(url: str, address: str = "127.0.0.1") -> httpx.Client:
    """A raw HTTP client whose connections come from ``address`` (any 127.x.y.z is this machine)."""
    return web.http(url, address, timeout=300)


def logged_in(url: str, name: str, password: str | None = None) -> httpx.Client:
    return web.logged_in(
        url, name, password or password_of(name, EXTRA_USERS), timeout=300, address="127.0.0.1"
    )


def can_log_in(url: str, name: str, password: str) -> bool:
    with http(url) as client:
        return client.post("/login", data={"username": name, "password": password}).status_code == 200


def v1(server: dict[str, Any], key: str, *, address: str = "127.0.0.1", body: Any = None) -> httpx.Response:
    """GET /v1/models, or POST /v1/chat/completions with ``body``."""
    headers = {"Authorization": f"Bearer {key}"}
    with http(server["url"], address) as raw:
        if body is None:
            return raw.get("/v1/models", headers=headers)
        return raw.post("/v1/chat/completions", headers=headers, json=body)


def error(answer: httpx.Response) -> dict[str, Any]:
    body = answer.json()
    assert set(body) == {"error"}, body
    return dict(body["error"])


# -- wrong keys do not lock out the right ones ----------------------------------------------------------


def test_wrong_keys_from_an_address_do_not_lock_out_its_valid_keys(server):
    keys, shared = server["keys"], "127.0.0.7"  # a chat app that all its users reach the server through
    wrong = [f"align-{uuid.uuid4().hex}{uuid.uuid4().hex}" for _ in range(MAX_FAILURES + 2)]
    codes = [v1(server, k, address=shared).status_code for k in wrong]
    assert codes == [401] * MAX_FAILURES + [429, 429]  # many different wrong keys: still refused
    locked = v1(server, wrong[0], address=shared)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
    assert "valid key" in error(locked)["message"]
    for _ in range(3):  # the users' valid keys, from the same address, go through
        assert v1(server, keys["alice"], address=shared).status_code == 200
        assert v1(server, keys["bob"], address=shared).status_code == 200
    # a success resets nothing: the next wrong key is still refused at once
    assert v1(server, f"align-{uuid.uuid4().hex}", address=shared).status_code == 429


def test_guesses_at_one_keys_secret_never_refuse_that_key(server):
    keys, address = server["keys"], "127.0.0.8"
    alice = keys["alice"]
    guesses = [alice[:12] + uuid.uuid4().hex for _ in range(MAX_FAILURES + 1)]
    codes = [v1(server, g, address=address).status_code for g in guesses]
    assert codes == [401] * MAX_FAILURES + [429]
    assert v1(server, alice, address=address).status_code == 200  # the real key is let in
    assert v1(server, keys["bob"], address=address).status_code == 200
    # the lock is for that key start only: another wrong key from the address gets its 401
    assert v1(server, f"align-{uuid.uuid4().hex}", address=address).status_code == 401


# -- passwords ----------------------------------------------------------------------------------------


def test_changing_ones_own_password_needs_the_current_one(server):
    url = server["url"]
    carol = logged_in(url, "carol")
    try:
        for payload in (
            {"name": "carol", "password": "taken-over-123"},
            {"name": "carol", "password": "taken-over-123", "current_password": ""},
            {"name": "carol", "password": "taken-over-123", "current_password": "a-wrong-guess"},
        ):
            status, message = call(carol, "set_password", payload)
            assert status == "error" and "current password" in message, (payload, message)
        # the UI: "Your password" (and the admin panel's handler, called by its index)
        ok, output = call_fn(carol, handler(carol, api_name="change_own"), ["", "taken-over-123"])
        assert "current password" in refusal(ok, output), output
        ok, output = call_fn(carol, handler(carol, api_name="change_password"), ["carol", "taken-over-123"])
        assert "current password" in refusal(ok, output), output
        assert not can_log_in(url, "carol", "taken-over-123")
        assert can_log_in(url, "carol", "carol-password")  # nothing changed

        ok, output = call_fn(
            carol, handler(carol, api_name="change_own"), ["carol-password", "carol-new-password"]
        )
        assert ok, output
        assert "password was changed" in output["data"][2]
        assert "1 API key was revoked" in output["data"][2]
        assert call(carol, "whoami", {})[0] == "ok"  # this session stays
        assert can_log_in(url, "carol", "carol-new-password")
        assert not can_log_in(url, "carol", "carol-password")
        assert v1(server, server["keys"]["carol"]).status_code == 401  # her own change revokes her keys
    finally:
        carol.close()


def test_a_stolen_session_cannot_guess_the_current_password_for_long(server):
    url = server["url"]
    ivan = logged_in(url, "ivan")
    try:
        for n in range(MAX_FAILURES):
            change = {"name": "ivan", "password": "taken-over-123", "current_password": f"guess-{n}"}
            assert call(ivan, "set_password", change)[0] == "error"
        right = {"name": "ivan", "password": "taken-over-123", "current_password": "ivan-password"}
        status, message = call(ivan, "set_password", right)
        assert status == "error" and "too many wrong current passwords" in message, message
        assert can_log_in(url, "ivan", "ivan-password")  # unchanged, and his login is not locked
        # the count is the stolen session's own: ivan, in a session of his own, still changes it
        own = logged_in(url, "ivan")
        try:
            status, message = call(own, "set_password", {**right, "password": "ivan-new-password"})
            assert status == "ok", message
        finally:
            own.close()
        assert can_log_in(url, "ivan", "ivan-new-password")
    finally:
        ivan.close()


def test_an_admin_reset_ends_the_sessions_and_revokes_the_keys(server):
    url, key = server["url"], server["keys"]["dave"]
    dave = logged_in(url, "dave")
    root = logged_in(url, "root")
    try:
        assert call(dave, "whoami", {})[0] == "ok"
        assert v1(server, key).status_code == 200
        status, reply = call(root, "set_password", {"name": "dave", "password": "dave-new-password"})
        assert status == "ok" and reply["reset"] and reply["api_keys_revoked"] == 1, reply
        assert "sessions have ended" in reply["message"] and "API key was revoked" in reply["message"]

        assert call(dave, "whoami", {}) == ("http", 401)  # the old cookie
        refused = v1(server, key)  # the old key, on /v1
        assert refused.status_code == 401 and "revoked" in error(refused)["message"]
        body = {"model": "align", "messages": [{"role": "user", "content": QUESTION}]}
        assert v1(server, key, body=body).status_code == 401
        assert can_log_in(url, "dave", "dave-new-password")

        # the admin panel says so too
        ok, output = call_fn(root, handler(root, api_name="change_password"), ["dave", "dave-newer-password"])
        assert ok and "sessions have ended" in output["data"][1] and "no active API key" in output["data"][1]
        # an admin's own password is no exception
        status, message = call(root, "set_password", {"name": "root", "password": "root-taken-over"})
        assert status == "error" and "current password" in message
    finally:
        dave.close()
        root.close()


def test_creating_and_revoking_keys_is_rate_limited_and_keeps_few_revoked_rows(server):
    from profiles.api_keys import MAX_REVOKED_KEYS

    assert MAX_REVOKED_KEYS < PER_MINUTE  # so that one minute's keys pass the bound
    judy = logged_in(server["url"], "judy")
    try:
        create, _ = handler_inputs(judy, "create_key")
        revoke, _ = handler_inputs(judy, "revoke_key")
        made: list[str] = []
        refused = ""
        for i in range(PER_MINUTE + 5):
            ok, output = call_fn(judy, create, ["k" * 90 + f"-{i}", "judy-password"])
            if not ok or output.get("warnings"):
                refused = refusal(ok, output)
                break
            made.append(output["data"][1]["value"])
            ok, output = call_fn(judy, revoke, [made[-1][:12] + "…"])
            assert ok and "revoked" in output["data"][2], output
        assert len(made) == PER_MINUTE and "in a minute" in refused, (len(made), refused)
        # the same limit as every other door: her chat turns wait too
        body = {"model": "align", "messages": [{"role": "user", "content": "hello"}]}
        assert v1(server, server["keys"]["judy"], body=body).status_code == 429
    finally:
        judy.close()
    # her key from the start is active; of those she revoked, only the most recent are kept
    assert api_key_rows(server["db"], "judy") == (1 + MAX_REVOKED_KEYS, MAX_REVOKED_KEYS)
    with opened(server["db"]) as store:
        kept = [k.label for k in store.api_keys.list(store.users.actor("judy")) if k.revoked]
    assert kept == ["k" * 90 + f"-{i}" for i in reversed(range(PER_MINUTE - MAX_REVOKED_KEYS, PER_MINUTE))]
    # a recently revoked key says so; a deleted one is refused as a key never made is
    address = "127.0.0.9"
    recent = v1(server, made[-1], address=address)
    assert recent.status_code == 401 and "revoked" in error(recent)["message"]
    deleted = v1(server, made[0], address=address)
    never = v1(server, f"align-{uuid.uuid4().hex}{uuid.uuid4().hex}", address=address)
    assert deleted.status_code == never.status_code == 401
    assert error(deleted) == error(never)


# -- /v1 storage ------------------------------------------------------------------------------------


def long_history(turns: int, mark: str) -> list[dict[str, str]]:
    """A made-up history of ``turns`` messages of nearly ``TEXT_CHARS`` each (under 1 MB in all)."""
    filler = (mark + " ") * (TEXT_CHARS // (len(mark) + 1) - 1)
    return [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"{i} {filler}"[:TEXT_CHARS]}
        for i in range(turns)
    ]


def test_unknown_histories_store_a_bounded_amount_and_are_continued(server):
    key = server["keys"]["erin"]
    per_turn_limit = 3 * TEXT_CHARS + 2000  # the kept tail, the new message, the answer, the note
    before = stored_chat(server["db"], "erin")
    for n in range(6):
        history = long_history(100, f"made-up-{n}")  # 800,000 characters no stored conversation has
        body = {"model": "align", "messages": [*history, {"role": "user", "content": "hello, what now?"}]}
        answer = v1(server, key, body=body)
        assert answer.status_code == 200, answer.text
        after = stored_chat(server["db"], "erin")
        assert after[0] == before[0] + 1  # one conversation
        assert after[2] - before[2] < per_turn_limit, (before, after)  # not the 800,000 characters
        before = after
    reply = answer.json()
    cid = reply["align"]["conversation_id"]

    # the chat app's next turn (the whole history again, the answer, a new message) continues it
    history += [
        {"role": "user", "content": "hello, what now?"},
        {"role": "assistant", "content": reply["choices"][0]["message"]["content"]},
        {"role": "user", "content": QUESTION},
    ]
    decided = v1(server, key, body={"model": "align", "messages": history})
    assert decided.status_code == 200, decided.text
    info = decided.json()["align"]
    assert info["conversation_id"] == cid and info["kind"] in ("decision", "suggest")
    if info["kind"] == "decision":  # a follow-up about it is answered from the stored decision
        history += [
            {"role": "assistant", "content": decided.json()["choices"][0]["message"]["content"]},
            {"role": "user", "content": "why?"},
        ]
        why = v1(server, key, body={"model": "align", "messages": history})
        assert why.status_code == 200 and why.json()["align"]["kind"] == "why"
        assert why.json()["align"]["conversation_id"] == cid


def test_the_storage_quota_refuses_a_turn_and_stores_nothing(server):
    key = server["keys"]["frank"]
    refused = None
    for n in range(2 * QUOTA_CHARS // (3 * TEXT_CHARS) + 5):
        history = long_history(40, f"quota-{n}")
        body = {"model": "align", "messages": [*history, {"role": "user", "content": "hello again"}]}
        before = stored_chat(server["db"], "frank")
        answer = v1(server, key, body=body)
        if answer.status_code != 200:
            refused = answer
            break
    assert refused is not None, "the quota never refused a turn"
    assert refused.status_code == 429 and error(refused)["code"] == "insufficient_quota"
    assert "not stored" in error(refused)["message"]
    assert stored_chat(server["db"], "frank") == before  # nothing of the refused request
    assert stored_chat(server["db"], "frank")[2] < QUOTA_CHARS + 3 * TEXT_CHARS + 2000
    again = v1(server, key, body=body)
    assert again.status_code == 429 and stored_chat(server["db"], "frank") == before
    other = {"model": "align", "messages": [{"role": "user", "content": "hello"}]}
    assert v1(server, server["keys"]["alice"], body=other).status_code == 200  # others are not affected
    # the way out the message names: frank deletes his own conversations, and his next turn is answered
    frank = logged_in(server["url"], "frank")
    try:
        status, listed = call(frank, "list_conversations", {})
        assert status == "ok" and listed["conversations"], listed
        for conversation in listed["conversations"]:
            status, deleted = call(frank, "delete_conversation", {"id": conversation["id"]})
            assert status == "ok" and deleted["deleted"], deleted
    finally:
        frank.close()
    assert stored_chat(server["db"], "frank")[2] == 0
    assert v1(server, key, body=other).status_code == 200


def test_one_user_past_the_rate_limit_gets_429_and_nothing_is_stored(server):
    key = server["keys"]["gina"]
    body = {"model": "align", "messages": [{"role": "user", "content": "hello"}]}
    codes = [v1(server, key, body=body).status_code for _ in range(PER_MINUTE)]
    assert codes == [200] * PER_MINUTE
    before = stored_chat(server["db"], "gina")
    limited = v1(server, key, body=body)
    assert limited.status_code == 429 and error(limited)["code"] == "rate_limit_exceeded"
    assert int(limited.headers["retry-after"]) >= 1 and "in a minute" in error(limited)["message"]
    assert stored_chat(server["db"], "gina") == before
    assert v1(server, server["keys"]["bob"], body=body).status_code == 200


# -- the shared queue, and a lone surrogate -------------------------------------------------------------


def test_one_key_holder_cannot_fill_the_queue(server):
    key = server["keys"]["hank"]
    body = {"model": "align:careful", "messages": [{"role": "user", "content": QUESTION}]}
    codes: list[int] = []

    def greedy() -> None:
        codes.append(v1(server, key, body=body).status_code)

    flood = [threading.Thread(target=greedy) for _ in range(8)]
    for thread in flood:
        thread.start()
    time.sleep(0.5)  # the flood is in: running, waiting or refused
    alice = v1(server, server["keys"]["alice"], body={**body, "model": "align:careful"})
    for thread in flood:
        thread.join()
    assert alice.status_code == 200, alice.text  # not 503: her share is hers
    assert codes.count(429) >= 8 - PER_USER - 1 and 503 not in codes, codes
    assert codes.count(200) >= 1


def test_a_lone_surrogate_in_a_history_is_a_400(server):
    key = server["keys"]["bob"]
    before = stored_chat(server["db"], "bob")
    for where in ("assistant", "user"):
        raw = '{"model":"align","messages":[{"role":"user","content":"hi"},' + (
            '{"role":"assistant","content":"half \\ud800 a character"},{"role":"user","content":"why?"}]}'
            if where == "assistant"
            else '{"role":"assistant","content":"ok"},{"role":"user","content":"a \\udc00 b"}]}'
        )
        with http(server["url"]) as client:
            answer = client.post(
                "/v1/chat/completions",
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                content=raw.encode(),
            )
        assert answer.status_code == 400, answer.text
        assert "Unicode" in error(answer)["message"]
    assert stored_chat(server["db"], "bob") == before
