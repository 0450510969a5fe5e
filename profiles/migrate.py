"""Alembic migrations, run programmatically (``align db upgrade``, and on start-up).

Alembic is imported only when a migration has to run: the start-up check reads the version
table with one query against ``HEAD`` (a unit test keeps ``HEAD`` equal to the scripts' head).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["HEAD", "current_revision", "downgrade", "head_revision", "is_current", "is_known", "upgrade"]

HEAD = "0005"
_SCRIPTS = Path(__file__).parent / "migrations"
_VERSION_TABLE = "alembic_version"


def _config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    url = engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser escaping
    return config


def head_revision() -> str:
    """The newest revision of the migration scripts (reads the scripts)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(_SCRIPTS)).get_current_head()
    assert head is not None
    return head


def is_known(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    try:
        return ScriptDirectory(str(_SCRIPTS)).get_revision(revision) is not None
    except CommandError:
        return False


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table(_VERSION_TABLE):
            return None
        return conn.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalar()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == HEAD


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    _migrate(engine, lambda config: command.upgrade(config, revision))


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    _migrate(engine, lambda config: command.downgrade(config, revision))


def _migrate(engine: Engine, run: Callable[[Config], None]) -> None:
    """Run a migration in one transaction. On SQLite, with foreign keys off meanwhile (a table that
    batch mode rebuilds is dropped and made anew: with them on, dropping it would delete the rows
    that refer to it), checked once it is done; the pragma only takes effect outside a transaction."""
    config = _config(engine)
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                config.attributes["connection"] = conn
                run(config)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(
                            f"the migration left rows that refer to missing ones: {broken[:5]}"
                        )
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
