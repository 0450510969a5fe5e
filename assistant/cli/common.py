"""Helpers shared by the CLI command modules."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any, TypeAlias

from alignment.errors import InputError

__all__ = ["Subcommands", "parse_assignments", "parse_params", "read_text_arg"]

# What a command group's ``register`` is handed: the parser's subcommands, to add its own to.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def parse_assignments(items: list[str] | None, flag: str) -> dict[str, float]:
    """``NAME=VALUE`` pairs with VALUE a finite number."""
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, raw = item.rpartition("=")
        if not sep or not name.strip():
            raise InputError(f"{flag} {item!r}: write it as NAME=VALUE, for example fairness=0.8")
        try:
            value = float(raw)
        except ValueError:
            raise InputError(f"{flag} {item!r}: {raw!r} is not a number; use a value in [0, 1]") from None
        if not math.isfinite(value):
            raise InputError(f"{flag} {item!r}: the value must be a finite number in [0, 1]")
        if name.strip() in out:
            raise InputError(f"{flag}: {name.strip()!r} is given twice; give it once")
        out[name.strip()] = value
    return out


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` algorithm parameters; VALUE is JSON if it parses, else a string."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param {item!r}: write it as KEY=VALUE, for example n_aligned=3")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


def read_text_arg(args: argparse.Namespace, text_attr: str, file_attr: str, what: str) -> str:
    """Text from --X, or --X-file, or standard input when it is not a terminal."""
    import sys

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
