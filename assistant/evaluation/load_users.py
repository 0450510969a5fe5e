"""The serve benchmark's users: asyncio tasks in one process, each logged in with its own cookie.

Users log in and create a profile each; a warm-up decision loads the model. Then one or more
phases, each for its own number of seconds: every user alternates three decisions of the phase's
algorithm (``persona`` asks the model; ``random`` does not, so that phase measures what the server
costs without it) on its own profile and one edit of that profile (its description: every user's
target stays ``TARGET``, so the model sees the backbone-alone phase's prompts). Every request's kind, latency,
error and (for a decision) the model's own time ``backbone_s`` is recorded, and the server's CPU
seconds and this process's are read at the start and the end of each phase.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.evaluation.backbone_alone import SCENARIOS, TARGET, persona_request
from assistant.evaluation.gradio_http import GradioUser
from assistant.evaluation.proc_stats import cpu_seconds, own_cpu_seconds

__all__ = ["LoadResult", "Sample", "run_load"]

PROGRESS_EVERY_S = 10.0
DRAIN_LIMIT_S = 600.0  # after the deadline, in-flight requests get this long before the run fails


@dataclass
class Sample:
    kind: str  # "decide" or "profile"
    seconds: float
    error: str | None = None
    backbone_s: float | None = None
    tokens: int | None = None  # a decision's prompt + completion tokens
    backbone_cpu_s: float | None = None  # the model's own CPU for a decision, as the server measured it


@dataclass
class LoadResult:
    samples: list[Sample] = field(default_factory=list)
    elapsed_s: float = 0.0
    server_cpu_s: float | None = None
    client_cpu_s: float = 0.0


async def _one(user: GradioUser, name: str, index: int, i: int, algorithm: str) -> Sample:
    profile = f"{name}-profile"
    kind = "profile" if i % 4 == 3 else "decide"
    started = time.perf_counter()
    error, backbone_s, tokens, backbone_cpu_s = None, None, None, None
    try:
        if kind == "profile":  # a write that leaves the prompt as it is: the model's work stays the
            # backbone-alone phase's (the same four prompts), so the two compare like for like
            await user.call("update_profile", {"name": profile, "description": f"bench user, edit {i}"})
        else:
            payload = {**persona_request(index * 1000 + i), "profile": profile, "algorithm": algorithm}
            payload["scenario"], payload["choices"] = SCENARIOS[(index + i) % len(SCENARIOS)]
            answer = await user.call("decide", payload)
            if not isinstance(answer, dict) or answer.get("choice") not in payload["choices"]:
                error = f"decision outside the choices: {str(answer)[:200]}"
            else:
                timings = answer.get("timings") or {}
                backbone_s = float(timings.get("backbone_s", 0.0))
                if timings.get("backbone_cpu_s") is not None:
                    backbone_cpu_s = float(timings["backbone_cpu_s"])
                usage = answer.get("usage") or {}
                tokens = int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    return Sample(kind, time.perf_counter() - started, error, backbone_s, tokens, backbone_cpu_s)


async def _user(
    user: GradioUser, name: str, index: int, deadline: float, algorithm: str, out: list[Sample]
) -> None:
    i = 0
    while time.monotonic() < deadline:
        out.append(await _one(user, name, index, i, algorithm))
        i += 1


async def _report(out: list[Sample], started: float, say: Callable[[str], None]) -> None:
    while True:
        await asyncio.sleep(PROGRESS_EVERY_S)
        errors = sum(1 for s in out if s.error)
        say(f"load: {time.monotonic() - started:.0f} s, {len(out)} requests, {errors} errors")


async def _phase(
    users: list[GradioUser],
    names: list[str],
    algorithm: str,
    seconds: float,
    server_pid: int,
    say: Callable[[str], None],
) -> LoadResult:
    result = LoadResult()
    server0, client0 = cpu_seconds(server_pid), own_cpu_seconds()
    started = time.monotonic()
    deadline = started + seconds
    reporter = asyncio.create_task(_report(result.samples, started, say))
    try:
        tasks = [
            _user(user, name, i, deadline, algorithm, result.samples)
            for i, (user, name) in enumerate(zip(users, names, strict=True))
        ]
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=seconds + DRAIN_LIMIT_S)
    finally:
        reporter.cancel()
    result.elapsed_s = time.monotonic() - started
    server1 = cpu_seconds(server_pid)
    result.client_cpu_s = own_cpu_seconds() - client0
    if server0 is not None and server1 is not None:
        result.server_cpu_s = server1 - server0
    return result


def run_load(
    url: str,
    accounts: dict[str, str],
    phases: list[tuple[str, float]],
    server_pid: int,
    say: Callable[[str], None],
) -> list[LoadResult]:
    """``accounts`` (name -> password) as concurrent users of the server at ``url``, one result per
    phase (algorithm, seconds)."""

    async def run() -> list[LoadResult]:
        n = len(accounts)
        async with contextlib.AsyncExitStack() as stack:
            users = [await stack.enter_async_context(GradioUser(url)) for _ in accounts]
            for user, (name, password) in zip(users, accounts.items(), strict=True):
                await user.login(name, password)
                await user.call(
                    "create_profile",
                    {"name": f"{name}-profile", "description": "bench user", "targets": TARGET},
                )
            # warm-up: the server loads the model on its first decision, outside the measured window
            await users[0].call("decide", {**persona_request(0), "targets": TARGET})
            results = []
            for algorithm, seconds in phases:
                say(f"phase {algorithm}: {n} users for {seconds:g} s")
                results.append(await _phase(users, list(accounts), algorithm, seconds, server_pid, say))
            return results

    return asyncio.run(run())
