"""Metrics on hand-computed cases."""

import math

import pytest

from alignment.metrics import bootstrap_ci, choice_distances, score_item

SCORES = [
    {"fairness": 1.0, "risk": 0.2},
    {"fairness": 0.3, "risk": 0.9},
    {"fairness": 0.0, "risk": 0.0},
]


def test_distances_by_hand():
    assert choice_distances(SCORES, {"fairness": 1.0}) == pytest.approx([0.0, 0.7, 1.0])
    # target fairness 0.2, risk 0.8: |1-0.2|+|0.2-0.8| = 1.4; |0.3-0.2|+|0.9-0.8| = 0.2; 0.2+0.8 = 1.0
    assert choice_distances(SCORES, {"fairness": 0.2, "risk": 0.8}) == pytest.approx([1.4, 0.2, 1.0])
    assert choice_distances([{"risk": 1.0}], {"fairness": 1.0}) == [math.inf]


def test_correct_and_graded():
    high = score_item(SCORES, {"fairness": 1.0}, chosen=0)
    assert high.correct and high.valid and high.graded == 1.0 and high.picked_top
    low = score_item(SCORES, {"fairness": 0.0}, chosen=1)
    assert not low.correct and low.graded == pytest.approx(0.7)
    two = score_item(SCORES, {"fairness": 0.2, "risk": 0.8}, chosen=2)
    assert not two.correct and two.graded == pytest.approx(1 - 1.0 / 2)


def test_ties_count_only_among_the_tied_best():
    tied = [{"a": 0.5}, {"a": 0.5}, {"a": 0.0}]
    assert score_item(tied, {"a": 1.0}, 0).correct
    assert score_item(tied, {"a": 1.0}, 1).correct
    assert not score_item(tied, {"a": 1.0}, 2).correct


def test_invalid_when_options_do_not_differ():
    same = [{"a": 0.4}, {"a": 0.4}]
    item = score_item(same, {"a": 1.0}, 1)
    assert item.correct and not item.valid


def test_bad_arguments():
    with pytest.raises(ValueError, match="an empty target cannot be scored"):
        score_item(SCORES, {}, 0)
    with pytest.raises(ValueError, match="chosen index 5 is out of range for 3 options"):
        score_item(SCORES, {"fairness": 1.0}, 5)


def test_bootstrap_interval_contains_mean_and_narrows():
    small = bootstrap_ci([1, 0] * 10, seed=1)
    large = bootstrap_ci([1, 0] * 500, seed=1)
    assert small.low <= 0.5 <= small.high and large.low <= 0.5 <= large.high
    assert (large.high - large.low) < (small.high - small.low)
    assert bootstrap_ci([1, 1, 1]).low == 1.0
    assert math.isnan(bootstrap_ci([]).mean)
