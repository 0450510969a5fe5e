"""Gradio's routes the app does not use, as a logged-in attacker calls them on a live ``align serve`` in
login mode: each answers 404 at once, costs the server nothing and leaves one short log line.

- ``POST /gradio_api/process_recording`` (the screen recorder's video) used to save each body to a file
  in the server's temp folder and never delete it, outside the upload quota: 100 calls of ~1 MB left
  ~99 MB; a request cut off halfway left its part too.
- ``GET /gradio_api/dev/reload`` (the hot-reload notifier) used to hold a stream open that woke the
  server every 50 ms, as many as a user opened.
- ``POST /gradio_api/component_server`` for a component that does not exist used to answer 500 and log a
  whole traceback.

And the handlers that parse JSON a person writes in a code box (the attribute definition, the new
example), sent nothing, an object, a number or text nested too deeply in its place, say so in words
(never Python's TypeError or RecursionError) and log no traceback.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.gradio_queue import call_fn, refusal
from tests.helpers.serve import Serving, new_site, serving, start_server
from tests.helpers.web import logged_in

pytestmark = pytest.mark.timeout(900)

VIDEO_BYTES = 990_000  # under the 1 MB request limit
CALLS = 30


@pytest.fixture(scope="module")
def temp_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server-tmp")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, temp_dir: Path) -> Iterator[Serving]:
    data_dir, _ = new_site(tmp_path_factory, "gradio-routes")
    # the server's temp folder (and Gradio's cache under it) is this test's, to be measured
    with serving(start_server(data_dir, extra_env={"TMPDIR": str(temp_dir)})) as app:
        yield app


@pytest.fixture
def bob(server: Serving) -> Iterator[httpx.Client]:
    client = logged_in(server.url, "bob", timeout=60)
    try:
        yield client
    finally:
        client.close()


def bytes_under(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):  # gone while counted
            total += path.stat().st_size if path.is_file() else 0
    return total


def log_since(server: Serving, start: int) -> str:
    with open(server.log, "rb") as log:
        log.seek(start)
        return log.read().decode(errors="replace")


def cookie_header(client: httpx.Client) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def test_recordings_posted_by_the_hundred_leave_nothing_on_disk(
    server: Serving, bob: httpx.Client, temp_dir: Path
) -> None:
    before, log_start = bytes_under(temp_dir), server.log.stat().st_size
    video = os.urandom(VIDEO_BYTES)
    for _ in range(CALLS):
        answer = bob.post("/gradio_api/process_recording", files={"video": ("x.mp4", video, "video/mp4")})
        assert answer.status_code == 404, (answer.status_code, answer.text[:200])
    time.sleep(1)
    grown = bytes_under(temp_dir) - before
    assert grown < VIDEO_BYTES, f"{CALLS} recordings left {grown} bytes in the server's temp folder"
    said = log_since(server, log_start)
    assert said.count("refused Gradio route the app does not use") == CALLS, said[-2000:]
    assert len(said) < CALLS * 300 and "Traceback" not in said


def test_a_recording_cut_off_halfway_leaves_nothing_on_disk(
    server: Serving, bob: httpx.Client, temp_dir: Path
) -> None:
    before = bytes_under(temp_dir)
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="x.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    port = int(server.url.rsplit(":", 1)[1])
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            request = (
                "POST /gradio_api/process_recording HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\n"
                f"Cookie: {cookie_header(bob)}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {len(head) + VIDEO_BYTES + 100}\r\n\r\n"
            ).encode()
            # half the video, then the caller goes away (the server may have answered already)
            with contextlib.suppress(OSError):
                sock.sendall(request + head + os.urandom(VIDEO_BYTES // 2))
    time.sleep(2)
    grown = bytes_under(temp_dir) - before
    assert grown < VIDEO_BYTES // 2, f"cut-off recordings left {grown} bytes in the server's temp folder"


def test_the_hot_reload_stream_is_not_held_open(server: Serving, bob: httpx.Client) -> None:
    started = time.monotonic()
    for _ in range(20):
        with bob.stream("GET", "/gradio_api/dev/reload", timeout=10) as answer:
            assert answer.status_code == 404, answer.status_code
            assert "event-stream" not in answer.headers.get("content-type", "")
            answer.read()  # the whole answer, at once: nothing left open
    assert time.monotonic() - started < 10


def test_component_server_and_other_unused_routes_answer_404_without_a_traceback(
    server: Serving, bob: httpx.Client
) -> None:
    log_start = server.log.stat().st_size
    body = {"session_hash": "abcd", "component_id": 99999, "fn_name": "ls", "data": None}
    answer = bob.post("/gradio_api/component_server", json=body)
    assert answer.status_code == 404, (answer.status_code, answer.text[:300])
    for method, path in (
        ("GET", "/gradio_api/queue/status"),
        ("GET", "/gradio_api/login_check"),
        ("POST", "/gradio_api/vibe-starter-queries"),
        ("GET", "/gradio_api/a_route_gradio_adds_next_year"),
    ):
        assert bob.request(method, path).status_code == 404, path
    said = log_since(server, log_start)
    assert "Traceback" not in said and "KeyError" not in said, said[-3000:]
    assert said.count("refused Gradio route the app does not use") == 5, said[-2000:]
    # what the page and gradio_client use still answers
    assert bob.get("/gradio_api/user").json() == "bob"
    assert bob.get("/gradio_api/app_id").status_code == 200
    assert bob.get("/gradio_api/info").status_code == 200


def code_box_handlers(client: httpx.Client) -> list[tuple[int, int, list[Any]]]:
    """Each UI handler with a code box among its inputs: (fn_index, the box's place among the inputs,
    the inputs as the page starts with them)."""
    config = client.get("/config").json()
    components = {c["id"]: c for c in config["components"]}
    found = []
    for i, dependency in enumerate(config["dependencies"]):
        inputs = [components.get(c, {}) for c in dependency["inputs"]]
        data = [c.get("props", {}).get("value") for c in inputs]
        for position, component in enumerate(inputs):
            if component.get("type") == "code":
                found.append((int(dependency.get("id", i)), position, data))
    return found


@pytest.mark.parametrize(
    ("sent", "words"),
    [
        (None, "is empty"),
        ({"name": "honesty"}, "must be JSON text"),
        (5, "must be JSON text"),
        ("[" * 50_000, "nested too deeply"),
    ],
)
def test_a_code_box_sent_no_json_text_is_refused_in_words(
    server: Serving, bob: httpx.Client, sent: Any, words: str
) -> None:
    handlers = code_box_handlers(bob)
    assert len(handlers) >= 2, handlers  # the attribute definition, the new example
    for index, position, data in handlers:
        log_start = server.log.stat().st_size
        data = [*data]
        data[position] = sent
        ok, output = call_fn(bob, index, data)
        said = refusal(ok, output)
        assert words in said, (index, said)
        assert "Error" not in said and "NoneType" not in said, (index, said)
        log = log_since(server, log_start)
        assert "Traceback" not in log, (index, log[-3000:])
