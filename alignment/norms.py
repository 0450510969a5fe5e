"""The norm reader: how far each option of a dilemma keeps or breaks a widely shared norm (pure).

Some dilemmas set a value against a norm nearly everyone holds: keep the money one found or give it
back, tell the lie or the truth, cheat or play fair, break a promise or keep it, take the credit for
another's work. Stored decisions on other topics say little about such an option, and a value's own
definition reads it only through its own words. The norm reader contrasts each option with a short,
fixed list of **norm acts**, each a pair (the act that keeps the norm, the act that breaks it):

    norm(option) = max_k cos(option, keeps_k) - max_k cos(option, breaks_k)

(each option read with its scenario: "Keep it" is only a norm-breaking act about a found wallet).

The list is shared by every value that bears on norms, and **which way a value pushes is read from the
value's own definition**, the same contrast of its ``high`` text minus that of its ``low`` text:

    direction(value) = norm(high) - norm(low)

Honesty's high text ("tells the truth, gives back what is not theirs") keeps norms and its low text
breaks them: a large positive direction. A value whose texts say nothing about norms (adventure,
health) has a direction near 0, and the norm reader leaves it alone; one whose high text breaks them
(a value an admin defines as "gets ahead whatever the rules") pushes the other way. So a value an
admin has just defined is read like a seeded one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["NORM_ACTS", "direction_weight", "norm_scores", "norm_texts", "presence"]

Matrix = Any  # numpy arrays (kept loose for mypy)

# (keeps the norm, breaks it): general acts of everyday morality, not the wording of any dilemma
NORM_ACTS: tuple[tuple[str, str], ...] = (
    ("give back money or property that belongs to someone else", "keep money or property that is not yours"),
    ("tell the truth", "tell a lie to gain something or to avoid trouble"),
    ("own up to your mistake", "hide your mistake and let someone else take the blame"),
    ("play by the rules", "cheat to win or to pass"),
    ("keep your promise and your commitments", "break your promise and let people down"),
    ("give the credit to the person who did the work", "take the credit for someone else's work"),
    ("pay what you owe", "avoid paying what you owe"),
    ("make an honest claim", "make a false claim or fake a document"),
    ("wait your turn like everyone else", "jump the queue"),
)


def norm_texts() -> list[str]:
    """Every text of the norm acts (to embed them with a decision's other texts)."""
    return [t for pair in NORM_ACTS for t in pair]


def norm_scores(vectors: Matrix, keeps: Matrix, breaks: Matrix) -> Matrix:
    """Per row of ``vectors`` (unit vectors), its closest norm-keeping act's cosine minus its closest
    norm-breaking act's: above 0 keeps, below 0 breaks."""
    vectors = np.atleast_2d(np.asarray(vectors, dtype=float))
    return (vectors @ np.asarray(keeps).T).max(axis=1) - (vectors @ np.asarray(breaks).T).max(axis=1)


def presence(vectors: Matrix, keeps: Matrix, breaks: Matrix, floor: float, full: float) -> float:
    """How much the options are about norms at all, in [0, 1]: the closest option's cosine to any norm
    act, 0 at ``floor`` or below and 1 at ``full`` or above (a choice between two holidays is not)."""
    vectors = np.atleast_2d(np.asarray(vectors, dtype=float))
    acts = np.vstack([np.asarray(keeps), np.asarray(breaks)])
    closest = float((vectors @ acts.T).max())
    if full <= floor:
        return 1.0 if closest >= full else 0.0
    return float(np.clip((closest - floor) / (full - floor), 0.0, 1.0))


def direction_weight(
    high: Sequence[float], low: Sequence[float] | None, keeps: Matrix, breaks: Matrix, full: float
) -> float:
    """Which way, and how strongly, a value pushes toward keeping norms, in [-1, 1]: the norm contrast
    of its high text minus that of its low text (the high text alone when it has none), ``full`` of it
    counting whole. Positive: a person high on the value keeps the norm."""
    rows = [np.asarray(high, dtype=float)]
    if low is not None:
        rows.append(np.asarray(low, dtype=float))
    scores = norm_scores(np.vstack(rows), keeps, breaks)
    gap = float(scores[0] - scores[1]) if low is not None else float(scores[0])
    return float(np.clip(gap / full, -1.0, 1.0)) if full > 0 else 0.0
