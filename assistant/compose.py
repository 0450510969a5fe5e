"""Composition root: build the settings-dependent objects once, hand them down."""

from __future__ import annotations

from assistant.backbones import BackbonePool
from assistant.decisions.reader_file import load_reader_record
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
        readers=load_reader_record(settings.readers_path) if settings.use_readers else None,
    )
