"""JSON schemas the structured-output tests decode against."""

from __future__ import annotations

from typing import Any

__all__ = ["nested_schema"]


def nested_schema(*, closed: bool = False) -> dict[str, Any]:
    """Two nested objects, ``A`` and ``B``, each a short reasoning and a fairness score from 0 to 10;
    ``closed``: no other properties at either level (``additionalProperties: false``)."""
    extra: dict[str, Any] = {"additionalProperties": False} if closed else {}
    scored = {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string", "maxLength": 120},
            "fairness": {"type": "integer", "minimum": 0, "maximum": 10},
        },
        "required": ["reasoning", "fairness"],
        **extra,
    }
    pair = {key: dict(scored) for key in ("A", "B")}
    return {"type": "object", "properties": pair, "required": ["A", "B"], **extra}
