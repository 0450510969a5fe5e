"""``align bench serve``: concurrent users against a live server (assistant/evaluation/bench_serve.py)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register_serve", "run_serve"]


def register_serve(bsub: Any) -> None:
    b: argparse.ArgumentParser = bsub.add_parser(
        "serve",
        help="load: concurrent API users deciding and editing profiles against `align serve`",
        description=(
            "Start `align serve` on the embedded default in a temporary data directory, run USERS "
            "gradio_client users for SECONDS seconds (persona decisions and profile edits), and report "
            "requests, errors, p50/p95 latency, throughput over the backbone's own sequential "
            "throughput (measured in the same run) and the server's peak RSS."
        ),
    )
    b.add_argument("--users", type=int, default=16, help="concurrent users (default 16)")
    b.add_argument("--seconds", type=float, default=60.0, help="load duration in seconds (default 60)")
    b.add_argument(
        "--calibrate-seconds",
        type=float,
        help="time for the backbone-alone measurement, split before and after the load "
        "(default: a quarter of --seconds, 5 to 30)",
    )
    b.add_argument("--keep", action="store_true", help="keep the temporary data directory (server log)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    import json
    import sys

    from assistant.evaluation.bench_serve import run_serve_bench

    report = run_serve_bench(
        users=args.users,
        seconds=args.seconds,
        calibrate_s=args.calibrate_seconds,
        keep_dir=args.keep,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    t = report["targets"]
    print(f"align bench serve: {report['users']} users for {report['seconds']:g} s")
    print(
        f"  requests {report['requests']} ({report['decisions']} decisions, "
        f"{report['profile_edits']} profile edits)"
    )
    print(f"  errors {report['errors']}   target 0: {'met' if t['errors']['met'] else 'NOT met'}")
    for sample in report["error_samples"]:
        print(f"    {sample}")
    print(f"  latency p50 {report['p50_s']:.2f} s, p95 {report['p95_s']:.2f} s (all requests)")
    print(f"  decisions p50 {report['decide_p50_s']:.2f} s, p95 {report['decide_p95_s']:.2f} s")
    print(
        f"  throughput {report['throughput_rps']:.3f} decisions/s; backbone alone "
        f"{report['backbone_rps']:.3f}/s; ratio {report['throughput_over_backbone']:.3f}   "
        f"target 0.9: {'met' if t['throughput_over_backbone']['met'] else 'NOT met'}"
    )
    print(f"  server peak RSS {report['peak_rss_mb']} MB")
    return 0
