"""A scripted backbone, a word-count embedder and an in-memory example store for fast unit tests of
pure logic (never a stand-in for the real ones, which the integration tests use)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from alignment.backbone import Backbone, Capabilities, GenerationRequest, GenerationResult
from alignment.datasets import DatasetRecord
from alignment.embedding import Embedder
from alignment.errors import NotFound
from alignment.example_admin import AddReport, ExampleHit
from alignment.models import Example, Usage

__all__ = ["FakeBackbone", "FakeEmbedder", "InMemoryExamples"]

Responder = Callable[[GenerationRequest, int], str | dict[str, Any]]


class FakeBackbone(Backbone):
    """Answers from a script: a list of replies (str or dict, used in order) or a function.

    Records every request in ``requests``. For label log-probabilities it returns
    ``logprobs`` (a dict label -> logprob; missing labels get -10).
    """

    def __init__(
        self,
        replies: list[str | dict[str, Any]] | Responder | None = None,
        *,
        logprobs: dict[str, float] | None = None,
        name: str = "fake",
        capabilities: Capabilities | None = None,
    ) -> None:
        self.name = name
        self.capabilities = capabilities or Capabilities(
            json_schema=True, label_logprobs=True, samples=True, seeded=True
        )
        self._replies = replies if replies is not None else []
        self._logprobs = logprobs or {}
        self._count = 0
        self.requests: list[GenerationRequest] = []

    def _next(self, request: GenerationRequest) -> str:
        if callable(self._replies):
            reply = self._replies(request, self._count)
        else:
            if self._count >= len(self._replies):
                raise AssertionError("FakeBackbone ran out of scripted replies")
            reply = self._replies[self._count]
        self._count += 1
        return reply if isinstance(reply, str) else json.dumps(reply)

    def execute(self, request: GenerationRequest) -> GenerationResult:
        self.requests.append(request)
        if request.label_logprobs is not None:
            lp = {label: self._logprobs.get(label, -10.0) for label in request.label_logprobs}
            return GenerationResult(label_logprobs=lp, usage=Usage(prompt_tokens=10, calls=1))
        texts = [self._next(request) for _ in range(request.n)]
        return GenerationResult(
            texts=texts, usage=Usage(prompt_tokens=10, completion_tokens=5 * len(texts), calls=1)
        )


class FakeEmbedder(Embedder):
    """One dimension per vocabulary word (a word counts where a text's word starts with it, so
    "saving" counts "savings"), plus a constant one; unit length, so similarities are checkable by hand.
    Records every call in ``calls``."""

    def __init__(self, vocabulary: Sequence[str], bias: float = 0.1) -> None:
        self.vocabulary = [w.casefold() for w in vocabulary]
        self.bias = bias
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        out = []
        for text in texts:
            words = re.findall(r"\w+", text.casefold())
            vector = [float(sum(w.startswith(v) for w in words)) for v in self.vocabulary] + [self.bias]
            norm = math.sqrt(sum(x * x for x in vector))
            out.append([x / norm for x in vector])
        return out


class InMemoryExamples:
    """``alignment.example_admin.ExampleAdmin`` in a dict, searched with an ``Embedder`` (exact cosine)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.examples: dict[str, Example] = {}

    def add_examples(
        self, examples: Sequence[Example], *, progress: Callable[[int], None] | None = None
    ) -> AddReport:
        report = AddReport()
        for example in examples:
            if example.id in self.examples:
                report.present.append(example.id)
                continue
            self.examples[example.id] = example
            report.added.append(example.id)
            domain = example.domain or "generic"
            report.per_domain[domain] = report.per_domain.get(domain, 0) + 1
        if progress is not None:
            progress(len(examples))
        return report

    def add_records(
        self, records: Sequence[DatasetRecord], *, progress: Callable[[int], None] | None = None
    ) -> AddReport:
        return self.add_examples([r.to_example() for r in records], progress=progress)

    def delete(self, ids: Sequence[str]) -> list[str]:
        missing = [i for i in ids if i not in self.examples]
        if missing:
            raise NotFound(f"no example with id {', '.join(missing)}")
        for i in ids:
            del self.examples[i]
        return list(ids)

    def get(self, example_id: str) -> Example:
        if example_id not in self.examples:
            raise NotFound(f"no example with id {example_id!r}")
        return self.examples[example_id]

    def count(self) -> int:
        return len(self.examples)

    def _matching(
        self, domain: str | None, source: str | None, attributes: Sequence[str] | None
    ) -> list[Example]:
        wanted = set(attributes or [])
        return [
            e
            for e in self.examples.values()
            if (domain is None or e.domain == domain)
            and (source is None or e.source == source)
            and (not wanted or any(a in s for s in e.scores for a in wanted))
        ]

    def list_examples(
        self,
        *,
        domain: str | None = None,
        source: str | None = None,
        attribute: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[Example]:
        found = self._matching(domain, source, [attribute] if attribute else None)
        return found[offset : offset + limit]

    def search(
        self,
        text: str,
        *,
        k: int = 3,
        domain: str | None = None,
        attributes: Sequence[str] | None = None,
    ) -> list[ExampleHit]:
        found = self._matching(domain, None, attributes)
        if not found:
            return []
        query, *vectors = self.embedder.embed([text, *(e.text for e in found)])
        hits = [
            ExampleHit(example=e, similarity=sum(a * b for a, b in zip(query, v, strict=True)))
            for e, v in zip(found, vectors, strict=True)
        ]
        return sorted(hits, key=lambda h: -h.similarity)[:k]
