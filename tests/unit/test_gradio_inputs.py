"""assistant.web.gradio_inputs: an input Gradio's own check refuses gives a short error and one short
log line, never the value; an accepted input passes as before."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import gradio as gr
import pytest
from gradio.exceptions import Error

from assistant.app.refused import LOGGER_NAME
from assistant.web.gradio_inputs import short_input_errors, size_of

MARK = "ZQXJ"


def _demo() -> gr.Blocks:
    with gr.Blocks() as demo:
        pick = gr.Dropdown(choices=["a", "b"], value="a", label="Conversation")
        note = gr.Textbox(label="Note")
        pick.input(lambda p, n: n, [pick, note], [note])
    short_input_errors(demo)
    return demo


def _preprocess(demo: gr.Blocks, inputs: list[Any]) -> Any:
    return asyncio.run(demo.preprocess_data(demo.fns[0], inputs, None))


def test_a_refused_value_gives_a_short_error_and_one_short_line(caplog: pytest.LogCaptureFixture) -> None:
    demo = _demo()
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME), pytest.raises(Error) as refused:
        _preprocess(demo, [MARK * 25_000, "hi"])
    error = refused.value
    assert not error.print_exception  # Gradio prints no traceback
    assert "Conversation" in error.message and "100000 characters" in error.message
    assert MARK not in error.message and len(error.message) < 200
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER_NAME]
    assert len(lines) == 1 and MARK not in lines[0] and len(lines[0]) < 300, lines
    assert "field=Conversation" in lines[0] and "chars=100000" in lines[0]


def test_an_accepted_value_passes_as_before() -> None:
    assert _preprocess(_demo(), ["b", "hi"]) == ["b", "hi"]


def test_size_of_counts_texts_and_json() -> None:
    assert size_of("abc") == 3
    assert size_of(["abc"]) == len('["abc"]')
    assert size_of(None) == 4


def test_a_422_gives_where_and_what_without_the_value() -> None:
    from fastapi.exceptions import RequestValidationError

    from assistant.web.gradio_inputs import short_validation_error

    problem = {
        "type": "int_parsing",
        "loc": ("body", "fn_index"),
        "msg": "Input should be an integer",
        "input": MARK * 9,
    }
    answer = asyncio.run(short_validation_error(None, RequestValidationError([problem])))  # type: ignore[arg-type]
    assert answer.status_code == 422
    assert b"fn_index" in answer.body and MARK.encode() not in answer.body
