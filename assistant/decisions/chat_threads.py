"""The stored conversation that a chat app's history continues.

A chat app that speaks the OpenAI API keeps no conversation on the server: every request sends the
whole history, and the newest user message last. The chat engine answers follow-ups ("why not B?")
from the decision behind its last answer, which is in the stored conversation, so each request is
matched to one:

- the history is exactly a stored conversation of this user (the usual next turn): that one;
- the history is the start of a stored conversation (the person edited or regenerated an earlier
  turn): a new conversation with a copy of that start, decisions included, so the two branches stay
  apart;
- otherwise (the first turn, or a history from elsewhere): a new conversation that keeps only what
  a turn needs, so a caller cannot fill the database by sending long made-up histories: the last
  ``KEPT_TAIL`` messages as they were sent (the engine reads the turn before, e.g. its ask for the
  options), and, for the earlier ones, one short note with their count and a digest (SHA-256 of
  their roles and texts). The note is a ``system`` message, so the next turn's history, which starts
  with the same earlier messages, still matches this conversation.

Messages compare by role and text (surrounding white space ignored, and an answer's progress lines,
``assistant.decisions.progress``, which a streamed answer starts with but the stored one does not).
Only the user's most recent conversations are searched.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel

from assistant.decisions.progress import without_progress
from profiles.schemas import Actor, ConversationCreate, MessageCreate, MessagePublic
from profiles.store import Store

__all__ = ["KEPT_TAIL", "RECENT", "Turn", "continue_thread", "digest_note", "history_digest"]

RECENT = 20  # stored conversations searched, most recently updated first
KEPT_TAIL = 2  # messages of an unknown history stored as they were sent (the rest as one digest)
_TITLE_CHARS = 80
_NOTE = re.compile(r"\[earlier messages: (\d+), sha256 ([0-9a-f]{64})\]\s*\Z")

Key = tuple[str, str]


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


def _key(role: str, content: str) -> Key:
    if role == "assistant":  # a streamed answer's progress line is not part of the stored answer
        content = without_progress(content)
    return role, content.strip()


def history_digest(keys: list[Key]) -> str:
    """The SHA-256 of messages' roles and texts (white space around each text ignored)."""
    data = json.dumps([list(k) for k in keys], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()


def digest_note(keys: list[Key]) -> str:
    """The note that stands for ``keys`` in a stored conversation (a person reading it sees why)."""
    return (
        f"{len(keys)} earlier messages came from a chat app and are not stored here. "
        f"[earlier messages: {len(keys)}, sha256 {history_digest(keys)}]"
    )


def _title(history: list[Turn]) -> str:
    first = next((t.content for t in history if t.role == "user"), "") or "Conversation"
    return (first.strip().splitlines() or ["Conversation"])[0][:_TITLE_CHARS]


class _Stored:
    """A stored conversation as the matching sees it: the digest its note stands for (if any) and
    its user and assistant messages."""

    def __init__(self, messages: list[MessagePublic]) -> None:
        self.note: MessagePublic | None = None
        self.count, self.digest = 0, ""
        if messages and messages[0].role == "system":
            found = _NOTE.search(messages[0].content)
            if found:
                self.note, self.count, self.digest = messages[0], int(found.group(1)), found.group(2)
        self.said = [m for m in messages if m.role in ("user", "assistant")]
        self.keys = [_key(m.role, m.content) for m in self.said]

    def rest(self, wanted: list[Key], digests: dict[int, str]) -> list[Key] | None:
        """What of ``wanted`` follows this conversation's note (all of it without a note); None when
        the note's messages are not the start of ``wanted``."""
        if self.note is None:
            return wanted
        if len(wanted) < self.count:
            return None
        if self.count not in digests:
            digests[self.count] = history_digest(wanted[: self.count])
        return wanted[self.count :] if digests[self.count] == self.digest else None


def continue_thread(
    store: Store,
    actor: Actor,
    history: list[Turn],
    *,
    profile: str | None = None,
    reserve: Callable[[int], None] | None = None,
) -> int | None:
    """The id of the conversation the next message belongs to; None for an empty history (the
    chat engine starts one with the message). A branch's copy of a stored start is first handed to
    ``reserve`` by its characters (which may refuse it: the storage quota), before it is stored."""
    if not history:
        return None
    wanted = [_key(t.role, t.content) for t in history]
    digests: dict[int, str] = {}
    branch: list[MessageCreate] | None = None
    branch_title = ""
    for conversation in store.conversations.list(actor)[:RECENT]:
        stored = _Stored(store.conversations.messages(actor, conversation.id))
        rest = stored.rest(wanted, digests)
        if rest is None:
            continue
        if stored.keys == rest:
            return conversation.id
        if branch is None and len(stored.keys) > len(rest) and stored.keys[: len(rest)] == rest:
            kept = ([stored.note] if stored.note is not None else []) + stored.said[: len(rest)]
            branch = [
                MessageCreate.model_validate(
                    {"role": m.role, "content": m.content, "decision_id": m.decision_id}
                )
                for m in kept
            ]
            branch_title = conversation.title
    if branch is None:
        earlier, tail = wanted[:-KEPT_TAIL], history[-KEPT_TAIL:]
        branch = [MessageCreate(role="system", content=digest_note(earlier))] if earlier else []
        branch += [MessageCreate(role=t.role, content=_key(t.role, t.content)[1]) for t in tail]
    elif reserve is not None:
        reserve(sum(len(m.content) for m in branch))
    created = store.conversations.create(
        actor, ConversationCreate(title=branch_title or _title(history), profile=profile)
    )
    for message in branch:
        store.conversations.add_message(actor, created.id, message)
    return created.id
