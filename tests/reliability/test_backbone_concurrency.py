"""An OpenAI-compatible backbone gets concurrent calls from concurrent users, up to its limit and no more.

Real processes: a llama-cpp-python server stands in for vLLM; between it and ``align serve`` two
counting proxies (counting_proxy.py) see how many calls are in flight at once. The server's queue
runs as many requests at once as the widest backbone allows (``queue_concurrency``), so with
``max_concurrency = 6`` nine users get six calls in flight (not the queue's old fixed four), and a
backbone limited to 2 never gets a third, whatever the queue would allow. The proxies hold each call
until the expected number is in flight (at most a few seconds), so the counts do not depend on how
fast the llama server answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
import pytest

from assistant.evaluation.gradio_http import GradioUser
from tests.helpers.counting_proxy import CountingProxy
from tests.helpers.llama_server import LlamaServer
from tests.helpers.serve import start_server, stop, wait_ready

pytestmark = [pytest.mark.server, pytest.mark.timeout(600)]

TIMEOUT = httpx.Timeout(300.0, connect=10.0)

SCENARIO = {
    "scenario": "Two patients, one medic. Who is treated first?",
    "choices": ["The soldier", "The civilian"],
    "targets": {"fairness": 0.8},
    "algorithm": "likelihood",  # label log-probabilities: one short call per decision
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from assistant.models_local import embedded_model_path

    data_dir = tmp_path_factory.mktemp("concurrency")  # no users with passwords: local mode
    with (
        LlamaServer(embedded_model_path()) as llama,
        CountingProxy(llama.root_url, hold_until=6, hold_max_s=15) as wide,
        CountingProxy(llama.root_url, hold_until=3, hold_max_s=2) as narrow,
    ):
        common = {"type": "openai", "flavour": "llamacpp-server", "timeout_s": 300}
        backbones = {
            "embedded": {"type": "llamacpp", "n_threads": 1, "n_ctx": 2048},
            "wide": {**common, "base_url": wide.base_url, "max_concurrency": 6},
            "narrow": {**common, "base_url": narrow.base_url, "max_concurrency": 2},
        }
        proc, url, log = start_server(data_dir, extra_env={"ALIGN_BACKBONES": json.dumps(backbones)})
        try:
            wait_ready(proc, url, log)
            yield {"url": url, "wide": wide, "narrow": narrow, "log": log}
        finally:
            stop(proc)


async def _decide_all(url: str, backbone: str, users: int) -> list[Any]:
    async with contextlib.AsyncExitStack() as stack:
        callers = [await stack.enter_async_context(GradioUser(url, timeout=TIMEOUT)) for _ in range(users)]
        calls = [
            c.call("decide", {**SCENARIO, "backbone": backbone, "seed": i}) for i, c in enumerate(callers)
        ]
        return await asyncio.gather(*calls, return_exceptions=True)


def test_concurrent_users_get_concurrent_backbone_calls_up_to_the_limit(world: dict[str, Any]) -> None:
    answers = asyncio.run(_decide_all(world["url"], "wide", 9))
    failed = [a for a in answers if isinstance(a, BaseException)]
    assert not failed, failed[:2]
    assert all(a["choice"] in SCENARIO["choices"] and a["backbone"] == "wide" for a in answers)
    proxy = world["wide"]
    assert proxy.requests >= 9
    assert proxy.max_in_flight == 6, f"{proxy.max_in_flight} calls in flight at most; the limit is 6"


def test_the_backbone_limit_is_honoured(world: dict[str, Any]) -> None:
    answers = asyncio.run(_decide_all(world["url"], "narrow", 6))
    failed = [a for a in answers if isinstance(a, BaseException)]
    assert not failed, failed[:2]
    proxy = world["narrow"]
    assert proxy.requests >= 6
    assert proxy.max_in_flight == 2, f"{proxy.max_in_flight} calls in flight at most; the limit is 2"
