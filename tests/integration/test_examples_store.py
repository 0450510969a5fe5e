"""The example store on a real Chroma (embedded and a `chroma run` server) and the real embedder."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from alignment.datasets import load_file
from alignment.errors import InputError, NotFound
from alignment.examples import normalize_for_match
from alignment.models import AlignmentTarget, Scenario
from assistant.cli.examples import import_paths
from assistant.stores.chroma import chroma_settings
from assistant.stores.examples import ExampleStore
from tests.helpers.examples import DATA, CachedMiniLM, ChromaServer

ALL_FILES = sorted([*DATA.glob("triage/*.json"), *DATA.glob("opinionqa/*.json")])
TRIAGE = 90
OPINIONQA = 2174


@pytest.fixture(scope="module", params=["embedded", "server"])
def chroma(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import chromadb

    path = tmp_path_factory.mktemp(f"chroma-{request.param}")
    if request.param == "embedded":
        yield chromadb.PersistentClient(path=str(path / "db"), settings=chroma_settings())
        return
    server = ChromaServer(path / "db")
    server.start()
    try:
        yield chromadb.HttpClient(host=server.host, port=server.port, settings=chroma_settings())
    finally:
        server.stop()


@pytest.fixture(scope="module")
def store(chroma: Any) -> ExampleStore:
    """A store holding all of ../shared/data (imported once per backend)."""
    store = ExampleStore(chroma, CachedMiniLM(), collection="examples_all")
    report = import_paths(store, [str(DATA / "triage"), str(DATA / "opinionqa")], progress=False)
    assert report["added"] == TRIAGE + OPINIONQA
    assert report["per_domain"] == {"triage": TRIAGE, "opinionqa": OPINIONQA}
    return store


def test_import_counts_and_idempotence(store: ExampleStore) -> None:
    assert store.count() == TRIAGE + OPINIONQA
    again = import_paths(store, [str(p) for p in ALL_FILES], progress=False)
    assert (again["added"], again["present"], again["per_domain"]) == (0, TRIAGE + OPINIONQA, {})
    assert store.count() == TRIAGE + OPINIONQA
    counts = store.counts()
    assert counts["domain"] == {"triage": TRIAGE, "opinionqa": OPINIONQA}
    assert counts["source"]["oracle_utilitarianism_training_input_output.json"] == 21


def test_stored_example_round_trips(store: ExampleStore) -> None:
    record = load_file(DATA / "triage" / "oracle_moral_desert_training_input_output.json")[4]
    example = store.get(record.example_id())
    assert example == record.to_example()
    assert all(0.0 <= v <= 1.0 for s in example.scores for v in s.values())


def test_retrieval_never_returns_the_query_scenario(store: ExampleStore) -> None:
    rng = random.Random(7)
    records = [r for p in ALL_FILES for r in load_file(p)]
    sample = [r for r in records if r.domain == "triage"] + rng.sample(
        [r for r in records if r.domain == "opinionqa"], 40
    )
    for record in sample:
        hits = store.search(
            record.text,
            k=5,
            domain=record.domain,
            attributes=record.attributes,
            exclude_scenario_id=record.scenario_id,
        )
        assert hits, record.scenario_id
        for hit in hits:
            assert hit.example.scenario_id != record.scenario_id
            assert normalize_for_match(hit.example.text) != normalize_for_match(record.text)
            assert hit.similarity < 0.97
            assert hit.example.domain == record.domain
            assert {a for s in hit.example.scores for a in s} & set(record.attributes)
    # without leave-one-out the query's own record comes first: the exclusion is what removes it
    record = sample[0]
    top = store.search(record.text, k=1, exclude_near_duplicates=False)[0]
    assert normalize_for_match(top.example.text) == normalize_for_match(record.text)
    assert top.similarity > 0.99


def test_near_identical_text_is_left_out(store: ExampleStore) -> None:
    record = load_file(DATA / "triage" / "oracle_risk_aversion_training_input_output.json")[2]
    variant = "  " + record.text.upper().replace(".", " .") + " "  # same words, other case/spacing
    hits = store.search(variant, k=10, domain="triage")
    assert all(normalize_for_match(h.example.text) != normalize_for_match(record.text) for h in hits)


def test_filters_by_domain_and_attribute(store: ExampleStore) -> None:
    hits = store.search("Do you trust the government?", k=8, domain="opinionqa", attributes=["SEX_Female"])
    assert len(hits) == 8
    assert all(h.example.domain == "opinionqa" and "SEX_Female" in h.example.scores[0] for h in hits)
    hits = store.search("Do you trust the government?", k=5, domain="triage")
    assert hits and all(h.example.domain == "triage" for h in hits)
    hits = store.search("A medic must choose", k=20, attributes=["fairness", "risk_aversion"])
    assert hits and all(
        {"fairness", "risk_aversion"} & {a for s in h.example.scores for a in s} for h in hits
    )
    assert store.search("anything", k=3, attributes=["no_such_attribute"]) == []


def test_retrieve_for_a_decision_and_mmr(store: ExampleStore) -> None:
    record = load_file(DATA / "triage" / "oracle_fairness_training_input_output.json")[2]
    scenario = Scenario(text=record.text, choices=record.choices, id=record.scenario_id, domain="triage")
    examples = store.retrieve(scenario, AlignmentTarget(values={"fairness": 0.8}), k=3)
    assert len(examples) == 3 and all(e.scenario_id != record.scenario_id for e in examples)
    diverse = store.retrieve(scenario, AlignmentTarget(values={"fairness": 0.8}), k=3, mmr_lambda=0.3)
    assert len(diverse) == 3 and len({e.id for e in diverse}) == 3
    assert len({normalize_for_match(e.text) for e in diverse}) == 3


def test_malformed_file_leaves_the_store_unchanged(store: ExampleStore, tmp_path: Any) -> None:
    data = json.loads((DATA / "opinionqa" / "SEX_Female_input_output.json").read_text())[:30]
    for r in data:
        r["input"]["state"] = "Edited copy: " + r["input"]["state"]
    data[17]["input"]["choices"][1]["kdma_association"] = {"SEX_Female": "a lot"}
    bad = tmp_path / "broken_input_output.json"
    bad.write_text(json.dumps(data))
    good = tmp_path / "good_input_output.json"
    good.write_text(json.dumps(data[:5]))
    before = store.count()
    with pytest.raises(InputError, match=r"broken_input_output\.json record 17"):
        import_paths(store, [str(good), str(bad)], progress=False)
    assert store.count() == before  # not even the good file: every file is checked first


def test_failure_while_adding_rolls_back(
    store: ExampleStore, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    originals = [
        r
        for name in ("RACE_White", "RELIG_Protestant")
        for r in load_file(DATA / "opinionqa" / f"{name}_input_output.json")
    ]
    records = [r.model_copy(update={"text": f"Rollback copy {i}: {r.text}"}) for i, r in enumerate(originals)]
    assert len(records) > 256  # two chunks: the first is stored before the second fails
    before = store.count()
    calls = {"n": 0}
    real_embed = store.embed

    def failing_embed(texts: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real_embed(texts)

    monkeypatch.setattr(store, "embed", failing_embed)
    with pytest.raises(RuntimeError, match="disk full"):
        store.add_records(records)
    assert calls["n"] == 2
    assert store.count() == before


def test_delete_by_id_and_source(store: ExampleStore, tmp_path: Any) -> None:
    data = json.loads((DATA / "triage" / "oracle_protocol_focus_training_input_output.json").read_text())
    for r in data:
        r["input"]["state"] = "Delete-me copy: " + r["input"]["state"]
    path = tmp_path / "delete_me_input_output.json"
    path.write_text(json.dumps(data))
    before = store.count()
    report = import_paths(store, [str(path)], progress=False)
    assert report["added"] == 3 and store.count() == before + 3
    first = load_file(path)[0].example_id()
    assert store.delete([first]) == [first]
    with pytest.raises(NotFound, match=f"no example with id '{first}'; see `align examples list`"):
        store.get(first)
    with pytest.raises(NotFound, match=f"no example with id {first}; see `align examples list`"):
        store.delete([first])
    assert len(store.delete_source("delete_me_input_output.json")) == 2
    assert store.count() == before
