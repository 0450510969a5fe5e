"""Shared steps of the prompt-based algorithms: ask for one labelled choice."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel

from alignment.algorithms.base import DecisionContext
from alignment.backbone import Backbone
from alignment.models import ChoiceScore, Decision, Message, Scenario, Usage
from alignment.prompts import decision_schema, label_of, read_label
from alignment.structured import ChoiceAnswer, ask_structured

__all__ = ["Pick", "Sampling", "ask_choice", "picked_decision", "scores_from_picks"]


class Sampling(Protocol):
    """The sampling parameters of an algorithm that asks for one choice."""

    @property
    def temperature(self) -> float: ...
    @property
    def max_tokens(self) -> int: ...
    @property
    def retries(self) -> int: ...


class Pick(BaseModel):
    index: int
    reasoning: str
    usage: Usage
    seconds: float


def ask_choice(
    backbone: Backbone,
    messages: list[Message],
    scenario: Scenario,
    *,
    temperature: float,
    seed: int | None,
    max_tokens: int = 200,
    retries: int = 2,
) -> Pick:
    """One structured decision: returns the chosen index (of scenario.choices) and the reason."""
    labels = [label_of(i) for i in range(len(scenario.choices))]

    def check(answer: ChoiceAnswer) -> None:
        label = read_label(answer.choice, labels, scenario.choices)
        if label is None:
            raise ValueError(f"choice {answer.choice!r} is not one of {labels}")
        answer.choice = label  # an instruct model may write "(B)", "B) ..." or the option's text
        if not answer.reasoning.strip():
            raise ValueError("empty reasoning")

    reply = ask_structured(
        backbone,
        messages,
        ChoiceAnswer,
        decision_schema(len(scenario.choices)),
        temperature=temperature,
        seed=seed,
        max_tokens=max_tokens,
        retries=retries,
        check=check,
    )
    answer: ChoiceAnswer = reply.answers[0]
    return Pick(
        index=labels.index(answer.choice.strip().upper()),
        reasoning=answer.reasoning.strip(),
        usage=reply.usage,
        seconds=reply.seconds,
    )


def picked_decision(
    algorithm: str,
    context: DecisionContext,
    backbone: Backbone,
    messages: list[Message],
    sampling: Sampling,
    **fields: Any,
) -> Decision:
    """Ask BACKBONE once for a choice (``ask_choice``) and decide it: the pick scored 1, the other
    choices 0; FIELDS are the decision's other fields (the examples shown, ``extra``)."""
    scenario = context.scenario
    pick = ask_choice(
        backbone,
        messages,
        scenario,
        temperature=sampling.temperature,
        seed=context.seed,
        max_tokens=sampling.max_tokens,
        retries=sampling.retries,
    )
    return Decision(
        choice_index=pick.index,
        choice=scenario.choices[pick.index],
        justification=pick.reasoning,
        scores=[
            ChoiceScore(index=i, choice=c, score=1.0 if i == pick.index else 0.0)
            for i, c in enumerate(scenario.choices)
        ],
        algorithm=algorithm,
        backbone=backbone.name,
        target=context.target.values if context.target else {},
        prompts=[messages],
        timings={"backbone_s": pick.seconds},
        usage=pick.usage,
        **fields,
    )


def scores_from_picks(n: int, picks: list[int]) -> list[float]:
    """Share of samples that picked each choice."""
    total = max(len(picks), 1)
    return [sum(1 for p in picks if p == i) / total for i in range(n)]
