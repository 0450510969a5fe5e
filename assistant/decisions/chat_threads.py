"""The stored conversation that a chat app's history continues.

A chat app that speaks the OpenAI API keeps no conversation on the server: every request sends the
whole history, and the newest user message last. The chat engine answers follow-ups ("why not B?")
from the decision behind its last answer, which is in the stored conversation, so each request is
matched to one:

- the history is exactly a stored conversation of this user (the usual next turn): that one;
- the history is the start of a stored conversation (the person edited or regenerated an earlier
  turn): a new conversation with a copy of that start, decisions included, so the two branches stay
  apart;
- otherwise (the first turn, or a history from elsewhere): a new conversation holding the history
  as it was sent, without decisions (a follow-up about an answer this server did not give is
  answered as a new message).

Messages compare by role and text (surrounding white space ignored). Only the user's most recent
conversations are searched.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from profiles.schemas import Actor, ConversationCreate, MessageCreate, MessagePublic
from profiles.store import Store

__all__ = ["RECENT", "Turn", "continue_thread"]

RECENT = 20  # stored conversations searched, most recently updated first
_TITLE_CHARS = 80


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


def _key(role: str, content: str) -> tuple[str, str]:
    return role, content.strip()


def _title(history: list[Turn]) -> str:
    first = next((t.content for t in history if t.role == "user"), "") or "Conversation"
    return (first.strip().splitlines() or ["Conversation"])[0][:_TITLE_CHARS]


def continue_thread(
    store: Store, actor: Actor, history: list[Turn], *, profile: str | None = None
) -> int | None:
    """The id of the conversation the next message belongs to; None for an empty history (the
    chat engine starts one with the message)."""
    if not history:
        return None
    wanted = [_key(t.role, t.content) for t in history]
    branch: list[MessagePublic] | None = None
    branch_title = ""
    for conversation in store.conversations.list(actor)[:RECENT]:
        stored = [
            m for m in store.conversations.messages(actor, conversation.id) if m.role in ("user", "assistant")
        ]
        keys = [_key(m.role, m.content) for m in stored]
        if keys == wanted:
            return conversation.id
        if branch is None and len(keys) > len(wanted) and keys[: len(wanted)] == wanted:
            branch, branch_title = stored[: len(wanted)], conversation.title
    created = store.conversations.create(
        actor, ConversationCreate(title=branch_title or _title(history), profile=profile)
    )
    if branch is not None:
        for m in branch:
            copy = MessageCreate.model_validate(
                {"role": m.role, "content": m.content, "decision_id": m.decision_id}
            )
            store.conversations.add_message(actor, created.id, copy)
    else:
        for t in history:
            store.conversations.add_message(actor, created.id, MessageCreate(role=t.role, content=t.content))
    return created.id
