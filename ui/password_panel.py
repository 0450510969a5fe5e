"""The Profiles tab's "Your password" section: a person changes their own password, giving the
current one (a stolen session alone cannot change it). The other login sessions end; this one stays."""

from __future__ import annotations

import gradio as gr

from assistant.app import AppService
from assistant.app.schemas import SetPasswordRequest
from ui.common import acting, session_token, shown_once

__all__ = ["build_password_panel"]


def build_password_panel(app: AppService) -> None:
    """Call inside ``gr.Blocks`` (the Profiles tab)."""
    with gr.Row():
        current = gr.Textbox(label="Current password", type="password", elem_id="password-current")
        new = gr.Textbox(label="New password (8+ characters)", type="password", elem_id="password-new")
    change = gr.Button("Change my password", elem_id="password-change")
    status = gr.Markdown(elem_id="password-status")

    @shown_once(3, status=2)
    def change_own(old: str, pw: str, request: gr.Request) -> list[str]:
        actor = acting(app, request)
        req = app.parse(
            SetPasswordRequest,
            {"name": actor.name, "password": pw, "current_password": old or None},
            actor=actor,
        )
        done = app.admin.set_password(actor, req, keep_session=session_token(request))
        return ["", "", done.message]

    change.click(change_own, [current, new], [current, new, status], api_visibility="private")
