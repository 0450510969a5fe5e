"""Messages for a person: what the UI and the API say never names a command-line flag.

The stores and the service share their errors with the CLI, whose messages may name its flags
(``--would-choose B``). The app's edge passes every message through ``for_people``: the known
phrases get words, and any flag left over loses its dashes.

A request that does not fit its schema (pydantic's ``ValidationError``) becomes one sentence
through ``validation_message``: each wrong field named in words, with what to give instead; never
pydantic's own report (its type names and its link to errors.pydantic.dev).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

__all__ = ["for_people", "has_flag", "validation_message"]

_MAX_SHOWN = 3  # wrong fields named in one message; the rest are counted
_WHOLE = re.compile(r"(the|a|an|no)\s", re.IGNORECASE)  # a message that names its own subject

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
    (re.compile(r"; see `align examples (?:list|search)`"), "; search the examples to see their ids"),
    (re.compile(r"; see `align users list`"), "; see the list of users"),
    (re.compile(r"\(see `align attributes list`\)"), "(see the list of attributes)"),
    # any other command named in brackets: one bracket, not "(see the command line (see the README))"
    (re.compile(r"\((?:see|run|try|use) `(?:align [^`]*|[^`]*--[^`]*)`\)"), "(see the README)"),
]
_COMMAND = re.compile(r"`(?:align [^`]*|[^`]*--[^`]*)`")  # a whole command line in backticks
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


def _field(loc: tuple[Any, ...]) -> str:
    """Where an error is, in words: ``("columns", 0, "targets")`` -> "columns 1 targets"."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(str(part + 1))  # people count from 1
        elif not str(part).startswith(("function-", "list[", "dict[", "union[")):  # pydantic's inner steps
            parts.append(str(part).replace("_", " "))
    return " ".join(parts)


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _one(err: Any) -> str:
    """One pydantic error as words: "<field> <what is wrong>; <what to give>"."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    where = _field(tuple(err.get("loc") or ()))
    subject = where or "the request"
    got = err.get("input")
    if kind in {"value_error", "assertion_error"}:  # our own validators' messages are already words
        said = str(err.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        last = where.split(" ")[-1].removesuffix("s") if where else ""
        if not where or _WHOLE.match(said) or (last and last in said):
            return said  # it says what it is about ("the scenario is empty", "1 choice given; ...")
        return f"{where}: {said}"
    if kind == "missing":
        return f"{subject} is missing; fill it in"
    if kind == "extra_forbidden":
        return f"{subject!r} is not something this request takes; leave it out"
    if kind == "too_short":
        have = ctx.get("actual_length", 0)
        return f"{subject}: give at least {ctx.get('min_length')} (you gave {have})"
    if kind == "too_long":
        have = ctx.get("actual_length")
        more = f" (you gave {have})" if have is not None else ""
        return f"{subject}: give at most {ctx.get('max_length')}{more}"
    if kind == "string_too_short":
        return (
            f"{subject} is empty; fill it in"
            if ctx.get("min_length") == 1
            else (f"{subject} is too short; give at least {ctx.get('min_length')} characters")
        )
    if kind == "string_too_long":
        return f"{subject} is too long; shorten it to {ctx.get('max_length')} characters"
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("more than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"{subject} must be {words} {ctx.get(key)} (not {_shown(got)})"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"{subject} must be a whole number (not {_shown(got)})"
    if kind in {"float_parsing", "float_type", "finite_number"}:
        return f"{subject} must be a number (not {_shown(got)})"
    if kind in {"bool_parsing", "bool_type"}:
        return f"{subject} must be yes or no (true or false)"
    if kind in {"string_type", "string_unicode"}:
        return f"{subject} must be text"
    if kind in {"list_type", "tuple_type", "set_type"}:
        return f"{subject} must be a list"
    if kind in {"dict_type", "model_type", "model_attributes_type", "dataclass_type"}:
        return f"{subject} must be a set of names and values (a JSON object)"
    if kind in {"literal_error", "enum"}:
        return f"{subject} must be {ctx.get('expected', 'one of the offered values')}"
    if kind in {"json_invalid", "json_type"}:
        return f"{subject} is not valid JSON"
    said = str(err.get("msg", "is not valid")).rstrip(".")
    return f"{subject}: {said[:1].lower()}{said[1:]}"


def validation_message(exc: ValidationError) -> str:
    """A ``ValidationError`` as one sentence for a person: each wrong field in words (at most
    ``_MAX_SHOWN``, then how many more), what is wrong and what to give instead."""
    parts: list[str] = []
    for err in exc.errors(include_url=False):
        said = _one(err)
        if said not in parts:
            parts.append(said)
    if not parts:
        return "the request is not valid"
    more = len(parts) - _MAX_SHOWN
    shown = "; ".join(parts[:_MAX_SHOWN])
    return shown + (f"; and {more} more {'problem' if more == 1 else 'problems'}" if more > 0 else "")
