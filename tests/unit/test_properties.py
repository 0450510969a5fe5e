"""Property-based tests (hypothesis) of the parsers, the vote rule and the distance math."""

import json
import math
from typing import get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from alignment.chat_parse import parse_situation
from alignment.metrics import choice_distances, score_item
from alignment.prompts import delimit
from alignment.structured import parse_json_object
from alignment.turns import Conversation, TurnKind, TurnReader, ValueDef
from alignment.votes import calculate_votes, vote_winner

TURN_KINDS = set(get_args(TurnKind))
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
attrs = st.sampled_from(["a", "b", "c"])


@given(
    st.integers(2, 8).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.integers(0, n - 1), min_size=1, max_size=12),
            st.lists(st.integers(0, n - 1), max_size=12),
        )
    )
)
def test_votes_are_a_distribution_and_winner_is_an_aligned_pick(case):
    n, aligned, opposite = case
    votes = calculate_votes(n, aligned, opposite)
    assert len(votes) == n
    assert all(v >= -1e-4 for v in votes)  # the rule subtracts min + 1e-6: tiny negatives by design
    assert math.isclose(sum(votes), 1.0, abs_tol=1e-4)
    winner = vote_winner(votes, aligned)
    assert winner in aligned
    assert all(votes[winner] >= votes[i] for i in set(aligned))


@given(
    st.integers(2, 6).flatmap(
        lambda n: st.tuples(
            st.lists(st.dictionaries(attrs, unit, min_size=3, max_size=3), min_size=n, max_size=n),
            st.dictionaries(attrs, unit, min_size=1, max_size=3),
            st.integers(0, n - 1),
        )
    )
)
def test_distance_math(case):
    scores, target, chosen = case
    dist = choice_distances(scores, target)
    assert all(0.0 <= d <= len(target) + 1e-9 for d in dist)
    item = score_item(scores, target, chosen)
    assert 0.0 <= item.graded <= 1.0
    assert item.correct == (dist[chosen] <= min(dist) + 1e-9)
    best = min(range(len(dist)), key=dist.__getitem__)
    assert score_item(scores, target, best).correct


@given(st.text(max_size=400))
@settings(max_examples=300)
def test_situation_parser_never_crashes_and_options_are_clean(text):
    parsed = parse_situation(text)
    assert len({o.casefold() for o in parsed.options}) == len(parsed.options)
    assert all(o and o == o.strip() for o in parsed.options)
    reader = TurnReader(None, [ValueDef("fairness"), ValueDef("security", words=("money", "safety"))])
    if text.strip():
        turn = reader.read(text, Conversation(options=["a", "b"], chosen=0, decided_on=["fairness"]))
        assert turn.kind in TURN_KINDS


@given(st.text(max_size=300))
def test_delimited_user_text_cannot_close_its_section(text):
    wrapped = delimit("scenario", text)
    assert wrapped.count("</scenario>") == 1 and wrapped.endswith("</scenario>")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
        max_leaves=10,
    )
)
def test_json_object_parser_round_trips_objects_and_rejects_the_rest(value):
    text = json.dumps({"v": value})
    assert parse_json_object("noise " + text + " noise") == {"v": value}


@given(st.text(max_size=200).filter(lambda t: "{" not in t))
def test_json_parser_rejects_text_without_an_object(text):
    try:
        parse_json_object(text)
    except ValueError:
        return
    raise AssertionError("text without an object was accepted")
