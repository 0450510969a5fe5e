"""``align bench chat``: chat turns through ``/v1``, their time and their first streamed chunk
(the run itself: assistant/cli/bench_chat_run.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from assistant.cli.common import Subcommands, add_command, print_progress, print_report
from assistant.cli.context import Cli

__all__ = ["register_chat", "run_chat", "summary_lines"]


def register_chat(bsub: Subcommands) -> None:
    b = add_command(
        bsub,
        "chat",
        run_chat,
        help="chat turns through /v1: median turn time and time to the first streamed chunk",
        description=(
            "Serve the /v1 routes of `align serve` with the default settings over a temporary data "
            "directory (the everyday example decisions imported), send the conversations of a "
            "conversation set as a chat app does (streamed, the whole history each time) and report "
            "the median and 95th percentile of the turn time and of the time to the first streamed "
            "chunk, against the targets (median turn 2 s, first chunk 0.3 s)."
        ),
    )
    b.add_argument(
        "--conversations",
        metavar="FILE",
        help="the conversation set (default: tests/fixtures/conversations/conversations.json)",
    )
    b.add_argument("--limit", type=int, help="at most this many conversations")
    b.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    b.add_argument("--json", action="store_true", help="print one JSON object")


def run_chat(args: argparse.Namespace, cli: Cli) -> int:
    from assistant.cli.bench_chat_run import run_chat_bench

    report = run_chat_bench(
        Path(args.conversations) if args.conversations else None,
        limit=args.limit,
        keep_dir=args.keep,
        progress=print_progress,
    )
    return print_report(report, args.json, summary_lines)


def summary_lines(report: dict[str, Any]) -> list[str]:
    def met(key: str) -> str:
        t = report["targets"][key]
        return f"target {t['target']:g} s, ratio {t['ratio']:.2f}: {'met' if t['met'] else 'NOT met'}"

    d, m = report["decision_turns"], report["machine"]
    return [
        f"align bench chat: {report['turns']} turns of {report['conversations']} conversations through /v1 "
        f"(decider {report['decider']}; {m['cpu_count']} cores, {m['cpu_model']})",
        f"  median turn                {report['median_turn_s']:.3f} s (p95 {report['p95_turn_s']:.3f})   "
        + met("median_turn_s"),
        f"  median first chunk         {report['median_first_chunk_s']:.3f} s "
        f"(p95 {report['p95_first_chunk_s']:.3f})   " + met("median_first_chunk_s"),
        f"  turns that decided ({d['turns']}): median turn {d['median_turn_s']:.3f} s (p95 "
        f"{d['p95_turn_s']:.3f}), median first chunk {d['median_first_chunk_s']:.3f} s (p95 "
        f"{d['p95_first_chunk_s']:.3f})",
        f"  warm-up turn (embedder loading, not counted) {report['warm_up_turn_s']:.2f} s",
    ]
