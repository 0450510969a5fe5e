"""Chat tab: pick a profile (or your values, grouped by pack), describe a situation, get a streamed,
justified answer; asked before any value is picked, it suggests the values most related to it."""

import html
import re
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from alignment.models import Decision
from alignment.prompts import label_of
from assistant.app import AppService
from assistant.app.packs import group_by_pack
from assistant.app.replies import OptionsReply
from assistant.app.schemas import ChatRequest, ConversationRequest, FeedbackRequest, OwnerRequest
from assistant.app.service import SUGGESTIONS
from assistant.decisions.chat import DEFAULT_VALUE, AttributeSuggestion, ChatUpdate
from profiles.schemas import Actor, AttributePublic
from ui.common import acting, shown_once

__all__ = ["DEFAULT", "SLIDERS", "ChatTab", "build_chat_tab", "delete_conversation"]

SLIDERS = "(your values below)"
NEW = "(new conversation)"
DEFAULT = ""  # the algorithm entry that sends none: the service's default decider applies
WELCOME = """**Hi! Tell me about a decision you are facing**, in your own words, with the options.
For example: *Should I put my savings in an index fund or start a food truck with a friend?*

**Your values** are what matters most to you when you choose: honesty, family, security...
Tell me in a sentence, like *honesty matters most to me*, or tick them under "Your values" below.

Then ask *why?* or *what if I cared more about money?*"""


@dataclass
class ChatTab:
    load_outputs: list[Any] = field(default_factory=list)
    calibrate_button: Any = None  # switches to the Calibrate tab (wired by the app)
    profile: Any = None  # the profile picker: the app refreshes it when a profile changes elsewhere
    turns: list[Any] = field(default_factory=list)  # a sent message's events (a turn may set values)

    @staticmethod
    def on_load(actor: Actor, profiles: list[str]) -> list[Any]:
        return [gr.update(choices=[SLIDERS, *profiles], value=SLIDERS)]

    @staticmethod
    def picker(profiles: list[str], current: str | None) -> Any:
        """The profile picker with these profiles, the picked one kept while it still exists."""
        keep = current if current in profiles else SLIDERS
        return gr.update(choices=[SLIDERS, *profiles], value=keep)


def _conversation_choices(app: AppService, actor: Actor) -> list[tuple[str, str]]:
    rows = app.decisions.conversations(actor, OwnerRequest()).conversations
    return [(NEW, "")] + [(f"#{c.id} {c.title[:60]}", str(c.id)) for c in rows]


def _feedback_updates(log_id: int | None, decision: Decision | None = None) -> tuple[Any, ...]:
    """(decision id, feedback row, would-choose dropdown, status) after an answer."""
    if log_id is None or decision is None:
        return None, gr.update(visible=False), gr.update(), ""
    options = [(f"({label_of(s.index)}) {s.choice}", s.index) for s in decision.scores]
    return log_id, gr.update(visible=True), gr.update(choices=options, value=None), ""


def delete_conversation(app: AppService, actor: Actor, conversation_id: int | None) -> str:
    """The Chat tab's "Delete this conversation": the open conversation and its messages go (this
    frees the person's conversation storage); the words to show."""
    if conversation_id is None:
        return "Open a conversation first (pick it in the list), then delete it."
    asked = app.parse(ConversationRequest, {"id": int(conversation_id)}, actor=actor)
    gone = app.decisions.delete_conversation(actor, asked)
    return f"Deleted {gone.deleted}."


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "x"


def _show_ticked(names: list[str]) -> Any:
    """A box's change: show the sliders of the ticked attributes, hide the others."""

    def show(ticked: list[str] | None) -> list[Any]:
        return [gr.update(visible=n in (ticked or [])) for n in names]

    return show


@dataclass
class _Group:
    """One pack in the picker: its accordion, its tick boxes, one slider per attribute."""

    names: list[str]
    accordion: Any
    box: Any
    sliders: list[Any]


def build_chat_tab(app: AppService, scalars: list[AttributePublic], options: OptionsReply) -> ChatTab:
    with gr.Row():
        conversation = gr.Dropdown(
            [(NEW, "")], value="", label="Conversation", elem_id="chat-conversation", scale=3
        )
        refresh = gr.Button("Refresh list", size="sm", scale=0)
        new = gr.Button("New conversation", size="sm", scale=0)
        delete = gr.Button("Delete this conversation", size="sm", scale=0, elem_id="chat-delete")
    chatbot = gr.Chatbot(label="Decision advice", elem_id="chatbot", height=460, placeholder=WELCOME)
    with gr.Row(visible=False, elem_id="chat-suggestions") as suggest_row:
        suggest_buttons = [
            gr.Button("", size="sm", scale=0, elem_id=f"chat-suggest-{i}") for i in range(SUGGESTIONS)
        ]
        calibrate = gr.Button("Calibrate my values", size="sm", scale=0, elem_id="chat-calibrate")
    with gr.Row():
        message = gr.Textbox(
            placeholder="Describe your decision and the options you are weighing, in your own words",
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
    profile = gr.Dropdown([SLIDERS], value=SLIDERS, label="Align to profile", elem_id="chat-profile")
    with gr.Accordion(
        "Your values (with the ones you told me, when no profile is picked)",
        open=False,
        elem_id="chat-values",
    ) as values:
        gr.Markdown(
            "Tick the values that matter to you in this decision, then set how much each matters: "
            "0 = not at all, 1 = very much."
        )
        groups: list[_Group] = []
        for i, pack in enumerate(group_by_pack(scalars)):
            with gr.Accordion(
                pack.title, open=pack.everyday or i == 0, elem_id=f"chat-pack-{_slug(pack.pack or 'admin')}"
            ) as acc:
                box = gr.CheckboxGroup(
                    [(a.label or a.name, a.name) for a in pack.items],
                    value=[],
                    show_label=False,
                    elem_id=f"chat-active-{_slug(pack.pack or 'admin')}",
                )
                sliders = [
                    gr.Slider(
                        0,
                        1,
                        value=DEFAULT_VALUE,
                        step=0.05,
                        label=a.label or a.name,
                        info=a.description,
                        visible=False,
                        elem_id=f"chat-value-{_slug(a.name)}",
                    )
                    for a in pack.items
                ]
            names = [a.name for a in pack.items]
            box.change(_show_ticked(names), [box], sliders, api_visibility="private")
            groups.append(_Group(names, acc, box, sliders))
    default = options.default_decider or options.default_algorithm
    # for researchers: which method decides, on which model
    with gr.Accordion("Advanced", open=False, elem_id="chat-advanced"), gr.Row():
        algorithm = gr.Dropdown(
            [(f"default ({default})", DEFAULT), *((a, a) for a in options.algorithms)],
            value=DEFAULT,
            label="Algorithm",
            elem_id="chat-algorithm",
        )
        backbone = gr.Dropdown(
            options.backbones, value=options.default_backbone, label="Backbone", elem_id="chat-backbone"
        )
    cid = gr.State(None)
    decision_id = gr.State(None)
    suggested = gr.State([])  # the suggestions of the last answer (AttributeSuggestion), for the buttons
    asked = gr.State("")  # the message they answered, put back in the box when one is picked

    def suggestion_updates(update: ChatUpdate, text: str) -> tuple[Any, ...]:
        """(row, buttons..., suggested, asked) after an answer: shown when it asks for values."""
        asking = update.kind == "suggest"
        rows = list(update.suggestions) if asking else []
        buttons = [
            gr.update(value=f"+ {rows[i].label}", visible=True) if i < len(rows) else gr.update(visible=False)
            for i in range(len(suggest_buttons))
        ]
        return (gr.update(visible=asking), *buttons, rows, text if asking else "")

    def respond(data: dict, request: gr.Request) -> Any:
        actor = acting(app, request)
        text = data[message]
        targets = {
            name: float(data[slider])
            for g in groups
            for name, slider in zip(g.names, g.sliders, strict=True)
            if name in (data[g.box] or [])
        }
        picked = data[profile] if data[profile] and data[profile] != SLIDERS else None
        payload = {  # parsed as a ChatRequest at the UI's edge (measured like an API call)
            "message": text,
            "conversation_id": data[cid],
            "algorithm": data[algorithm] or None,  # the default entry: the service's default decider
            "backbone": data[backbone],
            "profile": picked,
            "targets": None if picked else targets or None,  # a picked profile wins over the sliders
        }
        history = [*(data[chatbot] or []), {"role": "user", "content": text}]
        update = None
        for update in app.decisions.chat_stream(actor, app.parse(ChatRequest, payload, actor=actor)):
            if update.done:
                continue  # the last update is shown once, below, with the controls it brings
            yield (
                [*history, {"role": "assistant", "content": update.text}],
                update.conversation_id,
                "",
                gr.update(),
                *_feedback_updates(None),
                *(gr.update() for _ in range(len(suggest_buttons) + 3)),  # row, buttons, 2 states
            )
        if update is not None:
            choices = _conversation_choices(app, actor)
            yield (
                [*history, {"role": "assistant", "content": update.text}],
                update.conversation_id,
                "",
                gr.update(choices=choices, value=str(update.conversation_id)),
                *_feedback_updates(update.decision_id if update.decision else None, update.decision),
                *suggestion_updates(update, text),
            )

    inputs: set[gr.blocks.Block] = {message, chatbot, cid, profile, algorithm, backbone}
    for g in groups:
        inputs.update([g.box, *g.sliders])
    outputs = [
        chatbot,
        cid,
        message,
        conversation,
        decision_id,
        feedback_row,
        would,
        feedback_status,
        suggest_row,
        *suggest_buttons,
        suggested,
        asked,
    ]
    answer = shown_once(len(outputs))(respond)  # a refusal (an empty message...) leaves the box usable
    sent = [
        send.click(answer, inputs, outputs, api_visibility="private"),
        message.submit(answer, inputs, outputs, api_visibility="private"),
    ]

    where = {name: (g, i) for g in groups for i, name in enumerate(g.names)}

    def pick_suggestion(index: int) -> Any:
        """Tick the i-th suggested attribute at its default value, open its pack, and put the question
        back in the box: one press of Send asks again."""

        def pick(data: dict) -> dict[Any, Any]:
            rows: list[AttributeSuggestion] = data[suggested] or []
            if index >= len(rows) or rows[index].name not in where:
                return {}
            row = rows[index]
            g, i = where[row.name]
            ticked = list(data[g.box] or [])
            out: dict[Any, Any] = {values: gr.update(open=True), g.accordion: gr.update(open=True)}
            if row.name not in ticked:
                out[g.box] = gr.update(value=[*ticked, row.name])
                out[g.sliders[i]] = gr.update(value=row.value, visible=True)
            out[suggest_buttons[index]] = gr.update(visible=False)
            if not (data[message] or "").strip():
                out[message] = gr.update(value=data[asked])
            return out

        return pick

    pick_inputs = {suggested, asked, message, *(g.box for g in groups)}
    pick_outputs = [values, message, *suggest_buttons]
    for g in groups:
        pick_outputs.extend([g.accordion, g.box, *g.sliders])
    for i, button in enumerate(suggest_buttons):
        button.click(pick_suggestion(i), pick_inputs, pick_outputs, api_visibility="private")

    @shown_once(2)
    def reopen(value: str, request: gr.Request) -> Any:
        if not value:
            return [], None
        actor = acting(app, request)
        convo = app.decisions.conversation(actor, app.parse(ConversationRequest, {"id": int(value)}))
        history = [{"role": m.role, "content": m.content} for m in convo.messages]
        return history, convo.id

    conversation.input(reopen, [conversation], [chatbot, cid], api_visibility="private")

    @shown_once(1, status=0)
    def give(agree: bool, log_id: int | None, choice: int | None, request: gr.Request) -> str:
        if log_id is None:
            return "Ask for a decision first."
        if not agree and choice is None:
            return "Pick the option you would choose, then press Disagree."
        actor = acting(app, request)
        said = {"decision_id": log_id, "agree": agree, "would_choose": None if agree else choice}
        result = app.feedback.give(actor, app.parse(FeedbackRequest, said, actor=actor))
        cal = result.calibration
        note = (
            f" Profile **{cal.profile}** re-estimated from {cal.answers} answers."
            if cal is not None and cal.updated
            else ""
        )
        return f"Thanks: noted that you would choose **{result.chosen}**; I will remember it.{note}"

    def agree_fn(log_id: int | None, choice: int | None, request: gr.Request) -> str:
        return give(True, log_id, choice, request)

    def disagree_fn(log_id: int | None, choice: int | None, request: gr.Request) -> str:
        return give(False, log_id, choice, request)

    agree_btn.click(agree_fn, [decision_id, would], [feedback_status], api_visibility="private")
    disagree_btn.click(disagree_fn, [decision_id, would], [feedback_status], api_visibility="private")

    @shown_once(1)
    def refresh_list(request: gr.Request) -> Any:
        return gr.update(choices=_conversation_choices(app, acting(app, request)))

    refresh.click(refresh_list, None, [conversation], api_visibility="private")
    new.click(
        lambda: ([], None, gr.update(value="")), None, [chatbot, cid, conversation], api_visibility="private"
    )

    @shown_once(3)
    def delete_current(conversation_id: int | None, request: gr.Request) -> Any:
        # the toast renders HTML; the title is the person's own text
        gr.Info(html.escape(delete_conversation(app, acting(app, request), conversation_id)))
        return [], None, gr.update(choices=_conversation_choices(app, acting(app, request)), value="")

    delete.click(delete_current, [cid], [chatbot, cid, conversation], api_visibility="private")

    return ChatTab(load_outputs=[profile], calibrate_button=calibrate, profile=profile, turns=sent)
