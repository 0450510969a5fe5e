"""Each backbone type checks its own health: its ``BackboneType.check(name, options, *, client, timeout_s)``.

- Built-in types: the ``llamacpp`` check (the GGUF file is there and is a GGUF), the ``openai`` one (the
  server answers ``GET /models`` with the configured key and serves the model), the ``langchain`` one
  (the chat model's package is installed and the model builds; no provider call); each in its type's
  ``check`` module.
- Plugin types: the type's ``check``; for a plugin whose entry point names a factory, the factory's
  ``check`` attribute, if it has one (``create.check = my_check``, or a static method of a class
  factory). A type without one is reported ok but unchecked: nothing is known either way.
- A type that is not installed, or whose plugin fails to load, is not ok: it cannot be built.

A check answers a ``BackboneHealth`` and changes nothing: no file assembled, no model loaded. HTTP goes
through the ``httpx.Client`` handed in (tests hand in one with an ``httpx.MockTransport``).
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx
from pydantic import BaseModel

from alignment.errors import AlignError
from assistant.backbones import get_backbone_type

__all__ = ["BackboneCheck", "BackboneHealth", "check_backbone", "get_ok"]


class BackboneHealth(BaseModel):
    """What a backbone's check saw: usable or not, what was checked, one line on what to do."""

    ok: bool
    checked: bool = True  # False: the type has no check
    target: str = ""  # what was checked (a URL, a file)
    detail: str = ""  # one line; when not ok, what to do next


def get_ok(
    client: httpx.Client,
    url: str,
    *,
    timeout_s: float,
    unreachable: str,
    refused: str,
    prefix: str = "",
    headers: dict[str, str] | None = None,
) -> httpx.Response | str:
    """``GET url``: the answer if it is a 200, else one line on why not, ``prefix`` first: ``unreachable``
    when nothing answered (``{error}`` in it: what failed), ``refused`` for another status (``{status}``,
    and ``{text}``: the start of the answer). Health checks use it for the servers they ask."""
    try:
        response = client.get(url, headers=headers or {}, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return prefix + unreachable.format(error=f"{type(exc).__name__}: {exc}")
    if response.status_code != 200:
        return prefix + refused.format(status=response.status_code, text=response.text[:200])
    return response


class BackboneCheck(Protocol):
    def __call__(
        self, name: str, options: dict[str, Any], *, client: httpx.Client, timeout_s: float
    ) -> BackboneHealth: ...


def check_backbone(
    name: str, type_name: str, options: dict[str, Any], *, client: httpx.Client, timeout_s: float
) -> BackboneHealth:
    """Ask the backbone's type to check it (see the module's description)."""
    try:
        check = get_backbone_type(type_name).check
    except AlignError as exc:  # not installed, or the plugin does not load
        return BackboneHealth(ok=False, target=type_name, detail=f"backbone {name!r}: {exc}")
    if check is None:
        detail = f"backbone type {type_name!r} has no health check"
        return BackboneHealth(ok=True, checked=False, target=type_name, detail=detail)
    answer = check(name, options, client=client, timeout_s=timeout_s)
    return BackboneHealth.model_validate(answer, from_attributes=True)  # a plugin's own model is fine
