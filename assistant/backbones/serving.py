"""Backbone defaults for ``align serve``: what differs from a one-off command when a server shares the CPU.

- ``for_serving(settings)``: each ``llamacpp`` backbone whose ``n_threads`` is not set gets
  ``serving_threads()``, which leaves a core to the server (see ``serving_threads``).
- ``queue_concurrency(settings)``: how many requests of one endpoint Gradio's queue runs at once by
  default: enough that every backbone can have as many calls in flight as it allows
  (``max_concurrency`` of an OpenAI-compatible backbone), and never fewer than ``MIN_CONCURRENCY``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.settings import Settings

__all__ = ["MIN_CONCURRENCY", "backbone_concurrency", "for_serving", "queue_concurrency", "serving_threads"]

MIN_CONCURRENCY = 4


def serving_threads(cpus: int | None = None) -> int:
    """llama.cpp threads of the embedded model in a server on ``cpus`` cores (default: this machine)."""
    cpus = cpus if cpus is not None else (os.cpu_count() or 1)
    return max(1, cpus)


def for_serving(settings: Settings) -> Settings:
    """``settings`` with the serving thread default filled in where a llamacpp backbone sets none."""
    backbones = {}
    for name, config in settings.backbones.items():
        options = config.options()
        if config.type == "llamacpp" and options.get("n_threads") is None:
            config = config.model_copy(update={"n_threads": serving_threads()})
        backbones[name] = config
    return settings.model_copy(update={"backbones": backbones})


def backbone_concurrency(settings: Settings, name: str) -> int:
    """How many calls backbone ``name`` takes at once: an OpenAI-compatible one its
    ``max_concurrency`` (or its flavour's default), any other 1 (the embedded model runs one)."""
    config = settings.backbones[name]
    if config.type != "openai":
        return 1
    from assistant.backbones.openai_compat import parse_options

    return parse_options(name, config.options()).concurrency()


def queue_concurrency(settings: Settings) -> int:
    """Gradio's default concurrency limit for ``align serve`` (see the module docstring)."""
    return max([MIN_CONCURRENCY, *(backbone_concurrency(settings, n) for n in settings.backbones)])
