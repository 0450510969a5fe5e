"""The calibration estimator and active selection on synthetic answers with known targets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alignment.calibration import (
    Answer,
    CalibrationModel,
    Dilemma,
    DilemmaPool,
    Posterior,
    calibration_dilemmas,
    choice_probabilities,
    usable_attributes,
)
from alignment.datasets import DatasetRecord
from alignment.errors import InputError

MODEL = CalibrationModel(points=2048)


def single(name: str, i: int) -> Dilemma:
    return Dilemma(id=f"{name}-{i}", choices=["low", "high"], scores=[{name: 0.0}, {name: 1.0}])


def contrast(a: str, b: str, i: int) -> Dilemma:
    return Dilemma(id=f"{a}-{b}-{i}", choices=["a", "b"], scores=[{a: 1.0, b: 0.0}, {a: 0.0, b: 1.0}])


def simulate(
    pool: DilemmaPool, truth: dict[str, float], n: int, beta: float, seed: int, strategy: str = "active"
) -> tuple[Posterior, list[str]]:
    """A user with target ``truth`` answers ``n`` dilemmas of the pool through the choice model."""
    rng = np.random.default_rng(seed)
    post = pool_prior[id(pool)]
    asked: list[str] = []
    for _ in range(n):
        d = pool.next(post, asked=asked, strategy=strategy, rng=rng)  # type: ignore[arg-type]
        assert d is not None
        p = choice_probabilities(d.scores, truth, beta)
        post = pool.answer(post, d.id, int(rng.choice(len(p), p=p)))
        asked.append(d.id)
    return post, asked


pool_prior: dict[int, Posterior] = {}


def make_pool(attributes: list[str], dilemmas: list[Dilemma]) -> DilemmaPool:
    prior = Posterior.prior(attributes, MODEL)
    pool = DilemmaPool(prior, dilemmas)
    pool_prior[id(pool)] = prior
    return pool


def test_choice_probabilities_follow_the_distance() -> None:
    scores = [{"a": 0.0}, {"a": 1.0}, {"a": 0.5}]
    p = choice_probabilities(scores, {"a": 0.9}, beta=4.0)
    assert math.isclose(sum(p), 1.0)
    assert p[1] > p[2] > p[0]
    assert choice_probabilities(scores, {"a": 0.9}, beta=math.inf) == [0.0, 1.0, 0.0]
    tied = choice_probabilities([{"a": 1.0}, {"a": 1.0}, {"a": 0.0}], {"a": 1.0}, beta=math.inf)
    assert tied == [0.5, 0.5, 0.0]
    # attributes the choices are not scored on do not count
    assert choice_probabilities(scores, {"a": 0.9, "zzz": 0.1}, beta=4.0) == p


def test_prior_is_centred_and_undecided() -> None:
    est = Posterior.prior(["a", "b"], MODEL).estimate()
    for e in est.attributes.values():
        assert abs(e.value - 0.5) < 0.02 and abs(e.mean - 0.5) < 0.02
        assert 0.2 < e.sd < 0.3
        assert e.direction == "undecided" and e.evidence == 0
    assert est.answers == 0


@pytest.mark.parametrize(("truth", "direction"), [(0.9, "high"), (0.1, "low")])
def test_consistent_answers_recover_one_attribute(truth: float, direction: str) -> None:
    post = Posterior.prior(["a"], MODEL)
    for i in range(8):
        d = single("a", i)
        choice = 1 if truth > 0.5 else 0
        post = post.observe(Answer(dilemma_id=d.id, scores=d.scores, choice=choice))
    e = post.estimate().attributes["a"]
    assert e.direction == direction
    assert e.confidence > 0.95
    assert abs(e.value - truth) < 0.25
    assert (e.map > 0.5) == (truth > 0.5) and abs(e.map - truth) < 0.25  # MAP: the least extreme fit
    assert e.low <= e.value <= e.high
    assert e.evidence == 8
    # more answers, less uncertainty
    assert e.sd < Posterior.prior(["a"], MODEL).estimate().attributes["a"].sd / 1.5


def test_mixed_answers_stay_near_the_middle_with_low_confidence() -> None:
    post = Posterior.prior(["a"], MODEL)
    for i in range(6):
        d = single("a", i)
        post = post.observe(Answer(dilemma_id=d.id, scores=d.scores, choice=i % 2))
    e = post.estimate().attributes["a"]
    assert abs(e.value - 0.5) < 0.1
    assert e.confidence < 0.75


def test_contrasts_and_singles_recover_a_known_two_attribute_target() -> None:
    truth = {"a": 0.85, "b": 0.2}
    dilemmas = [single("a", i) for i in range(4)] + [contrast("a", "b", i) for i in range(4)]
    pool = make_pool(["a", "b"], dilemmas)
    post, _ = simulate(pool, truth, n=8, beta=8.0, seed=3)
    est = post.estimate()
    assert est.attributes["a"].direction == "high"
    assert est.attributes["b"].direction == "low"
    assert sum(abs(est.attributes[k].value - v) for k, v in truth.items()) / 2 < 0.25
    assert est.target() == {k: round(e.value, 2) for k, e in est.attributes.items()}


def test_active_selection_prefers_an_informative_dilemma() -> None:
    flat = Dilemma(id="flat", choices=["x", "y"], scores=[{"a": 0.5}, {"a": 0.5}])
    pool = make_pool(["a", "b"], [flat, single("a", 0), single("b", 0)])
    prior = pool_prior[id(pool)]
    gain = pool.information_gain(prior)
    assert gain[0] == pytest.approx(0.0, abs=1e-9)
    assert gain[1] > 0.1 and gain[2] > 0.1
    assert gain[1] == pytest.approx(gain[2], rel=0.05)
    # after three clear answers on a, the b dilemma tells more than another a dilemma
    post = prior
    for i in range(3):
        d = single("a", 10 + i)
        post = post.observe(Answer(dilemma_id=d.id, scores=d.scores, choice=1))
    nxt = pool.next(post)
    assert nxt is not None and nxt.id == "b-0"
    assert pool.next(post, asked=["b-0", "a-0"]).id == "flat"
    assert pool.next(post, asked=["b-0", "a-0", "flat"]) is None
    # both objectives rank the informative dilemmas above the flat one
    target_gain = pool.information_gain(post, "target")
    assert target_gain[2] > target_gain[0]


def test_active_selection_beats_random_on_a_synthetic_pool() -> None:
    names = ["a", "b", "c", "d"]
    dilemmas = (
        [single("a", i) for i in range(6)]
        + [contrast("a", n, i) for n in names[1:] for i in range(4)]
        + [contrast("b", "c", i) for i in range(4)]
    )
    pool = make_pool(names, dilemmas)
    rng = np.random.default_rng(0)
    right = {"active": 0, "random": 0}
    total = 0
    for u in range(12):
        truth = {n: float(rng.uniform(0.7, 1.0) if rng.integers(2) else rng.uniform(0.0, 0.3)) for n in names}
        for strategy in right:
            post, _ = simulate(pool, truth, n=6, beta=8.0, seed=u, strategy=strategy)
            est = post.estimate(with_map=False)
            right[strategy] += sum(
                est.attributes[n].direction == ("high" if truth[n] > 0.5 else "low") for n in names
            )
        total += len(names)
    assert right["active"] / total >= 0.75
    assert right["active"] > right["random"]


def test_bad_answers_are_refused_with_a_clear_error() -> None:
    post = Posterior.prior(["a"], MODEL)
    d = single("a", 0)
    with pytest.raises(InputError, match="not one of its 2 choices"):
        post.observe(Answer(dilemma_id=d.id, scores=d.scores, choice=2))
    with pytest.raises(InputError, match="scores none of the calibrated attributes"):
        post.observe(Answer(dilemma_id="x", scores=[{"b": 0.0}, {"b": 1.0}], choice=0))
    with pytest.raises(ValueError, match="must be in"):
        Answer(dilemma_id="x", scores=[{"a": 0.0}, {"a": 3.0}], choice=0)
    with pytest.raises(InputError, match="no attributes"):
        Posterior.prior([], MODEL)
    with pytest.raises(InputError, match="no dilemma"):
        DilemmaPool(post, [])
    pool = DilemmaPool(post, [d])
    with pytest.raises(InputError, match="choice 5"):
        pool.answer(post, d.id, 5)


def _record(i: int, text: str, scores: list[dict[str, float]]) -> DatasetRecord:
    return DatasetRecord(
        source="f.json",
        index=i,
        scenario_id=f"s{i}",
        group_id=f"s{i}",
        domain="triage",
        text=text,
        choices=[f"choice {j}" for j in range(len(scores))],
        scores=scores,
    )


def test_calibration_dilemmas_keep_only_usable_records() -> None:
    records = [
        _record(0, "ok", [{"a": 0.0}, {"a": 1.0}]),
        _record(1, "ok", [{"a": 0.0}, {"a": 1.0}]),  # same scenario again (another file)
        _record(2, "partly scored", [{"a": 0.0}, {}]),
        _record(3, "outside", [{"a": 0.0, "z": 1.0}, {"a": 1.0, "z": 0.0}]),
        _record(4, "flat", [{"a": 0.5}, {"a": 0.5}]),
        _record(5, "pair", [{"a": 0.0, "b": 1.0}, {"a": 1.0, "b": 0.0}]),
    ]
    got = calibration_dilemmas(records, ["a", "b"])
    assert [d.text for d in got] == ["ok", "pair"]
    assert got[0].id == records[0].example_id()
    assert usable_attributes(records) == ["a", "b", "z"]
    assert [d.text for d in calibration_dilemmas(records, ["a", "b", "z"])] == ["ok", "outside", "pair"]


def test_model_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="betas must be positive finite numbers"):
        CalibrationModel(betas=())
    with pytest.raises(ValueError, match="betas must be positive finite numbers"):
        CalibrationModel(betas=(0.0,))
    assert CalibrationModel(betas=(8.0, 2.0, 2.0)).betas == (2.0, 8.0)
