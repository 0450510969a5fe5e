"""align-system's positive/negative self-consistency vote rule (pure)."""

from __future__ import annotations

__all__ = ["calculate_votes", "vote_winner"]


def calculate_votes(n_choices: int, aligned: list[int], opposite: list[int]) -> list[float]:
    """Vote shares per choice, as align-system's ``calculate_votes``.

    Each aligned sample adds 1 to its choice. Each opposite sample subtracts 1/n from its
    choice and adds 1/n to every other choice. Then (min + 1e-6) is subtracted from all and
    the votes are normalised to sum 1.
    """
    if n_choices < 1:
        raise ValueError("n_choices must be >= 1")
    votes = [0.0] * n_choices
    for pick in aligned:
        votes[pick] += 1.0
    for pick in opposite:
        for i in range(n_choices):
            votes[i] += -1.0 / n_choices if i == pick else 1.0 / n_choices
    floor = min(votes) + 1e-6
    shifted = [v - floor for v in votes]
    total = sum(shifted)
    return [round(v / total, 6) for v in shifted]


def vote_winner(votes: list[float], aligned: list[int]) -> int:
    """The highest-voted choice among those some aligned sample picked (first on ties)."""
    if not aligned:
        raise ValueError("no aligned sample; cannot pick a winner")
    eligible = sorted(set(aligned))
    return max(eligible, key=lambda i: (votes[i], -i))
