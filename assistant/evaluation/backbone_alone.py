"""The backbone alone: the serve benchmark's reference, run as its own process with the server's settings.

``python -m assistant.evaluation.backbone_alone --seconds S`` builds the decision service the way
``align serve`` does (the same settings, the same backbone options), then makes the benchmark's
persona decisions one after another for ``S`` seconds (no HTTP, no login, no log; the attribute
definitions read from the same database, so the prompts are the server's) and prints one
JSON line: decisions, seconds, decisions per second, the process's CPU seconds over those
decisions (llama.cpp's threads included), each decision's ``backbone_s`` (the model's own time)
and its tokens (prompt and completion).
A separate process, so the load generator stays light and the model is loaded cold as in the server.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

__all__ = ["SCENARIOS", "TARGET", "measure", "persona_request"]

# short scenarios: the load is about the server, not about long prompts
SCENARIOS = [
    ("Two patients, one medic. Who is treated first?", ["The soldier", "The civilian"]),
    ("One ventilator is left. Who gets it?", ["The older patient", "The younger patient"]),
    ("A fire in two rooms. Which room first?", ["The room with a child", "The room with two adults"]),
    ("One seat left on the last boat. Who boards?", ["The doctor", "The injured stranger"]),
]
TARGET = {"fairness": 0.8}


def persona_request(i: int) -> dict[str, Any]:
    """The i-th benchmark decision: a scenario, its choices, persona, a seed."""
    text, choices = SCENARIOS[i % len(SCENARIOS)]
    return {"scenario": text, "choices": choices, "algorithm": "persona", "seed": i}


def measure(seconds: float) -> dict[str, Any]:
    """Sequential persona decisions straight through the decision service for ``seconds``."""
    from assistant.compose import build_service, load_serving_settings
    from assistant.decisions.requests import DecideRequest
    from profiles.store import open_store

    settings = load_serving_settings()
    store = open_store(settings.effective_database_url())
    try:  # the server's definitions, as its decisions read them
        service = build_service(settings, attributes=store.catalogue.current())
    finally:
        store.close()
    try:

        def one(i: int) -> tuple[float, int, int]:
            decision = service.decide(DecideRequest(**persona_request(i), target=TARGET))
            used = decision.usage
            return float(decision.timings.get("backbone_s", 0.0)), used.prompt_tokens, used.completion_tokens

        one(0)  # load the model, warm the prompt cache
        done: list[tuple[float, int, int]] = []
        cpu0, started = time.process_time(), time.perf_counter()
        while time.perf_counter() - started < seconds or len(done) < 2:
            done.append(one(len(done) + 1))
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu0
    finally:
        service.backbones.close()
    n = len(done)
    return {
        "decisions": n,
        "seconds": round(elapsed, 3),
        "rate": n / elapsed,
        "cpu_s": round(cpu, 3),
        "backbone_s": [round(d[0], 4) for d in done],
        "tokens": [d[1] + d[2] for d in done],  # prompt + completion tokens of each decision
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.evaluation.backbone_alone")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.seconds)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
