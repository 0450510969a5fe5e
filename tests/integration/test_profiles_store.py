"""The profile store against real SQLite and real PostgreSQL: the same suite on both."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alignment.errors import Conflict, InputError, NotFound, PermissionDenied
from profiles.orm import AttributeDefRow, ProfileRow
from profiles.schemas import (
    Actor,
    ConversationCreate,
    DecisionLogCreate,
    MessageCreate,
    ProfileBundle,
    ProfileCreate,
    ProfileDocument,
    ProfileUpdate,
    UserCreate,
)
from profiles.seed import seed
from profiles.store import Store, open_store
from tests.helpers.profiles_dbs import BACKENDS, store_on


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with store_on(request.param, tmp_path) as store:
        yield store


@pytest.fixture
def admin(store: Store) -> Actor:
    actor = store.users.ensure("root", role="admin")
    seed(store.attributes, actor)
    return actor


@pytest.fixture
def alice(store: Store, admin: Actor) -> Actor:
    store.users.add(admin, UserCreate(name="alice", password="alice-secret"))
    return store.users.actor("alice")


@pytest.fixture
def bob(store: Store, admin: Actor) -> Actor:
    store.users.add(admin, UserCreate(name="bob", password="bob-secret!"))
    return store.users.actor("bob")


def _count(store: Store, model: type) -> int:
    with store.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


# -- users ------------------------------------------------------------------------------------


def test_users_passwords_are_hashed_and_checked(store: Store, admin: Actor, alice: Actor) -> None:
    assert store.users.authenticate("alice", "alice-secret") == alice
    assert store.users.authenticate("alice", "wrong-password") is None
    assert store.users.authenticate("nobody", "alice-secret") is None
    with store.sessions() as s:
        from profiles.orm import UserRow

        stored = s.scalar(select(UserRow.password_hash).where(UserRow.name == "alice"))
    assert stored is not None and stored.startswith("$argon2") and "alice-secret" not in stored


def test_users_duplicate_and_permissions(store: Store, admin: Actor, alice: Actor) -> None:
    with pytest.raises(Conflict, match="already exists"):
        store.users.add(admin, UserCreate(name="alice"))
    with pytest.raises(PermissionDenied, match="only an admin"):
        store.users.add(alice, UserCreate(name="mallory"))
    with pytest.raises(PermissionDenied, match="user 'alice' may not change 'root''s password"):
        store.users.set_password(alice, "root", "new-root-password")
    with pytest.raises(PermissionDenied, match="current password"):
        store.users.set_password(alice, "alice", "alice-new-secret")
    changed = store.users.set_password(alice, "alice", "alice-new-secret", current="alice-secret")
    assert not changed.reset and changed.api_keys_revoked == 0
    assert store.users.authenticate("alice", "alice-new-secret") == alice
    # an admin's reset revokes the user's API keys (and only theirs)
    from profiles.api_keys import ApiKeyCreate

    keys = [store.api_keys.create(alice, ApiKeyCreate()).key for _ in range(2)]
    admins = store.api_keys.create(admin, ApiKeyCreate()).key
    reset = store.users.set_password(admin, "alice", "alice-reset-secret")
    assert reset.reset and reset.api_keys_revoked == 2
    for key in keys:
        with pytest.raises(PermissionDenied, match="revoked"):
            store.api_keys.authenticate(key)
    assert store.api_keys.authenticate(admins).name == admin.name
    assert store.users.set_password(admin, "alice", "alice-reset-again").api_keys_revoked == 0
    assert [u.name for u in store.users.list(alice)] == ["alice"]
    assert {u.name for u in store.users.list(admin)} == {"root", "alice"}


# -- attribute definitions ----------------------------------------------------------------------


def test_seed_is_idempotent(store: Store, admin: Actor) -> None:
    before = [a.model_dump(exclude={"created_at", "updated_at"}) for a in store.attributes.list()]
    counts = seed(store.attributes, admin)
    after = [a.model_dump(exclude={"created_at", "updated_at"}) for a in store.attributes.list()]
    assert counts == {"created": 0, "updated": 0, "unchanged": 56}
    assert before == after and _count(store, AttributeDefRow) == 56
    names = {a["name"] for a in after}
    assert {"moral_deservingness", "Moral judgement", "QualityOfLife", "POLIDEOLOGY", "RELIGATTEND"} <= names
    assert {"care", "equality", "liberty", "self_direction", "universalism"} <= names
    sex = store.attributes.get("SEX")
    assert sex.kind == "category" and [g.key for g in sex.groups] == ["Male", "Female"]
    assert all(a["high"] and a["low"] and a["description"] for a in after)


def test_attributes_admin_only_and_near_names(store: Store, admin: Actor, alice: Actor) -> None:
    from profiles.schemas import AttributeCreate

    with pytest.raises(PermissionDenied, match="only an admin"):
        store.attributes.add(alice, AttributeCreate(name="candour"))
    with pytest.raises(InputError, match="did you mean 'utilitarianism'"):
        store.attributes.get("utilitarism")
    store.attributes.add(
        admin,
        AttributeCreate(name="candour", high="says plainly what they think", low="keeps it to themselves"),
    )
    with pytest.raises(Conflict, match="attribute 'candour' already exists"):
        store.attributes.add(admin, AttributeCreate(name="candour"))


# -- profiles -----------------------------------------------------------------------------------


def test_profile_create_show_and_target(store: Store, alice: Actor) -> None:
    created = store.profiles.create(
        alice,
        ProfileCreate(
            name="medic", targets={"fairness": 0.9, "risk_aversion": 0.1}, groups={"SEX": "female"}
        ),
    )
    assert created.version == 1 and created.owner == "alice" and created.groups == {"SEX": "Female"}
    target = store.profiles.load_target(alice, "medic")
    assert target.values == {"fairness": 0.9, "risk_aversion": 0.1, "SEX_Female": 1.0}
    assert target.attributes["fairness"].high.startswith("treats everyone the same")
    assert "Female" in target.attributes["SEX_Female"].description
    assert [p.name for p in store.profiles.list(alice)] == ["medic"]


@pytest.mark.parametrize(
    ("targets", "groups", "message"),
    [
        ({"fairnes": 0.5}, {}, "unknown attribute 'fairnes'; did you mean 'fairness'"),
        ({"SEX": 1.0}, {}, "is a demographic category"),
        ({}, {"SEX": "Robot"}, "unknown group 'Robot' of SEX"),
        ({}, {"GENDER": "Female"}, "unknown demographic category 'GENDER'"),
    ],
)
def test_profile_bad_attributes_write_nothing(store: Store, alice: Actor, targets, groups, message) -> None:
    with pytest.raises(InputError, match=message):
        store.profiles.create(alice, ProfileCreate(name="bad", targets=targets, groups=groups))
    assert _count(store, ProfileRow) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "p", "targets": {"fairness": 1.5}}, "must be in \\[0, 1\\]"),
        ({"name": "p", "targets": {"fairness": -0.1}}, "must be in \\[0, 1\\]"),
        ({"name": "p", "targets": {"fairness": math.nan}}, "finite number"),
        ({"name": "p", "targets": {"fairness": math.inf}}, "finite number"),
        ({"name": "  ", "targets": {"fairness": 0.5}}, "name is empty"),
        ({"name": "p", "targets": {}}, "has no targets"),
    ],
)
def test_profile_bad_values_rejected_by_schema(data, message) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        ProfileCreate(**data)


def test_profile_duplicate_name_conflicts(store: Store, alice: Actor, bob: Actor) -> None:
    store.profiles.create(alice, ProfileCreate(name="medic", targets={"fairness": 0.5}))
    with pytest.raises(Conflict, match="already exists"):
        store.profiles.create(alice, ProfileCreate(name="medic", targets={"fairness": 0.7}))
    store.profiles.create(bob, ProfileCreate(name="medic", targets={"fairness": 0.2}))  # per-owner names
    assert store.profiles.get(alice, "medic").targets == {"fairness": 0.5}


def test_profile_update_versions_and_stale_conflict(store: Store, alice: Actor) -> None:
    store.profiles.create(alice, ProfileCreate(name="medic", targets={"fairness": 0.5}))
    first = store.profiles.update(
        alice, "medic", ProfileUpdate(set_targets={"utilitarianism": 0.7}, expected_version=1)
    )
    assert first.version == 2 and first.targets == {"fairness": 0.5, "utilitarianism": 0.7}
    with pytest.raises(Conflict, match="changed by someone else"):
        store.profiles.update(
            alice, "medic", ProfileUpdate(set_targets={"fairness": 0.0}, expected_version=1)
        )
    now = store.profiles.get(alice, "medic")
    assert now.version == 2 and now.targets["fairness"] == 0.5  # nothing lost, nothing overwritten
    renamed = store.profiles.update(
        alice, "medic", ProfileUpdate(rename="triage", unset_targets=["fairness"])
    )
    assert renamed.name == "triage" and renamed.targets == {"utilitarianism": 0.7} and renamed.version == 3
    with pytest.raises(InputError, match="no targets left"):
        store.profiles.update(alice, "triage", ProfileUpdate(unset_targets=["utilitarianism"]))


def test_concurrent_update_two_connections(store: Store, alice: Actor, tmp_path: Path) -> None:
    """Two real connections: the second writer of the same version gets a conflict, no lost update."""
    from sqlalchemy.orm.exc import StaleDataError

    store.profiles.create(alice, ProfileCreate(name="medic", targets={"fairness": 0.5}))
    # a second engine (its own connection) on the same database
    assert store.engine is not None
    other = open_store(
        store.engine.url.render_as_string(hide_password=False),
        schema=_schema(store),
        upgrade=False,
    )
    try:
        with store.sessions() as slow:
            row = slow.scalar(select(ProfileRow).where(ProfileRow.name == "medic"))
            assert row is not None and row.version == 1
            slow.commit()  # end the read; the row object keeps version 1
            other.profiles.update(alice, "medic", ProfileUpdate(set_targets={"fairness": 0.9}))
            row.targets = {"fairness": 0.1}
            with pytest.raises(StaleDataError, match=r"expected to update 1 row\(s\); 0 were matched"):
                slow.commit()
    finally:
        other.close()
    final = store.profiles.get(alice, "medic")
    assert final.targets == {"fairness": 0.9} and final.version == 2


def _schema(store: Store) -> str | None:
    assert store.engine is not None
    if store.engine.dialect.name != "postgresql":
        return None
    with store.engine.connect() as conn:
        return str(conn.exec_driver_sql("select current_schema()").scalar())


# -- access control -----------------------------------------------------------------------------


def test_profiles_access_control(store: Store, admin: Actor, alice: Actor, bob: Actor) -> None:
    p = store.profiles.create(alice, ProfileCreate(name="mine", targets={"fairness": 0.5}))
    with pytest.raises(PermissionDenied, match="user 'bob' may not act on 'alice''s profiles"):
        store.profiles.get(bob, "mine", owner="alice")
    with pytest.raises(PermissionDenied, match="user 'bob' may not act on 'alice''s profiles"):
        store.profiles.update(bob, "mine", ProfileUpdate(set_targets={"fairness": 1.0}), owner="alice")
    with pytest.raises(PermissionDenied, match="user 'bob' may not act on 'alice''s profiles"):
        store.profiles.delete(bob, "mine", owner="alice")
    with pytest.raises(NotFound, match="no profile 'mine'"):
        store.profiles.get(bob, "mine")  # bob's own namespace has no such profile
    with pytest.raises(NotFound, match=r"no profile with id \d+"):
        store.profiles.get_by_id(bob, p.id)  # looks exactly like a missing one
    with pytest.raises(PermissionDenied, match="user 'bob' may not act on 'alice''s profiles"):
        store.profiles.list(bob, owner="alice")
    assert store.profiles.get(alice, "mine").targets == {"fairness": 0.5}  # untouched
    # the admin may do all
    assert store.profiles.get(admin, "mine", owner="alice").id == p.id
    assert store.profiles.get_by_id(admin, p.id).owner == "alice"
    store.profiles.update(admin, "mine", ProfileUpdate(description="checked"), owner="alice")
    assert {x.owner for x in store.profiles.list(admin, all_users=True)} == {"alice"}
    store.profiles.delete(admin, "mine", owner="alice")
    assert store.profiles.list(alice) == []


def test_conversations_access_control(store: Store, admin: Actor, alice: Actor, bob: Actor) -> None:
    store.profiles.create(alice, ProfileCreate(name="mine", targets={"fairness": 0.5}))
    conv = store.conversations.create(alice, ConversationCreate(title="triage talk", profile="mine"))
    store.conversations.add_message(alice, conv.id, MessageCreate(role="user", content="hello"))
    store.conversations.add_message(alice, conv.id, MessageCreate(role="assistant", content="hi"))
    assert [m.content for m in store.conversations.messages(alice, conv.id)] == ["hello", "hi"]
    with pytest.raises(NotFound, match=r"no conversation with id \d+"):
        store.conversations.messages(bob, conv.id)
    with pytest.raises(NotFound, match=r"no conversation with id \d+"):
        store.conversations.add_message(bob, conv.id, MessageCreate(role="user", content="intrude"))
    with pytest.raises(NotFound, match=r"no conversation with id \d+"):
        store.conversations.delete(bob, conv.id)
    with pytest.raises(PermissionDenied, match="user 'bob' may not act on 'alice''s conversations"):
        store.conversations.list(bob, owner="alice")
    assert store.conversations.list(bob) == []
    assert len(store.conversations.messages(admin, conv.id)) == 2
    store.conversations.delete(admin, conv.id)
    assert store.conversations.list(alice) == []


def _entry(n: int, status: str = "ok") -> DecisionLogCreate:
    return DecisionLogCreate(
        status=status,  # type: ignore[arg-type]
        request={"scenario": f"s{n}", "choices": ["a", "b"], "target": {"fairness": 0.5}},
        result={"choice": "a", "justification": "j"} if status == "ok" else None,
        error=None if status == "ok" else "boom",
        algorithm="random",
        backbone="none",
        prompts=[[{"role": "user", "content": f"p{n}"}]],
        timings={"total_s": 0.01},
        duration_s=0.01,
    )


def test_decision_log_access_and_paging(store: Store, admin: Actor, alice: Actor, bob: Actor) -> None:
    ids = [store.log.record(alice, _entry(i)) for i in range(5)]
    failed = store.log.record(alice, _entry(99, "failed"))
    bob_id = store.log.record(bob, _entry(7))
    listed = store.log.list(alice, limit=3)
    assert [e.id for e in listed] == [failed, ids[4], ids[3]]
    assert listed[0].status == "failed" and listed[0].error == "boom" and listed[1].choice == "a"
    assert [e.id for e in store.log.list(alice, limit=3, before_id=ids[3])] == ids[:3][::-1]
    full = store.log.get(alice, ids[0])
    assert full.request["scenario"] == "s0" and full.prompts == [[{"role": "user", "content": "p0"}]]
    with pytest.raises(NotFound, match=r"no decision log entry \d+"):
        store.log.get(bob, ids[0])
    with pytest.raises(PermissionDenied, match="user 'bob' may not act on 'alice''s decision log"):
        store.log.list(bob, owner="alice")
    assert [e.id for e in store.log.list(bob)] == [bob_id]
    assert store.log.get(admin, ids[0]).user == "alice"
    assert len(store.log.list(admin, all_users=True, limit=100)) == 7
    exported = list(store.log.export(alice, batch=2))
    assert [e.id for e in exported] == [*ids, failed]


# -- export / import ----------------------------------------------------------------------------


def test_export_import_round_trip_exact(store: Store, alice: Actor, bob: Actor) -> None:
    store.profiles.create(
        alice,
        ProfileCreate(
            name="Ünïcode médic",
            description="line one\nline two",
            targets={"fairness": 0.123456789, "utilitarianism": 1.0, "risk_aversion": 0.0},
            groups={"INCOME": "$100,000_or_more", "EDUCATION": "College_graduate_some_postgrad"},
        ),
    )
    store.profiles.create(alice, ProfileCreate(name="plain", targets={"QualityOfLife": 0.3}))
    exported = store.profiles.export(alice)
    text = exported.model_dump_json()
    imported = store.profiles.import_bundle(bob, ProfileBundle.model_validate_json(text))
    assert [p.name for p in imported] == ["plain", "Ünïcode médic"]
    assert store.profiles.export(bob).model_dump_json() == text


def _after_a_new_one(last: ProfileDocument) -> ProfileBundle:
    """A bundle of a valid profile the store does not hold yet (``new-one``), then ``last``."""
    return ProfileBundle(profiles=[ProfileDocument(name="new-one", targets={"fairness": 0.1}), last])


def test_import_is_all_or_nothing(store: Store, alice: Actor) -> None:
    store.profiles.create(alice, ProfileCreate(name="existing", targets={"fairness": 0.5}))
    bad = _after_a_new_one(ProfileDocument(name="broken", targets={"no_such_attribute": 0.1}))
    with pytest.raises(InputError, match="profile 'broken': unknown attribute"):
        store.profiles.import_bundle(alice, bad)
    clash = _after_a_new_one(ProfileDocument(name="existing", targets={"fairness": 0.9}))
    with pytest.raises(Conflict, match="nothing was imported"):
        store.profiles.import_bundle(alice, clash)
    assert [p.name for p in store.profiles.list(alice)] == ["existing"]
    store.profiles.import_bundle(alice, clash, replace=True)
    assert store.profiles.get(alice, "existing").targets == {"fairness": 0.9}
    assert [p.name for p in store.profiles.list(alice)] == ["existing", "new-one"]
