"""The login check of the web app (``assistant.web.guards.login_check``) on a real app: password
checks run in threads of their own, never holding the worker threads that requests and decisions
wait for, and past the cap on checks at once a login waits a moment for one, then is refused (HTTP 429)."""

from __future__ import annotations

import threading
import time

import anyio
import anyio.to_thread
import pytest
from fastapi import HTTPException

from assistant.app import AppService
from assistant.web.guards import login_check
from profiles.users import UserStore


def test_password_checks_hold_no_worker_thread_and_past_the_cap_wait_then_are_refused(
    app: AppService, monkeypatch: pytest.MonkeyPatch
) -> None:
    release, running = threading.Event(), []
    real = UserStore.authenticate

    def slow(self: UserStore, name: str, password: str) -> object:
        running.append(name)
        release.wait(timeout=30)  # a password check that takes its time
        return real(self, name, password)

    monkeypatch.setattr(UserStore, "authenticate", slow)
    monkeypatch.setattr(app.password_checks, "wait_s", 0.5)  # the setting's 5 s, shortened
    check = login_check(app)
    answers: dict[str, object] = {}

    async def attempt(name: str, password: str) -> None:
        started = time.monotonic()
        try:
            answers[name] = await check(name, password)
        except HTTPException as exc:
            answers[name] = (exc.status_code, exc.detail, time.monotonic() - started)

    async def scenario() -> None:
        default = anyio.to_thread.current_default_thread_limiter()
        async with anyio.create_task_group() as tg:
            tg.start_soon(attempt, "alice", "alice-password")
            tg.start_soon(attempt, "bob", "wrong")
            with anyio.fail_after(30):
                while len(running) < 2:
                    await anyio.sleep(0.01)
            # two checks running: the worker threads everything else waits for are all free
            assert default.borrowed_tokens == 0
            await attempt("u1", "x")
            await attempt("u2", "x")
            release.set()
        assert default.borrowed_tokens == 0

    anyio.run(scenario)
    assert answers["alice"] is True and answers["bob"] is False
    for name in ("u1", "u2"):
        refused = answers[name]
        assert isinstance(refused, tuple)
        status, detail, took = refused
        assert (status, detail) == (429, "too many sign-ins at once; try again in a moment")
        assert 0.4 <= took < 5  # refused after its short wait, not after the running checks
    assert app.password_checks.done == 2 and app.password_checks.limit == 2  # the default cap
