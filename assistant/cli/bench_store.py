"""``align bench store``: the profile store's hot paths on a filled database (never your own)."""

from __future__ import annotations

import argparse
import json
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from assistant.cli.common import Subcommands, add_command
from assistant.cli.context import Cli
from profiles.bench import run_store_bench
from profiles.store import open_store

__all__ = ["register_store"]


def register_store(bsub: Subcommands) -> None:
    b = add_command(
        bsub,
        "store",
        _run,
        help="median latency of profile load, decision logging and last-50 listing",
        description=(
            "Fill a throw-away database (a temporary SQLite file, and with --postgres URL a fresh "
            "schema that is dropped afterwards) with many users and logged decisions, then time the "
            "hot paths. Your own database is never touched."
        ),
    )
    b.add_argument("--users", type=int, default=10_000)
    b.add_argument("--decisions", type=int, default=100_000)
    b.add_argument("--repeats", type=int, default=200, help="timed calls per operation")
    b.add_argument("--postgres", metavar="URL", help="also run on PostgreSQL at URL (in a fresh schema)")
    b.add_argument("--json", action="store_true", help="print the medians as JSON")


def _run(args: argparse.Namespace, cli: Cli) -> int:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        try:
            results.append(run_store_bench(store, args.users, args.decisions, args.repeats))
        finally:
            store.close()
    if args.postgres:
        schema = f"align_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            store = open_store(args.postgres, schema=schema)
            try:
                results.append(run_store_bench(store, args.users, args.decisions, args.repeats))
            finally:
                store.close()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for r in results:
        print(f"{r['backend']}: {r['users']} users, {r['decisions']} decisions (filled in {r['fill_s']} s)")
        for name, ms in r["median_ms"].items():
            print(f"  {name:<32} median {ms:.3f} ms")
    return 0
