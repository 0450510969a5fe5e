"""``align db upgrade|current|downgrade|seed``: migrations and seed packs.

Every other command also upgrades an older database to head on start-up (a new one is created),
so ``align db upgrade`` is only needed to migrate ahead of time (for example before a deploy).
"""

from __future__ import annotations

import argparse

from assistant.cli.common import Subcommands, add_command, add_group
from assistant.cli.context import Cli
from assistant.cli.operator import acting_user, add_user_arg, print_json
from profiles import migrate
from profiles.seed import PACKS, seed
from profiles.store import Store, open_store

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    dsub = add_group(
        sub,
        "db",
        help="database migrations and seed packs",
        description=(
            "The SQL database (ALIGN_DATABASE_URL, default a SQLite file in ALIGN_DATA_DIR). Every align "
            "command upgrades an older database to the newest schema on start-up; these commands do it "
            "explicitly."
        ),
    )
    up = add_command(dsub, "upgrade", _upgrade, help="run the migrations up to REVISION (default: head)")
    up.add_argument("revision", nargs="?", default="head")
    cur = add_command(dsub, "current", _current, help="show the database's revision and the newest one")
    cur.add_argument("--json", action="store_true")
    down = add_command(
        dsub, "downgrade", _downgrade, help="undo migrations down to REVISION ('base' drops everything)"
    )
    down.add_argument("revision")
    sd = add_command(
        dsub,
        "seed",
        _seed,
        help="load seed packs of attribute definitions (idempotent; admins only)",
        description=f"Load attribute definitions from the seed packs ({', '.join(PACKS)}); "
        "running it again changes nothing.",
    )
    sd.add_argument("packs", nargs="*", metavar="PACK", help=f"default: all ({', '.join(PACKS)})")
    sd.add_argument("--json", action="store_true")
    add_user_arg(sd)


def _unmigrated(cli: Cli) -> Store:
    """The database as it is (``align db`` moves it between revisions itself)."""
    return open_store(cli.settings.effective_database_url(), upgrade=False)


def _upgrade(args: argparse.Namespace, cli: Cli) -> int:
    with _unmigrated(cli) as store:
        assert store.engine is not None
        before = migrate.current_revision(store.engine)
        migrate.upgrade(store.engine, args.revision)
        after = migrate.current_revision(store.engine)
    print(f"database at revision {after} (was {before or 'empty'})")
    return 0


def _current(args: argparse.Namespace, cli: Cli) -> int:
    with _unmigrated(cli) as store:
        assert store.engine is not None
        current = migrate.current_revision(store.engine)
        url = store.engine.url.render_as_string(hide_password=True)
    head = migrate.head_revision()
    if args.json:
        print_json({"url": url, "current": current, "head": head, "up_to_date": current == head})
    else:
        state = "up to date" if current == head else "behind: run `align db upgrade`"
        print(f"{url}: revision {current or 'empty'}, newest {head} ({state})")
    return 0


def _downgrade(args: argparse.Namespace, cli: Cli) -> int:
    with _unmigrated(cli) as store:
        assert store.engine is not None
        migrate.downgrade(store.engine, args.revision)
        after = migrate.current_revision(store.engine)
    print(f"database at revision {after or 'empty (base)'}")
    return 0


def _seed(args: argparse.Namespace, cli: Cli) -> int:
    store = cli.store
    counts = seed(store.attributes, acting_user(store, args.user), args.packs or PACKS)
    if args.json:
        print_json(counts)
    else:
        print(", ".join(f"{v} {k}" for k, v in counts.items()) + " attribute definitions")
    return 0
