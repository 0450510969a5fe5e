"""The boundary to a sentence-embedding model: one abstract method, ``embed``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

__all__ = ["Embedder"]


class Embedder(ABC):
    """Texts in, unit-length vectors out (cosine similarity is then a dot product).

    Implementations are handed their model (the assistant wraps the example store's MiniLM).
    """

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text, in order."""
