"""Evaluations, probed as an outsider did against a live ``align serve`` in login mode (users root
(admin), alice and bob): who may run one, how large, how many at once, whether a person's decision
waits behind one, and whether a run outlives its caller.

Raw HTTP with each user's real session cookie (Gradio's queue: join, then the event stream) for the
UI handler and the named endpoint by ``fn_index``, and ``gradio_client`` on the named endpoint. The
evaluations run on the embedded model (one llama.cpp thread), so their progress can be watched in
the run's ``results.jsonl`` on disk. No test measures a time: they count evaluation items.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client.exceptions import AppError

from tests.helpers.gradio_queue import QueueAnswer, call_fn, handler, joined, refusal
from tests.helpers.serve import USERS, new_site, serving, start_server
from tests.helpers.waiting import wait_for
from tests.helpers.web import gradio_client, logged_in

pytestmark = [pytest.mark.timeout(900), pytest.mark.model]

DATASET = "triage/oracle_fairness_training_input_output.json"
MAX_DECISIONS = 30  # ALIGN_EVAL_MAX_DECISIONS for this server
WAIT_S = 300  # how long a wait on the running evaluation may take before the test fails (against a hang)
# 2 records x 4 targets x 3 runs (random, unaligned, persona) = 24 decisions, 16 of them on the model
SMALL = {"files": [DATASET], "algorithms": ["persona"], "limit": 2}
# a person's decision of 12 model calls one after the other: every order of 3 options, under the
# target and its opposite (``likelihood``, debias ``contrast``)
PERSON = {
    "scenario": "Three people are hurt and there is one medic. Who is treated first?",
    "choices": ["The soldier", "The civilian", "The driver"],
    "targets": {"fairness": 0.9},
    "algorithm": "likelihood",
    "params": {"debias": "contrast", "justify": False},
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data, _ = new_site(tmp_path_factory, "evaluations")
    with serving(start_server(data, extra_env={"ALIGN_EVAL_MAX_DECISIONS": str(MAX_DECISIONS)})) as app:
        sessions = {name: logged_in(app.url, name) for name in USERS}
        yield {"url": app.url, "data": data, "log": app.log, **sessions}
        for session in sessions.values():
            session.close()


def _call(session: httpx.Client, fn_index: int, data: list[Any]) -> QueueAnswer:
    return call_fn(session, fn_index, data, timeout=600)


def _runs(site: dict[str, Any], user: str) -> list[Path]:
    folder = site["data"] / "app" / "evaluations" / user
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def _new_run(site: dict[str, Any], before: set[Path]) -> Path:
    """The folder of root's evaluation run that was not there ``before``, once it is."""
    return wait_for(lambda: next(iter(set(_runs(site, "root")) - before), None), "the run", timeout=WAIT_S)


def _lines(results: Path) -> list[dict[str, Any]]:
    try:
        text = results.read_text()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.endswith("}")]


def _model_items(run: Path) -> int:
    return sum(1 for r in _lines(run / "results.jsonl") if r["algorithm"] != "random")


class _Background:
    """An evaluation by root over the raw queue, read to its end in a thread."""

    def __init__(self, site: dict[str, Any], payload: dict[str, Any]) -> None:
        self.session = logged_in(site["url"], "root")
        self.index = handler(self.session, api_name="evaluate")
        self.before = set(_runs(site, "root"))
        self.result: QueueAnswer | None = None
        self.thread = threading.Thread(target=self._run, args=(payload,), daemon=True)
        self.thread.start()
        self.run = _new_run(site, self.before)

    def _run(self, payload: dict[str, Any]) -> None:
        self.result = _call(self.session, self.index, [payload])

    def finish(self) -> QueueAnswer:
        self.thread.join(timeout=600)
        self.session.close()
        assert self.result is not None
        return self.result


# -- only admins --------------------------------------------------------------------------------------


def test_a_user_cannot_evaluate_through_any_door(site):
    alice = site["alice"]
    client = gradio_client(site["url"], "alice")
    try:
        with pytest.raises(AppError, match="only an admin"):
            client.predict(SMALL, api_name="/evaluate")  # the named endpoint, gradio_client
    finally:
        client.close()
    named = _call(alice, handler(alice, api_name="evaluate"), [SMALL])  # the same, by fn_index
    assert not named.success and "only an admin" in json.dumps(named.output), named
    ui = _call(alice, handler(alice, output="Results (zip)"), [[DATASET], None, ["persona"], "embedded", 2])
    if ui.success:
        assert "only an admin" in refusal(ui.success, ui.output), ui  # the tab's one warning
    else:  # the dataset files are listed to admins only, so the pick itself is refused
        assert "is not one this field takes" in json.dumps(ui.output), ui
    assert _runs(site, "alice") == []  # nothing ran, nothing was written


def test_an_evaluation_past_the_servers_total_is_refused_before_it_runs(site):
    # the page lists the dataset files to admins on load, not in /config: take the shipped ones
    shipped = Path(__file__).resolve().parents[2] / "datasets" / "opinionqa"
    files = [f"opinionqa/{p.name}" for p in sorted(shipped.glob("*.json"))]
    assert len(files) >= 4
    big = {"files": files, "algorithms": ["persona", "regression"], "limit": 2}  # 2 per file: under the cap
    client = gradio_client(site["url"], "root")
    try:
        with pytest.raises(AppError) as caught:
            client.predict(big, api_name="/evaluate")
    finally:
        client.close()
    message = str(caught.value)
    assert f"at most {MAX_DECISIONS}" in message and "pick fewer files" in message, message
    assert _runs(site, "root") == []  # refused before its first decision: no folder left behind


# -- one at a time, people first ------------------------------------------------------------------------


def test_one_evaluation_at_a_time_and_a_persons_decision_goes_first(site):
    running = _Background(site, SMALL)
    wait_for(lambda: _model_items(running.run) >= 1, "the first model item", timeout=WAIT_S)
    # a second evaluation, while the first runs: refused at once, not queued
    client = gradio_client(site["url"], "root")
    try:
        with pytest.raises(AppError, match="an evaluation is already running"):
            client.predict({**SMALL, "algorithms": ["random"]}, api_name="/evaluate")
    finally:
        client.close()
    # alice decides (12 model calls in a row) while it runs: at most the item already on the model
    # when her decision came runs before her decision is done (without priority, one evaluation
    # item slips in before each of her calls)
    assert _model_items(running.run) <= 5, "the evaluation went too far before the decision was asked"
    alice = gradio_client(
        site["url"], "alice"
    )  # logged in first: items that run during her login are not counted
    try:
        before = _model_items(running.run)
        decision = alice.predict(PERSON, api_name="/decide")
    finally:
        alice.close()
    during = _model_items(running.run) - before
    assert decision["algorithm"] == "likelihood" and decision["extra"]["orders"] == 6
    print(f"evaluation items while alice's decision was in flight: {during}")
    assert during <= 1, f"{during} evaluation items ran while alice's decision waited"
    result = running.finish()
    assert result.success, result
    assert len(_lines(running.run / "results.jsonl")) == 24


def test_an_evaluation_stops_when_its_caller_goes_away(site):
    before = set(_runs(site, "root"))
    session = logged_in(site["url"], "root")
    session_hash = joined(session, handler(session, api_name="evaluate"), [SMALL])
    with session.stream(
        "GET", "/gradio_api/queue/data", params={"session_hash": session_hash}, timeout=600
    ) as stream:
        lines = stream.iter_lines()
        next(lines)  # the stream is open: the run is the caller's
        run = _new_run(site, before)
        wait_for(lambda: _model_items(run) >= 1, "the first model item", timeout=WAIT_S)
    session.close()  # the caller goes away after the first of 16 model items
    # the item on the model finishes; no further one starts, and the unfinished run is removed
    wait_for(lambda: not run.exists(), "the stopped run's folder to be removed", timeout=120)
    # the server is free for the next evaluation at once
    client = gradio_client(site["url"], "root")
    try:
        reply = client.predict({**SMALL, "algorithms": ["random"], "limit": 1}, api_name="/evaluate")
    finally:
        client.close()
    assert reply["summary"]["files"] == [DATASET]
