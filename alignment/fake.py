"""A scripted backbone and a word-count embedder for fast unit tests of
pure logic (never a stand-in for the real ones, which the integration tests use)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from alignment.backbone import Backbone, Capabilities, GenerationRequest, GenerationResult
from alignment.embedding import Embedder
from alignment.models import Usage

__all__ = ["FakeBackbone", "FakeEmbedder"]

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
