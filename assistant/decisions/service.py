"""The decision service: what the CLI, the app and the API all call."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError

from alignment.algorithms import Algorithm, DecisionContext, create_algorithm
from alignment.algorithms.base import PROMPT_OVERHEAD_TOKENS, text_tokens
from alignment.backbone import Backbone, GenerationRequest, GenerationResult
from alignment.confidence import with_confidence
from alignment.embedding import Embedder
from alignment.errors import AlignError, ConfigError, InputError, UnknownName
from alignment.examples import ExampleRetriever
from alignment.models import AlignmentTarget, Attribute, Decision, Example, Scenario, readable_name
from alignment.readers import (
    ALTERNATIVE_READER,
    DEFAULT_READER,
    ReaderRecord,
    combine_readers,
    preferred_readers,
)
from assistant.backbones import BackbonePool
from assistant.decisions.cancel import checked
from assistant.decisions.messages import validation_message
from assistant.decisions.priority import PeopleFirst
from assistant.decisions.requests import DecideRequest
from assistant.settings import Settings

__all__ = [
    "DEFAULT_REQUEST_TOKENS",
    "AttributeSource",
    "DecideRequest",
    "DecisionService",
    "budget_message",
    "validation_message",
]

# the settings' default of ``request_max_model_tokens`` (for settings-like test doubles without it)
DEFAULT_REQUEST_TOKENS = 150_000
CHOICE_PROMPT_TOKENS = 10  # a choice's label and delimiters in a prompt
ATTRIBUTE_PROMPT_TOKENS = 30  # a value's line in a persona prompt, besides its definition's text


def budget_message(tokens: int, limit: int, *, columns: int = 1) -> str:
    """Why a request over the budget is refused, and what to lower, in a person's words."""
    fewer = (
        "fewer choices, a shorter scenario or choices, fewer samples (n_aligned, n_opposite), fewer "
        "retries, fewer examples (k), fewer orders (debias 'none'), a lower max_tokens"
    )
    fewer += ", or fewer columns" if columns > 1 else ""
    return (
        f"this request could have the language model read and write up to {tokens:,} tokens (every "
        f"prompt it reads, with the scenario, choices, values and examples, and every answer it writes, "
        f"each sample, retry{' and column' if columns > 1 else ''} counted), more than the {limit:,} "
        f"one request may ask for, so it was not started. Ask for {fewer}."
    )


@runtime_checkable
class AttributeSource(Protocol):
    """Where the definitions of a target's values come from: the store's catalogue
    (``profiles.catalogue.AttributeCatalogue``, cached and kept fresh), or definitions given once."""

    def current(self) -> dict[str, Attribute]: ...


class _Given:
    """Definitions given once (a tool, a test)."""

    def __init__(self, attributes: Mapping[str, Attribute]) -> None:
        self._attributes = dict(attributes)

    def current(self) -> dict[str, Attribute]:
        return dict(self._attributes)


class DecisionService:
    def __init__(
        self,
        settings: Settings,
        backbones: BackbonePool,
        attributes: Mapping[str, Attribute] | AttributeSource | None = None,
        examples: ExampleRetriever | None = None,
        embedder: Embedder | None = None,
        readers: ReaderRecord | None = None,
    ) -> None:
        self.settings = settings
        self.backbones = backbones
        # which values the backbone's ratings read better than value-fit (alignment/readers.py)
        self.readers = readers
        self._attributes = attributes if isinstance(attributes, AttributeSource) else _Given(attributes or {})
        self.examples = examples  # the example store (icl, regression); None: no retrieval
        self.embedder = embedder  # sentence embeddings (value-fit); None: such algorithms fail clearly
        # people's decisions in flight: an evaluation waits for none before each item (priority.py)
        self.people = PeopleFirst()

    @property
    def attributes(self) -> dict[str, Attribute]:
        """The definitions targets are described with (a request's own are added to them)."""
        return self._attributes.current()

    def use_catalogue(self, catalogue: AttributeSource) -> None:
        """Describe targets with ``catalogue``'s definitions from now on (the app facade hands its
        store's here when it is composed)."""
        self._attributes = catalogue

    def _decider_name(self, request: DecideRequest) -> str | None:
        """The decider a request names; naming neither a decider nor an algorithm: the default one of
        the request's backbone (``Settings.decider_for``: an instruct backbone has its own)."""
        if request.decider is None and request.algorithm is None:
            decider_for = getattr(self.settings, "decider_for", None)  # settings-like test doubles
            return decider_for(request.backbone) if decider_for else self.settings.default_decider
        return request.decider

    def resolve(self, request: DecideRequest) -> tuple[str, dict[str, Any], str]:
        """(algorithm, params, backbone name) from a decider or from explicit names."""
        params: dict[str, Any] = {}
        backbone = request.backbone
        algorithm = request.algorithm
        decider_name = self._decider_name(request)
        if decider_name is not None:
            decider = self.settings.deciders.get(decider_name)
            if decider is None:
                raise UnknownName("decider", decider_name, list(self.settings.deciders))
            if algorithm is not None and algorithm != decider.algorithm:
                raise InputError("give either --decider or --algorithm, not both")
            algorithm = decider.algorithm
            params.update(decider.params)
            backbone = backbone or decider.backbone
        params.update(request.params)
        algorithm = algorithm or self.settings.default_algorithm
        backbone = backbone or self.settings.default_backbone
        if backbone not in self.settings.backbones:
            raise UnknownName("backbone", backbone, list(self.settings.backbones))
        return algorithm, params, backbone

    def prompt_tokens(self, request: DecideRequest, attributes: Mapping[str, Attribute] | None = None) -> int:
        """What one model call for ``request`` reads besides retrieved examples, estimated from its
        texts: the scenario, the choices and the target's values with their definitions."""
        known = {**self.attributes, **(attributes or {})}
        chars = len(request.scenario) + sum(len(c) for c in request.choices)
        for name in request.target or {}:
            definition = known.get(name)
            chars += len(name)
            if definition is not None:
                chars += len(definition.description) + len(definition.high) + len(definition.low)
        return (
            PROMPT_OVERHEAD_TOKENS
            + text_tokens(chars)
            + CHOICE_PROMPT_TOKENS * len(request.choices)
            + ATTRIBUTE_PROMPT_TOKENS * len(request.target or {})
        )

    def model_tokens(self, request: DecideRequest, attributes: Mapping[str, Attribute] | None = None) -> int:
        """The most tokens ``request`` may have the model read and write (``Algorithm.model_work``:
        every call's prompt and answer), with the backbone's ratings the default reader may add."""
        algorithm_name, params, _ = self.resolve(request)
        choices, attributes_n = len(request.choices), len(request.target or {})
        prompt = self.prompt_tokens(request, attributes)
        tokens = create_algorithm(algorithm_name, **params).model_work(choices, attributes_n, prompt)
        if self._decider_name(request) is not None and algorithm_name == DEFAULT_READER and request.target:
            tokens += create_algorithm(ALTERNATIVE_READER).model_work(choices, attributes_n, prompt)
        return tokens

    def check_budget(self, requests: Sequence[DecideRequest]) -> None:
        """Refuse, before any model call, requests that together could have the model read and write
        more tokens than one request may (``Settings.request_max_model_tokens``): a decision, a chat turn's, a
        comparison's columns summed. A request that names an unknown algorithm or a wrong parameter
        is left to fail in its own decision, with its own message."""
        limit = getattr(self.settings, "request_max_model_tokens", DEFAULT_REQUEST_TOKENS)
        total = 0
        for request in requests:
            try:
                total += self.model_tokens(request)
            except AlignError:
                continue
        if total > limit:
            raise InputError(budget_message(total, limit, columns=len(requests)))

    def decide(
        self, request: DecideRequest, attributes: dict[str, Attribute] | None = None, *, budget: bool = True
    ) -> Decision:
        """One decision. ``attributes``: definitions for this request (e.g. a stored profile's).
        Counted as a person's (``people``) unless asked inside ``people.background()``. ``budget``:
        refused past the per-request budget (``check_budget``); False for an admin's evaluation and
        for a comparison's columns, checked together before they start."""
        with self.people.person():
            return self._decide(request, attributes, budget)

    def _decide(
        self, request: DecideRequest, attributes: dict[str, Attribute] | None, budget: bool
    ) -> Decision:
        known = {**self.attributes, **(attributes or {})}
        algorithm_name, params, backbone_name = self.resolve(request)
        algorithm = create_algorithm(algorithm_name, **params)
        if budget:
            self.check_budget([request])
        try:
            scenario = Scenario(
                text=request.scenario, choices=request.choices, id=request.scenario_id, domain=request.domain
            )
            target = (
                AlignmentTarget(
                    values=request.target,
                    attributes={k: known[k] for k in request.target if k in known},
                )
                if request.target
                else None
            )
        except ValidationError as exc:
            raise InputError(validation_message(exc)) from None
        backbone = checked(self.backbones.get(backbone_name)) if algorithm.uses_backbone else _NoBackbone()
        started = time.perf_counter()
        context = DecisionContext(
            scenario=scenario,
            target=target,
            seed=request.seed,
            decider=self._decider_name(request),
            examples=self._retrieve(algorithm, scenario, target, request.user, request.holdout),
            definitions=known,
            embedder=self.embedder if algorithm.uses_embedder else None,
        )
        retrieval_s = time.perf_counter() - started
        decision = algorithm.run(context, backbone)
        if algorithm.uses_examples:
            decision.timings["retrieval_s"] = retrieval_s
        # through a decider (the default one included); value-fit named as the algorithm reads alone
        through_decider = self._decider_name(request) is not None
        if through_decider and algorithm_name == DEFAULT_READER and target and request.holdout == "scenario":
            decision = self._read_with_ratings(decision, context, target, backbone_name, request)
        return with_confidence(decision)

    def _read_with_ratings(
        self,
        decision: Decision,
        context: DecisionContext,
        target: AlignmentTarget,
        backbone_name: str,
        request: DecideRequest,
    ) -> Decision:
        """value-fit's decision, with the values that the reader record says the backbone's ratings
        follow better read from them, as measured on the decision's own domain (a request of no named
        domain uses no record measured on a specific one). Not with a held-out value (its record is
        its own examples), nor when the record was measured on another backbone. If the backbone
        fails, value-fit's decision stands, and says so."""
        record = self.readers
        if record is None or not self.settings.use_readers or record.backbone != backbone_name:
            return decision
        # a reader chosen on one domain's decisions reads values of that domain's decisions only
        tallies = preferred_readers(
            record, list(target.values), exclude_scenario=request.scenario_id, domain=request.domain
        )
        if not tallies:
            return decision
        rated_target = AlignmentTarget(
            values={a: target.values[a] for a in tallies},
            attributes={a: target.attributes[a] for a in tallies if a in target.attributes},
        )
        rater = create_algorithm(ALTERNATIVE_READER)
        try:
            rated = rater.run(
                context.model_copy(
                    update={
                        "target": rated_target,
                        "examples": self._retrieve(rater, context.scenario, rated_target, request.user),
                        "embedder": None,
                    }
                ),
                checked(self.backbones.get(backbone_name)),
            )
        except AlignError as exc:
            names = ", ".join(readable_name(target.attribute(a).name) for a in tallies)
            # the error's own words stay in ``extra``: they speak to an operator, not to the person
            note = (
                f"\n\nThe language model, which reads {names} best, did not answer; every value was read "
                "from examples and definitions."
            )
            return decision.model_copy(
                update={
                    "justification": decision.justification + note,
                    "extra": {**decision.extra, "rating_error": str(exc)},
                }
            )
        return combine_readers(decision, rated, target, tallies)

    def _retrieve(
        self,
        algorithm: Algorithm,
        scenario: Scenario,
        target: AlignmentTarget | None,
        user: str | None = None,
        holdout: str = "scenario",
    ) -> list[Example]:
        """Example decisions for algorithms that use them (k and mmr_lambda from their params);
        with ``user``, that user's personal examples too (and never another user's). ``holdout``
        (a DecideRequest's) says what the store keeps out; the algorithm's ``example_scope``
        ("target", the default, or "domain") whether examples must score the target's attributes."""
        k = int(getattr(algorithm.params, "k", 3))
        if not algorithm.uses_examples or k <= 0 or (algorithm.needs_target and target is None):
            return []
        if self.examples is None:
            raise ConfigError(
                f"algorithm {algorithm.name!r} needs the example store, but none is configured; "
                "import examples with `align examples import FILE...`"
            )
        mmr_lambda = getattr(algorithm.params, "mmr_lambda", None)
        extra: dict[str, Any] = {}  # only what differs from the defaults, so any ExampleRetriever works
        if user:
            extra["owner"] = user
        if holdout != "scenario":
            extra["holdout"] = holdout
        if algorithm.example_scope != "target":
            extra["scope"] = algorithm.example_scope
        return self.examples.retrieve(scenario, target, k=k, mmr_lambda=mmr_lambda, **extra)


class _NoBackbone(Backbone):
    """Stands where no model is needed (an algorithm without ``uses_backbone``), so none is loaded."""

    name = "none"

    def execute(self, request: GenerationRequest) -> GenerationResult:  # pragma: no cover
        raise InputError("this algorithm needs no backbone")
