"""Conversations and their messages (for the chat): owned by a user, visible to them and admins."""

from __future__ import annotations

import builtins

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignment.errors import NotFound
from profiles.db import SessionFactory
from profiles.orm import ConversationRow, DecisionLogRow, MessageRow, ProfileRow, UserRow, utcnow
from profiles.schemas import (
    Actor,
    ConversationCreate,
    ConversationPublic,
    MessageCreate,
    MessagePublic,
)
from profiles.tx import public, resolve_owner, transaction

__all__ = ["ConversationStore"]


def _public(row: ConversationRow, owner: str) -> ConversationPublic:
    return public(ConversationPublic, row, owner=owner)


class ConversationStore:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def create(self, actor: Actor, data: ConversationCreate) -> ConversationPublic:
        with transaction(self._sessions) as s:
            profile_id = None
            if data.profile is not None:
                profile_id = s.scalar(
                    select(ProfileRow.id).where(
                        ProfileRow.owner_id == actor.id, ProfileRow.name == data.profile
                    )
                )
                if profile_id is None:
                    raise NotFound(f"no profile {data.profile!r} (see `align profiles list`)")
            row = ConversationRow(owner_id=actor.id, title=data.title, profile_id=profile_id)
            s.add(row)
            s.flush()
            return _public(row, actor.name)

    def list(self, actor: Actor, owner: str | None = None) -> builtins.list[ConversationPublic]:
        with transaction(self._sessions) as s:
            owner_id = resolve_owner(s, actor, owner, "conversations")
            name = s.scalar(select(UserRow.name).where(UserRow.id == owner_id)) or ""
            rows = s.scalars(
                select(ConversationRow)
                .where(ConversationRow.owner_id == owner_id)
                .order_by(ConversationRow.updated_at.desc(), ConversationRow.id.desc())
            )
            return [_public(r, name) for r in rows]

    def get(self, actor: Actor, conversation_id: int) -> ConversationPublic:
        with transaction(self._sessions) as s:
            row = self._visible(s, actor, conversation_id)
            name = s.scalar(select(UserRow.name).where(UserRow.id == row.owner_id)) or ""
            return _public(row, name)

    def add_message(self, actor: Actor, conversation_id: int, data: MessageCreate) -> MessagePublic:
        with transaction(self._sessions) as s:
            conv = self._visible(s, actor, conversation_id)
            if data.decision_id is not None:
                owner = s.scalar(select(DecisionLogRow.user_id).where(DecisionLogRow.id == data.decision_id))
                if owner != conv.owner_id:
                    raise NotFound(f"no decision with id {data.decision_id} in this user's log")
            row = MessageRow(
                conversation_id=conv.id, role=data.role, content=data.content, decision_id=data.decision_id
            )
            s.add(row)
            conv.updated_at = utcnow()
            s.flush()
            return MessagePublic.model_validate(row)

    def messages(self, actor: Actor, conversation_id: int) -> builtins.list[MessagePublic]:
        with transaction(self._sessions) as s:
            conv = self._visible(s, actor, conversation_id)
            rows = s.scalars(
                select(MessageRow).where(MessageRow.conversation_id == conv.id).order_by(MessageRow.id)
            )
            return [MessagePublic.model_validate(r) for r in rows]

    def stored_chars(self, actor: Actor) -> int:
        """How many characters of message text the actor's conversations hold (their storage use)."""
        with transaction(self._sessions) as s:
            total = s.scalar(
                select(func.coalesce(func.sum(func.length(MessageRow.content)), 0))
                .select_from(MessageRow)
                .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
                .where(ConversationRow.owner_id == actor.id)
            )
            return int(total or 0)

    def delete(self, actor: Actor, conversation_id: int) -> None:
        with transaction(self._sessions) as s:
            s.delete(self._visible(s, actor, conversation_id))

    @staticmethod
    def _visible(s: Session, actor: Actor, conversation_id: int) -> ConversationRow:
        row = s.get(ConversationRow, conversation_id)
        if row is None or (row.owner_id != actor.id and not actor.is_admin):
            raise NotFound(f"no conversation with id {conversation_id}")
        return row
