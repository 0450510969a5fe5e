"""``align users api-key create|list|revoke NAME``: keys for the OpenAI-compatible API (``/v1``).

A key acts as its user. Only a hash is stored: ``create`` prints the key once, and nobody can show
it again (revoke it and create another if it is lost).
"""

from __future__ import annotations

import argparse

from assistant.cli.common import Subcommands, add_command, add_group, validated
from assistant.cli.context import Cli
from assistant.cli.operator import acting_user, add_user_arg, print_json, print_rows
from profiles.api_keys import ApiKeyCreate, ApiKeyPublic

__all__ = ["register_api_keys"]


def register_api_keys(usub: Subcommands) -> None:
    """Add ``api-key`` to the ``align users`` sub-commands."""
    ksub = add_group(
        usub,
        "api-key",
        help="keys for the OpenAI-compatible API (/v1): create, list, revoke",
        description=(
            "Keys for the OpenAI-compatible API that `align serve` offers at /v1 (chat apps such as "
            "Open WebUI and LibreChat). A key acts as its user and sees exactly what the user sees. "
            "Only a hash is stored: the key is printed once, when it is created."
        ),
    )

    c = add_command(ksub, "create", _create, help="create a key for user NAME and print it (once)")
    c.add_argument("name", metavar="NAME", help="whose key (yours, or anyone's as an admin)")
    c.add_argument("--label", default="", help="what the key is for, e.g. 'Open WebUI'")
    c.add_argument("--json", action="store_true")
    add_user_arg(c)

    ls = add_command(ksub, "list", _list, help="list user NAME's keys (never the keys themselves)")
    ls.add_argument("name", metavar="NAME")
    ls.add_argument("--json", action="store_true")
    add_user_arg(ls)

    r = add_command(ksub, "revoke", _revoke, help="revoke one of user NAME's keys; it stops working at once")
    r.add_argument("name", metavar="NAME")
    r.add_argument("key", metavar="KEY", help="the key's id (see list), its first characters, or the key")
    r.add_argument("--json", action="store_true")
    add_user_arg(r)


def _row(k: ApiKeyPublic) -> str:
    used = k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "never used"
    state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
    return f"{k.id:>5}  {k.prefix}…  {state:<24} {used:<16} {k.label}"


def _create(args: argparse.Namespace, cli: Cli) -> int:
    data = validated(ApiKeyCreate, label=args.label)
    store = cli.store
    made = store.api_keys.create(acting_user(store, args.user), data, owner=args.name)
    if args.json:
        print_json(made.model_dump(mode="json"))
        return 0
    print(f"API key {made.id} for {made.user!r}" + (f" ({made.label})" if made.label else "") + ":")
    print(made.key)
    print("Copy it now: it is not stored and cannot be shown again.")
    return 0


def _list(args: argparse.Namespace, cli: Cli) -> int:
    store = cli.store
    keys = store.api_keys.list(acting_user(store, args.user), owner=args.name)
    empty = f"{args.name!r} has no API keys; create one with `align users api-key create {args.name}`"
    print_rows(keys, args.json, _row, empty)
    return 0


def _revoke(args: argparse.Namespace, cli: Cli) -> int:
    key: int | str = int(args.key) if args.key.isdigit() else args.key.rstrip("…")
    store = cli.store
    revoked = store.api_keys.revoke(acting_user(store, args.user), key, owner=args.name)
    if args.json:
        print_json(revoked.model_dump(mode="json"))
        return 0
    print(f"revoked API key {revoked.id} ({revoked.prefix}…) of {revoked.user!r}")
    return 0
