"""value-fit end to end: DecisionService + a real Chroma store + the real MiniLM embedder.

The default decider needs no language model: the service must not load one for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from alignment.models import Attribute
from assistant.app.decisions import AppDecisions
from assistant.backbones import BackbonePool
from assistant.cli.examples import import_paths
from assistant.decisions.service import DecideRequest, DecisionService
from assistant.settings import load_settings
from assistant.stores.chroma import chroma_settings
from assistant.stores.embedding import CachedEmbedder
from assistant.stores.examples import ExampleStore
from profiles.schemas import UserCreate
from profiles.seed import load_pack, seed
from profiles.store import open_store
from tests.helpers.examples import DATA, CachedMiniLM

SAVINGS = (
    "I have savings of 20,000. Should I put them in a broad index fund or start a food truck "
    "business with a friend?"
)
CHOICES = ["Index fund", "Food truck business"]


class _NoModelPool(BackbonePool):
    def get(self, name: str):  # type: ignore[no-untyped-def]
        raise AssertionError("value-fit must not load a language model")


def _definitions() -> dict[str, Attribute]:
    out = {}
    for pack in ("triage", "schwartz", "moral_foundations"):
        for a in load_pack(pack):
            out[a.name] = Attribute(
                name=a.name, domain=a.domain, description=a.description, high=a.high, low=a.low
            )
    return out


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> DecisionService:
    import chromadb

    path: Path = tmp_path_factory.mktemp("chroma-value-fit")
    store = ExampleStore(
        chromadb.PersistentClient(path=str(path), settings=chroma_settings()), CachedMiniLM()
    )
    import_paths(
        store,
        [str(DATA / "triage"), str(DATA / "everyday" / "everyday_packs_input_output.json")],
        progress=False,
    )
    settings = load_settings(data_dir=path)
    return DecisionService(
        settings,
        _NoModelPool(settings),
        attributes=_definitions(),
        examples=store,
        embedder=CachedEmbedder(store.embed),
    )


def _decide(service: DecisionService, **kw: object):
    return service.decide(DecideRequest(scenario=SAVINGS, choices=CHOICES, **kw))  # type: ignore[arg-type]


def test_the_default_decider_follows_security_both_ways(service: DecisionService) -> None:
    high = _decide(service, target={"security": 0.9})
    low = _decide(service, target={"security": 0.1})
    assert high.algorithm == "value-fit" and high.decider == "aligned"
    assert (high.choice, low.choice) == ("Index fund", "Food truck business")
    fund = high.scores[0].attributes["security"]
    truck = high.scores[1].attributes["security"]
    assert fund > truck
    assert "security 0.90 (very high)" in high.justification
    assert SAVINGS not in high.justification  # never the question echoed


def test_stimulation_points_the_other_way(service: DecisionService) -> None:
    d = _decide(service, target={"stimulation": 0.9})
    assert d.choice == "Food truck business"


LOAN = "My brother asked me to co-sign a loan for his new car. If he misses payments my credit suffers."
LOAN_CHOICES = ["Co-sign the loan", "Tell him no and offer to help him find a cheaper car"]


def test_weak_everyday_examples_do_not_override_a_clear_definition(service: DecisionService) -> None:
    """Found in a browser check: high loyalty chose to refuse the brother, on the strength of stored
    loyalty dilemmas on other topics (the most similar: a football club), whose kernel mass (about
    1e-3) outweighed loyalty's own definition (co-signing 0.81 against 0.19) at the old prior of 1e-4."""
    kw = {"scenario": LOAN, "choices": LOAN_CHOICES}
    loyal = service.decide(DecideRequest(target={"loyalty": 0.75}, **kw))  # type: ignore[arg-type]
    assert loyal.choice == "Co-sign the loan"
    old = service.decide(
        DecideRequest(target={"loyalty": 0.75}, params={"evidence_prior_by_domain": {}}, **kw)  # type: ignore[arg-type]
    )
    assert old.choice == LOAN_CHOICES[1]  # the test fails with the old prior
    weight = loyal.extra["evidence"]["loyalty"]["example_weight"][0]
    assert weight < old.extra["evidence"]["loyalty"]["example_weight"][0] - 0.2
    # low loyalty still refuses
    assert service.decide(DecideRequest(target={"loyalty": 0.1}, **kw)).choice == LOAN_CHOICES[1]  # type: ignore[arg-type]


def test_an_attribute_held_out_of_the_examples_uses_its_definition(service: DecisionService) -> None:
    d = _decide(service, target={"security": 0.9}, holdout="attribute")
    assert d.extra["examples_retrieved"] > 0
    assert d.examples == []  # none of the retrieved examples scores security: none is shown
    assert "Most similar stored example" not in d.justification


def test_triage_high_and_low_pick_opposite_choices(service: DecisionService) -> None:
    from alignment.datasets import load_file

    record = load_file(DATA / "triage" / "oracle_moral_desert_training_input_output.json")[0]
    kw = {"scenario": record.text, "choices": record.choices, "scenario_id": record.scenario_id}
    high = service.decide(DecideRequest(target={"moral_deservingness": 1.0}, **kw))  # type: ignore[arg-type]
    low = service.decide(DecideRequest(target={"moral_deservingness": 0.0}, **kw))  # type: ignore[arg-type]
    assert high.choice_index != low.choice_index
    best = max(range(len(record.choices)), key=lambda i: record.scores[i]["moral_deservingness"])
    assert high.choice_index == best


def _suggester(service: DecisionService, tmp_path: Path) -> AppDecisions:
    store = open_store(f"sqlite:///{tmp_path / 'suggest.sqlite3'}")
    root = store.users.actor(store.users.add(None, UserCreate(name="root", role="admin")).name)
    seed(store.attributes, root)
    return AppDecisions(store, service)


def test_suggestions_come_from_the_domain_the_dilemma_belongs_to(
    service: DecisionService, tmp_path: Path
) -> None:
    app = _suggester(service, tmp_path)
    domains = {a.name: a.domain for a in app.store.attributes.list(kind="scalar")}
    savings = app.suggest_attributes(SAVINGS, CHOICES)
    assert len(savings) == 3 and {domains[s.name] for s in savings} == {"everyday"}
    assert {"security", "financial_security"} & {s.name for s in savings}
    triage = app.suggest_attributes(
        "Two soldiers are hurt after a blast and there is one tourniquet. One of them set off the blast.",
        ["Treat the soldier who set off the blast", "Treat the other soldier"],
    )
    assert len(triage) == 3 and {domains[s.name] for s in triage} == {"triage"}
