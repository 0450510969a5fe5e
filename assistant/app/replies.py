"""What the app's parts answer, where the stores have no ``*Public`` model of their own. Each is a
pydantic model; the edge (``ui/api.py``) turns it into JSON with ``model_dump(mode="json")``."""

from __future__ import annotations

from pydantic import BaseModel, SerializerFunctionWrapHandler, model_serializer

from alignment.models import Decision, Example
from assistant.decisions.compare import Comparison
from profiles.schemas import AttributePublic, ConversationPublic, MessagePublic, ProfilePublic, UserPublic

__all__ = [
    "AttributeSaved",
    "AttributesReply",
    "CompareReply",
    "ConversationReply",
    "ConversationsReply",
    "DecisionReply",
    "Deleted",
    "ExampleImport",
    "ExamplesDeleted",
    "ExamplesReply",
    "FoundExample",
    "OptionsReply",
    "PasswordSet",
    "ProfilesImported",
    "ProfilesReply",
    "RoleSet",
    "UsersReply",
    "WhoAmI",
]


class DecisionReply(BaseModel):
    """A decision as the API gives it: the decision's fields, its decision-log id, and the prompts
    only when they were asked for."""

    decision: Decision
    log_id: int | None = None
    include_prompts: bool = False

    @model_serializer(mode="wrap")
    def _flat(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data = dict(handler(self)["decision"])
        if not self.include_prompts:
            data.pop("prompts", None)
        data["log_id"] = self.log_id
        return data


class CompareReply(BaseModel):
    """A comparison (errors in words for a person, no prompts) and how long it took."""

    comparison: Comparison
    seconds: float

    @model_serializer(mode="wrap")
    def _flat(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data = dict(handler(self)["comparison"])
        for result in data["results"]:
            if result["decision"] is not None:
                result["decision"].pop("prompts", None)
        data["seconds"] = self.seconds
        return data


class WhoAmI(BaseModel):
    name: str
    role: str
    local_mode: bool


class OptionsReply(BaseModel):
    """What a request may name: backbones, algorithms, deciders, defaults."""

    backbones: list[str]
    algorithms: list[str]
    deciders: list[str]
    default_backbone: str
    default_algorithm: str
    default_decider: str | None = None  # what a request naming no algorithm gets


class ConversationsReply(BaseModel):
    conversations: list[ConversationPublic]


class ConversationReply(ConversationPublic):
    messages: list[MessagePublic]


class ProfilesReply(BaseModel):
    profiles: list[ProfilePublic]


class ProfilesImported(BaseModel):
    imported: list[ProfilePublic]


class Deleted(BaseModel):
    deleted: str


class AttributesReply(BaseModel):
    attributes: list[AttributePublic]


class AttributeSaved(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    attribute: AttributePublic


class UsersReply(BaseModel):
    users: list[UserPublic]


class PasswordSet(BaseModel):
    """``message`` says in words what the change did: sessions ended, API keys revoked."""

    name: str
    password_set: bool = True
    reset: bool = False  # an admin set another user's password
    sessions_ended: bool = True
    api_keys_revoked: int = 0
    message: str = ""


class RoleSet(BaseModel):
    name: str
    role: str


class FoundExample(Example):
    """An example with its similarity to the search text (left out when listed, not searched)."""

    similarity: float | None = None

    @model_serializer(mode="wrap")
    def _with_similarity(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data = dict(handler(self))
        if self.similarity is None:
            data.pop("similarity", None)
        else:
            data["similarity"] = round(self.similarity, 4)
        return data


class ExamplesReply(BaseModel):
    examples: list[FoundExample]
    total: int


class ExamplesDeleted(BaseModel):
    deleted: list[str]


class ExampleImport(BaseModel):
    file: str
    records: int
    added: int
    present: int
    total: int
