"""Health of a ``llamacpp`` backbone: its options are valid and its GGUF file is there and readable.

The model is not loaded (that takes seconds and memory) and the embedded one is not assembled: a file
that starts with the GGUF magic is what llama.cpp can load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from alignment.errors import BackboneUnavailable, ConfigError
from assistant.backbones.health import BackboneHealth

__all__ = ["check"]

GGUF_MAGIC = b"GGUF"


def _model_file(raw: Path | None) -> Path:
    if raw is not None:
        return raw.expanduser()
    from assistant.models_local import embedded_model_file

    return embedded_model_file()


def check(name: str, options: dict[str, Any], *, client: httpx.Client, timeout_s: float) -> BackboneHealth:
    """The GGUF file of backbone ``name``; ``client`` and ``timeout_s`` are unused (a local file)."""
    from assistant.backbones.llamacpp.backbone import parse_options

    raw = options.get("model_path")
    try:
        path = _model_file(parse_options(name, options).model_path)
    except (ConfigError, BackboneUnavailable) as exc:
        return BackboneHealth(ok=False, target=str(raw or ""), detail=str(exc))
    if not path.is_file():
        hint = "fix model_path" if raw else "run `align setup`"
        return BackboneHealth(ok=False, target=str(path), detail=f"backbone {name!r}: no model file; {hint}")
    with path.open("rb") as handle:
        magic = handle.read(len(GGUF_MAGIC))
    if magic != GGUF_MAGIC:
        return BackboneHealth(
            ok=False, target=str(path), detail=f"backbone {name!r}: {path.name} is not a GGUF file"
        )
    size_mb = path.stat().st_size / 1e6
    return BackboneHealth(
        ok=True, target=str(path), detail=f"backbone {name!r}: GGUF model file present ({size_mb:.0f} MB)"
    )
