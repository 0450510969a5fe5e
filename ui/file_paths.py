"""A file a request names that was never uploaded here (``{"path": "/etc/passwd", ...}`` as a Gradio
``FileData``): Gradio refuses it before any handler runs, with an ``InvalidPathError`` whose traceback
it prints; ``refuse_quietly`` makes that one ``gr.Error`` in plain words, with one log line
(``log_refused``) instead of the traceback. Nothing else about the check changes: Gradio still
decides which paths are allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
from gradio import processing_utils
from gradio.exceptions import InvalidPathError

from assistant.app.refused import log_refused

__all__ = ["NOT_UPLOADED", "refuse_quietly"]

NOT_UPLOADED = "that file was not uploaded here; upload it again, then try again"


class PathRefused(InvalidPathError, gr.Error):
    """Still an ``InvalidPathError`` to Gradio's own callers; a quiet ``gr.Error`` to its queue."""

    def __init__(self) -> None:
        gr.Error.__init__(self, NOT_UPLOADED, print_exception=False)


def refuse_quietly() -> None:
    """Wrap Gradio's path check once (idempotent)."""
    check = processing_utils._check_allowed
    if getattr(check, "align_quiet", False):
        return

    def quiet(path: str | Path, check_in_upload_folder: bool) -> Any:
        try:
            return check(path, check_in_upload_folder)
        except InvalidPathError:
            log_refused("a file path that was not uploaded here", path=str(path))
            raise PathRefused() from None

    quiet.align_quiet = True  # type: ignore[attr-defined]
    processing_utils._check_allowed = quiet
