"""Feedback on logged decisions: the user agrees, or says which option they would choose.

A user gives feedback only on their own decisions; another user's decision (or a missing one)
is ``NotFound``, for admins too (feedback speaks for the person who asked).
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from alignment.errors import InputError, NotFound
from profiles.db import SessionFactory
from profiles.orm import DecisionLogRow, FeedbackRow, utcnow
from profiles.schemas import Actor
from profiles.tx import transaction

__all__ = ["FeedbackCreate", "FeedbackPublic", "FeedbackStore"]


class FeedbackCreate(BaseModel):
    """What the user says (``would_choose``: the option's index, 0 = A)."""

    model_config = ConfigDict(extra="forbid")

    agree: bool
    would_choose: int | None = Field(default=None, ge=0)


class FeedbackPublic(BaseModel):
    id: int
    decision_id: int
    user: str
    agree: bool
    would_choose: int | None
    chosen: int  # the option the user stands by: would_choose, or the decision's own choice
    scenario: str
    choices: list[str]
    decision_choice: int
    choice_scores: list[dict[str, float]]  # per choice, the decision's attribute estimates ({} if none)
    profile_name: str | None
    created_at: datetime


def _choice_scores(result: dict[str, Any], n: int) -> list[dict[str, float]]:
    out: list[dict[str, float]] = [{} for _ in range(n)]
    for s in result.get("scores") or []:
        i = s.get("index")
        if isinstance(i, int) and 0 <= i < n and isinstance(s.get("attributes"), dict):
            out[i] = {str(k): float(v) for k, v in s["attributes"].items()}
    return out


class FeedbackStore:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def give(self, actor: Actor, decision_id: int, data: FeedbackCreate) -> FeedbackPublic:
        """Record feedback on one of the actor's own successful decisions (given again, it replaces
        the earlier one)."""
        with transaction(self._sessions) as s:
            row = s.get(DecisionLogRow, decision_id)
            if row is None or row.user_id != actor.id:
                raise NotFound(f"no decision {decision_id} of yours (see `align log list`)")
            if row.status != "ok" or not row.result:
                raise InputError(f"decision {decision_id} failed, so there is no answer to agree with")
            choices = [str(c) for c in row.request.get("choices") or []]
            decided = int(row.result.get("choice_index", -1))
            n = len(choices)
            letters = ", ".join(chr(ord("A") + i) for i in range(n))
            would = data.would_choose
            if would is not None and would >= n:
                raise InputError(f"decision {decision_id} has {n} options ({letters}); choose one of them")
            if data.agree:
                if would is not None and would != decided:
                    raise InputError(
                        f"you agree with option {chr(ord('A') + decided)} but would choose "
                        f"{chr(ord('A') + would)}; give --disagree with --would-choose instead"
                    )
                chosen = decided
            else:
                if would is None and n == 2:
                    would = 1 - decided
                if would is None:
                    raise InputError(
                        f"say which option you would choose instead ({letters}), e.g. --would-choose B"
                    )
                if would == decided:
                    raise InputError(
                        f"option {chr(ord('A') + would)} is what the assistant chose; give --agree instead"
                    )
                chosen = would
            fb = s.scalar(  # feedback again on the same decision replaces the last one
                select(FeedbackRow)
                .where(FeedbackRow.decision_id == decision_id, FeedbackRow.user_id == actor.id)
                .order_by(FeedbackRow.id.desc())
                .limit(1)
            )
            if fb is None:
                fb = FeedbackRow(decision_id=decision_id, user_id=actor.id)
                s.add(fb)
            fb.agree, fb.would_choose, fb.created_at = data.agree, would, utcnow()
            s.flush()
            return FeedbackPublic(
                id=fb.id,
                decision_id=decision_id,
                user=actor.name,
                agree=data.agree,
                would_choose=would,
                chosen=chosen,
                scenario=str(row.request.get("scenario") or ""),
                choices=choices,
                decision_choice=decided,
                choice_scores=_choice_scores(row.result, n),
                profile_name=row.profile_name,
                created_at=fb.created_at,
            )

    def list(self, actor: Actor, decision_id: int | None = None) -> builtins.list[dict[str, Any]]:
        """The actor's own feedback, newest first."""
        with transaction(self._sessions) as s:
            query = select(FeedbackRow).where(FeedbackRow.user_id == actor.id)
            if decision_id is not None:
                query = query.where(FeedbackRow.decision_id == decision_id)
            return [
                {
                    "id": r.id,
                    "decision_id": r.decision_id,
                    "agree": r.agree,
                    "would_choose": r.would_choose,
                    "created_at": r.created_at.isoformat(),
                }
                for r in s.scalars(query.order_by(FeedbackRow.id.desc()))
            ]
