"""How many characters one user stores: conversations' message text, profiles (name, description,
targets, groups) with the calibration answers saved behind them, and the user's decision log rows
(their stored JSON and error text).

JSON columns are measured as text (``CAST(col AS TEXT)``), which SQLite and PostgreSQL both accept.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, and_, cast, func, select

from profiles.db import SessionFactory
from profiles.orm import CalibrationRow, ConversationRow, DecisionLogRow, MessageRow, ProfileRow
from profiles.schemas import Actor
from profiles.tx import transaction

__all__ = ["stored_chars"]


def _chars(*columns: Any) -> Any:
    """The summed length of ``columns`` over the selected rows (a NULL counts 0)."""
    total: Any = 0
    for column in columns:
        total = total + func.coalesce(func.sum(func.length(cast(column, Text))), 0)
    return total


def stored_chars(sessions: SessionFactory, actor: Actor) -> int:
    """The characters ``actor`` stores in conversations, profiles (and the answers behind them) and the
    decision log together."""
    with transaction(sessions) as s:
        messages = s.scalar(
            select(_chars(MessageRow.content))
            .select_from(MessageRow)
            .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
            .where(ConversationRow.owner_id == actor.id)
        )
        profiles = s.scalar(
            select(
                _chars(ProfileRow.name, ProfileRow.description, ProfileRow.targets, ProfileRow.groups)
            ).where(ProfileRow.owner_id == actor.id)
        )
        answers = s.scalar(  # of the profiles the user keeps (a deleted profile's go with it)
            select(_chars(CalibrationRow.attributes, CalibrationRow.answers))
            .select_from(CalibrationRow)
            .join(
                ProfileRow,
                and_(
                    ProfileRow.owner_id == CalibrationRow.user_id,
                    ProfileRow.name == CalibrationRow.profile_name,
                ),
            )
            .where(CalibrationRow.user_id == actor.id)
        )
        log = s.scalar(
            select(
                _chars(
                    DecisionLogRow.request,
                    DecisionLogRow.result,
                    DecisionLogRow.prompts,
                    DecisionLogRow.profile_snapshot,
                    DecisionLogRow.error,
                )
            ).where(DecisionLogRow.user_id == actor.id)
        )
        return int(messages or 0) + int(profiles or 0) + int(answers or 0) + int(log or 0)
