"""value-fit: estimate how each option stands on each of the person's values, pick the closest.

No language model is asked; the 270M embedded model picks option A whatever the prompt, while
sentence embeddings carry the signal (docs/results/decider.md). For each target attribute and
option the estimate in [0, 1] combines:

- **examples** (in the spirit of align-system's Kaleido, learned from the store): a kernel
  regression over the options of retrieved example decisions. An example option's score on
  attribute ``b`` counts with weight
  ``exp((cos(option, example option) - 1) / choice_temperature)``
  ``* exp((cos(scenario, example scenario) - 1) / scenario_temperature) * relatedness(a, b)``,
  where ``relatedness`` is 1 for the same attribute and ``exp((cos(def a, def b) - 1) /
  attribute_temperature)`` for another one (an attribute an admin just created borrows from
  the ones that mean nearly the same).
- **groups** (survey answers of demographic groups, named ``CATEGORY_group``): the same question
  answered by other groups gives the population's answer; a group's deviation from it is
  estimated as ``sibling_weight`` times the deviation of the other groups of its category (groups
  of one category split the population between them, so their deviations oppose).
- **definition** (zero-shot): ``cos(option, high text) - w * cos(option, low text)`` of the
  attribute's definition (``w``: ``low_weight``, per domain), centred on the options' mean and
  squashed to (0, 1) by a logistic.

Where examples give evidence (kernel mass ``m``) the estimate is ``l * examples + (1 - l) *
definition`` with ``l = m / (m + evidence_prior)`` (per domain: everyday examples, dilemmas on other
topics, need more mass to override the definition); with none, the definition alone decides. For a
domain in ``nearest_half_by_domain`` (everyday) ``l = k / (k + half)`` instead, ``k`` the kernel weight of
the nearest stored option: 40 far examples then count no more than one, and a dilemma far from every
stored decision is read from the definition (and its confidence, whose evidence term is ``l``, falls).
A **norm reader** (``alignment/norms.py``, per domain in ``norm_share_by_domain``) can be mixed in the
same way. Neither is on by default (docs/results/everyday.md says what they did on the dev files).
The option whose estimates are nearest the target (sum of |estimate - target|) wins, after two
penalties for options that decide nothing about the values (a menu's "CHECK PULSE", "SITREP"):

- **unscored**: per option, the kernel-weighted share of similar stored options that are scored on
  any value; ``unscored_penalty * max(0, best share - share - 0.25)`` per value is added to its
  distance;
- **relevance**: for a value no retrieved example scores, in a menu of more than two options,
  ``relevance_penalty`` times how much less related the option is (cosine to the value's high and
  low texts) than the most related option.

Options that name a person of their scenario ("Treat Patient A", "Casualty O") are compared with
stored options naming the same person (``entity_match`` added to their cosine, subtracted where
both name people and none is shared): a person keeps who they are across the probes of a story.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Annotated, Any

import numpy as np
from pydantic import Field

from alignment.algorithms.base import Algorithm, DecisionContext, Params
from alignment.backbone import Backbone
from alignment.errors import ConfigError
from alignment.examples import closest_choice, normalize_for_match
from alignment.grounding import ground_choices, named_entities
from alignment.justify import example_note, explain_fit, weak_evidence_note
from alignment.models import (
    AlignmentTarget,
    Attribute,
    ChoiceScore,
    Decision,
    Example,
    Scenario,
    readable_name,
)
from alignment.norms import NORM_ACTS, direction_weight, norm_scores, norm_texts, presence

__all__ = ["ValueFitAlgorithm", "ValueFitParams", "group_category"]

SAME_TEXT_SIMILARITY = 0.97
SCORED_PRIOR = 1e-3  # pseudo-mass of "scored" in an option's scored share
UNSCORED_MARGIN = 0.25  # a scored share this far below the best option's costs nothing
# a value (or a decision) whose stored decisions weigh under this share of its estimate rests on
# its definition alone, and its justification says so
WEAK_EVIDENCE = 0.05
_GROUP_RE = re.compile(r"([A-Z][A-Z0-9]+)_(.+)")

Matrix = Any  # numpy arrays (kept loose for mypy)
_Prior = Annotated[float, Field(gt=0.0, le=100.0)]


class ValueFitParams(Params):
    k: int = Field(default=40, ge=0, le=200, description="example decisions retrieved")
    mmr_lambda: float | None = Field(default=None, ge=0.0, le=1.0)
    choice_temperature: float = Field(default=0.2, gt=0.0, le=10.0)
    scenario_temperature: float = Field(default=0.3, gt=0.0, le=10.0)
    attribute_temperature: float = Field(default=0.05, gt=0.0, le=10.0)
    evidence_prior: _Prior = 1e-4
    # per attribute domain (cross-validated over two halves of the everyday packs' dilemmas,
    # docs/results/decider.md): everyday examples are dilemmas on other topics, so
    # their weak kernel mass must not override a clear reading of the value's definition; triage
    # examples come from the same families of dilemmas and need the small default
    evidence_prior_by_domain: dict[str, _Prior] = Field(default_factory=lambda: {"everyday": 0.003})
    sibling_weight: float = Field(default=-1.0, ge=-10.0, le=10.0)
    related_group_weight: float = Field(default=0.5, ge=-10.0, le=10.0)
    group_temperature: float = Field(default=0.1, gt=0.0, le=10.0)
    use_examples: bool = True
    use_definition: bool = True
    # weight of the similarity to the ``low`` text in the definition contrast, per attribute domain
    # (chosen on the development halves: everyday values' low texts share their topic with the high
    # texts, "misses family events" is about family, so they count less; triage needs them whole)
    low_weight: float = Field(default=0.25, ge=0.0, le=2.0)
    low_weight_by_domain: dict[str, float] = Field(default_factory=lambda: {"triage": 1.0})
    # options that name someone ("Treat Patient A") are read with the scenario's clauses about them
    ground_entities: bool = False
    ground_definition: bool = True  # the grounded text in the definition contrast too
    # added to an option's distance per value, times how much less often than the most-scored option
    # the stored options like it are scored on any value (procedural options: "CHECK PULSE")
    unscored_penalty: float = Field(default=1.0, ge=0.0, le=10.0)
    # added to an option's distance per value, times how much less related (cosine to the value's
    # high and low texts) it is than the most related option
    relevance_penalty: float = Field(default=3.0, ge=0.0, le=100.0)
    # added to the cosine of two options that name the same person of their scenarios (subtracted
    # where both name people and none is shared): "Treat Patient A" is the same person across probes
    entity_match: float = Field(default=0.2, ge=0.0, le=1.0)
    # share of a linear direction learned from the stored options: the sum over scored pairs of
    # options of (higher - lower option embedding), weighted by score gap, scenario similarity and
    # relatedness; each option is read by its projection on it (a probe that carries across scenarios)
    direction_share: float = Field(default=0.0, ge=0.0, le=1.0)
    direction_own_only: bool = False  # learn the direction from the value's own examples only
    # per attribute domain, the kernel weight of the nearest stored option at which the examples' share
    # of an estimate is one half (``nearest / (nearest + half)``, in place of the mass rule above): the
    # share falls when every retrieved example is far from the item, however many there are (40 far
    # examples add up to a large mass and say little). Absent: the mass rule
    # (none by default: the value that helped on the development files, everyday 1e-4, did so by giving
    # the examples more weight than the mass rule, and more confidence to far ones; docs/results/everyday.md)
    nearest_half_by_domain: dict[str, _Prior] = Field(default_factory=dict)
    # per attribute domain, the norm reader's share of an estimate (alignment/norms.py) for a value whose
    # definition bears on norms in full, scaled by how much it does and by how much the options are
    # about norms at all. Absent: no norm reader (a domain it was not measured on)
    norm_share_by_domain: dict[str, float] = Field(default_factory=dict)
    norm_direction_full: float = Field(default=0.1, gt=0.0, le=2.0)  # norm(high) - norm(low) counting whole
    norm_presence: tuple[float, float] = (0.3, 0.5)  # an option's cosine to a norm act: (0 at, 1 at)


def group_category(name: str) -> str | None:
    """The category of a demographic-group attribute (``POLPARTY_Democrat`` -> ``POLPARTY``)."""
    match = _GROUP_RE.fullmatch(name)
    return match.group(1) if match else None


def _describe(name: str, attribute: Attribute | None) -> str:
    """Text that says what an attribute is (for relatedness between attributes)."""
    human = readable_name(name)
    if attribute is None:
        return human
    parts = [human]
    if attribute.description:
        parts.append(attribute.description)
    return ": ".join(parts)


DEFINITION_SPREAD = 0.05  # a contrast difference of this size moves an estimate from 0.5 to 0.73


def _scale(values: Matrix) -> Matrix:
    """Contrasts to [0, 1] around the options' mean: graded, never a 0 / 1 certainty."""
    centred = (values - values.mean()) / DEFINITION_SPREAD
    return 1.0 / (1.0 + np.exp(-centred))


class _Vectors:
    """Embeddings of one decision's texts, each text embedded once."""

    def __init__(self, embedder: Any, texts: Sequence[str]) -> None:
        unique = list(dict.fromkeys(texts))
        vectors = embedder.embed(unique) if unique else []
        self._index = {t: i for i, t in enumerate(unique)}
        self._matrix = np.asarray(vectors, dtype=float).reshape(len(unique), -1)

    def __call__(self, texts: Sequence[str]) -> Matrix:
        return self._matrix[[self._index[t] for t in texts]]


class ValueFitAlgorithm(Algorithm):
    name = "value-fit"
    Params = ValueFitParams
    uses_examples = True
    uses_backbone = False
    uses_embedder = True
    example_scope = "domain"

    def decide(self, context: DecisionContext, backbone: Backbone) -> Decision:
        p = self.params
        assert isinstance(p, ValueFitParams) and context.target is not None
        if context.embedder is None:
            raise ConfigError("value-fit needs the sentence-embedding model; it is not configured")
        target = context.target
        scenario = context.scenario
        examples = list(context.examples) if p.use_examples else []
        definitions = {**context.definitions, **target.attributes}
        attributes = list(target.values)
        example_attributes = sorted({b for e in examples for s in e.scores for b in s})
        attr_texts = {a: _describe(a, definitions.get(a)) for a in {*attributes, *example_attributes}}
        pole_texts = {a: self._poles(a, target.attribute(a)) for a in attributes}
        read = ground_choices if p.ground_entities else (lambda _text, options: list(options))
        choice_texts = read(scenario.text, scenario.choices)
        example_choices = [read(e.text, e.choices) for e in examples]
        texts = [
            scenario.text,
            *choice_texts,
            *scenario.choices,
            *attr_texts.values(),
            *(t for hi, lo in pole_texts.values() for t in (hi, lo) if t),
            *(c for options in example_choices for c in options),
            *(e.text for e in examples if e.similarity is None),
            *(norm_texts() if any(v > 0 for v in p.norm_share_by_domain.values()) else ()),
        ]
        vec = _Vectors(context.embedder, texts)
        choices = vec(choice_texts)
        read_choices = choices if p.ground_definition else vec(scenario.choices)
        option_sims = self._option_similarities(scenario, choices, examples, example_choices, vec)
        query = vec([scenario.text])[0]
        similarity = np.array(
            [e.similarity if e.similarity is not None else float(vec([e.text])[0] @ query) for e in examples]
        )
        kernels = self._kernels(option_sims, similarity)

        estimates: list[dict[str, float]] = [{} for _ in scenario.choices]
        evidence: dict[str, Any] = {}
        for a in attributes:
            domain = target.attribute(a).domain
            low_weight = p.low_weight_by_domain.get(domain, p.low_weight)
            prior = p.evidence_prior_by_domain.get(domain, p.evidence_prior)
            definition = (
                self._definition(read_choices, pole_texts[a], vec, low_weight) if p.use_definition else None
            )
            learned, mass, how, nearest = self._learned(
                a, scenario.choices, examples, kernels, similarity, attr_texts, vec
            )
            final: Matrix
            if learned is None and definition is None:
                raise ConfigError(
                    f"no way to estimate {a!r}: there are no example decisions for it and its definition "
                    "is turned off; add examples or a description with high and low texts"
                )
            if learned is None:
                final, weight = definition, np.zeros(len(scenario.choices))
            elif definition is None:
                final, weight = learned, np.ones(len(scenario.choices))
            else:
                finite = np.where(np.isinf(mass), 0.0, mass)
                weight = np.where(np.isinf(mass), 1.0, finite / (finite + prior))
                half = p.nearest_half_by_domain.get(domain)
                if half is not None:  # the nearest example, not the number of far ones, sets the share
                    weight = np.where(np.isinf(mass), 1.0, nearest / (nearest + half))
                final = weight * learned + (1.0 - weight) * definition
            norm_estimate, norm_weight = None, 0.0
            norm_share = p.norm_share_by_domain.get(domain, 0.0)
            if norm_share > 0 and group_category(a) is None:
                norm_estimate, norm_weight = self._norm_reading(read_choices, pole_texts[a], vec, norm_share)
                if norm_estimate is not None and norm_weight > 0:
                    final = (1.0 - norm_weight) * final + norm_weight * norm_estimate
            direction = None
            if p.direction_share > 0 and group_category(a) is None:
                direction = self._direction(
                    a, choices, examples, example_choices, similarity, attr_texts, vec
                )
                if direction is not None:
                    final = (1.0 - p.direction_share) * final + p.direction_share * direction
            for i in range(len(scenario.choices)):
                estimates[i][a] = float(np.clip(final[i], 0.0, 1.0))
            evidence[a] = {
                "examples": None if learned is None else [round(float(x), 4) for x in learned],
                "example_weight": [round(float(x), 4) for x in weight],
                "definition": None if definition is None else [round(float(x), 4) for x in definition],
                "source": how if learned is not None else "definition",
                **(
                    {"nearest": [round(float(x), 6) for x in nearest]}
                    if learned is not None and how == "examples"
                    else {}
                ),
                **({"direction": [round(float(x), 4) for x in direction]} if direction is not None else {}),
                **(
                    {
                        "norms": [round(float(x), 4) for x in norm_estimate],
                        "norm_weight": round(norm_weight, 4),
                    }
                    if norm_estimate is not None and norm_weight > 0
                    else {}
                ),
            }

        penalty = np.zeros(len(scenario.choices))
        scored_share: list[float] | None = None
        if p.unscored_penalty > 0 and examples:
            scored = self._scored_share(len(choices), examples, kernels)
            # past a margin: a step no stored decision scores (a gap near 1) counts, the small gaps
            # between options that are all decisions (a few hundredths) never tip a close call
            gap = np.maximum(scored.max() - scored - UNSCORED_MARGIN, 0.0)
            penalty += p.unscored_penalty * len(attributes) * gap
            scored_share = [round(float(x), 4) for x in scored]
        if p.relevance_penalty > 0 and len(scenario.choices) > 2:
            # only for a value no stored example scores (its definition is all there is), in a menu of
            # more than two options (where steps that decide nothing about it can stand)
            for a in attributes:
                if group_category(a) is not None or a in example_attributes:
                    continue
                hi, lo = pole_texts[a]
                related = choices @ vec([hi])[0] + (choices @ vec([lo])[0] if lo else 0.0)
                penalty += p.relevance_penalty * (related.max() - related) / (2.0 if lo else 1.0)
        distances = [
            sum(abs(est[a] - target.values[a]) for a in attributes) + float(penalty[i])
            for i, est in enumerate(estimates)
        ]
        winner = min(range(len(distances)), key=lambda i: (distances[i], i))
        fits = [max(0.0, 1.0 - d / len(attributes)) for d in distances]  # a penalty can pass 1 per value
        shown = self._informative_example(examples, similarity, target)
        if shown is not None and self._example_share(evidence) < WEAK_EVIDENCE:
            shown = None  # it did not count: do not present it as a reason
        note = example_note(shown, target, closest_choice(shown.scores, target.values)) if shown else ""
        weak = self._weak_evidence(evidence, target)
        basis = " ".join(x for x in (self._basis(evidence, len(examples)), weak, note) if x)
        justification = explain_fit(target, scenario.choices, estimates, winner, fits, basis=basis)
        return Decision(
            choice_index=winner,
            choice=scenario.choices[winner],
            justification=justification,
            scores=[
                ChoiceScore(index=i, choice=c, score=fits[i], attributes=estimates[i])
                for i, c in enumerate(scenario.choices)
            ],
            algorithm=self.name,
            backbone="none",
            target=target.values,
            examples=[shown] if shown else [],
            extra={
                "score_meaning": "how well each option fits your values (1 = exactly your targets)",
                "distances": distances,
                "basis": basis,  # what the estimates rest on, in words (reused when values are re-read)
                "evidence": evidence,
                "examples_retrieved": len(examples),
                **({"scored_share": scored_share} if scored_share is not None else {}),
                **({"penalty": [round(float(x), 4) for x in penalty]} if penalty.any() else {}),
            },
        )

    # -- the three sources ---------------------------------------------------------------------

    @staticmethod
    def _poles(name: str, attribute: Attribute) -> tuple[str, str]:
        """(text of a high value, text of a low value); the low text may be empty."""
        high = attribute.high or attribute.description or readable_name(name)
        if attribute.high and attribute.description:
            high = f"{attribute.high}. {attribute.description}"
        return high, attribute.low

    @staticmethod
    def _definition(choices: Matrix, poles: tuple[str, str], vec: _Vectors, low_weight: float) -> Matrix:
        high, low = poles
        score = choices @ vec([high])[0]
        if low:
            score = score - low_weight * (choices @ vec([low])[0])
        return _scale(score)

    def _norm_reading(
        self, choices: Matrix, poles: tuple[str, str], vec: _Vectors, share: float
    ) -> tuple[Matrix | None, float]:
        """(the norm reader's estimates of the options for a value, its weight in the estimate): the
        options' norm contrast, turned the way the value's high and low texts push, weighted by
        ``share`` times how much the value bears on norms and how much the options are about them."""
        p = self.params
        assert isinstance(p, ValueFitParams)
        keeps, breaks = vec([k for k, _ in NORM_ACTS]), vec([b for _, b in NORM_ACTS])
        high, low = poles
        towards = direction_weight(
            vec([high])[0], vec([low])[0] if low else None, keeps, breaks, p.norm_direction_full
        )
        about = presence(choices, keeps, breaks, *p.norm_presence)
        weight = share * abs(towards) * about
        if weight <= 0:
            return None, 0.0
        keeping = _scale(norm_scores(choices, keeps, breaks))
        return (keeping if towards > 0 else 1.0 - keeping), float(weight)

    def _option_similarities(
        self,
        scenario: Scenario,
        choices: Matrix,
        examples: Sequence[Example],
        example_choices: Sequence[Sequence[str]],
        vec: _Vectors,
    ) -> list[Matrix]:
        """Per example, cos(option, example option) (n x its options); with ``entity_match``, moved up
        where both options name the same person of their scenarios and down where they name others."""
        p = self.params
        assert isinstance(p, ValueFitParams)
        sims = [choices @ vec(options).T for options in example_choices]
        if not p.entity_match:
            return sims
        own = [set(named_entities(scenario.text, c)) for c in scenario.choices]
        for i, e in enumerate(examples):
            theirs = [set(named_entities(e.text, c)) for c in e.choices]
            match = np.array(
                [[0.0 if not a or not b else (1.0 if a & b else -1.0) for b in theirs] for a in own]
            )
            sims[i] = sims[i] + p.entity_match * match
        return sims

    def _learned(
        self,
        attribute: str,
        choice_texts: Sequence[str],
        examples: Sequence[Example],
        kernels: Sequence[Matrix],
        similarity: Matrix,
        attr_texts: dict[str, str],
        vec: _Vectors,
    ) -> tuple[Matrix | None, Matrix, str, Matrix]:
        """(estimates from examples or None, evidence mass per option, which source, the weight of the
        nearest stored option per option)."""
        p = self.params
        assert isinstance(p, ValueFitParams)
        n = len(choice_texts)
        if group_category(attribute) is not None:
            group = self._group_estimate(attribute, choice_texts, examples, similarity, attr_texts, vec)
            if group is not None:
                return group, np.full(n, math.inf), "groups", np.full(n, math.inf)
        relatedness = self._relatedness(attribute, attr_texts, vec)
        num, den, nearest = np.zeros(n), np.zeros(n), np.zeros(n)
        for e, option_w in zip(examples, kernels, strict=True):
            for j, scores in enumerate(e.scores):
                for b, value in scores.items():
                    w = option_w[:, j] * relatedness.get(b, 0.0)
                    num += w * value
                    den += w
                    nearest = np.maximum(nearest, w)
        if not np.any(den > 0):
            return None, den, "examples", nearest
        return num / np.maximum(den, 1e-300), den, "examples", nearest

    def _direction(
        self,
        attribute: str,
        choices: Matrix,
        examples: Sequence[Example],
        example_choices: Sequence[Sequence[str]],
        similarity: Matrix,
        attr_texts: dict[str, str],
        vec: _Vectors,
    ) -> Matrix | None:
        """The options projected on the value's direction learned from the examples' option pairs,
        scaled like the definition contrast; None without a scored pair."""
        p = self.params
        assert isinstance(p, ValueFitParams)
        relatedness = self._relatedness(attribute, attr_texts, vec)
        total = np.zeros(choices.shape[1])
        for e, options, sim in zip(examples, example_choices, similarity, strict=True):
            scenario_w = math.exp((float(sim) - 1.0) / p.scenario_temperature)
            vectors = vec(options)
            for b in {b for s in e.scores for b in s}:
                related = relatedness.get(b, 0.0) * scenario_w
                if p.direction_own_only and b != attribute:
                    continue
                if related <= 0:
                    continue
                scored = [(j, s[b]) for j, s in enumerate(e.scores) if b in s and j < len(vectors)]
                for j, sj in scored:
                    for k, sk in scored:
                        if sj > sk:
                            total += related * (sj - sk) * (vectors[j] - vectors[k])
        norm = float(np.linalg.norm(total))
        if norm <= 0:
            return None
        return _scale(choices @ (total / norm))

    def _kernels(self, option_sims: Sequence[Matrix], similarity: Matrix) -> list[Matrix]:
        """Per example, the weight of each (option, example option) pair: the option kernel times
        the scenario kernel (n x its options)."""
        p = self.params
        assert isinstance(p, ValueFitParams)
        return [
            np.exp((option_sim - 1.0) / p.choice_temperature)
            * math.exp((float(sim) - 1.0) / p.scenario_temperature)
            for option_sim, sim in zip(option_sims, similarity, strict=True)
        ]

    def _scored_share(self, n: int, examples: Sequence[Example], kernels: Sequence[Matrix]) -> Matrix:
        """Per option, the kernel-weighted share of similar stored options that are scored on any
        value (1 where no stored option is near): procedural options ("CHECK PULSE") score low."""
        num = np.full(n, SCORED_PRIOR)
        den = np.full(n, SCORED_PRIOR)
        for e, w in zip(examples, kernels, strict=True):
            is_scored = np.array([1.0 if s else 0.0 for s in e.scores][: w.shape[1]])
            num += w[:, : len(is_scored)] @ is_scored
            den += w[:, : len(is_scored)].sum(axis=1)
        return num / den

    def _relatedness(self, attribute: str, attr_texts: dict[str, str], vec: _Vectors) -> dict[str, float]:
        p = self.params
        assert isinstance(p, ValueFitParams)
        own = vec([attr_texts[attribute]])[0]
        out: dict[str, float] = {}
        is_group = group_category(attribute) is not None
        for b, text in attr_texts.items():
            if b == attribute:
                out[b] = 1.0
            elif is_group and group_category(b) is not None:
                out[b] = 1.0  # another group's answers: the population's view
            elif is_group or group_category(b) is not None:
                out[b] = 0.0  # a demographic group says nothing about a value, and back
            else:
                out[b] = math.exp((float(vec([text])[0] @ own) - 1.0) / p.attribute_temperature)
        return out

    def _group_estimate(
        self,
        attribute: str,
        choice_texts: Sequence[str],
        examples: Sequence[Example],
        similarity: Matrix,
        attr_texts: dict[str, str],
        vec: _Vectors,
    ) -> Matrix | None:
        """Population answer of the other groups to this very question, moved by the group's
        expected deviation; None when no other group answered the same question."""
        p = self.params
        assert isinstance(p, ValueFitParams)
        wanted = [normalize_for_match(c) for c in choice_texts]
        answers: dict[str, Matrix] = {}
        for e, sim in zip(examples, similarity, strict=True):
            if float(sim) < SAME_TEXT_SIMILARITY or [normalize_for_match(c) for c in e.choices] != wanted:
                continue
            for b in {b for s in e.scores for b in s}:
                if b != attribute and group_category(b) is not None and all(b in s for s in e.scores):
                    answers.setdefault(b, np.array([s[b] for s in e.scores], dtype=float))
        if not answers:
            return None
        population = np.mean(list(answers.values()), axis=0)
        category = group_category(attribute)
        own = vec([attr_texts[attribute]])[0]
        deviation = np.zeros(len(choice_texts))
        for b, values in answers.items():
            if group_category(b) == category:
                deviation += p.sibling_weight * (values - population)
            else:
                near = math.exp((float(vec([attr_texts[b]])[0] @ own) - 1.0) / p.group_temperature)
                deviation += p.related_group_weight * near * (values - population)
        return np.clip(population + deviation, 0.0, 1.0)

    # -- explanation ---------------------------------------------------------------------------

    @staticmethod
    def _informative_example(
        examples: Sequence[Example], similarity: Matrix, target: AlignmentTarget
    ) -> Example | None:
        """The most similar example that scores one of the target's attributes."""
        ranked = sorted(range(len(examples)), key=lambda i: -float(similarity[i]))
        for i in ranked:
            if any(a in s for s in examples[i].scores for a in target.values):
                return examples[i]
        return None

    @staticmethod
    def _example_share(evidence: dict[str, Any]) -> float:
        """How much of the estimates came from stored examples (0..1, averaged over values and options)."""
        weights = [w for v in evidence.values() for w in v["example_weight"]]
        return sum(weights) / len(weights) if weights else 0.0

    def _weak_evidence(self, evidence: dict[str, Any], target: AlignmentTarget) -> str:
        """In words, the values that rest on their definitions alone (their stored decisions weighed
        under ``WEAK_EVIDENCE`` of the estimate) where the decision as a whole rests on stored
        decisions (otherwise ``_basis`` already says that everything rests on definitions)."""
        if self._example_share(evidence) < WEAK_EVIDENCE or any(
            v["source"] == "groups" for v in evidence.values()
        ):
            return ""
        weak = [
            readable_name(target.attribute(a).name)
            for a, v in evidence.items()
            if not v["example_weight"] or sum(v["example_weight"]) / len(v["example_weight"]) < WEAK_EVIDENCE
        ]
        return weak_evidence_note(weak)

    def _basis(self, evidence: dict[str, Any], n_examples: int) -> str:
        """Where the estimates came from, in proportion to what each source weighed."""
        sources = {v["source"] for v in evidence.values()}
        if "groups" in sources:
            return "These estimates come from how other groups answered the same question."
        share = self._example_share(evidence)
        if sources == {"definition"} or share < WEAK_EVIDENCE:
            return (
                "These estimates compare each option with what your values mean (their definitions); "
                "no stored example decision is close enough to count. Read from definitions alone, "
                "they picked the option that matches a value about 6 to 7 times in 10 when we measured "
                "them, so check the reasoning against your own."
            )
        if share < 0.5:
            return (
                "These estimates come mostly from what your values mean (their definitions); similar "
                f"stored decisions counted for {share:.0%}."
            )
        return (
            f"These estimates come mostly from similar stored decisions ({share:.0%}; {n_examples} "
            "retrieved), and from what your values mean."
        )
