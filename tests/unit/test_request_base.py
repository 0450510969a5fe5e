"""One request base (DecisionOptions), the attribute catalogue, who acts, and serve's settings loader."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from alignment.fake import FakeBackbone
from assistant.app.schemas import MAX_COLUMNS, CompareAppRequest, DecideAppRequest, ProfileUpdateRequest
from assistant.backbones import BackbonePool
from assistant.decisions.chat import ChatRequest
from assistant.decisions.compare import CompareColumn, CompareRequest, compare
from assistant.decisions.requests import MAX_PARAMS, DecisionOptions
from assistant.decisions.service import DecisionService
from assistant.settings import Settings
from profiles.schemas import AttributeCreate, ProfileUpdate, UserCreate
from profiles.store import open_store
from profiles.users import LOCAL_USER

SCENARIO = {"scenario": "Two patients, one kit.", "choices": ["soldier", "civilian"]}


@pytest.mark.parametrize("model", [ChatRequest, CompareColumn, DecideAppRequest])
def test_every_door_takes_the_same_bounded_options_and_either_name_for_the_values(model):
    base = {"message": "hi"} if model is ChatRequest else SCENARIO if model is DecideAppRequest else {}
    options = {"algorithm": "persona", "backbone": "embedded", "params": {"temperature": 0.2}, "seed": 4}
    for name in ("target", "targets"):
        request = model.model_validate({**base, **options, name: {"fairness": 0.8}})
        assert request.target == {"fairness": 0.8}
        assert request.model_dump(include=set(DecisionOptions.model_fields)) == {**options, "decider": None}
    too_many = {f"p{i}": 1 for i in range(MAX_PARAMS + 1)}
    for wrong in ({"algorithm": "x" * 101}, {"params": too_many}, {"params": {"k" * 101: 1}}, {"seed": -1}):
        with pytest.raises(ValidationError):
            model.model_validate({**base, **wrong})


def test_a_comparison_answers_with_its_columns_as_they_were_asked(tmp_path):
    seen = []

    def reply(request, k):
        seen.append(request.seed)
        return {"reasoning": "r", "choice": "A"}

    settings = Settings(data_dir=tmp_path)
    pool = BackbonePool(settings)
    pool.add(FakeBackbone(reply, name="embedded"))
    columns = [{"algorithm": "persona", "targets": {"fairness": 0.9}}, {"algorithm": "persona", "target": {"fairness": 0.1}, "seed": 9}]
    request = CompareRequest.model_validate({**SCENARIO, "columns": columns, "seed": 3})
    result = compare(DecisionService(settings, pool), request, lambda column: column.target)
    exported = json.loads(result.model_dump_json())
    assert [r["column"] for r in exported["results"]] == [
        {"algorithm": "persona", "decider": None, "backbone": None, "params": {}, "targets": {"fairness": 0.9},
         "profile": None},
        {"algorithm": "persona", "decider": None, "backbone": None, "params": {}, "seed": 9,
         "targets": {"fairness": 0.1}, "profile": None},
    ]
    assert sorted(seen) == [3, 9]  # a column's own seed beats the comparison's
    with pytest.raises(ValidationError):
        CompareAppRequest.model_validate({**SCENARIO, "columns": [{}] * (MAX_COLUMNS + 1)})


def test_profile_requests_are_the_store_schemas_and_their_bounds():
    assert issubclass(ProfileUpdateRequest, ProfileUpdate)
    for wrong in ({"expected_version": 2**31}, {"expected_version": 0}, {"rename": "x" * 101}):
        with pytest.raises(ValidationError):
            ProfileUpdateRequest.model_validate({"name": "p", **wrong})


def _definition(name: str, description: str) -> AttributeCreate:
    return AttributeCreate(name=name, description=description, domain="generic")


def test_the_catalogue_is_read_once_and_again_after_an_edit(tmp_path):
    url = f"sqlite:///{tmp_path / 'cat.sqlite3'}"
    store, other = open_store(url), open_store(url)  # `other`: another process on the same database
    try:
        root = store.users.actor(store.users.add(None, UserCreate(name="root", role="admin")).name)
        store.attributes.upsert(root, [_definition("candour", "Saying plainly what one thinks")])
        now = [0.0]
        catalogue = type(store.catalogue)(store.attributes, max_age_s=2.0, clock=lambda: now[0])
        assert catalogue.current()["candour"].description == "Saying plainly what one thinks"
        other.attributes.upsert(root, [_definition("thrift", "Spending little")])
        assert "thrift" not in catalogue.current()  # cached: another process's edit waits its age
        now[0] = 2.5
        assert "thrift" in catalogue.current()
        store.attributes.upsert(root, [_definition("candour", "Saying what one thinks, kindly")])
        assert catalogue.current()["candour"].description == "Saying what one thinks, kindly"  # at once
    finally:
        store.close()
        other.close()


def test_who_acts_is_one_rule(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'who.sqlite3'}")
    try:
        store.users.add(None, UserCreate(name="alice"))
        assert store.users.acting(None, local=False) is None  # each door refuses in its own words
        local = store.users.acting(None, local=True)
        assert local is not None and local.name == LOCAL_USER and local.is_admin
        assert store.users.acting(LOCAL_USER, local=True) == local
        alice = store.users.acting("alice", local=False)
        assert alice is not None and alice.name == "alice" and not alice.is_admin
    finally:
        store.close()


def test_serve_loads_its_settings_with_the_serving_defaults(monkeypatch, tmp_path):
    from assistant.cli import build_parser

    monkeypatch.setenv("ALIGN_DATA_DIR", str(tmp_path))
    serve = build_parser().parse_args(["serve"])
    settings = serve.settings_loader()
    assert settings.backbones["embedded"].options().get("n_threads") is not None
    one_off = build_parser().parse_args(["config", "show"])
    assert not hasattr(one_off, "settings_loader")
