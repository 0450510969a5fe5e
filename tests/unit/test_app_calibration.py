"""The app's calibration (stateless facade: the answers so far come with each call) and feedback,
on a real SQLite store. A simulated person who always takes the fairest option comes out high on
fairness; the profile is saved for the acting user only, with the answers behind it."""

from __future__ import annotations

from typing import Any

import pytest

from alignment.errors import InputError, NotFound
from assistant.app import AppService
from assistant.app.schemas import CalibrateRequest, DecideAppRequest, FeedbackRequest, ProfileNameRequest
from tests.helpers.app import as_json


def _scores(app: AppService, dilemma_id: str) -> list[dict[str, float]]:
    _post, pool = app.calibration._pool("triage", ["fairness", "utilitarianism"])
    return pool.dilemmas[pool.index[dilemma_id]].scores


def test_calibrate_in_the_app_picks_informative_dilemmas_and_saves_the_estimate(app: AppService):
    alice = app.actor("alice")
    attributes = ["fairness", "utilitarianism"]
    answers: list[dict[str, Any]] = []
    seen: list[str] = []
    state = as_json(
        app.calibration.next(
            alice, CalibrateRequest(answers=[], count=4, attributes=attributes, domain="triage")
        )
    )
    assert state["answered"] == 0 and not state["done"] and state["estimate"]["attributes"] == {}
    while not state["done"]:
        d = state["dilemma"]
        assert d["id"] not in seen and len(d["choices"]) >= 2
        seen.append(d["id"])
        scores = _scores(app, d["id"])
        fairest = max(range(len(scores)), key=lambda i: scores[i].get("fairness", -1.0))
        answers.append({"dilemma_id": d["id"], "choice": fairest})
        state = as_json(
            app.calibration.next(
                alice, CalibrateRequest(answers=answers, count=4, attributes=attributes, domain="triage")
            )
        )
    assert state["answered"] == 4 and state["dilemma"] is None
    fairness = state["estimate"]["attributes"]["fairness"]
    assert fairness["value"] > 0.5 and fairness["direction"] == "high"
    assert fairness["low"] <= fairness["value"] <= fairness["high"] and fairness["sd"] > 0

    saved = as_json(
        app.calibration.save(
            alice, CalibrateRequest(answers=answers, attributes=attributes, name="mine", domain="triage")
        )
    )
    assert saved["profile"]["name"] == "mine" and saved["profile"]["targets"]["fairness"] > 0.5
    stored = app.store.calibrations.get(alice, "mine")
    assert [a["dilemma_id"] for a in stored.answers] == seen and stored.attributes == attributes
    assert as_json(app.profiles.get(alice, ProfileNameRequest(name="mine")))["owner"] == "alice"
    with pytest.raises(NotFound, match="no profile 'mine'"):
        app.profiles.get(app.actor("bob"), ProfileNameRequest(name="mine"))


def test_calibration_answers_are_checked(app: AppService):
    alice = app.actor("alice")
    with pytest.raises(InputError, match="no dilemma"):
        app.calibration.next(
            alice, app.parse(CalibrateRequest, {"answers": [{"dilemma_id": "forged", "choice": 0}]})
        )
    first = as_json(app.calibration.next(alice, CalibrateRequest()))["dilemma"]["id"]
    twice = [{"dilemma_id": first, "choice": 0}, {"dilemma_id": first, "choice": 1}]
    with pytest.raises(InputError, match="twice"):
        app.calibration.next(alice, app.parse(CalibrateRequest, {"answers": twice}))
    with pytest.raises(InputError, match="not one of"):  # a letter index past this dilemma's options
        app.calibration.next(
            alice, app.parse(CalibrateRequest, {"answers": [{"dilemma_id": first, "choice": 20}]})
        )
    with pytest.raises(InputError, match="less than 26"):  # not an option letter at all
        app.calibration.next(
            alice, app.parse(CalibrateRequest, {"answers": [{"dilemma_id": first, "choice": 99}]})
        )
    with pytest.raises(InputError, match="at least one"):
        app.calibration.save(
            alice, app.parse(CalibrateRequest, {"answers": [{"dilemma_id": first, "choice": None}]})
        )
    skipped = as_json(
        app.calibration.next(alice, CalibrateRequest(answers=[{"dilemma_id": first, "choice": None}]))
    )
    assert skipped["answered"] == 0 and skipped["dilemma"]["id"] != first


def test_feedback_through_the_facade_only_on_ones_own_decisions(app: AppService):
    alice, bob = app.actor("alice"), app.actor("bob")
    got = as_json(
        app.decisions.decide(
            alice,
            DecideAppRequest(
                scenario="Who first?", choices=["The soldier", "The civilian"], algorithm="random"
            ),
        )
    )
    other = 1 - got["choice_index"]
    out = as_json(
        app.feedback.give(
            alice, FeedbackRequest(decision_id=got["log_id"], agree=False, would_choose="AB"[other])
        )
    )
    assert (
        out["feedback"]["would_choose"] == other and out["chosen"] == ["The soldier", "The civilian"][other]
    )
    assert out["example_id"] is None  # this app has no example store: the feedback is still stored
    assert [f["decision_id"] for f in app.store.feedback.list(alice)] == [got["log_id"]]
    with pytest.raises(NotFound, match=r"no decision \d+ of yours"):
        app.feedback.give(bob, FeedbackRequest(decision_id=got["log_id"], agree=True))
    with pytest.raises(InputError, match="letter"):
        app.feedback.give(
            alice,
            app.parse(FeedbackRequest, {"decision_id": got["log_id"], "agree": False, "would_choose": "BB"}),
        )


def test_unknown_values_to_calibrate_are_named_briefly_and_long_lists_refused(app: AppService):
    """Many unknown value names: the refusal names five and counts the rest, it does not echo them
    all; a list or a name longer than any value's is refused by the request's bounds."""
    alice = app.actor("alice")
    names = [f"made_up_{i:03d}" for i in range(100)]
    with pytest.raises(InputError, match="no dilemma") as refused:
        app.calibration.next(alice, app.parse(CalibrateRequest, {"attributes": names}))
    assert "and 95 more" in str(refused.value) and "made_up_099" not in str(refused.value)
    for bad in ([f"x{i}" for i in range(101)], ["y" * 81]):
        with pytest.raises(InputError):
            app.parse(CalibrateRequest, {"attributes": bad})
