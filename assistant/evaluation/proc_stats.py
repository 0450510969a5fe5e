"""CPU and memory of a process from ``/proc`` (Linux), for the serve benchmark.

``cpu_seconds(pid)`` is user + system time of every thread of the process (llama.cpp's worker
threads included); ``own_cpu_seconds()`` the same for this process. Off Linux, psutil if present.
"""

from __future__ import annotations

import time
from pathlib import Path

from assistant.backbones.cpu_clock import fields_cpu_seconds, stat_cpu_seconds, stat_fields

__all__ = ["cpu_seconds", "own_cpu_seconds", "peak_rss_mb", "thread_priorities"]

def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` so far (all its threads), or None if unreadable."""
    seconds = stat_cpu_seconds(Path(f"/proc/{pid}/stat"))
    if seconds is not None:
        return seconds
    try:
        import psutil  # type: ignore[import-untyped,unused-ignore]

        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)
    except Exception:
        return None


def own_cpu_seconds() -> float:
    """User + system CPU seconds of this process (all threads)."""
    return time.process_time()


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident set size of ``pid`` (VmHWM from /proc on Linux; else psutil's current RSS)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    try:
        import psutil  # type: ignore[import-untyped,unused-ignore]

        return round(psutil.Process(pid).memory_info().rss / 2**20, 1)
    except Exception:
        return None


def thread_priorities(pid: int) -> dict[str, object] | None:
    """The nice value of ``pid``'s main thread and, for its busiest threads, (nice, CPU seconds),
    busiest first: whether the model's threads run ahead of the server's own (Linux only)."""
    threads: list[tuple[int, float, int]] = []  # (nice, cpu seconds, tid)
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return None
    for task in tasks:
        fields = stat_fields(task / "stat")  # one read: nice (field 19) and CPU time of one moment
        try:
            if fields is not None:
                threads.append((int(fields[16]), fields_cpu_seconds(fields), int(task.name)))
        except (IndexError, ValueError):
            continue
    main = [nice for nice, _, tid in threads if tid == pid]
    busiest = sorted(threads, key=lambda t: -t[1])[:4]
    return {
        "main_nice": main[0] if main else None,
        "busiest": [[nice, round(cpu, 2)] for nice, cpu, _ in busiest],
    }
