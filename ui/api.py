"""The named API endpoints (``gr.api``) and the edge they share with the tests: JSON object in, the
request schema parsed (measured first), the facade part called, its pydantic answer serialised.

Each endpoint acts for the logged-in user exactly as the UI does (``acting``); an ``AlignError``
reaches a ``gradio_client`` caller as ``AppError`` with the error's message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
    request: type[BaseModel]
    call: Call
    doc: str


def _chat(app: AppService, actor: Actor, req: ChatRequest) -> BaseModel:
    return app.decisions.chat(actor, req)


ENDPOINTS: dict[str, Endpoint] = {
    "decide": Endpoint(DecideAppRequest, lambda a, u, r: a.decisions.decide(u, r), "One decision."),
    "compare": Endpoint(
        CompareAppRequest,
        lambda a, u, r: a.decisions.compare(u, r),
        "One scenario, 2-6 columns side by side.",
    ),
    "chat": Endpoint(ChatRequest, _chat, "One chat turn; the answer and the decision behind it."),
    "list_conversations": Endpoint(
        OwnerRequest, lambda a, u, r: a.decisions.conversations(u, r), "Your conversations."
    ),
    "get_conversation": Endpoint(
        ConversationRequest,
        lambda a, u, r: a.decisions.conversation(u, r),
        "One conversation and its messages.",
    ),
    "delete_conversation": Endpoint(
        ConversationRequest,
        lambda a, u, r: a.decisions.delete_conversation(u, r),
        "Delete one of your conversations (frees your conversation storage).",
    ),
    "list_profiles": Endpoint(OwnerRequest, lambda a, u, r: a.profiles.list(u, r), "Your profiles."),
    "get_profile": Endpoint(ProfileNameRequest, lambda a, u, r: a.profiles.get(u, r), "One profile."),
    "create_profile": Endpoint(
        ProfileCreateRequest, lambda a, u, r: a.profiles.create(u, r), "A new profile."
    ),
    "update_profile": Endpoint(
        ProfileUpdateRequest,
        lambda a, u, r: a.profiles.update(u, r),
        "Change a profile (targets, groups, name).",
    ),
    "delete_profile": Endpoint(
        ProfileDeleteRequest, lambda a, u, r: a.profiles.delete(u, r), "Delete a profile."
    ),
    "export_profiles": Endpoint(
        ExportProfilesRequest, lambda a, u, r: a.profiles.export(u, r), "Your profiles as a bundle."
    ),
    "import_profiles": Endpoint(
        ImportProfilesRequest, lambda a, u, r: a.profiles.import_bundle(u, r), "Import a profile bundle."
    ),
    "list_attributes": Endpoint(
        DomainRequest, lambda a, u, r: a.admin.attributes(u, r), "The attribute definitions."
    ),
    "upsert_attribute": Endpoint(
        AttributeRequest,
        lambda a, u, r: a.admin.upsert_attribute(u, r),
        "Create or change a definition (admins).",
    ),
    "list_users": Endpoint(EmptyRequest, lambda a, u, r: a.admin.users(u), "The users (admins: all)."),
    "add_user": Endpoint(AddUserRequest, lambda a, u, r: a.admin.add_user(u, r), "Add a user (admins)."),
    "set_password": Endpoint(
        SetPasswordRequest,
        lambda a, u, r: a.admin.set_password(u, r),
        "Set a password; ends that user's sessions.",
    ),
    "set_role": Endpoint(
        SetRoleRequest, lambda a, u, r: a.admin.set_role(u, r), "Set a user's role (admins)."
    ),
    "search_examples": Endpoint(
        ExampleSearchRequest, lambda a, u, r: a.examples.search(u, r), "Search example decisions (admins)."
    ),
    "get_example": Endpoint(ExampleIdRequest, lambda a, u, r: a.examples.get(u, r), "One example (admins)."),
    "add_example": Endpoint(
        AddExampleRequest, lambda a, u, r: a.examples.add(u, r), "Add an example (admins)."
    ),
    "delete_example": Endpoint(
        ExampleIdRequest, lambda a, u, r: a.examples.delete(u, r), "Delete an example (admins)."
    ),
    "evaluate": Endpoint(
        EvaluateRequest,
        lambda a, u, r: a.evaluation.evaluate(u, r, cancelled=caller_gone()),
        "A small evaluation (admins; one at a time; stopped if you disconnect): summary and links.",
    ),
    "feedback": Endpoint(
        FeedbackRequest,
        lambda a, u, r: a.feedback.give(u, r),
        "Agree or disagree with one of your decisions.",
    ),
    "calibrate_next": Endpoint(
        CalibrateRequest, lambda a, u, r: a.calibration.next(u, r), "The next most informative dilemma."
    ),
    "calibrate_save": Endpoint(
        CalibrateRequest, lambda a, u, r: a.calibration.save(u, r), "Save your calibrated profile."
    ),
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
        reply = endpoint.call(app, actor, request)
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
