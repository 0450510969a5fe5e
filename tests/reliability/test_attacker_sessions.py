"""Gradio sessions an attacker makes by the hundred on a live ``align serve`` in login mode: one user's API
calls, each with a new session hash, must not grow the server's memory without bound, nor push out
anyone's open page.

Each call of a cheap endpoint (``whoami``: no model, no rate limit) through the queue with a new session
hash makes a Gradio session. The server keeps at most ``SESSIONS_PER_USER`` per user, each small; the
user's page in use and another user's page keep theirs (Calibrate's Skip finds the dilemma its Start
left in the page's server-kept state only in a session the server still holds).

A login session left unused (a forgotten browser, a copied cookie) ends after the idle time
(``session_idle_s``), while one in use goes on.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from assistant.web.gradio_tuning import SESSIONS_PER_USER
from tests.helpers.gradio_queue import call_fn, handler_inputs
from tests.helpers.serve import new_site, serving, start_server
from tests.helpers.web import logged_in

pytestmark = pytest.mark.timeout(900)

CALLS = 3 * SESSIONS_PER_USER  # new session hashes measured, past the first SESSIONS_PER_USER
MAX_GROWTH_KB = 40 * 1024  # Gradio's own sessions: ~600 kB each, ~180 MB for these calls


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    data_dir, _ = new_site(tmp_path_factory, "sessions")
    with serving(start_server(data_dir)) as app:
        yield app


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def whoami(client: httpx.Client, index: int, data: list[Any], session: str | None = None) -> str:
    answer = call_fn(client, index, data, session or uuid.uuid4().hex)
    assert answer.success, answer
    return str(answer.output["data"][0]["name"])


def start_calibrating(client: httpx.Client, session: str) -> None:
    """Calibrate's Start in page ``session``: the server keeps the dilemma shown in its ``gr.State``."""
    index, data = handler_inputs(client, "on_start")
    answer = call_fn(client, index, data, session)
    assert answer.success, answer


def held(client: httpx.Client, session: str) -> bool:
    """The server still holds ``session``'s state: Skip finds the dilemma Start left in its
    ``gr.State`` (a page whose state was dropped is told to press Start first)."""
    index, data = handler_inputs(client, "on_skip")
    answer = call_fn(client, index, data, session)
    assert answer.success, answer
    shown = str(answer.output["data"])
    assert "### Dilemma" in shown or "Press Start first" in shown, shown
    return "Press Start first" not in shown


def test_new_session_hashes_of_one_user_keep_memory_bounded_and_live_pages(server: Any) -> None:
    bob, alice = logged_in(server.url, "bob"), logged_in(server.url, "alice")
    try:
        index, data = handler_inputs(bob, "whoami")
        alice_page, bob_page = uuid.uuid4().hex, uuid.uuid4().hex
        assert whoami(alice, index, data, alice_page) == "alice"
        assert whoami(bob, index, data, bob_page) == "bob"
        first = [uuid.uuid4().hex for _ in range(SESSIONS_PER_USER)]
        for session in first:  # fills bob's allowance (and warms the server up)
            assert whoami(bob, index, data, session) == "bob"
        for client, session in ((alice, alice_page), (bob, bob_page), (bob, first[0])):
            start_calibrating(client, session)
        before = rss_kb(server.proc.pid)
        for i in range(CALLS):
            assert whoami(bob, index, data) == "bob"
            if i % 20 == 0:
                assert whoami(bob, index, data, bob_page) == "bob"  # bob's page, in use
        growth = rss_kb(server.proc.pid) - before
        assert growth < MAX_GROWTH_KB, f"{CALLS} new sessions grew the server by {growth} kB"
        assert held(bob, bob_page) and held(alice, alice_page)
        assert not held(bob, first[0])  # bob's oldest, unused since: dropped
    finally:
        bob.close()
        alice.close()


def test_a_session_id_far_longer_than_any_page_makes_is_refused_and_not_kept(server: Any) -> None:
    """A megabyte session hash in the body or the query would be kept in the server's session tables:
    it is refused (400) in words, before Gradio sees it, and the log does not carry it."""
    from assistant.web.session_binding import MAX_KEY_CHARS

    bob = logged_in(server.url, "bob")
    try:
        index, data = handler_inputs(bob, "whoami")
        huge = "h" * 900_000
        body = {"data": data, "fn_index": index, "session_hash": huge, "event_data": None, "trigger_id": None}
        answer = bob.post("/gradio_api/queue/join", json=body)
        assert answer.status_code == 400, answer.text[:300]
        assert "reload the page" in answer.text and len(answer.text) < 2000
        answer = bob.get("/gradio_api/queue/data", params={"session_hash": huge[: 8 * 1024]})
        assert answer.status_code == 400, answer.text[:300]
        assert whoami(bob, index, data, "x" * MAX_KEY_CHARS) == "bob"  # as long as allowed: fine
    finally:
        bob.close()
    assert huge[:1000] not in server.log.read_text(errors="replace")


def test_the_deep_link_route_is_off(server: Any) -> None:
    """Gradio's deep link writes the page's whole state to a file at each call, kept after a restart
    and readable by its name: the app makes no deep links, so the route answers 404 and writes none."""
    bob = logged_in(server.url, "bob")
    try:
        index, data = handler_inputs(bob, "whoami")
        page = uuid.uuid4().hex
        assert whoami(bob, index, data, page) == "bob"
        answer = bob.get("/gradio_api/deep_link", params={"session_hash": page})
        assert answer.status_code == 404 and "no deep links" in answer.text, answer.text
    finally:
        bob.close()


def test_a_login_session_left_unused_ends_and_one_in_use_goes_on(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    data_dir, _ = new_site(tmp_path_factory, "idle-sessions")
    with serving(start_server(data_dir, extra_env={"ALIGN_SESSION_IDLE_S": "8"})) as app:
        used, left = logged_in(app.url, "alice"), logged_in(app.url, "bob")
        try:
            assert used.get("/gradio_api/user").json() == "alice"
            assert left.get("/gradio_api/user").json() == "bob"
            for _ in range(3):  # used every 4 s: 12 s after the login it still works
                time.sleep(4)
                assert used.get("/gradio_api/user").json() == "alice"
            assert left.get("/gradio_api/user").json() != "bob"  # unused for 12 s: ended
            assert used.post("/gradio_api/call/whoami", json={"data": [{}]}).status_code == 200
            assert left.post("/gradio_api/call/whoami", json={"data": [{}]}).status_code == 401
        finally:
            used.close()
            left.close()
