"""Retrieval holdouts (scenario, attribute, group) and example scopes on a real embedded Chroma."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alignment.datasets import load_file
from alignment.errors import InputError
from alignment.models import AlignmentTarget, Example, Scenario
from assistant.stores.chroma import chroma_settings
from assistant.stores.examples import ExampleStore
from tests.helpers.examples import DATA, CachedMiniLM

Q1 = "Question: Do you trust the national government to do what is right?"
Q1_NEAR = "Question: do you trust the national government to do what is right"  # same normalised text
Q2 = "Question: How often do you go to religious services?"
Q3 = "Question: How often do you pray outside of religious services?"
TRUST = ["Always", "Most of the time", "Never"]
SERVICES = ["Weekly", "Monthly", "Never"]


def group_example(id_: str, text: str, choices: list[str], group: str, shares: list[float]) -> Example:
    return Example(
        id=id_,
        text=text,
        choices=choices,
        scores=[{group: s} for s in shares],
        chosen=shares.index(max(shares)),
        domain="opinionqa",
        source=f"{group}_input_output.json",
        scenario_id=f"{group}/{id_}",
    )


EXAMPLES = [
    group_example("a1", Q1, TRUST, "GROUP_A", [0.2, 1.0, 0.0]),  # the query itself
    group_example("b1", Q1, TRUST, "GROUP_B", [0.0, 1.0, 0.4]),  # the same question, other groups
    group_example("c1", Q1, TRUST, "GROUP_C", [0.0, 0.3, 1.0]),
    group_example("a2", Q2, SERVICES, "GROUP_A", [1.0, 0.5, 0.0]),  # the group, another question
    group_example("b2", Q3, SERVICES, "GROUP_B", [0.0, 0.5, 1.0]),
    group_example("b3", Q1_NEAR, TRUST, "GROUP_B", [0.0, 1.0, 0.1]),  # a near-duplicate of Q1
    Example(  # scores nothing (no attributes metadata at all)
        id="n1",
        text="Question: Do you trust your local police?",
        choices=["Yes", "No"],
        domain="opinionqa",
        source="unscored.json",
        scenario_id="n/1",
    ),
    Example(  # scores the group, but in another domain
        id="t1",
        text="A medic must choose whom to trust with supplies.",
        choices=["The nurse", "The driver"],
        scores=[{"GROUP_A": 1.0}, {"GROUP_A": 0.0}],
        domain="triage",
        source="triage.json",
        scenario_id="t/1",
    ),
]

QUERY = Scenario(text=Q1, choices=TRUST, id="GROUP_A/a1", domain="opinionqa")
TARGET = AlignmentTarget(values={"GROUP_A": 1.0})


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExampleStore]:
    import chromadb

    path = tmp_path_factory.mktemp("chroma-holdout")
    client = chromadb.PersistentClient(path=str(path / "db"), settings=chroma_settings())
    store = ExampleStore(client, CachedMiniLM(), collection="holdout")
    assert store.add_examples(EXAMPLES).added == [e.id for e in EXAMPLES]
    yield store


def ids(store: ExampleStore, holdout: str, scope: str, **kw: Any) -> set[str]:
    got = store.retrieve(QUERY, TARGET, k=20, holdout=holdout, scope=scope, **kw)
    assert len(got) == len({e.id for e in got})
    return {e.id for e in got}


@pytest.mark.parametrize(
    ("holdout", "scope", "expected"),
    [
        # today's behaviour: the group's other questions, never the query nor a text like it
        ("scenario", "target", {"a2"}),
        ("scenario", "domain", {"a2", "b2", "n1"}),
        # an attribute an admin just created: nothing scores it, and the query's text stays out
        ("attribute", "target", set()),
        ("attribute", "domain", {"b2", "n1"}),
        # a group with no examples: the same question answered by the other groups is allowed
        ("group", "target", set()),
        ("group", "domain", {"b1", "c1", "b3", "b2", "n1"}),
    ],
)
def test_each_holdout_excludes_exactly_what_it_should(
    store: ExampleStore, holdout: str, scope: str, expected: set[str]
) -> None:
    assert ids(store, holdout, scope) == expected


def test_retrieved_examples_carry_their_similarity(store: ExampleStore) -> None:
    got = store.retrieve(QUERY, TARGET, k=20, holdout="group", scope="domain")
    sims = [e.similarity for e in got]
    assert all(s is not None and -1.0 <= s <= 1.0 + 1e-6 for s in sims)
    assert sims == sorted(sims, reverse=True)  # type: ignore[type-var]
    assert {e.id for e in got[:2]} == {"b1", "c1"} and got[0].similarity == pytest.approx(1.0, abs=1e-4)
    # the similarity is not part of what is stored or dumped
    stored = store.get("b1")
    assert stored.similarity is None and "similarity" not in got[0].model_dump()
    assert got[0].model_copy(update={"similarity": None}) == stored


def test_holdouts_apply_to_a_multi_attribute_target(store: ExampleStore) -> None:
    both = AlignmentTarget(values={"GROUP_A": 1.0, "GROUP_B": 0.0})
    got = store.retrieve(QUERY, both, k=20, holdout="group", scope="domain")
    assert {e.id for e in got} == {"c1", "n1"}


def test_unknown_holdout_or_scope_is_an_input_error(store: ExampleStore) -> None:
    with pytest.raises(InputError, match="holdout"):
        store.retrieve(QUERY, TARGET, holdout="everything")
    with pytest.raises(InputError, match="scope"):
        store.retrieve(QUERY, TARGET, scope="world")


def test_leave_one_group_out_on_opinionqa_files(tmp_path: Path) -> None:
    """Two groups' real files: group mode returns only the other group's answers, same question first."""
    import chromadb

    files = [DATA / "opinionqa" / f"CREGION_{region}_input_output.json" for region in ("Northeast", "South")]
    records = [r for f in files for r in load_file(f)[:40]]
    client = chromadb.PersistentClient(path=str(tmp_path / "db"), settings=chroma_settings())
    store = ExampleStore(client, CachedMiniLM(), collection="opinionqa2")
    store.add_records(records)
    mine, other = files[0].name, files[1].name
    other_texts = {r.text for r in records if r.source == other}
    query = next(r for r in records if r.source == mine and r.text in other_texts)
    group = query.attributes[0]
    scenario = query.to_scenario()
    target = AlignmentTarget(values={group: 1.0})
    got = store.retrieve(scenario, target, k=5, holdout="group", scope="domain")
    assert got and all(e.source == other and group not in {a for s in e.scores for a in s} for e in got)
    assert got[0].text == query.text  # the same question, answered by the other group
    default = store.retrieve(scenario, target, k=5)
    assert default and all(e.source == mine and e.text != query.text for e in default)
    assert all(
        e.text != query.text and e.source == other
        for e in store.retrieve(scenario, target, k=5, holdout="attribute", scope="domain")
    )
