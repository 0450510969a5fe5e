"""Alembic environment: run with a connection handed in through ``config.attributes``."""

from __future__ import annotations

from alembic import context

from profiles.db import make_engine
from profiles.orm import Base

config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        engine = make_engine(str(config.get_main_option("sqlalchemy.url")))
        try:
            with engine.begin() as conn:
                _run(conn)
        finally:
            engine.dispose()
