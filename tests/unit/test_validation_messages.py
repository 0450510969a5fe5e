"""A request that does not fit its schema reads as one sentence for a person: each wrong field in
words with what to give, never pydantic's report (its type names, its link to errors.pydantic.dev)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from alignment.errors import InputError
from alignment.models import Scenario
from assistant.app.schemas import (
    ChatRequest,
    CompareAppRequest,
    ExampleSearchRequest,
    ProfileCreateRequest,
    parse_request,
)
from assistant.decisions.messages import for_people, validation_message

PYDANTIC_WORDS = ("pydantic", "further information", "Input should", "Field required", "type=", "[type")


def said(model: type, payload: dict) -> str:
    with pytest.raises(InputError) as caught:
        parse_request(model, payload)
    text = str(caught.value)
    assert "\n" not in text, text  # one line
    for words in PYDANTIC_WORDS:
        assert words not in text, text
    return text


def test_too_few_items_names_the_field_and_the_count():
    text = said(CompareAppRequest, {"scenario": "s", "choices": ["a", "b"], "columns": [{}]})
    assert text == "columns: give at least 2 (you gave 1)"


def test_a_missing_field_and_a_field_not_taken_are_named():
    text = said(CompareAppRequest, {"choices": ["a", "b"], "columns": [{}, {}], "colour": "red"})
    assert "scenario is missing; fill it in" in text
    assert "'colour' is not something this request takes; leave it out" in text


def test_numbers_out_of_range_or_not_numbers_say_what_to_give():
    assert said(ExampleSearchRequest, {"k": 0}).startswith("k must be at least 1 (not 0)")
    text = said(ChatRequest, {"message": "hi", "targets": {"fairness": "very"}})
    assert text.startswith("targets fairness must be a number (not 'very')"), text


def test_text_too_long_says_how_long_it_may_be():
    text = said(ChatRequest, {"message": "x" * 9000})
    assert text.startswith("message is too long; shorten it to 8000 characters"), text


def test_our_own_validators_keep_their_words():
    with pytest.raises(ValidationError) as caught:
        Scenario(text="Move?", choices=["only one"])
    assert validation_message(caught.value) == "1 choice given; give at least 2 choices"
    with pytest.raises(ValidationError) as caught:
        Scenario(text=" ", choices=[])
    assert validation_message(caught.value) == (
        "the scenario is empty; describe the situation; no choice given; give at least 2 choices"
    )


def test_many_problems_name_three_and_count_the_rest():
    payload = {f"extra{i}": 1 for i in range(5)}
    text = said(ProfileCreateRequest, payload)
    assert text.startswith("name is missing") and "'extra1'" in text and "'extra2'" not in text, text
    assert text.endswith("; and 3 more problems"), text


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("no example with id ''; see `align examples list`", "no example with id ''; search the examples"),
        ("no user 'x'; see `align users list`", "no user 'x'; see the list of users"),
        (
            "unknown attribute 'y' (see `align attributes list`)",
            "unknown attribute 'y' (see the list of attributes)",
        ),
        (
            "unknown 'z': no attributes are defined yet; run `align db seed`",
            "run the command line (see the README)",
        ),
        ("the backbone is down (see `align health --backbone x`)", "the backbone is down (see the README)"),
    ],
)
def test_messages_for_people_name_no_command(message, expected):
    said = for_people(message)
    assert expected in said and "`" not in said and "align " not in said, said
    assert "((" not in said.replace(" ", "") and said.count("(") <= 1, said
