"""``align bench serve`` for a few seconds with few users, default settings: the report's shape, no errors.

Not a timed test: the 16-user, 60-second figures are in docs/results/speed.md and docs/perf/."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli.bench_serve import summary_lines

ALIGN = str(Path(sys.executable).parent / "align")


@pytest.mark.model
@pytest.mark.timeout(600)
def test_bench_serve_short_run_has_no_errors(tmp_path):
    env = {**os.environ, "ALIGN_DATA_DIR": str(tmp_path / "unused")}
    env.pop("ALIGN_BACKBONES", None)  # the defaults, as a user gets them
    args = ["--users", "3", "--seconds", "6", "--calibrate-seconds", "4", "--no-model-seconds", "4"]
    out = subprocess.run(
        [ALIGN, "bench", "serve", *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=580,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["errors"] == 0, report["error_samples"]
    assert report["requests"] >= 3 and report["decisions"] >= 1
    assert report["decisions"] + report["profile_edits"] == report["requests"]
    decide = report["latency"]["decide"]
    assert decide["n"] == report["decisions"] and 0 < decide["p50_s"] <= decide["p95_s"]
    assert report["throughput_over_backbone"] > 0 and report["backbone_rps"] > 0
    assert len(report["backbone_rps_before_after"]) == 2
    # where the time goes: the model's own time per decision in the server and alone, the server's
    # CPU (all threads) per decision and the backbone's alone, and this process's own CPU
    assert report["backbone_s_mean"]["server"] > 0 and report["backbone_s_mean"]["alone"] > 0
    assert 0 < report["backbone_busy_share"] <= 1.05
    assert report["server_cpu_per_decision_s"] > 0 and report["backbone_cpu_per_decision_s"] > 0
    assert report["server_other_cpu_ms"] is not None and report["server_other_cpu_vs_alone_ms"] is not None
    # the model's own CPU inside the server, as the embedded backbone measured it for every decision
    model_cpu = report["model_cpu_in_server_per_decision_s"]
    assert model_cpu is not None and 0 < model_cpu < report["server_cpu_per_decision_s"] + 0.05
    assert report["client_cpu_s"] > 0
    assert report["peak_rss_mb"] > 100  # the server holds the model
    free = report["no_model"]
    assert free["requests"] >= 3 and free["errors"] == 0 and free["server_cpu_per_request_ms"] > 0
    settings = report["server_settings"]
    assert settings["backbone_type"] == "llamacpp" and settings["n_threads"] >= 1
    assert settings["queue_concurrency"] >= 4
    # the model's threads (the busiest) keep the process's priority; the server's own give way
    threads = report["server_threads"]
    assert threads["main_nice"] == 5, threads
    assert threads["busiest"][0][0] == 0, threads
    assert "backbone alone:" in out.stderr and "phase persona" in out.stderr
    words = "\n".join(summary_lines(report))  # what `align bench serve` prints without --json
    for figure in ("throughput", "server CPU per decision", "users' CPU", "peak RSS", "no model"):
        assert figure in words, words


def test_bench_serve_rejects_bad_arguments(tmp_path):
    out = subprocess.run(
        [ALIGN, "bench", "serve", "--users", "0"],
        capture_output=True,
        text=True,
        env={**os.environ, "ALIGN_DATA_DIR": str(tmp_path)},
        timeout=120,
    )
    assert out.returncode == 2 and "--users must be at least 1" in out.stderr
