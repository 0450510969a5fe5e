"""``align users add|list|passwd|api-key``: accounts (argon2-hashed passwords, role user or admin)."""

from __future__ import annotations

import argparse
import sys

from alignment.errors import InputError
from assistant.cli.api_keys import register_api_keys
from assistant.cli.common import Subcommands, add_command, add_group, validated
from assistant.cli.context import Cli
from assistant.cli.operator import acting_user, add_user_arg, print_rows
from profiles.schemas import UserCreate, UserPublic

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    usub = add_group(sub, "users", help="user accounts")

    a = add_command(
        usub, "add", _add, help="add a user (admins only)", description="Add a user (admins only)."
    )
    a.add_argument("name")
    _password_args(a)
    a.add_argument("--admin", action="store_true", help="give the user the admin role")
    add_user_arg(a)

    ls = add_command(usub, "list", _list, help="list users (an admin sees all; a user sees only themself)")
    ls.add_argument("--json", action="store_true")
    add_user_arg(ls)

    pw = add_command(
        usub,
        "passwd",
        _passwd,
        help="set a password: your own (give the current one), or reset anyone's as an admin "
        "(ends their sessions and revokes their API keys)",
    )
    pw.add_argument("name")
    _password_args(pw)
    pw.add_argument("--current-password", help="your current password (to change your own)")
    add_user_arg(pw)

    register_api_keys(usub)


def _password_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--password", help="the password (at least 8 characters)")
    g.add_argument("--password-stdin", action="store_true", help="read the password from stdin")


def _password(args: argparse.Namespace, required: bool) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if args.password is None and required:
        raise InputError("give the new password with --password P or --password-stdin")
    return args.password


def _add(args: argparse.Namespace, cli: Cli) -> int:
    data = validated(
        UserCreate, name=args.name, password=_password(args, False), role="admin" if args.admin else "user"
    )
    store = cli.store
    user = store.users.add(acting_user(store, args.user), data)
    extra = "" if user.has_password else " (no password: set one with `align users passwd`)"
    print(f"added {user.role} {user.name!r}{extra}")
    return 0


def _list(args: argparse.Namespace, cli: Cli) -> int:
    store = cli.store
    users = store.users.list(acting_user(store, args.user))
    print_rows(users, args.json, _row)
    return 0


def _row(u: UserPublic) -> str:
    return f"{u.name:<24} {u.role:<6} {'password' if u.has_password else 'no password'}"


def _passwd(args: argparse.Namespace, cli: Cli) -> int:
    password = _password(args, True)
    assert password is not None
    store = cli.store
    if args.user == args.name and args.current_password is None:
        raise InputError("to change your own password, give the current one with --current-password")
    done = store.users.set_password(
        acting_user(store, args.user), args.name, password, current=args.current_password
    )
    if done.reset:
        print(
            f"password of {args.name!r} reset: their login sessions have ended and "
            f"{done.api_keys_revoked} API key(s) were revoked"
        )
    else:
        print(f"password of {args.name!r} changed: the other login sessions have ended")
    return 0
