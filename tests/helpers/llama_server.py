"""Start and stop a real llama-cpp-python OpenAI-compatible server on a free loopback port.

Usable from any test (or by hand)::

    with LlamaServer(model_path) as server:
        print(server.base_url)  # http://127.0.0.1:PORT/v1

The server is ``python -m llama_cpp.server --model GGUF --chat_format gemma`` (the embedded Gemma 3
GGUF carries no chat template); ``chat_format=None`` leaves the GGUF's own template to the server. ``start()`` returns once ``GET /v1/models`` answers 200; its output
goes to a log file whose tail is shown when it fails to come up.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import httpx
import pytest

__all__ = ["LlamaServer", "free_port", "llama_server"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """One ``llama_cpp.server`` process. Not thread-safe; one owner starts and stops it."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        chat_format: str | None = "gemma",
        host: str = "127.0.0.1",
        port: int | None = None,
        n_ctx: int = 2048,
        extra_args: list[str] | None = None,
        python: str = sys.executable,
        startup_timeout_s: float = 90.0,
        api_key: str | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        self.chat_format = chat_format
        self.host = host
        self.port = port or free_port(host)
        self.n_ctx = n_ctx
        self.extra_args = list(extra_args or [])
        self.python = python
        self.startup_timeout_s = startup_timeout_s
        self.api_key = api_key  # --api_key: every request needs "Authorization: Bearer <key>"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (what ``openai.OpenAI(base_url=...)`` wants)."""
        return f"{self.root_url}/v1"

    def command(self) -> list[str]:
        return [
            self.python,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model_path),
            *(["--chat_format", self.chat_format] if self.chat_format else []),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            *(["--api_key", self.api_key] if self.api_key else []),
            *self.extra_args,
        ]

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def start(self) -> LlamaServer:
        if not self.model_path.is_file():
            raise FileNotFoundError(f"model file {self.model_path} does not exist")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"llama_cpp.server exited with status {self.process.returncode} before it "
                    f"answered; log {self.log_path}:\n{self.log_tail()}"
                )
            try:
                headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
                if httpx.get(f"{self.base_url}/models", headers=headers, timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise TimeoutError(
            f"llama_cpp.server did not answer /v1/models within {self.startup_timeout_s:.0f} s; "
            f"log {self.log_path}:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Terminate the process (then kill it if it does not exit within 10 s)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    """A running ``python -m llama_cpp.server`` with the embedded Gemma GGUF on a free port (mark the
    tests that use it ``@pytest.mark.server``)."""
    from assistant.models_local import embedded_model_path

    server = LlamaServer(embedded_model_path())
    server.start()
    try:
        yield server
    finally:
        server.stop()
