"""Calibration in the app, stateless: each call replays the answers so far (kept by the browser).

The dilemmas and their precomputed choice probabilities (``DilemmaPool``) are built once per set
of attributes and shared by every session; a call costs one replay and one active selection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from pydantic import BaseModel

from alignment.calibration import (
    CalibrationEstimate,
    CalibrationModel,
    Dilemma,
    DilemmaPool,
    Direction,
    Posterior,
    calibration_dilemmas,
    usable_attributes,
)
from alignment.errors import InputError
from alignment.example_admin import ExampleAdmin
from assistant.app.schemas import CalibrateRequest
from assistant.decisions.calibration import DilemmaItem, load_dilemma_items, save_estimate
from profiles.schemas import Actor, ProfilePublic
from profiles.store import Store

__all__ = [
    "AppCalibration",
    "AttributeEstimatePublic",
    "CalibrationSaved",
    "CalibrationStep",
    "DilemmaPublic",
    "EstimatePublic",
]

SEED = 0


class AttributeEstimatePublic(BaseModel):
    """One attribute's estimate with its uncertainty (rounded to 3 places)."""

    value: float
    sd: float
    low: float  # 90% credible interval
    high: float
    direction: Direction
    confidence: float  # the probability of that direction
    evidence: int  # answers whose dilemma scores the attribute


class EstimatePublic(BaseModel):
    """The estimate from the answers so far; attributes no answer touched are left out."""

    answers: int
    attributes: dict[str, AttributeEstimatePublic]

    @classmethod
    def of(cls, est: CalibrationEstimate) -> EstimatePublic:
        return cls(
            answers=est.answers,
            attributes={
                n: AttributeEstimatePublic(
                    value=round(e.value, 3),
                    sd=round(e.sd, 3),
                    low=round(e.low, 3),
                    high=round(e.high, 3),
                    direction=e.direction,
                    confidence=round(e.confidence, 3),
                    evidence=e.evidence,
                )
                for n, e in est.attributes.items()
                if e.evidence > 0
            },
        )


class DilemmaPublic(BaseModel):
    id: str
    text: str
    choices: list[str]


class CalibrationStep(BaseModel):
    """The next dilemma (None when done) and the estimate so far."""

    done: bool
    answered: int
    count: int
    attributes: list[str]
    dilemma: DilemmaPublic | None
    estimate: EstimatePublic


class CalibrationSaved(BaseModel):
    profile: ProfilePublic
    estimate: EstimatePublic


def _dilemma(d: Dilemma) -> DilemmaPublic:
    return DilemmaPublic(id=d.id, text=d.text, choices=list(d.choices))


class AppCalibration:
    """Save the estimate from your answers as your profile (default name 'calibrated')."""

    def __init__(self, store: Store, examples: Callable[[], ExampleAdmin | None]) -> None:
        self._store = store
        self._examples = examples  # the app's example store, where the dilemmas are first looked for
        self._lock = threading.Lock()
        self._items: dict[str, tuple[Sequence[DilemmaItem], str]] = {}  # domain -> (items, origin)
        self._pools: dict[tuple[str, tuple[str, ...]], tuple[Posterior, DilemmaPool]] = {}

    def _pool(self, domain: str, attributes: list[str] | None) -> tuple[Posterior, DilemmaPool]:
        with self._lock:
            if domain not in self._items:
                self._items[domain] = load_dilemma_items(self._examples, "auto", None, domain)
            items, origin = self._items[domain]
            available = usable_attributes(items)
            names = attributes or available
            unknown = [a for a in names if a not in available]
            if unknown or not names:
                raise InputError(
                    f"no dilemma in {origin} scores {', '.join(unknown) or 'any attribute'}; "
                    f"these can be calibrated: {', '.join(available)}"
                )
            key = (domain, tuple(names))
            if key not in self._pools:
                prior = Posterior.prior(names, CalibrationModel(seed=SEED))
                self._pools[key] = (prior, DilemmaPool(prior, calibration_dilemmas(items, names)))
            return self._pools[key]

    def replay(self, req: CalibrateRequest) -> tuple[Posterior, DilemmaPool, list[str], int]:
        """(posterior, pool, asked ids, answered count) after the answers so far."""
        post, pool = self._pool(req.domain, req.attributes)
        asked: list[str] = []
        answered = 0
        for a in req.answers:
            if a.dilemma_id not in pool.index:
                raise InputError(f"no dilemma {a.dilemma_id!r}; start the calibration again")
            if a.dilemma_id in asked:
                raise InputError(f"dilemma {a.dilemma_id!r} was answered twice; start the calibration again")
            asked.append(a.dilemma_id)
            if a.choice is not None:
                post = pool.answer(post, a.dilemma_id, a.choice)
                answered += 1
        return post, pool, asked, answered

    def next(self, actor: Actor, req: CalibrateRequest) -> CalibrationStep:
        """The next most informative dilemma given your answers so far, and the estimate so far."""
        post, pool, asked, answered = self.replay(req)
        nxt = pool.next(post, asked=asked) if answered < req.count else None
        return CalibrationStep(
            done=nxt is None,
            answered=answered,
            count=req.count,
            attributes=list(post.attributes),
            dilemma=_dilemma(nxt) if nxt is not None else None,
            estimate=EstimatePublic.of(post.estimate(with_map=False)),
        )

    def save(self, actor: Actor, req: CalibrateRequest) -> CalibrationSaved:
        """Save the estimate as the actor's profile ``req.name``, with the answers behind it."""
        post, _, _, answered = self.replay(req)
        if not answered:
            raise InputError("answer at least one dilemma before saving")
        est = post.estimate()
        store = self._store
        profile = save_estimate(store, actor, req.name, est)
        store.calibrations.save(
            actor,
            profile.name,
            list(post.attributes),
            [a.model_dump(mode="json") for a in post.answers],
            SEED,
        )
        return CalibrationSaved(profile=profile, estimate=EstimatePublic.of(est))
