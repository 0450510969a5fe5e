"""``align bench backbone`` runs end to end on the embedded model (a smoke test, not a timed test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cli import align_json, run_align


@pytest.mark.model
def test_bench_backbone_json(tmp_path: Path) -> None:
    # one thread: the cores here are shared (see tests/integration/conftest.py); also checks that
    # a config file's llamacpp options reach the backbone
    config = tmp_path / "align.toml"
    config.write_text('[backbones.embedded]\ntype = "llamacpp"\nn_threads = 1\n')
    env = {"ALIGN_DATA_DIR": str(tmp_path / "data"), "ALIGN_CONFIG": str(config)}
    report = align_json(
        ["bench", "backbone", "--runs", "1", "--repeats", "1", "--json"], cwd=tmp_path, env=env, timeout=600
    )
    for key in (
        "pipeline_over_raw",
        "structured_over_unconstrained",
        "prompt_eval_tps",
        "unconstrained_tps",
        "structured_tps",
        "grammar_tps",
        "label_logprobs_s",
    ):
        assert report[key] > 0, key
    assert report["decision_tokens"] > 0 and report["prompt_tokens"] > 100
    assert set(report["targets"]) == {"pipeline_over_raw", "structured_over_unconstrained"}
    assert report["runs"] == 1 and len(report["per_run"]) == 1 and report["n_threads"] == 1


def test_bench_backbone_refuses_a_non_llamacpp_backbone(tmp_path: Path) -> None:
    config = tmp_path / "align.toml"
    config.write_text(
        '[backbones.embedded]\ntype = "llamacpp"\n\n[backbones.remote]\ntype = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
    )
    env = {"ALIGN_DATA_DIR": str(tmp_path / "data"), "ALIGN_CONFIG": str(config)}
    proc = run_align(["bench", "backbone", "--backbone", "remote"], cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 2
    assert "needs a llamacpp backbone" in proc.stderr and "Traceback" not in proc.stderr
