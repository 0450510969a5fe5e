"""Messages as the backbones of every type send them: ``fold_system`` for chat templates without a
system role (Gemma's, and the servers and chat models that use it)."""

from __future__ import annotations

from alignment.models import Message

__all__ = ["fold_system"]


def fold_system(messages: list[Message]) -> list[Message]:
    """Move system text into the first user turn (for chat templates that drop system messages)."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    rest = [m for m in messages if m.role != "system"]
    if not system:
        return rest
    if rest and rest[0].role == "user":
        return [Message(role="user", content=f"{system}\n\n{rest[0].content}"), *rest[1:]]
    return [Message(role="user", content=system), *rest]
