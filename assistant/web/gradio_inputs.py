"""A UI handler's input that Gradio's own check refuses leaves one short line, and a short error.

Before a handler runs, Gradio checks and converts each input (``Blocks.preprocess_data``): a dropdown,
radio or checkbox group takes only one of its choices, a file must be one Gradio handed out, a value
must fit the component's data model. A refused value raises an error that quotes it (``Value: '...'
is not in the list of choices``); Gradio prints that error's traceback to the server's output and, as
``align serve`` shows errors, sends its text to the caller. So a ~1 MB value (under the body limit)
sent to a dropdown's handler put ~1 MB into the log per call, and came back in the reply.

``short_input_errors(demo)`` replaces any such error with a ``gr.Error`` that names the handler and
the field and gives the value's size, printed by nobody (``print_exception=False``), and logs one
``log_refused`` line with the same: what was refused and its size, never the value. This holds for
every component and every route into a handler (the queue, ``/gradio_api/run``, ``/call``). The app's
own refusals (short, in words, ``print_exception=False``) pass as they are.

A body of the wrong shape for Gradio's routes (``fn_index`` a text, ``data`` not a list) gets FastAPI's
422, which by default sends each wrong value back whole (its ``input``). ``short_validation_error``
answers the same 422 with where and what is wrong (each cut to ``MAX_DETAIL_CHARS``), never the value.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.exceptions import RequestValidationError
from gradio.exceptions import Error
from starlette.requests import Request
from starlette.responses import JSONResponse

from assistant.app.refused import log_refused

__all__ = [
    "MAX_DETAIL_CHARS",
    "SHORT_422",
    "refused_input",
    "short_input_errors",
    "short_validation_error",
    "size_of",
]

MAX_DETAIL_CHARS = 200  # each place and message of a 422 is cut to this


def size_of(value: Any) -> int:
    """A value's size in characters: a text's length, else the length of its JSON."""
    if isinstance(value, str):
        return len(value)
    try:
        return len(json.dumps(value, default=str, ensure_ascii=False))
    except (TypeError, ValueError, RecursionError):
        return len(str(value))


def _field(block: Any) -> str:
    label = getattr(block, "label", None)
    return str(label) if label else type(block).__name__


def refused_input(block_fn: Any, inputs: list[Any], error: Exception) -> Error:
    """The short error for a call of ``block_fn`` whose ``inputs`` Gradio refused with ``error``,
    logged as one line. The field named is the largest input (the one an oversize value is in)."""
    blocks = list(getattr(block_fn, "inputs", []) or [])
    sizes = [size_of(value) for value in inputs]
    largest = max(range(len(sizes)), key=sizes.__getitem__, default=None)
    field = _field(blocks[largest]) if largest is not None and largest < len(blocks) else "an input"
    chars = sizes[largest] if largest is not None else 0
    handler = str(getattr(block_fn, "name", None) or "a handler")
    log_refused(
        "UI input", handler=handler, field=field, chars=chars, inputs=len(inputs), error=type(error).__name__
    )
    return Error(
        f"{field}: the value sent ({chars} characters) is not one this field takes. "
        "Reload the page and choose or enter it again.",
        print_exception=False,
    )


def _the_apps_own(error: Error) -> bool:
    """A refusal the app's own input checks raised (a file not handed out here: ``ui.file_paths``),
    already short, in a person's words and printed by nobody: it goes to the caller as it is."""
    message = getattr(error, "message", "")
    return not getattr(error, "print_exception", True) and isinstance(message, str) and len(message) <= 300


def short_input_errors(demo: Any) -> None:
    """Gradio's input check of every handler of ``demo``: a refusal as in the module docstring."""
    original = demo.preprocess_data

    async def preprocess_data(block_fn: Any, inputs: list[Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(block_fn, inputs, *args, **kwargs)
        except Error as error:
            if _the_apps_own(error):
                raise
            raise refused_input(block_fn, list(inputs or []), error) from None
        except Exception as error:
            raise refused_input(block_fn, list(inputs or []), error) from None

    demo.preprocess_data = preprocess_data


def _cut(value: object) -> str:
    text = str(value)
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 3] + "..."


async def short_validation_error(_request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422 for a body of the wrong shape, without the values it quotes (module docstring)."""
    problems = error.errors() if isinstance(error, RequestValidationError) else []
    detail = [
        {
            "type": _cut(problem.get("type", "")),
            "loc": [_cut(part) if isinstance(part, str) else part for part in problem.get("loc", ())][:20],
            "msg": _cut(problem.get("msg", "")),
        }
        for problem in list(problems)[:20]
    ]
    return JSONResponse({"detail": detail}, status_code=422)


# FastAPI's ``exception_handlers`` for the app: its 422 without the values
SHORT_422: dict[Any, Any] = {RequestValidationError: short_validation_error}
