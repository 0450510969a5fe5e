"""likelihood: pick the choice whose label is most probable under the aligned prompt."""

from __future__ import annotations

import itertools
import math
from typing import Literal

from pydantic import Field

from alignment.algorithms.base import Algorithm, DecisionContext, Params
from alignment.backbone import Backbone, GenerationRequest
from alignment.errors import BackboneError, InputError
from alignment.models import ChoiceScore, Decision, Message, Scenario, Usage
from alignment.prompts import (
    delimit,
    label_of,
    persona_system_prompt,
    question_messages,
    unaligned_system_prompt,
)

__all__ = ["LikelihoodAlgorithm", "choice_orders", "softmax"]

ANSWER_PREFILL = "The answer is ("
QUESTION = "Which choice do you make? Answer with the letter."


def softmax(logprobs: list[float]) -> list[float]:
    top = max(logprobs)
    exps = [math.exp(lp - top) for lp in logprobs]
    total = sum(exps)
    return [e / total for e in exps]


class LikelihoodParams(Params):
    justify: bool = True
    justification_tokens: int = Field(default=60, ge=8, le=512)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    # "none": the choices in the order given (the paper's way); "orders": each choice's label
    # log-probability averaged over choice orders (all orders up to 3 choices, cyclic shifts above),
    # which cancels a preference for a position; "contrast": that, minus the same under the
    # opposite target (1 - v), so what remains is what the target changes
    debias: Literal["none", "orders", "contrast"] = "none"


def choice_orders(n: int) -> list[list[int]]:
    """Orders to show n choices in: all permutations up to 3 choices, the n cyclic shifts above."""
    if n <= 3:
        return [list(p) for p in itertools.permutations(range(n))]
    return [[(start + i) % n for i in range(n)] for start in range(n)]


class LikelihoodAlgorithm(Algorithm):
    """Score each choice by the backbone's next-token log-probability of its label.

    The right method for base models and survey questions (OpinionQA reads a model's answer
    distribution this way). The justification is generated after the choice, conditioned on it.
    """

    name = "likelihood"
    Params = LikelihoodParams

    def _reads(self, choices: int) -> int:
        """One log-probability read per order shown (twice for "contrast")."""
        p = self.params
        assert isinstance(p, LikelihoodParams)
        if p.debias == "none":
            return 1
        return len(choice_orders(choices)) * (2 if p.debias == "contrast" else 1)

    def model_tokens(self, choices: int, attributes: int) -> int:
        """One token per log-probability read, and the justification."""
        p = self.params
        assert isinstance(p, LikelihoodParams)
        return self._reads(choices) + (p.justification_tokens if p.justify else 0)

    def model_calls(self, choices: int, attributes: int) -> int:
        """Each read reads the whole prompt; so does the justification."""
        p = self.params
        assert isinstance(p, LikelihoodParams)
        return self._reads(choices) + (1 if p.justify else 0)

    def decide(self, context: DecisionContext, backbone: Backbone) -> Decision:
        p = self.params
        assert isinstance(p, LikelihoodParams)
        if not backbone.capabilities.label_logprobs:
            raise InputError(
                f"backbone {backbone.name!r} cannot give log-probabilities; "
                "use another algorithm (persona, persona-vote) or a backbone that can"
            )
        if p.debias == "contrast" and context.target is None:
            raise InputError("debias 'contrast' needs an alignment target (it compares it with its opposite)")
        scenario = context.scenario
        system = persona_system_prompt(context.target) if context.target else unaligned_system_prompt()
        labels = [label_of(i) for i in range(len(scenario.choices))]
        orders = [list(range(len(labels)))] if p.debias == "none" else choice_orders(len(labels))
        logprobs, usage, backbone_s, prompts = self._scores(backbone, system, scenario, orders)
        messages = prompts[0]  # the first order is the order given (the justification continues it)
        if p.debias == "contrast" and context.target is not None:
            opposite = persona_system_prompt(context.target.opposite())
            against, more, seconds, _ = self._scores(backbone, opposite, scenario, orders)
            logprobs = [a - b for a, b in zip(logprobs, against, strict=True)]
            usage, backbone_s = usage + more, backbone_s + seconds
        probs = softmax(logprobs)
        winner = max(range(len(labels)), key=lambda i: (logprobs[i], -i))
        justification = f"Most likely answer under the aligned prompt (p={probs[winner]:.2f})."
        if p.justify:
            # the chosen option's text is data: inside its delimited section, as in the question
            chosen = delimit("choice", scenario.choices[winner], label=labels[winner])
            prefill = f"{ANSWER_PREFILL}{labels[winner]}).\n{chosen}\nI make this choice because"
            gen = backbone.execute(
                GenerationRequest(
                    messages=messages,
                    prefill=prefill,
                    max_tokens=p.justification_tokens,
                    temperature=p.temperature,
                    seed=context.seed,
                    stop=["\n", "<end_of_turn>"],
                )
            )
            usage, backbone_s = usage + gen.usage, backbone_s + gen.seconds
            text = (gen.texts[0] if gen.texts else "").strip()
            if text:
                justification = "Because " + text
        return Decision(
            extra={"debias": p.debias, "orders": len(orders)},
            choice_index=winner,
            choice=scenario.choices[winner],
            justification=justification,
            scores=[
                ChoiceScore(index=i, choice=c, score=probs[i], attributes={"logprob": logprobs[i]})
                for i, c in enumerate(scenario.choices)
            ],
            algorithm=self.name,
            backbone=backbone.name,
            target=context.target.values if context.target else {},
            prompts=prompts,
            timings={"backbone_s": backbone_s},
            usage=usage if isinstance(usage, Usage) else Usage(),
        )

    @staticmethod
    def _scores(
        backbone: Backbone, system: str, scenario: Scenario, orders: list[list[int]]
    ) -> tuple[list[float], Usage, float, list[list[Message]]]:
        """Each choice's label log-probability, averaged over the orders it is shown in."""
        n = len(scenario.choices)
        total = [0.0] * n
        usage, seconds, prompts = Usage(), 0.0, []
        for order in orders:
            shown = scenario.model_copy(update={"choices": [scenario.choices[i] for i in order]})
            messages = question_messages(system, shown, suffix=QUESTION)
            labels = [label_of(i) for i in range(n)]
            result = backbone.execute(
                GenerationRequest(messages=messages, label_logprobs=labels, prefill=ANSWER_PREFILL)
            )
            if result.label_logprobs is None or set(result.label_logprobs) != set(labels):
                raise BackboneError(f"backbone {backbone.name!r} returned no label log-probabilities")
            for position, original in enumerate(order):
                total[original] += result.label_logprobs[labels[position]] / len(orders)
            usage, seconds = usage + result.usage, seconds + result.seconds
            prompts.append(messages)
        return total, usage, seconds, prompts
