"""What the app's endpoints accept: one schema per request, checked before anything runs.

The answers are the stores' ``*Public`` schemas, ``Decision`` and ``assistant.app.replies``; the edge
(``ui/api.py``) serialises them.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alignment.errors import InputError
from alignment.models import MAX_CHOICES
from assistant.decisions.chat import ChatRequest
from assistant.decisions.compare import MAX_COLUMNS, CompareRequest
from assistant.decisions.messages import validation_message
from assistant.decisions.requests import MAX_ID, DecideRequest, DecisionInput, Id, Name
from profiles.schemas import ProfileBundle, ProfileCreate, ProfileUpdate, Role

__all__ = [
    "MAX_COLUMNS",
    "MAX_ID",
    "AddExampleRequest",
    "AddUserRequest",
    "AttributeRequest",
    "CalibrateRequest",
    "CalibrationAnswer",
    "ChatRequest",
    "CompareAppRequest",
    "ConversationRequest",
    "DecideAppRequest",
    "DomainRequest",
    "EmptyRequest",
    "EvaluateRequest",
    "ExampleIdRequest",
    "ExampleSearchRequest",
    "ExportProfilesRequest",
    "FeedbackRequest",
    "Id",
    "ImportProfilesRequest",
    "OwnerRequest",
    "ProfileCreateRequest",
    "ProfileDeleteRequest",
    "ProfileNameRequest",
    "ProfileUpdateRequest",
    "SetPasswordRequest",
    "SetRoleRequest",
    "parse_request",
]

M = TypeVar("M", bound=BaseModel)

# Every whole number a request may carry is bounded (MAX_ID, Id and Name are the decision layer's,
# assistant/decisions/requests.py, shared here); nothing unbounded reaches a store, a backbone or the
# JSON answer.
ChoiceIndex = Annotated[int, Field(ge=0, lt=MAX_CHOICES)]


def parse_request(model: type[M], payload: Any) -> M:
    """``payload`` (a JSON object) as ``model``, or an InputError that names every wrong field."""
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise InputError(f"the request must be a JSON object, not {type(payload).__name__}")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        usage = getattr(model, "usage", "")
        message = validation_message(exc)
        raise InputError(f"{message}; {usage}" if usage else message) from None


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecideAppRequest(DecisionInput):
    """One decision (``DecisionInput``: ``target``, also read as ``targets``), and/or a stored
    ``profile`` (the profile's values, inline targets added and winning)."""

    profile: Name | None = None
    owner: Name | None = None  # whose profile (admins only)
    include_prompts: bool = False

    def decide_request(self) -> DecideRequest:
        """The one decide-request shape (``DecisionInput``'s fields) as the decision service takes it."""
        data = self.model_dump(include=set(DecisionInput.model_fields))
        data["target"] = data["target"] or None  # no values: the default decider decides
        return DecideRequest.model_validate(data)


class CompareAppRequest(CompareRequest):
    """2..``MAX_COLUMNS`` columns (``CompareColumn``) on one scenario; the comparison's own shape."""


class ConversationRequest(_Request):
    usage: ClassVar[str] = 'give the conversation as {"id": N} (see list_conversations)'

    id: Id


class DomainRequest(_Request):
    domain: str | None = Field(default=None, max_length=50)


class ExportProfilesRequest(_Request):
    names: list[Name] | None = None
    owner: Name | None = None


class ExampleIdRequest(_Request):
    usage: ClassVar[str] = 'give the example as {"id": "..."} (see search_examples)'

    id: str = Field(max_length=200)


class EmptyRequest(_Request):
    """Endpoints that take nothing (``{}`` or no payload)."""


class OwnerRequest(_Request):
    owner: Name | None = None
    all_users: bool = False


class ProfileNameRequest(_Request):
    name: Name
    owner: Name | None = None


class ProfileCreateRequest(ProfileCreate):
    """A new profile (``ProfileCreate``), and whose (admins only)."""

    owner: Name | None = None


class ProfileUpdateRequest(ProfileUpdate):
    """Changes (``ProfileUpdate``) to the profile ``name``, and whose (admins only)."""

    name: Name
    owner: Name | None = None


class ProfileDeleteRequest(_Request):
    name: Name
    owner: Name | None = None
    expected_version: Id | None = None


class ImportProfilesRequest(_Request):
    bundle: ProfileBundle
    owner: Name | None = None
    replace: bool = False


class AttributeRequest(_Request):
    """An attribute definition to create or update (admins only); fields as ``AttributeCreate``."""

    attribute: dict[str, Any]


class AddUserRequest(_Request):
    name: str
    password: str | None = Field(default=None, min_length=8, max_length=200)
    role: Role = "user"


class SetPasswordRequest(_Request):
    """``name``'s new password. Changing your own needs ``current_password``; an admin resetting
    someone else's does not (the reset revokes that user's API keys and ends their sessions)."""

    name: str
    password: str = Field(min_length=8, max_length=200)
    current_password: str | None = Field(default=None, max_length=200)


class SetRoleRequest(_Request):
    name: str
    role: Role


class ExampleSearchRequest(_Request):
    query: str = ""
    k: int = Field(default=5, ge=1, le=50)
    domain: str | None = None
    attribute: str | None = None


class AddExampleRequest(_Request):
    text: str
    choices: list[str] = Field(min_length=2)
    scores: list[dict[str, float]] = Field(default_factory=list)
    chosen: ChoiceIndex | None = None
    domain: str = Field(default="generic", max_length=50)
    id: str | None = Field(default=None, max_length=200)


class EvaluateRequest(_Request):
    files: list[str] = Field(default_factory=list)  # names under the datasets directory (or an upload)
    algorithms: list[str] = Field(default_factory=lambda: ["persona"], min_length=1)
    backbone: Name | None = None
    limit: int = Field(default=2, ge=1, le=1_000_000)


class FeedbackRequest(_Request):
    """Feedback on one of your logged decisions (``would_choose``: a letter or an index, 0 = A)."""

    decision_id: Id
    agree: bool
    would_choose: Annotated[str, Field(max_length=10)] | ChoiceIndex | None = None
    profile: str | None = Field(default=None, max_length=100)


class CalibrationAnswer(_Request):
    dilemma_id: str = Field(max_length=200)
    choice: ChoiceIndex | None = None  # None: skipped


class CalibrateRequest(_Request):
    """The answers so far (the browser keeps them); ``count``: dilemmas to answer in all."""

    answers: list[CalibrationAnswer] = Field(default_factory=list, max_length=100)
    count: int = Field(default=10, ge=1, le=100)
    attributes: list[Annotated[str, Field(max_length=80)]] | None = Field(default=None, max_length=100)
    name: str = Field(default="calibrated", min_length=1, max_length=100)  # the profile to save
    # whose dilemmas: everyday ones (the value packs' example decisions) unless triage is asked for
    domain: Literal["everyday", "triage"] = "everyday"
