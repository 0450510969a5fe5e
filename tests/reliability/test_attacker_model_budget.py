"""An outside probe of what one request may ask of the model, against a live ``align serve`` in login
mode: a Compare of six columns counts as one place in the running share, but each column runs at once
with the caller's parameters. Two Compares of six ``persona-vote`` columns at 64 samples of 2048 tokens
kept the embedded model busy for hours, and another user's decision waited behind them.

A later probe found the count left out what the model reads: ``likelihood`` with ``debias: contrast``
reads the whole prompt twice per choice, so 26 long choices under a 600-word scenario made 52 reads of
about 47 s each per column, counted as 112 tokens.

Every request's worst-case model work (every call's prompt, and every sample, retry, read and column at
its ``max_tokens``) is now counted before any model call and refused past ``request_max_model_tokens``,
with a message saying what to lower; the defaults, and a Compare of them, still run.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import httpx
import pytest

from tests.helpers.serve import new_site, serving, start_server
from tests.helpers.web import call, logged_in

pytestmark = pytest.mark.timeout(900)

TWO = {
    "scenario": "Two patients, one medic. Who is treated first?",
    "choices": ["The soldier", "The civilian"],
}
HEAVY = {"n_aligned": 32, "n_opposite": 32, "max_tokens": 2048, "temperature": 1.5}
HEAVY_COLUMN = {"algorithm": "persona-vote", "params": HEAVY, "targets": {"security": 0.9}}
REFUSED = "more than the 150,000 one request may ask for"
QUICK_S = 20.0  # a refusal makes no model call (one persona decision here takes 30-50 s)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    data_dir, _ = new_site(tmp_path_factory, "budget")
    with serving(start_server(data_dir)) as app:
        yield app


def refused(client: httpx.Client, endpoint: str, payload: dict[str, Any]) -> str:
    """The message a request is refused with, within QUICK_S (the event stream's heartbeats keep a
    running request's reads alive, so the wait is bounded here, not by the client's timeout)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(call, client, endpoint, payload)
        try:
            status, message = answer.result(timeout=QUICK_S)
        except FutureTimeout:
            client.close()  # ends the wait: the caller goes away
            pytest.fail(f"{endpoint} was not refused within {QUICK_S:g} s: the model is running it")
    assert status == "error", (status, message)
    return str(message)


def test_heavy_compare_and_decide_are_refused_before_the_model_runs(server: Any) -> None:
    alice = logged_in(server.url, "alice")
    try:
        for _ in range(2):  # the probe's two requests
            message = refused(alice, "compare", {**TWO, "columns": [HEAVY_COLUMN] * 6})
            assert REFUSED in message and "read and write up to" in message, message
            assert "fewer samples (n_aligned, n_opposite)" in message and "fewer columns" in message
            assert "--" not in message
        decide = {**TWO, "algorithm": "persona-vote", "params": HEAVY, "targets": {"security": 0.9}}
        message = refused(alice, "decide", decide)
        assert REFUSED in message and "a lower max_tokens" in message and "columns" not in message, message
        # each column alone fits (7 samples x 3 tries x (prompt + 1000 tokens)); six together do not
        column = {"algorithm": "persona-vote", "params": {"max_tokens": 1000}, "targets": {"security": 0.9}}
        message = refused(alice, "compare", {**TWO, "columns": [column] * 6})
        assert REFUSED in message and "fewer columns" in message, message
    finally:
        alice.close()


def test_many_long_prompt_reads_are_refused_before_the_model_runs(server: Any) -> None:
    """The second probe's request: likelihood's contrast over 26 choices of 50 words under a 600-word
    scenario, six columns (about 312 reads of the whole prompt), and one such decision alone."""
    words = "the medic weighs every patient in the tent before deciding which one comes first"
    scenario = " ".join(words.split() * 43)[: 600 * 6]
    choices = [f"Option {i}: " + " ".join(words.split() * 4)[: 50 * 6] for i in range(26)]
    column = {"algorithm": "likelihood", "params": {"debias": "contrast"}, "targets": {"security": 0.9}}
    alice = logged_in(server.url, "alice")
    try:
        message = refused(
            alice, "compare", {"scenario": scenario, "choices": choices, "columns": [column] * 6}
        )
        assert REFUSED in message and "read and write" in message and "fewer columns" in message, message
        assert "fewer choices, a shorter scenario" in message, message
        decide = {"scenario": scenario, "choices": choices, **column}
        message = refused(alice, "decide", decide)
        assert REFUSED in message and "columns" not in message, message
    finally:
        alice.close()


def test_a_compare_of_default_columns_still_runs(server: Any) -> None:
    bob = logged_in(server.url, "bob", timeout=600)
    try:
        columns = [
            {"targets": {"security": 0.9}},  # the default decider
            {"algorithm": "persona", "targets": {"security": 0.9}},  # one model call at its defaults
        ]
        status, answer = call(bob, "compare", {**TWO, "columns": columns})
        assert status == "ok", answer
        results = answer["results"]
        assert [r["error"] for r in results] == [None, None], results
        assert all(r["decision"]["choice"] in TWO["choices"] for r in results)
    finally:
        bob.close()
