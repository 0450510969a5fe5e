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


# what a limit counts, and what a person is told past it
_TOO_MANY = {
    "chars": "{where} has {count} characters; the limit is {limit}: shorten it",
    "bits": "{where} is too large a number; give a whole number between -{limit} and {limit}",
    "entries": "{where} has {count} entries; the limit is {limit}: send fewer",
    "items": "{where} has {count} items; the limit is {limit}: send fewer",
}


def _measure(value: Any, limits: PayloadLimits) -> tuple[str, int, int] | None:
    """What of ``value`` itself is over ``limits``: (what is counted, the count, the limit), or None."""
    if isinstance(value, str) and len(value) > limits.max_text_chars:
        return "chars", len(value), limits.max_text_chars
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > limits.max_int:
        return "bits", value.bit_length(), limits.max_int
    if isinstance(value, dict) and len(value) > limits.max_items:
        return "entries", len(value), limits.max_items
    if isinstance(value, (list, tuple)) and len(value) > limits.max_items:
        return "items", len(value), limits.max_items
    return None


def _check(
    value: Any, where: str, limits: PayloadLimits, what: str, user: str | None, path: tuple[str, ...]
) -> None:
    """Refuse ``value`` (called ``where``, at ``path``) if it is over ``limits``."""
    over = _measure(value, limits)
    if over is not None:
        unit, count, limit = over
        message = _TOO_MANY[unit].format(where=where, count=count, limit=limit)
        _refuse(what, user, path, message, **{unit: count, "limit": limit})


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
        _check(value, where, limits, what, user, path)
        if isinstance(value, dict):
            for key, item in value.items():
                key_text = str(key)
                _check(key_text, f"a key in {where}", limits, what, user, path)
                stack.append((item, (*path, key_text[:40])))
        elif isinstance(value, (list, tuple)):
            stack.extend((item, (*path, str(i))) for i, item in enumerate(value))
