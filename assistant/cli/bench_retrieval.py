"""``align bench retrieval``: example-store import throughput and retrieval latency (real Chroma)."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from typing import Any

from alignment.errors import InputError
from alignment.models import Example
from assistant.cli.common import Subcommands, add_command
from assistant.cli.context import Cli

__all__ = ["register_retrieval", "run_retrieval_bench", "synthetic_examples"]

_ATTRIBUTES = ["moral_deservingness", "utilitarianism", "fairness", "protocol_focus", "risk_aversion"]
_WHO = [
    "a soldier",
    "a civilian",
    "a child",
    "the driver",
    "a nurse",
    "an attacker",
    "a bystander",
    "a pilot",
]
_HURT = ["is bleeding heavily", "has a broken leg", "is unconscious", "has burns", "cannot breathe well"]
_WHERE = [
    "after an explosion",
    "at a car crash",
    "in a collapsed building",
    "on a mountain trail",
    "at a riot",
]
_ACT = ["Treat", "Evacuate", "Assess", "Tag", "Call help for"]


def _text(rng: random.Random) -> str:
    a, b = rng.sample(_WHO, 2)
    return (
        f"You are the only medic {rng.choice(_WHERE)}. {a.capitalize()} {rng.choice(_HURT)} and {b} "
        f"{rng.choice(_HURT)}. Case {rng.randrange(10**6)}. What do you do?"
    )


def synthetic_examples(n: int, seed: int = 0) -> list[Example]:
    """``n`` distinct triage-like examples, each scored on one or two attributes."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        attrs = rng.sample(_ATTRIBUTES, rng.choice((1, 2)))
        out.append(
            Example(
                id=f"bench-{i}",
                text=_text(rng),
                choices=[f"{rng.choice(_ACT)} {w}" for w in rng.sample(_WHO, 2)],
                scores=[{a: rng.random() for a in attrs} for _ in range(2)],
                chosen=rng.randrange(2),
                domain="triage" if i % 2 else "opinionqa",
                source="bench",
                scenario_id=f"bench/{i}",
            )
        )
    return out


def run_retrieval_bench(n: int = 10_000, queries: int = 50, k: int = 3, seed: int = 0) -> dict[str, Any]:
    """Import ``n`` synthetic examples into a fresh embedded Chroma, then time filtered retrievals
    (each including the query embedding)."""
    import chromadb

    from assistant.stores.chroma import chroma_settings
    from assistant.stores.embedding import MiniLMEmbedder
    from assistant.stores.examples import ExampleStore

    if n < 10 or queries < 1 or k < 1:
        raise InputError("use --n of at least 10, --queries and --k of at least 1")
    rng = random.Random(seed + 1)
    with tempfile.TemporaryDirectory(prefix="align-bench-") as tmp:
        client = chromadb.PersistentClient(path=tmp, settings=chroma_settings())
        store = ExampleStore(client, MiniLMEmbedder())
        store.embed(["warm up"])
        examples = synthetic_examples(n, seed)
        start = time.perf_counter()
        store.add_examples(examples)
        import_s = time.perf_counter() - start
        times = []
        for q in range(queries):
            text = _text(rng)
            start = time.perf_counter()
            hits = store.search(
                text,
                k=k,
                domain="triage",
                attributes=[rng.choice(_ATTRIBUTES)],
                exclude_scenario_id=f"bench/{q}",
            )
            times.append((time.perf_counter() - start) * 1000)
            if len(hits) != k:
                raise RuntimeError(f"retrieval returned {len(hits)} examples, expected {k}")
        count = store.count()
    times.sort()
    return {
        "examples": count,
        "queries": queries,
        "k": k,
        "import_s": round(import_s, 2),
        "import_examples_per_s": round(n / import_s, 1),
        "retrieval_p50_ms": round(statistics.median(times), 2),
        "retrieval_p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 2),
    }


def register_retrieval(bsub: Subcommands) -> None:
    b = add_command(
        bsub, "retrieval", _run, help="example store: import throughput and filtered retrieval latency"
    )
    b.add_argument("--n", type=int, default=10_000, help="examples in the store (default 10000)")
    b.add_argument("--queries", type=int, default=50)
    b.add_argument("--k", type=int, default=3)
    b.add_argument("--json", action="store_true")


def _run(args: argparse.Namespace, cli: Cli) -> int:
    result = run_retrieval_bench(args.n, args.queries, args.k)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['examples']} examples imported in {result['import_s']} s "
            f"({result['import_examples_per_s']} examples/s); retrieval of k={result['k']} with filters, "
            f"including the query embedding: median {result['retrieval_p50_ms']} ms, "
            f"p95 {result['retrieval_p95_ms']} ms over {result['queries']} queries"
        )
    return 0
