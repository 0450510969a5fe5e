"""Every request payload is measured before it is parsed: each text, each list or object, each number.

One walk over the JSON the caller sent (iterative: no recursion limit to hit). The first thing over
a limit refuses the whole request with an ``InputError`` that says which field, how big it is and
what to do, and leaves one short line in the server's output (``log_refused``): never the payload,
never a database row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alignment.errors import InputError
from assistant.app.refused import log_refused

if TYPE_CHECKING:
    from assistant.settings import Settings

__all__ = ["MAX_JSON_INT", "PayloadLimits", "PayloadTooLarge", "check_payload"]


MAX_JSON_INT = 2**53 - 1  # the largest whole number every JSON reader keeps exact


class PayloadTooLarge(InputError):
    """A request refused for its size (a text, a list, a number or the nesting)."""


@dataclass(frozen=True)
class PayloadLimits:
    max_text_chars: int = 8000
    max_items: int = 1000
    max_depth: int = 12
    max_int: int = MAX_JSON_INT

    @classmethod
    def from_settings(cls, settings: Settings) -> PayloadLimits:
        return cls(
            max_text_chars=int(getattr(settings, "max_text_chars", cls.max_text_chars)),
            max_items=int(getattr(settings, "max_items", cls.max_items)),
        )


def _where(path: tuple[str, ...]) -> str:
    return ".".join(path) if path else "the request"


def _refuse(what: str, user: str | None, path: tuple[str, ...], message: str, **sizes: object) -> None:
    log_refused(what, user=user, field=_where(path), **sizes)
    raise PayloadTooLarge(message)


def check_payload(payload: Any, limits: PayloadLimits, *, what: str, user: str | None = None) -> None:
    """Raise ``PayloadTooLarge`` for the first text, list, object, number or nesting over ``limits``."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(payload, ())]
    while stack:
        value, path = stack.pop()
        where = _where(path)
        if len(path) > limits.max_depth:
            _refuse(
                what,
                user,
                path[: limits.max_depth],
                f"the request is nested deeper than {limits.max_depth} levels; send a flatter JSON object",
                depth=len(path),
                limit=limits.max_depth,
            )
        if isinstance(value, str):
            if len(value) > limits.max_text_chars:
                _refuse(
                    what,
                    user,
                    path,
                    f"{where} has {len(value)} characters; the limit is {limits.max_text_chars}: shorten it",
                    chars=len(value),
                    limit=limits.max_text_chars,
                )
        elif isinstance(value, bool) or value is None or isinstance(value, float):
            continue
        elif isinstance(value, int):
            if abs(value) > limits.max_int:
                _refuse(
                    what,
                    user,
                    path,
                    f"{where} is too large a number; give a whole number between "
                    f"-{limits.max_int} and {limits.max_int}",
                    bits=value.bit_length(),
                    limit=limits.max_int,
                )
        elif isinstance(value, dict):
            if len(value) > limits.max_items:
                _refuse(
                    what,
                    user,
                    path,
                    f"{where} has {len(value)} entries; the limit is {limits.max_items}: send fewer",
                    entries=len(value),
                    limit=limits.max_items,
                )
            for key, item in value.items():
                key_text = str(key)
                if len(key_text) > limits.max_text_chars:
                    _refuse(
                        what,
                        user,
                        path,
                        f"a key in {where} has {len(key_text)} characters; the limit is "
                        f"{limits.max_text_chars}: shorten it",
                        chars=len(key_text),
                        limit=limits.max_text_chars,
                    )
                stack.append((item, (*path, key_text[:40])))
        elif isinstance(value, (list, tuple)):
            if len(value) > limits.max_items:
                _refuse(
                    what,
                    user,
                    path,
                    f"{where} has {len(value)} items; the limit is {limits.max_items}: send fewer",
                    items=len(value),
                    limit=limits.max_items,
                )
            stack.extend((item, (*path, str(i))) for i, item in enumerate(value))
