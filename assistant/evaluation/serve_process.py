"""A child ``align serve`` (``python -m assistant serve``) for the serve benchmark and the tests:
started on a free loopback port with its output in a log file, waited for until it answers, stopped.
``wait_answering`` and ``stop_process`` serve other child servers too (the tests' chat app)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from alignment.errors import ConfigError

__all__ = ["free_port", "start_serve", "stop_process", "wait_answering"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def start_serve(
    data_dir: Path, env: Mapping[str, str], args: Sequence[str] = (), *, host: str | None = "127.0.0.1"
) -> tuple[subprocess.Popen[bytes], str, Path]:
    """``align serve --host HOST --port PORT ARGS`` on a free port, run in ``data_dir`` with ``env``
    (``host=None``: the CLI's default host); its output goes to ``data_dir/serve.log``. Answers the
    process, its base URL and the log."""
    port = free_port()
    command = [sys.executable, "-m", "assistant", "serve"]
    if host is not None:
        command += ["--host", host]
    command += ["--port", str(port), *args]
    log = data_dir / "serve.log"
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            command,
            env=dict(env),
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=data_dir,
        )
    return proc, f"http://{host or '127.0.0.1'}:{port}", log


def wait_answering(
    proc: subprocess.Popen[bytes],
    url: str,
    log: Path,
    *,
    timeout: float = 120.0,
    what: str = "align serve",
    probe: str = "/livez",
    ready: Callable[[int], bool] = lambda status: status < 500,
    probe_timeout_s: float = 2.0,
    every_s: float = 0.3,
    tail: int | None = 2000,
) -> None:
    """Until ``GET url+probe`` answers a status that is ``ready``; ``ConfigError`` (with the last
    ``tail`` characters of the log, None: all of it) when the process ends first, or after ``timeout``
    seconds."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            seen = log.read_text()
            raise ConfigError(f"{what} exited with {proc.returncode}: {seen[-tail:] if tail else seen}")
        try:
            if ready(httpx.get(url + probe, timeout=probe_timeout_s).status_code):
                return
        except httpx.HTTPError:
            pass
        time.sleep(every_s)
    raise ConfigError(f"{what} did not answer within {timeout:.0f} s; see {log}")


def stop_process(proc: subprocess.Popen[bytes], *, timeout: float = 20.0, group: bool = False) -> None:
    """Ask ``proc`` (``group``: its whole process group) to end; killed if it has not within ``timeout``
    seconds."""
    if proc.poll() is not None:
        return

    def send(sig: signal.Signals) -> None:
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)

    send(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait()
