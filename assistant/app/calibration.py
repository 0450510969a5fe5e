"""Calibration in the app, stateless: each call replays the answers so far (kept by the browser).

The dilemmas and their precomputed choice probabilities (``DilemmaPool``) are built once per set
of attributes and shared by every session; a call costs one replay and one active selection. A set is
its sorted names (the same values in another order are the same calibration). A domain's whole set is
kept; of the sets callers choose, the ``POOLS_KEPT`` most recently used (each costs about 100 MB and
seconds to build; a build holds up only the callers of that same set).

Each call counts against the caller's requests per minute, and saving keeps the limits of every way
of storing a profile (``AppProfiles.check_room``: the profile count and the storage quota, which
counts the answers saved behind the profile too).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
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
from assistant.app.profiles import AppProfiles
from assistant.app.schemas import CalibrateRequest
from assistant.app.usage_limits import UsageLimits
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
POOLS_KEPT = 4  # sets of attributes a caller chose, besides each domain's whole set

Pool = tuple[Posterior, DilemmaPool]


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
    """Save the estimate from your answers as your profile (default name 'calibrated').

    ``profiles``: the profile count and storage quota a save is checked against; ``limits``: the
    requests per minute each call counts against (none: not checked)."""

    def __init__(
        self,
        store: Store,
        examples: Callable[[], ExampleAdmin | None],
        *,
        profiles: AppProfiles | None = None,
        limits: UsageLimits | None = None,
    ) -> None:
        self._store = store
        self._examples = examples  # the app's example store, where the dilemmas are first looked for
        self._profiles = profiles
        self._limits = limits
        self._items_lock = threading.Lock()  # a domain's items are read once
        self._items: dict[str, tuple[Sequence[DilemmaItem], str, list[str]]] = {}
        self._lock = threading.Lock()  # the dicts below; never held while a pool is built
        self._whole: dict[str, Pool] = {}  # domain -> the pool of all its attributes
        self._chosen: OrderedDict[tuple[str, tuple[str, ...]], Pool] = OrderedDict()  # least recent first
        self._building: dict[tuple[str, tuple[str, ...]], threading.Lock] = {}

    def _domain(self, domain: str) -> tuple[Sequence[DilemmaItem], str, list[str]]:
        """The domain's items, where they came from, and the attributes they can calibrate."""
        with self._items_lock:
            if domain not in self._items:
                items, origin = load_dilemma_items(self._examples, "auto", None, domain)
                self._items[domain] = (items, origin, usable_attributes(items))
            return self._items[domain]

    def _kept(self, key: tuple[str, tuple[str, ...]], whole: bool) -> Pool | None:
        with self._lock:
            if whole:
                return self._whole.get(key[0])
            pool = self._chosen.get(key)
            if pool is not None:
                self._chosen.move_to_end(key)
            return pool

    def _pool(self, domain: str, attributes: list[str] | None) -> Pool:
        items, origin, available = self._domain(domain)
        names = sorted(set(attributes)) if attributes else available
        unknown = [a for a in names if a not in available]
        if unknown or not names:
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise InputError(
                f"no dilemma in {origin} scores {', '.join(unknown[:5]) + more or 'any attribute'}; "
                f"these can be calibrated: {', '.join(available)}"
            )
        key, whole = (domain, tuple(names)), names == available
        pool = self._kept(key, whole)
        if pool is not None:
            return pool
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:  # callers of the same set wait for one build; everyone else goes on
            pool = self._kept(key, whole)
            if pool is not None:
                return pool
            try:
                prior = Posterior.prior(names, CalibrationModel(seed=SEED))
                pool = (prior, DilemmaPool(prior, calibration_dilemmas(items, names)))
            finally:
                with self._lock:
                    self._building.pop(key, None)
            with self._lock:
                if whole:
                    self._whole[domain] = pool
                else:
                    self._chosen[key] = pool
                    while len(self._chosen) > POOLS_KEPT:
                        self._chosen.popitem(last=False)
            return pool

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
        if self._limits is not None:
            self._limits.take(actor)
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
        """Save the estimate as the actor's profile ``req.name``, with the answers behind it; refused
        before anything is stored past the actor's requests per minute, profile count or quota."""
        if self._limits is not None:
            self._limits.take(actor)
        post, _, _, answered = self.replay(req)
        if not answered:
            raise InputError("answer at least one dilemma before saving")
        est = post.estimate()
        attributes = list(post.attributes)
        answers = [a.model_dump(mode="json") for a in post.answers]
        if self._profiles is not None:
            adding = json.dumps({"name": req.name, "attributes": attributes, "answers": answers})
            self._profiles.check_room(actor, [req.name], adding)
        store = self._store
        profile = save_estimate(store, actor, req.name, est)
        store.calibrations.save(actor, profile.name, attributes, answers, SEED)
        return CalibrationSaved(profile=profile, estimate=EstimatePublic.of(est))
