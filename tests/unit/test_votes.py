"""The persona-vote rule, on cases worked by hand (DESIGN.md / align-system calculate_votes)."""

import pytest

from alignment.votes import calculate_votes, vote_winner


def test_only_aligned_votes():
    # raw votes [2, 1, 0]; min=0 -> subtract 1e-6 -> [2-e, 1-e, -e]; total 3-3e
    votes = calculate_votes(3, aligned=[0, 0, 1], opposite=[])
    e = 1e-6
    assert votes == [
        round((2 - e) / (3 - 3 * e), 6),
        round((1 - e) / (3 - 3 * e), 6),
        round(-e / (3 - 3 * e), 6),
    ]
    assert vote_winner(votes, [0, 0, 1]) == 0


def test_opposite_sample_moves_votes_to_other_choices():
    # 2 choices; aligned picks [0]; opposite picks [0]: choice 0 gets 1 - 1/2, choice 1 gets +1/2
    votes = calculate_votes(2, aligned=[0], opposite=[0])
    # raw [0.5, 0.5] -> equal -> normalised to [0.5, 0.5]
    assert votes == [0.5, 0.5]
    assert vote_winner(votes, [0]) == 0


def test_hand_worked_mixed_case():
    # n=3, aligned [1, 1, 2], opposite [1, 0]
    # aligned: [0, 2, 1]; opposite pick 1: [+1/3, -1/3, +1/3]; opposite pick 0: [-1/3, +1/3, +1/3]
    # raw: [0, 2, 5/3]; min 0 -> shifted [-e, 2-e, 5/3-e]; total 11/3 - 3e
    e = 1e-6
    total = 11 / 3 - 3 * e
    votes = calculate_votes(3, aligned=[1, 1, 2], opposite=[1, 0])
    assert votes == pytest.approx([-e / total, (2 - e) / total, (5 / 3 - e) / total], abs=1e-6)
    assert vote_winner(votes, [1, 1, 2]) == 1


def test_winner_only_among_aligned_picks():
    # opposite samples push choice 0 up, but no aligned sample picked it
    votes = calculate_votes(3, aligned=[2], opposite=[1, 1, 1, 1])
    # raw: aligned [0,0,1]; each opposite pick 1 -> [+1/3,-1/3,+1/3] x4 -> [4/3, -4/3, 7/3]
    assert votes[2] > votes[0] > votes[1]
    assert vote_winner(votes, [2]) == 2
    votes = calculate_votes(3, aligned=[1], opposite=[1, 1, 1, 1])
    assert votes[0] > votes[1]  # choice 0 has more votes, but was never picked by an aligned sample
    assert vote_winner(votes, [1]) == 1


def test_votes_sum_to_one():
    votes = calculate_votes(4, aligned=[0, 1, 3, 3], opposite=[2, 0])
    assert sum(votes) == pytest.approx(1.0, abs=1e-5)


def test_no_aligned_samples_is_an_error():
    with pytest.raises(ValueError, match="no aligned sample; cannot pick a winner"):
        vote_winner([0.5, 0.5], [])
