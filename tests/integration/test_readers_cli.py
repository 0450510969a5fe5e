"""`align readers learn` / `show` end to end on the measured runs (tests/fixtures/readers: the per-item
results the seeded record was built from), and `align setup`'s seeding."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.cli import main
from assistant.cli.setup import _seed_reader_record
from assistant.decisions.reader_file import load_reader_record

REPO = Path(__file__).resolve().parents[2]
RUNS = Path(__file__).resolve().parents[1] / "fixtures" / "readers"


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALIGN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no ./align.toml from elsewhere
    return tmp_path / "data"


def test_learn_then_show_gives_the_committed_record(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["readers", "show"]) == 0
    assert "no reader record" in capsys.readouterr().out
    triage = [str(RUNS / f"{r}.jsonl.gz") for r in ("vf-triage", "reg-triage")]
    # these results were written before rows named their domain: the domain is given
    assert main(["readers", "learn", *triage]) != 0
    assert "does not say which domain" in capsys.readouterr().err
    assert main(["readers", "learn", "--domain", "triage", *triage]) == 0
    out = capsys.readouterr().out
    assert "8 values measured" in out
    assert "| risk_aversion | triage | 16 | 8 | 16 | 8 / 0 | 0.004 | regression |" in out
    packs = [str(RUNS / f"{r}.jsonl.gz") for r in ("vf-packs", "reg-packs")]
    assert main(["readers", "learn", "--domain", "everyday", *packs]) == 0  # merged: triage's values stay
    assert "16 values measured, 24 in" in capsys.readouterr().out
    assert load_reader_record(data_dir / "readers.json") == load_reader_record(
        REPO / "datasets" / "readers.json"
    )
    assert main(["readers", "show"]) == 0
    out = capsys.readouterr().out
    assert "| utilitarianism | triage | 42 | 30 | 32 | 6 / 4 | 0.377 | value-fit |" in out
    assert "| loyalty | everyday | 10 |" in out and "used only for decisions of the domain" in out


def test_learn_says_what_is_wrong_with_its_input(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"item_id": "x"\n', encoding="utf-8")
    assert main(["readers", "learn", str(broken)]) != 0
    assert "line 1: not JSON" in capsys.readouterr().err
    only_one = str(RUNS / "vf-triage.jsonl.gz")
    assert main(["readers", "learn", "--domain", "triage", only_one]) != 0
    assert "run `align eval --algorithm value-fit,regression`" in capsys.readouterr().err
    assert not (data_dir / "readers.json").exists()  # nothing written on a failure


def test_setup_seeds_the_record_once_and_keeps_an_admins_own(tmp_path: Path) -> None:
    path = tmp_path / "data" / "readers.json"
    _seed_reader_record(REPO / "datasets" / "readers.json", path)
    assert load_reader_record(path) == load_reader_record(REPO / "datasets" / "readers.json")
    path.write_text('{"backbone": "embedded", "outcomes": []}\n', encoding="utf-8")
    _seed_reader_record(REPO / "datasets" / "readers.json", path)
    record = load_reader_record(path)
    assert record is not None and record.outcomes == []


def test_setup_gives_the_record_it_seeded_before_domains_were_kept_their_domains(tmp_path: Path) -> None:
    import json

    seed = REPO / "datasets" / "readers.json"
    seeded = load_reader_record(seed)
    assert seeded is not None
    assert {o.domain for o in seeded.outcomes if o.attribute == "risk_aversion"} == {"triage"}
    assert {o.domain for o in seeded.outcomes if o.attribute == "loyalty"} == {"everyday"}
    # the record as the seed wrote it before: the same outcomes, no domains
    old = json.loads(seed.read_text(encoding="utf-8"))
    for o in old["outcomes"]:
        del o["domain"]
    path = tmp_path / "data" / "readers.json"
    path.parent.mkdir()
    path.write_text(json.dumps(old), encoding="utf-8")
    legacy = load_reader_record(path)
    assert legacy is not None and {o.domain for o in legacy.outcomes} == {"triage"}  # read as triage
    _seed_reader_record(seed, path)
    assert load_reader_record(path) == seeded
    # an admin's own old record (other measurements) is kept, and read as measured on triage
    old["outcomes"] = old["outcomes"][:3]
    path.write_text(json.dumps(old), encoding="utf-8")
    _seed_reader_record(seed, path)
    kept = load_reader_record(path)
    assert kept is not None and len(kept.outcomes) == 3 and {o.domain for o in kept.outcomes} == {"triage"}
