"""Who runs next in Gradio's queue: each user's share of the running places, and none for a job whose
caller has gone away.

Gradio runs, for each kind of request (an endpoint or UI handler: its ``concurrency_id``), at most
its ``concurrency_limit`` jobs at once, first come first served. So one person who queued several
slow requests (up to ``queue_max_per_user``) could hold every running place of that kind, and
everyone else's request would wait behind all of them. ``share_running(demo)`` replaces the queue's
choice of the next job (``Queue.get_events``) with the rule ``/v1`` follows
(``assistant.web.api_gate.running_share``: half the places, at least one, per user):

- the first waiting job of a user who runs fewer than their share of that kind starts; a user at
  their share keeps their place in the line, and the next person's job goes first;
- only jobs whose caller is still there count against a kind's places: once a caller goes away (the page is
  closed, the client process dies: its event stream ``GET /gradio_api/queue/data`` or
  ``/gradio_api/call/NAME/EVENT`` ends; Starlette's streaming reply hears the hang-up at once and
  Gradio's ``Queue.clean_events`` marks the session's running events no longer ``alive`` and drops its
  waiting ones), its place is free for the next job at once. The handler's thread still runs until
  its next step or model call, where it stops (``assistant.decisions.cancel``, through ``ui.caller``),
  and until then it still counts in that user's own share and their count of jobs held
  (``QueueShare``): hanging up and asking again runs no more than the share, as in ``/v1``;
- a job its caller cancelled (``POST /gradio_api/cancel``) is the same: Gradio drops it from its
  running jobs at once, but its handler (``handler_running``, around every handler through
  ``ui.caller.held``) counts in its user's share and held jobs until its thread returns.

Jobs of no user (single local-user mode) have no share. Batched handlers are taken as Gradio takes
them. The count runs on the event loop, under the queue's own lock, like Gradio's choice it replaces.
"""

from __future__ import annotations

import contextlib
import random
import threading
import weakref
from collections import Counter
from collections.abc import Iterator
from typing import Any

from assistant.web.api_gate import running_share

__all__ = ["handler_running", "left_running", "next_events", "running_now", "share_running"]

_LOCK = threading.Lock()
# per queue: the running handlers of users' events, by event id -> (kind, user)
_HANDLERS: weakref.WeakKeyDictionary[Any, dict[str, tuple[str, str]]] = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def handler_running(queue: Any, event: Any) -> Iterator[None]:
    """Around the run of ``event``'s handler (in its thread): the event counts in its user's share
    and held jobs until the handler returns, even once Gradio has dropped it (cancelled)."""
    if getattr(event, "username", None) is None:
        yield
        return
    event_id = str(event._id)
    with _LOCK:
        _HANDLERS.setdefault(queue, {})[event_id] = (str(event.concurrency_id), str(event.username))
    try:
        yield
    finally:
        with _LOCK:
            _HANDLERS.get(queue, {}).pop(event_id, None)


def _held_ids(queue: Any) -> set[str]:
    return {str(event._id) for job in list(getattr(queue, "active_jobs", None) or []) for event in job or []}


def left_running(queue: Any) -> list[tuple[str, str]]:
    """(kind, user) of each handler still running whose event Gradio no longer holds (cancelled)."""
    with _LOCK:
        handlers = dict(_HANDLERS.get(queue, {}))
    if not handlers:
        return []
    held = _held_ids(queue)
    return [entry for event_id, entry in handlers.items() if event_id not in held]


def running_now(queue: Any) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    """The running jobs whose caller is still there, per kind; and per (kind, user), every job of that
    user still running, the ones they left or cancelled included (asking again runs no more)."""
    per_kind: Counter[str] = Counter()
    per_user: Counter[tuple[str, str]] = Counter()
    for job in list(getattr(queue, "active_jobs", None) or []):
        for event in job or []:
            kind = str(event.concurrency_id)
            if getattr(event, "alive", True):
                per_kind[kind] += 1
            if event.username is not None:  # a user's own share counts a job left until it stops
                per_user[(kind, str(event.username))] += 1
    per_user.update(left_running(queue))  # and one cancelled, until its handler returns
    return per_kind, per_user


def next_events(queue: Any) -> tuple[list[Any], bool, str] | None:
    """The jobs to start now, as ``Queue.get_events`` answers: (events, batched, concurrency id), or
    None when no waiting job may start (see the module docstring)."""
    per_kind, per_user = running_now(queue)
    kinds = list(queue.event_queue_per_concurrency_id)
    random.shuffle(kinds)  # as Gradio does: no kind of request always goes first
    for kind in kinds:
        line = queue.event_queue_per_concurrency_id[kind]
        limit = line.concurrency_limit
        if not line.queue or (limit is not None and per_kind[str(kind)] >= limit):
            continue
        share = None if limit is None else running_share(limit)
        first = next(
            (
                event
                for event in line.queue
                if share is None
                or event.username is None
                or per_user[(str(kind), str(event.username))] < share
            ),
            None,
        )
        if first is None:  # everyone waiting here already runs their share
            continue
        events = [first]
        batch = bool(first.fn.batch)
        if batch:
            same = [e for e in line.queue if e is not first and e.fn == first.fn]
            events += same[: first.fn.max_batch_size - 1]
        for event in events:
            line.queue.remove(event)
        return events, batch, kind
    return None


def share_running(demo: Any) -> None:
    """After ``demo.queue(...)``: the queue starts jobs by ``next_events``."""
    queue = demo._queue
    queue.get_events = lambda: next_events(queue)
