"""The ``langchain`` backbone type: any LangChain chat model, for providers that are not OpenAI-compatible.

``backbone`` builds one (LangChain and the provider's package are imported only then), ``check`` builds
the chat model from its options without calling the provider.
"""

from __future__ import annotations

from assistant.backbones.backbone_type import BackboneType
from assistant.backbones.langchain.backbone import create
from assistant.backbones.langchain.check import check

__all__ = ["LANGCHAIN"]

LANGCHAIN = BackboneType(create=create, check=check)
