"""API keys in the real stores (SQLite and PostgreSQL): only a hash stored, shown once, scoped to the
user, revoked keys refused with their reason, only the most recently revoked ones kept, migration 0004
up and down."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from alignment.errors import Conflict, NotFound, PermissionDenied
from profiles import migrate
from profiles.api_keys import MAX_ACTIVE_KEYS, MAX_REVOKED_KEYS, ApiKeyCreate
from profiles.db import make_engine
from profiles.schemas import Actor, UserCreate
from profiles.store import Store, open_store
from tests.helpers.profiles_dbs import BACKENDS, database


@contextmanager
def _root_alice_and_bob(backend: str, tmp_path: Path) -> Iterator[tuple[Store, Actor, Actor, Actor]]:
    """A new store on ``backend`` with the admin ``root`` and the users ``alice`` and ``bob`` (as
    actors), closed when the block ends."""
    with database(backend, tmp_path) as (url, schema):
        store = open_store(url, schema=schema)
        try:
            root = store.users.actor(store.users.add(None, UserCreate(name="root", role="admin")).name)
            alice = store.users.actor(store.users.add(root, UserCreate(name="alice")).name)
            bob = store.users.actor(store.users.add(root, UserCreate(name="bob")).name)
            yield store, root, alice, bob
        finally:
            store.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_keys_are_hashed_scoped_and_revocable(backend: str, tmp_path: Path) -> None:
    with _root_alice_and_bob(backend, tmp_path) as (store, root, alice, bob):
        made = store.api_keys.create(alice, ApiKeyCreate(label="Open WebUI"))
        assert made.key.startswith("align-") and len(made.key) >= 40
        assert made.user == "alice" and made.label == "Open WebUI" and made.key.startswith(made.prefix)
        # only the SHA-256 is in the database, never the key
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT key_hash, prefix FROM api_keys")).all()
        assert rows == [(hashlib.sha256(made.key.encode()).hexdigest(), made.prefix)]
        assert made.key not in str(rows)

        assert store.api_keys.authenticate(made.key) == alice
        listed = store.api_keys.list(alice)
        assert [k.id for k in listed] == [made.id] and listed[0].last_used_at is not None
        assert "key" not in listed[0].model_dump()

        # a user sees and revokes only their own keys; an admin may act on anyone's
        assert store.api_keys.list(bob) == []
        with pytest.raises(PermissionDenied, match="user 'bob' may not act on 'alice''s API keys"):
            store.api_keys.list(bob, owner="alice")
        with pytest.raises(NotFound, match=r"no API key \d+ of this user"):
            store.api_keys.revoke(bob, made.id)
        assert [k.id for k in store.api_keys.list(root, owner="alice")] == [made.id]
        for_bob = store.api_keys.create(root, ApiKeyCreate(), owner="bob")
        assert store.api_keys.authenticate(for_bob.key) == bob

        with pytest.raises(PermissionDenied, match="not valid"):
            store.api_keys.authenticate(made.key[:-1] + ("A" if made.key[-1] != "A" else "B"))
        revoked = store.api_keys.revoke(alice, made.prefix)
        assert revoked.revoked and store.api_keys.revoke(alice, made.id).revoked_at == revoked.revoked_at
        with pytest.raises(PermissionDenied, match="revoked"):
            store.api_keys.authenticate(made.key)
        assert store.api_keys.authenticate(for_bob.key) == bob  # other keys unaffected

        # a role change is seen at once: the key acts as the user as they are now
        store.users.set_role(root, "bob", "admin")
        assert store.api_keys.authenticate(for_bob.key).is_admin


def test_active_keys_are_bounded_and_prefixes_must_be_unique(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'keys.sqlite3'}")
    try:
        alice = store.users.actor(store.users.add(None, UserCreate(name="alice")).name)
        keys = [store.api_keys.create(alice, ApiKeyCreate()) for _ in range(MAX_ACTIVE_KEYS)]
        with pytest.raises(Conflict, match="revoke one"):
            store.api_keys.create(alice, ApiKeyCreate())
        with pytest.raises(Conflict, match="by its id"):
            store.api_keys.revoke(alice, "align-")
        store.api_keys.revoke(alice, keys[0].key)  # the whole key names exactly one
        store.api_keys.create(alice, ApiKeyCreate())  # a revoked key frees a place
    finally:
        store.close()


def _rows(store: Store, user_id: int) -> tuple[int, int]:
    """The user's rows in ``api_keys``: (all, revoked)."""
    assert store.engine is not None
    with store.engine.connect() as conn:
        row = conn.execute(
            text("SELECT count(id), count(revoked_at) FROM api_keys WHERE user_id = :u"), {"u": user_id}
        ).one()
    return int(row[0]), int(row[1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_only_the_most_recently_revoked_keys_are_kept(backend: str, tmp_path: Path) -> None:
    with _root_alice_and_bob(backend, tmp_path) as (store, root, alice, bob):
        bobs = store.api_keys.create(bob, ApiKeyCreate(label="bob's old"))
        store.api_keys.revoke(bob, bobs.id)
        kept = store.api_keys.create(alice, ApiKeyCreate(label="in use"))

        cycles = MAX_REVOKED_KEYS + 5
        made = []
        for i in range(cycles):
            made.append(store.api_keys.create(alice, ApiKeyCreate(label=f"key {i}")))
            store.api_keys.revoke(alice, made[-1].id)
        assert _rows(store, alice.id) == (1 + MAX_REVOKED_KEYS, MAX_REVOKED_KEYS)
        listed = store.api_keys.list(alice)
        assert [k.label for k in listed if k.revoked] == [f"key {i}" for i in reversed(range(5, cycles))]
        assert store.api_keys.authenticate(kept.key) == alice  # the active key is never deleted
        assert _rows(store, bob.id) == (1, 1)  # another user's revoked key is theirs to keep

        # a recently revoked key says so; a deleted one is refused as a key never made is
        with pytest.raises(PermissionDenied, match="revoked"):
            store.api_keys.authenticate(made[-1].key)
        with pytest.raises(PermissionDenied) as deleted:
            store.api_keys.authenticate(made[0].key)
        with pytest.raises(PermissionDenied) as unknown:
            store.api_keys.authenticate("align-" + "x" * 43)
        assert str(deleted.value) == str(unknown.value)
        assert not store.api_keys.known_prefix(made[0].key) and store.api_keys.known_prefix(made[-1].key)
        with pytest.raises(NotFound, match="no API key"):
            store.api_keys.revoke(alice, made[0].id)

        # keys revoked all at once (a password reset) are bounded by the next key made
        for _ in range(MAX_REVOKED_KEYS):
            store.api_keys.create(alice, ApiKeyCreate(label="to reset"))
        assert (
            store.users.set_password(root, "alice", "alice-new-password").api_keys_revoked
            == MAX_REVOKED_KEYS + 1
        )
        assert _rows(store, alice.id)[1] == 2 * MAX_REVOKED_KEYS + 1
        store.api_keys.create(alice, ApiKeyCreate(label="after the reset"))
        assert _rows(store, alice.id) == (1 + MAX_REVOKED_KEYS, MAX_REVOKED_KEYS)


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_0004_up_and_down(backend: str, tmp_path: Path) -> None:
    with database(backend, tmp_path) as (url, schema):
        engine = make_engine(url, schema=schema)
        try:
            migrate.upgrade(engine, "0004")
            assert migrate.current_revision(engine) == "0004"
            assert "api_keys" in inspect(engine).get_table_names()
            assert {c["name"] for c in inspect(engine).get_columns("api_keys")} == {
                "id",
                "user_id",
                "key_hash",
                "prefix",
                "label",
                "created_at",
                "last_used_at",
                "revoked_at",
            }
            migrate.downgrade(engine, "0003")
            assert "api_keys" not in inspect(engine).get_table_names()
            assert "users" in inspect(engine).get_table_names()
            migrate.upgrade(engine)
            assert migrate.is_current(engine)
        finally:
            engine.dispose()
