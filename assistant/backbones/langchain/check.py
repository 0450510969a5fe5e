"""Health of a ``langchain`` backbone: its options are valid, the chat model's package is installed,
and the model builds from its options.

The provider is not contacted: LangChain has no call that every provider answers without spending a
generation (a model server, a hosted API and a local pipeline differ), so reachability shows on the
first decision, as a clear "cannot reach" error.
"""

from __future__ import annotations

from typing import Any

import httpx

from alignment.errors import ConfigError
from assistant.backbones.health import BackboneHealth

__all__ = ["check"]


def check(name: str, options: dict[str, Any], *, client: httpx.Client, timeout_s: float) -> BackboneHealth:
    """Build backbone ``name`` without calling it; ``client`` and ``timeout_s`` are unused."""
    from assistant.backbones.langchain.backbone import create

    target = str(options.get("class", ""))
    try:
        built = create(name, options)
    except ConfigError as exc:
        return BackboneHealth(ok=False, target=target, detail=str(exc))
    return BackboneHealth(
        ok=True,
        target=target,
        detail=f"backbone {name!r}: {target} builds from its options (structured output: "
        f"{built.structured_via}); the provider is contacted on the first decision",
    )
