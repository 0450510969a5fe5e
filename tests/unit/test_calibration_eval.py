"""``align eval-calibration``: simulated users on the vendored triage data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from alignment.errors import InputError
from assistant.cli import main
from assistant.evaluation.calibration import (
    CalibrationEvalConfig,
    noise_beta,
    results_markdown,
    run_calibration_eval,
    simulated_targets,
)
from assistant.stores.seed_data import load_triage_records

TRIAGE = Path(__file__).resolve().parents[2] / "datasets" / "triage"


def test_simulated_targets_cover_high_low_and_mixtures() -> None:
    names = ["a", "b", "c"]
    targets = simulated_targets(names, 12, np.random.default_rng(0))
    high = [[t[n] > 0.5 for n in names] for t in targets]
    assert high[0] == [True] * 3 and high[1] == [False] * 3
    assert high[2] == [True, False, False] and high[3] == [False, True, True]
    for t in targets:
        assert all(0.7 <= v <= 1.0 or 0.0 <= v <= 0.3 for v in t.values())
    assert len(targets) == 12


def test_noise_levels() -> None:
    assert noise_beta("LOW") == 8.0 and math.isinf(noise_beta("none")) and noise_beta("3.5") == 3.5
    with pytest.raises(InputError, match="use one of"):
        noise_beta("loud")
    with pytest.raises(InputError, match="positive"):
        noise_beta("-1")


def test_active_selection_beats_random_on_the_triage_data() -> None:
    records = load_triage_records([TRIAGE])
    result = run_calibration_eval(records, CalibrationEvalConfig(answers=[5, 10], users=8, noise="low"))
    assert result["pool"] >= 40 and len(result["attributes"]) == 7
    active, random_ = result["strategies"]["active"], result["strategies"]["random"]
    assert result["direction_accuracy"] == active["direction_accuracy"]
    assert active["direction_accuracy"]["5"] > random_["direction_accuracy"]["5"] + 0.1
    assert active["direction_accuracy"]["10"] >= 0.8
    assert 0 < result["wrong_answer_rate"] < 0.2
    assert active["mae"]["10"] < 0.25
    table = results_markdown(result)
    assert "| 10 |" in table and "random" in table


def test_cli_prints_json_with_direction_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "eval-calibration",
            "--answers",
            "3",
            "--users",
            "2",
            "--attributes",
            "risk_aversion,fairness",
            "--data",
            str(TRIAGE),
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["direction_accuracy"]) == {"3"}
    assert out["attributes"] == ["risk_aversion", "fairness"]
    assert out["pool"] == 10  # 8 risk-aversion and 2 fairness-only dilemmas, each once


def test_cli_refuses_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval-calibration", "--answers", "0"]) == 2
    assert "positive whole numbers" in capsys.readouterr().err
    assert main(["eval-calibration", "--attributes", "nope", "--users", "1", "--data", str(TRIAGE)]) == 2
    assert "no usable dilemma scores nope" in capsys.readouterr().err
    assert main(["eval-calibration", "--data", "/no/such/dir"]) == 2
    assert "/no/such/dir does not exist" in capsys.readouterr().err
