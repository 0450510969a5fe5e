"""The ``openai`` backbone type: any OpenAI-compatible chat server (vLLM first), through the openai SDK.

``backbone`` builds one (nothing is contacted until the first request), ``check`` asks the server for
its models; a server's queue lets it have ``max_concurrency`` calls in flight (its flavour's default
when unset). Importing this package imports no openai SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.backbones.backbone_type import BackboneType
from assistant.backbones.openai.check import check

if TYPE_CHECKING:
    from assistant.backbones.openai.backbone import OpenAICompatBackbone
    from assistant.settings import Settings

__all__ = ["OPENAI"]


def create(name: str, options: dict[str, Any], settings: Settings | None = None) -> OpenAICompatBackbone:
    from assistant.backbones.openai.backbone import create as connect

    return connect(name, options, settings)


def concurrency(name: str, options: dict[str, Any]) -> int:
    from assistant.backbones.openai.backbone import parse_options

    return parse_options(name, options).concurrency()


OPENAI = BackboneType(create=create, check=check, concurrency=concurrency)
