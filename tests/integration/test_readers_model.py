"""The reader record end to end: DecisionService + a real Chroma store + MiniLM + the embedded model.

On MVP2.RA4 (a courier that may deliver blood in 3 or in 11 days, or one guaranteed in 7) value-fit
alone reads risk aversion backwards; the committed record (datasets/readers.json) says the model's
ratings follow risk aversion better on the other stored triage scenarios, so the default decider asks
them for a triage decision. That record was measured on triage only: on an everyday dilemma (an
inheritance kept in savings or put into a friend's bar) the model is never asked, value-fit reads risk
aversion, and the decision follows the value both ways.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from alignment.backbone import Backbone
from alignment.datasets import load_file
from alignment.models import Attribute
from assistant.backbones import BackbonePool
from assistant.cli.examples import import_paths
from assistant.cli.setup import everyday_example_files
from assistant.decisions.reader_file import load_reader_record
from assistant.decisions.service import DecideRequest, DecisionService
from assistant.settings import BackboneConfig, load_settings
from assistant.stores.chroma import chroma_settings
from assistant.stores.embedding import CachedEmbedder
from assistant.stores.examples import ExampleStore
from profiles.seed import load_pack
from tests.helpers.examples import DATA, CachedMiniLM
from tests.helpers.paths import DATASETS

RECORD = DATASETS / "readers.json"


class _Pool(BackbonePool):
    def __init__(self, settings, backbone: Backbone) -> None:  # type: ignore[no-untyped-def]
        super().__init__(settings)
        self.backbone = backbone

    def get(self, name: str) -> Backbone:
        assert name == "embedded"
        return self.backbone


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ExampleStore:
    import chromadb

    path: Path = tmp_path_factory.mktemp("chroma-readers")
    store = ExampleStore(
        chromadb.PersistentClient(path=str(path), settings=chroma_settings()), CachedMiniLM()
    )
    # as `align setup` seeds it: triage and the everyday packs' example decisions
    import_paths(store, [str(DATA / "triage"), *map(str, everyday_example_files(DATA))], progress=False)
    return store


def _service(
    store: ExampleStore, pool_backbone: Backbone | None, tmp_path: Path, **settings_kw
) -> DecisionService:  # type: ignore[no-untyped-def]
    settings = load_settings(data_dir=tmp_path, **settings_kw)
    definitions = {
        a.name: Attribute(name=a.name, description=a.description, high=a.high, low=a.low)
        for a in load_pack("triage")
    }
    pool = _Pool(settings, pool_backbone) if pool_backbone is not None else BackbonePool(settings)
    return DecisionService(
        settings,
        pool,
        attributes=definitions,
        examples=store,
        embedder=CachedEmbedder(store.embed),
        readers=load_reader_record(RECORD),
    )


def _courier() -> dict:
    record = next(
        r
        for r in load_file(DATA / "triage" / "oracle_risk_aversion_training_input_output.json")
        if "RA4" in r.scenario_id
    )
    best_high = max(range(len(record.choices)), key=lambda i: record.scores[i]["risk_aversion"])
    return {
        "scenario": record.text,
        "choices": record.choices,
        "scenario_id": record.scenario_id,
        "domain": "triage",
        "best": best_high,
    }


def test_the_default_decider_asks_the_model_for_the_value_it_reads_better(
    store: ExampleStore, embedded_backbone: Backbone, tmp_path: Path
) -> None:
    service = _service(store, embedded_backbone, tmp_path)
    item = _courier()
    best = item.pop("best")
    high = service.decide(DecideRequest(target={"risk_aversion": 1.0}, **item))
    low = service.decide(DecideRequest(target={"risk_aversion": 0.0}, **item))
    assert high.extra["readers"] == {"risk_aversion": "regression"} and high.backbone == "embedded"
    assert (high.choice_index, low.choice_index) == (best, 1 - best)
    assert "was rated by the language model" in high.justification
    assert high.extra["reader_record"]["risk_aversion"]["decisions"] == 14  # RA4 left out
    # value-fit named as the algorithm reads alone, and reads this one backwards
    alone = service.decide(DecideRequest(target={"risk_aversion": 1.0}, algorithm="value-fit", **item))
    assert "readers" not in alone.extra and alone.choice_index != best
    # a value held out of the store has no record of its own: value-fit reads it
    held = service.decide(DecideRequest(target={"risk_aversion": 1.0}, holdout="attribute", **item))
    assert "readers" not in held.extra
    # fairness: value-fit is right more often on its other scenarios, so the model is not asked;
    # utilitarianism: the model leads by 6 to 4 decisions, which chance gives often (p = 0.38)
    fair = service.decide(DecideRequest(target={"fairness": 1.0, "utilitarianism": 1.0}, **item))
    assert "readers" not in fair.extra


def test_a_backbone_that_is_down_leaves_value_fits_decision_with_a_note(
    store: ExampleStore, tmp_path: Path
) -> None:
    # a real OpenAI-compatible backbone, named like the record's, pointed at a port nothing listens on
    down = {
        "embedded": BackboneConfig(
            type="openai", base_url="http://127.0.0.1:9/v1", model="x", timeout_s=5, max_retries=0
        )
    }
    service = _service(store, None, tmp_path, backbones=down)
    item = _courier()
    item.pop("best")
    d = service.decide(DecideRequest(target={"risk_aversion": 1.0}, **item))
    assert "readers" not in d.extra and "127.0.0.1" in d.extra["rating_error"]
    assert "127.0.0.1" not in d.justification  # the error's words are for an operator
    assert (
        "did not answer" in d.justification
        and "every value was read from examples and definitions" in d.justification
    )


def test_use_readers_off_reads_every_value_with_value_fit(store: ExampleStore, tmp_path: Path) -> None:
    class _NoModel(BackbonePool):
        def get(self, name: str) -> Backbone:
            raise AssertionError("no model may be asked with use_readers off")

    settings = load_settings(data_dir=tmp_path, use_readers=False)
    service = DecisionService(
        settings,
        _NoModel(settings),
        examples=store,
        embedder=CachedEmbedder(store.embed),
        readers=load_reader_record(RECORD),
    )
    item = _courier()
    item.pop("best")
    d = service.decide(DecideRequest(target={"risk_aversion": 1.0}, **item))
    assert "readers" not in d.extra


INHERITANCE = (
    "You inherited 15,000: keep it in a savings account, or put all of it into a friend's new bar that "
    "could double it or lose it all."
)
SAVINGS, BAR = "Keep it in a savings account", "Put all of it into the friend's new bar"


class _NoModel(BackbonePool):
    def get(self, name: str) -> Backbone:
        raise AssertionError("the model was asked for a value its record was not measured on")


EVERYDAY_PACKS = ("everyday", "moral_foundations", "schwartz")


def _service_without_model(store: ExampleStore, tmp_path: Path, packs: tuple[str, ...]) -> DecisionService:
    """The decision service on the attributes of ``packs`` (each in its domain), with the reader
    record, whose model may not be asked (``_NoModel``)."""
    settings = load_settings(data_dir=tmp_path)
    definitions = {
        a.name: Attribute(name=a.name, description=a.description, high=a.high, low=a.low, domain=a.domain)
        for pack in packs
        for a in load_pack(pack)
    }
    return DecisionService(
        settings,
        _NoModel(settings),
        attributes=definitions,
        examples=store,
        embedder=CachedEmbedder(store.embed),
        readers=load_reader_record(RECORD),
    )


@pytest.mark.parametrize("domain", [None, "everyday"])  # `align decide` names none; an everyday chat does
def test_risk_aversion_on_an_everyday_dilemma_is_read_by_value_fit_both_ways(
    store: ExampleStore, tmp_path: Path, domain: str | None
) -> None:
    record = load_reader_record(RECORD)
    assert record is not None and {o.domain for o in record.outcomes if o.attribute == "risk_aversion"} == {
        "triage"
    }
    # the default decider must not ask the model: the record is triage's
    service = _service_without_model(store, tmp_path, ("triage",))
    chosen = {}
    for value in (0.95, 0.05):
        d = service.decide(
            DecideRequest(
                scenario=INHERITANCE, choices=[SAVINGS, BAR], target={"risk_aversion": value}, domain=domain
            )
        )
        assert d.algorithm == "value-fit" and "readers" not in d.extra and "rating_error" not in d.extra
        # no claim from the triage record, and the reading says what it rests on, in words
        assert "chose as the value asks" not in d.justification and "language model" not in d.justification
        assert "what your values mean" in d.justification or "weak evidence" in d.justification
        chosen[value] = d.choice
    assert chosen == {0.95: SAVINGS, 0.05: BAR}


def test_a_value_with_no_stored_everyday_decisions_is_said_to_rest_on_weak_evidence(
    store: ExampleStore, tmp_path: Path
) -> None:
    service = _service_without_model(store, tmp_path, ("triage", "schwartz"))
    d = service.decide(
        DecideRequest(
            scenario=INHERITANCE,
            choices=[SAVINGS, BAR],
            target={"risk_aversion": 0.95, "security": 0.9},
            domain="everyday",
        )
    )
    # security rests on the everyday packs' stored decisions; risk aversion has none in everyday life
    weights = {a: max(v["example_weight"]) for a, v in d.extra["evidence"].items()}
    assert weights["security"] > 0.5 and weights["risk_aversion"] < 0.05
    assert d.choice == SAVINGS and "readers" not in d.extra
    sentence = next(s for s in d.justification.split(". ") if s.startswith("Risk aversion was read"))
    assert "what the value means alone" in sentence and "weak evidence" in sentence
    assert not any(c.isdigit() for c in sentence)
    assert "Security was read" not in d.justification


WALLET = [
    ("I found a wallet with 300 dollars and the owner's ID. Keep it or return it?", "Return it", "Keep it"),
    (
        "Walking home I find a wallet on the pavement: 300 dollars in cash and the owner's ID card. "
        "What should I do?",
        "Hand it in to the police with the money",
        "Keep the money",
    ),
]


@pytest.mark.parametrize("wording", range(len(WALLET)))
def test_the_found_wallet_is_returned_for_an_honest_person_and_kept_for_a_dishonest_one(
    store: ExampleStore, tmp_path: Path, wording: int
) -> None:
    """The default decider on the everyday values pack, in both orders of the options."""
    # no everyday record: value-fit reads every value, no model is loaded
    service = _service_without_model(store, tmp_path, EVERYDAY_PACKS)
    scenario, give_back, keep = WALLET[wording]
    for choices in ([give_back, keep], [keep, give_back]):
        for target, expected in (
            ({"honesty": 0.9}, give_back),
            ({"honesty": 0.9, "kindness": 0.8, "fair_play": 0.8}, give_back),
            ({"honesty": 0.1}, keep),
        ):
            d = service.decide(
                DecideRequest(scenario=scenario, choices=choices, target=target, domain="everyday")
            )
            assert d.choice == expected, (target, choices, d.extra["evidence"])


def _share(d, value: str) -> float:  # type: ignore[no-untyped-def]
    weights = d.extra["evidence"][value]["example_weight"]
    return sum(weights) / len(weights)


def test_with_the_nearest_rule_far_stored_decisions_count_less_and_the_decision_is_less_sure(
    store: ExampleStore, tmp_path: Path
) -> None:
    """value-fit on the real store and MiniLM, the nearest rule turned on (it is off by default): the
    found wallet has stored honesty decisions near it (money found or handed back), a choice of paint
    colour has none. The examples' share of honesty's estimate follows the nearest stored decision,
    not the mass of the 40 retrieved, and the confidence says how much the decision rests on them."""
    service = _service_without_model(store, tmp_path, EVERYDAY_PACKS)
    scenario, give_back, keep = WALLET[0]
    paint = ("Which colour should I paint the garden shed?", ["Dark green", "Light blue"])
    rule = {"nearest_half_by_domain": {"everyday": 1e-3}}

    def decide(text: str, choices: list[str], **params):  # type: ignore[no-untyped-def]
        return service.decide(
            DecideRequest(
                scenario=text, choices=choices, target={"honesty": 0.9}, domain="everyday", params=params
            )
        )

    near, far = decide(scenario, [give_back, keep], **rule), decide(*paint, **rule)
    assert _share(near, "honesty") > 0.5 > _share(far, "honesty")
    assert near.confidence is not None and far.confidence is not None
    assert far.confidence < near.confidence
    nearest = far.extra["evidence"]["honesty"]["nearest"]
    assert far.extra["evidence"]["honesty"]["example_weight"] == pytest.approx(
        [k / (k + 1e-3) for k in nearest], abs=1e-3
    )
    # the default (the mass rule) lets the 40 far examples count for more
    default = decide(*paint)
    assert _share(default, "honesty") > _share(far, "honesty")
    assert far.confidence < (default.confidence or 0.0)


def test_the_norm_reader_reads_honesty_as_keeping_norms_on_the_found_wallet(
    store: ExampleStore, tmp_path: Path
) -> None:
    """With the norm reader on (it is off by default: it did not help on the development files), honesty's
    own high and low texts turn it toward keeping norms, and the wallet is still handed back; a value
    about holidays gets next to nothing from it."""
    service = _service_without_model(store, tmp_path, EVERYDAY_PACKS)
    scenario, give_back, keep = WALLET[1]
    params = {"norm_share_by_domain": {"everyday": 0.5}}
    for target, expected in (({"honesty": 0.9}, give_back), ({"honesty": 0.1}, keep)):
        d = service.decide(
            DecideRequest(
                scenario=scenario, choices=[give_back, keep], target=target, domain="everyday", params=params
            )
        )
        assert d.choice == expected
        honesty = d.extra["evidence"]["honesty"]
        assert honesty["norm_weight"] > 0
        assert honesty["norms"][0] > honesty["norms"][1], "handing the wallet in keeps the norm"
    trip = service.decide(
        DecideRequest(
            scenario="Where should we go on holiday?",
            choices=["A beach resort", "A city tour"],
            target={"adventure": 0.9},
            domain="everyday",
            params=params,
        )
    )
    assert trip.extra["evidence"]["adventure"].get("norm_weight", 0.0) < 0.1
