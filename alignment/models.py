"""Domain models of a decision: attributes, targets, scenarios and decisions (plain data)."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "MAX_CHOICES",
    "MAX_CHOICE_CHARS",
    "MAX_SCENARIO_CHARS",
    "AlignmentTarget",
    "Attribute",
    "ChoiceScore",
    "Decision",
    "Example",
    "Message",
    "Scenario",
    "Usage",
    "clean_text",
    "readable_name",
]

MAX_SCENARIO_CHARS = 8000
MAX_CHOICE_CHARS = 500
MAX_CHOICES = 26  # choices are labelled A..Z


def clean_text(text: str) -> str:
    """Normalise user text: NFC, drop NUL and control characters (keep newlines and tabs)."""
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")).strip()


_CAMEL_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def readable_name(name: str) -> str:
    """An attribute's name as words: ``risk_aversion`` -> ``risk aversion``, ``QualityOfLife`` ->
    ``quality of life`` (align-system names attributes in CamelCase: ``MoralDesert``). A group name
    keeps its category as written (``POLPARTY_Democrat`` -> ``POLPARTY Democrat``)."""
    parts = re.split(r"[\s_]+", name.strip())
    words: list[str] = []
    for part in parts:
        pieces = _CAMEL_WORD.findall(part)
        camel = re.search(r"[a-z][A-Z]", part) is not None and "".join(pieces) == part
        words += [w if w.isupper() and len(w) > 1 else w.lower() for w in pieces] if camel else [part]
    return " ".join(w for w in words if w)


class Attribute(BaseModel):
    """An attribute a decision can be aligned to (a value, or a demographic group)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    high: str = Field(default="", max_length=1000, description="what a value near 1 means")
    low: str = Field(default="", max_length=1000, description="what a value near 0 means")
    domain: str = Field(default="generic", max_length=50)


class AlignmentTarget(BaseModel):
    """Attribute -> desired value in [0, 1]; several attributes at once."""

    model_config = ConfigDict(frozen=True)

    values: dict[str, float] = Field(min_length=1)
    attributes: dict[str, Attribute] = Field(default_factory=dict)
    name: str | None = None

    @field_validator("values")
    @classmethod
    def _check_values(cls, values: dict[str, float]) -> dict[str, float]:
        for key, value in values.items():
            if not key.strip():
                raise ValueError("attribute names must not be empty")
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"value of {key!r} must be a finite number in [0, 1]")
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"value of {key!r} is {value}; it must be in [0, 1]")
        return {k.strip(): float(v) for k, v in values.items()}

    def attribute(self, name: str) -> Attribute:
        return self.attributes.get(name) or Attribute(name=name)

    def opposite(self) -> AlignmentTarget:
        """The target with every value v replaced by 1 - v (for persona-vote)."""
        return self.model_copy(update={"values": {k: 1.0 - v for k, v in self.values.items()}})


class Scenario(BaseModel):
    """A situation and 2..N choices."""

    model_config = ConfigDict(frozen=True)

    text: str
    choices: list[str]
    id: str | None = None
    domain: str | None = None

    @field_validator("text")
    @classmethod
    def _check_text(cls, text: str) -> str:
        text = clean_text(text)
        if not text:
            raise ValueError("the scenario is empty; describe the situation")
        if len(text) > MAX_SCENARIO_CHARS:
            raise ValueError(f"the scenario has {len(text)} characters; shorten it to {MAX_SCENARIO_CHARS}")
        return text

    @field_validator("choices")
    @classmethod
    def _check_choices(cls, choices: list[str]) -> list[str]:
        cleaned = [clean_text(c) for c in choices]
        if any(not c for c in cleaned):
            raise ValueError("a choice is empty; give every choice some text")
        if len(cleaned) < 2:
            given = "no choice" if not cleaned else "1 choice"
            raise ValueError(f"{given} given; give at least 2 choices")
        if len(cleaned) > MAX_CHOICES:
            raise ValueError(f"{len(cleaned)} choices given; give at most {MAX_CHOICES}")
        for c in cleaned:
            if len(c) > MAX_CHOICE_CHARS:
                raise ValueError(f"a choice has {len(c)} characters; the limit is {MAX_CHOICE_CHARS}")
        folded = [c.casefold() for c in cleaned]
        dupes = sorted({c for c in cleaned if folded.count(c.casefold()) > 1})
        if dupes:
            raise ValueError(f"duplicate choices: {', '.join(map(repr, dupes))}; make each distinct")
        return cleaned


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            calls=self.calls + other.calls,
        )


class ChoiceScore(BaseModel):
    """What an algorithm thinks of one choice (a vote share, a log-probability, estimates...)."""

    index: int
    choice: str
    score: float | None = None
    attributes: dict[str, float] = Field(default_factory=dict)
    reasoning: str | None = None


class Example(BaseModel):
    """A stored example decision (used by icl and regression)."""

    id: str
    text: str
    choices: list[str]
    scores: list[dict[str, float]] = Field(default_factory=list)
    chosen: int | None = None
    domain: str | None = None
    source: str | None = None
    scenario_id: str | None = None
    owner: str | None = None  # a personal example (a user's feedback): retrieved for that user only
    # cosine similarity of the text to the query, set by the store's retrieval; never dumped (not stored)
    similarity: float | None = Field(default=None, exclude=True)


class Decision(BaseModel):
    """The result of one decision request: the choice, why, and everything needed to trace it."""

    choice_index: int
    choice: str
    justification: str
    scores: list[ChoiceScore]
    algorithm: str
    backbone: str
    decider: str | None = None
    target: dict[str, float] = Field(default_factory=dict)
    prompts: list[list[Message]] = Field(default_factory=list)
    examples: list[Example] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    seed: int | None = None
    # how likely this is the option the target asks for, in [0, 1] (alignment/confidence.py); None:
    # not computed (an algorithm run outside the decision service)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    extra: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_choice(self) -> Decision:
        if not 0 <= self.choice_index < len(self.scores):
            raise ValueError("choice_index out of range of scores")
        return self
