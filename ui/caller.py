"""Whether the caller of the running handler is still there.

A handler runs in a worker thread, which Gradio never stops. When the caller goes away (the page
is closed, the client process dies: its event stream ends), Gradio's queue marks the caller's
events as no longer alive (``Queue.clean_events`` sets ``Event.alive = False``) and sends them
nothing more, but a long handler would go on. ``caller_gone()``, called in the handler's thread,
answers a check the handler can call between its steps: True once the event is no longer alive.

Gradio keeps the running event's id and its Blocks in context variables (``LocalContext``) for the
handler's thread, as its progress bars use them; outside an event (a test calling the handler
directly) the check always answers False.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["caller_gone"]


def caller_gone() -> Callable[[], bool]:
    """A check for the handler running in this thread: has its caller gone away?"""
    from gradio.context import LocalContext

    blocks: Any = LocalContext.blocks.get(None)
    event_id = LocalContext.event_id.get(None)
    queue = getattr(blocks, "_queue", None)
    if queue is None or not event_id:
        return lambda: False

    def gone() -> bool:
        for job in list(getattr(queue, "active_jobs", None) or []):
            for event in job or []:
                if getattr(event, "_id", None) == event_id:
                    return not getattr(event, "alive", True)
        return False  # not (or no longer) among the running events: nothing to say

    return gone
