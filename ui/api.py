"""The named API endpoints (``gr.api``) and the edge they share with the tests: JSON object in, the
request schema parsed (measured first), the facade part called, its pydantic answer serialised.

Each endpoint acts for the logged-in user exactly as the UI does (``acting``); an ``AlignError``
reaches a ``gradio_client`` caller as ``AppError`` with the error's message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import gradio as gr
from pydantic import BaseModel

from assistant.app import AppService
from assistant.app.schemas import (
    AddExampleRequest,
    AddUserRequest,
    AttributeRequest,
    CalibrateRequest,
    ChatRequest,
    CompareAppRequest,
    ConversationRequest,
    DecideAppRequest,
    DomainRequest,
    EmptyRequest,
    EvaluateRequest,
    ExampleIdRequest,
    ExampleSearchRequest,
    ExportProfilesRequest,
    FeedbackRequest,
    ImportProfilesRequest,
    OwnerRequest,
    ProfileCreateRequest,
    ProfileDeleteRequest,
    ProfileNameRequest,
    ProfileUpdateRequest,
    SetPasswordRequest,
    SetRoleRequest,
)
from profiles.schemas import Actor
from ui.caller import caller_gone
from ui.common import acting, guarded, session_token

__all__ = ["ENDPOINTS", "Endpoint", "call_endpoint", "register_api"]

Call = Callable[[AppService, Actor, Any], BaseModel]


@dataclass(frozen=True)
class Endpoint:
    """``call``: the facade method that answers (``"profiles.update"``: ``app.profiles.update``, called
    with the actor and the request), or a function of the app, the actor and the request."""

    request: type[BaseModel]
    call: Call | str
    doc: str

    def answer(self, app: AppService, actor: Actor, request: BaseModel) -> BaseModel:
        if isinstance(self.call, str):
            reply: BaseModel = attrgetter(self.call)(app)(actor, request)
            return reply
        return self.call(app, actor, request)


def _evaluate(app: AppService, actor: Actor, req: EvaluateRequest) -> BaseModel:
    return app.evaluation.evaluate(actor, req, cancelled=caller_gone())


ENDPOINTS: dict[str, Endpoint] = {
    "decide": Endpoint(DecideAppRequest, "decisions.decide", "One decision."),
    "compare": Endpoint(CompareAppRequest, "decisions.compare", "One scenario, 2-6 columns side by side."),
    "chat": Endpoint(ChatRequest, "decisions.chat", "One chat turn; the answer and the decision behind it."),
    "list_conversations": Endpoint(OwnerRequest, "decisions.conversations", "Your conversations."),
    "get_conversation": Endpoint(
        ConversationRequest, "decisions.conversation", "One conversation and its messages."
    ),
    "delete_conversation": Endpoint(
        ConversationRequest,
        "decisions.delete_conversation",
        "Delete one of your conversations (frees your conversation storage).",
    ),
    "list_profiles": Endpoint(OwnerRequest, "profiles.list", "Your profiles."),
    "get_profile": Endpoint(ProfileNameRequest, "profiles.get", "One profile."),
    "create_profile": Endpoint(ProfileCreateRequest, "profiles.create", "A new profile."),
    "update_profile": Endpoint(
        ProfileUpdateRequest, "profiles.update", "Change a profile (targets, groups, name)."
    ),
    "delete_profile": Endpoint(ProfileDeleteRequest, "profiles.delete", "Delete a profile."),
    "export_profiles": Endpoint(ExportProfilesRequest, "profiles.export", "Your profiles as a bundle."),
    "import_profiles": Endpoint(ImportProfilesRequest, "profiles.import_bundle", "Import a profile bundle."),
    "list_attributes": Endpoint(DomainRequest, "admin.attributes", "The attribute definitions."),
    "upsert_attribute": Endpoint(
        AttributeRequest, "admin.upsert_attribute", "Create or change a definition (admins)."
    ),
    "list_users": Endpoint(EmptyRequest, lambda a, u, r: a.admin.users(u), "The users (admins: all)."),
    "add_user": Endpoint(AddUserRequest, "admin.add_user", "Add a user (admins)."),
    "set_password": Endpoint(
        SetPasswordRequest, "admin.set_password", "Set a password; ends that user's sessions."
    ),
    "set_role": Endpoint(SetRoleRequest, "admin.set_role", "Set a user's role (admins)."),
    "search_examples": Endpoint(
        ExampleSearchRequest, "examples.search", "Search example decisions (admins)."
    ),
    "get_example": Endpoint(ExampleIdRequest, "examples.get", "One example (admins)."),
    "add_example": Endpoint(AddExampleRequest, "examples.add", "Add an example (admins)."),
    "delete_example": Endpoint(ExampleIdRequest, "examples.delete", "Delete an example (admins)."),
    "evaluate": Endpoint(
        EvaluateRequest,
        _evaluate,
        "A small evaluation (admins; one at a time; stopped if you disconnect): summary and links.",
    ),
    "feedback": Endpoint(FeedbackRequest, "feedback.give", "Agree or disagree with one of your decisions."),
    "calibrate_next": Endpoint(CalibrateRequest, "calibration.next", "The next most informative dilemma."),
    "calibrate_save": Endpoint(CalibrateRequest, "calibration.save", "Save your calibrated profile."),
    "whoami": Endpoint(EmptyRequest, lambda a, u, r: a.whoami(u), "Who you are logged in as."),
    "options": Endpoint(
        EmptyRequest,
        lambda a, u, r: a.decisions.options(),
        "What a request may name (backbones, algorithms).",
    ),
}


def call_endpoint(
    app: AppService, name: str, actor: Actor, payload: Any = None, *, session: str | None = None
) -> dict[str, Any]:
    """The edge: ``payload`` measured and parsed as the endpoint's request, the part called, the
    answer serialised. ``session``: the caller's login token (a password change keeps it)."""
    endpoint = ENDPOINTS[name]
    request = app.parse(endpoint.request, payload, actor=actor, what=name)
    if name == "set_password":  # your own new password keeps this session; others end
        assert isinstance(request, SetPasswordRequest)
        reply: BaseModel = app.admin.set_password(actor, request, keep_session=session)
    else:
        reply = endpoint.answer(app, actor, request)
    return dict(reply.model_dump(mode="json"))


def _endpoint(app: AppService, name: str) -> Callable[..., dict[str, Any]]:
    def endpoint(payload: dict, request: gr.Request) -> dict:
        return call_endpoint(app, name, acting(app, request), payload, session=session_token(request))

    endpoint.__name__ = name
    endpoint.__doc__ = ENDPOINTS[name].doc
    return guarded(endpoint)


def register_api(app: AppService) -> None:
    """Call inside ``gr.Blocks``: one endpoint per entry of ENDPOINTS, named as the key."""
    for name in ENDPOINTS:
        gr.api(_endpoint(app, name), api_name=name)
