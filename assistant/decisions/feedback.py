"""Feedback on a decision, end to end: stored, turned into a personal example, and (when the user
has a calibrated profile) added to its answers and the profile re-estimated.

Used by ``align feedback`` and by the app facade. Handed the profile store and the example store.
"""

from __future__ import annotations

import contextlib
from typing import Any

from alignment.calibration import Answer, CalibrationModel, Posterior
from alignment.errors import NotFound
from alignment.feedback import feedback_answer, personal_example
from profiles.calibrations import CalibrationPublic
from profiles.feedback import FeedbackCreate, FeedbackPublic
from profiles.schemas import Actor
from profiles.store import Store

__all__ = ["give_feedback", "recalibrate"]


def _calibration(store: Store, actor: Actor, profile: str | None, decided_with: str | None) -> Any:
    """The calibration to update: the named one, else the decision's profile's, else the newest."""
    if profile:
        return store.calibrations.get(actor, profile)  # NotFound when that profile was not calibrated
    if decided_with:
        try:
            return store.calibrations.get(actor, decided_with)
        except NotFound:
            pass
    return store.calibrations.latest(actor)


def recalibrate(store: Store, actor: Actor, calibration: CalibrationPublic, answers: list[Answer]) -> Any:
    """Re-estimate from ``answers``; save the profile and the answers behind it. The estimate."""
    from assistant.decisions.calibration import save_estimate

    model = CalibrationModel(seed=calibration.seed)
    est = Posterior.prior(calibration.attributes, model).observe_all(answers).estimate()
    profile = save_estimate(store, actor, calibration.profile_name, est)
    store.calibrations.save(
        actor,
        calibration.profile_name,
        calibration.attributes,
        [a.model_dump(mode="json") for a in answers],
        calibration.seed,
    )
    return est, profile


def _update_calibration(
    store: Store, actor: Actor, fb: FeedbackPublic, profile: str | None
) -> dict[str, Any]:
    calibration = _calibration(store, actor, profile, fb.profile_name)
    if calibration is None:
        return {"updated": False, "reason": "you have no calibrated profile (run `align calibrate`)"}
    answer = feedback_answer(fb.decision_id, fb.chosen, fb.choice_scores, calibration.attributes)
    out: dict[str, Any] = {"profile": calibration.profile_name}
    if answer is None:
        return {
            **out,
            "updated": False,
            "reason": (
                f"decision {fb.decision_id} has no per-option scores of "
                f"{', '.join(calibration.attributes)} (a regression decision has them), so the "
                "choice says nothing about those values"
            ),
        }
    kept = [Answer(**a) for a in calibration.answers if a.get("dilemma_id") != answer.dilemma_id]
    est, saved = recalibrate(store, actor, calibration, [*kept, answer])
    return {
        **out,
        "updated": True,
        "answers": est.answers,
        "targets": dict(saved.targets),
        "version": saved.version,
    }


def give_feedback(
    store: Store,
    examples: Any | None,
    actor: Actor,
    decision_id: int,
    *,
    agree: bool,
    would_choose: int | None = None,
    profile: str | None = None,
) -> dict[str, Any]:
    """Store the feedback, add the personal example, update the calibrated estimate.

    ``examples``: the example store (``add_examples``/``delete``), or None when there is none (the
    feedback is stored, no personal example is made). ``profile``: the calibrated profile to update
    (default: the one the decision used, if calibrated, else the user's newest calibration).
    """
    if profile:
        store.calibrations.get(actor, profile)  # fail before anything is written
    fb = store.feedback.give(actor, decision_id, FeedbackCreate(agree=agree, would_choose=would_choose))
    result: dict[str, Any] = {
        "feedback": fb.model_dump(
            mode="json", include={"id", "decision_id", "agree", "would_choose", "chosen"}
        ),
        "chosen": fb.choices[fb.chosen],
    }
    if examples is not None:
        example = personal_example(
            owner=actor.name,
            decision_id=fb.decision_id,
            scenario=fb.scenario,
            choices=fb.choices,
            chosen=fb.chosen,
            choice_scores=fb.choice_scores,
        )
        with contextlib.suppress(NotFound):  # feedback again on the same decision replaces it
            examples.delete([example.id])
        examples.add_examples([example])
        result["example_id"] = example.id
    else:
        result["example_id"] = None
    result["calibration"] = _update_calibration(store, actor, fb, profile)
    return result
