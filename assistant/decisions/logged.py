"""Every decision goes to the decision log: the service stays pure of SQL, the log is handed in."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any, Protocol

from alignment.errors import AlignError
from alignment.models import Attribute, Decision
from assistant.decisions import cancel
from assistant.decisions.requests import DecideRequest
from assistant.decisions.service import DecisionService
from profiles.profile_store import ProfileTarget
from profiles.schemas import DecisionLogCreate
from profiles.tx import unknown_attribute

__all__ = ["DecisionLog", "LoggedDecision", "decide_logged", "loggable_request", "request_with_profile"]

# a logged request is kept whole up to this many characters of JSON (the largest valid request, a
# full scenario with 26 full choices, is about a third of it); past it only its sizes are kept
MAX_LOGGED_REQUEST_CHARS = 64_000
MAX_LOGGED_ERROR_CHARS = 2_000


class DecisionLog(Protocol):
    """Where decisions are recorded (``profiles.decision_log.ActorDecisionLog`` is one)."""

    def record(self, entry: DecisionLogCreate) -> int: ...


class LoggedDecision:
    def __init__(self, decision: Decision, log_id: int) -> None:
        self.decision = decision
        self.log_id = log_id


def request_with_profile(request: DecideRequest, profile: ProfileTarget | None) -> DecideRequest:
    """The profile's values as the target; inline target values add to them and win."""
    if profile is None:
        return request
    return request.model_copy(update={"target": {**profile.values, **(request.target or {})}})


def loggable_request(request: dict[str, Any]) -> dict[str, Any]:
    """``request`` itself, or for one too large to keep, a short record of its sizes (never the text)."""
    size = len(json.dumps(request, ensure_ascii=False, default=str))
    if size <= MAX_LOGGED_REQUEST_CHARS:
        return request
    choices = request.get("choices")
    return {
        "omitted": "the request was too large to log",
        "json_chars": size,
        "scenario_chars": len(str(request.get("scenario", ""))),
        "choices": len(choices) if isinstance(choices, list) else None,
        "choice_chars": sum(len(str(c)) for c in choices) if isinstance(choices, list) else None,
    }


def decide_logged(
    service: DecisionService,
    request: DecideRequest,
    log: DecisionLog,
    *,
    profile: ProfileTarget | None = None,
    attributes: dict[str, Attribute] | None = None,
) -> LoggedDecision:
    """Decide and record the outcome; a failed decision is recorded as failed, then re-raised."""
    request = request_with_profile(request, profile)
    actor = getattr(log, "actor", None)
    if request.user is None and actor is not None:  # retrieval adds the acting user's own examples
        request = request.model_copy(update={"user": actor.name})
    known = {**(attributes or {}), **(profile.attributes if profile else {})}
    names: dict[str, Any] = {"algorithm": request.algorithm, "backbone": request.backbone}
    with contextlib.suppress(AlignError):  # an unknown name fails again, and is logged, in decide
        names["algorithm"], _, names["backbone"] = service.resolve(request)
    base: dict[str, Any] = {
        "request": loggable_request(request.model_dump(mode="json")),
        "decider": request.decider,
        "profile_id": profile.profile.id if profile else None,
        "profile_name": profile.profile.name if profile else None,
        "profile_snapshot": profile.snapshot() if profile else None,
    }
    start = time.perf_counter()
    try:
        if attributes and request.target:  # definitions exist: a target must name one of them
            for name in request.target:
                if name not in known:
                    raise unknown_attribute(name, sorted(known))
        decision = service.decide(request, attributes=known)
    except cancel.TurnCancelled:
        raise  # nobody is waiting for it any more: not logged
    except Exception as exc:
        message = str(exc) if isinstance(exc, AlignError) else f"{type(exc).__name__}: {exc}"
        message = message[:MAX_LOGGED_ERROR_CHARS]
        log.record(
            DecisionLogCreate(
                status="failed",
                error=message,
                duration_s=time.perf_counter() - start,
                **names,
                **base,
            )
        )
        raise
    cancel.check()  # nobody is waiting for it any more: not logged
    duration = time.perf_counter() - start
    result = decision.model_dump(mode="json", exclude={"prompts"})
    log_id = log.record(
        DecisionLogCreate(
            status="ok",
            result=result,
            algorithm=decision.algorithm,
            backbone=decision.backbone,
            prompts=[[m.model_dump(mode="json") for m in p] for p in decision.prompts],
            timings={k: float(v) for k, v in decision.timings.items()},
            duration_s=duration,
            **base,
        )
    )
    return LoggedDecision(decision, log_id)
