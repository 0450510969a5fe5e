"""The decision log: every decision (and every failed one) with what is needed to trace it."""

from __future__ import annotations

import builtins
from collections.abc import Iterator

from sqlalchemy import select

from alignment.errors import NotFound
from profiles.db import SessionFactory
from profiles.orm import DecisionLogRow, UserRow
from profiles.schemas import Actor, DecisionLogCreate, DecisionLogPublic, DecisionLogSummary
from profiles.tx import public, resolve_owner, transaction

__all__ = ["ActorDecisionLog", "DecisionLogStore"]


def _public(row: DecisionLogRow, user: str) -> DecisionLogPublic:
    return public(DecisionLogPublic, row, user=user)


def _summary(row: DecisionLogRow, user: str) -> DecisionLogSummary:
    choice = row.result.get("choice") if row.result else None
    return public(DecisionLogSummary, row, user=user, choice=choice if isinstance(choice, str) else None)


class DecisionLogStore:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def record(self, actor: Actor, entry: DecisionLogCreate) -> int:
        with transaction(self._sessions) as s:
            row = DecisionLogRow(user_id=actor.id, **entry.model_dump())
            s.add(row)
            s.flush()
            return row.id

    def for_actor(self, actor: Actor) -> ActorDecisionLog:
        return ActorDecisionLog(self, actor)

    def list(
        self,
        actor: Actor,
        owner: str | None = None,
        limit: int = 50,
        before_id: int | None = None,
        all_users: bool = False,
    ) -> builtins.list[DecisionLogSummary]:
        """The newest ``limit`` entries (newest first); page on with ``before_id``."""
        with transaction(self._sessions) as s:
            query = select(DecisionLogRow, UserRow.name).join(UserRow, DecisionLogRow.user_id == UserRow.id)
            if not (all_users and actor.is_admin):
                query = query.where(DecisionLogRow.user_id == resolve_owner(s, actor, owner, "decision log"))
            if before_id is not None:
                query = query.where(DecisionLogRow.id < before_id)
            query = query.order_by(DecisionLogRow.id.desc()).limit(limit)
            return [_summary(row, name) for row, name in s.execute(query)]

    def get(self, actor: Actor, entry_id: int) -> DecisionLogPublic:
        """Another user's entry looks exactly like a missing one (unless the actor is an admin)."""
        with transaction(self._sessions) as s:
            row = s.get(DecisionLogRow, entry_id)
            if row is None or (row.user_id != actor.id and not actor.is_admin):
                raise NotFound(f"no decision log entry {entry_id} (see `align log list`)")
            name = s.scalar(select(UserRow.name).where(UserRow.id == row.user_id)) or ""
            return _public(row, name)

    def export(self, actor: Actor, owner: str | None = None, batch: int = 500) -> Iterator[DecisionLogPublic]:
        """Every entry of one user, oldest first, read in batches."""
        last = 0
        while True:
            with transaction(self._sessions) as s:
                owner_id = resolve_owner(s, actor, owner, "decision log")
                name = s.scalar(select(UserRow.name).where(UserRow.id == owner_id)) or ""
                rows = list(
                    s.scalars(
                        select(DecisionLogRow)
                        .where(DecisionLogRow.user_id == owner_id, DecisionLogRow.id > last)
                        .order_by(DecisionLogRow.id)
                        .limit(batch)
                    )
                )
                out = [_public(r, name) for r in rows]
            yield from out
            if len(rows) < batch:
                return
            last = rows[-1].id


class ActorDecisionLog:
    """The log bound to one user: what the decision path is handed (``record(entry) -> id``)."""

    def __init__(self, store: DecisionLogStore, actor: Actor) -> None:
        self._store = store
        self.actor = actor

    def record(self, entry: DecisionLogCreate) -> int:
        return self._store.record(self.actor, entry)
