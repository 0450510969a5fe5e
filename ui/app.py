"""The Gradio app: ``build_demo(app_service) -> gr.Blocks``. Thin handlers; the facade does the work."""

from typing import Any

import gradio as gr

from assistant.app import AppService
from assistant.app.schemas import OwnerRequest
from profiles.schemas import AttributePublic
from ui.api import register_api
from ui.common import acting, shown_once
from ui.file_paths import refuse_quietly
from ui.tab_calibrate import build_calibrate_tab
from ui.tab_chat import build_chat_tab
from ui.tab_compare import build_compare_tab
from ui.tab_evaluate import build_evaluate_tab
from ui.tab_examples import build_examples_tab
from ui.tab_profiles import build_profiles_tab

__all__ = ["build_demo"]


def build_demo(app: AppService) -> gr.Blocks:
    """The whole app: a header, the tabs, and the named API endpoints."""
    refuse_quietly()  # a made-up file path: one plain refusal, not a traceback in the log
    scalars: list[AttributePublic] = app.admin.scalar_attributes()
    options = app.decisions.options()
    with gr.Blocks(title="ALIGN assistant", analytics_enabled=False) as demo:
        register_api(app)  # first: the endpoints claim their names before any UI handler
        with gr.Row():
            header = gr.Markdown("# ALIGN assistant", elem_id="header")
            gr.Button("Log out", link="/logout", size="sm", scale=0, visible=not app.local_mode)
        with gr.Tabs() as tabs:
            with gr.Tab("Chat", id="chat") as chat_tab:
                chat = build_chat_tab(app, scalars, options)
            with gr.Tab("Compare", id="compare") as compare_tab:
                compare = build_compare_tab(app, options)
            with gr.Tab("Profiles", id="profiles") as profiles_tab:
                profiles = build_profiles_tab(app, scalars)
            with gr.Tab("Calibrate", id="calibrate"):
                build_calibrate_tab(app)
            with gr.Tab("Examples", id="examples", visible=False) as examples_tab:
                example_files = build_examples_tab(app)
            with gr.Tab("Evaluate", id="evaluate", visible=False) as evaluate_tab:
                evaluate_files = build_evaluate_tab(app, options)
        chat.calibrate_button.click(
            lambda: gr.Tabs(selected="calibrate"), None, [tabs], api_visibility="private"
        )

        def on_load(request: gr.Request) -> list[Any]:
            actor = acting(app, request)
            who = f"{actor.name} ({actor.role})" + (" · local mode, no login" if app.local_mode else "")
            names = [p.name for p in app.profiles.list(actor, OwnerRequest()).profiles]
            files = app.evaluation.dataset_files() if actor.is_admin else []
            return [
                gr.update(value=f"# ALIGN assistant\nSigned in as **{who}**"),
                gr.update(visible=actor.is_admin),  # Examples: admins only (the API checks too)
                gr.update(visible=actor.is_admin),  # Evaluate: admins only (the API checks too)
                gr.update(choices=files),  # the dataset file names: admins only
                gr.update(choices=files),
                *chat.on_load(actor, names),
                *compare.on_load(names),
                *profiles.on_load(actor),
            ]

        # A profile made or changed in one place shows in the others' pickers without a reload.
        pickers = [chat.profile, *compare.load_outputs]

        @shown_once(len(pickers))
        def refresh_pickers(picked: dict, request: gr.Request) -> list[Any]:
            names = [p.name for p in app.profiles.list(acting(app, request), OwnerRequest()).profiles]
            columns = compare.pickers(names, [picked[c] for c in compare.load_outputs])
            return [chat.picker(names, picked[chat.profile]), *columns]

        for event in profiles.changes:
            event.success(refresh_pickers, set(pickers), pickers, api_visibility="private")
        chat_tab.select(refresh_pickers, set(pickers), pickers, api_visibility="private")
        compare_tab.select(refresh_pickers, set(pickers), pickers, api_visibility="private")
        refresh_profiles = (profiles.refresh, profiles.refresh_inputs, profiles.refresh_outputs)
        for event in chat.turns:  # a turn may set the person's values (their default profile)
            event.then(*refresh_profiles, api_visibility="private")
            event.then(refresh_pickers, set(pickers), pickers, api_visibility="private")
        profiles_tab.select(*refresh_profiles, api_visibility="private")

        demo.load(
            on_load,
            None,
            [
                header,
                examples_tab,
                evaluate_tab,
                example_files,
                evaluate_files,
                *chat.load_outputs,
                *compare.load_outputs,
                *profiles.load_outputs,
            ],
            api_visibility="private",
        )
    return demo
