"""Costs of Gradio 6 that ``align serve`` does not pay (docs/perf/serve-profile.md).

- **Queue polling.** Gradio's queue looks for work every millisecond (``sleep_when_free`` = 0.001
  on Linux) and for progress to send every 10 ms, busy or idle: about 1,100 wake-ups a second, 4%
  of a core on an idle server, each one taking the GIL and a core from the model. ``tune_queue``
  polls every ``POLL_S`` (a new request waits at most that long to start) and sends progress every
  ``PROGRESS_S``.
- **Queue analytics.** After every event Gradio rebuilds its monitoring summary: a pandas DataFrame
  of the last 10,000 events (``GRADIO_ANALYTICS_MAX_EVENTS``), every time
  (``GRADIO_ANALYTICS_CACHE_FREQUENCY`` = 1); about 12 ms of CPU per request once the history is
  full. ``tune_queue`` keeps the last ``ANALYTICS_EVENTS`` and rebuilds every ``ANALYTICS_EVERY``
  events (the /monitoring page still works, a little less fresh).
- **Session state.** Each new session hash (every API call made without one, e.g. ``curl`` on
  ``/gradio_api/call/...``) gets a ``SessionState`` that copies the config of every component of
  the app up front (about 25 ms and 450 kB for this app's ~300 components, kept for up to 10,000
  sessions). ``LeanSessionState`` builds that copy the first time it is read (a UI event that
  updates a component); API endpoints never read it.

``lean_sessions(lifespan)`` wraps the app's lifespan so the lean state holder is in place before
the first request.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from copy import copy
from functools import cached_property
from typing import Any

from gradio.state_holder import SessionState, StateHolder

__all__ = [
    "ANALYTICS_EVENTS",
    "ANALYTICS_EVERY",
    "POLL_S",
    "PROGRESS_S",
    "LeanSessionState",
    "LeanStateHolder",
    "lean_sessions",
    "tune_queue",
]

ANALYTICS_EVENTS = 1000
ANALYTICS_EVERY = 100
POLL_S = 0.02
PROGRESS_S = 0.25


def tune_queue(demo: Any) -> None:
    """After ``demo.queue(...)``: slower polling, bounded and occasional monitoring analytics (see the
    module docstring)."""
    queue = demo._queue
    queue.sleep_when_free = POLL_S
    queue.progress_update_sleep_when_free = PROGRESS_S
    queue.ANALYTICS_MAX_EVENTS = ANALYTICS_EVENTS
    queue.ANAYLTICS_CACHE_FREQUENCY = ANALYTICS_EVERY  # Gradio's spelling


class LeanSessionState(SessionState):
    """Gradio's ``SessionState`` with ``config_values`` (the per-component config copy) built on first use."""

    def __init__(self, blocks: Any) -> None:  # SessionState.__init__ without the eager config copy
        self._blocks = blocks
        self.blocks_config = copy(blocks.default_config)
        self.state_data: dict[int, Any] = {}
        self._state_ttl: dict[int, Any] = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600

    @cached_property
    def config_values(self) -> dict[int, Any]:  # type: ignore[override]
        return {
            k: self.blocks_config.config_for_block(k, [], v)
            for k, v in self.blocks_config.blocks.items()
            if k in self._blocks.blocks
        }


class LeanStateHolder(StateHolder):
    """Gradio's ``StateHolder`` making ``LeanSessionState``s."""

    def __getitem__(self, session_id: str) -> SessionState:
        if session_id not in self.session_data:
            self.session_data[session_id] = LeanSessionState(self.blocks)
        return super().__getitem__(session_id)


def lean_sessions(lifespan: Callable[[Any], Any] | None = None) -> Callable[[Any], Any]:
    """A FastAPI lifespan that puts a ``LeanStateHolder`` in Gradio's app, then runs ``lifespan``."""

    @asynccontextmanager
    async def wrapped(server_app: Any) -> AsyncIterator[None]:
        holder = LeanStateHolder()
        holder.set_blocks(server_app.get_blocks())  # also the Blocks' own reference
        holder.session_data.update(server_app.state_holder.session_data)
        server_app.state_holder = holder
        if lifespan is None:
            yield
            return
        async with lifespan(server_app):
            yield

    return wrapped
