"""regression: comparative regression (align-system's ``comparative_regression``).

One structured call scores every choice on each target attribute (an integer 0..10) with a short
bounded reason, optionally after retrieved examples shown with their true scores in the same JSON
shape. The decision is the choice whose estimates (divided by 10) are closest to the target
(sum of |estimate - target| over the target's attributes); every estimate is in the decision.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field, RootModel, model_validator

from alignment.algorithms.base import Algorithm, DecisionContext, calls_with_retries
from alignment.algorithms.icl import ExampleParams
from alignment.backbone import Backbone
from alignment.examples import choice_distance, regression_reason, relevant_attributes
from alignment.models import AlignmentTarget, Attribute, ChoiceScore, Decision, Example, Message
from alignment.prompts import DATA_NOTICE, LABELS, choice_block, delimit, label_of, read_label
from alignment.structured import ask_structured

__all__ = [
    "REASONING_MAX_CHARS",
    "RegressionAlgorithm",
    "RegressionParams",
    "closest_estimate",
    "example_scores_json",
    "regression_schema",
]

REASONING_MAX_CHARS = 120
SCALE = 10


class RegressionParams(ExampleParams):
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=32, le=4096)
    retries: int = Field(default=2, ge=0, le=10)


class _Answer(RootModel[dict[str, dict[str, Any]]]):
    @model_validator(mode="before")
    @classmethod
    def _labels_as_letters(cls, data: Any) -> Any:
        """Keys as an instruct model may write them ("(A)", "Option A", "A) ...") read as letters."""
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            letter = read_label(str(key), LABELS) or str(key)
            out.setdefault(letter, value)
        return out


def regression_schema(n_choices: int, attributes: list[str]) -> dict[str, Any]:
    """One property per choice label; each: a bounded reason and an integer 0..10 per attribute."""
    per_choice = {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string", "minLength": 1, "maxLength": REASONING_MAX_CHARS},
            **{a: {"type": "integer", "minimum": 0, "maximum": SCALE} for a in attributes},
        },
        "required": ["reasoning", *attributes],
        "additionalProperties": False,
    }
    labels = [label_of(i) for i in range(n_choices)]
    return {
        "type": "object",
        "properties": {label: per_choice for label in labels},
        "required": labels,
        "additionalProperties": False,
    }


def _check(answer: _Answer, labels: list[str], attributes: list[str]) -> None:
    data = answer.root
    missing = [label for label in labels if label not in data]
    if missing:
        raise ValueError(f"no estimates for choice {', '.join(missing)}")
    for label in labels:
        item = data[label]
        if not isinstance(item, dict):
            raise ValueError(f"choice {label}: expected an object")
        reasoning = item.get("reasoning")
        if not isinstance(reasoning, str) or not reasoning.strip():
            raise ValueError(f"choice {label}: empty reasoning")
        for a in attributes:
            value = item.get(a)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"choice {label}: {a!r} is {value!r}, not a number 0..{SCALE}")
            if not 0 <= value <= SCALE or value != int(value):
                raise ValueError(f"choice {label}: {a!r} is {value}, not an integer 0..{SCALE}")


def closest_estimate(estimates: list[dict[str, float]], target: dict[str, float]) -> tuple[int, list[float]]:
    """(index of the choice whose estimates in [0, 1] are closest to the target, all distances)."""
    attributes = list(target)
    distances = [choice_distance(e, target, attributes) for e in estimates]
    best = min(range(len(distances)), key=lambda i: (distances[i], i))
    return best, distances


def example_scores_json(example: Example, attributes: list[str]) -> str:
    """The example's true scores in the answer's JSON shape (0..10, templated reasons)."""
    shown: dict[str, dict[str, Any]] = {}
    for i, (choice, scores) in enumerate(zip(example.choices, example.scores, strict=False)):
        present = [a for a in attributes if a in scores]
        if not present:
            continue
        values = {a: round(scores[a] * SCALE) for a in present}
        reason = regression_reason(present[0], choice, values[present[0]])[:REASONING_MAX_CHARS]
        shown[label_of(i)] = {"reasoning": reason, **values}
    return json.dumps(shown, ensure_ascii=False)


def _attribute_section(attr: Attribute) -> str:
    parts = [attr.name]
    if attr.description:
        parts.append(f"Meaning: {attr.description}")
    if attr.high:
        parts.append(f"High (10): {attr.high}")
    if attr.low:
        parts.append(f"Low (0): {attr.low}")
    return delimit("attribute", " ".join(parts))


def regression_messages(
    context_target: AlignmentTarget, scenario_text: str, choices: list[str], examples: list[Example]
) -> list[Message]:
    attributes = list(context_target.values)
    system = (
        "You rate how strongly each choice of a decision reflects each attribute, on an integer scale "
        f"from 0 (not at all) to {SCALE} (completely). Rate every choice on every attribute, each with "
        "one short reason, and answer in JSON. The attributes:\n"
        + "\n".join(_attribute_section(context_target.attribute(a)) for a in attributes)
        + "\n"
        + DATA_NOTICE
    )
    parts: list[str] = []
    if examples:
        parts.append("Examples of rated decisions:")
        for example in examples:
            relevant = relevant_attributes(example.scores, context_target.values)
            parts.append(
                delimit(
                    "example",
                    f"Scenario: {example.text}\n"
                    + "\n".join(f"({label_of(i)}) {c}" for i, c in enumerate(example.choices))
                    + f"\nRatings: {example_scores_json(example, relevant)}",
                )
            )
        parts.append("Now rate the new situation.")
    parts.append(delimit("scenario", scenario_text))
    parts.append("Choices:\n" + choice_block(choices))
    labels = ", ".join(label_of(i) for i in range(len(choices)))
    parts.append(f"Rate every choice ({labels}) on: {', '.join(attributes)}.")
    return [Message(role="system", content=system), Message(role="user", content="\n\n".join(parts))]


class RegressionAlgorithm(Algorithm):
    name = "regression"
    Params = RegressionParams
    uses_examples = True

    def _max_tokens(self, choices: int, attributes: int) -> int:
        """The answer's tokens: as set, or enough for a bounded reason and the ratings of each choice."""
        p = self.params
        assert isinstance(p, RegressionParams)
        return p.max_tokens or min(4096, 32 + (45 + 8 * attributes) * choices)

    def model_tokens(self, choices: int, attributes: int) -> int:
        return calls_with_retries(1, self.params) * self._max_tokens(choices, attributes)

    def decide(self, context: DecisionContext, backbone: Backbone) -> Decision:
        p = self.params
        assert isinstance(p, RegressionParams) and context.target is not None
        target = context.target
        scenario = context.scenario
        attributes = list(target.values)
        labels = [label_of(i) for i in range(len(scenario.choices))]
        examples = [e for e in list(context.examples)[: p.k] if relevant_attributes(e.scores, target.values)]
        messages = regression_messages(target, scenario.text, scenario.choices, examples)
        max_tokens = self._max_tokens(len(labels), len(attributes))
        reply = ask_structured(
            backbone,
            messages,
            _Answer,
            regression_schema(len(labels), attributes),
            temperature=p.temperature,
            seed=context.seed,
            max_tokens=max_tokens,
            retries=p.retries,
            check=lambda answer: _check(answer, labels, attributes),
        )
        data = reply.answers[0].root
        estimates = [{a: float(data[label][a]) / SCALE for a in attributes} for label in labels]
        winner, distances = closest_estimate(estimates, target.values)
        reasons = [str(data[label]["reasoning"]).strip() for label in labels]
        summary = ", ".join(
            f"{a} {estimates[winner][a]:.1f} (target {target.values[a]:.2f})" for a in attributes
        )
        n = len(attributes)
        return Decision(
            choice_index=winner,
            choice=scenario.choices[winner],
            justification=f"{reasons[winner]} Estimated {summary}: the closest choice to the target.",
            scores=[
                ChoiceScore(
                    index=i,
                    choice=c,
                    score=1.0 - distances[i] / n,
                    attributes=estimates[i],
                    reasoning=reasons[i],
                )
                for i, c in enumerate(scenario.choices)
            ],
            algorithm=self.name,
            backbone=backbone.name,
            target=target.values,
            prompts=[messages],
            examples=examples,
            timings={"backbone_s": reply.seconds},
            usage=reply.usage,
            extra={"distances": distances, "attempts": reply.attempts},
        )
