"""The algorithm boundary: one abstract method, ``decide``."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from alignment.backbone import Backbone, GenerationRequest, GenerationResult
from alignment.embedding import Embedder
from alignment.errors import InputError
from alignment.models import AlignmentTarget, Attribute, Decision, Example, Scenario

__all__ = [
    "CONTEXT_TOKENS",
    "DEFAULT_CALL_TOKENS",
    "EXAMPLE_PROMPT_TOKENS",
    "PROMPT_OVERHEAD_TOKENS",
    "Algorithm",
    "DecisionContext",
    "MeteredBackbone",
    "Params",
    "Stopwatch",
    "calls_with_retries",
    "text_tokens",
]


class Params(BaseModel):
    """Base of each algorithm's parameters; unknown keys are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DecisionContext(BaseModel):
    """Everything one decision needs besides the backbone."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    scenario: Scenario
    target: AlignmentTarget | None = None
    seed: int | None = None
    examples: list[Example] = []
    decider: str | None = None
    # every attribute definition the service knows (the target's own are in ``target.attributes``):
    # lets an algorithm read what the attributes of retrieved examples mean
    definitions: dict[str, Attribute] = {}
    embedder: Embedder | None = None  # for algorithms with ``uses_embedder``


DEFAULT_CALL_TOKENS = 1024  # a model call's tokens where an algorithm states no max_tokens
# what a model call reads, estimated before the call for the per-request budget: the texts' characters
# at CHARS_PER_TOKEN, plus the instructions, delimiters and chat template around them, plus each
# retrieved example shown, never more than a context holds (the embedded model's n_ctx)
CHARS_PER_TOKEN = 4
PROMPT_OVERHEAD_TOKENS = 200
EXAMPLE_PROMPT_TOKENS = 250
CONTEXT_TOKENS = 4096


def text_tokens(chars: int) -> int:
    """The tokens a text of ``chars`` characters is estimated to take in a prompt."""
    return -(-max(0, chars) // CHARS_PER_TOKEN)


def calls_with_retries(calls: int, params: Params) -> int:
    """``calls`` structured calls, each asked again up to ``params.retries`` times when invalid."""
    return calls * (1 + int(getattr(params, "retries", 0) or 0))


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.start


class MeteredBackbone(Backbone):
    """Passes requests on and adds up the CPU seconds the backbone reports for them."""

    def __init__(self, inner: Backbone) -> None:
        self.inner = inner
        self.name = inner.name
        self.capabilities = inner.capabilities
        self.cpu_seconds: float | None = None

    def execute(self, request: GenerationRequest) -> GenerationResult:
        result = self.inner.execute(request)
        if result.cpu_seconds is not None:
            self.cpu_seconds = (self.cpu_seconds or 0.0) + result.cpu_seconds
        return result


class Algorithm(ABC):
    """An alignment algorithm. Subclasses set ``name``, ``Params`` and implement ``decide``."""

    name: ClassVar[str]
    Params: ClassVar[type[Params]] = Params
    needs_target: ClassVar[bool] = True
    uses_examples: ClassVar[bool] = False
    uses_backbone: ClassVar[bool] = True  # False: the service loads no model for it
    uses_embedder: ClassVar[bool] = False  # True: the service hands it ``context.embedder``
    # "target": retrieved examples score the target's attributes; "domain": any example of the
    # scenario's domain (an algorithm that learns from related attributes and other groups)
    example_scope: ClassVar[str] = "target"

    def __init__(self, **params: Any) -> None:
        try:
            self.params = self.Params(**params)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InputError(f"parameter {where!r} of algorithm {self.name!r}: {first['msg']}") from None

    def run(self, context: DecisionContext, backbone: Backbone) -> Decision:
        """Check the request, then decide; adds the total time."""
        if self.needs_target and context.target is None:
            raise InputError(
                f"algorithm {self.name!r} needs an alignment target: pick one or more values and "
                "how much they matter to you (a target such as fairness=0.8), or choose a saved profile"
            )
        watch = Stopwatch()
        metered = MeteredBackbone(backbone)
        decision = self.decide(context, metered)
        decision.timings["total_s"] = watch.seconds()
        if metered.cpu_seconds is not None:  # the model's own CPU, where the backbone reports it
            decision.timings["backbone_cpu_s"] = metered.cpu_seconds
        decision.decider = context.decider
        decision.seed = context.seed
        return decision

    def model_tokens(self, choices: int, attributes: int) -> int:
        """The most tokens one decision of ``choices`` options for a target of ``attributes`` values
        may ask the model to generate: every call and every retry at its ``max_tokens`` (a call that
        only reads log-probabilities counts 1). The service refuses a request past its budget before
        any model call. This default fits one structured call with ``max_tokens`` and ``retries``
        (a plugin's own parameters may need its own count); an algorithm without a model asks none."""
        if not self.uses_backbone:
            return 0
        max_tokens = getattr(self.params, "max_tokens", None) or DEFAULT_CALL_TOKENS
        return calls_with_retries(1, self.params) * int(max_tokens)

    def model_calls(self, choices: int, attributes: int) -> int:
        """The most model calls one decision may make, each reading its whole prompt: every call and
        every retry, a log-probability read included. This default fits one structured call with
        ``retries``; an algorithm without a model makes none."""
        if not self.uses_backbone:
            return 0
        return calls_with_retries(1, self.params)

    def example_tokens(self) -> int:
        """The tokens the retrieved examples add to each prompt: ``k`` examples (its parameter) for an
        algorithm that shows them to the model."""
        if not (self.uses_examples and self.uses_backbone):
            return 0
        return int(getattr(self.params, "k", 0) or 0) * EXAMPLE_PROMPT_TOKENS

    def model_work(self, choices: int, attributes: int, prompt_tokens: int) -> int:
        """The most tokens one decision may have the model read and write: every call's prompt
        (``prompt_tokens``, the request's own texts, plus the examples, at most ``CONTEXT_TOKENS``)
        and every generated token (``model_tokens``)."""
        prompt = min(CONTEXT_TOKENS, prompt_tokens + self.example_tokens())
        return self.model_calls(choices, attributes) * prompt + self.model_tokens(choices, attributes)

    @abstractmethod
    def decide(self, context: DecisionContext, backbone: Backbone) -> Decision:
        """Make one decision."""
