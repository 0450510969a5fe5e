"""The users' session stamp on real SQLite and PostgreSQL: a password or role change, or deleting the
user, changes it (what ends the user's login sessions on every replica)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from profiles.orm import UserRow
from profiles.schemas import UserCreate
from profiles.store import Store
from profiles.tx import transaction
from tests.helpers.profiles_dbs import BACKENDS, store_on


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with store_on(request.param, tmp_path) as store:
        yield store


def test_the_stamp_changes_with_password_role_and_deletion(store: Store) -> None:
    root = store.users.actor(
        store.users.add(None, UserCreate(name="root", password="root-pass", role="admin")).name
    )
    store.users.add(root, UserCreate(name="alice", password="alice-pass"))
    first = store.users.session_stamp("alice")
    assert first is not None and store.users.session_stamp("Alice") is None  # names as accounts: exact
    store.users.set_role(root, "alice", "user")  # no change of role: sessions stay
    assert store.users.session_stamp("alice") == first
    store.users.set_password(root, "alice", "alice-new-pass")
    second = store.users.session_stamp("alice")
    assert second not in (None, first)
    store.users.set_role(root, "alice", "admin")
    third = store.users.session_stamp("alice")
    assert third not in (None, first, second)
    with transaction(store.sessions) as s:
        s.execute(delete(UserRow).where(UserRow.name == "alice"))
    assert store.users.session_stamp("alice") is None
    store.users.add(root, UserCreate(name="alice", password="alice-pass"))
    assert store.users.session_stamp("alice") not in (None, first, second, third)  # a new id
