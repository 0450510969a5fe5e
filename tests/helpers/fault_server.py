"""A misbehaving OpenAI-compatible server, as its own process: ``python fault_server.py MODE PORT``
(``fault_process(MODE)`` starts one and gives its base URL).

MODE ``slow``: every POST waits 30 s before answering; ``garbage``: every POST answers 200 with a body
that is not a chat completion; ``hold``: every chat completion is held until the test lets it go, then
answered with JSON that fits the request's schema, so a test sees which model calls have *started*
(``GET /seen``: the user text of every call so far, in order of arrival) without measuring a time.
``POST /release`` answers every held call and each later one at once; ``POST /hold`` holds calls again.
GET /v1/models answers normally (so the backbone can be built).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

__all__ = ["fault_process", "fill"]

HOLD_AT_MOST_S = 600  # a held call answers by itself after this (a test that forgot to release)


def fill(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """A value that fits ``schema`` (JSON Schema as pydantic writes it: ``$ref`` into ``$defs``)."""
    root = root or schema
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return fill(root.get("$defs", {})[name], root)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return fill(schema[key][0], root)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return {k: fill(v, root) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [fill(schema.get("items", {}), root) for _ in range(max(1, int(schema.get("minItems", 1))))]
    if kind == "string":
        return "held" + "x" * max(0, int(schema.get("minLength", 0)) - 4)
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return True
    return None


def _schema_of(body: dict[str, Any]) -> dict[str, Any] | None:
    wanted = body.get("response_format") or {}
    schema = wanted.get("schema") or (wanted.get("json_schema") or {}).get("schema")
    return schema if isinstance(schema, dict) else None


def _completion(body: dict[str, Any]) -> bytes:
    schema = _schema_of(body)
    content = json.dumps(fill(schema)) if schema else "held"
    return json.dumps(
        {
            "id": "chatcmpl-held",
            "object": "chat.completion",
            "created": 0,
            "model": "fault-model",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    ).encode()


class Handler(BaseHTTPRequestHandler):
    mode = "garbage"
    seen: ClassVar[list[str]] = []
    lock = threading.Lock()
    released = threading.Event()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/seen":
            with self.lock:
                self._send(200, json.dumps(self.seen).encode())
            return
        self._send(
            200, json.dumps({"object": "list", "data": [{"id": "fault-model", "object": "model"}]}).encode()
        )

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.mode == "slow":
            time.sleep(30)
            self._send(200, b"{}")
            return
        if self.mode == "hold":
            self._hold(raw)
            return
        self._send(200, b"<html>502 upstream gone \x00 {not json")

    def _hold(self, raw: bytes) -> None:
        path = self.path.rstrip("/")
        if path in ("/release", "/hold"):
            (self.released.set if path == "/release" else self.released.clear)()
            self._send(200, b"{}")
            return
        body = json.loads(raw or b"{}")
        said = [m.get("content") for m in body.get("messages", []) if m.get("role") == "user"]
        with self.lock:
            self.seen.append(json.dumps(said))
        self.released.wait(HOLD_AT_MOST_S)
        with contextlib.suppress(OSError):  # the caller went away meanwhile
            self._send(200, _completion(body))


def fault_process(mode: str) -> tuple[subprocess.Popen[str], str]:
    """A fault server of ``mode`` on a free port: (its process, its base URL ending in /v1)."""
    from tests.helpers.llama_server import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__)), mode, str(port)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc, f"http://127.0.0.1:{port}/v1"


if __name__ == "__main__":
    Handler.mode = sys.argv[1]
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()
