"""The boundary the app facade and the feedback code use to manage example decisions.

``assistant.stores.examples.ExampleStore`` (Chroma) implements it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field

from alignment.datasets import DatasetRecord
from alignment.models import Example

__all__ = ["AddReport", "ExampleAdmin", "ExampleHit"]


class ExampleHit(BaseModel):
    """One search result: the example and its cosine similarity to the query."""

    example: Example
    similarity: float


class AddReport(BaseModel):
    added: list[str] = Field(default_factory=list)
    present: list[str] = Field(default_factory=list)
    per_domain: dict[str, int] = Field(default_factory=dict)  # added, by domain


@runtime_checkable
class ExampleAdmin(Protocol):
    """Add, find, read and delete example decisions."""

    def add_examples(
        self, examples: Sequence[Example], *, progress: Callable[[int], None] | None = None
    ) -> AddReport:
        """Add the examples not stored yet (by id); all or nothing."""
        ...

    def add_records(
        self, records: Sequence[DatasetRecord], *, progress: Callable[[int], None] | None = None
    ) -> AddReport: ...

    def delete(self, ids: Sequence[str]) -> list[str]:
        """Delete by id; NotFound (and nothing deleted) if any id is unknown."""
        ...

    def get(self, example_id: str) -> Example:
        """NotFound when there is no such example."""
        ...

    def count(self) -> int: ...

    def list_examples(
        self,
        *,
        domain: str | None = None,
        source: str | None = None,
        attribute: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[Example]: ...

    def search(
        self,
        text: str,
        *,
        k: int = 3,
        domain: str | None = None,
        attributes: Sequence[str] | None = None,
    ) -> list[ExampleHit]:
        """Top-k examples by similarity to ``text`` (filtered by domain and scored attributes)."""
        ...
