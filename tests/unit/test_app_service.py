"""The app facade on a real SQLite store: decisions, profiles, refusals, admin actions."""

from __future__ import annotations

import json

import pytest

from alignment.errors import Conflict, InputError, NotFound, PermissionDenied
from assistant.app import AppService
from assistant.app import schemas as req
from tests.helpers.app import as_json, make_app
from tests.helpers.paths import DATASETS

SCENARIO = {"scenario": "Two patients, one kit.", "choices": ["the soldier", "the civilian"]}


def test_actor_requires_login_unless_local_mode(app: AppService, tmp_path):
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


def test_made_up_names_from_one_address_are_refused_before_any_password_check(app: AppService):
    """A stranger who makes up a new name for every attempt: past the address's limit no password is
    checked any more; a browser that logged in as alice before, and bob elsewhere, still log in."""
    from assistant.app.login_limit import AddressLimiter, TooManyFromAddress

    app.address_limiter = AddressLimiter(max_failures=5, window_s=600, cooldown_s=300)
    office = "198.51.100.7"
    device = app.devices.issue("alice", app.store.users.session_stamp("alice") or "")
    for i in range(5):
        assert not app.authenticate(f"u{i:012d}", "x", office)
    checked = app.password_checks.done
    assert checked == 5
    for i in range(20):
        with pytest.raises(TooManyFromAddress, match="from your network address"):
            app.authenticate(f"v{i:012d}", "x", office)
    with pytest.raises(TooManyFromAddress):  # a real name without the device cookie too
        app.authenticate("alice", "alice-password", office)
    assert app.password_checks.done == checked  # none of them cost a password check
    assert app.authenticate("alice", "alice-password", office, device)  # her browser
    assert app.authenticate("bob", "bob-password", "203.0.113.9")  # another address
    assert not app.authenticate("alice", "wrong", office, device)  # counted for her device only


def test_decide_with_targets_and_with_profile_is_logged(app: AppService):
    alice = app.actor("alice")
    high = as_json(
        app.decisions.decide(
            alice,
            app.parse(
                req.DecideAppRequest, {**SCENARIO, "targets": {"fairness": 0.9}, "algorithm": "persona"}
            ),
        )
    )
    assert high["choice"] == "the civilian" and high["log_id"] > 0 and "prompts" not in high
    app.profiles.create(alice, req.ProfileCreateRequest(name="careless", targets={"fairness": 0.1}))
    low = as_json(
        app.decisions.decide(
            alice,
            req.DecideAppRequest(**SCENARIO, profile="careless", algorithm="persona", include_prompts=True),
        )
    )
    assert low["choice"] == "the soldier" and low["target"] == {"fairness": 0.1}
    assert "fairness" in low["prompts"][0][0]["content"]
    entry = app.store.log.get(alice, low["log_id"])
    assert entry.profile_name == "careless" and entry.status == "ok"
    rnd = as_json(app.decisions.decide(alice, req.DecideAppRequest(**SCENARIO, algorithm="random", seed=3)))
    assert rnd["algorithm"] == "random" and rnd["choice"] in SCENARIO["choices"]


def test_decide_bad_requests_say_what_to_fix(app: AppService):
    alice = app.actor("alice")
    with pytest.raises(InputError, match="choices"):
        app.decisions.decide(alice, app.parse(req.DecideAppRequest, {"scenario": "x"}))
    with pytest.raises(InputError, match="colour"):
        app.decisions.decide(alice, app.parse(req.DecideAppRequest, {**SCENARIO, "colour": "red"}))
    with pytest.raises(InputError, match="unknown attribute 'fairnes'"):
        app.decisions.decide(
            alice,
            app.parse(
                req.DecideAppRequest, {**SCENARIO, "targets": {"fairnes": 0.5}, "algorithm": "persona"}
            ),
        )
    with pytest.raises(InputError, match="JSON object"):
        app.decisions.decide(alice, app.parse(req.DecideAppRequest, ["not", "an", "object"]))
    with pytest.raises(NotFound, match="no profile"):
        app.decisions.decide(alice, app.parse(req.DecideAppRequest, {**SCENARIO, "profile": "nope"}))


def test_profile_crud_and_ownership(app: AppService):
    alice, bob, root = app.actor("alice"), app.actor("bob"), app.actor("root")
    created = as_json(
        app.profiles.create(
            alice, req.ProfileCreateRequest(name="fair", description="d", targets={"fairness": 0.8})
        )
    )
    assert created["owner"] == "alice" and created["version"] == 1
    got = as_json(app.profiles.get(alice, req.ProfileNameRequest(name="fair")))
    assert got["targets"] == {"fairness": 0.8}
    updated = as_json(
        app.profiles.update(
            alice,
            req.ProfileUpdateRequest(name="fair", set_targets={"risk_aversion": 0.3}, expected_version=1),
        )
    )
    assert updated["targets"] == {"fairness": 0.8, "risk_aversion": 0.3} and updated["version"] == 2
    with pytest.raises(Conflict, match="changed by someone else"):
        app.profiles.update(
            alice, req.ProfileUpdateRequest(name="fair", set_targets={"fairness": 0.1}, expected_version=1)
        )
    # bob cannot see or touch alice's profile, by name or by naming her as owner
    with pytest.raises(NotFound, match="no profile 'fair'"):
        app.profiles.get(bob, req.ProfileNameRequest(name="fair"))
    with pytest.raises(PermissionDenied, match="user 'bob' may not act on 'alice''s profiles"):
        app.profiles.get(bob, req.ProfileNameRequest(name="fair", owner="alice"))
    with pytest.raises(PermissionDenied, match="user 'bob' may not act on 'alice''s profiles"):
        app.profiles.update(
            bob, req.ProfileUpdateRequest(name="fair", owner="alice", set_targets={"fairness": 0.0})
        )
    with pytest.raises(PermissionDenied, match="user 'bob' may not act on 'alice''s profiles"):
        app.profiles.delete(bob, req.ProfileDeleteRequest(name="fair", owner="alice"))
    assert as_json(app.profiles.list(bob, req.OwnerRequest()))["profiles"] == []
    # the admin sees everyone's
    assert [
        p["owner"] for p in as_json(app.profiles.list(root, req.OwnerRequest(all_users=True)))["profiles"]
    ] == ["alice"]
    assert as_json(app.profiles.get(root, req.ProfileNameRequest(name="fair", owner="alice")))["version"] == 2
    # export, delete, import restores it
    bundle = as_json(app.profiles.export(alice, req.ExportProfilesRequest()))
    assert json.dumps(bundle) and bundle["profiles"][0]["name"] == "fair"
    assert as_json(app.profiles.delete(alice, req.ProfileDeleteRequest(name="fair", expected_version=2))) == {
        "deleted": "fair"
    }
    with pytest.raises(NotFound, match="no profile 'fair'"):
        app.profiles.get(alice, req.ProfileNameRequest(name="fair"))
    imported = as_json(app.profiles.import_bundle(alice, req.ImportProfilesRequest(bundle=bundle)))
    assert imported["imported"][0]["targets"] == {"fairness": 0.8, "risk_aversion": 0.3}
    with pytest.raises(Conflict, match="profile 'fair' already exists; nothing was imported"):
        app.profiles.import_bundle(alice, req.ImportProfilesRequest(bundle=bundle))
    with pytest.raises(InputError, match="must be in"):
        app.profiles.create(
            alice, app.parse(req.ProfileCreateRequest, {"name": "bad", "targets": {"fairness": 1.5}})
        )


def test_admin_actions_are_refused_to_users(app: AppService):
    alice, root = app.actor("alice"), app.actor("root")
    definition = {
        "attribute": {"name": "candour", "description": "Saying plainly what one thinks", "domain": "generic"}
    }
    with pytest.raises(PermissionDenied, match="only an admin"):
        app.admin.upsert_attribute(alice, app.parse(req.AttributeRequest, definition))
    with pytest.raises(PermissionDenied, match="only an admin"):
        app.admin.add_user(alice, req.AddUserRequest(name="eve", password="eve-password"))
    with pytest.raises(PermissionDenied, match="only an admin"):
        app.admin.set_role(alice, req.SetRoleRequest(name="alice", role="admin"))
    with pytest.raises(PermissionDenied, match="only an admin"):
        app.examples.search(alice, req.ExampleSearchRequest(query="kit"))
    assert [u["name"] for u in as_json(app.admin.users(alice))["users"]] == ["alice"]
    # the admin may
    assert (
        as_json(app.admin.upsert_attribute(root, app.parse(req.AttributeRequest, definition)))["created"] == 1
    )
    assert "candour" in app.service.attributes  # decisions now describe it
    assert any(
        a["name"] == "candour"
        for a in as_json(app.admin.attributes(alice, req.DomainRequest()))["attributes"]
    )
    assert as_json(app.admin.add_user(root, req.AddUserRequest(name="eve", password="eve-password")))[
        "has_password"
    ]
    assert app.authenticate("eve", "eve-password")
    app.admin.set_role(root, req.SetRoleRequest(name="eve", role="admin"))
    assert app.actor("eve").is_admin
    with pytest.raises(InputError, match="at least 8"):
        app.admin.set_password(
            alice, app.parse(req.SetPasswordRequest, {"name": "alice", "password": "short"})
        )
    with pytest.raises(PermissionDenied, match="current password"):  # one's own: the current one too
        app.admin.set_password(alice, req.SetPasswordRequest(name="alice", password="a-new-password"))
    with pytest.raises(PermissionDenied, match="current password is not right"):
        app.admin.set_password(
            alice,
            req.SetPasswordRequest(name="alice", password="a-new-password", current_password="wrong-one"),
        )
    done = as_json(
        app.admin.set_password(
            alice,
            req.SetPasswordRequest(
                name="alice", password="a-new-password", current_password="alice-password"
            ),
        )
    )
    assert not done["reset"] and "password was changed" in done["message"]
    assert app.authenticate("alice", "a-new-password")


def test_compare_columns_resolve_profiles_and_mark_disagreement(app: AppService):
    alice = app.actor("alice")
    app.profiles.create(alice, req.ProfileCreateRequest(name="fair", targets={"fairness": 0.9}))
    result = as_json(
        app.decisions.compare(
            alice,
            req.CompareAppRequest(
                **SCENARIO,
                columns=[
                    {"algorithm": "persona", "profile": "fair"},
                    {"algorithm": "persona", "targets": {"fairness": 0.2}},
                    {"algorithm": "persona", "targets": {"fairness": 0.95}},
                ],
            ),
        )
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
        app.decisions.compare(
            app.actor("bob"),
            req.CompareAppRequest(**SCENARIO, columns=[{"profile": "fair"}, {"algorithm": "random"}]),
        )
    with pytest.raises(InputError, match="columns"):
        app.decisions.compare(
            alice, app.parse(req.CompareAppRequest, {**SCENARIO, "columns": [{"algorithm": "random"}]})
        )
    with pytest.raises(InputError, match="unknown attribute"):
        app.decisions.compare(
            alice,
            app.parse(
                req.CompareAppRequest,
                {**SCENARIO, "columns": [{"targets": {"nope": 1}}, {"algorithm": "random"}]},
            ),
        )


def test_evaluate_is_capped_and_confined_to_the_datasets_dir(tmp_path):
    app = make_app(tmp_path, datasets_dir=DATASETS)
    alice, root = app.actor("alice"), app.actor("root")
    assert "triage/oracle_fairness_training_input_output.json" in app.evaluation.dataset_files()
    with pytest.raises(PermissionDenied, match="only an admin"):  # evaluations are for admins
        app.evaluation.evaluate(
            alice, req.EvaluateRequest(files=["triage/oracle_fairness_training_input_output.json"], limit=1)
        )
    with pytest.raises(InputError, match="cap of 3"):
        app.evaluation.evaluate(
            root,
            app.parse(
                req.EvaluateRequest,
                {"files": ["triage/oracle_fairness_training_input_output.json"], "limit": 4},
            ),
        )
    with pytest.raises(InputError, match="no dataset file"):
        app.evaluation.evaluate(
            root, app.parse(req.EvaluateRequest, {"files": ["../pyproject.toml"], "limit": 1})
        )
    result = as_json(
        app.evaluation.evaluate(
            root,
            req.EvaluateRequest(
                files=["triage/oracle_fairness_training_input_output.json"], algorithms=["persona"], limit=2
            ),
        )
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


def test_exports_count_against_the_requests_per_minute(app: AppService):
    """Each export writes a file that is handed out: asking again and again is limited like any
    other request (the handout also bounds what one person holds)."""
    from assistant.app.usage_limits import TooManyRequests

    alice = app.actor("alice")
    assert app.profiles.limits is not None
    limit = app.profiles.limits.rate.per_minute
    for _ in range(limit):
        app.profiles.export(alice, req.ExportProfilesRequest())
    with pytest.raises(TooManyRequests):
        app.profiles.export(alice, req.ExportProfilesRequest())


def test_every_named_endpoint_calls_a_method_of_the_app(app: AppService):
    """ui.api's endpoints name the facade method that answers them ("profiles.update"): each is one."""
    from operator import attrgetter

    from ui.api import ENDPOINTS

    named = {name: e.call for name, e in ENDPOINTS.items() if isinstance(e.call, str)}
    assert len(named) > 20
    for name, method in named.items():
        assert callable(attrgetter(method)(app)), name
