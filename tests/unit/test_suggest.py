"""alignment.suggest: which attributes a dilemma is about, from vectors or from shared words."""

from __future__ import annotations

import pytest

from alignment.suggest import attribute_text, rank_attributes, rank_by_words, situation_text


def test_texts_to_embed():
    assert (
        situation_text(" Savings? ", ["index fund", " food truck "]) == "Savings?\n- index fund\n- food truck"
    )
    assert attribute_text("risk_aversion") == "risk aversion"
    assert (
        attribute_text("security", "Security", " Safety and stability. ") == "Security: Safety and stability."
    )


def test_rank_attributes_by_cosine_best_first():
    query = [1.0, 0.0, 0.0]
    vectors = {
        "far": [0.0, 1.0, 0.0],
        "close": [0.9, 0.1, 0.0],
        "exact": [2.0, 0.0, 0.0],  # length does not matter, direction does
        "opposite": [-1.0, 0.0, 0.0],
    }
    ranked = rank_attributes(query, vectors, k=3)
    assert [name for name, _ in ranked] == ["exact", "close", "far"]
    assert ranked[0][1] == pytest.approx(1.0) and ranked[2][1] == pytest.approx(0.0)
    assert len(rank_attributes(query, vectors, k=10)) == 4
    assert rank_attributes(query, vectors, k=0) == []


def test_ties_keep_the_given_order_and_zero_vectors_do_not_crash():
    vectors = {"b": [0.0, 1.0], "a": [0.0, 1.0], "zero": [0.0, 0.0]}
    assert [n for n, _ in rank_attributes([0.0, 1.0], vectors, k=3)] == ["b", "a", "zero"]
    with pytest.raises(ValueError, match="different lengths"):
        rank_attributes([1.0], {"x": [1.0, 0.0]})


def test_rank_by_words_without_an_embedder():
    texts = {
        "care": "Care: protecting others from harm",
        "security": "Security: safety and stability of savings, income and home",
        "stimulation": "Stimulation: excitement, novelty and challenge",
    }
    ranked = rank_by_words("Should I keep my savings safe or spend them?", texts, k=2)
    assert ranked[0][0] == "security" and ranked[0][1] > ranked[1][1]
    assert rank_by_words("", texts, k=1)[0][1] == 0.0


def test_a_boost_reorders_but_the_reported_similarity_stays_the_cosine():
    query = [1.0, 0.0]
    vectors = {"medical": [0.9, 0.1], "everyday": [0.7, 0.3]}
    assert [n for n, _ in rank_attributes(query, vectors, k=2)] == ["medical", "everyday"]
    boosted = rank_attributes(query, vectors, k=2, boosts={"everyday": 0.5})
    assert [n for n, _ in boosted] == ["everyday", "medical"]
    assert boosted[0][1] == pytest.approx(rank_attributes(query, {"e": vectors["everyday"]})[0][1])
