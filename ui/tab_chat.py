"""Chat tab: pick a profile (or set sliders), describe a situation, get a streamed, justified answer."""

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from assistant.app import AppService
from profiles.schemas import Actor, AttributePublic
from ui.common import acting, guarded

__all__ = ["SLIDERS", "ChatTab", "build_chat_tab"]

SLIDERS = "(the sliders below)"
NEW = "(new conversation)"


@dataclass
class ChatTab:
    load_outputs: list[Any] = field(default_factory=list)

    @staticmethod
    def on_load(actor: Actor, profiles: list[str]) -> list[Any]:
        return [gr.update(choices=[SLIDERS, *profiles], value=SLIDERS)]


def _conversation_choices(app: AppService, actor: Actor) -> list[tuple[str, str]]:
    rows = app.list_conversations(actor)["conversations"]
    return [(NEW, "")] + [(f"#{c['id']} {c['title'][:60]}", str(c["id"])) for c in rows]


def _feedback_updates(log_id: int | None, decision: dict[str, Any] | None = None) -> tuple[Any, ...]:
    """(decision id, feedback row, would-choose dropdown, status) after an answer."""
    if log_id is None or decision is None:
        return None, gr.update(visible=False), gr.update(), ""
    options = [
        (f"({chr(ord('A') + s['index'])}) {s['choice']}", int(s["index"]))
        for s in decision.get("scores") or []
    ]
    return log_id, gr.update(visible=True), gr.update(choices=options, value=None), ""


def build_chat_tab(app: AppService, scalars: list[AttributePublic], options: dict[str, Any]) -> ChatTab:
    with gr.Row():
        conversation = gr.Dropdown(
            [(NEW, "")], value="", label="Conversation", elem_id="chat-conversation", scale=3
        )
        refresh = gr.Button("Refresh list", size="sm", scale=0)
        new = gr.Button("New conversation", size="sm", scale=0)
    with gr.Row():
        profile = gr.Dropdown([SLIDERS], value=SLIDERS, label="Align to profile", elem_id="chat-profile")
        algorithm = gr.Dropdown(
            options["algorithms"],
            value=options["default_algorithm"],
            label="Algorithm",
            elem_id="chat-algorithm",
        )
        backbone = gr.Dropdown(options["backbones"], value=options["default_backbone"], label="Backbone")
    with gr.Accordion("Attribute sliders (used when no profile is picked)", open=False):
        active = gr.CheckboxGroup(
            [a.name for a in scalars], value=[], label="Use these attributes", elem_id="chat-active"
        )
        sliders = [
            gr.Slider(0, 1, value=0.5, step=0.05, label=a.label or a.name, info=a.description)
            for a in scalars
        ]
    chatbot = gr.Chatbot(label="Decision advice", elem_id="chatbot", height=460)
    with gr.Row():
        message = gr.Textbox(
            placeholder="Describe the situation and list the options, one per line starting with '-'. "
            "Then ask 'why not B?' or 'what if I cared more about fairness?'",
            lines=3,
            show_label=False,
            elem_id="chat-input",
            scale=5,
        )
        send = gr.Button("Send", variant="primary", elem_id="chat-send", scale=0)
    with gr.Row(visible=False, elem_id="chat-feedback") as feedback_row:
        agree_btn = gr.Button("👍 Agree", size="sm", scale=0, elem_id="chat-agree")
        disagree_btn = gr.Button("👎 Disagree", size="sm", scale=0, elem_id="chat-disagree")
        would = gr.Dropdown([], label="I would choose", elem_id="chat-would-choose", scale=2)
        feedback_status = gr.Markdown("", elem_id="chat-feedback-status")
    cid = gr.State(None)
    decision_id = gr.State(None)

    @guarded
    def respond(data: dict, request: gr.Request) -> Any:
        actor = acting(app, request)
        text = data[message]
        use = data[active] or []
        targets = {a.name: float(data[s]) for a, s in zip(scalars, sliders, strict=True) if a.name in use}
        payload: dict[str, Any] = {
            "message": text,
            "conversation_id": data[cid],
            "algorithm": data[algorithm],
            "backbone": data[backbone],
        }
        if data[profile] and data[profile] != SLIDERS:
            payload["profile"] = data[profile]
        elif targets:
            payload["targets"] = targets
        history = [*(data[chatbot] or []), {"role": "user", "content": text}]
        update = None
        for update in app.chat_stream(actor, payload):
            yield (
                [*history, {"role": "assistant", "content": update.text}],
                update.conversation_id,
                "",
                gr.update(),
                *_feedback_updates(None),
            )
        if update is not None:
            choices = _conversation_choices(app, actor)
            yield (
                [*history, {"role": "assistant", "content": update.text}],
                update.conversation_id,
                "",
                gr.update(choices=choices, value=str(update.conversation_id)),
                *_feedback_updates(update.decision_id if update.decision else None, update.decision),
            )

    inputs: set[gr.blocks.Block] = {message, chatbot, cid, profile, algorithm, backbone, active, *sliders}
    outputs = [chatbot, cid, message, conversation, decision_id, feedback_row, would, feedback_status]
    send.click(respond, inputs, outputs, api_visibility="private")
    message.submit(respond, inputs, outputs, api_visibility="private")

    @guarded
    def reopen(value: str, request: gr.Request) -> Any:
        if not value:
            return [], None
        actor = acting(app, request)
        convo = app.get_conversation(actor, {"id": int(value)})
        history = [{"role": m["role"], "content": m["content"]} for m in convo["messages"]]
        return history, convo["id"]

    conversation.input(reopen, [conversation], [chatbot, cid], api_visibility="private")

    @guarded
    def give(agree: bool, log_id: int | None, choice: int | None, request: gr.Request) -> str:
        if log_id is None:
            return "Ask for a decision first."
        if not agree and choice is None:
            return "Pick the option you would choose, then press Disagree."
        result = app.feedback(
            acting(app, request),
            {"decision_id": log_id, "agree": agree, "would_choose": None if agree else choice},
        )
        cal = result["calibration"]
        note = (
            f" Profile **{cal['profile']}** re-estimated from {cal['answers']} answers."
            if cal["updated"]
            else ""
        )
        return f"Thanks: noted that you would choose **{result['chosen']}**; I will remember it.{note}"

    def agree_fn(log_id: int | None, choice: int | None, request: gr.Request) -> str:
        return give(True, log_id, choice, request)

    def disagree_fn(log_id: int | None, choice: int | None, request: gr.Request) -> str:
        return give(False, log_id, choice, request)

    agree_btn.click(agree_fn, [decision_id, would], [feedback_status], api_visibility="private")
    disagree_btn.click(disagree_fn, [decision_id, would], [feedback_status], api_visibility="private")

    @guarded
    def refresh_list(request: gr.Request) -> Any:
        return gr.update(choices=_conversation_choices(app, acting(app, request)))

    refresh.click(refresh_list, None, [conversation], api_visibility="private")
    new.click(
        lambda: ([], None, gr.update(value="")), None, [chatbot, cid, conversation], api_visibility="private"
    )

    return ChatTab(load_outputs=[profile])
