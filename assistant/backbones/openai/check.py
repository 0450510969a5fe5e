"""Health of an ``openai`` backbone: the server answers ``GET {base_url}/models`` with the key the
backbone itself would send (``resolve_api_key``) and serves the configured model (any, if none is set).
"""

from __future__ import annotations

from typing import Any

import httpx

from alignment.errors import ConfigError
from assistant.backbones.health import BackboneHealth, get_ok

__all__ = ["check"]


def check(name: str, options: dict[str, Any], *, client: httpx.Client, timeout_s: float) -> BackboneHealth:
    from assistant.backbones.openai.backbone import parse_options, resolve_api_key

    base_url = str(options.get("base_url") or "").strip().rstrip("/")
    target = f"{base_url}/models"
    if not base_url.startswith(("http://", "https://")):
        detail = f"backbone {name!r} has no http(s) base_url; set it"
        return BackboneHealth(ok=False, target=target, detail=detail)
    try:
        parsed = parse_options(name, options)
        key = resolve_api_key(name, parsed)
    except ConfigError as exc:
        return BackboneHealth(ok=False, target=target, detail=str(exc))
    response = get_ok(
        client,
        target,
        timeout_s=timeout_s,
        headers={"Authorization": f"Bearer {key}"} if key else {},
        prefix=f"backbone {name!r}: ",
        unreachable="no answer ({error}); start the model server or fix base_url",
        refused="HTTP {status} {text}; check the server and the API key",
    )
    if isinstance(response, str):
        return BackboneHealth(ok=False, target=target, detail=response)
    try:
        ids = [str(m["id"]) for m in response.json().get("data", [])]
    except (ValueError, KeyError, TypeError, AttributeError):
        return _unwell(name, target, "not an OpenAI model list; check base_url")
    return _served(name, target, ids, parsed.model)


def _unwell(name: str, target: str, what: str) -> BackboneHealth:
    """Backbone ``name`` is not usable: ``what`` is wrong, and what to do."""
    return BackboneHealth(ok=False, target=target, detail=f"backbone {name!r}: {what}")


def _served(name: str, target: str, ids: list[str], wanted: str | None) -> BackboneHealth:
    if not ids:
        return _unwell(name, target, "the server lists no model")
    if wanted and wanted not in ids:
        return _unwell(
            name,
            target,
            f"the server serves {', '.join(ids)}, not {wanted!r}; fix the backbone's model option or the "
            "server's --served-model-name",
        )
    return BackboneHealth(ok=True, target=target, detail=f"backbone {name!r} serves {wanted or ids[0]}")
