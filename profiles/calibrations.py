"""The answers behind each calibrated profile: what ``align calibrate`` (or the app) asked and heard.

Kept so that feedback can add an answer and re-estimate the profile. Answers are stored as
``alignment.calibration.Answer`` dumps (self-contained: the dilemma's scores and the choice).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from alignment.errors import NotFound
from profiles.db import SessionFactory
from profiles.orm import CalibrationRow
from profiles.schemas import Actor
from profiles.tx import transaction

__all__ = ["CalibrationPublic", "CalibrationStore"]


class CalibrationPublic(BaseModel):
    profile_name: str
    attributes: list[str]
    seed: int
    answers: list[dict[str, Any]]
    updated_at: datetime


def _public(row: CalibrationRow) -> CalibrationPublic:
    return CalibrationPublic(
        profile_name=row.profile_name,
        attributes=list(row.attributes),
        seed=row.seed,
        answers=list(row.answers),
        updated_at=row.updated_at,
    )


class CalibrationStore:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def save(
        self, actor: Actor, profile_name: str, attributes: list[str], answers: list[dict[str, Any]], seed: int
    ) -> CalibrationPublic:
        """Create or replace the answers behind the actor's profile ``profile_name``."""
        with transaction(self._sessions) as s:
            row = s.scalar(
                select(CalibrationRow).where(
                    CalibrationRow.user_id == actor.id, CalibrationRow.profile_name == profile_name
                )
            )
            if row is None:
                row = CalibrationRow(user_id=actor.id, profile_name=profile_name)
                s.add(row)
            row.attributes = list(attributes)
            row.answers = list(answers)
            row.seed = seed
            s.flush()
            return _public(row)

    def get(self, actor: Actor, profile_name: str) -> CalibrationPublic:
        with transaction(self._sessions) as s:
            row = s.scalar(
                select(CalibrationRow).where(
                    CalibrationRow.user_id == actor.id, CalibrationRow.profile_name == profile_name
                )
            )
            if row is None:
                raise NotFound(
                    f"profile {profile_name!r} of {actor.name!r} was not calibrated (run `align calibrate`)"
                )
            return _public(row)

    def latest(self, actor: Actor) -> CalibrationPublic | None:
        """The actor's most recently updated calibration, if any."""
        with transaction(self._sessions) as s:
            row = s.scalar(
                select(CalibrationRow)
                .where(CalibrationRow.user_id == actor.id)
                .order_by(CalibrationRow.updated_at.desc(), CalibrationRow.id.desc())
                .limit(1)
            )
            return _public(row) if row is not None else None
