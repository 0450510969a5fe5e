"""Feedback on a decision, end to end: stored, turned into a personal example, and (when the user
has a calibrated profile) added to its answers and the profile re-estimated.

Used by ``align feedback`` and by the app facade. Handed the profile store and the example store.
"""

from __future__ import annotations

import contextlib

from pydantic import BaseModel, SerializerFunctionWrapHandler, model_serializer

from alignment.calibration import Answer, CalibrationEstimate, CalibrationModel, Posterior
from alignment.errors import NotFound
from alignment.example_admin import ExampleAdmin
from alignment.feedback import feedback_answer, personal_example
from profiles.calibrations import CalibrationPublic
from profiles.feedback import FeedbackCreate, FeedbackPublic
from profiles.schemas import Actor, ProfilePublic
from profiles.store import Store

__all__ = ["CalibrationUpdate", "FeedbackGiven", "FeedbackResult", "give_feedback", "recalibrate"]


class FeedbackGiven(BaseModel):
    """The stored feedback, as its giver sees it (a part of ``FeedbackPublic``)."""

    id: int
    decision_id: int
    agree: bool
    would_choose: int | None
    chosen: int  # the option the user stands by: would_choose, or the decision's own choice


class CalibrationUpdate(BaseModel):
    """What the feedback did to a calibrated profile: re-estimated (``answers``, ``targets``,
    ``version``), or why not (``reason``). Fields that do not apply are left out of the JSON."""

    profile: str | None = None
    updated: bool
    reason: str | None = None
    answers: int | None = None
    targets: dict[str, float] | None = None
    version: int | None = None

    @model_serializer(mode="wrap")
    def _present(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        return {k: v for k, v in handler(self).items() if v is not None}


class FeedbackResult(BaseModel):
    """The feedback stored, the option stood by (its text), the personal example made (None without
    an example store), and the calibrated profile's update."""

    feedback: FeedbackGiven
    chosen: str
    example_id: str | None
    calibration: CalibrationUpdate


def _calibration(
    store: Store, actor: Actor, profile: str | None, decided_with: str | None
) -> CalibrationPublic | None:
    """The calibration to update: the named one, else the decision's profile's, else the newest."""
    if profile:
        return store.calibrations.get(actor, profile)  # NotFound when that profile was not calibrated
    if decided_with:
        try:
            return store.calibrations.get(actor, decided_with)
        except NotFound:
            pass
    return store.calibrations.latest(actor)


def recalibrate(
    store: Store, actor: Actor, calibration: CalibrationPublic, answers: list[Answer]
) -> tuple[CalibrationEstimate, ProfilePublic]:
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
) -> CalibrationUpdate:
    calibration = _calibration(store, actor, profile, fb.profile_name)
    if calibration is None:
        return CalibrationUpdate(
            updated=False, reason="you have no calibrated profile (run `align calibrate`)"
        )
    answer = feedback_answer(fb.decision_id, fb.chosen, fb.choice_scores, calibration.attributes)
    if answer is None:
        return CalibrationUpdate(
            profile=calibration.profile_name,
            updated=False,
            reason=(
                f"decision {fb.decision_id} has no per-option scores of "
                f"{', '.join(calibration.attributes)} (a regression decision has them), so the "
                "choice says nothing about those values"
            ),
        )
    kept = [Answer(**a) for a in calibration.answers if a.get("dilemma_id") != answer.dilemma_id]
    est, saved = recalibrate(store, actor, calibration, [*kept, answer])
    return CalibrationUpdate(
        profile=calibration.profile_name,
        updated=True,
        answers=est.answers,
        targets=dict(saved.targets),
        version=saved.version,
    )


# what of a feedback its personal example is made of (``personal_example``'s other arguments)
_EXAMPLE_FIELDS = {"decision_id", "scenario", "choices", "chosen", "choice_scores"}


def give_feedback(
    store: Store,
    examples: ExampleAdmin | None,
    actor: Actor,
    decision_id: int,
    *,
    agree: bool,
    would_choose: int | None = None,
    profile: str | None = None,
) -> FeedbackResult:
    """Store the feedback, add the personal example, update the calibrated estimate.

    ``examples``: the example store (``add_examples``/``delete``), or None when there is none (the
    feedback is stored, no personal example is made). ``profile``: the calibrated profile to update
    (default: the one the decision used, if calibrated, else the user's newest calibration).
    """
    if profile:
        store.calibrations.get(actor, profile)  # fail before anything is written
    fb = store.feedback.give(actor, decision_id, FeedbackCreate(agree=agree, would_choose=would_choose))
    example_id: str | None = None
    if examples is not None:
        example = personal_example(owner=actor.name, **fb.model_dump(include=_EXAMPLE_FIELDS))
        with contextlib.suppress(NotFound):  # feedback again on the same decision replaces it
            examples.delete([example.id])
        examples.add_examples([example])
        example_id = example.id
    return FeedbackResult(
        feedback=FeedbackGiven.model_validate(fb.model_dump(include=set(FeedbackGiven.model_fields))),
        chosen=fb.choices[fb.chosen],
        example_id=example_id,
        calibration=_update_calibration(store, actor, fb, profile),
    )
