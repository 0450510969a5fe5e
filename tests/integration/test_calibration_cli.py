"""``align calibrate`` end to end: real `align` subprocesses, a SQLite store in a tmp data dir, answers
typed by a simulated person (who reads each dilemma and answers by a known target) or piped in."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path

from alignment.calibration import calibration_dilemmas, usable_attributes
from alignment.metrics import choice_distances
from assistant.stores.seed_data import load_triage_records

ALIGN = str(Path(sys.executable).parent / "align")
TRIAGE = Path(__file__).resolve().parents[2] / "datasets" / "triage"
PROMPT = b"s = skip, q = stop]: "


def env_for(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "ALIGN_DATA_DIR": str(tmp_path / "data")}
    env.pop("ALIGN_DATABASE_URL", None)
    env.pop("ALIGN_CONFIG", None)
    return env


def run(tmp_path: Path, *args: str, stdin: str = "", code: int = 0) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [ALIGN, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env_for(tmp_path),
        cwd=tmp_path,
        timeout=300,
    )
    assert out.returncode == code, (args, out.stdout[-2000:], out.stderr)
    if code:
        assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    return out


def calibrate_triage(tmp_path: Path, attributes: str, answers: int, *more: str, stdin: str) -> str:
    """What ``align calibrate`` printed on the triage dilemmas about ``attributes``, asking at most
    ``answers`` of them, with ``stdin`` typed in."""
    args = ["--domain", "triage", "--attributes", attributes, "--answers", str(answers), *more]
    return run(tmp_path, "calibrate", *args, stdin=stdin).stdout


def read_until_prompt(proc: subprocess.Popen[bytes]) -> str | None:
    """Output up to the next answer prompt, or None when the process ends first."""
    assert proc.stdout is not None
    buf = b""
    while not buf.endswith(PROMPT):
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        assert ready, f"no prompt within 120 s: {buf[-500:]!r}"
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            return None
        buf += chunk
    return buf.decode("utf-8")


def test_a_person_answering_by_a_known_target_gets_it_back(tmp_path: Path) -> None:
    truth = {
        "utilitarianism": 0.9,
        "moral_deservingness": 0.15,
        "continuation_of_care": 0.2,
        "risk_aversion": 0.1,
        "protocol_focus": 0.85,
        "fairness": 0.8,
        "QualityOfLife": 0.2,
    }
    records = load_triage_records([TRIAGE])
    by_text = {d.text: d for d in calibration_dilemmas(records, usable_attributes(records))}
    run(tmp_path, "db", "seed")
    proc = subprocess.Popen(
        [ALIGN, "calibrate", "--domain", "triage", "--answers", "12", "--save-as", "me", "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env_for(tmp_path),
        cwd=tmp_path,
    )
    assert proc.stdin is not None
    shown = 0
    while (screen := read_until_prompt(proc)) is not None:
        text = screen.rsplit("\n\nDilemma ", 1)[-1].split("\n\n", 1)[1].rsplit("\n\n  A) ", 1)[0]
        dilemma = by_text[text]  # the dilemma on screen is one of the data's, shown whole
        d = choice_distances(dilemma.scores, {a: truth[a] for a in dilemma.attributes})
        proc.stdin.write(f"{'ABCDEFGHIJ'[d.index(min(d))]}\n".encode())
        proc.stdin.flush()
        shown += 1
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    assert shown == 12
    profile = json.loads(run(tmp_path, "profiles", "show", "me", "--json").stdout)
    saved = profile["targets"]
    assert set(saved) <= set(truth) and len(saved) >= 6
    right = [a for a, v in saved.items() if (v > 0.5) == (truth[a] > 0.5)]
    assert len(right) >= len(saved) - 1, saved
    for a in ("utilitarianism", "risk_aversion", "protocol_focus", "fairness"):  # asked directly
        assert (saved[a] > 0.5) == (truth[a] > 0.5), (a, saved)
    assert profile["description"].startswith("Calibrated from 12 answers")


def test_piped_answers_skip_stop_and_update(tmp_path: Path) -> None:
    run(tmp_path, "db", "seed")
    out = calibrate_triage(tmp_path, "risk_aversion,fairness", 5, "--json", stdin="z\nA\ns\nb\nq\n")
    assert "'z' is not one of A, B" in out
    assert "Stopped." in out
    payload = json.loads(out[out.index("\n{") :])
    assert payload["estimate"]["answers"] == 2 and len(payload["answers"]) == 2
    assert payload["profile"]["name"] == "calibrated" and payload["profile"]["version"] == 1
    assert set(payload["profile"]["targets"]) <= {"risk_aversion", "fairness"}
    # a second calibration updates the same profile
    out = calibrate_triage(tmp_path, "risk_aversion", 2, stdin="B\nB\n")
    assert "Saved as profile 'calibrated' (version 2)" in out
    shown = json.loads(run(tmp_path, "profiles", "show", "calibrated", "--json").stdout)
    assert shown["targets"]["risk_aversion"] > 0.5  # B scores risk_aversion 1.0 in every one of them
    # end of input before any answer: nothing saved
    out = run(
        tmp_path, "calibrate", "--domain", "triage", "--answers", "3", "--save-as", "empty", stdin=""
    ).stdout
    assert "No answers; nothing saved." in out
    run(tmp_path, "profiles", "show", "empty", code=2)


def test_bad_input_fails_before_any_question(tmp_path: Path) -> None:
    err = run(
        tmp_path, "calibrate", "--domain", "triage", "--attributes", "courage", stdin="A\n", code=2
    ).stderr
    assert "scores courage" in err and "risk_aversion" in err
    run(tmp_path, "calibrate", "--domain", "triage", "--answers", "0", code=2)
    err = run(tmp_path, "calibrate", "--domain", "triage", "--source", "examples", code=2).stderr
    assert "no triage examples" in err
    out = run(tmp_path, "calibrate", "--domain", "triage", "--answers", "1", stdin="x\ny\nz\n", code=2)
    assert "no readable answer" in out.stderr


def test_dilemmas_come_from_the_example_store_when_it_has_triage_examples(tmp_path: Path) -> None:
    run(tmp_path, "db", "seed")
    run(tmp_path, "examples", "import", str(TRIAGE / "oracle_risk_aversion_training_input_output.json"))
    out = run(
        tmp_path, "calibrate", "--domain", "triage", "--answers", "3", "--no-save", stdin="B\nB\nB\n"
    ).stdout
    assert "from the example store" in out
    assert "Calibrating 1 attributes (risk_aversion)" in out
    assert "risk_aversion" in out.split("Estimate from 3 answers")[1]
