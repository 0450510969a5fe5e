"""The progress line: what a streamed answer shows while a turn works (a decision being weighed).

The chat engine yields it first, so that a chat sees something at once; ``/v1`` streams it as the
answer's first line. It is never part of the answer that is stored: a chat app sends the streamed
text back as history, so the line is taken off again before the history is matched to the stored
conversation (``without_progress``).
"""

from __future__ import annotations

import re

__all__ = ["progress_line", "without_progress"]

_LINE = re.compile(r"\A\s*(?:_[^_\n]{1,200}…_[ \t]*(?:\n\s*|\Z))+")


def progress_line(note: str) -> str:
    """The note as its line: italic, ending in an ellipsis."""
    note = " ".join(note.split()).strip("_ ").rstrip(".…")
    return f"_{note}…_"


def without_progress(text: str) -> str:
    """``text`` without the progress lines it starts with."""
    return _LINE.sub("", text)
