"""Which attributes a dilemma is about (pure): embeddings in, attribute names ranked out.

The chat uses it when a person asks before saying what they value: the attributes whose
definition (label and description) is most similar to the dilemma (scenario and options) are
suggested for them to pick and weigh. The embedder lives elsewhere (the example store's MiniLM);
here are only the texts to embed and the ranking.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from alignment.models import readable_name

__all__ = ["attribute_text", "rank_attributes", "rank_by_words", "situation_text"]


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
    query: Sequence[float], attributes: Mapping[str, Sequence[float]], k: int = 3
) -> list[tuple[str, float]]:
    """The ``k`` attributes most similar to ``query`` (cosine similarity), best first.

    Equal similarities keep the order of ``attributes``, so the result is deterministic.
    """
    if k <= 0:
        return []
    scored = [(name, _cosine(query, vector)) for name, vector in attributes.items()]
    order = sorted(range(len(scored)), key=lambda i: (-scored[i][1], i))
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
