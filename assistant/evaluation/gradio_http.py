"""A small asyncio client of Gradio's HTTP API, for load tests: many users from one light process.

Speaks the routes of the installed Gradio (``gradio/routes.py``):

- ``POST /login`` (form ``username``, ``password``) sets the session cookie;
- ``POST /gradio_api/call/<endpoint>`` with ``{"data": [...], "session_hash": ...}`` answers
  ``{"event_id": ...}``;
- ``GET /gradio_api/call/<endpoint>/<event_id>`` streams server-sent events until ``complete``
  (``data`` is the list of outputs) or ``error``; ``heartbeat`` and ``generating`` are skipped.

One ``GradioUser`` per simulated user: its own ``httpx.AsyncClient`` (so its own cookie jar) and, as
``gradio_client`` and a browser page keep one, its own session hash.
"""

from __future__ import annotations

import json
import secrets
from types import TracebackType
from typing import Any

import httpx

__all__ = ["EndpointError", "GradioUser"]

API = "/gradio_api"
TIMEOUT = httpx.Timeout(120.0, connect=10.0)  # the event stream sends a heartbeat every 15 s


class EndpointError(Exception):
    """The endpoint answered with an error (an HTTP status or an SSE ``error`` event)."""


class GradioUser:
    """One user of a Gradio app (``async with GradioUser(url) as user``)."""

    def __init__(self, base_url: str, *, timeout: httpx.Timeout = TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=4))
        self.session_hash = secrets.token_hex(6)

    async def __aenter__(self) -> GradioUser:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.client.aclose()

    async def login(self, name: str, password: str) -> None:
        answer = await self.client.post(
            f"{self.base_url}/login", data={"username": name, "password": password}
        )
        if answer.status_code != 200:
            raise EndpointError(f"login as {name!r}: HTTP {answer.status_code} {answer.text[:200]}")

    async def call(self, endpoint: str, *inputs: Any) -> Any:
        """The first output of ``endpoint`` called with ``inputs`` (the queue's route, as browsers use)."""
        url = f"{self.base_url}{API}/call/{endpoint}"
        answer = await self.client.post(url, json={"data": list(inputs), "session_hash": self.session_hash})
        if answer.status_code != 200:
            raise EndpointError(f"POST {endpoint}: HTTP {answer.status_code} {answer.text[:200]}")
        event_id = answer.json()["event_id"]
        async with self.client.stream("GET", f"{url}/{event_id}") as stream:
            if stream.status_code != 200:
                await stream.aread()
                raise EndpointError(f"GET {endpoint}: HTTP {stream.status_code} {stream.text[:200]}")
            event = ""
            async for line in stream.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    data = json.loads(line[5:].strip() or "null")
                    if event == "error":
                        raise EndpointError(f"{endpoint}: {data}")
                    return data[0] if isinstance(data, list) and data else data
        raise EndpointError(f"{endpoint}: the event stream ended without a result")
