"""assistant.web.queue_running on Gradio's own queue and events: each user runs at most their share of
a kind's places (the rule of /v1), the next person's job goes first, and a job whose caller went away
holds no place of the kind but counts in its user's share until it stops."""

from __future__ import annotations

from typing import Any

import gradio as gr
from gradio.queueing import Event

from assistant.web.api_gate import running_share
from assistant.web.queue_running import share_running

PLACES = 4


def _queue() -> tuple[Any, Any]:
    with gr.Blocks() as demo:
        box = gr.Textbox()
        gr.Button("go").click(lambda s: s, box, box)
    demo.queue(default_concurrency_limit=PLACES)
    share_running(demo)
    queue = demo._queue
    queue.active_jobs = [None] * 40
    fn = demo.fns[0]
    queue.create_event_queue_for_fn(fn)
    return queue, fn


def _wait(queue: Any, fn: Any, user: str | None) -> Event:
    event = Event(None, fn, None, user)  # type: ignore[arg-type]
    queue.event_queue_per_concurrency_id[fn.concurrency_id].queue.append(event)
    return event


def _start(queue: Any) -> list[Event] | None:
    """What the queue starts next, put among its running jobs as Gradio does."""
    picked = queue.get_events()
    if picked is None:
        return None
    events, _, _ = picked
    queue.active_jobs[queue.active_jobs.index(None)] = events
    return events


def _users(events: list[list[Event] | None]) -> list[str | None]:
    return [job[0].username if job else None for job in events]


def _places_taken() -> tuple[Any, Any, list[list[Event] | None]]:
    """The queue with all four places taken: alice, alice, bob, bob run; alice's third job and
    carl's wait."""
    queue, fn = _queue()
    for user in ("alice", "alice", "alice", "bob", "bob", "carl"):
        _wait(queue, fn, user)
    first = [_start(queue) for _ in range(4)]
    assert _users(first) == ["alice", "alice", "bob", "bob"]
    return queue, fn, first


def test_a_user_runs_their_share_and_the_next_persons_job_goes_first() -> None:
    queue, fn = _queue()
    share = running_share(PLACES)
    assert share == 2
    for _ in range(6):
        _wait(queue, fn, "alice")
    _wait(queue, fn, "bob")
    started = [_start(queue) for _ in range(4)]
    assert _users(started) == ["alice", "alice", "bob", None]  # the rest of alice's wait
    assert len(queue.event_queue_per_concurrency_id[fn.concurrency_id].queue) == 4


def test_all_places_taken_nothing_starts() -> None:
    queue, fn = _queue()
    for user in ("alice", "alice", "bob", "bob", "carl"):
        _wait(queue, fn, user)
    assert _users([_start(queue) for _ in range(5)]) == ["alice", "alice", "bob", "bob", None]


def test_a_job_whose_caller_went_away_holds_no_place_but_counts_in_its_users_share() -> None:
    queue, _, first = _places_taken()
    assert _start(queue) is None
    assert first[0] is not None
    first[0][0].alive = False  # alice closed that page: one of the kind's places is free
    # ... for carl: alice's left job still runs until its next step, so it counts in her share
    assert _users([_start(queue)]) == ["carl"]
    assert _start(queue) is None
    queue.active_jobs[queue.active_jobs.index(first[0])] = None  # her left job has stopped
    assert _start(queue) is None  # no place of the kind is free (alice, bob, bob, carl run)
    assert first[2] is not None
    queue.active_jobs[queue.active_jobs.index(first[2])] = None  # one of bob's ends
    assert _users([_start(queue)]) == ["alice"]


def test_jobs_of_no_user_have_no_share() -> None:
    queue, fn = _queue()
    for _ in range(5):
        _wait(queue, fn, None)
    started = [_start(queue) for _ in range(5)]
    assert [job is not None for job in started] == [True] * PLACES + [False]


def test_a_job_its_caller_cancelled_holds_no_place_but_counts_in_its_users_share_until_it_returns() -> None:
    from assistant.web.queue_running import handler_running, left_running

    queue, fn, first = _places_taken()
    assert first[0] is not None
    with handler_running(queue, first[0][0]):  # her handler runs ...
        assert left_running(queue) == []  # (Gradio still holds it: counted there, once)
        # ... and she cancels it: Gradio drops it from its running jobs at once
        queue.active_jobs[queue.active_jobs.index(first[0])] = None
        assert left_running(queue) == [(str(fn.concurrency_id), "alice")]
        assert _users([_start(queue)]) == ["carl"]  # the place is free, but not for her third job
        assert _start(queue) is None
        queue.active_jobs[queue.active_jobs.index(first[2])] = None  # one of bob's ends
        assert _start(queue) is None  # her cancelled job still runs: she is at her share
    assert left_running(queue) == []  # its handler returned
    assert _users([_start(queue)]) == ["alice"]
