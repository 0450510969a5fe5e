"""The app's facade (what the Gradio UI and its API call) and its request schemas.

``AppService`` is imported on first use, so that importing a sibling module (``assistant.app.schemas``,
``assistant.app.messages``, as the chat engine does) does not import the facade, which imports the chat
engine: no import cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.app.service import AppService

__all__ = ["AppService"]


def __getattr__(name: str) -> Any:
    if name == "AppService":
        from assistant.app.service import AppService

        return AppService
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
