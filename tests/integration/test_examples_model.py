"""icl and regression end to end: DecisionService + real Chroma store + the real embedded model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alignment.algorithms.regression import closest_estimate
from alignment.backbone import Backbone
from alignment.datasets import load_file
from assistant.backbones import BackbonePool
from assistant.cli.examples import import_paths
from assistant.decisions.service import DecideRequest, DecisionService
from assistant.settings import load_settings
from assistant.stores.chroma import chroma_settings
from assistant.stores.examples import ExampleStore
from tests.helpers.examples import DATA, CachedMiniLM

pytestmark = pytest.mark.model

QUERY = load_file(DATA / "triage" / "oracle_risk_aversion_training_input_output.json")[3]


@pytest.fixture(scope="module")
def service(embedded_backbone: Backbone, tmp_path_factory: pytest.TempPathFactory) -> DecisionService:
    import chromadb

    path: Path = tmp_path_factory.mktemp("chroma-model")
    store = ExampleStore(
        chromadb.PersistentClient(path=str(path), settings=chroma_settings()), CachedMiniLM()
    )
    import_paths(store, [str(DATA / "triage")], progress=False)
    settings = load_settings(data_dir=path)
    pool = BackbonePool(settings)
    pool.add(embedded_backbone)  # named "embedded", the default backbone
    return DecisionService(settings, pool, examples=store)


def request(algorithm: str, **params: Any) -> DecideRequest:
    return DecideRequest(
        scenario=QUERY.text,
        choices=QUERY.choices,
        target={"risk_aversion": 0.9},
        algorithm=algorithm,
        params=params,
        seed=1,
        scenario_id=QUERY.scenario_id,
        domain="triage",
    )


def test_icl_on_the_embedded_model(service: DecisionService) -> None:
    decision = service.decide(request("icl", k=2, max_tokens=120))
    assert decision.algorithm == "icl" and decision.backbone == "embedded"
    assert decision.choice in QUERY.choices and decision.justification
    assert 1 <= len(decision.examples) <= 2
    assert all(e.scenario_id != QUERY.scenario_id for e in decision.examples)
    assert all("risk_aversion" in {a for s in e.scores for a in s} for e in decision.examples)
    prompt = decision.prompts[0][-1].content
    assert prompt.count("<example>") == len(decision.examples) and "Answer: (" in prompt
    assert decision.timings["retrieval_s"] < 5


def test_regression_on_the_embedded_model(service: DecisionService) -> None:
    decision = service.decide(request("regression", k=1))
    assert decision.algorithm == "regression"
    assert decision.choice in QUERY.choices
    estimates = [s.attributes for s in decision.scores]
    assert all(set(e) == {"risk_aversion"} and 0.0 <= e["risk_aversion"] <= 1.0 for e in estimates)
    assert all(v * 10 == round(v * 10) for e in estimates for v in e.values())
    # the decision is the argmin of its own estimates' distance to the target
    assert decision.choice_index == closest_estimate(estimates, {"risk_aversion": 0.9})[0]
    assert len(decision.examples) == 1 and decision.examples[0].scenario_id != QUERY.scenario_id
