"""Feedback and calibration through the named API endpoints of a live ``align serve`` (login on)."""

from __future__ import annotations

import pytest
from gradio_client.exceptions import AppError

from tests.helpers.web import gradio_clients

SCENARIO = {
    "scenario": "Two climbers are stuck on a ledge and the rope can lower one at a time.",
    "choices": ["Lower the injured climber first", "Lower the uninjured climber first"],
}


@pytest.fixture(scope="module")
def clients(app_server):
    with gradio_clients(app_server.url, "alice", "bob") as made:
        yield made


def test_feedback_is_stored_for_the_owner_and_refused_to_others(app_server, clients):
    decided = clients["alice"].predict({**SCENARIO, "algorithm": "random", "seed": 3}, api_name="/decide")
    other = 1 - decided["choice_index"]
    with pytest.raises(AppError, match="no decision"):
        clients["bob"].predict({"decision_id": decided["log_id"], "agree": True}, api_name="/feedback")
    got = clients["alice"].predict(
        {"decision_id": decided["log_id"], "agree": False, "would_choose": "AB"[other]}, api_name="/feedback"
    )
    assert got["chosen"] == SCENARIO["choices"][other]
    assert got["example_id"] == f"personal:alice:{decided['log_id']}"
    store = app_server.open_store()
    try:
        # the app server is shared by the session's app tests: look at this decision's rows only
        rows = [
            r
            for r in store.feedback.list(store.users.actor("alice"))
            if r["decision_id"] == decided["log_id"]
        ]
        assert [(r["decision_id"], r["would_choose"]) for r in rows] == [(decided["log_id"], other)]
        assert not [
            r for r in store.feedback.list(store.users.actor("bob")) if r["decision_id"] == decided["log_id"]
        ]
    finally:
        store.close()


def test_calibrate_through_the_api_saves_a_profile_of_the_caller(app_server, clients):
    alice = clients["alice"]
    answers: list[dict] = []
    state = alice.predict({"count": 3}, api_name="/calibrate_next")
    while not state["done"]:
        answers.append({"dilemma_id": state["dilemma"]["id"], "choice": 0})
        state = alice.predict({"count": 3, "answers": answers}, api_name="/calibrate_next")
    assert state["answered"] == 3 and state["estimate"]["attributes"]
    saved = alice.predict({"count": 3, "answers": answers, "name": "from-api"}, api_name="/calibrate_save")
    assert saved["profile"]["owner"] == "alice" and saved["profile"]["targets"]
    names = [p["name"] for p in alice.predict({}, api_name="/list_profiles")["profiles"]]
    assert "from-api" in names
    assert "from-api" not in [
        p["name"] for p in clients["bob"].predict({}, api_name="/list_profiles")["profiles"]
    ]
