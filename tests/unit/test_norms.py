"""The norm reader's contrasts (alignment/norms.py), on hand-made unit vectors: which option keeps a
norm, which way a value pushes (read from its own high and low texts), and how much the options are
about norms at all. The real MiniLM runs in tests/integration/test_readers_model.py."""

from typing import Any

import numpy as np
import pytest

from alignment.norms import NORM_ACTS, direction_weight, norm_scores, norm_texts, presence

# axes: 0 "keeps a norm", 1 "breaks a norm", 2 a topic with no norm in it
KEEPS = np.array([[1.0, 0.0, 0.0]])
BREAKS = np.array([[0.0, 1.0, 0.0]])


def unit(*xs: float) -> Any:  # a vector, passed where the code takes a sequence of floats
    v = np.array(xs, dtype=float)
    return v / np.linalg.norm(v)


def test_an_option_like_a_norm_breaking_act_scores_below_one_like_a_keeping_act():
    scores = norm_scores(np.vstack([unit(0.9, 0.1, 0.4), unit(0.1, 0.9, 0.4)]), KEEPS, BREAKS)
    assert scores[0] > 0 > scores[1]
    assert scores[0] == pytest.approx(-scores[1])


def test_the_closest_act_of_each_kind_counts():
    keeps = np.vstack([KEEPS, unit(0.0, 0.0, 1.0)])  # a second keeping act, on the topic axis
    option = unit(0.0, 0.5, 1.0)
    assert norm_scores(option, keeps, BREAKS)[0] == pytest.approx(option[2] - option[1])


def test_a_value_whose_high_text_keeps_norms_pushes_toward_keeping_and_a_reversed_one_away():
    honest_high, honest_low = unit(1.0, 0.0, 0.3), unit(0.0, 1.0, 0.3)
    assert direction_weight(honest_high, honest_low, KEEPS, BREAKS, full=0.5) == 1.0  # capped
    assert direction_weight(honest_low, honest_high, KEEPS, BREAKS, full=0.5) == -1.0
    weak = direction_weight(unit(0.6, 0.5, 1.0), unit(0.5, 0.6, 1.0), KEEPS, BREAKS, full=1.0)
    assert 0 < weak < 0.2, "a value whose texts barely differ on norms pushes barely"


def test_a_value_whose_texts_say_nothing_about_norms_does_not_push():
    assert direction_weight(unit(0.0, 0.0, 1.0), unit(0.1, 0.1, 1.0), KEEPS, BREAKS, full=0.1) == 0.0


def test_without_a_low_text_the_high_text_alone_gives_the_direction():
    assert direction_weight(unit(1.0, 0.2, 0.0), None, KEEPS, BREAKS, full=1.0) > 0
    assert direction_weight(unit(0.2, 1.0, 0.0), None, KEEPS, BREAKS, full=1.0) < 0


def test_presence_is_zero_for_options_far_from_every_act_and_grows_to_one():
    far = np.vstack([unit(0.0, 0.0, 1.0), unit(0.1, 0.0, 1.0)])
    near = np.vstack([unit(0.0, 1.0, 0.1), unit(0.1, 0.0, 1.0)])
    assert presence(far, KEEPS, BREAKS, floor=0.3, full=0.6) == 0.0
    assert presence(near, KEEPS, BREAKS, floor=0.3, full=0.6) == 1.0
    middle = np.vstack([unit(0.45, 0.0, np.sqrt(1 - 0.45**2))])
    assert presence(middle, KEEPS, BREAKS, floor=0.3, full=0.6) == pytest.approx(0.5)


def test_the_list_pairs_each_keeping_act_with_a_breaking_one():
    assert len(norm_texts()) == 2 * len(NORM_ACTS)
    assert all(keep and brk and keep != brk for keep, brk in NORM_ACTS)
