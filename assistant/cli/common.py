"""Helpers shared by the CLI command modules."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from pydantic import BaseModel, ValidationError

from alignment.errors import InputError
from assistant.decisions.service import validation_message

if TYPE_CHECKING:
    from assistant.cli.context import Cli

__all__ = [
    "Handler",
    "Subcommands",
    "add_command",
    "add_group",
    "check_new_key",
    "check_range",
    "parse_assignments",
    "parse_params",
    "print_progress",
    "print_report",
    "read_text_arg",
    "split_assignment",
    "validated",
]

# What a command group's ``register`` is handed: the parser's subcommands, to add its own to.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
M = TypeVar("M", bound=BaseModel)

# What a command runs: ``handler(args, cli)``, returning the exit status.
Handler: TypeAlias = "Callable[[argparse.Namespace, Cli], int]"


def add_command(sub: Subcommands, name: str, handler: Handler, **parser_args: Any) -> argparse.ArgumentParser:
    """Sub-command NAME that runs HANDLER, with ``help``, ``description``, ... as ``add_parser``
    takes them; returns its parser, to add its arguments to."""
    parser = sub.add_parser(name, **parser_args)
    parser.set_defaults(handler=handler)
    return parser


def add_group(sub: Subcommands, name: str, metavar: str = "ACTION", **parser_args: Any) -> Subcommands:
    """Command group NAME (``align NAME ACTION``), with ``help``, ``description``, ... as
    ``add_parser`` takes them; returns its sub-commands, one of which must be given."""
    parser = sub.add_parser(name, **parser_args)
    dest = f"{name.replace('-', '_')}_command"
    return parser.add_subparsers(dest=dest, required=True, metavar=metavar)


def print_progress(line: str) -> None:
    """A long command's progress line, on standard error (standard output keeps the result)."""
    print(line, file=sys.stderr, flush=True)


def print_report(
    report: dict[str, Any], as_json: bool, summary: Callable[[dict[str, Any]], list[str]]
) -> int:
    """A benchmark's REPORT: all of it as JSON (``--json``), else its SUMMARY lines."""
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(summary(report)))
    return 0


def validated(model: type[M], **data: Any) -> M:
    """MODEL built from DATA; invalid data is an input error saying what is wrong."""
    try:
        return model(**data)
    except ValidationError as exc:
        raise InputError(validation_message(exc)) from None


def check_range(value: int, flag: str, low: int, high: int) -> None:
    """Refuse ``FLAG VALUE`` outside [LOW, HIGH]."""
    if not low <= value <= high:
        raise InputError(f"{flag} must be between {low} and {high}")


def split_assignment(
    item: str, flag: str, form: str, example: str, *, last: bool = False, value_required: bool = False
) -> tuple[str, str]:
    """``KEY=VALUE`` given to FLAG, as (KEY stripped, VALUE): split at the first ``=`` (at the last
    with LAST). Without a key (or a value, when VALUE_REQUIRED) it is an input error showing FORM
    and EXAMPLE."""
    key, sep, value = item.rpartition("=") if last else item.partition("=")
    if not sep or not key.strip() or (value_required and not value.strip()):
        raise InputError(f"{flag} {item!r}: write it as {form}, for example {example}")
    return key.strip(), value


def check_new_key(out: dict[str, Any], key: str, flag: str) -> None:
    """Refuse KEY given to FLAG a second time."""
    if key in out:
        raise InputError(f"{flag}: {key!r} is given twice; give it once")


def parse_assignments(items: list[str] | None, flag: str) -> dict[str, float]:
    """``NAME=VALUE`` pairs with VALUE a finite number."""
    out: dict[str, float] = {}
    for item in items or []:
        name, raw = split_assignment(item, flag, "NAME=VALUE", "fairness=0.8", last=True)
        try:
            value = float(raw)
        except ValueError:
            raise InputError(f"{flag} {item!r}: {raw!r} is not a number; use a value in [0, 1]") from None
        if not math.isfinite(value):
            raise InputError(f"{flag} {item!r}: the value must be a finite number in [0, 1]")
        check_new_key(out, name, flag)
        out[name] = value
    return out


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` algorithm parameters; VALUE is JSON if it parses, else a string."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, raw = split_assignment(item, "--param", "KEY=VALUE", "n_aligned=3")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def read_text_arg(args: argparse.Namespace, text_attr: str, file_attr: str, what: str) -> str:
    """Text from --X, or --X-file, or standard input when it is not a terminal."""
    text = getattr(args, text_attr, None)
    path = getattr(args, file_attr, None)
    if text is not None and path is not None:
        raise InputError(f"give the {what} once: as text or as a file, not both")
    if path is not None:
        try:
            return Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {what} file {path}: {exc}") from None
    if text is not None:
        return str(text)
    if not sys.stdin.isatty():
        return sys.stdin.read()
    raise InputError(f"no {what}: pass --{text_attr.replace('_', '-')} TEXT, a file, or stdin")
