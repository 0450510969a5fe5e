"""Engine and session factory from a database URL (built by the caller; nothing at import time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["SessionFactory", "make_engine", "make_session_factory"]

SessionFactory = sessionmaker[Session]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str, *, schema: str | None = None, echo: bool = False) -> Engine:
    """An engine for ``url``: SQLite (file created with its directory) or PostgreSQL.

    ``schema`` (PostgreSQL only) sets the search path, so every table, and Alembic's version table,
    lives in that schema; the tests use it to run in a fresh schema each.
    """
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    # a server's connections can drop (restarts, pg_terminate_backend): test each one as it leaves the
    # pool; a SQLite connection is a file this process holds, and the test (SELECT 1) would cost a
    # round trip on every transaction, several per request (docs/perf/serve-profile.md)
    kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": not sqlite}
    if sqlite:
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 5}
    elif schema is not None:
        kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
    engine = create_engine(parsed, **kwargs)
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(engine, expire_on_commit=False)
