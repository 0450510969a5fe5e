"""Values Gradio's own input check refuses, as an attacker sends them to a live ``align serve`` in login
mode: each must leave one short line in the server's output, and the caller's error must not carry it.

A dropdown accepts only one of its choices; Gradio refuses anything else before the handler runs, with
an error that quotes the value. Sent a ~900 kB value (under the 1 MB body limit) through the queue,
the unnamed handlers behind the Chat tab's conversation list (``reopen``) and the Profiles tab's
picker (``load``) used to print a traceback holding the whole value (~900 kB of log per call) and
send the value back in the error. Every dropdown-fed UI handler is tried, not only those two.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers.gradio_queue import call_fn
from tests.helpers.serve import Serving, new_site, serving, start_server
from tests.helpers.web import logged_in

pytestmark = pytest.mark.timeout(900)

MARK = "ZQXJ"  # the refused value is made of this; it must never reach the log or the reply
HUGE = MARK * 225_000  # 900,000 characters: under the 1 MB request limit
MAX_LOG_BYTES_PER_CALL = 2_000  # the one short line of a refusal, with room to spare
CALLS = 5
CHOICE_TYPES = ("dropdown", "radio", "checkboxgroup")  # components that check a value against choices


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serving]:
    data_dir, _ = new_site(tmp_path_factory, "refused-inputs")
    with serving(start_server(data_dir)) as app:
        yield app


def choice_handlers(client: httpx.Client) -> list[tuple[int, str, list[Any]]]:
    """Each UI handler with a choice-checked input, strictly checked: (fn_index, its name, its inputs
    as the page starts with them, the first such input holding ``HUGE``)."""
    config = client.get("/config").json()
    components = {c["id"]: c for c in config["components"]}
    found = []
    for i, dependency in enumerate(config["dependencies"]):
        inputs = [components.get(c, {}) for c in dependency["inputs"]]
        for position, component in enumerate(inputs):
            props = component.get("props", {})
            if component.get("type") in CHOICE_TYPES and not props.get("allow_custom_value"):
                data = [c.get("props", {}).get("value") for c in inputs]
                many = component["type"] == "checkboxgroup" or props.get("multiselect")
                data[position] = [HUGE] if many else HUGE
                found.append((int(dependency.get("id", i)), str(dependency.get("api_name")), data))
                break
    return found


def test_refused_choice_values_leave_one_short_line_and_are_not_echoed(server: Serving) -> None:
    bob = logged_in(server.url, "bob", timeout=120)
    try:
        handlers = choice_handlers(bob)
        names = {name for _, name, _ in handlers}
        assert {"reopen", "load"} <= names, names  # the two the probe found, among the others
        for index, name, data in handlers:
            before = server.log.stat().st_size
            answer = call_fn(bob, index, data, uuid.uuid4().hex)
            grown = server.log.stat().st_size - before
            assert grown < MAX_LOG_BYTES_PER_CALL, f"{name} (fn {index}) added {grown} bytes to the log"
            assert MARK not in repr(answer.output), f"{name} (fn {index}) sent the value back"
            assert not answer.success, f"{name} (fn {index}) took a value not among its choices"
            said = str(answer.output.get("error"))
            assert re.search(r"\(9000\d\d characters\)", said), said  # what was refused: its size

        index = next(index for index, name, _ in handlers if name == "reopen")
        data = next(data for _, name, data in handlers if name == "reopen")
        before = server.log.stat().st_size
        for _ in range(CALLS):  # repeated: still one short line each
            assert not call_fn(bob, index, data).success
        grown = server.log.stat().st_size - before
        assert grown < CALLS * MAX_LOG_BYTES_PER_CALL, f"{CALLS} calls added {grown} bytes to the log"
        assert "refused" in server.log.read_text(errors="replace")
        assert MARK not in server.log.read_text(errors="replace")
    finally:
        bob.close()


def test_a_body_of_the_wrong_shape_is_refused_without_its_values(server: Serving) -> None:
    bob = logged_in(server.url, "bob", timeout=120)
    try:
        index = next(index for index, name, _ in choice_handlers(bob) if name == "reopen")
        wrong = {  # FastAPI's 422 used to send each of these values back whole
            "fn_index": {"data": [], "fn_index": HUGE, "session_hash": uuid.uuid4().hex},
            "trigger_id": {
                "data": [None],
                "fn_index": index,
                "session_hash": uuid.uuid4().hex,
                "trigger_id": HUGE,
            },
            "data": {"data": HUGE, "fn_index": index, "session_hash": uuid.uuid4().hex},
        }
        for field, body in wrong.items():
            before = server.log.stat().st_size
            answer = bob.post("/gradio_api/queue/join", json=body)
            assert answer.status_code == 422, (field, answer.status_code)
            assert MARK not in answer.text and len(answer.content) < 2_000, (field, answer.text[:300])
            assert field in answer.text, answer.text  # where the body is wrong
            assert server.log.stat().st_size - before < MAX_LOG_BYTES_PER_CALL, field
    finally:
        bob.close()
