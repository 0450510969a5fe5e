"""An outside probe of what one user may store, against a live ``align serve`` in login mode, with raw
HTTP (httpx) and real session cookies:

- one storage quota per user covers conversations, profiles and the decision log: a user over it is
  refused on create_profile, update_profile, import_profiles, decide and compare, and nothing is
  stored; one import cannot jump far past the quota either;
- chat turns sent all at once cannot together pass the quota: each reserves what it may store;
- a JSON body that is not UTF-8 (UTF-16 here, which Python's parser accepts and the depth scan could
  not read) gets 400 on ``/v1`` and the Gradio routes, never a 500 from a parser that recursed.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.helpers import web
from tests.helpers.serve import new_site, serving, start_server
from tests.helpers.store import add_users, new_api_key, opened
from tests.helpers.web import call

pytestmark = pytest.mark.timeout(600)

QUOTA_CHARS = 20_000
MAX_PROFILES = 5
USERS = {
    "olga": "olga-password",  # her conversations hold the quota
    "pia": "pia-password",  # her decision log holds the quota
    "quinn": "quinn-password",  # starts empty
    "rita": "rita-password",  # keeps many small profiles
    "sam": "sam-password",  # sends chat turns all at once
}
DILEMMA = {
    "scenario": "A patient is bleeding and another is not breathing. " * 20 + "Who is treated first?",
    "choices": ["The bleeding patient", "The patient who is not breathing"],
    "algorithm": "random",
}


def bundle(count: int, chars: int, tag: str) -> dict[str, Any]:
    profiles = [
        {"name": f"{tag}{i}", "description": "x" * chars, "targets": {"achievement": 0.5}}
        for i in range(count)
    ]
    return {"bundle": {"format": "align-profiles/1", "profiles": profiles}}


def _prepare(database_url: str) -> str:
    """The users; olga's conversation and pia's decision log past the quota; olga's API key."""
    from profiles.schemas import ConversationCreate, DecisionLogCreate, MessageCreate, ProfileCreate

    add_users(database_url, USERS)
    with opened(database_url) as store:
        olga = store.users.actor("olga")
        convo = store.conversations.create(olga, ConversationCreate(title="long talk"))
        store.conversations.add_message(olga, convo.id, MessageCreate(role="user", content="x" * QUOTA_CHARS))
        pia = store.users.actor("pia")
        for actor in (olga, pia):
            store.profiles.create(actor, ProfileCreate(name="mine", targets={"achievement": 0.5}))
        for _ in range(3):
            store.log.record(pia, DecisionLogCreate(status="ok", request={"scenario": "y" * 7000}))
    return new_api_key(database_url, "olga", label="probe")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir, database_url = new_site(tmp_path_factory, "storage")
    key = _prepare(database_url)
    env = {
        "ALIGN_CONVERSATION_QUOTA_CHARS": str(QUOTA_CHARS),
        "ALIGN_API_REQUESTS_PER_MINUTE": "600",
        "ALIGN_MAX_PROFILES_PER_USER": str(MAX_PROFILES),
        "ALIGN_API_MAX_REQUESTS_PER_USER": "8",
    }
    with serving(start_server(data_dir, extra_env=env)) as app:
        yield {"url": app.url, "db": database_url, "log": app.log, "key": key}


def logged_in(url: str, name: str) -> httpx.Client:
    return web.logged_in(url, name, USERS[name], timeout=300)


def rows(server: dict[str, Any], user: str) -> tuple[int, int]:
    """``user``'s profiles and decision log rows in the database."""
    from sqlalchemy import text

    with opened(server["db"]) as store:
        assert store.engine is not None
        with store.engine.connect() as conn:
            uid = conn.execute(text("SELECT id FROM users WHERE name = :n"), {"n": user}).scalar_one()
            profiles = conn.execute(text("SELECT count(*) FROM profiles WHERE owner_id = :u"), {"u": uid})
            log = conn.execute(text("SELECT count(*) FROM decision_log WHERE user_id = :u"), {"u": uid})
            return int(profiles.scalar_one()), int(log.scalar_one())


def refused(outcome: tuple[str, Any]) -> bool:
    status, message = outcome
    return status == "error" and "the limit is 20,000" in str(message) and "profiles" in str(message)


@pytest.mark.parametrize("user", ["olga", "pia"])
def test_a_user_over_the_storage_quota_stores_no_profile_and_no_decision(server, user):
    client = logged_in(server["url"], user)
    try:
        before = rows(server, user)
        assert refused(
            call(
                client,
                "create_profile",
                {"name": "new", "description": "z" * 100, "targets": {"achievement": 0.5}},
            )
        ), user
        assert refused(call(client, "update_profile", {"name": "mine", "description": "w" * 500}))
        assert refused(call(client, "import_profiles", bundle(400, 2000, "imp")))
        assert refused(call(client, "decide", DILEMMA))
        two = {"scenario": DILEMMA["scenario"], "choices": DILEMMA["choices"]}
        assert refused(
            call(
                client,
                "compare",
                {**two, "columns": [{"targets": {"achievement": 0.2}}, {"targets": {"achievement": 0.8}}]},
            )
        )
        assert rows(server, user) == before
    finally:
        client.close()


def test_one_import_cannot_jump_past_the_quota_and_the_decision_log_counts(server):
    quinn = logged_in(server["url"], "quinn")
    try:
        assert refused(call(quinn, "import_profiles", bundle(20, 2000, "big")))  # 40,000 characters
        assert rows(server, "quinn") == (0, 0)
        status, result = call(quinn, "import_profiles", bundle(3, 2000, "small"))
        assert status == "ok", result
        assert rows(server, "quinn") == (3, 0)
        status, result = call(quinn, "update_profile", {"name": "small0", "description": "short"})
        assert status == "ok", result
        decided = 0
        for _ in range(150):  # each decision adds its log row, until the quota refuses the next one
            outcome = call(quinn, "decide", DILEMMA)
            if refused(outcome):
                break
            assert outcome[0] == "ok", outcome
            decided += 1
        else:
            raise AssertionError("the decision log never reached the quota")
        assert rows(server, "quinn") == (3, decided)
    finally:
        quinn.close()


def test_the_number_of_profiles_a_user_keeps_is_bounded(server):
    rita = logged_in(server["url"], "rita")
    try:
        status, result = call(rita, "import_profiles", bundle(MAX_PROFILES - 1, 10, "p"))
        assert status == "ok", result
        status, result = call(rita, "import_profiles", bundle(2, 10, "q"))
        assert status == "error" and f"the limit is {MAX_PROFILES}" in result, result
        assert rows(server, "rita") == (MAX_PROFILES - 1, 0)
        created = call(rita, "create_profile", {"name": "last", "targets": {"achievement": 0.5}})
        assert created[0] == "ok", created
        status, result = call(rita, "create_profile", {"name": "one-more", "targets": {"achievement": 0.5}})
        assert status == "error" and "delete profiles you no longer need" in result, result
        # replacing profiles already kept, and changing one, still work
        status, result = call(rita, "import_profiles", {**bundle(2, 20, "p"), "replace": True})
        assert status == "ok", result
        assert call(rita, "update_profile", {"name": "p0", "description": "changed"})[0] == "ok"
        assert rows(server, "rita") == (MAX_PROFILES, 0)
    finally:
        rita.close()


def test_a_utf16_json_body_too_deep_to_parse_gets_400_not_500(server):
    deep = "[" * 3000 + "1" + "]" * 3000
    # U+5C41's low byte is a backslash: a byte scan of the UTF-16 text sees one long string
    tricky = '{"model":"align","x":["\u5c41",' + deep + ',"B"],"messages":[{"role":"user","content":"hi"}]}'
    plain = '{"model":"align","x":' + deep + ',"messages":[{"role":"user","content":"hi"}]}'
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {server['key']}"}
    for text, encoding in [(tricky, "utf-16-le"), (plain, "utf-16"), (plain, "utf-32")]:
        answer = httpx.post(
            f"{server['url']}/v1/chat/completions", content=text.encode(encoding), headers=headers, timeout=60
        )
        assert answer.status_code == 400, (encoding, answer.status_code, answer.text[:200])
        assert "send the JSON as UTF-8" in answer.json()["error"]["message"]
    olga = logged_in(server["url"], "olga")
    try:
        gradio = '{"data":["\u5c41",' + deep + ',"B"],"fn_index":0,"session_hash":"abc123xyz"}'
        for path in ["/gradio_api/queue/join", "/gradio_api/call/whoami"]:
            answer = olga.post(
                path, content=gradio.encode("utf-16-le"), headers={"Content-Type": "application/json"}
            )
            assert answer.status_code == 400, (path, answer.status_code, answer.text[:200])
        # a UTF-8 body (no messages: refused by the API's own rule, before any model time) passes
        answer = httpx.post(
            f"{server['url']}/v1/chat/completions", content=b'{"model":"align"}', headers=headers, timeout=60
        )
        assert answer.status_code == 400 and "UTF-8" not in answer.text, answer.text[:200]
    finally:
        olga.close()
    assert "RecursionError" not in server["log"].read_text(errors="replace")


def _stored(server: dict[str, Any], user: str) -> int:
    from profiles.storage_use import stored_chars

    with opened(server["db"]) as store:
        return stored_chars(store.sessions, store.users.actor(user))


def test_chat_turns_sent_at_once_cannot_pass_the_quota_together(server):
    key = new_api_key(server["db"], "sam", label="at once")
    headers = {"Authorization": f"Bearer {key}"}
    words = "x " * 3700  # 7,400 characters: each turn stores them and a short reply

    def turn(_: int) -> httpx.Response:
        body = {"model": "align", "messages": [{"role": "user", "content": words}]}
        return httpx.post(f"{server['url']}/v1/chat/completions", json=body, headers=headers, timeout=300)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(turn, range(8)))
    answered = [a for a in answers if a.status_code == 200]
    refused_turns = [a for a in answers if a.status_code != 200]
    assert answered and refused_turns, [a.status_code for a in answers]
    for answer in refused_turns:
        assert answer.status_code == 429 and answer.json()["error"]["code"] == "insufficient_quota", (
            answer.text
        )
    used = _stored(server, "sam")
    one_turn = used / len(answered)  # every turn stored the same words and reply
    assert one_turn > len(words)
    # at most one turn past the quota, as when they come one after another (stored before the check)
    assert used <= QUOTA_CHARS + one_turn, (used, len(answered))
    # what running turns reserved is given back: a short turn fits when there is room
    if used + 1000 < QUOTA_CHARS:
        short = {"model": "align", "messages": [{"role": "user", "content": "hello"}]}
        answer = httpx.post(f"{server['url']}/v1/chat/completions", json=short, headers=headers, timeout=300)
        assert answer.status_code == 200, answer.text
