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

__all__ = ["model_cpu_clock", "stat_cpu_seconds"]

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_TASKS = Path("/proc/self/task")


def stat_cpu_seconds(stat: Path) -> float | None:
    """User + system seconds from a ``/proc`` ``stat`` file (a process's or a thread's), in clock
    ticks; None if it cannot be read."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14, 15)
    except (OSError, IndexError, ValueError):
        return None


def _thread_cpu(task: Path) -> float:
    """Seconds thread ``task`` has spent on a CPU (0 if it ended meanwhile)."""
    try:
        return int((task / "schedstat").read_text().split()[0]) / 1e9
    except (OSError, IndexError, ValueError):
        return stat_cpu_seconds(task / "stat") or 0.0


def _native_threads_cpu() -> float:
    python_threads = {t.native_id for t in threading.enumerate()}
    try:
        tasks = list(_TASKS.iterdir())
    except OSError:
        return 0.0
    return sum(
        _thread_cpu(task)
        for task in tasks
        if task.name.isdigit() and int(task.name) not in python_threads and int(task.name) != os.getpid()
    )


def model_cpu_clock(n_threads: int) -> float:
    """A clock of CPU seconds for a model running ``n_threads`` threads from the calling one."""
    own = time.thread_time()
    return own if n_threads <= 1 else own + _native_threads_cpu()
