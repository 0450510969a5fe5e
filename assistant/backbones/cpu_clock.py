"""CPU seconds of an in-process model's work: the calling thread plus the native threads Python
does not know of (llama.cpp's OpenMP workers).

With one llama.cpp thread the model computes in the calling thread, and ``time.thread_time`` is
exact. With more, its workers are native threads; their time on a CPU is read from
``/proc/self/task/<tid>/schedstat`` (Linux, nanoseconds; ``stat``'s clock ticks where schedstat is
missing). Native threads of other libraries that run at the same time (torch's, while another
request embeds a text) would be counted too.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

__all__ = ["fields_cpu_seconds", "model_cpu_clock", "native_thread_ids", "stat_cpu_seconds", "stat_fields"]

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_TASKS = Path("/proc/self/task")


def stat_fields(stat: Path) -> list[str] | None:
    """The fields of a ``/proc`` ``stat`` file after the command name (field 3, the state, first);
    None if it cannot be read."""
    try:
        return stat.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def fields_cpu_seconds(fields: list[str]) -> float:
    """User + system seconds from ``stat_fields`` (clock ticks; ValueError or IndexError if malformed)."""
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14, 15)


def stat_cpu_seconds(stat: Path) -> float | None:
    """User + system seconds from a ``/proc`` ``stat`` file (a process's or a thread's), in clock
    ticks; None if it cannot be read."""
    fields = stat_fields(stat)
    try:
        return None if fields is None else fields_cpu_seconds(fields)
    except (IndexError, ValueError):
        return None


def _thread_cpu(task: Path) -> float:
    """Seconds thread ``task`` has spent on a CPU (0 if it ended meanwhile)."""
    try:
        return int((task / "schedstat").read_text().split()[0]) / 1e9
    except (OSError, IndexError, ValueError):
        return stat_cpu_seconds(task / "stat") or 0.0


def native_thread_ids() -> set[int]:
    """Threads of this process that Python did not start (llama.cpp's OpenMP workers among them)."""
    python_threads = {t.native_id for t in threading.enumerate()}
    try:
        tasks = [int(task.name) for task in _TASKS.iterdir() if task.name.isdigit()]
    except OSError:
        return set()
    return set(tasks) - python_threads - {os.getpid()}


def _native_threads_cpu() -> float:
    return sum(_thread_cpu(_TASKS / str(tid)) for tid in native_thread_ids())


def model_cpu_clock(n_threads: int) -> float:
    """A clock of CPU seconds for a model running ``n_threads`` threads from the calling one."""
    own = time.thread_time()
    return own if n_threads <= 1 else own + _native_threads_cpu()
