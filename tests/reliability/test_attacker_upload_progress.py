"""Gradio's upload progress route, as an attacker calls it: ``GET /gradio_api/upload_progress?upload_id=ID``
waits 3 s for an upload of that id, and Gradio's ``file_upload_statuses`` used to keep an entry for every
id asked about, and for every upload posted with an ``upload_id`` whose progress no one read, for ever.

- On a real Gradio app served in this process (so its ``file_upload_statuses`` can be counted):
  200 progress requests with random ids, from 200 users at once and from one user at once, leave the
  count as it was; one user's requests past the cap answer 429 at once.
- On a live ``align serve`` in login mode: bob's progress streams past the cap answer 429 while alice's
  are not touched; an upload posted with a random ``upload_id`` and never followed leaves no "done"
  behind for a later request of that id; an over-long id answers 400; the page's way (follow, then
  upload) still reads "done".
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import gradio as gr
import gradio.routes
import httpx
import pytest
import uvicorn
from fastapi import Request
from starlette.middleware import Middleware

from assistant.web.upload_progress import GRACE_S, MAX_ID, MAX_STREAMS, UploadProgress
from tests.helpers.serve import Serving, new_site, serving, start_server
from tests.helpers.web import logged_in

pytestmark = pytest.mark.timeout(900)

ATTACKS = 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def signals() -> int:
    return len(gradio.routes.file_upload_statuses._signals)


def statuses() -> int:
    return len(gradio.routes.file_upload_statuses._statuses)


@pytest.fixture(scope="module")
def in_process() -> Iterator[str]:
    """A real Gradio app (a file box) behind ``UploadProgress``, served by uvicorn in a thread; the
    user is the ``X-User`` header (none: Gradio's own 401)."""

    def user(request: Request) -> str | None:
        return request.headers.get("x-user")

    with gr.Blocks() as demo:
        gr.File()
    demo.max_file_size = None  # as launch() sets it
    app = gradio.routes.App.create_app(
        demo, auth_dependency=user, app_kwargs={"middleware": [Middleware(UploadProgress)]}
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the in-process server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


async def progress_from(url: str, users: list[str]) -> list[tuple[int, str]]:
    limits = httpx.Limits(max_connections=len(users) + 1)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def one(user: str) -> tuple[int, str]:
            answer = await client.get(
                "/gradio_api/upload_progress",
                params={"upload_id": uuid.uuid4().hex},
                headers={"x-user": user},
            )
            return answer.status_code, answer.text

        return list(await asyncio.gather(*(one(u) for u in users)))


def test_progress_requests_of_many_users_for_random_ids_leave_nothing_behind(in_process: str) -> None:
    before = signals(), statuses()
    answers = asyncio.run(progress_from(in_process, [f"user-{i}" for i in range(ATTACKS)]))
    assert [code for code, _ in answers] == [404] * ATTACKS  # each waited for an upload that never came
    assert (signals(), statuses()) == before, f"{ATTACKS} random ids left {signals() - before[0]} entries"


def test_one_users_progress_requests_past_the_cap_get_429_at_once(in_process: str) -> None:
    before = signals(), statuses()
    started = time.monotonic()
    answers = asyncio.run(progress_from(in_process, ["mallory"] * ATTACKS))
    took = time.monotonic() - started
    codes = sorted(code for code, _ in answers)
    assert codes == [404] * MAX_STREAMS + [429] * (ATTACKS - MAX_STREAMS), codes
    assert any("wait for one to finish" in text for code, text in answers if code == 429)
    assert took < 15, took  # the refused ones did not wait their 3 s
    assert (signals(), statuses()) == before


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serving]:
    data_dir, _ = new_site(tmp_path_factory, "upload-progress")
    with serving(start_server(data_dir)) as app:
        yield app


def follow(client: httpx.Client, upload_id: str) -> httpx.Response:
    return client.get("/gradio_api/upload_progress", params={"upload_id": upload_id}, timeout=30)


def upload(client: httpx.Client, upload_id: str) -> httpx.Response:
    files = [("files", ("notes.json", b'{"a": 1}', "application/json"))]
    return client.post("/gradio_api/upload", params={"upload_id": upload_id}, files=files, timeout=30)


def test_bobs_streams_past_the_cap_get_429_and_alices_are_not_touched(server: Serving) -> None:
    bob, alice = logged_in(server.url, "bob"), logged_in(server.url, "alice")
    try:
        results: dict[str, list[int]] = {"bob": [], "alice": []}

        def ask(who: str, client: httpx.Client) -> None:
            results[who].append(follow(client, uuid.uuid4().hex).status_code)

        threads = [threading.Thread(target=ask, args=("bob", bob)) for _ in range(MAX_STREAMS + 6)]
        for thread in threads:
            thread.start()
        time.sleep(1)  # bob's streams are all waiting or refused by now
        ask("alice", alice)
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(results["bob"]) == [404] * MAX_STREAMS + [429] * 6, results
        assert results["alice"] == [404], results  # her own wait, not bob's cap
        # his streams ended: he may follow again
        assert follow(bob, uuid.uuid4().hex).status_code == 404
    finally:
        bob.close()
        alice.close()


def test_an_upload_no_one_follows_leaves_nothing_for_its_id(server: Serving) -> None:
    bob = logged_in(server.url, "bob")
    try:
        upload_id = uuid.uuid4().hex
        assert upload(bob, upload_id).status_code == 200
        time.sleep(GRACE_S + 2)
        # Gradio used to keep its "done" for ever: a request for the id read it at once
        late = follow(bob, upload_id)
        assert late.status_code == 404, (late.status_code, late.text[:200])
        too_long = follow(bob, "x" * (MAX_ID + 1))
        assert too_long.status_code == 400 and "too long" in too_long.json()["detail"], too_long.text
    finally:
        bob.close()


def test_following_an_upload_as_the_page_does_reads_done(server: Serving) -> None:
    alice = logged_in(server.url, "alice")
    try:
        upload_id = uuid.uuid4().hex
        watched: list[httpx.Response] = []
        watcher = threading.Thread(target=lambda: watched.append(follow(alice, upload_id)))
        watcher.start()
        time.sleep(0.3)
        assert upload(alice, upload_id).status_code == 200
        watcher.join(timeout=30)
        assert watched and watched[0].status_code == 200, watched
        assert '"msg": "done"' in watched[0].text, watched[0].text
    finally:
        alice.close()
