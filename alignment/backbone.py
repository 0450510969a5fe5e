"""The boundary to a language model: one request type, one result type, one abstract method."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alignment.models import Message, Usage

__all__ = ["Backbone", "Capabilities", "GenerationRequest", "GenerationResult", "call_check", "check_call"]

# Set around a model call by whoever may cancel it (``assistant.decisions.cancel.checked``): a backbone
# whose calls wait for the model (a lock, a single model thread, a few slots) runs it again once the
# call's turn comes, so a call whose asker went away while it waited never starts.
call_check: ContextVar[Callable[[], None] | None] = ContextVar("align_call_check", default=None)


def check_call() -> None:
    """Run the waiting call's ``call_check`` (raises when its asker has gone away)."""
    check = call_check.get()
    if check is not None:
        check()


class Capabilities(BaseModel):
    """What a backbone can do; algorithms check these instead of the backbone's class."""

    model_config = ConfigDict(frozen=True)

    json_schema: bool = True  # constrained (schema-valid) JSON output
    label_logprobs: bool = False  # next-token log-probabilities of given labels
    samples: bool = True  # n > 1 samples in one request
    seeded: bool = False  # same seed -> same output
    concurrent: bool = False  # safe and useful to call from several threads at once


class GenerationRequest(BaseModel):
    """One call to the model.

    - ``json_schema`` set: every generation is JSON text that should fit that schema
      (the caller validates it; a backbone constrains output as well as it can).
    - ``label_logprobs`` set: no text is generated; the result holds the log-probability of each
      label as the next token after the prompt (and ``prefill``).
    - ``prefill``: text the assistant's answer starts with (the model continues it).
    """

    messages: list[Message] = Field(min_length=1)
    json_schema: dict[str, Any] | None = None
    label_logprobs: list[str] | None = None
    prefill: str = ""
    n: int = Field(default=1, ge=1, le=64)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=256, ge=1, le=8192)
    seed: int | None = None
    stop: list[str] = Field(default_factory=list)


class GenerationResult(BaseModel):
    texts: list[str] = Field(default_factory=list)
    label_logprobs: dict[str, float] | None = None
    usage: Usage = Field(default_factory=Usage)
    seconds: float = 0.0
    # CPU seconds the model itself spent on this request, where the backbone can tell (an
    # in-process model); None for a remote server, whose CPU is not ours
    cpu_seconds: float | None = None


class Backbone(ABC):
    """A language model behind one method. Implementations are handed their connections."""

    name: str = "backbone"
    capabilities: Capabilities = Capabilities()

    @abstractmethod
    def execute(self, request: GenerationRequest) -> GenerationResult:
        """Run one request. Raise BackboneUnavailable / BackboneError with a clear message."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (model memory, HTTP pools)."""
