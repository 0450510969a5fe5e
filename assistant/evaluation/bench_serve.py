"""``align bench serve``: concurrent API users against a live ``align serve``, with the default settings.

One run, five phases, each its own process except the users:

1. a fresh data directory (SQLite store, attribute definitions seeded, an admin and ``users``
   users with passwords);
2. the backbone alone (``backbone_alone``, a subprocess with the server's settings): persona
   decisions one after another through the decision service, no HTTP, no log;
3. the server (``python -m assistant serve`` on a free loopback port, the same settings) and
   ``users`` users, asyncio tasks of this process speaking Gradio's HTTP API
   (``load_users``), first for ``overhead_s`` seconds with ``random`` decisions (no model: the
   server's own cost per request, measured directly), then for ``seconds`` with persona decisions,
   each user alternating three decisions and one profile edit;
4. the backbone alone again (the machine may be busier or quieter than before: the mean of both
   is the reference).

Where the time goes:

- ``throughput_over_backbone`` = decisions per second through the server / of the backbone alone;
  the embedded model answers one request at a time, so at most about 1;
- it is about ``backbone_busy_share`` (the share of the window the model spent deciding, from the
  decisions' own ``backbone_s``) / ``backbone_slowdown`` (the model's mean time per decision in the
  server over alone: CPU contention with the server and the users);
- ``server_cpu_per_decision_s`` (the server process's CPU over the window, /proc, all threads, per
  decision; profile edits included) minus the model's own CPU per decision inside the server (each
  decision's ``backbone_cpu_s``: the calling thread and llama.cpp's workers, measured by the
  backbone) gives ``server_other_cpu_ms``: what HTTP, the queue, log-in checks, the stores and the
  decision log cost; ``server_other_cpu_vs_alone_ms`` subtracts the backbone-alone process's CPU
  per decision instead, so it also charges the model's slowdown inside the server to the server;
- ``client_cpu_s``: this process's CPU over the window (the users' cost, on the same machine);
- ``no_model``: the random phase: the server's CPU per request and latencies with no model at all.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alignment.errors import ConfigError
from assistant.evaluation.load_users import LoadResult, Sample, run_load
from assistant.evaluation.proc_stats import peak_rss_mb, thread_priorities
from assistant.evaluation.serve_process import start_serve, stop_process, wait_answering

__all__ = ["TARGETS", "machine", "run_serve_bench"]

Progress = Callable[[str], None]

# the serving targets: throughput kept under load, CPU and memory besides the model
TARGETS = {"throughput_over_backbone": 0.9, "server_other_cpu_ms": 50.0, "errors": 0, "peak_rss_mb": 700.0}


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return float(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1])


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


def _backbone_alone(seconds: float, env: dict[str, str], cwd: Path, say: Progress) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "assistant.evaluation.backbone_alone", "--seconds", f"{seconds:g}"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600 + seconds,
    )
    if out.returncode != 0:
        raise ConfigError(f"the backbone-alone run failed ({out.returncode}): {out.stderr[-2000:]}")
    alone: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    say(
        f"backbone alone: {alone['decisions']} decisions in {alone['seconds']:.1f} s "
        f"({alone['rate']:.3f}/s, {alone['cpu_s'] / alone['decisions']:.2f} CPU s each)"
    )
    return alone


def _mean(values: list[int]) -> float | None:
    return round(statistics.fmean(values), 1) if values else None


def _latency(samples: list[Sample]) -> dict[str, Any]:
    ok = [s.seconds for s in samples if s.error is None]
    return {"n": len(ok), "p50_s": round(_percentile(ok, 50), 3), "p95_s": round(_percentile(ok, 95), 3)}


def machine() -> dict[str, Any]:
    """What the figures were measured on (ratios move with the processor and with other work)."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu_model": model, "cpu_count": os.cpu_count(), "kernel": platform.release()}


def _server_settings() -> dict[str, Any]:
    """What the server runs with (resolved as ``align serve`` resolves it)."""
    from assistant.backbones.serving import queue_concurrency, usable_cpus
    from assistant.compose import load_serving_settings

    settings = load_serving_settings()
    backbone = settings.backbones[settings.default_backbone]
    return {
        "backbone": settings.default_backbone,
        "backbone_type": backbone.type,
        "n_threads": backbone.options().get("n_threads"),
        "queue_concurrency": queue_concurrency(settings),
        "max_queue": settings.max_queue,
        "cpus": usable_cpus(),
    }


def _no_model(load: LoadResult) -> dict[str, Any]:
    """The random phase: what the server costs per request when no model runs."""
    n = len(load.samples)
    cpu = load.server_cpu_s
    return {
        "seconds": round(load.elapsed_s, 2),
        "requests": n,
        "errors": sum(1 for s in load.samples if s.error),
        "requests_per_s": round(n / load.elapsed_s, 2) if load.elapsed_s else 0.0,
        "server_cpu_per_request_ms": None if cpu is None or not n else round(1000 * cpu / n, 1),
        "client_cpu_per_request_ms": round(1000 * load.client_cpu_s / max(1, n), 1),
        "latency": {
            "decide": _latency([s for s in load.samples if s.kind == "decide"]),
            "profile": _latency([s for s in load.samples if s.kind == "profile"]),
        },
    }


def _report(
    users: int, seconds: float, load: LoadResult, alone: list[dict[str, Any]], peak: float | None
) -> dict[str, Any]:
    samples = load.samples
    decisions = [s for s in samples if s.kind == "decide" and s.error is None]
    errors = [s for s in samples if s.error]
    n_dec = len(decisions)
    alone_n = sum(a["decisions"] for a in alone)
    backbone_rps = statistics.fmean(a["rate"] for a in alone)
    server_rps = n_dec / load.elapsed_s
    ratio = server_rps / backbone_rps if backbone_rps else 0.0
    alone_backbone_s = [s for a in alone for s in a["backbone_s"]]
    server_backbone_s = [s.backbone_s for s in decisions if s.backbone_s is not None]
    mean_alone = statistics.fmean(alone_backbone_s) if alone_backbone_s else 0.0
    mean_server = statistics.fmean(server_backbone_s) if server_backbone_s else 0.0
    backbone_cpu = sum(a["cpu_s"] for a in alone) / alone_n if alone_n else 0.0
    server_cpu = load.server_cpu_s / n_dec if load.server_cpu_s is not None and n_dec else None
    # the model's own CPU inside the server, as the backbone measured it per decision (calling thread
    # plus llama.cpp's workers); the rest of the server's CPU is HTTP, queue, stores, log, edits
    in_server = [s.backbone_cpu_s for s in decisions if s.backbone_cpu_s is not None]
    model_cpu = statistics.fmean(in_server) if in_server and len(in_server) == n_dec else None
    other_ms = (server_cpu - model_cpu) * 1000 if server_cpu is not None and model_cpu is not None else None
    other_vs_alone_ms = (server_cpu - backbone_cpu) * 1000 if server_cpu is not None else None
    report: dict[str, Any] = {
        "users": users,
        "seconds": seconds,
        "elapsed_s": round(load.elapsed_s, 2),
        "requests": len(samples),
        "decisions": n_dec,
        "profile_edits": sum(1 for s in samples if s.kind == "profile" and s.error is None),
        "errors": len(errors),
        "error_samples": sorted({s.error for s in errors if s.error})[:5],
        "latency": {
            "all": _latency(samples),
            "decide": _latency([s for s in samples if s.kind == "decide"]),
            "profile": _latency([s for s in samples if s.kind == "profile"]),
        },
        "throughput_rps": round(server_rps, 4),
        "backbone_rps": round(backbone_rps, 4),
        "backbone_rps_before_after": [round(a["rate"], 4) for a in alone],
        "backbone_decisions": alone_n,
        "throughput_over_backbone": round(ratio, 3),
        "backbone_busy_share": round(sum(server_backbone_s) / load.elapsed_s, 3),
        "backbone_s_mean": {"server": round(mean_server, 4), "alone": round(mean_alone, 4)},
        "backbone_slowdown": round(mean_server / mean_alone, 3) if mean_alone else None,
        # the same work both ways: the same prompts, so the same tokens per decision
        "tokens_per_decision": {
            "server": _mean([s.tokens for s in decisions if s.tokens is not None]),
            "alone": _mean([t for a in alone for t in a["tokens"]]),
        },
        "server_cpu_s": None if load.server_cpu_s is None else round(load.server_cpu_s, 2),
        "server_cpu_per_decision_s": None if server_cpu is None else round(server_cpu, 4),
        "backbone_cpu_per_decision_s": round(backbone_cpu, 4),
        "model_cpu_in_server_per_decision_s": None if model_cpu is None else round(model_cpu, 4),
        "server_other_cpu_ms": None if other_ms is None else round(other_ms, 1),
        # the same against the backbone-alone process's CPU: also counts the model running slower
        # inside the server (backbone_slowdown) as the server's own cost
        "server_other_cpu_vs_alone_ms": None if other_vs_alone_ms is None else round(other_vs_alone_ms, 1),
        "client_cpu_s": round(load.client_cpu_s, 2),
        "client_cpu_per_request_ms": round(1000 * load.client_cpu_s / max(1, len(samples)), 1),
        "peak_rss_mb": peak,
        "load_average_1min_end": round(os.getloadavg()[0], 2),
    }
    report["p50_s"], report["p95_s"] = report["latency"]["all"]["p50_s"], report["latency"]["all"]["p95_s"]
    met_other = other_ms is not None and other_ms <= TARGETS["server_other_cpu_ms"]
    report["targets"] = {
        "errors": {"target": 0, "met": report["errors"] == 0},
        "throughput_over_backbone": {"target": 0.9, "met": ratio >= TARGETS["throughput_over_backbone"]},
        "server_other_cpu_ms": {"target": TARGETS["server_other_cpu_ms"], "met": met_other},
        "peak_rss_mb": {"target": TARGETS["peak_rss_mb"], "met": peak is not None and peak <= 700.0},
    }
    return report


def run_serve_bench(
    *,
    users: int = 16,
    seconds: float = 60.0,
    calibrate_s: float | None = None,
    overhead_s: float = 15.0,
    progress: Progress | None = None,
    keep_dir: bool = False,
) -> dict[str, Any]:
    """Run the benchmark (see the module docstring) and return its report."""
    from assistant.settings import load_settings

    if users < 1:
        raise ConfigError("--users must be at least 1")
    if seconds <= 0:
        raise ConfigError("--seconds must be positive")
    if overhead_s < 0:
        raise ConfigError("--no-model-seconds must be 0 or more")
    say = progress or (lambda _line: None)
    calibrate = calibrate_s if calibrate_s is not None else max(8.0, min(40.0, seconds / 3))
    data_dir = Path(tempfile.mkdtemp(prefix="align-bench-serve-"))
    env = {**os.environ, "ALIGN_DATA_DIR": str(data_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("ALIGN_DATABASE_URL", None)  # the bench's own SQLite store
    # it measures capacity, not fairness: its users' fast no-model decisions are not rate limited
    env.setdefault("ALIGN_API_REQUESTS_PER_MINUTE", "1000000")
    try:
        settings = load_settings(data_dir=data_dir, database_url=None)
        if settings.max_queue < users:
            raise ConfigError(
                f"max_queue {settings.max_queue} is below --users {users}; raise ALIGN_MAX_QUEUE"
            )
        accounts = _prepare_store(data_dir, users)
        server = _server_settings()
        say(f"data dir {data_dir}; {users} users; server settings {server}")
        alone = [_backbone_alone(calibrate / 2, env, data_dir, say)]
        proc, url, log = start_serve(data_dir, env)
        try:
            wait_answering(proc, url, log)
            say(f"server {url} (pid {proc.pid}) ready; {users} users for {seconds:g} s")
            phases = [("random", overhead_s)] if overhead_s > 0 else []
            *no_model, load = run_load(url, accounts, [*phases, ("persona", seconds)], proc.pid, say)
            peak = peak_rss_mb(proc.pid)
            priorities = thread_priorities(proc.pid)
        finally:
            stop_process(proc)
        alone.append(_backbone_alone(calibrate / 2, env, data_dir, say))
    finally:
        if not keep_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
    report = _report(users, seconds, load, alone, peak)
    report["no_model"] = _no_model(no_model[0]) if no_model else None
    report["server_settings"] = server
    report["machine"] = machine()
    report["server_threads"] = priorities
    if keep_dir:
        report["data_dir"] = str(data_dir)
    return report
