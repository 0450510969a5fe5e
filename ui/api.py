"""The named API endpoints (``gr.api``): JSON object in, JSON object out, the same facade as the UI.

Each endpoint acts for the logged-in user exactly as the UI does (``acting``); an ``AlignError``
reaches a ``gradio_client`` caller as ``AppError`` with the error's message.
"""

from collections.abc import Callable
from typing import Any

import gradio as gr

from assistant.app import AppService
from ui.common import acting, guarded, session_token

__all__ = ["ENDPOINTS", "register_api"]

# endpoint name -> facade method (each takes (actor, payload) and returns a dict)
ENDPOINTS = {
    "decide": "decide",
    "compare": "compare",
    "chat": "chat",
    "list_conversations": "list_conversations",
    "get_conversation": "get_conversation",
    "list_profiles": "list_profiles",
    "get_profile": "get_profile",
    "create_profile": "create_profile",
    "update_profile": "update_profile",
    "delete_profile": "delete_profile",
    "export_profiles": "export_profiles",
    "import_profiles": "import_profiles",
    "list_attributes": "list_attributes",
    "upsert_attribute": "upsert_attribute",
    "list_users": "list_users",
    "add_user": "add_user",
    "set_password": "set_password",
    "set_role": "set_role",
    "search_examples": "search_examples",
    "get_example": "get_example",
    "add_example": "add_example",
    "delete_example": "delete_example",
    "evaluate": "evaluate",
    "feedback": "feedback",
    "calibrate_next": "calibrate_next",
    "calibrate_save": "calibrate_save",
    "whoami": "whoami",
    "options": "options",
}


def _endpoint(app: AppService, method: str) -> Callable[..., dict[str, Any]]:
    call = getattr(app, method)

    def endpoint(payload: dict, request: gr.Request) -> dict:
        if method == "set_password":  # your own new password keeps this session; others end
            return dict(call(acting(app, request), payload, keep_session=session_token(request)))
        return dict(call(acting(app, request), payload))

    endpoint.__name__ = method
    endpoint.__doc__ = (
        (call.__doc__ or f"{method}: a JSON object in, a JSON object out.").strip().splitlines()[0]
    )
    return guarded(endpoint)


def register_api(app: AppService) -> None:
    """Call inside ``gr.Blocks``: one endpoint per entry of ENDPOINTS, named as the key."""
    for name, method in ENDPOINTS.items():
        gr.api(_endpoint(app, method), api_name=name)
