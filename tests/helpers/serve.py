"""pytest plugin: ``app_server``, a live ``align serve`` on a free port with three users.

Registered for every test by ``tests/conftest.py``. The server runs in its own process (the real
CLI), on a temporary ALIGN_DATA_DIR whose SQLite store holds the admin ``root`` and the users
``alice`` and ``bob`` (created through the store before the server starts).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.evaluation.serve_process import start_serve, stop_process, wait_answering
from profiles.store import Store
from tests.helpers.llama_server import free_port
from tests.helpers.paths import REPO

__all__ = [
    "REPO",
    "USERS",
    "AppServer",
    "Serving",
    "align_cli",
    "app_server",
    "cli_api_key",
    "create_users",
    "free_port",
    "new_site",
    "serving",
    "sqlite_url",
    "start_server",
    "stop",
    "wait_ready",
]

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

    def open_store(self) -> Store:
        from profiles.store import open_store

        return open_store(self.database_url)


def create_users(database_url: str) -> None:
    """The admin ``root`` (who seeds the attribute packs) and the users ``alice`` and ``bob``."""
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


def new_site(tmp_path_factory: pytest.TempPathFactory, name: str) -> tuple[Path, str]:
    """A fresh data folder for ``align serve`` and the URL of its SQLite store, which already holds
    ``USERS`` (``create_users``)."""
    data_dir = tmp_path_factory.mktemp(name)
    database_url = sqlite_url(data_dir)
    create_users(database_url)
    return data_dir, database_url


def sqlite_url(data_dir: Path) -> str:
    """The URL of the SQLite store ``align serve`` keeps in ``data_dir``."""
    return f"sqlite:///{data_dir / 'align.sqlite3'}"


def start_server(
    data_dir: Path,
    *,
    host: str | None = "127.0.0.1",
    extra_env: dict[str, str] | None = None,
    datasets: Path = REPO / "datasets",
    eval_limit: int | None = 2,
    drop_env: tuple[str, ...] = (),
    extra_args: list[str] | None = None,
) -> tuple[subprocess.Popen[bytes], str, Path]:
    """``align serve`` (the real CLI, one llama.cpp thread) on a free port over ``data_dir``; its
    output goes to ``data_dir/serve.log``. ``host=None`` leaves the host to the CLI's default,
    ``eval_limit=None`` the cap on evaluations; ``drop_env`` names variables of this process the
    server does not inherit; ``extra_args``: more of ``align serve``'s options."""
    env = {
        **os.environ,
        "ALIGN_DATA_DIR": str(data_dir),
        "GRADIO_ANALYTICS_ENABLED": "False",
        # one llama.cpp thread: the 2 cores here are shared (see the embedded_backbone fixture)
        "ALIGN_BACKBONES": json.dumps({"embedded": {"type": "llamacpp", "n_threads": 1, "n_ctx": 2048}}),
        **(extra_env or {}),
    }
    for name in drop_env:
        env.pop(name, None)
    args = ["--datasets", str(datasets)]
    if eval_limit is not None:
        args += ["--eval-limit", str(eval_limit)]
    return start_serve(data_dir, env, [*args, *(extra_args or [])], host=host)


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 180.0) -> None:
    """Until the app's page answers (it takes seconds while the server warms up on a busy machine)."""
    wait_answering(proc, url, log, timeout=timeout, probe="/", probe_timeout_s=10, tail=None)


def stop(proc: subprocess.Popen[bytes]) -> None:
    stop_process(proc, timeout=15)


@dataclass(frozen=True)
class Serving:
    """A running ``align serve``: its process, base URL and log."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@contextmanager
def serving(started: tuple[subprocess.Popen[bytes], str, Path]) -> Iterator[Serving]:
    """``with serving(start_server(data_dir, ...)) as app:`` the server answering (on 127.0.0.1,
    whatever host it listens on), and stopped when the block ends."""
    proc, url, log = started
    try:
        wait_ready(proc, "http://127.0.0.1:" + url.rsplit(":", 1)[1], log)
        yield Serving(proc, url, log)
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    data_dir, database_url = new_site(tmp_path_factory, "app-server")
    with serving(start_server(data_dir)) as app:
        yield AppServer(url=app.url, data_dir=data_dir, database_url=database_url, log=app.log)


def align_cli(data_dir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``align ARGS`` (the real CLI) on the data folder of a test's ``align serve``."""
    env = {**os.environ, "ALIGN_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        env=env,
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli_api_key(data_dir: Path, user: str, label: str | None = None) -> str:
    """A new API key of ``user``, made with ``align users api-key create`` (its secret)."""
    done = align_cli(
        data_dir, "users", "api-key", "create", user, *(["--label", label] if label else []), "--json"
    )
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["key"])
