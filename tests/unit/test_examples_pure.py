"""Pure example helpers: the target's answer, reasons, near-duplicate text, MMR."""

import math

from alignment.examples import (
    choice_distance,
    closest_choice,
    mmr_select,
    normalize_for_match,
    target_answer,
    target_reason,
)
from alignment.models import AlignmentTarget, Example

EX = Example(
    id="e1",
    text="Two casualties.",
    choices=["Treat the soldier", "Treat the civilian", "Wait"],
    scores=[{"fairness": 0.1, "utilitarianism": 0.9}, {"fairness": 0.9, "utilitarianism": 0.4}, {}],
)


def test_closest_choice_sums_absolute_differences_over_target_attributes():
    assert closest_choice(EX.scores, {"fairness": 1.0}) == 1
    assert closest_choice(EX.scores, {"fairness": 0.0}) == 0
    # fairness 0.5, utilitarianism 1.0: |0.1-.5|+|0.9-1| = 0.5 ; |0.9-.5|+|0.4-1| = 1.0
    assert closest_choice(EX.scores, {"fairness": 0.5, "utilitarianism": 1.0}) == 0
    both = ["fairness", "utilitarianism"]
    assert math.isclose(choice_distance(EX.scores[1], {"fairness": 0.5, "utilitarianism": 1.0}, both), 1.0)
    # unscored choices never win; unscored targets give no answer
    assert choice_distance({}, {"fairness": 0.5}, ["fairness"]) == math.inf
    assert closest_choice(EX.scores, {"honesty": 0.5}) is None
    # an attribute nobody scores is ignored beside one that is scored
    assert closest_choice(EX.scores, {"fairness": 1.0, "honesty": 0.0}) == 1


def test_ties_go_to_the_first_choice():
    assert closest_choice([{"a": 1.0}, {"a": 1.0}], {"a": 1.0}) == 0


def test_target_reason_names_principle_and_scores():
    target = AlignmentTarget(values={"fairness": 0.8})
    answer = target_answer(EX, target)
    assert answer == 1
    reason = target_reason(EX, answer, target)
    assert "high fairness (0.80)" in reason and "fairness 0.90" in reason
    low = AlignmentTarget(values={"fairness": 0.2})
    assert "low fairness" in target_reason(EX, 0, low)


def test_normalize_for_match():
    assert normalize_for_match("  What do  you DO?\n") == normalize_for_match("what do you do")


def test_mmr_prefers_diverse_candidates():
    query = [1.0, 0.0]
    cands = [[1.0, 0.0], [0.99, 0.01], [0.7, 0.7]]
    assert mmr_select(query, cands, 2, lambda_mult=1.0) == [0, 1]
    assert mmr_select(query, cands, 2, lambda_mult=0.3) == [0, 2]
    assert sorted(mmr_select(query, cands, 5)) == [0, 1, 2]  # k above the candidates: all, once
