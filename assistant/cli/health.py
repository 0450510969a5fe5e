"""``align health [--json]``: check the database, Chroma and the backbone; exit 0 healthy, 1 not."""

from __future__ import annotations

import argparse
import json

from assistant.cli.common import Subcommands, add_command
from assistant.cli.context import Cli
from assistant.health import DEFAULT_TIMEOUT_S, HealthReport, check_health

__all__ = ["format_report", "register"]


def register(sub: Subcommands) -> None:
    p = add_command(
        sub,
        "health",
        run,
        help="check the database, Chroma and the backbone (exit 0 healthy, 1 unhealthy)",
        description=(
            "Checks what this configuration depends on: the database (SELECT 1, schema revision), "
            "Chroma (the server's heartbeat, or the embedded store's directory) and the default backbone "
            "(an OpenAI-compatible server's /v1/models, or the GGUF file). Exit status 0 when all are "
            "ok, 1 otherwise; the app serves the same report at GET /healthz."
        ),
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help=f"seconds each check may take (default {DEFAULT_TIMEOUT_S:g})",
    )
    p.add_argument(
        "--backbone",
        action="append",
        default=[],
        metavar="NAME",
        help="also check this named backbone (repeatable)",
    )


def format_report(report: HealthReport) -> str:
    lines = [f"{'healthy' if report.ok else 'UNHEALTHY'}"]
    width = max(len(k) for k in report.components)
    for key, c in report.components.items():
        state = "ok" if c.ok else "DOWN"
        if not c.checked:
            state = "unchecked"
        lines.append(f"  {key:<{width}}  {state:<9} {c.latency_ms:>8.1f} ms  {c.target}  {c.detail}")
    return "\n".join(lines)


def run(args: argparse.Namespace, cli: Cli) -> int:
    if not args.timeout > 0:
        from alignment.errors import InputError

        raise InputError("--timeout must be a positive number of seconds, for example 3")
    report = check_health(cli.settings, timeout_s=args.timeout, backbones=args.backbone)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(format_report(report))
    return 0 if report.ok else 1
