"""icl: in-context learning from retrieved example decisions (ALIGN's strongest prompt method).

The service retrieves ``k`` examples similar to the scenario that score the target's attributes
and hands them over in ``DecisionContext.examples``; this algorithm stays pure. Each example is
shown (inside a delimited ``<example>`` section) with the answer this target would choose (the
choice whose scores are closest to the target) and a short templated reason, as align-system's
in-context example generator does; then the model decides with the decision schema.
"""

from __future__ import annotations

from pydantic import Field

from alignment.algorithms.base import Algorithm, DecisionContext, Params
from alignment.algorithms.common import picked_decision
from alignment.backbone import Backbone
from alignment.errors import InputError
from alignment.examples import target_answer, target_reason
from alignment.feedback import PERSONAL_REASON
from alignment.models import AlignmentTarget, Decision, Example
from alignment.prompts import example_block, label_of, persona_system_prompt, question_messages

__all__ = ["ExampleParams", "IclAlgorithm", "IclParams", "answered_examples"]


class ExampleParams(Params):
    """Retrieval parameters the service reads (``k`` examples, optional MMR diversity)."""

    k: int = Field(default=3, ge=0, le=20)
    mmr_lambda: float | None = Field(default=None, ge=0.0, le=1.0)


class IclParams(ExampleParams):
    k: int = Field(default=3, ge=1, le=20)
    min_examples: int = Field(default=1, ge=0, le=20)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=200, ge=16, le=2048)
    retries: int = Field(default=2, ge=0, le=10)


def answered_examples(examples: list[Example], target: AlignmentTarget) -> list[tuple[Example, int, str]]:
    """(example, the target's answer, templated reason) for the examples that score the target.

    A personal example (the user's own feedback) is shown with the answer the user chose."""
    out = []
    for example in examples:
        if example.owner and example.chosen is not None:
            out.append((example, example.chosen, PERSONAL_REASON))
            continue
        answer = target_answer(example, target)
        if answer is not None:
            out.append((example, answer, target_reason(example, answer, target)))
    return out


class IclAlgorithm(Algorithm):
    name = "icl"
    Params = IclParams
    uses_examples = True

    def decide(self, context: DecisionContext, backbone: Backbone) -> Decision:
        p = self.params
        assert isinstance(p, IclParams) and context.target is not None
        target = context.target
        shown = answered_examples(list(context.examples)[: p.k], target)
        if len(shown) < p.min_examples:
            raise InputError(
                f"icl found {len(shown)} example decisions that score "
                f"{', '.join(target.values)} (needs {p.min_examples}); import examples with "
                "`align examples import FILE...`, or use the persona algorithm"
            )
        preamble = (
            "Here are example decisions this decision maker made in similar situations:\n"
            + "\n".join(example_block(example, answer, reason) for example, answer, reason in shown)
            + "\n\nNow the new situation:"
            if shown
            else ""
        )
        messages = question_messages(persona_system_prompt(target), context.scenario, preamble=preamble)
        return picked_decision(
            self.name,
            context,
            backbone,
            messages,
            p,
            examples=[example for example, _, _ in shown],
            extra={
                "example_answers": [
                    {"id": example.id, "answer": label_of(answer), "reason": reason}
                    for example, answer, reason in shown
                ]
            },
        )
