"""A UI handler's answer through Gradio's queue (``fn_index``), read as a browser gets it.

``fn_index`` finds a handler's index in the page's ``/config`` (as any logged-in caller can), and
``join`` puts a job in the queue as the page does (``queue/join``); its answers then come on the
session's event stream (``GET /gradio_api/queue/data``), which ``queue_answer`` reads.

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
from typing import Any

import httpx

__all__ = ["fn_index", "join", "queue_answer", "refusal"]


def fn_index(session: httpx.Client, api_name: str) -> int:
    """The index of the handler or named endpoint ``api_name``, read from ``/config``."""
    config = session.get("/config").json()
    for i, dependency in enumerate(config["dependencies"]):
        if dependency.get("api_name") == api_name:
            return int(dependency.get("id", i))
    raise AssertionError(f"no handler {api_name!r}")


def join(session: httpx.Client, index: int, data: list[Any], session_hash: str | None = None) -> str:
    """A job for handler ``index`` in the queue, as the page puts it there: its session hash."""
    session_hash = session_hash or uuid.uuid4().hex[:11]
    joined = session.post(
        "/gradio_api/queue/join",
        json={"data": data, "fn_index": index, "session_hash": session_hash, "trigger_id": None},
    )
    assert joined.status_code == 200, joined.text
    return session_hash


def queue_answer(lines: Iterable[str]) -> tuple[bool, Any]:
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
            return bool(message.get("success")), output
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
