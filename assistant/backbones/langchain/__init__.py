"""The ``langchain`` backbone type: any LangChain chat model, for providers that are not OpenAI-compatible.

``backbone`` builds one (LangChain is imported there), ``check`` builds the chat model from its options
without calling the provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from assistant.backbones.backbone_type import BackboneType

if TYPE_CHECKING:
    from assistant.backbones.health import BackboneHealth
    from assistant.backbones.langchain.backbone import LangChainBackbone
    from assistant.settings import Settings

__all__ = ["LANGCHAIN"]


def create(name: str, options: dict[str, Any], settings: Settings | None = None) -> LangChainBackbone:
    from assistant.backbones.langchain.backbone import create as build

    return build(name, options, settings)


def check(name: str, options: dict[str, Any], *, client: httpx.Client, timeout_s: float) -> BackboneHealth:
    from assistant.backbones.langchain.check import check as check_model

    return check_model(name, options, client=client, timeout_s=timeout_s)


LANGCHAIN = BackboneType(create=create, check=check)
