"""Confidence of a decision, selective accuracy and the calibrating question (pure parts)."""

from __future__ import annotations

import math
import random

import pytest

from alignment.calibrating import CalibratingQuestion, answer_of, pick_question, updated_value
from alignment.confidence import (
    ConfidenceFeatures,
    confidence_of,
    deciding_value,
    features_of,
    fit_logistic,
    terms_of,
    threshold_for,
    with_confidence,
)
from alignment.evaluation import EvalResult, summarise
from alignment.metrics import confidence_bins, selective_accuracy, selective_ci
from alignment.models import ChoiceScore, Decision, Example


def _decision(
    distances: list[float], examples: list[float], definition: list[float], weight: float, winner: int = 0
) -> Decision:
    target = {"honesty": 1.0}
    est = [weight * e + (1 - weight) * d for e, d in zip(examples, definition, strict=True)]
    return Decision(
        choice_index=winner,
        choice=["return it", "keep it"][winner],
        justification="",
        scores=[
            ChoiceScore(index=i, choice=c, score=1 - distances[i], attributes={"honesty": est[i]})
            for i, c in enumerate(["return it", "keep it"])
        ],
        algorithm="value-fit",
        backbone="none",
        target=target,
        extra={
            "distances": distances,
            "evidence": {
                "honesty": {
                    "examples": examples,
                    "example_weight": [weight, weight],
                    "definition": definition,
                    "source": "examples",
                }
            },
        },
    )


def test_features_read_gap_agreement_and_evidence() -> None:
    agree = features_of(_decision([0.2, 0.6], [0.9, 0.1], [0.7, 0.4], 0.5))
    assert agree.gap == pytest.approx(0.4)
    assert agree.agreement == 1.0 and agree.readers == 2
    assert agree.evidence == pytest.approx(0.5)
    # the definition alone would pick the other option: the readers disagree
    split = features_of(_decision([0.45, 0.5], [0.9, 0.1], [0.3, 0.6], 0.5))
    assert split.agreement == 0.5
    assert split.gap == pytest.approx(0.05)


def test_confidence_rises_with_agreement_and_with_a_gap_stored_decisions_support() -> None:
    low = ConfidenceFeatures(gap=0.0, agreement=0.5, evidence=0.8)
    assert 0.0 < confidence_of(low) < 1.0
    assert confidence_of(low.model_copy(update={"agreement": 1.0})) > confidence_of(low)
    assert confidence_of(low.model_copy(update={"gap": 0.3})) > confidence_of(low)
    assert terms_of(ConfidenceFeatures(gap=0.5, agreement=1.0, evidence=0.2)) == pytest.approx(
        [1.0, 0.1, 0.4, 0.2]
    )
    decided = with_confidence(_decision([0.2, 0.6], [0.9, 0.1], [0.7, 0.4], 0.5))
    assert decided.confidence is not None and 0.0 <= decided.confidence <= 1.0
    assert decided.extra["confidence_features"]["readers"] == 2


def test_a_decision_without_estimates_gets_a_gap_from_its_scores() -> None:
    votes = Decision(
        choice_index=1,
        choice="b",
        justification="",
        scores=[ChoiceScore(index=0, choice="a", score=0.3), ChoiceScore(index=1, choice="b", score=0.7)],
        algorithm="persona-vote",
        backbone="x",
    )
    f = features_of(votes)
    assert f.gap == pytest.approx(0.4) and f.agreement == 0.5 and f.evidence == 0.0


def test_fit_logistic_recovers_known_coefficients() -> None:
    rng = random.Random(1)
    rows, outcomes = [], []
    for _ in range(4000):
        x = rng.random()
        rows.append([x])
        outcomes.append(rng.random() < 1 / (1 + math.exp(-(-1.0 + 3.0 * x))))
    b0, b1 = fit_logistic(rows, outcomes, ridge=0.0)
    assert b0 == pytest.approx(-1.0, abs=0.25) and b1 == pytest.approx(3.0, abs=0.4)
    with pytest.raises(ValueError):
        fit_logistic([], [])


def test_thresholds_are_kept_per_measured_domain() -> None:
    assert threshold_for("everyday") is not None
    assert threshold_for("triage") is None and threshold_for(None) is None


def test_deciding_value_is_the_one_that_separates_the_options() -> None:
    d = Decision(
        choice_index=0,
        choice="a",
        justification="",
        scores=[
            ChoiceScore(index=0, choice="a", score=0.8, attributes={"family": 0.9, "career": 0.5}),
            ChoiceScore(index=1, choice="b", score=0.6, attributes={"family": 0.2, "career": 0.6}),
        ],
        algorithm="value-fit",
        backbone="none",
        target={"family": 0.8, "career": 0.5},
    )
    assert deciding_value(d) == "family"


def test_selective_accuracy_keeps_the_most_confident_share() -> None:
    conf = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    right = [True, True, True, True, True, True, False, False, False, False]
    assert selective_accuracy(conf, right, 0.6) == 1.0
    assert selective_accuracy(conf, right, 1.0) == 0.6
    iv = selective_ci(conf, right, 0.6, resamples=200)
    assert iv.mean == 1.0 and iv.n == 6 and iv.low <= 1.0
    with pytest.raises(ValueError):
        selective_accuracy(conf, right, 0.0)
    bins = confidence_bins(conf, right)
    assert sum(b.accuracy.n for b in bins) == len(conf)
    assert bins[-1].low == 0.9 and bins[-1].accuracy.mean == 1.0
    assert bins[0].low == 0.0 and bins[0].accuracy.mean == pytest.approx(1 / 5)


def test_summary_reports_confidence_per_half() -> None:
    rows = [
        EvalResult(
            item_id=f"f{i % 2}.json:s{i}:honesty:high",
            algorithm="aligned",
            backbone="none",
            source=f"f{i % 2}.json",
            attribute="honesty",
            direction="high",
            target={"honesty": 1.0},
            choice_index=0,
            correct=i % 3 != 0,
            valid=True,
            graded=1.0,
            confidence=(i % 10) / 10,
        )
        for i in range(40)
    ]
    run = summarise(rows, halves={"f0.json": "dev", "f1.json": "test"})["runs"][0]
    assert set(run["confidence"]) == {"all", "dev", "test"}
    assert run["confidence"]["dev"]["n"] == 20 and run["confidence"]["all"]["n"] == 40
    sel = run["confidence"]["all"]["selective_accuracy"]
    assert sel["n"] == 24 and sel["low"] <= sel["mean"] <= sel["high"]


QUESTION = CalibratingQuestion(
    value="honesty",
    example_id="e1",
    text="You found a wallet.",
    choices=["Return it", "Keep the cash"],
    scores=[1.0, 0.0],
)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("A", 0),
        ("b", 1),
        ("(B)", 1),
        ("option A", 0),
        ("the first", 0),
        ("the second one", 1),
        ("keep the cash", 1),
        ("return it", 0),
        ("I would choose B", None),
        ("why?", None),
        ("C", None),
    ],
)
def test_answer_of_reads_bare_answers_only(message: str, expected: int | None) -> None:
    assert answer_of(message, QUESTION) == expected


def test_updated_value_moves_only_against_a_contradicting_answer() -> None:
    lowered = updated_value(0.75, QUESTION, 1)
    assert lowered < 0.5
    assert updated_value(0.75, QUESTION, 0) == 0.75  # consistent: kept
    assert updated_value(0.2, QUESTION, 0) > 0.5
    with pytest.raises(ValueError):
        updated_value(0.5, QUESTION, 2)


def test_pick_question_needs_two_options_apart_on_the_value() -> None:
    def ex(i: str, text: str, scores: list[dict[str, float]]) -> Example:
        return Example(id=i, text=text, choices=["yes", "no"], scores=scores)

    candidates = [
        ex("same", "Should I lie?", [{"honesty": 1.0}, {"honesty": 0.0}]),
        ex("flat", "Other A", [{"honesty": 0.6}, {"honesty": 0.5}]),
        ex("other", "Other B", [{"family": 1.0}, {"family": 0.0}]),
        ex("good", "Other C", [{"honesty": 0.0}, {"honesty": 1.0}]),
    ]
    q = pick_question("honesty", candidates, "Should I lie?", ["tell", "hide"])
    assert q is not None and q.example_id == "good" and q.scores == [0.0, 1.0]
    assert pick_question("honesty", candidates[:3], "Should I lie?", ["tell", "hide"]) is None
