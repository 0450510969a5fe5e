"""Backbones by type: built-ins (llamacpp, openai, langchain) plus ``align.backbones`` entry points.

A backbone type is a factory ``(name, options, settings) -> Backbone``; options are the
backbone's table in the settings (everything except ``type``). Each type checks its own health
(``assistant.backbones.health``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from alignment.backbone import Backbone
from alignment.errors import ConfigError, UnknownName

if TYPE_CHECKING:
    from assistant.settings import Settings

__all__ = ["ENTRY_POINT_GROUP", "BackbonePool", "backbone_factory", "backbone_types", "build_backbone"]

ENTRY_POINT_GROUP = "align.backbones"

BackboneFactory = Callable[[str, dict[str, Any], "Settings"], Backbone]

_BUILTIN = {
    "llamacpp": "assistant.backbones.llamacpp:create",
    "openai": "assistant.backbones.openai_compat:create",
    "langchain": "assistant.backbones.langchain_backbone:create",
}


def backbone_types() -> list[str]:
    return sorted(set(_BUILTIN) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def backbone_factory(type_name: str) -> BackboneFactory:
    """The factory of a type: a built-in, else the ``align.backbones`` entry point of that name."""
    if type_name in _BUILTIN:
        module, _, attr = _BUILTIN[type_name].partition(":")
        factory: BackboneFactory = getattr(import_module(module), attr)
        return factory
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == type_name:
            try:
                loaded: BackboneFactory = ep.load()
            except Exception as exc:
                raise ConfigError(f"backbone plugin {type_name!r} failed to load: {exc}") from exc
            return loaded
    raise UnknownName("backbone type", type_name, backbone_types())


def build_backbone(name: str, settings: Settings) -> Backbone:
    config = settings.backbones.get(name)
    if config is None:
        raise UnknownName("backbone", name, list(settings.backbones))
    return backbone_factory(config.type)(name, config.options(), settings)


class BackbonePool:
    """Builds each named backbone once, on first use, and shares it (thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._built: dict[str, Backbone] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return sorted(self._settings.backbones)

    def get(self, name: str) -> Backbone:
        with self._lock:
            if name not in self._built:
                self._built[name] = build_backbone(name, self._settings)
            return self._built[name]

    def add(self, backbone: Backbone) -> None:
        """Use an already built backbone under its name (tests, embedding)."""
        with self._lock:
            self._built[backbone.name] = backbone

    def close(self) -> None:
        with self._lock:
            for backbone in self._built.values():
                backbone.close()
            self._built.clear()
