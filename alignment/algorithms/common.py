"""Shared steps of the prompt-based algorithms: ask for one labelled choice."""

from __future__ import annotations

from pydantic import BaseModel

from alignment.backbone import Backbone
from alignment.models import Message, Scenario, Usage
from alignment.prompts import decision_schema, label_of, read_label
from alignment.structured import ChoiceAnswer, ask_structured

__all__ = ["Pick", "ask_choice", "scores_from_picks"]


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


def scores_from_picks(n: int, picks: list[int]) -> list[float]:
    """Share of samples that picked each choice."""
    total = max(len(picks), 1)
    return [sum(1 for p in picks if p == i) / total for i in range(n)]
