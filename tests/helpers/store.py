"""The store of a test's ``align serve``, opened beside it: users and API keys put in before the
server starts, and what a user left in it read back afterwards."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from profiles.store import Store

__all__ = [
    "add_users",
    "api_key_rows",
    "api_keys_of",
    "conversations_of",
    "counted",
    "decisions_of",
    "new_api_key",
    "opened",
    "stored_chat",
]


@contextmanager
def opened(database_url: str) -> Iterator[Store]:
    """``with opened(url) as store:`` the store at ``database_url``, closed when the block ends."""
    from profiles.store import open_store

    store = open_store(database_url)
    try:
        yield store
    finally:
        store.close()


def add_users(database_url: str, users: Mapping[str, str | tuple[str, str]]) -> None:
    """More users, added by ``root``: name -> password, or name -> (password, role)."""
    from profiles.schemas import UserCreate

    with opened(database_url) as store:
        root = store.users.actor("root")
        for name, value in users.items():
            if isinstance(value, tuple):
                store.users.add(root, UserCreate(name=name, password=value[0], role=value[1]))
            else:
                store.users.add(root, UserCreate(name=name, password=value))


def new_api_key(database_url: str, user: str, label: str = "chat app") -> str:
    """A new API key of ``user`` (its secret, shown once)."""
    from profiles.api_keys import ApiKeyCreate

    with opened(database_url) as store:
        return store.api_keys.create(store.users.actor(user), ApiKeyCreate(label=label)).key


def api_keys_of(database_url: str, user: str) -> int:
    with opened(database_url) as store:
        return len(store.api_keys.list(store.users.actor(user)))


def conversations_of(database_url: str, user: str) -> int:
    with opened(database_url) as store:
        return len(store.conversations.list(store.users.actor(user)))


def decisions_of(database_url: str, user: str) -> int:
    """The rows of ``user``'s decision log."""
    with opened(database_url) as store:
        return len(store.log.list(store.users.actor(user)))


def counted(database_url: str, query: str, **params: object) -> tuple[int, ...]:
    """The one row of counts that the SQL ``query`` (its ``:name`` parameters from ``params``) reads
    from the store at ``database_url``."""
    from sqlalchemy import text

    with opened(database_url) as store:
        assert store.engine is not None
        with store.engine.connect() as conn:
            row = conn.execute(text(query), params).one()
    return tuple(int(value) for value in row)


def stored_chat(database_url: str, user: str) -> tuple[int, int, int]:
    """``user``'s conversations, messages and characters of message text in the database."""
    conversations, messages, chars = counted(
        database_url,
        "SELECT count(DISTINCT c.id), count(m.id), coalesce(sum(length(m.content)), 0) "
        "FROM conversations c JOIN users u ON u.id = c.owner_id "
        "LEFT JOIN messages m ON m.conversation_id = c.id WHERE u.name = :name",
        name=user,
    )
    return conversations, messages, chars


def api_key_rows(database_url: str, user: str) -> tuple[int, int]:
    """``user``'s rows in ``api_keys``: (all, revoked)."""
    every, revoked = counted(
        database_url,
        "SELECT count(k.id), count(k.revoked_at) FROM api_keys k "
        "JOIN users u ON u.id = k.user_id WHERE u.name = :name",
        name=user,
    )
    return every, revoked
