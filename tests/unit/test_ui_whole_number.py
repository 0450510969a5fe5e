"""A number box's value as a whole number: every value outside the range is refused in words, however
large or odd (an API caller may send 10**400, infinity or not-a-number where the box would not)."""

import math

import pytest

from alignment.errors import InputError
from ui.common import whole_number


def test_a_value_in_range_is_its_whole_number_and_empty_is_the_default():
    assert whole_number(7, 1, 50, "the count", 10) == 7
    assert whole_number(7.0, 1, 50, "the count", 10) == 7
    assert whole_number(None, 1, 50, "the count", 10) == 10


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (0, "give the count as a whole number from 1 to 50 (not 0)"),
        (51, "(not 51)"),
        (2.5, "(not 2.5)"),
        (10**400, "the count is too large a number; give the count as a whole number from 1 to 50"),
        (-(10**400), "too large a number"),
        (1e300, "too large a number"),
        (math.inf, "(not inf)"),
        (math.nan, "(not nan)"),
    ],
)
def test_a_value_out_of_range_is_refused_in_words(value, words):
    with pytest.raises(InputError) as refused:
        whole_number(value, 1, 50, "the count", 10)
    assert words in str(refused.value)
