"""The decision service hands the request's holdout and the algorithm's example scope to the store."""

from typing import Any

import pytest
from pydantic import ValidationError

from alignment.algorithms import create_algorithm
from alignment.fake import FakeBackbone
from alignment.models import AlignmentTarget, Example, Scenario
from assistant.backbones import BackbonePool
from assistant.decisions.service import DecideRequest, DecisionService
from assistant.settings import Settings

EXAMPLE = Example(
    id="e1",
    text="A looter and a shop owner are both bleeding.",
    choices=["Treat the looter", "Treat the owner"],
    scores=[{"fairness": 0.0}, {"fairness": 1.0}],
    scenario_id="s1",
)


class Recorder:
    """An ExampleRetriever that records the keyword arguments of each call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def retrieve(self, scenario: Scenario, target: AlignmentTarget | None, **kw: Any) -> list[Example]:
        self.calls.append(kw)
        return [EXAMPLE]


def service(tmp_path, recorder: Recorder) -> DecisionService:
    settings = Settings(data_dir=tmp_path / "data")
    pool = BackbonePool(settings)
    pool.add(FakeBackbone(lambda request, k: {"reasoning": "fair", "choice": "B"}, name="embedded"))
    return DecisionService(settings, pool, examples=recorder)


def request(**kw: Any) -> DecideRequest:
    return DecideRequest(
        scenario="Two patients, one medic.",
        choices=["Treat the first", "Treat the second"],
        target={"fairness": 1.0},
        algorithm="icl",
        **kw,
    )


def test_default_request_asks_for_todays_retrieval(tmp_path):
    rec = Recorder()
    decision = service(tmp_path, rec).decide(request())
    assert rec.calls == [{"k": 3, "mmr_lambda": None}]
    assert [e.id for e in decision.examples] == ["e1"]


@pytest.mark.parametrize("holdout", ["attribute", "group"])
def test_holdout_reaches_the_store(tmp_path, holdout):
    rec = Recorder()
    service(tmp_path, rec).decide(request(holdout=holdout))
    assert rec.calls == [{"k": 3, "mmr_lambda": None, "holdout": holdout}]


def test_unknown_holdout_is_refused():
    with pytest.raises(
        ValidationError, match=r"holdout\n  Input should be 'scenario', 'attribute' or 'group'"
    ):
        request(holdout="everything")


def test_example_scope_of_the_algorithm_reaches_the_store(tmp_path):
    rec = Recorder()
    svc = service(tmp_path, rec)
    algorithm = create_algorithm("icl")
    scenario = Scenario(text="Two patients.", choices=["A one", "B one"])
    target = AlignmentTarget(values={"fairness": 1.0})
    svc._retrieve(algorithm, scenario, target)
    algorithm.example_scope = "domain"  # type: ignore[attr-defined]  # as a class would declare it
    svc._retrieve(algorithm, scenario, target, "ann", "group")
    assert rec.calls == [
        {"k": 3, "mmr_lambda": None},
        {"k": 3, "mmr_lambda": None, "owner": "ann", "holdout": "group", "scope": "domain"},
    ]
