"""Composition root: build the settings-dependent objects once, hand them down.

One MiniLM model serves retrieval (the example store) and the algorithms that embed; one example
store serves retrieval, the app's admin tabs, calibration and the CLI's example commands
(``opened_examples``); the attribute definitions come from the store's catalogue where there is a
store (``AppService`` hands it over), else from ``attributes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alignment.errors import ConfigError
from alignment.models import Attribute
from assistant.backbones import BackbonePool
from assistant.backbones.serving import for_serving
from assistant.decisions.reader_file import load_reader_record
from assistant.decisions.service import AttributeSource, DecisionService
from assistant.settings import Settings, load_settings

if TYPE_CHECKING:
    from assistant.stores.embedding import MiniLMEmbedder
    from assistant.stores.examples import ExampleStore

__all__ = ["build_service", "load_serving_settings", "opened_examples"]


def load_serving_settings(**overrides: Any) -> Settings:
    """The settings of a server (``align serve``, the serving benchmarks): as ``load_settings``, with
    the serving defaults filled in where the settings leave them unset (``for_serving``: llama.cpp
    threads)."""
    return for_serving(load_settings(**overrides))


def build_service(
    settings: Settings,
    *,
    embedder: MiniLMEmbedder | None = None,
    attributes: Mapping[str, Attribute] | AttributeSource | None = None,
) -> DecisionService:
    """The decision service: backbones loaded on first use, the example store opened on first
    retrieval, both over ``embedder`` (None: one built here, loaded on first use)."""
    from assistant.stores.embedding import CachedEmbedder, MiniLMEmbedder
    from assistant.stores.examples import LazyExampleStore

    embedder = embedder or MiniLMEmbedder()  # one model for retrieval and for algorithms that embed
    return DecisionService(
        settings,
        BackbonePool(settings),
        attributes=attributes,
        examples=LazyExampleStore(settings, embedder),
        embedder=CachedEmbedder(embedder.embed),
        readers=load_reader_record(settings.readers_path) if settings.use_readers else None,
    )


def opened_examples(service: DecisionService) -> ExampleStore:
    """The example store ``service`` retrieves from (``build_service``'s), opened."""
    from assistant.stores.examples import ExampleStore, LazyExampleStore

    examples = service.examples
    if isinstance(examples, LazyExampleStore):
        return examples.store
    if isinstance(examples, ExampleStore):
        return examples
    raise ConfigError("this decision service has no example store; build it with build_service")
