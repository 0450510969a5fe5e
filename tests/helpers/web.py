"""A test's HTTP side of ``align serve``: clients logged in through ``/login`` (the real cookies
the server sets), and the named endpoints over Gradio's plain HTTP API (``/gradio_api/call``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from gradio_client import Client

from tests.helpers.serve import USERS

__all__ = ["call", "gradio_client", "gradio_clients", "http", "log_in", "logged_in", "password_of"]


def password_of(name: str, more: dict[str, str] | None = None) -> str:
    """``name``'s password: one of ``USERS``, else one of ``more`` (a test's own users)."""
    return USERS[name][0] if name in USERS else (more or {})[name]


def http(url: str, address: str | None = None, *, timeout: float = 60) -> httpx.Client:
    """A raw HTTP client for ``url``; with ``address``, its connections come from there (any
    127.x.y.z is this machine)."""
    transport = httpx.HTTPTransport(local_address=address) if address is not None else None
    return httpx.Client(base_url=url, timeout=timeout, transport=transport)


def log_in(url: str, name: str, password: str | None = None, **kwargs: Any) -> httpx.Response:
    """One ``POST /login`` as a login form sends it (``kwargs`` go to ``httpx.post``)."""
    form = {"username": name, "password": password_of(name) if password is None else password}
    return httpx.post(url + "/login", data=form, **{"timeout": 60, **kwargs})


def logged_in(
    url: str,
    name: str,
    password: str | None = None,
    *,
    timeout: float = 60,
    address: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Client:
    """A client that logged in as ``name`` (its password from ``USERS`` unless given) and keeps
    the session cookie the server set; close it when done."""
    client = http(url, address, timeout=timeout)
    form = {"username": name, "password": password_of(name) if password is None else password}
    answer = client.post("/login", data=form, headers=headers)
    assert answer.status_code == 200, answer.text
    return client


def call(client: httpx.Client, endpoint: str, payload: Any) -> tuple[str, Any]:
    """A named endpoint over Gradio's plain HTTP API: ("ok", result), ("error", message) or
    ("http", status code)."""
    answer = client.post(f"/gradio_api/call/{endpoint}", json={"data": [payload]})
    if answer.status_code != 200:
        return "http", answer.status_code
    stream = client.get(f"/gradio_api/call/{endpoint}/{answer.json()['event_id']}")
    if stream.status_code != 200:
        return "http", stream.status_code
    event, data = "", None
    for line in stream.text.splitlines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data = json.loads(line.split(":", 1)[1])
    if event == "complete":
        assert isinstance(data, list), data
        return "ok", data[0]
    return "error", (data or {}).get("error") if isinstance(data, dict) else data


def gradio_client(url: str, name: str, password: str | None = None) -> Client:
    """``gradio_client.Client`` logged in as ``name`` (close it when done)."""
    return Client(url, auth=(name, password_of(name) if password is None else password), verbose=False)


@contextmanager
def gradio_clients(url: str, *names: str) -> Iterator[dict[str, Client]]:
    """``with gradio_clients(url, "alice", "bob") as clients:`` one logged-in ``gradio_client``
    per user (``USERS``), closed when the block ends."""
    made = {name: gradio_client(url, name) for name in names}
    try:
        yield made
    finally:
        for client in made.values():
            client.close()
