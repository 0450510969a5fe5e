"""The app's facade (what the Gradio UI and its API call): ``AppService`` composes the parts, each
taking its request schema (``assistant.app.schemas``) and answering a pydantic model
(``assistant.app.replies`` or a store's ``*Public``).

Nothing below the facade imports it: the decision layer (``assistant.decisions``) owns the schemas it
takes (``DecisionInput``, ``ChatRequest``) and the words it says to people (``for_people``).
"""

from __future__ import annotations

from assistant.app.service import AppService

__all__ = ["AppService"]
