"""``BackboneType``: one kind of backbone as one object: how to build one, how to check one, and what
``align serve`` changes for it.

- ``create(name, options, settings) -> Backbone``: build a backbone from its table in the settings
  (``options``: everything but ``type``).
- ``check(name, options, *, client, timeout_s) -> BackboneHealth``: its health, without building it
  (``assistant.backbones.health``); None: the type has no check (reported ok but unchecked).
- ``serving_defaults(options) -> dict``: options a server sets where the configuration sets none
  (the llamacpp type: its thread count); the settings' own values always stand.
- ``concurrency(name, options) -> int``: how many calls a backbone of this type takes at once; the
  default queue of ``align serve`` lets every backbone have that many in flight.
- ``in_process``: the model runs in this process; ``align serve`` loads a default backbone of such a
  type before anything else and then runs its other threads nicer (``serving.give_way``).

Every type, built-in or not, is an ``align.backbones`` entry point (``assistant.backbones``). An entry
point names a ``BackboneType``, or, as plugins have always done, just a factory, whose ``check``
attribute (``create.check = my_check``, or a static method of a class factory) is its check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from alignment.backbone import Backbone

if TYPE_CHECKING:
    from assistant.backbones.health import BackboneCheck
    from assistant.settings import Settings

__all__ = ["BackboneFactory", "BackboneType", "as_backbone_type"]

BackboneFactory = Callable[[str, dict[str, Any], "Settings"], Backbone]


def _no_defaults(options: dict[str, Any]) -> dict[str, Any]:
    return {}


def _one_at_a_time(name: str, options: dict[str, Any]) -> int:
    return 1


@dataclass(frozen=True)
class BackboneType:
    """A backbone type (see the module's description)."""

    create: BackboneFactory
    check: BackboneCheck | None = None
    serving_defaults: Callable[[dict[str, Any]], dict[str, Any]] = _no_defaults
    concurrency: Callable[[str, dict[str, Any]], int] = _one_at_a_time
    in_process: bool = False


def as_backbone_type(loaded: object) -> BackboneType:
    """What an entry point names, as a ``BackboneType``: itself, or a factory with its ``check``."""
    if isinstance(loaded, BackboneType):
        return loaded
    check = getattr(loaded, "check", None)
    return BackboneType(
        create=cast(BackboneFactory, loaded),
        check=cast("BackboneCheck", check) if callable(check) else None,
    )
