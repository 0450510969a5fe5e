"""Pure logic of the profile store: schemas, seeds, attribute expansion, logging of decisions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from alignment.errors import UnknownName
from alignment.fake import FakeBackbone
from assistant.backbones import BackbonePool
from assistant.decisions.logged import decide_logged, request_with_profile
from assistant.decisions.service import DecideRequest, DecisionService
from assistant.settings import Settings
from profiles import migrate
from profiles.attributes import alignment_attributes
from profiles.profile_store import ProfileTarget
from profiles.schemas import (
    AttributeCreate,
    AttributePublic,
    DecisionLogCreate,
    ProfileBundle,
    ProfilePublic,
    ProfileUpdate,
)
from profiles.seed import PACKS, load_pack
from profiles.tx import near_names, unknown_attribute

REPO = Path(__file__).resolve().parents[2]


def test_head_constant_matches_the_migration_scripts() -> None:
    assert migrate.head_revision() == migrate.HEAD


def test_seed_packs_cover_the_data() -> None:
    triage = {a.name for a in load_pack("triage")}
    assert triage == {
        "moral_deservingness",
        "utilitarianism",
        "fairness",
        "protocol_focus",
        "risk_aversion",
        "continuation_of_care",
        "Moral judgement",
        "QualityOfLife",
    }
    categories = load_pack("opinionqa")
    assert [c.name for c in categories] == [
        "CREGION",
        "AGE",
        "SEX",
        "EDUCATION",
        "CITIZEN",
        "MARITAL",
        "RELIG",
        "RELIGATTEND",
        "POLPARTY",
        "INCOME",
        "POLIDEOLOGY",
        "RACE",
    ]
    keys = {f"{c.name}_{g.key}" for c in categories for g in c.groups}
    data_keys = {
        p.name.removesuffix("_input_output.json") for p in (REPO / "datasets" / "opinionqa").glob("*.json")
    }
    assert data_keys and data_keys <= keys  # every group in the data is a seeded group
    for item in [*load_pack("triage"), *categories]:
        assert item.description and item.high and item.low
    with pytest.raises(UnknownName, match="unknown seed pack 'nope'"):
        load_pack("nope")
    assert PACKS == ("triage", "opinionqa", "everyday", "moral_foundations", "schwartz")


def test_everyday_packs_are_complete_and_names_are_unique() -> None:
    moral = [a.name for a in load_pack("moral_foundations")]
    assert moral == ["care", "equality", "loyalty", "authority", "sanctity", "liberty"]
    schwartz = [a.name for a in load_pack("schwartz")]
    assert schwartz == [
        "self_direction",
        "stimulation",
        "hedonism",
        "achievement",
        "power",
        "security",
        "conformity",
        "tradition",
        "benevolence",
        "universalism",
    ]
    for item in [*load_pack("moral_foundations"), *load_pack("schwartz")]:
        assert item.kind == "scalar" and item.domain == "everyday"
        assert (item.scale_min, item.scale_max) == (0.0, 1.0)
        assert item.label and item.description and item.high and item.low
    names = [a.name for pack in PACKS for a in load_pack(pack)]
    assert len(names) == len(set(names))  # attribute names are global: no pack may reuse another's


def test_category_expands_to_group_attributes() -> None:
    sex = AttributePublic.model_validate(
        {
            **next(a for a in load_pack("opinionqa") if a.name == "SEX").model_dump(),
            "id": 1,
            "created_at": "2026-01-01T00:00:00",
            "updated_at": "2026-01-01T00:00:00",
        }
    )
    attrs = alignment_attributes(sex)
    assert set(attrs) == {"SEX_Male", "SEX_Female"}
    assert "'Female'" in attrs["SEX_Female"].description and attrs["SEX_Female"].domain == "opinion"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "X", "kind": "category"}, "has no groups"),
        ({"name": "X", "groups": [{"key": "a"}]}, "cannot have groups"),
        ({"name": "X", "kind": "category", "groups": [{"key": "a"}, {"key": "a"}]}, "groups twice"),
        ({"name": "X", "scale_min": 1, "scale_max": 0}, "must be below"),
        ({"name": "a\nb"}, "one line"),
    ],
)
def test_attribute_schema_errors(data, message) -> None:
    with pytest.raises(ValidationError, match=message):
        AttributeCreate(**data)


def test_bundle_and_update_schemas() -> None:
    with pytest.raises(ValidationError, match="lists profiles twice"):
        ProfileBundle.model_validate({"profiles": [{"name": "a", "targets": {"x": 0.1}}] * 2})
    with pytest.raises(ValidationError, match=r"format\n  Input should be 'align-profiles/1'"):
        ProfileBundle.model_validate({"format": "other/9", "profiles": []})
    with pytest.raises(ValidationError, match="must be in"):
        ProfileUpdate(set_targets={"x": 3})
    with pytest.raises(ValidationError, match="finite"):
        ProfileUpdate(set_targets={"x": True})


def test_near_names_and_unknown_message() -> None:
    known = ["fairness", "utilitarianism", "risk_aversion", "QualityOfLife"]
    assert near_names("fairnes", known)[0] == "fairness"
    assert near_names("qualityoflife", known) == ["QualityOfLife"]
    assert "did you mean 'risk_aversion'" in str(unknown_attribute("risk", known))
    assert "align db seed" in str(unknown_attribute("x", []))


class ListLog:
    def __init__(self) -> None:
        self.entries: list[DecisionLogCreate] = []

    def record(self, entry: DecisionLogCreate) -> int:
        self.entries.append(entry)
        return len(self.entries)


def _profile() -> ProfileTarget:
    from alignment.models import Attribute

    public = ProfilePublic(
        id=5,
        owner="alice",
        name="medic",
        description="",
        targets={"fairness": 0.9},
        groups={},
        version=3,
        created_at="2026-01-01T00:00:00",
        updated_at="2026-01-01T00:00:00",
    )
    return ProfileTarget(
        profile=public,
        values={"fairness": 0.9},
        attributes={"fairness": Attribute(name="fairness", high="treats all alike")},
    )


def _service(tmp_path: Path, replies: list) -> DecisionService:
    settings = Settings(data_dir=tmp_path)
    pool = BackbonePool(settings)
    pool.add(FakeBackbone(replies, name="embedded"))
    return DecisionService(settings, pool)


def test_decide_logged_records_request_result_prompts_and_profile(tmp_path: Path) -> None:
    service, log = _service(tmp_path, [{"reasoning": "fair to all", "choice": "B"}]), ListLog()
    request = DecideRequest(
        scenario="Two patients.", choices=["a", "b"], algorithm="persona", target={"risk_aversion": 0.2}
    )
    logged = decide_logged(service, request, log, profile=_profile())
    assert logged.log_id == 1 and logged.decision.choice == "b"
    (entry,) = log.entries
    assert (
        entry.status == "ok" and entry.profile_id == 5 and entry.profile_snapshot["profile"]["version"] == 3
    )
    assert entry.request["target"] == {"fairness": 0.9, "risk_aversion": 0.2}
    assert entry.algorithm == "persona" and entry.backbone == "embedded" and entry.result["choice"] == "b"
    system = entry.prompts[0][0]["content"]
    assert "treats all alike" in system  # the profile's definition reached the persona prompt
    assert "prompts" not in entry.result and entry.duration_s >= 0


def test_decide_logged_records_failures_then_raises(tmp_path: Path) -> None:
    from alignment.errors import InvalidModelOutput

    service, log = _service(tmp_path, ["garbage"] * 5), ListLog()
    request = DecideRequest(
        scenario="Two patients.", choices=["a", "b"], algorithm="persona", target={"fairness": 0.5}
    )
    with pytest.raises(
        InvalidModelOutput, match=r"gave no valid answer after 3 attempts \(ValueError: no JSON object"
    ):
        decide_logged(service, request, log)
    (entry,) = log.entries
    assert entry.status == "failed" and entry.error and entry.result is None
    assert entry.algorithm == "persona" and entry.backbone == "embedded"
    json.dumps(entry.model_dump(mode="json"))  # storable as JSON


def test_inline_target_overrides_profile() -> None:
    request = DecideRequest(scenario="s", choices=["a", "b"], target={"fairness": 0.1})
    assert request_with_profile(request, _profile()).target == {"fairness": 0.1}
    assert request_with_profile(request, None) is request
