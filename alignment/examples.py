"""Pure helpers for example decisions: the target's answer, templated reasons, near-duplicates, MMR."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Protocol

from alignment.models import AlignmentTarget, Example, Scenario

__all__ = [
    "ExampleRetriever",
    "choice_distance",
    "closest_choice",
    "cosine",
    "mmr_select",
    "normalize_for_match",
    "regression_reason",
    "relevant_attributes",
    "target_answer",
    "target_reason",
]


class ExampleRetriever(Protocol):
    """What the decision service needs from an example store."""

    def retrieve(
        self,
        scenario: Scenario,
        target: AlignmentTarget | None,
        *,
        k: int = 3,
        mmr_lambda: float | None = None,
        owner: str | None = None,  # the acting user: their personal examples too, no one else's
        holdout: str = "scenario",  # what an evaluation keeps out: scenario, attribute or group
        scope: str = "target",  # "target": examples score the target's attributes; "domain": any
    ) -> list[Example]: ...


def relevant_attributes(scores: Sequence[Mapping[str, float]], target: Mapping[str, float]) -> list[str]:
    """The target's attributes that at least one choice is scored on (in the target's order)."""
    scored = {name for per_choice in scores for name in per_choice}
    return [name for name in target if name in scored]


def choice_distance(
    score: Mapping[str, float], target: Mapping[str, float], attributes: Sequence[str]
) -> float:
    """Sum of |score - target| over ``attributes``; a missing score counts as infinitely far."""
    total = 0.0
    for name in attributes:
        if name not in score:
            return math.inf
        total += abs(score[name] - target[name])
    return total


def closest_choice(scores: Sequence[Mapping[str, float]], target: Mapping[str, float]) -> int | None:
    """Index of the choice closest to the target (ties: the first); None if nothing is scored."""
    attributes = relevant_attributes(scores, target)
    if not attributes:
        return None
    distances = [choice_distance(s, target, attributes) for s in scores]
    best = min(range(len(distances)), key=lambda i: (distances[i], i))
    return None if math.isinf(distances[best]) else best


def target_answer(example: Example, target: AlignmentTarget) -> int | None:
    """The answer a decision maker with this target would give to the example."""
    return closest_choice(example.scores, target.values)


def target_reason(example: Example, answer: int, target: AlignmentTarget) -> str:
    """A short templated reason (as align-system's in-context example generator writes).

    "Per the principle of high fairness (0.80), this choice fits best: it scores fairness 1.00."
    """
    attributes = relevant_attributes(example.scores, target.values)
    principles = ", ".join(
        f"{'high' if target.values[a] >= 0.5 else 'low'} {target.attribute(a).name} ({target.values[a]:.2f})"
        for a in attributes
    )
    scored = ", ".join(
        f"{a} {example.scores[answer][a]:.2f}" for a in attributes if a in example.scores[answer]
    )
    return f"Per the principle of {principles}, this choice fits best: it scores {scored}."


def regression_reason(attribute: str, choice: str, score_0_10: int) -> str:
    """Templated reasoning of a scored example choice (align-system's regression examples)."""
    text = choice if len(choice) <= 60 else choice[:57] + "..."
    return f"Choosing {text!r} would score {score_0_10} for {attribute}."


_SPACE_RE = re.compile(r"\s+")
_PUNCT_RE = re.compile(r"[^\w\s]")


def normalize_for_match(text: str) -> str:
    """Casefolded, punctuation-free, single-spaced text (for exact near-duplicate checks)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE_RE.sub(" ", _PUNCT_RE.sub(" ", text)).strip()


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return 0.0 if na == 0 or nb == 0 else dot / (na * nb)


def mmr_select(
    query: Sequence[float], candidates: Sequence[Sequence[float]], k: int, lambda_mult: float = 0.5
) -> list[int]:
    """Maximal marginal relevance: indices of ``k`` candidates, relevant to the query yet diverse.

    Each step picks argmax of ``lambda * sim(query, c) - (1 - lambda) * max sim(c, picked)``.
    ``lambda_mult`` = 1 is plain top-k by similarity; 0 is maximal diversity.
    """
    if not 0.0 <= lambda_mult <= 1.0:
        raise ValueError("lambda_mult must be in [0, 1]")
    relevance = [cosine(query, c) for c in candidates]
    picked: list[int] = []
    remaining = list(range(len(candidates)))
    while remaining and len(picked) < k:

        def score(i: int) -> float:
            redundancy = max((cosine(candidates[i], candidates[j]) for j in picked), default=0.0)
            return lambda_mult * relevance[i] - (1.0 - lambda_mult) * redundancy

        best = max(remaining, key=lambda i: (score(i), -i))
        picked.append(best)
        remaining.remove(best)
    return picked
