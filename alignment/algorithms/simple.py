"""The baselines (unaligned, random) and the paper's persona prompt alignment."""

from __future__ import annotations

import random as _random

from pydantic import Field

from alignment.algorithms.base import Algorithm, DecisionContext, Params
from alignment.algorithms.common import picked_decision
from alignment.backbone import Backbone
from alignment.models import ChoiceScore, Decision, Usage
from alignment.prompts import persona_system_prompt, question_messages, unaligned_system_prompt

__all__ = ["PersonaAlgorithm", "RandomAlgorithm", "UnalignedAlgorithm"]


class SamplingParams(Params):
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=200, ge=16, le=2048)
    retries: int = Field(default=2, ge=0, le=10)


class UnalignedAlgorithm(Algorithm):
    """Baseline: a generic system prompt; the model picks a choice and gives its reason."""

    name = "unaligned"
    Params = SamplingParams
    needs_target = False

    def system_prompt(self, context: DecisionContext) -> str:
        return unaligned_system_prompt()

    def decide(self, context: DecisionContext, backbone: Backbone) -> Decision:
        p = self.params
        assert isinstance(p, SamplingParams)
        messages = question_messages(self.system_prompt(context), context.scenario)
        return picked_decision(self.name, context, backbone, messages, p)


class PersonaAlgorithm(UnalignedAlgorithm):
    """ALIGN's prompt-based alignment: a system prompt generated from the target's values."""

    name = "persona"
    needs_target = True

    def system_prompt(self, context: DecisionContext) -> str:
        assert context.target is not None
        return persona_system_prompt(context.target)


class RandomParams(Params):
    pass


class RandomAlgorithm(Algorithm):
    """Uniform random choice: the sanity floor of every metric."""

    name = "random"
    Params = RandomParams
    needs_target = False
    uses_backbone = False

    def decide(self, context: DecisionContext, backbone: Backbone) -> Decision:
        n = len(context.scenario.choices)
        index = _random.Random(context.seed).randrange(n)
        return Decision(
            choice_index=index,
            choice=context.scenario.choices[index],
            justification="Chosen uniformly at random (a baseline, not a recommendation).",
            scores=[
                ChoiceScore(index=i, choice=c, score=1.0 / n) for i, c in enumerate(context.scenario.choices)
            ],
            algorithm=self.name,
            backbone="none",
            target=context.target.values if context.target else {},
            usage=Usage(),
        )
