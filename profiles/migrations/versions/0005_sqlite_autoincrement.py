"""conversations and messages: AUTOINCREMENT on SQLite, so a deleted row's id is never handed out again

SQLite gives the next row max(id) + 1, so deleting the newest conversation made its id name the next
one made, possibly another user's; an admin's tab or a link holding the old id would then reach it.
PostgreSQL's sequences never reuse an id: nothing to do there. The tables are rebuilt (batch mode);
``profiles.migrate`` runs migrations on SQLite with foreign keys off, so rebuilding a table does not
cascade into the rows that refer to it.
"""

from __future__ import annotations

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"

TABLES = ("conversations", "messages")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
