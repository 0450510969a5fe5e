"""Every error the project raises on purpose. Each message says what to do next."""

from __future__ import annotations

__all__ = [
    "AlignError",
    "BackboneError",
    "BackboneUnavailable",
    "ConfigError",
    "Conflict",
    "InputError",
    "InvalidModelOutput",
    "NotFound",
    "NotImplementedFeature",
    "PermissionDenied",
    "StoreUnavailable",
    "UnknownName",
]


class AlignError(Exception):
    """Base class: a failure we expected and can explain to the user in one line."""

    exit_code = 2


class InputError(AlignError):
    """The request itself is wrong (empty scenario, one choice, value out of range...)."""


class UnknownName(InputError):
    """An algorithm, backbone, decider, attribute or profile name that is not known."""

    def __init__(self, kind: str, name: str, known: list[str] | None = None) -> None:
        hint = f"; known: {', '.join(sorted(known))}" if known else ""
        super().__init__(f"unknown {kind} {name!r}{hint}")
        self.kind = kind
        self.name = name


class ConfigError(AlignError):
    """The configuration (file or environment) is invalid."""


class BackboneError(AlignError):
    """The backbone failed to produce an answer."""


class BackboneUnavailable(BackboneError):
    """The backbone cannot be reached or loaded."""


class InvalidModelOutput(BackboneError):
    """The backbone answered, but never with output that fits the schema."""


class NotFound(AlignError):
    """A stored object does not exist (or is not visible to this user)."""


class PermissionDenied(AlignError):
    """The user may not do this."""


class Conflict(AlignError):
    """A concurrent change or a duplicate name."""


class StoreUnavailable(AlignError):
    """The database cannot be reached (or the connection dropped); nothing was written."""


class NotImplementedFeature(AlignError):
    """A feature that is planned but not built; says so instead of pretending."""
