"""Composition root: build the settings-dependent objects once, hand them down."""

from __future__ import annotations

from assistant.backbones import BackbonePool
from assistant.decisions.service import DecisionService
from assistant.settings import Settings

__all__ = ["build_service"]


def build_service(settings: Settings) -> DecisionService:
    from assistant.stores.embedding import CachedEmbedder, MiniLMEmbedder
    from assistant.stores.examples import LazyExampleStore

    embedder = MiniLMEmbedder()  # one model for retrieval and for algorithms that embed
    return DecisionService(
        settings,
        BackbonePool(settings),
        examples=LazyExampleStore(settings, embedder),
        embedder=CachedEmbedder(embedder.embed),
    )
