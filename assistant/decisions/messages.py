"""Messages for a person: what the UI and the API say never names a command-line flag.

The stores and the service share their errors with the CLI, whose messages may name its flags
(``--would-choose B``). The app's edge passes every message through ``for_people``: the known
phrases get words, and any flag left over loses its dashes.
"""

from __future__ import annotations

import re

__all__ = ["for_people", "has_flag"]

_PHRASES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"give either --decider or --algorithm, not both"),
        "give either a decider or an algorithm, not both",
    ),
    (re.compile(r"give one of its groups with --group (\S+)=GROUP"), r"pick one of its groups (\1: GROUP)"),
    (re.compile(r"Use --replace to overwrite"), "Import again with 'replace' ticked to overwrite"),
    (
        re.compile(r"give --disagree with --would-choose instead"),
        "disagree, and say which option you would choose",
    ),
    (re.compile(r"e\.g\. --would-choose (\w)"), r"for example \1"),
    (re.compile(r"give --agree instead"), "agree instead"),
    (re.compile(r"; create it with `align users add [^`]*`"), "; an admin can add it"),
    (
        re.compile(r"start it \(`chroma run[^`]*`\) or unset ALIGN_CHROMA_HOST to use the embedded store"),
        "ask the operator to start it",
    ),
    (re.compile(r"pass --resume to continue it, or use another --out"), "choose another output directory"),
    (re.compile(r"check --data and --limit"), "check the files and the number of records"),
]
_COMMAND = re.compile(r"`[^`]*--[^`]*`")  # a whole command line in backticks
_FLAG = re.compile(r"(?<![\w-])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)")


def has_flag(text: str) -> bool:
    """Does ``text`` name a command-line flag (``--word``)?"""
    return _FLAG.search(text) is not None


def for_people(message: str) -> str:
    """``message`` with every command-line flag turned into words."""
    for pattern, words in _PHRASES:
        message = pattern.sub(words, message)
    message = _COMMAND.sub("the command line (see the README)", message)
    return _FLAG.sub(lambda m: "'" + m.group(1).replace("-", " ") + "'", message)
