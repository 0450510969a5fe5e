"""The ALIGN input_output loader: both output shapes, score scales, clear errors."""

import json

import pytest

from alignment.datasets import load_file, parse_records
from alignment.errors import InputError
from tests.helpers.paths import DATASETS

DATA = DATASETS


def triage_record(scores=(10.0, 0.0), output=None, scene="1"):
    return {
        "input": {
            "scenario_id": "S1",
            "full_state": {"meta_info": {"scene_id": scene}},
            "state": "Two casualties. What do you do?",
            "choices": [
                {"action_id": "a0", "unstructured": "Treat A", "kdma_association": {"fairness": scores[0]}},
                {"action_id": "a1", "unstructured": "Treat B", "kdma_association": {"fairness": scores[1]}},
            ],
        },
        "output": output if output is not None else [{"choice": 1, "action": {"action_id": "a1"}}],
    }


def test_triage_shape_scores_normalised_from_0_10():
    [r] = parse_records([triage_record((7.0, 3.0))], "t.json")
    assert r.scores == [{"fairness": 0.7}, {"fairness": 0.3}]
    assert (r.oracle_choice, r.oracle_choices, r.domain) == (1, [1], "triage")
    assert (r.scenario_id, r.group_id, r.source, r.index) == ("S1/1", "S1", "t.json", 0)


def test_triage_dict_output_and_several_answers():
    [r] = parse_records([triage_record(output={"choice": 0, "action": {}})], "t.json")
    assert r.oracle_choice == 0
    [r] = parse_records([triage_record(output=[{"choice": 1}, {"choice": 0}])], "t.json")
    assert (r.oracle_choice, r.oracle_choices) == (1, [1, 0])


def test_opinionqa_shape_matches_the_action_and_keeps_0_1_scores():
    rec = {
        "input": {
            "scenario_id": "SEX_Female",
            "state": "Question: ...",
            "choices": [
                {"action_id": "9.action_0", "unstructured": "Yes", "kdma_association": {"SEX_Female": 0.25}},
                {"action_id": "9.action_1", "unstructured": "No", "kdma_association": {"SEX_Female": 1.0}},
            ],
        },
        "output": [{"action_id": "9.action_1", "unstructured": "No"}],
    }
    [r] = parse_records([rec], "o.json")
    assert r.scores == [{"SEX_Female": 0.25}, {"SEX_Female": 1.0}]
    assert (r.oracle_choice, r.domain) == (1, "opinionqa")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["input"].pop("state"), "record 1: input.state"),
        (lambda r: r["input"]["choices"].pop(), "record 1: input.choices must be a list of at least 2"),
        (
            lambda r: r["input"]["choices"][0].update(kdma_association={"fairness": "high"}),
            "record 1: choice 0",
        ),
        (lambda r: r["input"]["choices"][0].update(kdma_association={"fairness": 12.0}), "above the scale"),
        (lambda r: r.update(output=[{"choice": 5}]), "record 1: output choice 5"),
        (lambda r: r.update(output=[{"action_id": "zz"}]), "record 1: the output action matches none"),
    ],
)
def test_malformed_record_names_file_and_index(mutate, message):
    bad = triage_record()
    mutate(bad)
    with pytest.raises(InputError, match=message) as err:
        parse_records([triage_record(), bad], "bad.json")
    assert "bad.json" in str(err.value)


def test_load_file_errors(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{not json")
    with pytest.raises(InputError, match=r"x\.json: not valid JSON"):
        load_file(path)
    path.write_text(json.dumps({"a": 1}))
    with pytest.raises(InputError, match="a JSON list of records"):
        load_file(path)
    with pytest.raises(InputError, match="cannot read"):
        load_file(tmp_path / "missing.json")


def test_ids_are_stable_and_depend_on_content():
    a = parse_records([triage_record()], "t.json")[0]
    b = parse_records([triage_record()], "t.json")[0]
    c = parse_records([triage_record((9.0, 0.0))], "t.json")[0]
    assert a.example_id() == b.example_id() != c.example_id()
    assert a.to_example().id == a.example_id()


def test_shared_data_loads_with_scores_in_unit_range():
    counts: dict[str, int] = {}
    for path in sorted(DATA.glob("*/*_input_output.json")):  # everyday/ also holds attribute definitions
        records = load_file(path)
        assert len({r.scenario_id for r in records}) == len(records), path.name
        for r in records:
            assert all(0.0 <= v <= 1.0 for s in r.scores for v in s.values())
            assert r.oracle_choice is None or 0 <= r.oracle_choice < len(r.choices)
        counts[records[0].domain] = counts.get(records[0].domain, 0) + len(records)
    # everyday/: written for this project (datasets/everyday/README.md): value packs, novel values,
    # the everyday pack, moral clarity
    expected = {"triage": 90, "opinionqa": 2174, "everyday": 100 + 144 + 104}
    assert counts == expected
    fairness = load_file(DATA / "triage" / "oracle_fairness_training_input_output.json")
    assert max(v for r in fairness for s in r.scores for v in s.values()) == 1.0
