"""``align bench serve``: concurrent API users against a live ``align serve`` on the embedded default.

One run, four phases:

1. a fresh data directory (SQLite store, attribute definitions seeded, an admin and ``users`` users
   with passwords);
2. the backbone's own sequential throughput: persona decisions through the decision service in
   this process, one after another (no server, no HTTP, no log) for ``calibrate_s`` seconds;
3. the server (``python -m assistant serve`` on a free loopback port, the same settings) with
   ``users`` ``gradio_client`` clients for ``seconds`` seconds, each alternating persona decisions
   (three in four requests) and profile edits (one in four);
4. the sequential throughput again (the machine may be busier or quieter than before: the mean of
   both is the reference).

``throughput_over_backbone`` = decisions per second through the server / decisions per second of
the backbone alone. The embedded model answers one request at a time, so this is at most about 1:
a value near 1 means the server (HTTP, queue, login, profile store, decision log) costs nothing
measurable on top of the model.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignment.errors import ConfigError

__all__ = ["SCENARIOS", "run_serve_bench"]

Progress = Callable[[str], None]

# short scenarios: the load is about the server, not about long prompts
SCENARIOS = [
    ("Two patients, one medic. Who is treated first?", ["The soldier", "The civilian"]),
    ("One ventilator is left. Who gets it?", ["The older patient", "The younger patient"]),
    ("A fire in two rooms. Which room first?", ["The room with a child", "The room with two adults"]),
    ("One seat left on the last boat. Who boards?", ["The doctor", "The injured stranger"]),
]
TARGETS = {"targets": {"fairness": 0.8}}
PROGRESS_EVERY_S = 10.0


@dataclass
class _Sample:
    kind: str  # "decide" or "profile"
    seconds: float
    error: str | None = None


@dataclass
class _Results:
    samples: list[_Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: _Sample) -> None:
        with self.lock:
            self.samples.append(sample)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return float(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1])


def _peak_rss_mb(pid: int) -> float | None:
    """Peak resident set size of ``pid`` (VmHWM from /proc on Linux; else psutil's current RSS)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    try:
        import psutil  # type: ignore[import-untyped,unused-ignore]

        return round(psutil.Process(pid).memory_info().rss / 2**20, 1)
    except Exception:
        return None


def _prepare_store(data_dir: Path, users: int) -> dict[str, str]:
    """The users (name -> password) of a fresh store, with the attribute definitions seeded."""
    from profiles.schemas import UserCreate
    from profiles.seed import seed
    from profiles.store import open_store

    store = open_store(f"sqlite:///{data_dir / 'align.sqlite3'}")
    try:
        admin = store.users.add(None, UserCreate(name="bench-admin", password="bench-admin-pw", role="admin"))
        actor = store.users.actor(admin.name)
        seed(store.attributes, actor)
        made = {}
        for i in range(users):
            name, password = f"bench{i:02d}", f"bench-password-{i:02d}"
            store.users.add(actor, UserCreate(name=name, password=password, role="user"))
            made[name] = password
        return made
    finally:
        store.close()


def _sequential_rate(settings: Any, seconds: float, progress: Progress) -> tuple[float, int]:
    """Persona decisions per second straight through the decision service, one at a time."""
    from assistant.compose import build_service
    from assistant.decisions.service import DecideRequest

    service = build_service(settings)
    try:

        def one(i: int) -> None:
            text, choices = SCENARIOS[i % len(SCENARIOS)]
            service.decide(
                DecideRequest(
                    scenario=text, choices=choices, target=TARGETS["targets"], algorithm="persona", seed=i
                )
            )

        one(0)  # load the model, warm the prompt cache
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds or done < 2:
            one(done + 1)
            done += 1
        elapsed = time.perf_counter() - started
    finally:
        service.backbones.close()
    progress(f"backbone alone: {done} decisions in {elapsed:.1f} s ({done / elapsed:.3f}/s)")
    return done / elapsed, done


def _start_server(data_dir: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = _free_port()
    log = data_dir / "serve.log"
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=data_dir,
        )
    return proc, f"http://127.0.0.1:{port}", log


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 120.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ConfigError(f"align serve exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/livez", timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise ConfigError(f"align serve did not answer within {timeout:.0f} s; see {log}")


def _user_loop(client: Any, name: str, index: int, deadline: float, results: _Results) -> None:
    """Until the deadline: decide, decide, decide, edit the profile; every outcome recorded."""
    profile = f"{name}-profile"
    i = 0
    while time.monotonic() < deadline:
        kind = "profile" if i % 4 == 3 else "decide"
        started = time.perf_counter()
        error = None
        try:
            if kind == "profile":
                value = round(((index + i) % 11) / 10, 1)
                client.predict(
                    {"name": profile, "set_targets": {"fairness": value}}, api_name="/update_profile"
                )
            else:
                text, choices = SCENARIOS[(index + i) % len(SCENARIOS)]
                answer = client.predict(
                    {
                        "scenario": text,
                        "choices": choices,
                        "profile": profile,
                        "algorithm": "persona",
                        "seed": index * 1000 + i,
                    },
                    api_name="/decide",
                )
                if answer.get("choice") not in choices:
                    error = f"decision outside the choices: {answer.get('choice')!r}"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        results.add(_Sample(kind, time.perf_counter() - started, error))
        i += 1


def _load(url: str, users: dict[str, str], seconds: float, progress: Progress) -> tuple[_Results, float]:
    from gradio_client import Client

    clients = []
    for name, password in users.items():
        client = Client(url, auth=(name, password), verbose=False)
        client.predict(
            {"name": f"{name}-profile", "description": "bench user", **TARGETS}, api_name="/create_profile"
        )
        clients.append(client)
    # warm-up: the server loads the model on its first decision, outside the measured window
    text, choices = SCENARIOS[0]
    clients[0].predict(
        {"scenario": text, "choices": choices, **TARGETS, "algorithm": "persona"}, api_name="/decide"
    )
    results = _Results()
    started = time.monotonic()
    deadline = started + seconds
    threads = [
        threading.Thread(target=_user_loop, args=(c, n, i, deadline, results), daemon=True)
        for i, (c, n) in enumerate(zip(clients, users, strict=True))
    ]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        for t in threads:
            t.join(timeout=PROGRESS_EVERY_S / len(threads))
        with results.lock:
            n, errors = len(results.samples), sum(1 for s in results.samples if s.error)
        progress(f"load: {time.monotonic() - started:.0f} s, {n} requests, {errors} errors")
        if time.monotonic() > deadline + 600:
            raise ConfigError("the load did not finish within 10 minutes of its end; the server is stuck")
    elapsed = time.monotonic() - started
    for c in clients:
        c.close()
    return results, elapsed


def run_serve_bench(
    *,
    users: int = 16,
    seconds: float = 60.0,
    calibrate_s: float | None = None,
    progress: Progress | None = None,
    keep_dir: bool = False,
) -> dict[str, Any]:
    """Run the benchmark (see the module docstring) and return its report."""
    from assistant.settings import load_settings

    if users < 1:
        raise ConfigError("--users must be at least 1")
    if seconds <= 0:
        raise ConfigError("--seconds must be positive")
    say = progress or (lambda _line: None)
    calibrate = calibrate_s if calibrate_s is not None else max(5.0, min(30.0, seconds / 4))
    data_dir = Path(tempfile.mkdtemp(prefix="align-bench-serve-"))
    env = {
        **os.environ,
        "ALIGN_DATA_DIR": str(data_dir),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    env.pop("ALIGN_DATABASE_URL", None)  # the bench's own SQLite store
    try:
        settings = load_settings(data_dir=data_dir, database_url=None)
        if settings.max_queue < users:
            raise ConfigError(
                f"max_queue {settings.max_queue} is below --users {users}; raise ALIGN_MAX_QUEUE"
            )
        accounts = _prepare_store(data_dir, users)
        say(f"data dir {data_dir}; {users} users; backbone {settings.default_backbone}")
        rate_before, n_before = _sequential_rate(settings, calibrate / 2, say)
        proc, url, log = _start_server(data_dir, env)
        try:
            _wait_ready(proc, url, log)
            say(f"server {url} (pid {proc.pid}) ready; {users} users for {seconds:g} s")
            results, elapsed = _load(url, accounts, seconds, say)
            peak = _peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        rate_after, n_after = _sequential_rate(settings, calibrate / 2, say)
    finally:
        if not keep_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
    samples = results.samples
    decisions = [s for s in samples if s.kind == "decide" and s.error is None]
    errors = [s for s in samples if s.error]
    latencies = [s.seconds for s in samples if s.error is None]
    decide_latencies = [s.seconds for s in decisions]
    backbone_rps = (rate_before + rate_after) / 2
    server_rps = len(decisions) / elapsed
    ratio = server_rps / backbone_rps if backbone_rps else 0.0
    report: dict[str, Any] = {
        "users": users,
        "seconds": seconds,
        "elapsed_s": round(elapsed, 2),
        "requests": len(samples),
        "decisions": len(decisions),
        "profile_edits": sum(1 for s in samples if s.kind == "profile" and s.error is None),
        "errors": len(errors),
        "error_samples": sorted({s.error for s in errors if s.error})[:5],
        "p50_s": round(_percentile(latencies, 50), 3),
        "p95_s": round(_percentile(latencies, 95), 3),
        "decide_p50_s": round(_percentile(decide_latencies, 50), 3),
        "decide_p95_s": round(_percentile(decide_latencies, 95), 3),
        "throughput_rps": round(server_rps, 4),
        "backbone_rps": round(backbone_rps, 4),
        "backbone_rps_before_after": [round(rate_before, 4), round(rate_after, 4)],
        "backbone_decisions": n_before + n_after,
        "throughput_over_backbone": round(ratio, 3),
        "peak_rss_mb": peak,
        "max_queue": settings.max_queue,
    }
    report["targets"] = {
        "errors": {"target": 0, "met": report["errors"] == 0},
        "throughput_over_backbone": {"target": 0.9, "met": ratio >= 0.9},
    }
    if keep_dir:
        report["data_dir"] = str(data_dir)
    return report
