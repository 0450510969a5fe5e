"""Justifications a person can check, built from what a decision actually used (pure).

A small base model's own sentence is often the question echoed or a bare label, so the text comes
from the target, the per-option estimates and the example that informed the decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alignment.models import AlignmentTarget, Example, readable_name
from alignment.prompts import label_of

__all__ = ["CLOSE_CALL", "describe_level", "example_note", "explain_fit", "level_band", "weak_evidence_note"]

# a fit gap below this between the best two options is a close call: on the evaluation runs of
# docs/results/decider.md such decisions were right 0.58 (triage, n=52) and 0.56 (everyday, n=18) of the
# time, against 0.97 and 0.76 for gaps of 0.10 or more
CLOSE_CALL = 0.02


def level_band(value: float) -> int:
    """Which of five bands a target or estimate in [0, 1] is in: 4 from 0.85 up, 3 from 0.65, 2 above
    0.35, 1 above 0.15, else 0 (the words of ``describe_level`` and ``advice.amount``)."""
    if value >= 0.85:
        return 4
    if value >= 0.65:
        return 3
    if value > 0.35:
        return 2
    return 1 if value > 0.15 else 0


def describe_level(value: float) -> str:
    """A target or estimate in [0, 1] in words."""
    return ("very low", "low", "moderate", "high", "very high")[level_band(value)]


def _label(target: AlignmentTarget, name: str) -> str:
    return readable_name(target.attribute(name).name)


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def explain_fit(
    target: AlignmentTarget,
    choices: Sequence[str],
    estimates: Sequence[Mapping[str, float]],
    winner: int,
    fits: Sequence[float],
    *,
    basis: str = "",
) -> str:
    """Which values decided it, how each option stands on them, and why the winner is closest.

    ``fits``: per option, 1 - mean |estimate - target| (1 = exactly the target).
    """
    names = list(target.values)
    values = ", ".join(
        f"{_label(target, a)} {target.values[a]:.2f} ({describe_level(target.values[a])})" for a in names
    )
    lines = [f"Your values: {values}."]
    lines.append("How the options stand on them (estimated, 0 = not at all, 1 = fully):")
    order = sorted(range(len(choices)), key=lambda i: (-fits[i], i))
    for i in order:
        stands = ", ".join(f"{_label(target, a)} {estimates[i].get(a, 0.0):.2f}" for a in names)
        mark = " <- closest to your values" if i == winner else ""
        lines.append(f"- ({label_of(i)}) {_short(choices[i])}: {stands}{mark}")
    runner = next((i for i in order if i != winner), None)
    because = f"({label_of(winner)}) fits your values best (fit {fits[winner]:.2f}"
    if runner is not None:
        because += f", against {fits[runner]:.2f} for ({label_of(runner)})"
    because += "; a fit is how close the estimates are to your targets, not a certainty)."
    if runner is not None and fits[winner] - fits[runner] < CLOSE_CALL:
        because += (
            f" It is a close call: ({label_of(winner)}) and ({label_of(runner)}) stand almost the same on "
            "your values, so take this as a slight preference; decisions this close were right only "
            "about 6 times in 10 when we measured them."
        )
    # a blank line ends the list: in Markdown (the chat) the next line would join the last item
    closing = because + (f"\n{basis}" if basis else "")
    return "\n".join(lines) + "\n\n" + closing


def example_note(example: Example, target: AlignmentTarget, answer: int | None) -> str:
    """The most similar stored example and what a person with these values chose there."""
    if answer is None or not 0 <= answer < len(example.choices):
        return ""
    names = [a for a in target.values if any(a in s for s in example.scores)]
    if not names:
        return ""
    who = " and ".join(f"{describe_level(target.values[a])} {_label(target, a)}" for a in names)
    return (
        f'Most similar stored example: "{_short(example.text, 120)}" There, a person with {who} '
        f'would choose "{_short(example.choices[answer])}".'
    )


def weak_evidence_note(names: Sequence[str]) -> str:
    """Plain words for values read from their definitions alone (no stored decision on them close
    enough to the dilemma counted), in a decision where other values did rest on stored decisions:
    the reading of these is weaker, and the person is told so. No figures: the definitions' measured
    hit rate is in the basis of a decision that rests on definitions alone."""
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    one = len(names) == 1
    return (
        f"{listed[:1].upper() + listed[1:]} {'was' if one else 'were'} read from what "
        f"{'the value means' if one else 'the values mean'} alone: no stored decision on "
        f"{'it' if one else 'them'} is close enough to this dilemma, so this reading rests on weak "
        "evidence; check it against your own."
    )
