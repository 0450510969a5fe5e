"""Backbone defaults for ``align serve``: what differs from a one-off command when a server shares the CPU.

Each backbone's type says what it changes (``BackboneType``: ``serving_defaults``, ``concurrency``,
``in_process``); this module applies that to the settings:

- ``for_serving(settings)``: each backbone's options with its type's serving defaults filled in where
  the settings set none (a ``llamacpp`` backbone without ``n_threads`` gets ``serving_threads()``:
  every core on one or two, one core less from three on, see ``serving_threads``).
- ``loads_first(settings)``: whether the default backbone runs in this process, so that ``align serve``
  loads it at start and then gives way (``give_way``).
- ``give_way(nice)``: the calling thread, and every thread it starts afterwards, runs ``nice`` steps
  nicer: ``align serve`` loads the embedded model (whose thread keeps the process's priority) and
  then gives way with the rest of the server.
- ``queue_concurrency(settings)``: how many requests of one endpoint Gradio's queue runs at once by
  default: enough that every backbone can have as many calls in flight as its type allows it
  (``max_concurrency`` of an OpenAI-compatible backbone), and never fewer than ``MIN_CONCURRENCY``.

A type that is not installed, or whose plugin does not load, changes nothing here: the server starts,
and building that backbone reports the error as without a server.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from alignment.errors import AlignError
from assistant.backbones import get_backbone_type
from assistant.backbones.backbone_type import BackboneType

if TYPE_CHECKING:
    from assistant.settings import Settings

__all__ = [
    "MAX_SERVING_THREADS",
    "MIN_CONCURRENCY",
    "backbone_concurrency",
    "for_serving",
    "give_way",
    "loads_first",
    "queue_concurrency",
    "serving_threads",
    "usable_cpus",
]

MIN_CONCURRENCY = 4


MAX_SERVING_THREADS = 8


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity: a container's cpuset), else the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def serving_threads(cpus: int | None = None) -> int:
    """llama.cpp threads of the embedded model in a server on ``cpus`` cores (default: usable_cpus()).

    Every core on one or two, one core less from three on, at most ``MAX_SERVING_THREADS``.
    llama.cpp's threads meet at a barrier after every step, so one of them preempted by the server
    or its users stalls the whole step. Measured on 2 cores (docs/perf/serve-profile.md): two threads
    lose about a sixth of their speed to that inside the server and still serve ~36% more decisions
    per second than one, which the second core would otherwise leave idle. From three cores on, leaving
    one costs the model a third of its compute or less (and less still for a small model, bound by
    memory bandwidth), about what the stalls cost; the server then has a core of its own (reasoned,
    not measured here). The cap: every further thread adds barrier waits for no bandwidth.
    """
    cpus = cpus if cpus is not None else usable_cpus()
    if cpus <= 2:
        return max(1, cpus)
    return min(cpus - 1, MAX_SERVING_THREADS)


def _type_of(type_name: str) -> BackboneType | None:
    try:
        return get_backbone_type(type_name)
    except AlignError:  # reported when the backbone is built or checked
        return None


def for_serving(settings: Settings) -> Settings:
    """``settings`` with each backbone's serving defaults filled in where its options set none."""
    backbones = {}
    for name, config in settings.backbones.items():
        kind = _type_of(config.type)
        if kind is not None:
            config = config.model_copy(update=kind.serving_defaults(config.options()))
        backbones[name] = config
    return settings.model_copy(update={"backbones": backbones})


def loads_first(settings: Settings) -> bool:
    """Whether the default backbone's type runs its model in this process (``BackboneType.in_process``)."""
    kind = _type_of(settings.backbones[settings.default_backbone].type)
    return kind is not None and kind.in_process


def give_way(nice: int) -> int | None:
    """Lower the calling thread's scheduling priority by ``nice``; the threads it starts afterwards
    inherit it (Linux keeps a nice value per thread). The niceness now, or None where it cannot be
    read or changed (another system).

    Measured on 2 cores with nothing else running (docs/perf/serve-profile.md): with the server's
    threads 5 steps nicer than the model's, throughput over the backbone alone 0.911 (median of 6
    runs) against 0.889 (3 runs, interleaved) without; less than the spread between runs.
    """
    if nice <= 0:
        return None
    try:
        return os.nice(nice)  # per thread on Linux: this thread only
    except (AttributeError, OSError):
        return None


def backbone_concurrency(settings: Settings, name: str) -> int:
    """How many calls backbone ``name`` takes at once, as its type says (``BackboneType.concurrency``):
    an OpenAI-compatible one its ``max_concurrency`` (or its flavour's default); 1 by default (the
    embedded model runs one)."""
    config = settings.backbones[name]
    kind = _type_of(config.type)
    return 1 if kind is None else kind.concurrency(name, config.options())


def queue_concurrency(settings: Settings) -> int:
    """Gradio's default concurrency limit for ``align serve`` (see the module docstring)."""
    return max([MIN_CONCURRENCY, *(backbone_concurrency(settings, n) for n in settings.backbones)])
