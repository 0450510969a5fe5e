import json

from alignment.fake import FakeBackbone
from assistant.backbones import BackbonePool
from assistant.decisions.compare import CompareColumn, CompareRequest, Comparison, compare
from assistant.decisions.service import DecisionService
from assistant.settings import Settings


def make_service(tmp_path):
    settings = Settings(data_dir=tmp_path)
    pool = BackbonePool(settings)

    def reply(request, k):  # persona (has a fairness line) picks B, unaligned picks A
        return {"reasoning": "r", "choice": "B" if "fairness" in request.messages[0].content else "A"}

    pool.add(FakeBackbone(reply, name="embedded"))
    return DecisionService(settings, pool)


def test_columns_run_and_disagreement_is_marked(tmp_path):
    request = CompareRequest(
        scenario="Two patients, one kit.",
        choices=["soldier", "civilian"],
        columns=[
            CompareColumn(algorithm="persona", targets={"fairness": 0.9}),
            CompareColumn(algorithm="persona", profile="fair-me"),
            CompareColumn(algorithm="unaligned"),
            CompareColumn(algorithm="no-such-thing"),
        ],
        seed=1,
    )
    result = compare(
        make_service(tmp_path),
        request,
        lambda c: c.targets or ({"fairness": 0.8} if c.profile == "fair-me" else None),
    )
    assert [r.decision.choice if r.decision else None for r in result.results] == [
        "civilian",
        "civilian",
        "soldier",
        None,
    ]
    assert [r.disagrees for r in result.results] == [False, False, True, False]
    assert "unknown algorithm 'no-such-thing'" in result.results[3].error
    assert not result.agreement and result.majority_choice == "civilian"
    exported = json.loads(result.model_dump_json())  # the JSON export carries every column back
    assert Comparison.model_validate(exported) == result
    assert [r["label"] for r in exported["results"]] == [
        "persona · default · fairness=0.9",
        "persona · default · fair-me",
        "unaligned · default · no target",
        "no-such-thing · default · no target",
    ]
    assert (
        exported["results"][0]["decision"]["choice"] == "civilian"
        and exported["majority_choice"] == "civilian"
    )


def test_column_count_limits(tmp_path):
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"columns\n  List should have at least 2 items"):
        CompareRequest(scenario="x", choices=["a", "b"], columns=[CompareColumn()])
    with pytest.raises(ValidationError, match=r"columns\n  List should have at most 6 items"):
        CompareRequest(scenario="x", choices=["a", "b"], columns=[CompareColumn()] * 7)


def test_columns_stop_once_the_asker_is_gone(tmp_path):
    """The columns run in other threads, within the asker's check: once the asker went away, every
    column stops at its model call (none is made) and the comparison ends in TurnCancelled."""
    import threading

    import pytest

    from assistant.decisions import cancel

    calls: list[str] = []
    asked_in: set[str] = set()

    def reply(request, k):
        calls.append(threading.current_thread().name)
        return {"reasoning": "r", "choice": "A"}

    settings = Settings(data_dir=tmp_path)
    pool = BackbonePool(settings)
    pool.add(FakeBackbone(reply, name="embedded"))
    service = DecisionService(settings, pool)

    def gone() -> bool:
        asked_in.add(threading.current_thread().name)
        return True

    request = CompareRequest(
        scenario="Two patients, one kit.",
        choices=["soldier", "civilian"],
        columns=[CompareColumn(algorithm="persona", targets={"fairness": 0.9})] * 3,
    )
    here = threading.current_thread().name
    with cancel.asking(gone), pytest.raises(cancel.TurnCancelled):
        compare(service, request, lambda c: c.targets)
    assert calls == []
    assert asked_in - {here}  # asked in the columns' own threads
    # the asker still there: the same comparison runs every column
    with cancel.asking(lambda: False):
        result = compare(service, request, lambda c: c.targets)
    assert len(calls) == 3 and [r.decision.choice for r in result.results] == ["soldier"] * 3
