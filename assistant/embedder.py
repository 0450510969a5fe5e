"""The sentence-embedding model behind ``alignment.embedding.Embedder``: the example store's MiniLM,
with a bounded cache (attribute definitions and example options recur in every decision)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

from alignment.embedding import Embedder

__all__ = ["CachedEmbedder"]


class CachedEmbedder(Embedder):
    """Embeds with ``embed_fn`` (the store's), caching up to ``capacity`` texts (least recently used out)."""

    def __init__(
        self, embed_fn: Callable[[Sequence[str]], list[list[float]]], capacity: int = 50_000
    ) -> None:
        self._embed_fn = embed_fn
        self._capacity = capacity
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vectors = self._embed_fn(missing)
            with self._lock:
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = vector
                while len(self._cache) > self._capacity:
                    self._cache.popitem(last=False)
        with self._lock:
            out: list[list[float]] = []
            for text in texts:
                cached = self._cache.get(text)
                if cached is None:  # evicted by a concurrent call between the two steps
                    cached = self._embed_fn([text])[0]
                else:
                    self._cache.move_to_end(text)
                out.append(cached)
            return out
