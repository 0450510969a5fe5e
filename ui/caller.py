"""Whether the caller of the running handler is still there.

A handler runs in a worker thread, which Gradio never stops. When the caller goes away (the page
is closed, the client process dies: its event stream ends), Gradio's queue marks the caller's
events as no longer alive (``Queue.clean_events`` sets ``Event.alive = False``) and sends them
nothing more, but a long handler would go on. When the caller cancels its own job
(``POST /gradio_api/cancel``), Gradio cancels the task that awaits the handler, and that task's end
drops the event from the running jobs (``Queue.active_jobs``) at once, while the handler's thread
still runs. ``caller_gone()``, called in the handler's thread, answers a check the handler can call
between its steps: True once the event is no longer alive, or no longer among the running jobs (a
queued event is among them from before its handler starts until after it ends: only a cancel drops
it sooner).

``held()`` is that check for the whole run of a handler, which meanwhile counts, through
``assistant.web.queue_running.handler_running``, in its user's share and held jobs even once Gradio
has dropped it.

Gradio keeps the running event's id and its Blocks in context variables (``LocalContext``) for the
handler's thread, as its progress bars use them; outside a queued event (a test calling the handler
directly, a call that skips the queue) the check always answers False.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from assistant.web.queue_running import handler_running

__all__ = ["caller_gone", "held"]


def _running() -> tuple[Any, str] | None:
    """The queue and the id of the event whose handler runs in this thread, if queued."""
    from gradio.context import LocalContext

    blocks: Any = LocalContext.blocks.get(None)
    event_id = LocalContext.event_id.get(None)
    queue = getattr(blocks, "_queue", None)
    if queue is None or not event_id:
        return None
    return queue, str(event_id)


def _event(queue: Any, event_id: str) -> Any | None:
    for job in list(getattr(queue, "active_jobs", None) or []):
        for event in job or []:
            if getattr(event, "_id", None) == event_id:
                return event
    return None


def caller_gone() -> Callable[[], bool]:
    """A check for the handler running in this thread: has its caller gone away (or cancelled it)?"""
    running = _running()
    if running is None:
        return lambda: False
    queue, event_id = running

    def gone() -> bool:
        event = _event(queue, event_id)
        return event is None or not getattr(event, "alive", True)  # None: cancelled, dropped by Gradio

    return gone


@contextlib.contextmanager
def held() -> Iterator[Callable[[], bool]]:
    """``caller_gone()`` for a handler's run; meanwhile its event counts in its user's share of the
    running places and in their held jobs, even once Gradio has dropped it (cancelled)."""
    running = _running()
    event = _event(*running) if running is not None else None
    if running is None or event is None:
        yield caller_gone()
        return
    with handler_running(running[0], event):
        yield caller_gone()
