"""pytest plugin: ``app_server``, a live ``align serve`` on a free port with three users.

Use it with ``pytest_plugins = ["conftest_app"]``. The server runs in its own process (the real
CLI), on a temporary ALIGN_DATA_DIR whose SQLite store holds the admin ``root`` and the users
``alice`` and ``bob`` (created through the store before the server starts).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

__all__ = ["AppServer", "app_server"]

REPO = Path(__file__).resolve().parents[2]
USERS = {
    "root": ("root-password", "admin"),
    "alice": ("alice-password", "user"),
    "bob": ("bob-password", "user"),
}


@dataclass
class AppServer:
    url: str
    data_dir: Path
    database_url: str
    log: Path

    def auth(self, user: str) -> tuple[str, str]:
        return user, USERS[user][0]

    def open_store(self):  # type: ignore[no-untyped-def]
        from profiles.store import open_store

        return open_store(self.database_url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _create_users(database_url: str) -> None:
    from profiles.schemas import UserCreate
    from profiles.seed import seed
    from profiles.store import open_store

    store = open_store(database_url)
    try:
        root = store.users.add(None, UserCreate(name="root", password=USERS["root"][0], role="admin"))
        admin = store.users.actor(root.name)
        seed(store.attributes, admin)
        for name, (password, role) in USERS.items():
            if name != "root":
                store.users.add(admin, UserCreate(name=name, password=password, role=role))
    finally:
        store.close()


def start_server(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    extra_env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
) -> tuple[subprocess.Popen[bytes], str, Path]:
    """``align serve`` on a free port (``extra_args``: more of its options): (process, URL, log file)."""
    port = free_port()
    env = {
        **os.environ,
        "ALIGN_DATA_DIR": str(data_dir),
        "GRADIO_ANALYTICS_ENABLED": "False",
        # one llama.cpp thread: the 2 cores here are shared (see the embedded_backbone fixture)
        "ALIGN_BACKBONES": json.dumps({"embedded": {"type": "llamacpp", "n_threads": 1, "n_ctx": 2048}}),
        **(extra_env or {}),
    }
    log = data_dir / "serve.log"
    handle = log.open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assistant",
            "serve",
            "--host",
            host,
            "--port",
            str(port),
            "--datasets",
            str(REPO / "datasets"),
            "--eval-limit",
            "2",
            *(extra_args or []),
        ],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        cwd=data_dir,
    )
    return proc, f"http://{host}:{port}", log


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"align serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            # the first page takes seconds while the server warms up on a busy machine
            if httpx.get(url + "/", timeout=10).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"align serve did not answer within {timeout} s:\n{log.read_text()}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    data_dir = tmp_path_factory.mktemp("app-server")
    database_url = f"sqlite:///{data_dir / 'align.sqlite3'}"
    _create_users(database_url)
    proc, url, log = start_server(data_dir)
    try:
        wait_ready(proc, url, log)
        yield AppServer(url=url, data_dir=data_dir, database_url=database_url, log=log)
    finally:
        stop(proc)
