"""`align decide --profile` on the real embedded model: the stored definitions reach the prompt, and the
decision is logged with its prompts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ALIGN = str(Path(sys.executable).parent / "align")


@pytest.mark.model
def test_decide_with_profile_on_embedded_model(tmp_path: Path, embedded_model_file: Path) -> None:
    env = {**os.environ, "ALIGN_DATA_DIR": str(tmp_path / "data")}
    env.pop("ALIGN_DATABASE_URL", None)

    def align(*args: str) -> str:
        out = subprocess.run(
            [ALIGN, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    align("db", "seed", "triage")
    align("profiles", "create", "desert", "--target", "moral_deservingness=0.95")
    decision = json.loads(
        align(
            "decide",
            "--profile",
            "desert",
            "--algorithm",
            "persona",
            "--seed",
            "1",
            "--json",
            "--scenario",
            "A bomber and the bystander he injured both need the last blood unit.",
            "--choice",
            "Give it to the bomber",
            "--choice",
            "Give it to the bystander",
        )
    )
    assert decision["choice"] in ("Give it to the bomber", "Give it to the bystander")
    entry = json.loads(align("log", "show", str(decision["log_id"]), "--json"))
    assert entry["status"] == "ok" and entry["backbone"] == "embedded" and entry["algorithm"] == "persona"
    system_text = json.dumps(entry["prompts"])
    assert "gives priority to the innocent and to victims" in system_text  # the stored 'high' meaning
    assert entry["result"]["justification"] and entry["timings"]
