"""A UI handler's answer through Gradio's queue (``fn_index``), read as a browser gets it.

A UI handler with outputs (``ui.common.shown_once``) answers a refusal with one warning and leaves its
outputs as they were (its status line, when it has one, says the same words): the call completes. So
``queue_answer`` keeps the warnings the handler showed (``output["warnings"]``) and ``refusal`` gives
the words of a refused call, whichever way it was refused (a ``gr.Error``, or that warning); it fails
when the handler ran without one.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any

__all__ = ["queue_answer", "refusal"]


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
