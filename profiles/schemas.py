"""Pydantic schemas per direction: what comes in (Create/Update), what goes out (Public)."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from alignment.models import clean_text

__all__ = [
    "EXPORT_FORMAT",
    "Actor",
    "AttributeCreate",
    "AttributeGroup",
    "AttributePublic",
    "ConversationCreate",
    "ConversationPublic",
    "DecisionLogCreate",
    "DecisionLogPublic",
    "DecisionLogSummary",
    "MessageCreate",
    "MessagePublic",
    "ProfileBundle",
    "ProfileCreate",
    "ProfileDocument",
    "ProfilePublic",
    "ProfileUpdate",
    "Role",
    "UserCreate",
    "UserPublic",
    "check_target_values",
    "group_attribute_name",
]

Role = Literal["user", "admin"]
EXPORT_FORMAT = "align-profiles/1"
MAX_VERSION = 2**31 - 1  # a row's version fits the database's INTEGER
MAX_USER_NAME_CHARS = 64
_USER_NAME_RE = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_.@-]{{0,{MAX_USER_NAME_CHARS - 1}}}$")


def _clean_name(value: str, what: str, limit: int) -> str:
    cleaned = clean_text(value)
    if not cleaned:
        raise ValueError(f"the {what} name is empty; give it a name")
    if "\n" in cleaned or "\t" in cleaned:
        raise ValueError(f"the {what} name {cleaned!r} must be one line")
    if len(cleaned) > limit:
        raise ValueError(f"the {what} name has {len(cleaned)} characters; the limit is {limit}")
    return cleaned


def _name_of(what: str) -> AfterValidator:
    """``_clean_name`` of a WHAT's name (at most 100 characters), as a field's validator."""
    return AfterValidator(lambda value: _clean_name(value, what, 100))


AttributeName = Annotated[str, _name_of("attribute")]
ProfileName = Annotated[str, _name_of("profile")]


def _listed_twice(names: list[str]) -> str:
    """The names NAMES holds more than once, sorted and comma-separated ('' when none)."""
    return ", ".join(sorted({n for n in names if names.count(n) > 1}))


def check_target_values(targets: dict[str, float]) -> dict[str, float]:
    """Every value a finite number in [0, 1]; names non-empty."""
    out: dict[str, float] = {}
    for key, value in targets.items():
        name = _clean_name(key, "attribute", 100)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"value of {name!r} must be a finite number in [0, 1], not {value!r}")
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"value of {name!r} is {value}; it must be in [0, 1]")
        out[name] = float(value)
    return out


def _checked_targets(value: Any) -> Any:
    """``check_target_values`` of a dict; anything else is left to the field's type to refuse."""
    return check_target_values(value) if isinstance(value, dict) else value


# attribute -> target value in [0, 1], names cleaned
TargetValues = Annotated[dict[str, float], BeforeValidator(_checked_targets)]


def group_attribute_name(category: str, group_key: str) -> str:
    """The attribute key of a demographic group, as in the OpinionQA data (``SEX_Female``)."""
    return f"{category}_{group_key}"


class Actor(BaseModel):
    """Who is acting: every store call is made on behalf of one user."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    password: str | None = None
    role: Role = "user"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not _USER_NAME_RE.match(value):
            raise ValueError(
                f"user name {value!r} is not valid; use 1-64 letters, digits, '_', '.', '@' or '-', "
                "starting with a letter or digit"
            )
        return value


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    has_password: bool = False
    created_at: datetime
    updated_at: datetime


class AttributeGroup(BaseModel):
    """One group of a demographic category: ``key`` as in the data (``Less_than_$30,000``)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=80)
    label: str = Field(default="", max_length=200)


class AttributeCreate(BaseModel):
    """A scalar attribute (a value in [0, 1]) or a demographic category (one of its groups)."""

    model_config = ConfigDict(extra="forbid")

    name: AttributeName
    kind: Literal["scalar", "category"] = "scalar"
    domain: str = Field(default="generic", min_length=1, max_length=50)
    label: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=2000)
    high: str = Field(default="", max_length=1000, description="what a value near 1 means")
    low: str = Field(default="", max_length=1000, description="what a value near 0 means")
    scale_min: float = 0.0
    scale_max: float = 1.0
    groups: list[AttributeGroup] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> AttributeCreate:
        if not (math.isfinite(self.scale_min) and math.isfinite(self.scale_max)):
            raise ValueError("the scale bounds must be finite numbers")
        if self.scale_min >= self.scale_max:
            raise ValueError(f"scale_min {self.scale_min} must be below scale_max {self.scale_max}")
        if self.kind == "category" and not self.groups:
            raise ValueError(f"category {self.name!r} has no groups; list its groups")
        if self.kind == "scalar" and self.groups:
            raise ValueError(f"scalar attribute {self.name!r} cannot have groups; use kind 'category'")
        dupes = _listed_twice([g.key for g in self.groups])
        if dupes:
            raise ValueError(f"category {self.name!r} lists groups twice: {dupes}")
        return self


class AttributePublic(AttributeCreate):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: int
    created_at: datetime
    updated_at: datetime


class ProfileDocument(BaseModel):
    """A profile as exported and imported (no ids, no owner): the portable part."""

    model_config = ConfigDict(extra="forbid")

    name: ProfileName
    description: str = Field(default="", max_length=2000)
    targets: TargetValues = Field(default_factory=dict)
    groups: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _not_empty(self) -> ProfileDocument:
        if not self.targets and not self.groups:
            raise ValueError(
                f"profile {self.name!r} has no targets; give at least one attribute=value or category=group"
            )
        return self


class ProfileCreate(ProfileDocument):
    pass


class ProfileUpdate(BaseModel):
    """Changes to a profile. ``expected_version``: fail with a conflict if someone changed it since."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, max_length=2000)
    set_targets: TargetValues = Field(default_factory=dict)
    unset_targets: list[str] = Field(default_factory=list)
    set_groups: dict[str, str] = Field(default_factory=dict)
    unset_groups: list[str] = Field(default_factory=list)
    rename: ProfileName | None = None
    expected_version: int | None = Field(default=None, ge=1, le=MAX_VERSION)


class ProfilePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    owner: str
    name: str
    description: str
    targets: dict[str, float]
    groups: dict[str, str]
    version: int
    created_at: datetime
    updated_at: datetime

    def document(self) -> ProfileDocument:
        return ProfileDocument(
            name=self.name, description=self.description, targets=self.targets, groups=self.groups
        )


class ProfileBundle(BaseModel):
    """The export file: ``{"format": "align-profiles/1", "profiles": [...]}``."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["align-profiles/1"] = "align-profiles/1"
    profiles: list[ProfileDocument]

    @model_validator(mode="after")
    def _unique(self) -> ProfileBundle:
        dupes = _listed_twice([p.name for p in self.profiles])
        if dupes:
            raise ValueError(f"the file lists profiles twice: {dupes}")
        return self


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(default="", max_length=200)
    profile: str | None = None


class ConversationPublic(BaseModel):
    id: int
    owner: str
    title: str
    profile_id: int | None
    created_at: datetime
    updated_at: datetime


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=20000)
    decision_id: int | None = None


class MessagePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: int
    role: str
    content: str
    decision_id: int | None
    created_at: datetime


class DecisionLogCreate(BaseModel):
    """What the decision path hands to the log: the request, the outcome, and how it was made."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["ok", "failed"]
    request: dict[str, Any]
    result: dict[str, Any] | None = None
    error: str | None = None
    algorithm: str | None = None
    backbone: str | None = None
    decider: str | None = None
    prompts: list[Any] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    duration_s: float = 0.0
    profile_id: int | None = None
    profile_name: str | None = None
    profile_snapshot: dict[str, Any] | None = None


class DecisionLogSummary(BaseModel):
    id: int
    user: str
    status: str
    algorithm: str | None
    backbone: str | None
    profile_name: str | None
    choice: str | None
    error: str | None
    duration_s: float
    created_at: datetime


class DecisionLogPublic(DecisionLogCreate):
    model_config = ConfigDict(extra="ignore")

    id: int
    user: str
    created_at: datetime
