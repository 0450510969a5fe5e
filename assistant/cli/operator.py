"""The CLI as the local operator: open the store from Settings and pick the acting user."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import TypeVar

from pydantic import BaseModel

from assistant.settings import Settings
from profiles.schemas import Actor
from profiles.store import Store, open_store

__all__ = [
    "USER_HELP",
    "acting_user",
    "add_user_arg",
    "open_cli_store",
    "print_json",
    "print_model",
    "print_rows",
]

M = TypeVar("M", bound=BaseModel)

USER_HELP = (
    "act as this user: commands read and change this user's data only (an admin may also name "
    "another owner with --owner). Default: the local operator 'local', an admin created without "
    "a password on first use. No password is asked: whoever runs the CLI has the database anyway"
)


def add_user_arg(parser: argparse.ArgumentParser, owner: bool = False) -> None:
    parser.add_argument("--user", metavar="NAME", help=USER_HELP)
    if owner:
        parser.add_argument(
            "--owner", metavar="NAME", help="act on this user's data instead of your own (admins only)"
        )


def open_cli_store(settings: Settings) -> Store:
    """The store at ``settings.effective_database_url()``, migrated to head on start-up.

    A store without attribute definitions gets the shipped seed packs (as `align db seed`), so
    targets are checked against known attributes and prompts carry their descriptions.
    """
    store = open_store(settings.effective_database_url())
    if not store.attributes.list():
        from profiles.seed import seed

        seed(store.attributes, store.users.local_operator())
    return store


def seed_new_packs(store: Store) -> dict[str, int]:
    """Add the shipped packs' definitions this store lacks (after an upgrade); edits stay."""
    from profiles.seed import seed

    return seed(store.attributes, store.users.local_operator(), only_missing=True)


def acting_user(store: Store, name: str | None) -> Actor:
    """``--user NAME`` (must exist), or the local operator (created on first use): the CLI is a
    door where nobody logs in (whoever runs it has the database anyway)."""
    return store.users.acting(name, local=True) or store.users.local_operator()


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False))


def print_rows(items: Sequence[M], as_json: bool, row: Callable[[M], str], empty: str | None = None) -> None:
    """ITEMS as a JSON list (``--json``), else a line each as ROW words it; EMPTY, if given, is
    printed when there are none."""
    if as_json:
        print_json([item.model_dump(mode="json") for item in items])
        return
    if not items and empty is not None:
        print(empty)
    for item in items:
        print(row(item))


def print_model(model: M, as_json: bool, text: Callable[[M], str]) -> None:
    """MODEL as JSON (``--json``), else as TEXT words it."""
    if as_json:
        print_json(model.model_dump(mode="json"))
    else:
        print(text(model))
