"""CPU seconds of an in-process model's work: the calling thread plus the native threads Python
does not know of (llama.cpp's OpenMP workers).

With one llama.cpp thread the model computes in the calling thread, and ``time.thread_time`` is
exact. With more, its workers are native threads; their user + system time is read from
``/proc/self/task`` (Linux; in clock ticks, so a single reading is exact to about 10 ms per
thread, a mean over many decisions much better). Native threads of other libraries that run at
the same time (torch's, while another request embeds a text) would be counted too.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

__all__ = ["model_cpu_clock"]

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_TASKS = Path("/proc/self/task")


def _native_threads_cpu() -> float:
    python_threads = {t.native_id for t in threading.enumerate()}
    total = 0
    try:
        tasks = list(_TASKS.iterdir())
    except OSError:
        return 0.0
    for task in tasks:
        if not task.name.isdigit() or int(task.name) in python_threads or int(task.name) == os.getpid():
            continue
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue  # the thread ended meanwhile
    return total / _TICKS


def model_cpu_clock(n_threads: int) -> float:
    """A clock of CPU seconds for a model running ``n_threads`` threads from the calling one."""
    own = time.thread_time()
    return own if n_threads <= 1 else own + _native_threads_cpu()
