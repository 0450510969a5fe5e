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
    cid = gr.State(None)

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
            )
        if update is not None:
            choices = _conversation_choices(app, actor)
            yield (
                [*history, {"role": "assistant", "content": update.text}],
                update.conversation_id,
                "",
                gr.update(choices=choices, value=str(update.conversation_id)),
            )

    inputs: set[gr.blocks.Block] = {message, chatbot, cid, profile, algorithm, backbone, active, *sliders}
    outputs = [chatbot, cid, message, conversation]
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
    def refresh_list(request: gr.Request) -> Any:
        return gr.update(choices=_conversation_choices(app, acting(app, request)))

    refresh.click(refresh_list, None, [conversation], api_visibility="private")
    new.click(
        lambda: ([], None, gr.update(value="")), None, [chatbot, cid, conversation], api_visibility="private"
    )

    return ChatTab(load_outputs=[profile])
