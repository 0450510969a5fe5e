"""Which attributes a dilemma is about (pure): embeddings in, attribute names ranked out.

The chat uses it when a person asks before saying what they value: the attributes whose
definition (label and description) is most similar to the dilemma (scenario and options) are
suggested for them to pick and weigh. The embedder lives elsewhere (the example store's MiniLM);
here are only the texts to embed and the ranking.

An attribute's domain counts too: its similarity gets ``DOMAIN_WEIGHT`` times how close the dilemma
is to the stored example decisions of that domain (the cosine of the closest one). "Risk aversion"
of the medical-triage pack reads a little like a question about savings, but no triage dilemma
does. Measured on datasets/ (each dilemma's own text kept out of the closeness): the share of
suggestions from the dilemma's own domain went from 0.69 to 1.00 for triage dilemmas, 0.79 to 0.96
for the everyday value-pack dilemmas and 0.69 to 0.97 for everyday dilemmas on values in no pack,
while the value a dilemma is about stayed among the 3 suggested as often (triage 0.59 -> 0.60,
value packs 0.78 -> 0.78; docs/results/decider.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from alignment.models import readable_name

__all__ = ["DOMAIN_WEIGHT", "attribute_text", "rank_attributes", "rank_by_words", "situation_text"]

DOMAIN_WEIGHT = 1.0  # weight of the dilemma's closeness to an attribute's domain (see above)


def situation_text(scenario: str, options: Sequence[str]) -> str:
    """The dilemma as one text to embed: the scenario, then its options."""
    return "\n".join([scenario.strip(), *(f"- {o.strip()}" for o in options)]).strip()


def attribute_text(name: str, label: str = "", description: str = "", high: str = "", low: str = "") -> str:
    """An attribute as one text to embed: its label (or name), what it means, and what people high
    and low on it choose. With the high and low texts, the value a dilemma is about is among the
    3 suggested for 0.78 of datasets/everyday's value-pack dilemmas, against 0.48 without them."""
    head = label.strip() or readable_name(name)
    parts = [f"{head}: {description.strip()}" if description.strip() else head]
    if high.strip():
        parts.append(f"High: {high.strip()}")
    if low.strip():
        parts.append(f"Low: {low.strip()}")
    return " ".join(parts)


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b):
        raise ValueError(f"vectors of different lengths ({len(a)} and {len(b)})")
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def rank_attributes(
    query: Sequence[float],
    attributes: Mapping[str, Sequence[float]],
    k: int = 3,
    boosts: Mapping[str, float] | None = None,
) -> list[tuple[str, float]]:
    """The ``k`` attributes most similar to ``query`` (cosine similarity), best first, with their
    cosine. ``boosts`` (per attribute, default 0) is added to the cosine for the ranking only: the
    attribute's domain fit, ``DOMAIN_WEIGHT`` times the dilemma's closeness to that domain.

    Equal scores keep the order of ``attributes``, so the result is deterministic.
    """
    if k <= 0:
        return []
    boosts = boosts or {}
    scored = [(name, _cosine(query, vector)) for name, vector in attributes.items()]
    order = sorted(range(len(scored)), key=lambda i: (-(scored[i][1] + boosts.get(scored[i][0], 0.0)), i))
    return [scored[i] for i in order[:k]]


_WORD = re.compile(r"[a-z]{4,}")


def _words(text: str) -> set[str]:
    return {w[:6] for w in _WORD.findall(text.casefold())}  # a crude stem: "saving" ~ "savings"


def rank_by_words(query: str, attributes: Mapping[str, str], k: int = 3) -> list[tuple[str, float]]:
    """The same ranking from shared words (Jaccard), for when no embedder is at hand."""
    if k <= 0:
        return []
    asked = _words(query)
    scored = []
    for name, text in attributes.items():
        theirs = _words(text)
        union = asked | theirs
        scored.append((name, len(asked & theirs) / len(union) if union else 0.0))
    order = sorted(range(len(scored)), key=lambda i: (-scored[i][1], i))
    return [scored[i] for i in order[:k]]
