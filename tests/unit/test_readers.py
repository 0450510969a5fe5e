"""Reader record: built from eval results, chosen per value with the decision's scenario left out,
and the two readers' estimates combined (pure logic; the real backbone is in the integration test)."""

from __future__ import annotations

import pytest

from alignment.models import AlignmentTarget, Attribute, ChoiceScore, Decision
from alignment.readers import (
    ReaderOutcome,
    ReaderRecord,
    combine_readers,
    preferred_readers,
    record_from_results,
    sign_test,
    tally,
)


def _row(
    alg: str, scenario: str, attr: str, direction: str, correct: bool, backbone: str = "embedded"
) -> dict:
    return {
        "item_id": f"f.json:{scenario}:{attr}:{direction}",
        "algorithm": alg,
        "backbone": "none" if alg == "value-fit" else backbone,
        "source": "f.json",
        "attribute": attr,
        "direction": direction,
        "choice_index": 0,
        "correct": correct,
    }


def test_record_from_results_tallies_each_reader_per_scenario_and_needs_both():
    rows = [
        _row("value-fit", "S1/1", "risk", "high", True),
        _row("value-fit", "S1/1", "risk", "low", False),
        _row("regression", "S1/1", "risk", "high", True),
        _row("regression", "S1/1", "risk", "low", True),
        _row("value-fit", "S2:odd/1", "risk", "high", True),  # only one reader: left out
        _row("regression", "S3/1", "risk", "high", True, backbone="other"),  # another backbone
        _row("value-fit", "S3/1", "risk", "high", True),
        _row("random", "S1/1", "risk", "high", True),
        _row("aligned", "S1/1", "risk", "high", False) | {"decider": "aligned"},  # the default decider
    ]
    record = record_from_results(rows, "embedded", domain="triage")
    got = {(o.scenario_id, o.direction): o.right for o in record.outcomes}
    assert got == {
        ("S1/1", "high"): {"value-fit": True, "regression": True},
        ("S1/1", "low"): {"value-fit": False, "regression": True},
    }


def test_record_from_results_rejects_ids_that_do_not_name_the_item():
    row = _row("value-fit", "S1", "risk", "high", True) | {"item_id": "nonsense"}
    with pytest.raises(ValueError, match="does not name"):
        record_from_results([row], "embedded", domain="triage")


def _record(vf: list[int], reg: list[int], attribute: str = "risk") -> ReaderRecord:
    """One scenario per entry, each with 2 decisions (high, low): entry = how many were right (the
    first ones); each scenario's decisions are paired, so leads show as decisions only one got right."""
    outcomes = []
    for i, (a, b) in enumerate(zip(vf, reg, strict=True)):
        for k, direction in enumerate(("high", "low")):
            right = {"value-fit": k < a, "regression": k < b}
            outcomes.append(
                ReaderOutcome(attribute=attribute, scenario_id=f"S{i}", direction=direction, right=right)
            )
    return ReaderRecord(backbone="embedded", outcomes=outcomes)


def test_the_sign_test_is_the_exact_binomial_tail():
    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 0) == pytest.approx(1 / 32)
    assert sign_test(12, 4) == pytest.approx(
        sum(__import__("math").comb(16, k) for k in range(12, 17)) / 2**16
    )
    assert sign_test(3, 2) == pytest.approx(0.5)


def test_the_model_reads_a_value_only_where_its_lead_elsewhere_is_unlikely_by_chance():
    record = _record(vf=[0, 0, 0, 2], reg=[2, 2, 2, 0])  # 6 decisions only the model got right, 2 the other
    assert tally(record, "risk").p_value == pytest.approx(sign_test(6, 2)) and sign_test(6, 2) > 0.05
    assert preferred_readers(record, ["risk"], domain="triage") == {}  # a lead of 6 to 2 can be chance
    # the decision's own scenario never counts: without S3, 6 to 0 (p = 1/64)
    chosen = preferred_readers(record, ["risk"], exclude_scenario="S3", domain="triage")
    assert set(chosen) == {"risk"} and chosen["risk"].right == {"value-fit": 0, "regression": 6}
    assert chosen["risk"].decisions == 6
    # value-fit ahead keeps value-fit; a value with no record (just created) keeps value-fit
    assert preferred_readers(_record(vf=[2, 2, 2, 2, 2], reg=[0] * 5), ["risk"], domain="triage") == {}
    assert preferred_readers(_record(vf=[0] * 5, reg=[2] * 5), ["honesty"], domain="triage") == {}


def test_too_few_decisions_keep_value_fit():
    assert (
        preferred_readers(_record(vf=[0, 0], reg=[2, 2]), ["risk"], domain="triage") == {}
    )  # 4 to 0: p = 1/16
    assert set(preferred_readers(_record(vf=[0, 0, 0], reg=[2, 2, 1]), ["risk"], domain="triage")) == {
        "risk"
    }  # 5 to 0


def _decision(estimates: list[dict[str, float]], target: dict[str, float], distances=None) -> Decision:
    choices = [f"option {i}" for i in range(len(estimates))]
    if distances is None:
        distances = [sum(abs(e[a] - t) for a, t in target.items()) for e in estimates]
    return Decision(
        choice_index=min(range(len(distances)), key=lambda i: distances[i]),
        choice="x",
        justification="because",
        scores=[
            ChoiceScore(index=i, choice=c, score=0.5, attributes=e)
            for i, (c, e) in enumerate(zip(choices, estimates, strict=True))
        ],
        algorithm="value-fit",
        backbone="none",
        target=target,
        extra={"distances": distances, "basis": "Read from two stored examples."},
    )


def test_combining_replaces_only_the_rated_values_terms_and_keeps_penalties():
    target = AlignmentTarget(
        values={"risk": 1.0, "care": 1.0},
        attributes={"risk": Attribute(name="risk", label="Risk aversion"), "care": Attribute(name="care")},
    )
    # value-fit: option 0 looks better on risk; option 1 carries a 0.1 penalty
    base = _decision(
        [{"risk": 0.9, "care": 0.5}, {"risk": 0.2, "care": 0.5}],
        target.values,
        distances=[0.1 + 0.5, 0.8 + 0.5 + 0.1],
    )
    rated = _decision([{"risk": 0.0}, {"risk": 1.0}], {"risk": 1.0})
    rated = rated.model_copy(update={"backbone": "embedded", "timings": {"total_s": 2.0}})
    base = base.model_copy(update={"timings": {"total_s": 0.5}})
    record = _record(vf=[0, 0, 0], reg=[2, 2, 2])
    tallies = preferred_readers(record, ["risk"], domain="triage")
    assert set(tallies) == {"risk"}
    out = combine_readers(base, rated, target, tallies)
    assert out.extra["distances"] == pytest.approx([1.0 + 0.5, 0.0 + 0.5 + 0.1])
    assert out.choice_index == 1 and out.choice == "option 1" and out.backbone == "embedded"
    assert out.scores[1].attributes == {"risk": 1.0, "care": 0.5}
    assert out.extra["readers"] == {"risk": "regression"}
    assert out.timings["total_s"] == 2.5 and out.timings["rated_total_s"] == 2.0
    text = out.justification
    assert (
        "Risk was rated by the language model" in text
        and "stored triage decisions it chose as the value asks 6 times in 6" in text
    )
    assert (
        "definitions 0 times" in text and "Read from two stored examples." in text
    )  # care still read by value-fit


def test_combining_decisions_about_different_options_is_an_error():
    target = AlignmentTarget(values={"risk": 1.0})
    base = _decision([{"risk": 0.9}, {"risk": 0.2}], target.values)
    rated = _decision([{"risk": 0.9}, {"risk": 0.2}, {"risk": 0.1}], target.values)
    with pytest.raises(ValueError, match="different options"):
        combine_readers(
            base, rated, target, preferred_readers(_record([0, 0, 0], [2, 2, 2]), ["risk"], domain="triage")
        )


def test_the_record_file_round_trips_merges_and_a_broken_one_says_how_to_mend_it(tmp_path):
    from alignment.errors import ConfigError
    from assistant.decisions.reader_file import load_reader_record, merge_records, save_reader_record

    path = tmp_path / "sub" / "readers.json"
    assert load_reader_record(path) is None
    old = ReaderRecord(
        backbone="embedded", outcomes=[*_record([1], [2]).outcomes, *_record([2], [0], "care").outcomes]
    )
    save_reader_record(old, path)
    assert load_reader_record(path) == old
    new = _record([0, 0], [2, 2])  # risk measured again: its outcomes replace the old ones, care's stay
    merged = merge_records(load_reader_record(path), new)
    assert sorted({(o.attribute, o.scenario_id) for o in merged.outcomes}) == [
        ("care", "S0"),
        ("risk", "S0"),
        ("risk", "S1"),
    ]
    assert merge_records(old, new.model_copy(update={"backbone": "other"})).backbone == "other"
    path.write_text('{"backbone": "embedded", "outcomes": [{"attribute": "risk"', encoding="utf-8")
    with pytest.raises(ConfigError, match="measure it again with `align readers learn"):
        load_reader_record(path)
    assert [p.name for p in path.parent.iterdir()] == ["readers.json"]  # no temporary file left behind


def test_a_reader_chosen_on_triage_reads_triage_decisions_only():
    record = _record(vf=[0, 0, 0], reg=[2, 2, 2])  # measured on triage: the model leads 6 to 0
    assert {o.domain for o in record.outcomes} == {"triage"}
    triage = preferred_readers(record, ["risk"], domain="triage")
    assert set(triage) == {"risk"} and triage["risk"].domain == "triage"
    # an everyday decision, one of no named domain and a generic one never use a triage record
    assert preferred_readers(record, ["risk"], domain="everyday") == {}
    assert preferred_readers(record, ["risk"], domain=None) == {}
    assert preferred_readers(record, ["risk"], domain="generic") == {}
    # an everyday record reads everyday decisions, not triage ones
    everyday = ReaderRecord(
        backbone="embedded",
        outcomes=[o.model_copy(update={"domain": "everyday"}) for o in record.outcomes],
    )
    assert set(preferred_readers(everyday, ["risk"], domain="everyday")) == {"risk"}
    assert preferred_readers(everyday, ["risk"], domain="triage") == {}
    # both: each domain counts its own decisions only
    both = ReaderRecord(backbone="embedded", outcomes=[*record.outcomes, *_record([2], [0]).outcomes])
    assert both.measured() == [("risk", "triage")]
    mixed = ReaderRecord(backbone="embedded", outcomes=[*record.outcomes, *everyday.outcomes])
    assert tally(mixed, "risk", domain="triage").decisions == 6
    assert tally(mixed, "risk", domain="everyday").decisions == 6


def test_an_old_record_without_domains_is_read_as_measured_on_triage(tmp_path):
    from assistant.decisions.reader_file import is_legacy_record, load_reader_record

    path = tmp_path / "readers.json"
    path.write_text(
        '{"backbone": "embedded", "outcomes": [\n'
        '{"attribute": "risk", "scenario_id": "S0", "direction": "high", '
        '"right": {"regression": true, "value-fit": false}}\n]}\n',
        encoding="utf-8",
    )
    assert is_legacy_record(path)
    record = load_reader_record(path)
    assert record is not None and [o.domain for o in record.outcomes] == ["triage"]


def test_results_name_their_domain_or_are_given_one():
    rows = [
        _row("value-fit", "S1/1", "risk", "high", True) | {"domain": "everyday"},
        _row("regression", "S1/1", "risk", "high", False) | {"domain": "everyday"},
    ]
    assert [o.domain for o in record_from_results(rows, "embedded").outcomes] == ["everyday"]
    # the row's own domain wins over the one given for rows that name none
    assert [o.domain for o in record_from_results(rows, "embedded", domain="triage").outcomes] == ["everyday"]
    bare = [{k: v for k, v in r.items() if k != "domain"} for r in rows]
    with pytest.raises(ValueError, match="which domain"):
        record_from_results(bare, "embedded")


def test_values_read_on_weak_evidence_say_so_in_words():
    from alignment.justify import weak_evidence_note

    assert weak_evidence_note([]) == ""
    one = weak_evidence_note(["risk aversion"])
    assert one.startswith("Risk aversion was read from what the value means alone")
    assert "weak evidence" in one and not any(c.isdigit() for c in one)
    two = weak_evidence_note(["risk aversion", "care"])
    assert two.startswith("Risk aversion and care were read") and "on them" in two
