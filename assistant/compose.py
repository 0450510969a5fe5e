"""Composition root: build the settings-dependent objects once, hand them down."""

from __future__ import annotations

from assistant.backbones import BackbonePool
from assistant.service import DecisionService
from assistant.settings import Settings

__all__ = ["build_service"]


def build_service(settings: Settings) -> DecisionService:
    from assistant.embedder import CachedEmbedder
    from assistant.example_store import LazyExampleStore

    store = LazyExampleStore(settings)
    return DecisionService(
        settings,
        BackbonePool(settings),
        examples=store,
        embedder=CachedEmbedder(lambda texts: store.store.embed(texts)),
    )
