"""``align bench chat``: how long a chat turn takes through ``/v1``, and how soon its first words come.

One run:

1. a fresh data directory with the default settings (a SQLite store with the attribute packs seeded,
   embedded Chroma holding the everyday example decisions, the default decider: value-fit on the
   MiniLM embedder, no language model), per-user rate limits lifted (the benchmark sends faster
   than a person);
2. the ``/v1`` routes exactly as ``align serve`` mounts them (``assistant.cli.serve.openai_routes``:
   key check, limits, queue, the chat engine, the decision log) served by uvicorn on a loopback port
   in this process;
3. the conversations of a conversation set (default: the repository's
   ``tests/fixtures/conversations/conversations.json``), each person with their own API key, sent as
   a chat app sends them: the whole history with each streamed request (``stream: true``), a chat
   app's task prompt alone; one warm-up turn first (the embedder loads), not counted.

Per turn: ``turn_s``, from sending the request to ``data: [DONE]``, and ``first_chunk_s``, to the
first chunk with content (the progress line of a decision, or the answer). Reported: medians and
95th percentiles of both over all turns and over the turns that made a decision, and each median
over its target (``TARGETS``; a ratio at most 1 meets it).
"""

from __future__ import annotations

import json
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alignment.errors import ConfigError
from alignment.turns import is_task
from assistant.evaluation.bench_serve import machine

__all__ = ["DEFAULT_SET", "TARGETS", "run_chat_bench"]

Progress = Callable[[str], None]
DEFAULT_SET = (
    Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "conversations" / "conversations.json"
)
EVERYDAY = Path(__file__).resolve().parents[2] / "datasets" / "everyday" / "everyday_packs_input_output.json"
TARGETS = {"median_turn_s": 2.0, "median_first_chunk_s": 0.3}
_WARM_UP = "Should I put my savings in an index fund or start a food truck?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return float(statistics.quantiles(values, n=100, method="inclusive")[94])


class _Turn:
    def __init__(self, kind: str, decided: bool, turn_s: float, first_chunk_s: float) -> None:
        self.kind, self.decided, self.turn_s, self.first_chunk_s = kind, decided, turn_s, first_chunk_s


def _send(client: Any, url: str, key: str, messages: list[dict[str, str]]) -> tuple[str, _Turn]:
    """One streamed request: (the answer's text, its timings)."""
    body = {"model": "align", "messages": messages, "stream": True}
    started = time.perf_counter()
    first = None
    text, kind, decided = [], "", False
    with client.stream(
        "POST", f"{url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}
    ) as reply:
        if reply.status_code != 200:
            reply.read()
            raise ConfigError(f"/v1 answered {reply.status_code}: {reply.text[:300]}")
        for line in reply.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            data = json.loads(line[6:])
            if "error" in data:
                raise ConfigError(f"/v1 streamed an error: {data['error']}")
            for choice in data.get("choices") or []:
                content = choice.get("delta", {}).get("content")
                if content:
                    if first is None:
                        first = time.perf_counter() - started
                    text.append(content)
            if data.get("align"):
                kind, decided = data["align"]["kind"], data["align"]["decision_id"] is not None
    total = time.perf_counter() - started
    # a decision made this turn (why, why not and feedback name the decision they are about)
    made = decided and kind in ("decision", "more", "less")
    return "".join(text), _Turn(kind, made, total, first or total)


def _summary(turns: list[_Turn]) -> dict[str, Any]:
    times = [t.turn_s for t in turns]
    firsts = [t.first_chunk_s for t in turns]
    return {
        "turns": len(turns),
        "median_turn_s": statistics.median(times) if times else 0.0,
        "p95_turn_s": _p95(times),
        "median_first_chunk_s": statistics.median(firsts) if firsts else 0.0,
        "p95_first_chunk_s": _p95(firsts),
    }


def run_chat_bench(
    conversations_path: Path | None = None,
    limit: int | None = None,
    keep_dir: bool = False,
    progress: Progress = lambda line: None,
) -> dict[str, Any]:
    import httpx
    import uvicorn
    from starlette.applications import Starlette

    from assistant.cli.context import Cli
    from assistant.cli.examples import import_paths
    from assistant.cli.operator import seed_new_packs
    from assistant.cli.serve import build_app, openai_routes
    from assistant.settings import load_settings
    from profiles.api_keys import ApiKeyCreate
    from profiles.schemas import UserCreate

    path = conversations_path or DEFAULT_SET
    if not path.is_file():
        raise ConfigError(f"no conversation set at {path}; name one with --conversations FILE")
    conversations = json.loads(path.read_text(encoding="utf-8"))["conversations"][: limit or None]
    tmp = Path(tempfile.mkdtemp(prefix="align-bench-chat-"))
    base = load_settings()
    settings = base.model_copy(
        update={"data_dir": tmp, "database_url": None, "api_requests_per_minute": 1_000_000}
    )
    cli = Cli(load=lambda: settings)
    server: Any = None
    thread: threading.Thread | None = None
    try:
        progress(f"data directory {tmp}: seeding attributes and the everyday example decisions")
        seed_new_packs(cli.store)
        if EVERYDAY.is_file():
            import_paths(cli.examples, [str(EVERYDAY)], progress=False)
        app = build_app(cli, "127.0.0.1")
        root = cli.store.users.ensure("bench-admin", role="admin")
        port = _free_port()
        routes = openai_routes(app, concurrency=4)
        if not routes:
            raise ConfigError("the settings turn the OpenAI-compatible API off (openai_api = false)")
        server = uvicorn.Server(
            uvicorn.Config(Starlette(routes=routes), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        keys: dict[str, str] = {}

        def key_for(person: str) -> str:
            if person not in keys:
                name = f"bench-{len(keys) + 1}"
                cli.store.users.add(root, UserCreate(name=name, password=f"{name}-password-x"))
                keys[person] = cli.store.api_keys.create(cli.store.users.actor(name), ApiKeyCreate()).key
            return keys[person]

        turns: list[_Turn] = []
        with httpx.Client(timeout=120) as client:
            warm_key = key_for("(warm-up)")
            _send(client, url, warm_key, [{"role": "user", "content": "security matters a lot to me"}])
            _, cold = _send(client, url, warm_key, [{"role": "user", "content": _WARM_UP}])
            progress(f"warm-up turn: {cold.turn_s:.2f} s; {len(conversations)} conversations")
            for n, conv in enumerate(conversations, 1):
                key = key_for(conv.get("person") or conv["id"])
                history: list[dict[str, str]] = []
                for turn in conv["turns"]:
                    message = {"role": "user", "content": turn["say"]}
                    task = is_task(turn["say"])
                    text, timing = _send(client, url, key, [message] if task else [*history, message])
                    turns.append(timing)
                    if not task:
                        history += [message, {"role": "assistant", "content": text}]
                if n % 10 == 0:
                    progress(f"{n} conversations, {len(turns)} turns")
    finally:
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(15)
        cli.close()
        if not keep_dir:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    overall = _summary(turns)
    decisions = _summary([t for t in turns if t.decided])
    report: dict[str, Any] = {
        "conversation_set": str(path),
        "conversations": len(conversations),
        **overall,
        "decision_turns": decisions,
        "warm_up_turn_s": cold.turn_s,
        "decider": settings.default_decider,
        "machine": machine(),
        "targets": {},
    }
    for key, target in TARGETS.items():
        ratio = overall[key] / target
        report["targets"][key] = {"target": target, "ratio": ratio, "met": ratio <= 1.0}
    return report
