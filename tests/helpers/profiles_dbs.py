"""Real databases for the profile-store tests: a SQLite file, or a fresh PostgreSQL schema (dropped after)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from profiles.store import Store, open_store

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@contextmanager
def database(backend: str, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """(url, schema) of an empty database of ``backend``; a PostgreSQL schema is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite3'}", None
        return
    schema = f"align_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield PG_URL, schema
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def store_on(backend: str, tmp_path: Path) -> Iterator[Store]:
    """An empty profile store on ``backend`` (``database``), closed afterwards."""
    with database(backend, tmp_path) as (url, schema):
        store = open_store(url, schema=schema)
        try:
            yield store
        finally:
            store.close()


def pg_url_with_schema(schema: str) -> str:
    """A URL that puts every connection in ``schema`` (for the CLI, through ALIGN_DATABASE_URL)."""
    return f"{PG_URL}?options=-csearch_path%3D{schema}"
