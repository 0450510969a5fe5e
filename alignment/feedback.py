"""Feedback turned into what the system learns from (pure): a personal example, a calibration answer.

A personal example is the decision's scenario and options with ``chosen`` = the option the user
stands by, owned by that user (``owner``), in the ``personal`` domain. Its per-choice attribute
scores are the decision's estimates when it had them (regression), else unknown (empty).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from alignment.models import Example

if TYPE_CHECKING:  # numpy is imported only when an answer is built
    from alignment.calibration import Answer

__all__ = ["PERSONAL_DOMAIN", "PERSONAL_REASON", "feedback_answer", "personal_example", "personal_example_id"]

PERSONAL_DOMAIN = "personal"
PERSONAL_REASON = "The user chose this themselves (their own answer to this situation)."


def personal_example_id(owner: str, decision_id: int) -> str:
    return f"personal:{owner}:{decision_id}"


def personal_example(
    *,
    owner: str,
    decision_id: int,
    scenario: str,
    choices: Sequence[str],
    chosen: int,
    choice_scores: Sequence[dict[str, float]] = (),
) -> Example:
    scores = [dict(s) for s in choice_scores]
    complete = len(scores) == len(choices) and all(scores)
    return Example(
        id=personal_example_id(owner, decision_id),
        text=scenario,
        choices=list(choices),
        scores=scores if complete else [],
        chosen=chosen,
        domain=PERSONAL_DOMAIN,
        source=f"feedback:{owner}",
        scenario_id=f"decision-{decision_id}",
        owner=owner,
    )


def feedback_answer(
    decision_id: int, chosen: int, choice_scores: Sequence[dict[str, float]], attributes: Sequence[str]
) -> Answer | None:
    """A calibration answer from feedback, or None when the decision scored none of ``attributes``
    on every option (then the choice says nothing about them)."""
    if len(choice_scores) < 2 or not any(all(a in s for s in choice_scores) for a in attributes):
        return None
    from alignment.calibration import Answer

    scores = [{a: min(1.0, max(0.0, float(v))) for a, v in s.items()} for s in choice_scores]
    return Answer(dilemma_id=f"decision-{decision_id}", scores=scores, choice=chosen)
