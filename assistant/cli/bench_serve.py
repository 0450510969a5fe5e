"""``align bench serve``: concurrent users against a live server (assistant/evaluation/bench_serve.py)."""

from __future__ import annotations

import argparse
from typing import Any

from assistant.cli.common import Subcommands, add_command, print_progress, print_report
from assistant.cli.context import Cli

__all__ = ["register_serve", "run_serve"]


def register_serve(bsub: Subcommands) -> None:
    b = add_command(
        bsub,
        "serve",
        run_serve,
        help="load: concurrent API users deciding and editing profiles against `align serve`",
        description=(
            "Start `align serve` with the default settings in a temporary data directory, run USERS "
            "users (asyncio tasks speaking Gradio's HTTP API) for SECONDS seconds (persona decisions "
            "and profile edits), and report requests, errors, p50/p95 latency per request kind, "
            "throughput over the backbone's own sequential throughput (measured before and after, "
            "same settings), the server's CPU per decision split into the backbone and the rest, the "
            "users' own CPU and the server's peak RSS."
        ),
    )
    b.add_argument("--users", type=int, default=16, help="concurrent users (default 16)")
    b.add_argument("--seconds", type=float, default=60.0, help="load duration in seconds (default 60)")
    b.add_argument(
        "--calibrate-seconds",
        type=float,
        help="time for the backbone-alone measurement, split before and after the load "
        "(default: a third of --seconds, 8 to 40)",
    )
    b.add_argument(
        "--no-model-seconds",
        type=float,
        default=15.0,
        help="first, this long with random decisions (no model): the server's own cost per request "
        "(default 15; 0 skips it)",
    )
    b.add_argument("--keep", action="store_true", help="keep the temporary data directory (server log)")
    b.add_argument("--json", action="store_true", help="print one JSON object")


def run_serve(args: argparse.Namespace, cli: Cli) -> int:
    from assistant.evaluation.bench_serve import run_serve_bench

    report = run_serve_bench(
        users=args.users,
        seconds=args.seconds,
        calibrate_s=args.calibrate_seconds,
        overhead_s=args.no_model_seconds,
        keep_dir=args.keep,
        progress=print_progress,
    )
    return print_report(report, args.json, summary_lines)


def _met(report: dict[str, Any], key: str) -> str:
    t = report["targets"][key]
    return f"target {t['target']:g}: {'met' if t['met'] else 'NOT met'}"


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The report in words (``--json`` prints all of it)."""
    lat, s = report["latency"], report["server_settings"]
    lines = [
        f"align bench serve: {report['users']} users for {report['seconds']:g} s "
        f"({s['backbone']}: n_threads {s['n_threads']}, queue concurrency {s['queue_concurrency']}, "
        f"{s['cpus']} cores)",
        f"  requests {report['requests']} ({report['decisions']} decisions, "
        f"{report['profile_edits']} profile edits)",
        f"  errors {report['errors']}   {_met(report, 'errors')}",
        *(f"    {sample}" for sample in report["error_samples"]),
    ]
    for kind in ("decide", "profile", "all"):
        k = lat[kind]
        lines.append(f"  latency {kind}: p50 {k['p50_s']:.2f} s, p95 {k['p95_s']:.2f} s ({k['n']} requests)")
    lines += [
        f"  throughput {report['throughput_rps']:.3f} decisions/s; backbone alone "
        f"{report['backbone_rps']:.3f}/s; ratio {report['throughput_over_backbone']:.3f}   "
        f"{_met(report, 'throughput_over_backbone')}",
        f"  model busy {100 * report['backbone_busy_share']:.0f}% of the window; its time per decision "
        f"{report['backbone_s_mean']['server']:.3f} s in the server, "
        f"{report['backbone_s_mean']['alone']:.3f} s alone (x{report['backbone_slowdown']})",
        f"  server CPU per decision {report['server_cpu_per_decision_s']} s, the backbone alone "
        f"{report['backbone_cpu_per_decision_s']} s: other {report['server_other_cpu_ms']} ms   "
        f"{_met(report, 'server_other_cpu_ms')}",
        f"  users' CPU (this process) {report['client_cpu_s']} s, "
        f"{report['client_cpu_per_request_ms']} ms per request",
        f"  server peak RSS {report['peak_rss_mb']} MB   {_met(report, 'peak_rss_mb')}",
    ]
    free = report.get("no_model")
    if free:
        lines.append(
            f"  no model ({free['requests']} random decisions and profile edits, {free['errors']} errors): "
            f"server CPU {free['server_cpu_per_request_ms']} ms per request, "
            f"{free['requests_per_s']} requests/s, decide p50 {free['latency']['decide']['p50_s']:.3f} s"
        )
    return lines
