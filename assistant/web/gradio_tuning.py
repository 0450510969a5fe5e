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
  sessions). ``LeanSessionState`` makes each component's copy the first time it is used: every
  event writes the values of its own inputs and outputs into it, so a session holds the copies of the
  few components its events touched (an API call: its endpoint's one or two), not all ~300.
- **Sessions per user.** Gradio keeps the state of up to 10,000 sessions for everyone together (the
  oldest goes first); one user making API calls with a new session hash each (tens a second, as
  cheap endpoints answer at once) would hold all of them, and everyone else's open page would lose
  its state. ``LeanStateHolder`` keeps at most ``SESSIONS_PER_USER`` sessions per user, the user's
  least recently used going first, as a closed browser tab's: its state, and its queue's delivered
  results nobody read (a job still running keeps its own until it ends). A page in use touches its
  session at every event, so it stays. The owner of a session hash is the login that first used it
  (``assistant.web.session_binding.Bindings.owner``); sessions of no known user (single local-user
  mode, or not yet bound) share one such allowance.

``lean_sessions(lifespan, owner)`` wraps the app's lifespan so the lean state holder is in place
before the first request.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from copy import copy
from typing import Any

from gradio.state_holder import SessionState, StateHolder

__all__ = [
    "ANALYTICS_EVENTS",
    "ANALYTICS_EVERY",
    "POLL_S",
    "PROGRESS_S",
    "SESSIONS_PER_USER",
    "LeanSessionState",
    "LeanStateHolder",
    "lean_sessions",
    "tune_queue",
]

ANALYTICS_EVENTS = 1000
ANALYTICS_EVERY = 100
POLL_S = 0.02
PROGRESS_S = 0.25
SESSIONS_PER_USER = 100  # a user's open pages and API sessions; the least recently used go past this


def tune_queue(demo: Any) -> None:
    """After ``demo.queue(...)``: slower polling, bounded and occasional monitoring analytics (see the
    module docstring)."""
    queue = demo._queue
    queue.sleep_when_free = POLL_S
    queue.progress_update_sleep_when_free = PROGRESS_S
    queue.ANALYTICS_MAX_EVENTS = ANALYTICS_EVENTS
    queue.ANAYLTICS_CACHE_FREQUENCY = ANALYTICS_EVERY  # Gradio's spelling


class _Configs(dict[int, Any]):
    """``SessionState.config_values`` made one component at a time: a component's copy is made the
    first time it is read, from the session's blocks, as Gradio makes all of them up front."""

    def __init__(self, state: LeanSessionState) -> None:
        super().__init__()
        self._state = state

    def _made(self, key: int) -> bool:
        """Make ``key``'s copy if it is one Gradio makes up front and not made yet; True if it exists."""
        if not dict.__contains__(self, key):
            blocks = self._state.blocks_config.blocks
            if key not in blocks or key not in self._state.root_blocks:
                return False
            self[key] = self._state.blocks_config.config_for_block(key, [], blocks[key])
        return True

    def __missing__(self, key: int) -> Any:
        if not self._made(key):
            raise KeyError(key)
        return self[key]

    def made_all(self) -> _Configs:
        """Every component's copy made (what Gradio's up-front dict holds), in the blocks' order."""
        for key in list(self._state.blocks_config.blocks):
            self._made(key)
        return self


class LeanSessionState(SessionState):
    """Gradio's ``SessionState`` whose ``config_values`` (the per-component config copies) are made
    one component at a time, when first used."""

    def __init__(self, blocks: Any) -> None:  # SessionState.__init__ without the eager config copy
        self.root_blocks = blocks.blocks
        self.blocks_config = copy(blocks.default_config)
        self.configs = _Configs(self)
        self.config_values = self.configs
        self.state_data: dict[int, Any] = {}
        self._state_ttl: dict[int, Any] = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600

    @property
    def components(self) -> Iterator[dict[str, Any]]:
        for config in self.configs.made_all().values():
            if config:
                yield config


class LeanStateHolder(StateHolder):
    """Gradio's ``StateHolder`` making ``LeanSessionState``s, at most ``per_user`` per user (the module
    docstring); ``owner(session_hash)`` is the user a session hash belongs to (None: nobody known)."""

    def __init__(
        self, owner: Callable[[str], str | None] | None = None, *, per_user: int = SESSIONS_PER_USER
    ) -> None:
        super().__init__()
        self._owner = owner or (lambda _session: None)
        self._per_user = per_user
        self._owners: dict[str, str | None] = {}  # session hash -> its user
        self._of_user: dict[str | None, OrderedDict[str, None]] = {}  # user -> sessions, least recent first

    def __getitem__(self, session_id: str) -> SessionState:
        if session_id not in self.session_data:
            state = LeanSessionState(self.blocks)
            with self.lock:
                self.session_data.setdefault(session_id, state)
        return super().__getitem__(session_id)

    def sessions_of(self, user: str | None) -> list[str]:
        """``user``'s sessions held, least recently used first."""
        with self.lock:
            return list(self._of_user.get(user, ()))

    def update(self, session_id: str) -> None:
        """Gradio's: ``session_id`` used now, the oldest of all past its capacity dropped; and the
        least recently used of this user's past ``per_user``."""
        dropped: list[str] = []
        with self.lock:
            if session_id in self.session_data:
                self.session_data.move_to_end(session_id)
                mine = self._of_user.setdefault(self._owned(session_id), OrderedDict())
                mine[session_id] = None
                mine.move_to_end(session_id)
                while len(mine) > self._per_user:
                    dropped.append(next(iter(mine)))
                    self._forget(dropped[-1])
            while len(self.session_data) > self.capacity:
                dropped.append(next(iter(self.session_data)))
                self._forget(dropped[-1])
        for old in dropped:
            self._drop_queued(old)

    def _owned(self, session_id: str) -> str | None:
        """Under ``lock``: ``session_id``'s user, asked again while it is nobody known."""
        user = self._owners.get(session_id)
        if user is None:
            user = self._owner(session_id)
            if user is not None:
                self._unlist(session_id, None)
            self._owners[session_id] = user
        return user

    def _unlist(self, session_id: str, user: str | None) -> None:
        mine = self._of_user.get(user)
        if mine is not None:
            mine.pop(session_id, None)
            if not mine:
                del self._of_user[user]

    def _forget(self, session_id: str) -> None:
        """Under ``lock``: ``session_id``'s state gone, as a closed page's once it expires."""
        state = self.session_data.pop(session_id, None)
        self.time_last_used.pop(session_id, None)
        self._unlist(session_id, self._owners.pop(session_id, None))
        if state is not None:
            for component, value, _expired in state.state_components:
                component.delete_callback(value)

    def _drop_queued(self, session_id: str) -> None:
        """The queue's messages for ``session_id`` nobody read, unless one of its jobs is still there
        (its caller gets its result)."""
        queue = getattr(getattr(self, "blocks", None), "_queue", None)
        if queue is None:
            return
        pending = queue.pending_event_ids_session.get(session_id, ())
        if any(event_id in queue.event_ids_to_events for event_id in list(pending)):
            return
        queue.pending_event_ids_session.pop(session_id, None)
        queue.pending_messages_per_session.pop(session_id, None)


def lean_sessions(
    lifespan: Callable[[Any], Any] | None = None, owner: Callable[[str], str | None] | None = None
) -> Callable[[Any], Any]:
    """A FastAPI lifespan that puts a ``LeanStateHolder`` (``owner``: whose a session hash is) in
    Gradio's app, then runs ``lifespan``."""

    @asynccontextmanager
    async def wrapped(server_app: Any) -> AsyncIterator[None]:
        holder = LeanStateHolder(owner)
        holder.set_blocks(server_app.get_blocks())  # also the Blocks' own reference
        for session_id, state in server_app.state_holder.session_data.items():
            holder.session_data[session_id] = state
            holder.update(session_id)
        server_app.state_holder = holder
        if lifespan is None:
            yield
            return
        async with lifespan(server_app):
            yield

    return wrapped
