"""What a caller may ask of a decision, declared once for every door (chat, compare, decide, the API).

``DecisionOptions`` holds how a decision is taken (algorithm or decider, backbone, parameters, seed),
each bounded; ``DecisionInput`` (one decision: scenario, choices, target), ``ChatRequest``
(``assistant.decisions.chat``) and ``CompareColumn`` (``assistant.decisions.compare``) inherit it.
The values a decision aligns to are the field ``target`` everywhere; every request also accepts them
as ``targets`` (``TARGET_NAMES``), so the chat's, compare's and decide's JSON stay as they were.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

__all__ = [
    "MAX_ID",
    "MAX_PARAMS",
    "TARGET_NAMES",
    "AlignedOptions",
    "DecideRequest",
    "DecisionInput",
    "DecisionOptions",
    "Id",
    "Name",
    "Params",
    "Seed",
    "Target",
]

# Every whole number a request may carry is bounded: a database id fits PostgreSQL's INTEGER, a seed
# the backbones' 32-bit seeds; nothing unbounded reaches a store, a backbone or the JSON answer.
MAX_ID = 2**31 - 1
MAX_PARAMS = 50  # parameters one request may set for its algorithm
Id = Annotated[int, Field(ge=1, le=MAX_ID)]  # a stored row's id (a conversation, a logged decision)
Name = Annotated[str, Field(max_length=100)]  # an algorithm, decider, backbone, profile or owner name
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]  # the backbones' seeds are 32-bit
# an algorithm's parameters by name (the values are measured by the edge's payload limits)
Params = Annotated[dict[Name, Any], Field(max_length=MAX_PARAMS)]
Target = dict[Name, float]  # attribute -> value; the range is checked where the target is built

TARGET_NAMES = ("target", "targets")  # the names a request may give its values under


class DecisionOptions(BaseModel):
    """How a decision is taken: an algorithm or a decider (a named algorithm with its parameters),
    the backbone, parameters for the algorithm and a seed. None: the settings' defaults."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    algorithm: Name | None = None
    decider: Name | None = None
    backbone: Name | None = None
    params: Params = Field(default_factory=dict)
    seed: Seed | None = None


class AlignedOptions(DecisionOptions):
    """``DecisionOptions`` and the values the decision aligns to (``target``, also read as
    ``targets``). None or empty: no inline values (a stored profile, or the default decider)."""

    target: Target | None = Field(default=None, validation_alias=AliasChoices(*TARGET_NAMES))


class DecisionInput(AlignedOptions):
    """What a caller may ask of one decision (the CLI, the app's /decide, the chat): the one shape of
    a decide request. ``DecideRequest`` adds what only the assistant sets; the app's request adds a
    stored profile."""

    scenario: str
    choices: list[str]


class DecideRequest(DecisionInput):
    """A decision request as the decision service takes it: the caller's input, and where retrieval
    must look (set by the assistant, never by a caller)."""

    scenario_id: str | None = None  # retrieval never returns examples of this scenario
    domain: str | None = None  # retrieval only returns examples of this domain
    user: str | None = None  # the acting user: retrieval adds their own personal examples
    # what retrieval keeps out: "scenario" (the same scenario and near-duplicate texts), "attribute"
    # (that, and any example scoring the target's attributes), "group" (any example scoring the
    # target's attributes; the same question answered by other groups is allowed)
    holdout: Literal["scenario", "attribute", "group"] = "scenario"
