"""The ``openai`` backbone type: any OpenAI-compatible chat server (vLLM first), through the openai SDK.

``backbone`` builds one (nothing is contacted until the first request), ``check`` asks the server for
its models; a server's queue lets it have ``max_concurrency`` calls in flight (its flavour's default
when unset). Importing this package imports no openai SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from assistant.backbones.backbone_type import BackboneType

if TYPE_CHECKING:
    from assistant.backbones.health import BackboneHealth
    from assistant.backbones.openai.backbone import OpenAICompatBackbone
    from assistant.settings import Settings

__all__ = ["OPENAI"]


def create(name: str, options: dict[str, Any], settings: Settings | None = None) -> OpenAICompatBackbone:
    from assistant.backbones.openai.backbone import create as build

    return build(name, options, settings)


def check(name: str, options: dict[str, Any], *, client: httpx.Client, timeout_s: float) -> BackboneHealth:
    from assistant.backbones.openai.check import check as check_server

    return check_server(name, options, client=client, timeout_s=timeout_s)


def concurrency(name: str, options: dict[str, Any]) -> int:
    from assistant.backbones.openai.backbone import parse_options

    return parse_options(name, options).concurrency()


OPENAI = BackboneType(create=create, check=check, concurrency=concurrency)
