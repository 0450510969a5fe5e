"""Side-by-side comparison: one scenario, 2..6 (backbone, algorithm, target) columns.

Columns on a backbone that serves one call at a time (the embedded model: ``backbone_concurrency``
1) run one after another, so a comparison holds at most one of its calls at a time, as a decision
does, and another person's call waits behind one call of it, not six; the other columns (a server
that takes several calls at once, an algorithm without a model) run at once."""

from __future__ import annotations

import contextvars
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from alignment.algorithms import create_algorithm
from alignment.errors import AlignError
from alignment.models import Decision
from assistant.backbones.serving import backbone_concurrency
from assistant.decisions.requests import AlignedOptions, DecideRequest, Name, Seed
from assistant.decisions.service import DecisionService

__all__ = ["MAX_COLUMNS", "ColumnResult", "CompareColumn", "CompareRequest", "Comparison", "compare", "lanes"]

MAX_COLUMNS = 6  # columns one comparison may run


class CompareColumn(AlignedOptions):
    """One column: how it decides (``AlignedOptions``; a column's own ``seed`` beats the request's)
    and for whom (a stored ``profile``, inline values, or both: the inline ones win)."""

    profile: Name | None = None

    @model_serializer(mode="wrap")
    def _as_asked(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A comparison's JSON names a column's values ``targets``, and its seed only when it has one."""
        data: dict[str, Any] = handler(self)
        if "target" in data:
            data["targets"] = data.pop("target")
        if data.get("seed", 0) is None:
            data.pop("seed", None)
        return data

    @property
    def targets(self) -> dict[str, float] | None:
        """``target`` by the name a comparison's JSON gives it."""
        return self.target

    def label(self) -> str:
        who = self.profile or (
            ", ".join(f"{k}={v:g}" for k, v in self.target.items()) if self.target else "no target"
        )
        return f"{self.decider or self.algorithm or 'default'} · {self.backbone or 'default'} · {who}"


class CompareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: str
    choices: list[str]
    columns: list[CompareColumn] = Field(min_length=2, max_length=MAX_COLUMNS)
    seed: Seed | None = None


class ColumnResult(BaseModel):
    label: str
    column: CompareColumn
    decision: Decision | None = None
    error: str | None = None
    disagrees: bool = False


class Comparison(BaseModel):
    scenario: str
    choices: list[str]
    results: list[ColumnResult]
    agreement: bool
    majority_choice: str | None


TargetResolver = Callable[[CompareColumn], dict[str, float] | None]


def lanes(service: DecisionService, requests: list[DecideRequest | AlignError]) -> list[list[int]]:
    """The columns (their indices) grouped into lanes that run at once, each lane's columns one
    after another: one lane per backbone that serves one call at a time, holding all its columns;
    every other column its own lane (a backbone that takes several calls, no model, or a request
    that fails before any call). A backbone whose concurrency cannot be read counts as one at a time."""
    serial: dict[str, list[int]] = {}
    out: list[list[int]] = []
    for i, request in enumerate(requests):
        backbone = None
        if isinstance(request, DecideRequest):
            try:
                algorithm, params, name = service.resolve(request)
                if create_algorithm(algorithm, **params).uses_backbone:
                    backbone = name
            except AlignError:
                backbone = None
        if backbone is not None:
            try:
                one_at_a_time = backbone_concurrency(service.settings, backbone) <= 1
            except Exception:  # a type that cannot tell is treated as the embedded model
                one_at_a_time = True
            if one_at_a_time:
                if backbone not in serial:
                    serial[backbone] = []
                    out.append(serial[backbone])
                serial[backbone].append(i)
                continue
        out.append([i])
    return out


def compare(service: DecisionService, request: CompareRequest, resolve_target: TargetResolver) -> Comparison:
    """Run the columns (in ``lanes``); mark the columns whose choice differs from the majority.

    Each lane runs in the caller's context (a copy of it per lane): the check that the asker is
    still there (``cancel.asking``) and the mark of background work (``PeopleFirst.background``) hold
    in the columns' threads too, so once the asker goes away every column stops at its next model
    call, and ``TurnCancelled`` ends the comparison."""

    def asked(column: CompareColumn) -> DecideRequest | AlignError:
        try:
            return DecideRequest(
                scenario=request.scenario,
                choices=request.choices,
                target=resolve_target(column),
                algorithm=column.algorithm,
                decider=column.decider,
                backbone=column.backbone,
                params=column.params,
                seed=request.seed if column.seed is None else column.seed,
            )
        except AlignError as exc:
            return exc

    def run(column: CompareColumn, asking: DecideRequest | AlignError) -> ColumnResult:
        try:
            if isinstance(asking, AlignError):
                raise asking
            # the columns' model work was checked together, before any of them started
            decision = service.decide(asking, budget=False)
        except AlignError as exc:
            return ColumnResult(label=column.label(), column=column, error=str(exc))
        return ColumnResult(label=column.label(), column=column, decision=decision)

    requests = [asked(c) for c in request.columns]
    # the columns' model work counts together against one request's budget
    service.check_budget([r for r in requests if isinstance(r, DecideRequest)])

    def run_lane(lane: list[int]) -> list[ColumnResult]:
        return [run(request.columns[i], requests[i]) for i in lane]

    groups = lanes(service, requests)
    by_index: dict[int, ColumnResult] = {}
    # one person's comparison: no evaluation item slips in between its columns
    with service.people.person(), ThreadPoolExecutor(max_workers=len(groups)) as pool:
        running = [(lane, pool.submit(contextvars.copy_context().run, run_lane, lane)) for lane in groups]
        for lane, future in running:
            by_index.update(zip(lane, future.result(), strict=True))
    results = [by_index[i] for i in range(len(request.columns))]
    chosen = [r.decision.choice_index for r in results if r.decision is not None]
    counts = Counter(chosen)
    majority = counts.most_common(1)[0][0] if counts else None
    for r in results:
        r.disagrees = r.decision is not None and r.decision.choice_index != majority
    return Comparison(
        scenario=request.scenario,
        choices=request.choices,
        results=results,
        agreement=len(counts) <= 1 and len(chosen) == len(results),
        majority_choice=None if majority is None else request.choices[majority],
    )
