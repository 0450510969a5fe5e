"""Who may reach the app: login against the users table, or local mode on loopback only."""

from __future__ import annotations

import ipaddress

from sqlalchemy import func, select

from alignment.errors import ConfigError
from profiles.orm import UserRow
from profiles.store import Store
from profiles.tx import transaction

__all__ = ["is_loopback", "login_required", "users_with_password"]


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def users_with_password(store: Store) -> int:
    with transaction(store.sessions) as s:
        return int(
            s.scalar(select(func.count()).select_from(UserRow).where(UserRow.password_hash.is_not(None))) or 0
        )


def login_required(store: Store, host: str) -> bool:
    """True: log in with a user name and password. False: local mode (loopback, no passwords yet).

    Bound to any other address with no user that can log in, the server refuses to start.
    """
    if users_with_password(store):
        return True
    if is_loopback(host):
        return False
    raise ConfigError(
        f"refusing to serve on {host} without login: no user has a password yet. Create an admin "
        "with `align users add NAME --password PASSWORD --admin`, or bind to 127.0.0.1 "
        "for the single local-user mode"
    )
