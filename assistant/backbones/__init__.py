"""Backbones by type: one registry of ``align.backbones`` entry points, the built-in types among them.

A type is a ``BackboneType`` (``assistant.backbones.backbone_type``): create, check, serving defaults.
The package declares its own types as entry points in its pyproject.toml, as a plugin package does;
``BUILTIN`` holds the same entry points (a test keeps the two equal), so a checkout whose installed
metadata predates a type still has it, and they are loaded exactly as a plugin's are. A plugin may not
take a built-in type's name: the built-in wins.
"""

from __future__ import annotations

import threading
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

from alignment.backbone import Backbone
from alignment.errors import ConfigError, UnknownName
from assistant.backbones.backbone_type import BackboneFactory, BackboneType, as_backbone_type

if TYPE_CHECKING:
    from assistant.settings import Settings

__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "BackboneFactory",
    "BackbonePool",
    "BackboneType",
    "backbone_types",
    "build_backbone",
    "get_backbone_type",
]

ENTRY_POINT_GROUP = "align.backbones"

BUILTIN = tuple(
    EntryPoint(name, value, ENTRY_POINT_GROUP)
    for name, value in [
        ("langchain", "assistant.backbones.langchain:LANGCHAIN"),
        ("llamacpp", "assistant.backbones.llamacpp:LLAMACPP"),
        ("openai", "assistant.backbones.openai:OPENAI"),
    ]
)


def _entry_points() -> dict[str, EntryPoint]:
    """Every type's entry point by name: the installed ones, then the built-ins over them."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return found | {ep.name: ep for ep in BUILTIN}


def backbone_types() -> list[str]:
    return sorted(_entry_points())


def get_backbone_type(type_name: str) -> BackboneType:
    """The type of that name; UnknownName if none, ConfigError if its entry point does not load."""
    ep = _entry_points().get(type_name)
    if ep is None:
        raise UnknownName("backbone type", type_name, backbone_types())
    try:
        loaded = ep.load()
    except Exception as exc:
        raise ConfigError(f"backbone plugin {type_name!r} failed to load: {exc}") from exc
    return as_backbone_type(loaded)


def build_backbone(name: str, settings: Settings) -> Backbone:
    config = settings.backbones.get(name)
    if config is None:
        raise UnknownName("backbone", name, list(settings.backbones))
    return get_backbone_type(config.type).create(name, config.options(), settings)


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
