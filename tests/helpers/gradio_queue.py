"""The one Gradio queue client of the tests: a UI handler called as a browser calls it (``fn_index``
through ``/gradio_api/queue/join``, its answer read from ``/gradio_api/queue/data``).

A UI handler with outputs (``ui.common.shown_once``) answers a refusal with one warning and leaves its
outputs as they were (its status line, when it has one, says the same words): the call completes. So
``queue_answer`` keeps the warnings the handler showed (``output["warnings"]``) and ``refusal`` gives
the words of a refused call, whichever way it was refused (a ``gr.Error``, or that warning); it fails
when the handler ran without one.
"""

from __future__ import annotations

import html
import json
import uuid
from collections.abc import Iterable
from typing import Any, NamedTuple

import httpx

__all__ = [
    "QueueAnswer",
    "call_fn",
    "handler",
    "handler_inputs",
    "join",
    "joined",
    "queue_answer",
    "read_answer",
    "refusal",
]


class QueueAnswer(NamedTuple):
    """A call's end: whether it succeeded, and its output (``output["warnings"]``: what it showed)."""

    success: bool
    output: Any


def queue_answer(lines: Iterable[str]) -> QueueAnswer:
    """The lines of ``GET /gradio_api/queue/data`` -> (success, output) of the call, with the
    warnings it showed under ``output["warnings"]``."""
    warnings: list[str] = []
    for line in lines:
        if not line.startswith("data:"):
            continue
        message = json.loads(line[5:])
        if message.get("msg") == "log" and message.get("level") in ("warning", "error"):
            warnings.append(html.unescape(str(message.get("log", ""))))  # the toast's text is escaped
        if message.get("msg") == "process_completed":
            output = message.get("output")
            if isinstance(output, dict):
                output["warnings"] = warnings
            return QueueAnswer(bool(message.get("success")), output)
    raise AssertionError("the queue ended without an answer")


def refusal(ok: bool, output: Any) -> str:
    """The words of a refused call: its error, or the one warning of a handler whose outputs stayed
    as they were (then a status line among them, if any, says the same words)."""
    if not ok:
        return str((output or {}).get("error"))
    warnings = output.get("warnings") or []
    assert warnings, f"the handler ran without a refusal: {output}"
    for value in output.get("data", []):
        shown = value.get("value") if isinstance(value, dict) else value
        if isinstance(shown, str) and shown.startswith("**Please check:**"):
            assert warnings[0] in shown, (shown, warnings)
    return " ".join(warnings)


def _config(client: httpx.Client) -> dict[str, Any]:
    config = client.get("/config").json()
    assert isinstance(config, dict), config
    return config


def handler(
    client: httpx.Client, *, api_name: str | None = None, output: str | None = None, input: str | None = None
) -> int:
    """The fn_index of the first UI handler that has that ``api_name`` and a component of that label
    among its outputs / inputs (each when given), read from ``/config`` as any logged-in page can."""
    config = _config(client)
    labels = {c["id"]: c.get("props", {}).get("label") for c in config["components"]}
    for i, dependency in enumerate(config["dependencies"]):
        if (
            (api_name is None or dependency.get("api_name") == api_name)
            and (output is None or output in [labels.get(c) for c in dependency["outputs"]])
            and (input is None or input in [labels.get(c) for c in dependency["inputs"]])
        ):
            return int(dependency.get("id", i))
    raise AssertionError(f"no handler with api_name {api_name!r} / output {output!r} / input {input!r}")


def handler_inputs(client: httpx.Client, api_name: str) -> tuple[int, list[Any]]:
    """A UI handler's fn_index and its inputs' values as the page starts with them."""
    config = _config(client)
    values = {c["id"]: c.get("props", {}).get("value") for c in config["components"]}
    for i, dependency in enumerate(config["dependencies"]):
        if dependency.get("api_name") == api_name:
            return int(dependency.get("id", i)), [values.get(c) for c in dependency["inputs"]]
    raise AssertionError(f"no handler {api_name}")


def join(
    client: httpx.Client, index: int, data: list[Any], session: str | None = None, **headers: str
) -> httpx.Response:
    """``POST /gradio_api/queue/join`` for handler ``index`` in page ``session`` (a new one unless
    given), with ``headers``; the raw answer."""
    body = {
        "data": data,
        "fn_index": index,
        "session_hash": session or uuid.uuid4().hex,
        "trigger_id": None,
        "event_data": None,
    }
    return client.post("/gradio_api/queue/join", json=body, headers=headers)


def joined(client: httpx.Client, index: int, data: list[Any], session: str | None = None) -> str:
    """Handler ``index`` queued (the join must be accepted); the page's session hash."""
    session = session or uuid.uuid4().hex
    accepted = join(client, index, data, session)
    assert accepted.status_code == 200, accepted.text
    return session


def read_answer(client: httpx.Client, session: str, *, timeout: float | None = None) -> QueueAnswer:
    """The answer of the call queued in ``session``, read from its event stream (``timeout``: how
    long a read may wait, else the client's)."""
    with client.stream(
        "GET",
        "/gradio_api/queue/data",
        params={"session_hash": session},
        timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
    ) as stream:
        assert stream.status_code == 200, stream.read()
        return queue_answer(stream.iter_lines())


def call_fn(
    client: httpx.Client,
    index: int,
    data: list[Any],
    session: str | None = None,
    *,
    timeout: float | None = None,
) -> QueueAnswer:
    """An unnamed UI handler through the queue (``fn_index``), as the browser calls it (one page:
    ``session``, whose ``gr.State`` values the server keeps)."""
    return read_answer(client, joined(client, index, data, session), timeout=timeout)
