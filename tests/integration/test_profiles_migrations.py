"""Alembic on real databases: empty -> head, downgrade/upgrade round trip, a newer database refused;
PostgreSQL connections killed mid-session, then recovery."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from alignment.errors import ConfigError, StoreUnavailable
from profiles import migrate
from profiles.db import make_engine
from profiles.schemas import ProfileCreate
from profiles.seed import seed
from profiles.store import open_store
from profiles.tx import transaction
from tests.helpers.profiles_dbs import BACKENDS, PG_URL, database

TABLES = {
    "users",
    "attribute_definitions",
    "profiles",
    "conversations",
    "messages",
    "decision_log",
    "feedback",
    "calibrations",
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_from_empty_then_round_trip(backend: str, tmp_path: Path) -> None:
    with database(backend, tmp_path) as (url, schema):
        engine = make_engine(url, schema=schema)
        try:
            assert migrate.current_revision(engine) is None
            migrate.upgrade(engine)
            assert migrate.current_revision(engine) == migrate.head_revision()
            assert set(inspect(engine).get_table_names()) >= TABLES
            migrate.downgrade(engine, "base")
            assert migrate.current_revision(engine) is None
            assert not TABLES & set(inspect(engine).get_table_names())
            migrate.upgrade(engine)
            assert set(inspect(engine).get_table_names()) >= TABLES
            assert migrate.is_current(engine)
        finally:
            engine.dispose()
        # open_store on an up-to-date database keeps the data
        st = open_store(url, schema=schema)
        try:
            admin = st.users.ensure("root", role="admin")
            seed(st.attributes, admin)
        finally:
            st.close()
        st = open_store(url, schema=schema)
        try:
            assert len(st.attributes.list()) == 56
        finally:
            st.close()


def test_newer_database_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    open_store(url).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    with pytest.raises(ConfigError, match="newer than this program"):
        open_store(url)


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(StoreUnavailable, match="cannot open the database"):
        open_store("postgresql+psycopg://postgres@127.0.0.1:9/test")


@pytest.mark.postgres
def test_postgres_connection_killed_then_recovery(tmp_path: Path) -> None:
    with database("postgres", tmp_path) as (url, schema):
        st = open_store(url, schema=schema)
        killer = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        try:
            admin = st.users.ensure("root", role="admin")
            seed(st.attributes, admin)
            st.profiles.create(admin, ProfileCreate(name="kept", targets={"fairness": 0.4}))
            # 1) an idle pooled connection is killed: pre-ping notices, the next call just works
            with st.sessions() as s:
                pid = s.execute(text("select pg_backend_pid()")).scalar()
            with killer.connect() as k:
                assert k.execute(text("select pg_terminate_backend(:p)"), {"p": pid}).scalar()
            assert st.profiles.get(admin, "kept").targets == {"fairness": 0.4}
            # 2) the connection is killed in flight: a clear error, nothing half-written
            with pytest.raises(StoreUnavailable, match="nothing was written"), transaction(st.sessions) as s:
                pid = s.execute(text("select pg_backend_pid()")).scalar()
                s.execute(
                    text(
                        "insert into users (name, role, created_at, updated_at) "
                        "values ('ghost', 'user', now(), now())"
                    )
                )
                with killer.connect() as k:
                    k.execute(text("select pg_terminate_backend(:p)"), {"p": pid})
                s.execute(text("select 1"))
            # 3) the next operation works, and what was committed before is all there
            assert [u.name for u in st.users.list(admin)] == ["root"]
            assert st.profiles.get(admin, "kept").version == 1
        finally:
            killer.dispose()
            st.close()


def test_sqlite_ids_are_never_reused_and_the_upgrade_keeps_every_message(tmp_path: Path) -> None:
    """A database made before AUTOINCREMENT (0004): upgraded, its messages all stay; then deleting
    the newest conversation does not hand its id (nor its messages' ids) to the next one, so an old
    id held by an admin's tab can never name another user's new conversation."""
    from profiles.schemas import ConversationCreate, MessageCreate, UserCreate

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    try:
        migrate.upgrade(engine, "0004")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, name, password_hash, role, created_at, updated_at, session_epoch) "
                    "VALUES (1, 'root', 'x', 'admin', '2026-01-01', '2026-01-01', 1)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO conversations (id, owner_id, title, created_at, updated_at) "
                    "VALUES (1, 1, 'kept', '2026-01-01', '2026-01-01')"
                )
            )
            for n in range(3):
                conn.execute(
                    text(
                        "INSERT INTO messages (conversation_id, role, content, created_at) "
                        "VALUES (1, 'user', :c, '2026-01-01')"
                    ),
                    {"c": f"message {n}"},
                )
        migrate.upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM messages WHERE conversation_id = 1")).scalar() == 3
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'conversations'")).scalar()
            assert "AUTOINCREMENT" in str(sql)
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1  # back on after the migration
    finally:
        engine.dispose()
    st = open_store(url)
    try:
        root = st.users.actor("root")
        st.users.add(root, UserCreate(name="alice", password="alice-password"))
        alice = st.users.actor("alice")
        mine = st.conversations.create(root, ConversationCreate(title="the admin's"))
        said = st.conversations.add_message(root, mine.id, MessageCreate(role="user", content="hi"))
        st.conversations.delete(root, mine.id)
        hers = st.conversations.create(alice, ConversationCreate(title="alice's"))
        her_message = st.conversations.add_message(alice, hers.id, MessageCreate(role="user", content="hi"))
        assert hers.id > mine.id and her_message.id > said.id
    finally:
        st.close()
