"""A refused request leaves one short line in the server's output: what was refused and the sizes.

Never the payload, never a row in the database: an attacker's oversize request must not grow the
store or the log beyond this line (README "Security").
"""

from __future__ import annotations

import logging

__all__ = ["LOGGER_NAME", "log_refused"]

LOGGER_NAME = "align.refused"
_LOG = logging.getLogger(LOGGER_NAME)
_MAX_FIELD_CHARS = 80  # names and paths quoted in the line are cut to this


def _short(value: object) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= _MAX_FIELD_CHARS else text[: _MAX_FIELD_CHARS - 3] + "..."


def log_refused(what: str, **sizes: object) -> str:
    """Log ``refused <what>: key=value ...`` (each value cut short) and return that line."""
    details = " ".join(f"{key}={_short(value)}" for key, value in sizes.items() if value is not None)
    line = f"refused {_short(what)}" + (f": {details}" if details else "")
    _LOG.warning("%s", line)
    return line
