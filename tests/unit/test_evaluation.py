"""The evaluation harness on a scripted backbone: items, resume, outputs (pure logic + files)."""

import json
from pathlib import Path

import pytest

from alignment.errors import InputError
from alignment.evaluation import parse_targets_spec
from alignment.fake import FakeBackbone
from assistant.backbones import BackbonePool
from assistant.decisions.service import DecisionService
from assistant.evaluation.runner import EvalConfig, load_items, read_results, run_evaluation
from assistant.settings import Settings

DATA = Path(__file__).resolve().parents[2] / "datasets"
FAIRNESS = DATA / "triage" / "oracle_fairness_training_input_output.json"
FEMALE = DATA / "opinionqa" / "SEX_Female_input_output.json"


def always_first(request, k):
    return {"reasoning": "first is best", "choice": "A"}


def service(tmp_path, replies=always_first):
    settings = Settings(data_dir=tmp_path / "data")
    pool = BackbonePool(settings)
    pool.add(FakeBackbone(replies, name="embedded"))
    return DecisionService(settings, pool)


def test_items_high_low_for_triage_and_group_for_opinionqa(tmp_path):
    items, _skipped = load_items(
        EvalConfig(data=[FAIRNESS, FEMALE], algorithms=["persona"], limit=2, out=tmp_path)
    )
    triage = [i for i in items if i.source == FAIRNESS.name]
    opinion = [i for i in items if i.source == FEMALE.name]
    # each triage record carries fairness and utilitarianism -> 2 attributes x high/low
    assert {(i.attribute, i.direction) for i in triage} >= {("fairness", "high"), ("fairness", "low")}
    assert all(i.target[i.attribute] == (1.0 if i.direction == "high" else 0.0) for i in triage)
    assert {i.direction for i in opinion} == {"group"} and all(
        i.target == {"SEX_Female": 1.0} for i in opinion
    )


def test_run_writes_outputs_and_baselines(tmp_path):
    out = tmp_path / "run"
    config = EvalConfig(data=[FAIRNESS], algorithms=["persona"], limit=3, out=out, seed=1)
    summary = run_evaluation(service(tmp_path), config, progress=False)
    algorithms = {r["algorithm"] for r in summary["runs"]}
    assert algorithms == {"unaligned", "random", "persona"}
    for name in ("results.jsonl", "summary.json", "summary.md", "accuracy.png"):
        assert (out / name).stat().st_size > 0
    rows = read_results(out / "results.jsonl")
    items = len(load_items(config)[0])
    assert len(rows) == 3 * items
    # choice A always: the accuracy equals the share of items where A is among the closest
    persona = next(r for r in summary["runs"] if r["algorithm"] == "persona")
    expected = sum(1 for r in rows if r.algorithm == "persona" and r.correct) / items
    assert persona["overall"]["accuracy"]["mean"] == pytest.approx(expected)
    assert "| persona | embedded |" in (out / "summary.md").read_text()


def test_resume_never_counts_twice_and_cuts_torn_lines(tmp_path):
    out = tmp_path / "run"
    config = EvalConfig(data=[FAIRNESS], algorithms=["persona"], limit=2, out=out)
    run_evaluation(service(tmp_path), config, progress=False)
    lines = (out / "results.jsonl").read_text().splitlines(keepends=True)
    # simulate a crash: keep half the lines and a torn last line
    (out / "results.jsonl").write_text("".join(lines[: len(lines) // 2]) + lines[-1][:20])
    with pytest.raises(InputError, match="--resume"):
        run_evaluation(service(tmp_path), config, progress=False)
    fake_calls = []

    def counting(request, k):
        fake_calls.append(k)
        return always_first(request, k)

    summary = run_evaluation(
        service(tmp_path, counting), config.model_copy(update={"resume": True}), progress=False
    )
    rows = read_results(out / "results.jsonl")
    assert len(rows) == len(lines) and len({r.key for r in rows}) == len(rows)
    assert 0 < len(fake_calls) < len(lines)  # only the missing items were run again
    assert sum(r["overall"]["n"] for r in summary["runs"]) == len(lines)


def test_backbone_errors_are_recorded_not_fatal(tmp_path):
    out = tmp_path / "run"
    config = EvalConfig(data=[FAIRNESS], algorithms=["persona"], limit=1, out=out)
    summary = run_evaluation(service(tmp_path, lambda r, k: "garbage"), config, progress=False)
    persona = next(r for r in summary["runs"] if r["algorithm"] == "persona")
    assert persona["errors"] > 0 and persona["overall"]["n"] == 0
    random_run = next(r for r in summary["runs"] if r["algorithm"] == "random")
    assert random_run["errors"] == 0 and random_run["overall"]["n"] > 0


def test_targets_spec():
    assert parse_targets_spec("high,low") == {"high": 1.0, "low": 0.0}
    assert parse_targets_spec("a=0.9, b=0.2") == {"a": 0.9, "b": 0.2}
    with pytest.raises(ValueError, match=r"target 'a=3': the value must be in \[0, 1\]"):
        parse_targets_spec("a=3")
    with pytest.raises(ValueError, match="target 'sideways': use high, low, or NAME=VALUE"):
        parse_targets_spec("sideways")


def test_summary_json_is_valid(tmp_path):
    out = tmp_path / "run"
    run_evaluation(
        service(tmp_path), EvalConfig(data=[FEMALE], algorithms=["persona"], limit=3, out=out), progress=False
    )
    data = json.loads((out / "summary.json").read_text())
    persona = next(r for r in data["runs"] if r["algorithm"] == "persona")
    assert persona["overall"]["top_answer_rate"]["n"] == persona["overall"]["n"]
