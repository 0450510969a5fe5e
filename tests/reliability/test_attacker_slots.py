"""An outside probe of ``/v1``'s shared slots on a live ``align serve`` in login mode (4 requests run
at once; each user may have 6 running or waiting): one user's slow streamed decisions, dropped by
their client after 2 s as ``curl -N -m 2`` does, must not hold the slots others need for long, and
must not keep counting against that user once their work has stopped (at the next model call); while
it runs it counts, so hanging up and asking again cannot run more decisions at once than the share;
a decision nobody receives any more is not logged, and the log says so in one line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest

from tests.helpers.serve import cli_api_key, new_site, serving, start_server
from tests.helpers.store import decisions_of, opened

pytestmark = pytest.mark.timeout(900)

QUESTION = (
    "I have savings of 20,000. Should I put them in a broad index fund or start a food truck business "
    "with a friend?"
)
SLOW = "align:default:persona-greedy"  # a language-model decider: each decision takes many model calls
DROPPED = 4  # as many as the server runs at once


def _profile(database_url: str) -> None:
    from profiles.schemas import ProfileCreate

    with opened(database_url) as store:
        store.profiles.create(
            store.users.actor("bob"), ProfileCreate(name="default", targets={"security": 0.9})
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir, database_url = new_site(tmp_path_factory, "slots")
    _profile(database_url)
    with serving(start_server(data_dir)) as app:
        yield {
            "url": app.url,
            "db": database_url,
            "log": app.log,
            "alice": cli_api_key(data_dir, "alice"),
            "bob": cli_api_key(data_dir, "bob"),
        }


def post(
    server: dict[str, Any], user: str, content: str, *, model: str = "align", timeout: float = 300
) -> httpx.Response:
    return httpx.post(
        server["url"] + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {server[user]}"},
        json={"model": model, "messages": [{"role": "user", "content": content}]},
        timeout=timeout,
    )


def bobs_slow_decision(
    server: dict[str, Any], *, stream: bool, timeout: float
) -> AbstractContextManager[httpx.Response]:
    """bob's slow decision on ``/v1``, streamed or not, whose answer is read in the ``with`` block."""
    return httpx.stream(
        "POST",
        server["url"] + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {server['bob']}"},
        json={"model": SLOW, "messages": [{"role": "user", "content": QUESTION}], "stream": stream},
        timeout=timeout,
    )


def dropped(server: dict[str, Any], stream: bool) -> None:
    """A slow decision, streamed or not, whose client gives up after 2 s (``curl -N -m 2``)."""
    try:
        with bobs_slow_decision(server, stream=stream, timeout=2) as answer:
            for _ in answer.iter_raw():
                pass
    except httpx.TimeoutException:
        pass


def stopped(server: dict[str, Any], count: int, timeout: float = 240) -> None:
    """Wait until the log says ``count`` turns stopped because their asker went away."""
    deadline = time.monotonic() + timeout
    while server["log"].read_text(errors="replace").count("its asker went away") < count:
        assert time.monotonic() < deadline, "the dropped decisions did not stop"
        time.sleep(0.5)


def hang_up_after_first_lines(server: dict[str, Any]) -> int:
    """A slow streamed decision whose client reads two lines, then closes: its status code."""
    with bobs_slow_decision(server, stream=True, timeout=60) as answer:
        if answer.status_code == 200:
            lines = 0
            for line in answer.iter_lines():
                lines += line.startswith("data:")
                if lines == 2:
                    break
        return answer.status_code


def test_dropped_slow_requests_leave_room_for_others_and_give_back_their_slots(server):
    # three streamed, one not: both kinds give their slot back when dropped
    drops = [threading.Thread(target=dropped, args=(server, n != 0)) for n in range(DROPPED)]
    for drop in drops:
        drop.start()
    for drop in drops:
        drop.join()
    # alice's greeting needs no model: it is answered while bob's dropped decisions would still run
    # (before, it waited for all four of them: half a minute or more here)
    greeting = post(server, "alice", "hello", timeout=15)
    assert greeting.status_code == 200, greeting.text
    assert greeting.json()["choices"][0]["message"]["content"]

    # bob's share (6 running or waiting) is his again once the dropped four have stopped
    stopped(server, DROPPED)
    answers: list[int] = []

    def hello() -> None:
        answers.append(post(server, "bob", "hello", timeout=120).status_code)

    helloes = [threading.Thread(target=hello) for _ in range(6)]
    for thread in helloes:
        thread.start()
    for thread in helloes:
        thread.join()
    assert answers == [200] * 6

    # one decision bob waits for: logged; the dropped ones, which nobody received, are not
    kept = post(server, "bob", QUESTION, model=SLOW)
    assert kept.status_code == 200, kept.text
    assert kept.json()["align"]["decision_id"], kept.text
    assert decisions_of(server["db"], "bob") == 1


def test_hanging_up_and_asking_again_runs_no_more_decisions_than_the_share(server):
    logged = decisions_of(server["db"], "bob")
    before = server["log"].read_text(errors="replace").count("its asker went away")
    codes = [hang_up_after_first_lines(server) for _ in range(12)]  # the probe's loop
    assert codes == [200] * 12, codes
    # each hung-up decision held its slot until it stopped (and said so): when the last was accepted,
    # all but bob's running share (2 of the 4 slots) had stopped
    running = 12 - (server["log"].read_text(errors="replace").count("its asker went away") - before)
    assert running <= 2, f"{running} of bob's hung-up decisions still ran when his 12th was accepted"
    stopped(server, before + 12)  # each says so in one line
    text = server["log"].read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]
    assert decisions_of(server["db"], "bob") == logged  # nothing logged for nobody
    assert post(server, "bob", "hello", timeout=60).status_code == 200  # his share is his again
