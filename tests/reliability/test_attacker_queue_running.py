"""An outside probe of the web app's running places in Gradio's queue, on a live ``align serve`` in
login mode (4 jobs of one kind run at once; each user may hold 6 waiting or running), with raw HTTP
and real session cookies (``queue/join`` by ``fn_index``, the plain ``/gradio_api/call/NAME`` API, the
event streams) and ``gradio_client`` in a process of its own:

- one user who queued many slow decisions runs at most half the places (as ``/v1`` gives), so another
  user's decision starts while the first one's are still waiting;
- a caller who goes away (closes the event stream, or the ``gradio_client`` process dies) gives their running
  places back at once, and what their job then does is for nobody: their decision or chat turn is
  neither logged nor stored;
- a caller who cancels their own running job (``POST /gradio_api/cancel``) is treated the same, and
  the job counts in their share and held jobs until its handler stops.

The backbone is a server that holds every model call until the test lets it go
(``fault_server.py hold``) and lists the calls that have started: the tests assert which calls
started and in what order, never how long anything took.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers.fault_server import fault_process
from tests.helpers.gradio_queue import handler, join, joined, queue_answer
from tests.helpers.serve import USERS, create_users, start_server, stop, wait_ready
from tests.helpers.store import counted, decisions_of
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.timeout(900)

PLACES = 4  # align serve --concurrency: the queue runs 4 jobs of one kind at once
CALLS = 8  # the held backbone's max_concurrency: more than the queue's, so it never holds a job back
SHARE = 2  # half of them per user, as /v1 (assistant.web.api_gate.running_share)
QUEUED = 6  # queue_max_per_user, the default
EXTRA_USERS = {"carl": "carl-password", "dora": "dora-password"}


def decision(who: str) -> dict[str, Any]:
    """A decision that asks the held backbone once; ``who`` is in its text, so its model call is known."""
    return {
        "scenario": f"[{who}] Two patients, one medic. Who is treated first?",
        "choices": ["The soldier", "The civilian"],
        "algorithm": "unaligned",
        "backbone": "held",
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from profiles.schemas import UserCreate
    from profiles.store import open_store

    data = tmp_path_factory.mktemp("queue-running")
    database_url = f"sqlite:///{data / 'align.sqlite3'}"
    create_users(database_url)
    store = open_store(database_url)
    try:
        for name, password in EXTRA_USERS.items():
            store.users.add(store.users.actor("root"), UserCreate(name=name, password=password))
    finally:
        store.close()
    held, held_url = fault_process("hold")
    backbones = {
        "embedded": {"type": "llamacpp", "n_threads": 1, "n_ctx": 2048},
        "held": {
            "type": "openai",
            "flavour": "llamacpp-server",
            "base_url": held_url,
            "timeout_s": 900,
            "max_retries": 0,
            "max_concurrency": CALLS,
        },
    }
    env = {"ALIGN_BACKBONES": json.dumps(backbones), "ALIGN_DEFAULT_BACKBONE": "held"}
    proc, url, log = start_server(data, extra_env=env, extra_args=["--concurrency", str(PLACES)])
    try:
        wait_ready(proc, url, log)
        yield {"url": url, "db": database_url, "log": log, "held": held_url.removesuffix("/v1")}
    finally:
        stop(proc)
        held.terminate()
        held.wait(timeout=15)


# -- helpers ----------------------------------------------------------------------------------------


def login(site: dict[str, Any], name: str) -> httpx.Client:
    client = httpx.Client(base_url=site["url"], timeout=600)
    password = USERS[name][0] if name in USERS else EXTRA_USERS[name]
    answer = client.post("/login", data={"username": name, "password": password})
    assert answer.status_code == 200, answer.text
    return client


def hold(site: dict[str, Any]) -> None:
    assert httpx.post(site["held"] + "/hold").status_code == 200


def release(site: dict[str, Any]) -> None:
    assert httpx.post(site["held"] + "/release").status_code == 200


def started(site: dict[str, Any]) -> list[str]:
    """The model calls the held backbone has received, in order: the user text of each."""
    return list(httpx.get(site["held"] + "/seen").json())


def calls_of(site: dict[str, Any], who: str) -> int:
    """The started model calls of decisions marked ``[who...]``."""
    return sum(1 for text in started(site) if f"[{who}" in text)


class Reader:
    """A session's event stream read in a thread, as a page reads it: the first answer it gets."""

    def __init__(self, client: httpx.Client, session_hash: str) -> None:
        self.answer: tuple[bool, Any] | None = None
        self.thread = threading.Thread(target=self._read, args=(client, session_hash), daemon=True)
        self.thread.start()

    def _read(self, client: httpx.Client, session_hash: str) -> None:
        with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session_hash}) as stream:
            self.answer = queue_answer(stream.iter_lines())

    def result(self) -> tuple[bool, Any]:
        self.thread.join(timeout=600)
        assert self.answer is not None, "no answer"
        return self.answer

    def decided(self) -> None:
        """The answer is a decision, and it was logged."""
        ok, output = self.result()
        assert ok and output["data"][0]["log_id"], output


def called(client: httpx.Client, endpoint: str, payload: Any) -> tuple[str, Any]:
    """The plain HTTP API: post, then read the answer's stream (("complete", data) or ("error", ...))."""
    posted = client.post(f"/gradio_api/call/{endpoint}", json={"data": [payload]})
    assert posted.status_code == 200, posted.text
    event, data = "", None
    with client.stream("GET", f"/gradio_api/call/{endpoint}/{posted.json()['event_id']}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data = json.loads(line.split(":", 1)[1])
            if event in ("complete", "error") and data is not None:
                break
    return event, data


def logged(site: dict[str, Any], user: str) -> int:
    """``user``'s decisions in the decision log (any status)."""
    return decisions_of(site["db"], user)


def stopped(site: dict[str, Any]) -> int:
    """The requests the server stopped because their caller went away (one line each in its output)."""
    return site["log"].read_text(errors="replace").count("stopped a request whose caller went away")


def answers_stored(site: dict[str, Any], user: str) -> int:
    """The assistant's messages stored in ``user``'s conversations."""
    (count,) = counted(
        site["db"],
        "SELECT count(m.id) FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "JOIN users u ON u.id = c.owner_id WHERE u.name = :name AND m.role = 'assistant'",
        name=user,
    )
    return count


# -- one user's share of the running places ----------------------------------------------------------


def test_one_users_queued_decisions_leave_running_places_for_another_users_decision(site):
    hold(site)
    alice, bob = login(site, "alice"), login(site, "bob")
    try:
        decide = handler(alice, api_name="decide")
        # alice queues as many slow decisions as she may: half by fn_index (as a page), half over
        # the plain HTTP API, all of one kind (the decide endpoint: 4 places)
        readers = [Reader(alice, joined(alice, decide, [decision(f"alice-{n}")])) for n in range(QUEUED // 2)]
        plain: list[tuple[str, Any]] = []
        posts = [
            threading.Thread(target=lambda n=n: plain.append(called(alice, "decide", decision(f"alice-{n}"))))
            for n in range(QUEUED // 2, QUEUED)
        ]
        for post in posts:
            post.start()
        wait_for(lambda: calls_of(site, "alice-") >= SHARE, "alice's first decisions to start")
        # bob decides while alice's other decisions wait: his starts, though hers came first
        bobs = Reader(bob, joined(bob, decide, [decision("bob-0")]))
        wait_for(
            lambda: calls_of(site, "bob-") == 1, "bob's decision to start (before, it waited for alice's)"
        )
        running = [text for text in started(site) if "[alice-" in text]
        print(f"started while bob's decision started: alice {len(running)} of {QUEUED}, bob 1")
        assert len(running) == SHARE, running  # all four places were hers before
        release(site)
        for reader in (bobs, *readers):
            reader.decided()
        for post in posts:
            post.join(timeout=600)
        assert [event for event, _ in plain] == ["complete"] * (QUEUED // 2), plain
        assert calls_of(site, "alice-") == QUEUED  # every one of hers ran in the end
    finally:
        release(site)
        alice.close()
        bob.close()


# -- a caller who goes away -------------------------------------------------------------------------


def test_a_caller_who_closes_the_stream_gives_back_the_places_and_nothing_is_logged(site):
    hold(site)
    alice, bob, carl = login(site, "alice"), login(site, "bob"), login(site, "carl")
    leaving = login(site, "alice")  # alice's second tab: the one she closes
    try:
        decide = handler(alice, api_name="decide")
        before, stops = logged(site, "alice"), stopped(site)
        # alice (in the tab she will close) and bob take the 4 places of the decide endpoint
        session = joined(leaving, decide, [decision("gone-0")])
        joined(leaving, decide, [decision("gone-1")], session)
        bobs = [Reader(bob, joined(bob, decide, [decision(f"stays-{n}")])) for n in range(SHARE)]
        wait_for(lambda: calls_of(site, "gone-") == SHARE and calls_of(site, "stays-") == SHARE, "4 running")
        with leaving.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
            next(stream.iter_lines())  # her page reads its answers ...
        leaving.close()  # ... and is closed while both decisions are on the model
        # carl's decision starts though no model call has ended: alice's places are free again
        carls = Reader(carl, joined(carl, decide, [decision("carl-0")]))
        wait_for(
            lambda: calls_of(site, "carl-") == 1, "carl's decision to start (before, it waited for hers)"
        )
        assert calls_of(site, "gone-") == SHARE and calls_of(site, "stays-") == SHARE  # none ended
        release(site)
        for reader in (carls, *bobs):
            reader.decided()
        # alice's two decisions got their answers from the model after she left: stopped, not logged
        wait_for(lambda: stopped(site) == stops + SHARE, "her two decisions to stop")
        assert logged(site, "alice") == before
        # and she has all her places again: her share runs at once
        hold(site)
        back = [Reader(alice, joined(alice, decide, [decision(f"back-{n}")])) for n in range(SHARE)]
        wait_for(lambda: calls_of(site, "back-") == SHARE, "alice's new decisions to start")
        release(site)
        assert all(reader.result()[0] for reader in back)
    finally:
        release(site)
        for client in (alice, bob, carl, leaving):
            client.close()


def joined_and_cancelled(site: dict[str, Any], client: httpx.Client, index: int, who: str) -> None:
    """A decision queued, and cancelled by its caller once it is on the model (a page's Stop button)."""
    session = uuid.uuid4().hex
    answer = join(client, index, [decision(who)], session)
    assert answer.status_code == 200, answer.text
    event_id = answer.json()["event_id"]
    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:") and json.loads(line[5:]).get("msg") == "process_starts":
                wait_for(lambda: calls_of(site, who) == 1, f"{who} on the model")
                body = {"session_hash": session, "fn_index": index, "event_id": event_id}
                cancelled = client.post("/gradio_api/cancel", json=body)
                assert cancelled.status_code == 200 and cancelled.json() == {"success": True}, cancelled.text
                break


def test_a_caller_who_cancels_their_jobs_still_runs_only_their_share_and_nothing_is_logged(site):
    hold(site)
    dora, bob = login(site, "dora"), login(site, "bob")
    try:
        decide = handler(dora, api_name="decide")
        before, stops = logged(site, "dora"), stopped(site)
        for n in range(SHARE):  # her share starts, and she cancels each once it is on the model
            joined_and_cancelled(site, dora, decide, f"cancelled-{n}")
        # she asks again: her cancelled decisions still run, so these wait (before, each started at once)
        waiting = [
            Reader(dora, joined(dora, decide, [decision(f"again-{n}")])) for n in range(QUEUED - SHARE)
        ]
        # bob's decision, queued after hers, starts: the places are free, hers wait for her share
        bobs = Reader(bob, joined(bob, decide, [decision("bob-after-cancel")]))
        wait_for(lambda: calls_of(site, "bob-after-cancel") == 1, "bob's decision to start")
        assert calls_of(site, "again-") == 0
        # and she holds her 6 jobs: the 2 cancelled ones count until they stop
        refused = join(dora, decide, [decision("one-more")])
        assert refused.status_code == 429, refused.text
        release(site)
        # the cancelled decisions got their model answers after she cancelled: stopped, not logged
        wait_for(lambda: stopped(site) == stops + SHARE, "her cancelled decisions to stop")
        assert bobs.result()[0]
        for reader in waiting:
            reader.decided()
        assert logged(site, "dora") == before + QUEUED - SHARE  # the ones she waited for, only
        assert calls_of(site, "cancelled-") == SHARE
    finally:
        release(site)
        dora.close()
        bob.close()


CLIENT = """
import json, sys, time
from gradio_client import Client
client = Client(sys.argv[1], auth=(sys.argv[2], sys.argv[3]), verbose=False)
client.submit(json.loads(sys.argv[4]), api_name="/chat")
print("submitted", flush=True)
time.sleep(600)
"""


def test_a_chat_turn_whose_gradio_client_goes_away_stores_nothing(site):
    hold(site)
    before, stops = (logged(site, "bob"), answers_stored(site, "bob")), stopped(site)
    turn = {
        "message": "[chat-0] Should I take the job in another city or stay near my family?",
        "targets": {"family": 0.9},
        "algorithm": "unaligned",
        "backbone": "held",
    }
    args = [site["url"], "bob", USERS["bob"][0], json.dumps(turn)]
    client = subprocess.Popen([sys.executable, "-c", CLIENT, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert client.stdout is not None and client.stdout.readline().strip() == "submitted"
        wait_for(lambda: calls_of(site, "chat-0") == 1, "the chat turn's decision to start")
    finally:
        client.kill()  # the gradio_client process dies while its turn is on the model
        client.wait(timeout=30)
    release(site)
    # the turn's answer came after bob's client died: stopped, no decision logged, no answer stored
    wait_for(lambda: stopped(site) == stops + 1, "the chat turn to stop")
    assert (logged(site, "bob"), answers_stored(site, "bob")) == before
