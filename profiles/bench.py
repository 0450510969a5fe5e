"""Store speed: median latency of the hot paths on a database filled with many users and decisions."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from profiles.orm import DecisionLogRow, ProfileRow, UserRow, utcnow
from profiles.schemas import DecisionLogCreate, ProfileCreate
from profiles.seed import seed
from profiles.store import Store

__all__ = ["fill", "run_store_bench"]

_REQUEST = {
    "scenario": "Two casualties and one kit: a soldier who caused the accident and a bystander.",
    "choices": ["Treat the soldier", "Treat the bystander"],
    "target": {"fairness": 0.8, "moral_deservingness": 0.3},
    "algorithm": "persona",
}
_RESULT = {"choice_index": 1, "choice": "Treat the bystander", "justification": "The bystander is blameless."}
_PROMPTS = [[{"role": "system", "content": "You are a decision maker with these values." * 5}]]


def fill(store: Store, users: int, decisions: int, batch: int = 5000) -> None:
    """``users`` users with one profile each and ``decisions`` log entries spread over them (bulk insert)."""
    admin = store.users.ensure("bench-admin", role="admin")
    seed(store.attributes, admin)
    now = utcnow()
    with store.sessions.begin() as s:
        for start in range(0, users, batch):
            rows = [
                {"name": f"user{i:06d}", "role": "user", "created_at": now, "updated_at": now}
                for i in range(start, min(users, start + batch))
            ]
            s.execute(insert(UserRow), rows)
    ids = [a.id for a in store.users.list(admin) if a.name.startswith("user")]
    with store.sessions.begin() as s:
        for start in range(0, len(ids), batch):
            s.execute(
                insert(ProfileRow),
                [
                    {
                        "owner_id": uid,
                        "name": "default",
                        "description": "",
                        "targets": {"fairness": 0.8, "moral_deservingness": 0.3},
                        "groups": {"SEX": "Female"},
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for uid in ids[start : start + batch]
                ],
            )
    with store.sessions.begin() as s:
        for start in range(0, decisions, batch):
            s.execute(
                insert(DecisionLogRow),
                [
                    {
                        "user_id": ids[i % len(ids)],
                        "status": "ok",
                        "algorithm": "persona",
                        "backbone": "embedded",
                        "request": _REQUEST,
                        "result": _RESULT,
                        "prompts": _PROMPTS,
                        "timings": {"total_s": 1.0},
                        "duration_s": 1.0,
                        "profile_name": "default",
                        "created_at": now - timedelta(seconds=decisions - i),
                    }
                    for i in range(start, min(decisions, start + batch))
                ],
            )


def _median_ms(fn: Callable[[int], Any], repeats: int) -> float:
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def run_store_bench(store: Store, users: int, decisions: int, repeats: int = 200) -> dict[str, Any]:
    """Fill, then time: load a profile with its definitions, log a decision, list a user's last 50."""
    t0 = time.perf_counter()
    fill(store, users, decisions)
    fill_s = time.perf_counter() - t0
    actors = [store.users.actor(f"user{(i * 7919) % users:06d}") for i in range(min(repeats, users))]
    store.profiles.create(actors[0], ProfileCreate(name="extra", targets={"risk_aversion": 0.4}))

    def load(i: int) -> None:
        store.profiles.load_target(actors[i % len(actors)], "default")

    entry = DecisionLogCreate(
        status="ok", request=_REQUEST, result=_RESULT, prompts=_PROMPTS, algorithm="persona"
    )

    def log(i: int) -> None:
        store.log.record(actors[i % len(actors)], entry)

    def last50(i: int) -> None:
        store.log.list(actors[i % len(actors)], limit=50)

    assert store.engine is not None
    return {
        "backend": store.engine.dialect.name,
        "users": users,
        "decisions": decisions,
        "repeats": repeats,
        "fill_s": round(fill_s, 2),
        "median_ms": {
            "load_profile_with_definitions": round(_median_ms(load, repeats), 3),
            "log_decision": round(_median_ms(log, repeats), 3),
            "list_last_50_decisions": round(_median_ms(last50, repeats), 3),
        },
    }
