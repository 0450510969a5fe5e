"""An outside probe of Calibrate (the ``calibrate_next`` and ``calibrate_save`` endpoints), against a
live ``align serve`` in login mode, with raw HTTP (httpx) and real session cookies:

- saving a calibration keeps the limits every other way of storing a profile keeps: the number of
  profiles a user may keep, the storage quota (the answers saved behind a profile count too, and go
  with the profile when it is deleted) and the requests per minute; a refusal stores nothing;
- a caller's own list of values cannot grow the server's memory: the same values in another order
  are the same calibration, and the dilemmas prepared for lists nobody asked for lately are let go;
- preparing the dilemmas for one person's new list does not hold up another person's Calibrate;
- feedback on a decision (which also adds an answer to a calibrated profile) counts against the
  requests per minute, and feedback given again on the same decision replaces the earlier one.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.serve import create_users, start_server, stop, wait_ready
from tests.helpers.web import call

pytestmark = pytest.mark.timeout(900)

QUOTA_CHARS = 10_000
MAX_PROFILES = 5
PER_MINUTE = 20
USERS = {
    "uma": "uma-password",  # keeps the most profiles she may
    "vera": "vera-password",  # her conversations hold the storage quota
    "walt": "walt-password",  # saves a calibration with its answers, then deletes it
    "xena": "xena-password",  # sends calibrate requests as fast as she can
    "yuri": "yuri-password",  # sends a new list of values with each request
    "zoe": "zoe-password",  # calibrates while yuri's lists are prepared
    "ada": "ada-password",  # gives feedback on one decision over and over
}


def _prepare(database_url: str) -> None:
    """The users; vera's conversation at the quota."""
    from profiles.schemas import ConversationCreate, MessageCreate, UserCreate
    from profiles.store import open_store

    store = open_store(database_url)
    try:
        root = store.users.actor("root")
        for name, password in USERS.items():
            store.users.add(root, UserCreate(name=name, password=password))
        vera = store.users.actor("vera")
        convo = store.conversations.create(vera, ConversationCreate(title="long talk"))
        store.conversations.add_message(vera, convo.id, MessageCreate(role="user", content="x" * QUOTA_CHARS))
    finally:
        store.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("calibration")
    database_url = f"sqlite:///{data_dir / 'align.sqlite3'}"
    create_users(database_url)
    _prepare(database_url)
    env = {
        "ALIGN_CONVERSATION_QUOTA_CHARS": str(QUOTA_CHARS),
        "ALIGN_API_REQUESTS_PER_MINUTE": str(PER_MINUTE),
        "ALIGN_MAX_PROFILES_PER_USER": str(MAX_PROFILES),
    }
    proc, url, log = start_server(data_dir, extra_env=env)
    try:
        wait_ready(proc, url, log)
        yield {"url": url, "db": database_url, "log": log, "pid": proc.pid}
    finally:
        stop(proc)


# -- helpers ----------------------------------------------------------------------------------------


def logged_in(url: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=300)
    answer = client.post("/login", data={"username": name, "password": USERS[name]})
    assert answer.status_code == 200, answer.text
    return client


def ok(outcome: tuple[str, Any]) -> Any:
    status, result = outcome
    assert status == "ok", outcome
    return result


def answered(client: httpx.Client, count: int) -> list[dict[str, Any]]:
    """``count`` dilemmas asked by calibrate_next, each answered with its first choice."""
    answers: list[dict[str, Any]] = []
    for _ in range(count):
        step = ok(call(client, "calibrate_next", {"answers": answers, "count": count + 1}))
        answers.append({"dilemma_id": step["dilemma"]["id"], "choice": 0})
    return answers


def stored(server: dict[str, Any], user: str) -> dict[str, Any]:
    """``user``'s profile names, calibration rows (profile name -> characters of its answers) and
    the characters the storage quota counts."""
    from sqlalchemy import text

    from profiles.storage_use import stored_chars
    from profiles.store import open_store

    store = open_store(server["db"])
    try:
        actor = store.users.actor(user)
        assert store.engine is not None
        with store.engine.connect() as conn:
            names = conn.execute(text("SELECT name FROM profiles WHERE owner_id = :u"), {"u": actor.id})
            rows = conn.execute(
                text("SELECT profile_name, attributes, answers FROM calibrations WHERE user_id = :u"),
                {"u": actor.id},
            )
            calibrations = {r[0]: len(str(r[1])) + len(str(r[2])) for r in rows}
            profiles = sorted(r[0] for r in names)
        return {
            "profiles": profiles,
            "calibrations": calibrations,
            "chars": stored_chars(store.sessions, actor),
        }
    finally:
        store.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


# -- saving keeps the limits of every other door -----------------------------------------------------


def test_calibrate_save_keeps_the_number_of_profiles_a_user_may_keep(server):
    with closing(logged_in(server["url"], "uma")) as uma:
        for i in range(MAX_PROFILES - 1):
            ok(call(uma, "create_profile", {"name": f"p{i}", "targets": {"achievement": 0.5}}))
        answers = answered(uma, 1)
        ok(call(uma, "calibrate_save", {"answers": answers, "count": 3, "name": "cal-0"}))
        before = stored(server, "uma")
        assert len(before["profiles"]) == MAX_PROFILES, before
        for i in range(1, 4):  # the probe's loop: a new name each time
            status, message = call(
                uma, "calibrate_save", {"answers": answers, "count": 3, "name": f"cal-{i}"}
            )
            assert status == "error", (status, message)
            assert f"you keep {MAX_PROFILES} profiles, the limit is {MAX_PROFILES}" in message, message
            assert "delete profiles you no longer need" in message, message
        assert stored(server, "uma") == before  # nothing stored, nothing lost
        # a profile she keeps is calibrated again, and a deleted one makes room, as for create_profile
        ok(call(uma, "calibrate_save", {"answers": answers, "count": 3, "name": "p0"}))
        ok(call(uma, "delete_profile", {"name": "p1"}))
        ok(call(uma, "calibrate_save", {"answers": answers, "count": 3, "name": "cal-1"}))
        after = stored(server, "uma")
        assert after["profiles"] == sorted(["p0", "p2", "p3", "cal-0", "cal-1"]), after
        assert set(after["calibrations"]) == {"cal-0", "cal-1", "p0"}, after


def test_calibrate_save_is_refused_past_the_storage_quota_and_stores_nothing(server):
    with closing(logged_in(server["url"], "vera")) as vera:
        answers = answered(vera, 1)
        before = stored(server, "vera")
        status, message = call(vera, "calibrate_save", {"answers": answers, "count": 3, "name": "mine"})
        assert status == "error" and f"the limit is {QUOTA_CHARS:,}" in str(message), (status, message)
        assert "delete old conversations" in message, message
        assert stored(server, "vera") == before == {**before, "profiles": [], "calibrations": {}}


def test_the_answers_saved_behind_a_profile_count_and_go_with_it(server):
    with closing(logged_in(server["url"], "walt")) as walt:
        answers = answered(walt, 4)
        empty = stored(server, "walt")
        saved = ok(call(walt, "calibrate_save", {"answers": answers, "count": 5, "name": "mine"}))
        assert saved["profile"]["name"] == "mine"
        after = stored(server, "walt")
        behind = after["calibrations"]["mine"]
        assert behind > 4 * 50  # each answer keeps its dilemma's scores
        profile_chars = (
            len("mine") + len(saved["profile"]["description"]) + len(json.dumps(saved["profile"]["targets"]))
        )
        assert after["chars"] - empty["chars"] >= behind + profile_chars - 20, (after, behind)
        ok(call(walt, "update_profile", {"name": "mine", "rename": "ours"}))  # the answers go with it
        renamed = stored(server, "walt")
        assert renamed["calibrations"] == {"ours": behind} and renamed["chars"] == after["chars"], renamed
        ok(call(walt, "delete_profile", {"name": "ours"}))
        assert stored(server, "walt") == empty  # deleting the profile frees what it stored


def test_calibrate_requests_count_against_the_requests_per_minute(server):
    with closing(logged_in(server["url"], "xena")) as xena:
        answers: list[dict[str, Any]] = []
        refused = ""
        for _ in range(PER_MINUTE + 5):
            status, result = call(xena, "calibrate_next", {"answers": answers, "count": 50})
            if status != "ok":
                refused = str(result)
                break
            answers.append({"dilemma_id": result["dilemma"]["id"], "choice": 0})
        assert refused, f"{len(answers)} calibrate_next calls in a minute, none refused"
        assert len(answers) <= PER_MINUTE, len(answers)
        assert f"more than {PER_MINUTE} requests in a minute" in refused and "then try again" in refused
        status, message = call(xena, "calibrate_save", {"answers": answers, "count": 50, "name": "mine"})
        assert status == "error" and "then try again" in str(message), (status, message)
        assert stored(server, "xena")["profiles"] == []


# -- a caller's list of values ------------------------------------------------------------------------


def test_new_lists_of_values_do_not_grow_the_servers_memory(server):
    with closing(logged_in(server["url"], "yuri")) as yuri:
        names = ok(call(yuri, "calibrate_next", {"answers": [], "count": 3}))["attributes"]
        assert len(names) > 12, names
        # one list of his own first: the server has prepared one before the count starts
        ok(call(yuri, "calibrate_next", {"answers": [], "count": 3, "attributes": names[1:]}))
        start = rss_mb(server["pid"])
        for i in range(2, 10):  # a list not asked for before, each time: all values but one
            step = ok(
                call(
                    yuri,
                    "calibrate_next",
                    {"answers": [], "count": 3, "attributes": names[:i] + names[i + 1 :]},
                )
            )
            assert step["dilemma"] is not None
        grown = rss_mb(server["pid"]) - start
        # each list prepared costs about 100 MB here; kept for every list, 8 lists would hold 800 MB
        assert grown < 450, f"the server grew {grown:.0f} MB for 8 lists of values"
        shuffled = list(names)
        for _ in range(3):  # the same values in another order are the same calibration
            random.shuffle(shuffled)
            step = ok(call(yuri, "calibrate_next", {"answers": [], "count": 3, "attributes": shuffled}))
            assert step["attributes"] == sorted(names), step["attributes"]
        total = rss_mb(server["pid"]) - start
        assert total < 450, f"the server grew {total:.0f} MB for 8 lists and 3 orders of one list"


def test_preparing_one_persons_new_list_does_not_hold_up_another_persons_calibrate(server):
    with closing(logged_in(server["url"], "zoe")) as zoe, closing(logged_in(server["url"], "yuri")) as yuri:
        names = ok(call(zoe, "calibrate_next", {"answers": [], "count": 3}))["attributes"]
        done: dict[str, float] = {}

        def new_list(attributes: list[str]) -> None:
            ok(call(yuri, "calibrate_next", {"answers": [], "count": 3, "attributes": attributes}))
            done[",".join(attributes)] = time.monotonic()

        workers = [threading.Thread(target=new_list, args=(a,)) for a in (names[1:-1], names[2:])]
        for worker in workers:
            worker.start()
        # yuri's two lists are being prepared: about 0.6 s on a quiet machine, seconds under load, so zoe
        # asks right after them (after 0.5 s a quiet machine had them ready and nothing overlapped)
        time.sleep(0.1)
        started = time.monotonic()
        ok(call(zoe, "calibrate_next", {"answers": [], "count": 3}))
        zoe_done = time.monotonic()
        for worker in workers:
            worker.join()
        assert len(done) == 2, done
        waited = {k[:20]: round(t - started, 2) for k, t in done.items()}
        assert zoe_done < min(done.values()), (
            f"zoe's Calibrate took {zoe_done - started:.2f} s, waiting for yuri's lists ({waited})"
        )


# -- feedback ---------------------------------------------------------------------------------------


def test_feedback_counts_against_the_requests_per_minute_and_replaces_itself(server):
    from sqlalchemy import text

    from profiles.store import open_store

    with closing(logged_in(server["url"], "ada")) as ada:
        dilemma = {
            "scenario": "My friend asked me to keep a secret from our group. Should I keep it or tell them?",
            "choices": ["Keep the secret", "Tell the group"],
            "algorithm": "random",
        }
        decision = ok(call(ada, "decide", dilemma))
        given, refused = [], ""
        for i in range(PER_MINUTE + 5):
            status, result = call(ada, "feedback", {"decision_id": decision["log_id"], "agree": i % 2 == 0})
            if status != "ok":
                refused = str(result)
                break
            given.append(i % 2 == 0)
        assert refused, f"{len(given)} feedbacks in a minute, none refused"
        assert len(given) < PER_MINUTE, len(given)  # the decision counted too
        assert f"more than {PER_MINUTE} requests in a minute" in refused and "then try again" in refused
        store = open_store(server["db"])
        try:
            assert store.engine is not None
            with store.engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT agree FROM feedback WHERE decision_id = :d"), {"d": decision["log_id"]}
                ).all()
        finally:
            store.close()
        assert [bool(r[0]) for r in rows] == [given[-1]], rows  # one row: the last word given
