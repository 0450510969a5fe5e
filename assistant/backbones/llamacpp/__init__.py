"""The ``llamacpp`` backbone type: llama-cpp-python in process, the embedded default.

``backbone`` builds one (the model loads there), ``check`` checks its GGUF file without loading it; a
server fills in its thread count (``serving.serving_threads``) where the settings set none, and loads
it first (``in_process``). Importing this package imports no llama.cpp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.backbones.backbone_type import BackboneType
from assistant.backbones.llamacpp.check import check

if TYPE_CHECKING:
    from assistant.backbones.llamacpp.backbone import LlamaCppBackbone
    from assistant.settings import Settings

__all__ = ["LLAMACPP"]


def create(name: str, options: dict[str, Any], settings: Settings | None = None) -> LlamaCppBackbone:
    from assistant.backbones.llamacpp.backbone import create as load

    return load(name, options, settings)


def serving_defaults(options: dict[str, Any]) -> dict[str, Any]:
    """In a server, llama.cpp's threads leave the server a core (``serving.serving_threads``)."""
    if options.get("n_threads") is not None:
        return {}
    from assistant.backbones.serving import serving_threads

    return {"n_threads": serving_threads()}


LLAMACPP = BackboneType(create=create, check=check, serving_defaults=serving_defaults, in_process=True)
