"""``align log list|show|export``: the decision log (your own; every user's for an admin)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from assistant.cli.common import Subcommands, add_command, add_group
from assistant.cli.context import Cli
from assistant.cli.operator import acting_user, add_user_arg, print_model, print_rows
from profiles.schemas import DecisionLogPublic, DecisionLogSummary

__all__ = ["format_entry", "register"]


def register(sub: Subcommands) -> None:
    lsub = add_group(sub, "log", help="the decision log")

    ls = add_command(lsub, "list", _list, help="the newest decisions first")
    ls.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    ls.add_argument("--before", type=int, metavar="ID", help="only entries older than this id (paging)")
    ls.add_argument("--all", action="store_true", help="every user's decisions (admins only)")
    ls.add_argument("--json", action="store_true")
    add_user_arg(ls, owner=True)

    sh = add_command(
        lsub, "show", _show, help="one logged decision in full (request, result, prompts, timings)"
    )
    sh.add_argument("id", type=int)
    sh.add_argument("--json", action="store_true")
    add_user_arg(sh)

    ex = add_command(
        lsub, "export", _export, help="every logged decision of a user as JSON Lines, oldest first"
    )
    ex.add_argument("--output", "-o", help="write to this file (default: stdout)")
    add_user_arg(ex, owner=True)


def _list(args: argparse.Namespace, cli: Cli) -> int:
    store = cli.store
    items = store.log.list(
        acting_user(store, args.user),
        owner=args.owner,
        limit=max(1, args.limit),
        before_id=args.before,
        all_users=args.all,
    )
    print_rows(items, args.json, _row, "no decisions logged yet")
    return 0


def _row(e: DecisionLogSummary) -> str:
    outcome = e.choice if e.status == "ok" else f"FAILED: {e.error}"
    when = e.created_at.strftime("%Y-%m-%d %H:%M:%S")
    profile = f" profile={e.profile_name}" if e.profile_name else ""
    how = f"{e.algorithm or '-'}@{e.backbone or '-'}{profile}"
    return f"{e.id:>6} {when} {e.user} {how} {e.duration_s:.2f}s  {outcome}"


def format_entry(e: DecisionLogPublic) -> str:
    lines = [
        f"Decision {e.id} by {e.user} at {e.created_at.isoformat()}: {e.status}",
        f"Algorithm: {e.algorithm}  Backbone: {e.backbone}  Decider: {e.decider or '-'}  "
        f"Duration: {e.duration_s:.3f}s",
    ]
    if e.profile_name:
        lines.append(f"Profile: {e.profile_name} (snapshot kept)")
    lines.append(f"Scenario: {e.request.get('scenario', '')}")
    for i, c in enumerate(e.request.get("choices", [])):
        lines.append(f"  ({chr(65 + i)}) {c}")
    lines.append(f"Target: {json.dumps(e.request.get('target'))}")
    if e.result:
        lines.append(f"Choice: {e.result.get('choice')}")
        lines.append(f"Justification: {e.result.get('justification')}")
    if e.error:
        lines.append(f"Error: {e.error}")
    if e.timings:
        lines.append("Timings: " + ", ".join(f"{k}={v:.3f}" for k, v in e.timings.items()))
    lines.append(f"Prompts: {len(e.prompts)} (see --json)")
    return "\n".join(lines)


def _show(args: argparse.Namespace, cli: Cli) -> int:
    store = cli.store
    entry = store.log.get(acting_user(store, args.user), args.id)
    print_model(entry, args.json, format_entry)
    return 0


def _export(args: argparse.Namespace, cli: Cli) -> int:
    store = cli.store
    entries = store.log.export(acting_user(store, args.user), owner=args.owner)
    if args.output:
        with Path(args.output).open("w", encoding="utf-8") as out:
            count = _write_lines(entries, out)
        print(f"exported {count} decisions to {args.output}", file=sys.stderr)
    else:
        _write_lines(entries, sys.stdout)
    return 0


def _write_lines(entries: Iterator[DecisionLogPublic], out: TextIO) -> int:
    count = 0
    for entry in entries:
        out.write(json.dumps(entry.model_dump(mode="json"), ensure_ascii=False) + "\n")
        count += 1
    return count
