"""The evaluation protocol: population baseline, distinctive items, positional bias, the dev/test split,
deciders, holdouts and resume (pure functions with hand-computed answers, and runs on a fake backbone)."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from alignment.datasets import DatasetRecord
from alignment.errors import InputError, UnknownName
from alignment.evaluation import (
    EvalItem,
    EvalResult,
    items_for_record,
    population_result,
    question_key,
    split_part,
    summarise,
    summary_markdown,
    with_population,
)
from alignment.fake import FakeBackbone
from alignment.metrics import is_distinctive, population_choice, positional_bias, top_choices
from assistant.backbones import BackbonePool
from assistant.decisions.service import DecisionService
from assistant.evaluation.runner import (
    EvalConfig,
    load_items,
    plan_runs,
    portable_path,
    read_results,
    run_evaluation,
    split_files,
)
from assistant.settings import DeciderConfig, Settings

DATA = Path(__file__).resolve().parents[2] / "datasets"
FAIRNESS = DATA / "triage" / "oracle_fairness_training_input_output.json"
OPINIONQA = DATA / "opinionqa"

# -- pure metrics ---------------------------------------------------------------------------------


def test_population_choice_sums_the_other_groups():
    # sums per choice: 0.2, 2.3, 1.4
    assert population_choice([[0.2, 1.0, 0.0], [0.0, 1.0, 0.4], [0.0, 0.3, 1.0]]) == 1
    assert population_choice([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.5]]) == 0  # 2.0, 1.0, 0.5
    assert population_choice([[1.0, 0.0], [0.0, 1.0]]) == 0  # a tie goes to the first
    assert population_choice([]) is None
    with pytest.raises(ValueError, match="every group must score the same number of choices"):
        population_choice([[1.0, 0.0], [1.0]])


def test_top_choices_and_distinctive():
    assert top_choices([0.5, 1.0, 1.0]) == [1, 2]
    assert top_choices([]) == []
    assert is_distinctive([1.0, 0.2, 0.0], 0) is False
    assert is_distinctive([0.2, 1.0, 0.0], 0) is True
    assert is_distinctive([1.0, 1.0, 0.0], 1) is False  # a tied top answer includes the population's
    assert is_distinctive([1.0, 0.0], None) is None


def test_positional_bias():
    bias = positional_bias([(0, 2), (0, 2), (1, 2), (0, 2), (2, 3), (0, 4)])
    assert bias.two_option_n == 4 and bias.two_option_counts == [3, 1]
    assert bias.most_frequent_share == 0.75
    assert bias.positions == {0: 4, 1: 1, 2: 1} and bias.n == 6
    assert positional_bias([(1, 2), (0, 2)]).most_frequent_share == 0.5
    assert positional_bias([(2, 3)]).most_frequent_share is None
    with pytest.raises(ValueError, match="chosen index 2 is out of range for 2 options"):
        positional_bias([(2, 2)])


# -- the split ------------------------------------------------------------------------------------


def test_split_part_alternates_over_sorted_names():
    names = ["c.json", "a.json", "b.json", "d.json", "e.json"]
    assert [split_part(names, n) for n in sorted(names)] == ["dev", "test", "dev", "test", "dev"]


def test_split_files_per_folder_and_for_files_given_by_name():
    triage = sorted((DATA / "triage").glob("*.json"))
    dev = [p.name for p in split_files(triage, "dev")]
    assert dev == [
        "oracle_adept_training_input_output.json",
        "oracle_fairness_training_input_output.json",
        "oracle_protocol_focus_training_input_output.json",
        "oracle_soartech_training_input_output.json",
    ]
    test = split_files(triage, "test")
    assert not set(dev) & {p.name for p in test} and len(dev) + len(test) == len(triage)
    assert split_files(triage, "all") == triage
    # a file given by itself goes where its folder puts it
    assert split_files([FAIRNESS], "dev") == [FAIRNESS] and split_files([FAIRNESS], "test") == []
    opinion = sorted(OPINIONQA.glob("*.json"))
    assert len(split_files(opinion, "dev")) == 6 and len(split_files(opinion, "test")) == 5


def test_portable_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    assert portable_path(tmp_path / "sub" / "f.json") == "sub/f.json"
    assert portable_path("sub/f.json") == "sub/f.json"
    assert portable_path(Path("/elsewhere/data/f.json")) == "f.json"


# -- population and distinctive items -------------------------------------------------------------


def record(source: str, group: str, text: str, choices: list[str], shares: list[float]) -> DatasetRecord:
    return DatasetRecord(
        source=source,
        index=0,
        scenario_id=f"{group}/1",
        group_id=group,
        domain="opinionqa",
        text=text,
        choices=choices,
        scores=[{group: s} for s in shares],
    )


YES_NO = ["Yes", "No", "Not sure"]
RECORDS = [
    record("a.json", "A", "Question: Is it fair?", YES_NO, [0.0, 1.0, 0.2]),
    record("b.json", "B", "question: is it FAIR", YES_NO, [1.0, 0.0, 0.0]),  # same normalised text
    record("c.json", "C", "Question: Is it fair?", YES_NO, [0.9, 0.6, 1.0]),
    record(
        "d.json", "D", "Question: Is it fair?", ["No", "Yes", "Not sure"], [1.0, 0.0, 0.0]
    ),  # other choices
    record("e.json", "E", "Question: Is it fine?", YES_NO, [0.0, 0.0, 1.0]),  # another question
]


def opinion_items(records=RECORDS) -> list[EvalItem]:
    return with_population([i for r in records for i in items_for_record(r)], records)


def test_question_key_normalises_the_text_not_the_choices():
    assert question_key("Question: Is it fair?", YES_NO) == question_key("question: is it FAIR", YES_NO)
    assert question_key("Question: Is it fair?", YES_NO) != question_key(
        "Question: Is it fair?", YES_NO[::-1]
    )


def test_population_and_distinctive_items():
    items = {i.source: i for i in opinion_items()}
    # A: others B + C: sums 1.9, 0.6, 1.0 -> Yes (0); A's top answer is No -> distinctive
    assert (items["a.json"].population, items["a.json"].distinctive) == (0, True)
    # B: others A + C: 0.9, 1.6, 1.2 -> No (1); B's top is Yes -> distinctive
    assert (items["b.json"].population, items["b.json"].distinctive) == (1, True)
    # C: others A + B: 1.0, 1.0, 0.2 -> tie, the first: Yes (0); C's top is Not sure -> distinctive
    assert (items["c.json"].population, items["c.json"].distinctive) == (0, True)
    # D (different choice order) and E (another question): nobody else answered
    assert (items["d.json"].population, items["d.json"].distinctive) == (None, None)
    assert (items["e.json"].population, items["e.json"].distinctive) == (None, None)


def test_population_pools_only_the_files_given():
    items = {i.source: i for i in opinion_items(RECORDS[:2])}
    assert (items["a.json"].population, items["a.json"].distinctive) == (0, True)
    agree = [
        *RECORDS[:2],
        record("f.json", "F", "Question: Is it fair?", YES_NO, [0.0, 1.0, 0.0]),
        record("g.json", "G", "Question: Is it fair?", YES_NO, [0.0, 1.0, 0.3]),
    ]
    a = next(i for i in opinion_items(agree) if i.source == "a.json")
    assert (a.population, a.distinctive) == (1, False)  # B + F + G: 1.0, 2.0, 0.3 -> No, A's answer


def test_population_result_missing_is_not_correct():
    items = {i.source: i for i in opinion_items()}
    hit = population_result(items["b.json"], "group")
    assert (hit.algorithm, hit.backbone, hit.holdout, hit.choice_index) == ("population", "none", "group", 1)
    assert hit.correct is False and hit.missing is False and hit.n_choices == 3  # B's answer is Yes
    missing = population_result(items["d.json"])
    assert missing.choice_index is None and missing.correct is False and missing.missing is True
    assert missing.graded == 0.0 and missing.valid is True


# -- summaries ------------------------------------------------------------------------------------


def result(item_id: str, algorithm: str, choice: int | None, correct: bool, n: int = 2, **kw) -> EvalResult:
    return EvalResult(
        item_id=item_id,
        algorithm=algorithm,
        backbone="none",
        source="s.json",
        attribute="A",
        direction=kw.pop("direction", "group"),
        target={"A": 1.0},
        choice_index=choice,
        correct=correct,
        valid=True,
        graded=1.0 if correct else 0.0,
        picked_top=correct,
        n_choices=n,
        **kw,
    )


def test_summary_subsets_bias_and_missing():
    rows = [
        result("q1", "random", 0, True),
        result("q2", "random", 0, False),
        result("q3", "random", 1, True),
        result("q4", "random", 0, True, n=3),
        result("t1", "random", 0, True, direction="high"),
        result("q1", "population", 0, True),
        result("q2", "population", 1, False),
        result("q3", "population", None, False, missing=True),
    ]
    summary = summarise(rows, distinctive={"q2", "q3"})
    runs = {r["algorithm"]: r for r in summary["runs"]}
    rnd = runs["random"]
    assert rnd["per_subset"]["all"]["accuracy"]["mean"] == 0.75  # q1..q4, not the triage item
    assert rnd["per_subset"]["all"]["accuracy"]["n"] == 4
    assert rnd["per_subset"]["distinctive"]["accuracy"]["mean"] == 0.5  # q2 wrong, q3 right
    assert rnd["position_bias"]["two_option_counts"] == [3, 1]  # q1, q2, t1 first; q3 second
    assert rnd["position_bias"]["most_frequent_share"] == 0.75
    assert rnd["position_bias"]["positions"] == {"0": 4, "1": 1}
    assert runs["population"]["per_subset"]["distinctive"]["accuracy"]["mean"] == 0.0
    assert runs["population"]["missing"] == 1 and summary["population_missing"] == 1
    assert runs["population"]["overall"]["n"] == 3  # the missing item counts, as not correct
    md = summary_markdown(summary)
    assert "distinctive items" in md and "Positional bias" in md and "0.75 (n=4)" in md


# -- runs: deciders, defaults, holdout, resume ----------------------------------------------------


def always_first(request, k):
    return {"reasoning": "first is best", "choice": "A"}


def make_service(tmp_path, **settings_kw) -> DecisionService:
    settings = Settings(data_dir=tmp_path / "data", **settings_kw)
    pool = BackbonePool(settings)
    pool.add(FakeBackbone(always_first, name="embedded"))
    return DecisionService(settings, pool)


DECIDERS = {
    "greedy": DeciderConfig(algorithm="persona", params={"temperature": 0.0}),
    "warm": DeciderConfig(algorithm="persona", params={"temperature": 0.7}),
}


def test_plan_runs_defaults_and_labels():
    settings = SimpleNamespace(
        default_algorithm="persona", default_backbone="embedded", deciders=DECIDERS, default_decider="warm"
    )
    out = Path("/tmp/x")
    runs = plan_runs(EvalConfig(data=[FAIRNESS], out=out), settings)
    assert [(r.label, r.algorithm, r.decider, r.backbone) for r in runs] == [
        ("unaligned", "unaligned", None, "embedded"),
        ("random", "random", None, "none"),
        ("warm", "persona", "warm", "embedded"),
    ]
    no_default = SimpleNamespace(default_algorithm="persona", default_backbone="embedded", deciders=DECIDERS)
    assert [r.label for r in plan_runs(EvalConfig(data=[FAIRNESS], out=out), no_default)][-1] == "persona"
    both = EvalConfig(data=[FAIRNESS], out=out, algorithms=["persona"], deciders=["greedy", "warm"])
    assert [r.label for r in plan_runs(both, settings)] == [
        "unaligned",
        "random",
        "persona",
        "greedy",
        "warm",
    ]
    with pytest.raises(UnknownName, match="unknown decider 'nope'; known: greedy, warm"):
        plan_runs(EvalConfig(data=[FAIRNESS], out=out, deciders=["nope"]), settings)
    clash = SimpleNamespace(**{**vars(settings), "deciders": {"random": DECIDERS["warm"]}})
    with pytest.raises(InputError, match="name of an algorithm"):
        plan_runs(EvalConfig(data=[FAIRNESS], out=out, deciders=["random"]), clash)


def test_two_deciders_of_one_algorithm_stay_apart(tmp_path):
    out = tmp_path / "run"
    config = EvalConfig(data=[FAIRNESS], deciders=["greedy", "warm"], limit=2, out=out)
    service = make_service(tmp_path, deciders=DECIDERS, default_decider="greedy")
    summary = run_evaluation(service, config, progress=False)
    runs = {r["algorithm"]: r for r in summary["runs"]}
    assert set(runs) == {"unaligned", "random", "greedy", "warm"}
    assert runs["greedy"]["decider"] == "greedy" and runs["warm"]["overall"]["n"] > 0
    assert summary["config"]["deciders"] == ["greedy", "warm"] and summary["config"]["algorithms"] == []
    rows = read_results(out / "results.jsonl")
    assert {r.algorithm for r in rows if r.decider} == {"greedy", "warm"}


def test_no_algorithm_evaluates_the_default_decider(tmp_path):
    service = make_service(tmp_path, deciders=DECIDERS, default_decider="warm")
    summary = run_evaluation(
        service, EvalConfig(data=[FAIRNESS], limit=1, out=tmp_path / "run"), progress=False
    )
    runs = {r["algorithm"]: r for r in summary["runs"]}
    assert set(runs) == {"unaligned", "random", "warm"} and runs["warm"]["decider"] == "warm"
    assert summary["config"]["deciders"] == ["warm"]


def test_a_decider_without_a_model_is_labelled_backbone_none():
    settings = SimpleNamespace(
        default_algorithm="persona",
        default_backbone="embedded",
        deciders={**DECIDERS, "fit": DeciderConfig(algorithm="value-fit")},
    )
    runs = plan_runs(EvalConfig(data=[FAIRNESS], out=Path("/tmp/x"), deciders=["fit", "warm"]), settings)
    assert [(r.label, r.backbone) for r in runs] == [
        ("unaligned", "embedded"),
        ("random", "none"),
        ("fit", "none"),
        ("warm", "embedded"),
    ]


def test_opinionqa_run_reports_population_distinctive_bias_and_relative_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(DATA.parent)
    out = tmp_path / "run"
    config = EvalConfig(
        data=sorted(Path("datasets/opinionqa").glob("*.json")),
        algorithms=["persona"],
        holdout="group",
        split="dev",
        limit=3,
        out=out,
    )
    items = load_items(config)[0]
    assert len({i.source for i in items}) == 6 and all(i.direction == "group" for i in items)
    summary = run_evaluation(make_service(tmp_path), config, progress=False)
    runs = {r["algorithm"]: r for r in summary["runs"]}
    assert set(runs) == {"unaligned", "random", "persona", "population"}
    assert summary["opinionqa"]["items"] == len(items)
    assert summary["opinionqa"]["distinctive"] == sum(1 for i in items if i.distinctive)
    assert summary["population_missing"] == sum(1 for i in items if i.population is None)
    assert (
        runs["population"]["per_subset"]["distinctive"]["accuracy"]["n"]
        == summary["opinionqa"]["distinctive"]
    )
    if summary["opinionqa"]["distinctive"]:
        assert runs["population"]["per_subset"]["distinctive"]["accuracy"]["mean"] == 0.0
    assert runs["persona"]["position_bias"]["positions"] == {"0": len(items)}  # always "A"
    assert summary["config"]["holdout"] == "group" and summary["split"]["name"] == "dev"
    assert all(f.startswith("datasets/opinionqa/") for f in summary["files"])
    text = (out / "summary.json").read_text() + (out / "summary.md").read_text()
    assert str(tmp_path) not in text and str(DATA.parent) not in text
    assert {r.holdout for r in read_results(out / "results.jsonl")} == {"group"}


def test_resume_refuses_another_holdout_or_split(tmp_path):
    out = tmp_path / "run"
    config = EvalConfig(data=[FAIRNESS], algorithms=["persona"], limit=1, out=out, holdout="attribute")
    run_evaluation(make_service(tmp_path), config, progress=False)
    again = config.model_copy(update={"resume": True})
    with pytest.raises(InputError, match="--holdout attribute"):
        run_evaluation(
            make_service(tmp_path), again.model_copy(update={"holdout": "scenario"}), progress=False
        )
    with pytest.raises(InputError, match="--split all"):
        run_evaluation(make_service(tmp_path), again.model_copy(update={"split": "dev"}), progress=False)
    before = len(read_results(out / "results.jsonl"))
    run_evaluation(make_service(tmp_path), again, progress=False)  # same options: nothing to redo
    assert len(read_results(out / "results.jsonl")) == before
    assert json.loads((out / "run.json").read_text()) == {"holdout": "attribute", "split": "all"}


def test_cli_options_reach_the_summary(tmp_path, monkeypatch, capsys):
    """``align eval`` in process, on the scripted backbone (the real model: tests/integration/test_eval_cli.py)."""
    from assistant.cli import main

    monkeypatch.chdir(DATA.parent)
    monkeypatch.setenv("ALIGN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr("assistant.compose.build_service", lambda settings: make_service(tmp_path))
    out = tmp_path / "run"
    args = [
        "eval",
        "--data",
        "datasets/opinionqa",
        "--split",
        "dev",
        "--holdout",
        "group",
        "--algorithm",
        "random",
    ]
    assert main([*args, "--limit", "2", "--out", str(out), "--no-progress", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {r["algorithm"] for r in summary["runs"]} == {"unaligned", "random", "population"}
    assert summary["config"]["holdout"] == "group" and summary["config"]["split"] == "dev"
    assert summary["items"] == 12 and "population_missing" in summary
    assert all(r["per_subset"] and r["position_bias"]["n"] for r in summary["runs"])
    assert main(["eval", "--data", "datasets/opinionqa", "--out", str(out), "--resume", "--no-progress"]) == 2
    assert "--holdout group" in capsys.readouterr().err
    with pytest.raises(SystemExit, match=r"^0$"):
        main(["eval", "--help"])
    assert "1st, 3rd, 5th... are dev" in " ".join(capsys.readouterr().out.split())


def test_the_unaligned_baseline_can_be_left_out():
    settings = SimpleNamespace(default_algorithm="persona", default_backbone="embedded", deciders=DECIDERS)
    config = EvalConfig(data=[FAIRNESS], out=Path("/tmp/x"), deciders=["warm"], skip_baselines=["unaligned"])
    assert [r.label for r in plan_runs(config, settings)] == ["random", "warm"]
    with pytest.raises(ValidationError, match="unaligned"):
        EvalConfig(data=[FAIRNESS], out=Path("/tmp/x"), skip_baselines=["random"])
