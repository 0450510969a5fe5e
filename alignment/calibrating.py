"""One calibrating question for a low-confidence decision, and what its answer says (pure).

When a decision's confidence is low (``alignment.confidence``), the chat asks the person one
similar dilemma from the decision's domain whose options stand apart on the **deciding value** (the
value that most separates the best two options): a stored example decision scored on that value,
the most similar to the person's dilemma (the example store orders them). The answer is read as a
calibration answer (``alignment.calibration``): the posterior median of the value after that one
answer, from the weak prior, says how high or low the value is. The person's value moves to it only
where the answer contradicts the value's side: a person who picks the option high on the value keeps
a value at least that high, and one who picks the low option keeps one at most that low.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from alignment.calibration import Answer, CalibrationModel, Posterior
from alignment.examples import normalize_for_match
from alignment.models import Example

__all__ = [
    "MIN_SPREAD",
    "CalibratingQuestion",
    "answer_of",
    "pick_question",
    "updated_value",
]

MIN_SPREAD = 0.5  # the question's options must stand at least this far apart on the value
_LETTER = re.compile(r"^\(?([a-z])\)?$")
_ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "1st": 0, "2nd": 1, "3rd": 2, "last": -1}
_FILLER = re.compile(
    r"\b(?:the|option|choice|answer|one|is|it'?s|it|my|mine|probably|definitely|i'?d\s+say)\b", re.IGNORECASE
)
_WORD = re.compile(r"[a-z0-9']+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "or",
        "to",
        "of",
        "in",
        "on",
        "for",
        "at",
        "with",
        "by",
        "i",
        "you",
        "my",
        "your",
        "me",
        "it",
        "its",
        "the",
        "be",
        "would",
    ]
)


class CalibratingQuestion(BaseModel):
    """A stored dilemma asked back: its text, options and each option's score on ``value``."""

    model_config = ConfigDict(frozen=True)

    value: str
    example_id: str
    text: str
    choices: list[str]
    scores: list[float]  # each option's score on the value, in [0, 1]


def pick_question(
    value: str, candidates: Sequence[Example], scenario: str, choices: Sequence[str]
) -> CalibratingQuestion | None:
    """The first candidate (most similar first) with two options scored on ``value`` at least
    ``MIN_SPREAD`` apart, other than the person's own dilemma; None when none is."""
    own = normalize_for_match(scenario)
    own_choices = {normalize_for_match(c) for c in choices}
    for e in candidates:
        if normalize_for_match(e.text) == own or len(e.choices) != 2 or len(e.scores) != 2:
            continue
        if {normalize_for_match(c) for c in e.choices} == own_choices:
            continue
        scores = [s.get(value) for s in e.scores]
        if any(s is None for s in scores):
            continue
        values = [float(s) for s in scores if s is not None]
        if abs(values[0] - values[1]) >= MIN_SPREAD:
            return CalibratingQuestion(
                value=value, example_id=e.id, text=e.text, choices=list(e.choices), scores=values
            )
    return None


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.casefold()) if w not in _STOP}


def answer_of(message: str, question: CalibratingQuestion) -> int | None:
    """Which option of ``question`` a bare answer names: its letter ("A", "(b)", "option B"), an
    ordinal ("the first", "the second one"), or its words ("return it"); None when it names none (or
    more than one): the message is then read as any other."""
    text = message.strip().strip("\"'“”").rstrip("?.!").strip().casefold()
    if not text or len(text.split()) > 12:
        return None
    bare = " ".join(_FILLER.sub(" ", text).split())
    n = len(question.choices)
    letter = _LETTER.match(bare)
    if letter and ord(letter.group(1)) - 97 < n:
        return ord(letter.group(1)) - 97
    if bare in _ORDINALS:
        index = _ORDINALS[bare]
        return index % n if index < n else None
    mine = _words(text)
    if not mine:
        return None
    overlap = [len(mine & _words(c)) / len(mine) for c in question.choices]
    best = max(range(n), key=lambda i: overlap[i])
    if overlap[best] >= 0.5 and sum(1 for o in overlap if o == overlap[best]) == 1:
        return best
    return None


def updated_value(
    current: float, question: CalibratingQuestion, chosen: int, model: CalibrationModel | None = None
) -> float:
    """The person's value after choosing option ``chosen`` of ``question``: the one-answer posterior
    median where it contradicts ``current``'s side, else ``current`` (a consistent answer never
    weakens a value)."""
    if not 0 <= chosen < len(question.choices):
        raise ValueError(f"option {chosen} is not one of the question's {len(question.choices)}")
    post = Posterior.prior([question.value], model or CalibrationModel(points=256))
    answer = Answer(
        dilemma_id=question.example_id,
        scores=[{question.value: s} for s in question.scores],
        choice=chosen,
    )
    median = post.observe(answer).estimate(with_map=False).attributes[question.value].value
    other = max(range(len(question.scores)), key=lambda i: abs(question.scores[i] - question.scores[chosen]))
    chose_high = question.scores[chosen] > question.scores[other]
    new = max(current, median) if chose_high else min(current, median)
    return round(min(1.0, max(0.0, new)), 2)
