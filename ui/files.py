"""Files a handler shows or offers for download: handed out to the acting user only (``Handout``).

A handler returns the handed-out copy's path to a ``gr.File`` or ``gr.Image``; the copy already lies
in Gradio's cache folder, so Gradio serves it from there and the file guard lets only its owner (and
admins) read it. No temporary folder is left behind.
"""

from __future__ import annotations

import json
from typing import Any

from assistant.app import AppService
from profiles.schemas import Actor

__all__ = ["json_download", "local_path"]


def json_download(app: AppService, actor: Actor, data: Any, name: str) -> str:
    """``data`` as a JSON file named ``name`` for ``actor``; the path to return to a component."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return local_path(app, app.handout.give(actor.name, text.encode("utf-8"), name))


def local_path(app: AppService, link: str) -> str:
    """The handed-out copy a link of a reply names (for a component)."""
    return str(app.handout.path(link))
