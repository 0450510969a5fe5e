"""`align examples ...` end to end: real embedded Chroma under a temporary data dir."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.cli import main
from tests.helpers.examples import DATA

FILES = ["oracle_fairness_training_input_output.json", "oracle_risk_aversion_training_input_output.json"]


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALIGN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ALIGN_CHROMA_HOST", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./align.toml from elsewhere
    src = tmp_path / "in"
    src.mkdir()
    for name in FILES:
        shutil.copy(DATA / "triage" / name, src / name)
    return src


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_import_list_search_show_delete(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(capsys, "examples", "import", str(data_dir), "--json")
    assert isinstance(report, dict)
    assert (report["added"], report["present"], report["per_domain"], report["total"]) == (
        14,
        0,
        {"triage": 14},
        14,
    )
    again = run_json(capsys, "examples", "import", str(data_dir / FILES[0]), "--json")
    assert isinstance(again, dict) and (again["added"], again["present"]) == (0, 6)

    assert main(["examples", "import", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "Added 0 examples" in out and "14 were already present" in out

    listed = run_json(capsys, "examples", "list", "--attribute", "risk_aversion", "--json")
    assert isinstance(listed, list) and len(listed) == 8
    assert all(any("risk_aversion" in s for s in e["scores"]) for e in listed)

    query = json.loads((data_dir / FILES[1]).read_text())[0]
    hits = run_json(
        capsys,
        "examples",
        "search",
        query["input"]["state"],
        "--k",
        "3",
        "--attribute",
        "risk_aversion",
        "--exclude-scenario",
        "MVP2.RA1/1",
        "--json",
    )
    assert isinstance(hits, list) and len(hits) == 3
    assert all(h["example"]["scenario_id"] != "MVP2.RA1/1" for h in hits)

    first = hits[0]["example"]["id"]
    shown = run_json(capsys, "examples", "show", first, "--json")
    assert isinstance(shown, dict) and shown["id"] == first
    assert main(["examples", "delete", first]) == 0
    assert "Deleted 1 example." in capsys.readouterr().out
    assert main(["examples", "show", first]) == 2
    assert "no example with id" in capsys.readouterr().err
    assert main(["examples", "delete", "--source", FILES[0]]) == 0
    assert "Deleted 6 examples." in capsys.readouterr().out


def test_malformed_file_is_named_and_nothing_is_imported(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads((data_dir / FILES[0]).read_text())
    data[3]["output"] = [{"choice": 42}]
    (data_dir / "zz_bad.json").write_text(json.dumps(data))
    assert main(["examples", "import", str(data_dir)]) == 2
    err = capsys.readouterr().err
    assert "zz_bad.json record 3" in err and "output choice 42" in err
    listed = run_json(capsys, "examples", "list", "--json")
    assert listed == []
