"""Backbone defaults for ``align serve``: what differs from a one-off command when a server shares the CPU.

- ``for_serving(settings)``: each ``llamacpp`` backbone whose ``n_threads`` is not set gets
  ``serving_threads()``: every core on one or two, one core less from three on (see ``serving_threads``).
- ``give_way(nice)``: the calling thread, and every thread it starts afterwards, runs ``nice`` steps
  nicer: ``align serve`` loads the embedded model (whose thread keeps the process's priority) and
  then gives way with the rest of the server.
- ``queue_concurrency(settings)``: how many requests of one endpoint Gradio's queue runs at once by
  default: enough that every backbone can have as many calls in flight as it allows
  (``max_concurrency`` of an OpenAI-compatible backbone), and never fewer than ``MIN_CONCURRENCY``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.settings import Settings

__all__ = [
    "MAX_SERVING_THREADS",
    "MIN_CONCURRENCY",
    "backbone_concurrency",
    "for_serving",
    "give_way",
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


def for_serving(settings: Settings) -> Settings:
    """``settings`` with the serving thread default filled in where a llamacpp backbone sets none."""
    backbones = {}
    for name, config in settings.backbones.items():
        options = config.options()
        if config.type == "llamacpp" and options.get("n_threads") is None:
            config = config.model_copy(update={"n_threads": serving_threads()})
        backbones[name] = config
    return settings.model_copy(update={"backbones": backbones})


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
