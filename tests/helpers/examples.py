"""Shared pieces of the example-store tests: a real Chroma server, a caching embedder, and the app on
the default decider with no language model."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from alignment.backbone import Backbone
from assistant.app import AppService
from assistant.backbones import BackbonePool
from assistant.decisions.service import DecisionService
from assistant.settings import Settings
from assistant.stores.embedding import CachedEmbedder, MiniLMEmbedder
from profiles.schemas import Actor
from profiles.store import Store
from tests.helpers.llama_server import free_port
from tests.helpers.paths import DATASETS

DATA = DATASETS
CHROMA_BIN = Path(sys.executable).parent / "chroma"

_SHARED = CachedEmbedder(MiniLMEmbedder().embed)


def CachedMiniLM() -> CachedEmbedder:
    """The real all-MiniLM-L6-v2 embedder, memoised per text and shared by the whole session, so the
    suite embeds each text once."""
    return _SHARED


class ChromaServer:
    """``chroma run --path DIR --host 127.0.0.1 --port P``, started and stopped by the test."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.host = "127.0.0.1"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = path.parent / "chroma-server.log"

    def start(self, timeout: float = 60.0) -> None:
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    str(CHROMA_BIN),
                    "run",
                    "--path",
                    str(self.path),
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited: {self.log.read_text()[-2000:]}")
            try:
                if (
                    httpx.get(f"http://{self.host}:{self.port}/api/v2/heartbeat", timeout=1).status_code
                    == 200
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"chroma run did not answer in {timeout}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class NoModelPool(BackbonePool):
    """A backbone pool that fails the test when anything asks it for a language model."""

    def __init__(self, settings: Settings, why: str = "no language model is needed") -> None:
        super().__init__(settings)
        self.why = why

    def get(self, name: str) -> Backbone:
        raise AssertionError(self.why)


def value_fit_app(
    tmp: Path,
    example_files: list[Path],
    *,
    why: str = "no language model is needed",
    prepare: Callable[[Store, Actor], None] | None = None,
) -> AppService:
    """The app on the default decider (value-fit) in ``tmp``: a real Chroma store holding
    ``example_files``, the real MiniLM embedder, a SQLite store with ``root`` and the seeded attribute
    packs (then ``prepare(store, root)``, before the app reads them), and no language model
    (``NoModelPool``, failing with ``why``). Close its store when done."""
    import chromadb

    from assistant.cli.examples import import_paths
    from assistant.stores.chroma import chroma_settings
    from assistant.stores.examples import ExampleStore
    from profiles.schemas import UserCreate
    from profiles.seed import seed
    from profiles.store import open_store

    examples = ExampleStore(
        chromadb.PersistentClient(path=str(tmp / "chroma"), settings=chroma_settings()), CachedMiniLM()
    )
    import_paths(examples, [str(p) for p in example_files], progress=False)
    store = open_store(f"sqlite:///{tmp / 'app.sqlite3'}")
    root = store.users.actor(store.users.add(None, UserCreate(name="root", role="admin")).name)
    seed(store.attributes, root)
    if prepare is not None:
        prepare(store, root)
    settings = Settings(data_dir=tmp)  # the default decider: value-fit
    service = DecisionService(
        settings, NoModelPool(settings, why), examples=examples, embedder=CachedEmbedder(examples.embed)
    )
    return AppService(store, service, work_dir=tmp / "work")
