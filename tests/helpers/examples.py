"""Shared pieces of the example-store tests: a real Chroma server and a caching embedder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from assistant.stores.embedding import CachedEmbedder, MiniLMEmbedder
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
