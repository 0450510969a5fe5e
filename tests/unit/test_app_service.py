"""The app facade on a real SQLite store: decisions, profiles, refusals, admin actions."""

from __future__ import annotations

import json

import pytest
from app_fixtures import make_app

from alignment.errors import Conflict, InputError, NotFound, PermissionDenied

SCENARIO = {"scenario": "Two patients, one kit.", "choices": ["the soldier", "the civilian"]}


@pytest.fixture
def app(tmp_path):
    service = make_app(tmp_path)
    yield service
    service.store.close()


def test_actor_requires_login_unless_local_mode(app, tmp_path):
    assert app.actor("alice").name == "alice"
    with pytest.raises(PermissionDenied, match="log in"):
        app.actor(None)
    with pytest.raises(PermissionDenied, match="no longer exists"):
        app.actor("mallory")
    app.local_mode = True
    local = app.actor(None)
    assert (local.name, local.role) == ("local", "admin")
    assert app.authenticate("alice", "alice-password")
    assert not app.authenticate("alice", "wrong")
    assert not app.authenticate("nobody", "alice-password")


def test_decide_with_targets_and_with_profile_is_logged(app):
    alice = app.actor("alice")
    high = app.decide(alice, {**SCENARIO, "targets": {"fairness": 0.9}, "algorithm": "persona"})
    assert high["choice"] == "the civilian" and high["log_id"] > 0 and "prompts" not in high
    app.create_profile(alice, {"name": "careless", "targets": {"fairness": 0.1}})
    low = app.decide(
        alice, {**SCENARIO, "profile": "careless", "algorithm": "persona", "include_prompts": True}
    )
    assert low["choice"] == "the soldier" and low["target"] == {"fairness": 0.1}
    assert "fairness" in low["prompts"][0][0]["content"]
    entry = app.store.log.get(alice, low["log_id"])
    assert entry.profile_name == "careless" and entry.status == "ok"
    rnd = app.decide(alice, {**SCENARIO, "algorithm": "random", "seed": 3})
    assert rnd["algorithm"] == "random" and rnd["choice"] in SCENARIO["choices"]


def test_decide_bad_requests_say_what_to_fix(app):
    alice = app.actor("alice")
    with pytest.raises(InputError, match="choices"):
        app.decide(alice, {"scenario": "x"})
    with pytest.raises(InputError, match="colour"):
        app.decide(alice, {**SCENARIO, "colour": "red"})
    with pytest.raises(InputError, match="unknown attribute 'fairnes'"):
        app.decide(alice, {**SCENARIO, "targets": {"fairnes": 0.5}, "algorithm": "persona"})
    with pytest.raises(InputError, match="JSON object"):
        app.decide(alice, ["not", "an", "object"])
    with pytest.raises(NotFound, match="no profile"):
        app.decide(alice, {**SCENARIO, "profile": "nope"})


def test_profile_crud_and_ownership(app):
    alice, bob, root = app.actor("alice"), app.actor("bob"), app.actor("root")
    created = app.create_profile(alice, {"name": "fair", "description": "d", "targets": {"fairness": 0.8}})
    assert created["owner"] == "alice" and created["version"] == 1
    got = app.get_profile(alice, {"name": "fair"})
    assert got["targets"] == {"fairness": 0.8}
    updated = app.update_profile(
        alice, {"name": "fair", "set_targets": {"risk_aversion": 0.3}, "expected_version": 1}
    )
    assert updated["targets"] == {"fairness": 0.8, "risk_aversion": 0.3} and updated["version"] == 2
    with pytest.raises(Conflict, match="changed by someone else"):
        app.update_profile(alice, {"name": "fair", "set_targets": {"fairness": 0.1}, "expected_version": 1})
    # bob cannot see or touch alice's profile, by name or by naming her as owner
    with pytest.raises(NotFound, match="no profile 'fair'"):
        app.get_profile(bob, {"name": "fair"})
    with pytest.raises(PermissionDenied, match="user 'bob' may not act on 'alice''s profiles"):
        app.get_profile(bob, {"name": "fair", "owner": "alice"})
    with pytest.raises(PermissionDenied, match="user 'bob' may not act on 'alice''s profiles"):
        app.update_profile(bob, {"name": "fair", "owner": "alice", "set_targets": {"fairness": 0.0}})
    with pytest.raises(PermissionDenied, match="user 'bob' may not act on 'alice''s profiles"):
        app.delete_profile(bob, {"name": "fair", "owner": "alice"})
    assert app.list_profiles(bob)["profiles"] == []
    # the admin sees everyone's
    assert [p["owner"] for p in app.list_profiles(root, {"all_users": True})["profiles"]] == ["alice"]
    assert app.get_profile(root, {"name": "fair", "owner": "alice"})["version"] == 2
    # export, delete, import restores it
    bundle = app.export_profiles(alice)
    assert json.dumps(bundle) and bundle["profiles"][0]["name"] == "fair"
    assert app.delete_profile(alice, {"name": "fair", "expected_version": 2}) == {"deleted": "fair"}
    with pytest.raises(NotFound, match="no profile 'fair'"):
        app.get_profile(alice, {"name": "fair"})
    imported = app.import_profiles(alice, {"bundle": bundle})
    assert imported["imported"][0]["targets"] == {"fairness": 0.8, "risk_aversion": 0.3}
    with pytest.raises(Conflict, match="profile 'fair' already exists; nothing was imported"):
        app.import_profiles(alice, {"bundle": bundle})
    with pytest.raises(InputError, match="must be in"):
        app.create_profile(alice, {"name": "bad", "targets": {"fairness": 1.5}})


def test_admin_actions_are_refused_to_users(app):
    alice, root = app.actor("alice"), app.actor("root")
    definition = {
        "attribute": {"name": "candour", "description": "Saying plainly what one thinks", "domain": "generic"}
    }
    with pytest.raises(PermissionDenied, match="only an admin"):
        app.upsert_attribute(alice, definition)
    with pytest.raises(PermissionDenied, match="only an admin"):
        app.add_user(alice, {"name": "eve", "password": "eve-password"})
    with pytest.raises(PermissionDenied, match="only an admin"):
        app.set_role(alice, {"name": "alice", "role": "admin"})
    with pytest.raises(PermissionDenied, match="only an admin"):
        app.search_examples(alice, {"query": "kit"})
    assert [u["name"] for u in app.list_users(alice)["users"]] == ["alice"]
    # the admin may
    assert app.upsert_attribute(root, definition)["created"] == 1
    assert "candour" in app.service.attributes  # decisions now describe it
    assert any(a["name"] == "candour" for a in app.list_attributes(alice)["attributes"])
    assert app.add_user(root, {"name": "eve", "password": "eve-password"})["has_password"]
    assert app.authenticate("eve", "eve-password")
    app.set_role(root, {"name": "eve", "role": "admin"})
    assert app.actor("eve").is_admin
    with pytest.raises(InputError, match="at least 8"):
        app.set_password(alice, {"name": "alice", "password": "short"})
    with pytest.raises(PermissionDenied, match="current password"):  # one's own: the current one too
        app.set_password(alice, {"name": "alice", "password": "a-new-password"})
    with pytest.raises(PermissionDenied, match="current password is not right"):
        app.set_password(
            alice, {"name": "alice", "password": "a-new-password", "current_password": "wrong-one"}
        )
    done = app.set_password(
        alice, {"name": "alice", "password": "a-new-password", "current_password": "alice-password"}
    )
    assert not done["reset"] and "password was changed" in done["message"]
    assert app.authenticate("alice", "a-new-password")


def test_compare_columns_resolve_profiles_and_mark_disagreement(app):
    alice = app.actor("alice")
    app.create_profile(alice, {"name": "fair", "targets": {"fairness": 0.9}})
    result = app.compare(
        alice,
        {
            **SCENARIO,
            "columns": [
                {"algorithm": "persona", "profile": "fair"},
                {"algorithm": "persona", "targets": {"fairness": 0.2}},
                {"algorithm": "persona", "targets": {"fairness": 0.95}},
            ],
        },
    )
    assert [r["decision"]["choice"] for r in result["results"]] == [
        "the civilian",
        "the soldier",
        "the civilian",
    ]
    assert [r["disagrees"] for r in result["results"]] == [False, True, False]
    assert result["majority_choice"] == "the civilian" and not result["agreement"]
    assert "fair" in result["results"][0]["label"]
    assert all("prompts" not in r["decision"] for r in result["results"])
    with pytest.raises(NotFound, match="no profile 'fair'"):
        app.compare(app.actor("bob"), {**SCENARIO, "columns": [{"profile": "fair"}, {"algorithm": "random"}]})
    with pytest.raises(InputError, match="columns"):
        app.compare(alice, {**SCENARIO, "columns": [{"algorithm": "random"}]})
    with pytest.raises(InputError, match="unknown attribute"):
        app.compare(alice, {**SCENARIO, "columns": [{"targets": {"nope": 1}}, {"algorithm": "random"}]})


def test_evaluate_is_capped_and_confined_to_the_datasets_dir(tmp_path):
    from pathlib import Path

    datasets = Path(__file__).resolve().parents[2] / "datasets"
    if not datasets.is_dir():
        pytest.skip("datasets/ is not vendored here")
    app = make_app(tmp_path, datasets_dir=datasets)
    alice, root = app.actor("alice"), app.actor("root")
    assert "triage/oracle_fairness_training_input_output.json" in app.dataset_files()
    with pytest.raises(PermissionDenied, match="only an admin"):  # evaluations are for admins
        app.evaluate(alice, {"files": ["triage/oracle_fairness_training_input_output.json"], "limit": 1})
    with pytest.raises(InputError, match="cap of 3"):
        app.evaluate(root, {"files": ["triage/oracle_fairness_training_input_output.json"], "limit": 4})
    with pytest.raises(InputError, match="no dataset file"):
        app.evaluate(root, {"files": ["../pyproject.toml"], "limit": 1})
    result = app.evaluate(
        root,
        {
            "files": ["triage/oracle_fairness_training_input_output.json"],
            "algorithms": ["persona"],
            "limit": 2,
        },
    )
    assert "| persona | embedded |" in result["summary_md"]
    chart, archive = app.handout.path(result["chart"]), app.handout.path(result["zip"])
    assert chart.stat().st_size > 1000 and archive.name.endswith(".zip")
    assert app.handout.owner_of(chart) == "root" and app.handout.owner_of(archive) == "root"
    assert "out" not in result and str(tmp_path) not in json.dumps(result["summary"])  # no server path
    assert result["summary"]["files"] == ["triage/oracle_fairness_training_input_output.json"]
    runs = {r["algorithm"]: r for r in result["summary"]["runs"]}
    assert (
        set(runs) == {"persona", "unaligned", "random"}
        and runs["persona"]["overall"]["n"] == runs["random"]["overall"]["n"] > 0
    )
    app.store.close()
