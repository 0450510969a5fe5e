"""The Profiles tab's "API keys" section: a person's own keys for chat apps that speak the OpenAI API
(Open WebUI, LibreChat), which reach this server at ``/v1``. A new key is shown once."""

from __future__ import annotations

from typing import Any

import gradio as gr

from assistant.app import AppService
from assistant.app.api_keys import ApiKeyCreateRequest, ApiKeyListRequest, ApiKeyRevokeRequest
from profiles.api_keys import ApiKeyPublic
from ui.common import acting, session_token, shown_once

__all__ = ["build_api_keys_panel"]

INTRO = (
    "Chat apps that speak the OpenAI API (Open WebUI, LibreChat) can ask this assistant for you. "
    "In the app, add an OpenAI-compatible connection with this server's address followed by `/v1` "
    "as the base URL, and one of your keys as the API key. The models are `align` (your profile "
    "named *default*, or your only profile) and `align:PROFILE`. A key acts as you: whoever holds "
    "it sees your profiles and conversations, so revoke a key you no longer use."
)
HEADERS = ["id", "starts with", "label", "created", "last used", "state"]


def _rows(keys: list[ApiKeyPublic]) -> list[list[Any]]:
    def when(moment: Any) -> str:
        return moment.strftime("%Y-%m-%d %H:%M") if moment else "never"

    return [
        [
            k.id,
            k.prefix + "…",
            k.label,
            when(k.created_at),
            when(k.last_used_at),
            "revoked" if k.revoked else "active",
        ]
        for k in keys
    ]


def build_api_keys_panel(app: AppService) -> None:
    """Call inside ``gr.Blocks`` (the Profiles tab): list, create and revoke one's own keys."""
    gr.Markdown(INTRO)
    keys = gr.Dataframe(headers=HEADERS, interactive=False, elem_id="api-keys")
    with gr.Row():
        label = gr.Textbox(label="What the new key is for", placeholder="Open WebUI", elem_id="api-key-label")
        current = gr.Textbox(
            label="Your current password (a key outlives your login, so it is asked for)",
            type="password",
            elem_id="api-key-password",
        )
        create = gr.Button("Create a key", variant="primary", elem_id="api-key-create")
        refresh = gr.Button("List my keys", elem_id="api-key-list")
    new_key = gr.Textbox(
        label="Your new key: copy it now, it is not stored and cannot be shown again",
        interactive=False,
        visible=False,
        buttons=["copy"],
        elem_id="api-key-new",
    )
    with gr.Row():
        which = gr.Textbox(
            label="Key to revoke (its id, or the characters it starts with)", elem_id="api-key-which"
        )
        revoke = gr.Button("Revoke", variant="stop", elem_id="api-key-revoke")
    status = gr.Markdown(elem_id="api-key-status")

    def listed(request: gr.Request) -> list[list[Any]]:
        actor = acting(app, request)
        return _rows(app.api_keys.list(actor, ApiKeyListRequest()).keys)

    @shown_once(2)
    def list_keys(request: gr.Request) -> list[Any]:
        return [listed(request), gr.update(value="", visible=False)]

    @shown_once(5, status=2)
    def create_key(text: str, password: str | None, request: gr.Request) -> list[Any]:
        actor = acting(app, request)
        asked = {"label": text or "", "current_password": password or None}
        made = app.api_keys.create(
            actor, app.parse(ApiKeyCreateRequest, asked, actor=actor), session=session_token(request)
        )
        return [
            listed(request),
            gr.update(value=made.key, visible=True),
            f"Key {made.id} created. Copy it now: it is shown only this once.",
            "",
            "",
        ]

    @shown_once(3, status=2)
    def revoke_key(text: str, request: gr.Request) -> list[Any]:
        actor = acting(app, request)
        named = (text or "").strip().rstrip("…")
        key: int | str = int(named) if named.isdigit() else named
        revoked = app.api_keys.revoke(actor, app.parse(ApiKeyRevokeRequest, {"key": key}, actor=actor))
        return [
            listed(request),
            gr.update(value="", visible=False),
            f"Key {revoked.id} ({revoked.prefix}…) is revoked: it no longer works.",
        ]

    refresh.click(list_keys, None, [keys, new_key], api_visibility="private")
    created = [keys, new_key, status, label, current]
    create.click(create_key, [label, current], created, api_visibility="private")
    revoke.click(revoke_key, [which], [keys, new_key, status], api_visibility="private")
