"""The profile commands end to end: real `align` subprocesses on a SQLite file in a tmp data dir
(and one run on PostgreSQL through ALIGN_DATABASE_URL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.profiles_dbs import database, pg_url_with_schema

ALIGN = str(Path(sys.executable).parent / "align")
SCENARIO = [
    "--scenario",
    "Two casualties, one kit.",
    "--choice",
    "Treat the soldier",
    "--choice",
    "Treat the civilian",
]


class Cli:
    def __init__(self, tmp_path: Path, database_url: str | None = None) -> None:
        self.env = {**os.environ, "ALIGN_DATA_DIR": str(tmp_path / "data")}
        self.env.pop("ALIGN_DATABASE_URL", None)
        self.env.pop("ALIGN_CONFIG", None)
        if database_url:
            self.env["ALIGN_DATABASE_URL"] = database_url
        self.cwd = tmp_path

    def __call__(
        self, *args: str, ok: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [ALIGN, *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.cwd,
            input=stdin,
            timeout=120,
        )
        if ok:
            assert out.returncode == 0, (args, out.stderr)
        else:
            assert out.returncode == 2, (args, out)
            assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
        return out

    def json(self, *args: str) -> object:
        return json.loads(self(*args).stdout)


def refused_import(align: Cli, path: Path, second_targets: dict[str, float]) -> str:
    """The one-line error of ``align profiles import`` refusing a bundle (written to ``path``) of a good
    profile and one with ``second_targets``."""
    profiles = [{"name": "q", "targets": {"fairness": 0.1}}, {"name": "r", "targets": second_targets}]
    path.write_text(json.dumps({"profiles": profiles}))
    return align("profiles", "import", str(path), ok=False).stderr


def test_cli_profiles_decide_and_log(tmp_path: Path) -> None:
    align = Cli(tmp_path)
    # the first command of a fresh store seeds the shipped packs; `db seed` is then idempotent
    assert "56 unchanged" in align("db", "seed").stdout
    assert "56 unchanged" in align("db", "seed").stdout
    assert json.loads(align("db", "current", "--json").stdout)["up_to_date"] is True
    align("users", "add", "alice", "--password", "alice-secret")
    align("users", "add", "bob", "--password-stdin", stdin="bob-secret!\n")
    align("users", "add", "carol", "--password", "carol-secret", "--admin")
    users = align.json("users", "list", "--json")
    assert {u["name"]: u["role"] for u in users} == {
        "alice": "user",
        "bob": "user",
        "carol": "admin",
        "local": "admin",
    }
    attrs = align.json("attributes", "list", "--json")
    names = {a["name"] for a in attrs}
    assert len(attrs) == 56 and {"fairness", "SEX", "Moral judgement", "care", "security"} <= names
    assert "group Female" in align("attributes", "show", "SEX").stdout

    align(
        "profiles",
        "create",
        "medic",
        "--user",
        "alice",
        "--target",
        "fairness=0.9",
        "--target",
        "utilitarianism=0.2",
        "--group",
        "INCOME=$100,000 or more",
        "--description",
        "field medic",
    )
    align(
        "profiles",
        "set",
        "medic",
        "--user",
        "alice",
        "--target",
        "risk_aversion=0.3",
        "--expect-version",
        "1",
    )
    shown = align.json("profiles", "show", "medic", "--user", "alice", "--json")
    assert shown["version"] == 2 and shown["groups"] == {"INCOME": "$100,000_or_more"}
    assert shown["effective_target"] == {
        "fairness": 0.9,
        "utilitarianism": 0.2,
        "risk_aversion": 0.3,
        "INCOME_$100,000_or_more": 1.0,
    }
    text = align("profiles", "show", "medic", "--user", "alice").stdout
    assert "treats everyone the same" in text  # the definition's "high" meaning

    # export, then import into another user: the export of the copy is byte-identical
    exported = align("profiles", "export", "--user", "alice").stdout
    (tmp_path / "medic.json").write_text(exported)
    align("profiles", "import", str(tmp_path / "medic.json"), "--user", "bob")
    assert align("profiles", "export", "--user", "bob").stdout == exported
    align("profiles", "export", "--user", "alice", "-o", str(tmp_path / "again.json"))
    assert (tmp_path / "again.json").read_text() == exported

    # a decision with the stored profile (random: no model needed) is logged with its snapshot
    decision = align.json(
        "decide",
        *SCENARIO,
        "--profile",
        "medic",
        "--user",
        "alice",
        "--algorithm",
        "random",
        "--seed",
        "3",
        "--json",
    )
    assert decision["target"]["fairness"] == 0.9 and decision["target"]["INCOME_$100,000_or_more"] == 1.0
    log_id = decision["log_id"]
    # an inline target is logged too, and a failed decision is logged as failed
    align("decide", *SCENARIO, "--target", "fairness=0.2", "--user", "alice", "--algorithm", "random")
    failed = align(
        "decide", *SCENARIO, "--user", "alice", "--algorithm", "random", "--backbone", "gpt9", ok=False
    )
    assert "unknown backbone 'gpt9'" in failed.stderr
    entries = align.json("log", "list", "--user", "alice", "--json")
    assert [e["status"] for e in entries] == ["failed", "ok", "ok"]
    assert entries[0]["error"].startswith("unknown backbone") and entries[2]["id"] == log_id
    assert entries[2]["profile_name"] == "medic" and entries[2]["choice"] == decision["choice"]
    full = align.json("log", "show", str(log_id), "--user", "alice", "--json")
    assert full["request"]["scenario"] == "Two casualties, one kit."
    assert full["profile_snapshot"]["profile"]["version"] == 2
    assert full["profile_snapshot"]["attributes"]["fairness"]["high"].startswith("treats everyone")
    assert full["algorithm"] == "random" and full["user"] == "alice" and "total_s" in full["timings"]
    assert "Treat the" in align("log", "show", str(log_id), "--user", "alice").stdout
    lines = align("log", "export", "--user", "alice").stdout.splitlines()
    assert [json.loads(x)["id"] for x in lines] == sorted(e["id"] for e in entries)

    # access control through the CLI: bob sees nothing of alice's; an admin sees all
    align("log", "show", str(log_id), "--user", "bob", ok=False)
    assert align.json("log", "list", "--user", "bob", "--json") == []
    assert (
        "may not act on 'alice'"
        in align("profiles", "delete", "medic", "--user", "bob", "--owner", "alice", ok=False).stderr
    )
    assert align.json("log", "show", str(log_id), "--user", "carol", "--json")["user"] == "alice"
    assert len(align.json("log", "list", "--all", "--user", "carol", "--json")) == 3
    align("profiles", "delete", "medic", "--user", "bob")  # bob's own copy
    assert align.json("profiles", "list", "--user", "alice", "--json")[0]["name"] == "medic"


def test_cli_bad_input_writes_nothing(tmp_path: Path) -> None:
    align = Cli(tmp_path)
    align("db", "seed")
    cases = [
        (("profiles", "create", "p", "--target", "fairnes=0.5"), "did you mean 'fairness'"),
        (("profiles", "create", "p", "--target", "fairness=1.5"), "must be in [0, 1]"),
        (("profiles", "create", "p", "--target", "fairness=nan"), "finite"),
        (("profiles", "create", " ", "--target", "fairness=0.5"), "name is empty"),
        (("profiles", "create", "p"), "has no targets"),
        (("profiles", "create", "p", "--group", "SEX=Robot"), "unknown group 'Robot' of SEX"),
        (("profiles", "show", "nope"), "no profile 'nope'"),
        (("profiles", "list", "--user", "ghost"), "no user 'ghost'"),
        (("decide", *SCENARIO, "--profile", "nope", "--algorithm", "random"), "no profile 'nope'"),
    ]
    for args, message in cases:
        assert message in align(*args, ok=False).stderr, args
    assert align.json("profiles", "list", "--json") == []

    align("profiles", "create", "p", "--target", "fairness=0.5")
    assert "already exists" in align("profiles", "create", "p", "--target", "fairness=0.1", ok=False).stderr
    assert (
        "changed by someone else"
        in align("profiles", "set", "p", "--target", "fairness=0.1", "--expect-version", "7", ok=False).stderr
    )
    broken = tmp_path / "broken.json"
    broken.write_text(
        '{"format": "align-profiles/1", "profiles": [\n  {"name": "q", "targets": {"fairness": 0.1}},\n  {"name": '
    )
    err = align("profiles", "import", str(broken), ok=False).stderr
    assert str(broken) in err and "line 3" in err and "nothing was imported" in err
    assert "must be in [0, 1]" in refused_import(align, tmp_path / "half.json", {"fairness": 2})
    assert "did you mean 'fairness'" in refused_import(align, tmp_path / "unknown.json", {"fairnesss": 0.2})
    assert [p["name"] for p in align.json("profiles", "list", "--json")] == ["p"]
    align("users", "add", "dave", "--password", "dave-secret")
    assert "only an admin" in align("attributes", "add", "x", "--user", "dave", ok=False).stderr
    assert "only an admin" in align("users", "add", "eve", "--user", "dave", ok=False).stderr


@pytest.mark.postgres
def test_cli_on_postgres(tmp_path: Path) -> None:
    with database("postgres", tmp_path) as (_url, schema):
        assert schema is not None
        align = Cli(tmp_path, pg_url_with_schema(schema))
        align("db", "upgrade")
        align("db", "seed")
        align("profiles", "create", "pg", "--target", "protocol_focus=0.8")
        out = align.json("decide", *SCENARIO, "--profile", "pg", "--algorithm", "random", "--json")
        entry = align.json("log", "show", str(out["log_id"]), "--json")
        assert entry["profile_name"] == "pg" and entry["request"]["target"] == {"protocol_focus": 0.8}
