"""persona-vote: align-system's positive/negative self-consistency with shuffled choices."""

from __future__ import annotations

import random

from pydantic import Field

from alignment.algorithms.base import Algorithm, DecisionContext, Params, calls_with_retries
from alignment.algorithms.common import ask_choice
from alignment.backbone import Backbone
from alignment.models import ChoiceScore, Decision, Message, Scenario, Usage
from alignment.prompts import persona_system_prompt, question_messages
from alignment.votes import calculate_votes, vote_winner

__all__ = ["PersonaVoteAlgorithm"]


class VoteParams(Params):
    n_aligned: int = Field(default=5, ge=1, le=32)
    n_opposite: int = Field(default=2, ge=0, le=32)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    shuffle: bool = True
    max_tokens: int = Field(default=200, ge=16, le=2048)
    retries: int = Field(default=2, ge=0, le=10)


class PersonaVoteAlgorithm(Algorithm):
    name = "persona-vote"
    Params = VoteParams

    def model_tokens(self, choices: int, attributes: int) -> int:
        p = self.params
        assert isinstance(p, VoteParams)
        return calls_with_retries(p.n_aligned + p.n_opposite, p) * p.max_tokens

    def model_calls(self, choices: int, attributes: int) -> int:
        p = self.params
        assert isinstance(p, VoteParams)
        return calls_with_retries(p.n_aligned + p.n_opposite, p)

    def decide(self, context: DecisionContext, backbone: Backbone) -> Decision:
        p = self.params
        assert isinstance(p, VoteParams) and context.target is not None
        scenario = context.scenario
        n = len(scenario.choices)
        rng = random.Random(context.seed)
        aligned_prompt = persona_system_prompt(context.target)
        opposite_prompt = persona_system_prompt(context.target.opposite())
        picks: dict[bool, list[int]] = {True: [], False: []}
        reasons: dict[int, str] = {}
        prompts: list[list[Message]] = []
        usage, backbone_s = Usage(), 0.0
        plan = [True] * p.n_aligned + [False] * p.n_opposite
        for k, is_aligned in enumerate(plan):
            order = list(range(n))
            if p.shuffle:
                rng.shuffle(order)
            shown = Scenario(text=scenario.text, choices=[scenario.choices[i] for i in order])
            messages = question_messages(aligned_prompt if is_aligned else opposite_prompt, shown)
            pick = ask_choice(
                backbone,
                messages,
                shown,
                temperature=p.temperature,
                seed=None if context.seed is None else context.seed + k,
                max_tokens=p.max_tokens,
                retries=p.retries,
            )
            original = order[pick.index]
            picks[is_aligned].append(original)
            if is_aligned and original not in reasons:
                reasons[original] = pick.reasoning
            prompts.append(messages)
            usage = usage + pick.usage
            backbone_s += pick.seconds
        votes = calculate_votes(n, picks[True], picks[False])
        winner = vote_winner(votes, picks[True])
        return Decision(
            choice_index=winner,
            choice=scenario.choices[winner],
            justification=reasons[winner],
            scores=[ChoiceScore(index=i, choice=c, score=votes[i]) for i, c in enumerate(scenario.choices)],
            algorithm=self.name,
            backbone=backbone.name,
            target=context.target.values,
            prompts=prompts,
            timings={"backbone_s": backbone_s},
            usage=usage,
            extra={"aligned_picks": picks[True], "opposite_picks": picks[False]},
        )
