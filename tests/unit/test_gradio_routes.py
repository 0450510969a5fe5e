"""Gradio's routes under ``/gradio_api/``: a closed list. Only the routes the app's page and
gradio_client use are open; every other one, a route a newer Gradio adds among them, answers 404 with
one short log line. And the JSON a caller writes in a code box, whatever the caller sends in its place."""

from __future__ import annotations

import logging
import re

import gradio as gr
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from alignment.errors import InputError
from assistant.web.gradio_routes import OPEN_ROUTES, GradioRoutes, closed_route
from ui.common import json_text

CLOSED = [
    "/gradio_api/process_recording",
    "/gradio_api/dev/reload",
    "/gradio_api/dev/anything",
    "/gradio_api/component_server",
    "/gradio_api/component_server/",
    "/gradio_api/queue/status",
    "/gradio_api/login_check",
    "/gradio_api/openapi.json",
    "/gradio_api/stream/abc/close",
    "/gradio_api/mcp/schema",
    "/gradio_api/vibe-code",
    "/gradio_api/profiling/summary",
    "/gradio_api/runs",
    "/gradio_api/run-history/buckets",
    "/gradio_api/theme.css",
    "/gradio_api/a_route_gradio_adds_next_year",
    "/gradio_api/",
    "/gradio_api",
    "/gradio_api//queue/join",
    "/gradio_api/queue/joined",
    "/gradio_api/call",  # a prefix opens the routes under it, not itself
    "/gradio_api/uploads",
    "/gradio_api/info/more",
]
OPEN = [
    "/gradio_api/queue/join",
    "/gradio_api/queue/data",
    "/gradio_api/call/decide",
    "/gradio_api/call/decide/0123abcd",
    "/gradio_api/call/v2/decide",
    "/gradio_api/run/whoami",
    "/gradio_api/api/whoami",
    "/gradio_api/cancel",
    "/gradio_api/reset",
    "/gradio_api/reset/",
    "/gradio_api/heartbeat/0123abcd",
    "/gradio_api/upload",
    "/gradio_api/upload_progress",
    "/gradio_api/file=/tmp/gradio/x/a.png",
    "/gradio_api/file/tmp/gradio/x/a.png",
    "/gradio_api/info",
    "/gradio_api/info/",
    "/gradio_api/app_id",
    "/gradio_api/user",
    "/gradio_api/startup-events",
]


@pytest.mark.parametrize("path", CLOSED)
def test_a_route_not_on_the_list_is_closed(path):
    assert closed_route(path)


@pytest.mark.parametrize("path", OPEN)
def test_the_routes_the_page_and_gradio_client_use_are_open(path):
    assert not closed_route(path)


@pytest.mark.parametrize("path", ["/", "/config", "/theme.css", "/login", "/v1/models", "/gradio_apix/dev"])
def test_routes_outside_gradio_api_are_not_this_rules_business(path):
    assert not closed_route(path)


def _paths(routes: list[object]) -> set[str]:
    found = set()
    for route in routes:
        inner = getattr(route, "original_router", None)  # a router FastAPI included as a whole
        found |= _paths(inner.routes) if inner is not None else {str(getattr(route, "path", ""))}
    return found


def _gradio_api_paths() -> set[str]:
    """The paths of the routes of Gradio's app under ``/gradio_api/``."""
    from gradio.routes import App

    with gr.Blocks() as demo:
        gr.Textbox()
    app = App.create_app(demo)
    return {p for p in _paths(list(app.routes)) if p.startswith("/gradio_api/")}


def test_each_open_name_is_a_route_of_this_gradio_and_the_known_unused_ones_are_closed():
    paths = _gradio_api_paths()
    as_path = {p: re.sub(r"\{[^}]*\}", "x", p) for p in paths}  # /call/{api_name} -> /call/x
    for name in OPEN_ROUTES:
        assert any(p.startswith("/gradio_api/" + name) for p in as_path.values()), name
    open_now = sorted(p for p, example in as_path.items() if not closed_route(example))
    closed_now = {p for p, example in as_path.items() if closed_route(example)}
    # the three the outside probe used, and the others the app has no use for, are Gradio's routes, closed
    for unused in (
        "process_recording",
        "dev/reload",
        "component_server",
        "queue/status",
        "stream/{event_id}",
    ):
        assert "/gradio_api/" + unused in closed_now, unused
    assert len(open_now) < len(paths) / 2, open_now  # most of Gradio's routes are closed


def _served(login_required: bool) -> TestClient:
    async def ok(request):
        return PlainTextResponse("reached Gradio")

    async def is_admin(user: str) -> bool:
        return False

    inner = Starlette(routes=[Route("/{path:path}", ok, methods=["GET", "POST"])])
    return TestClient(GradioRoutes(inner, login_required=login_required, is_admin=is_admin))


@pytest.mark.parametrize("login_required", [True, False])
def test_a_closed_route_answers_404_with_one_short_log_line_and_never_reaches_gradio(login_required, caplog):
    client = _served(login_required)
    with caplog.at_level(logging.WARNING):
        answer = client.post(
            "/gradio_api/process_recording", files={"video": ("x.mp4", b"\0" * 1000, "video/mp4")}
        )
    assert answer.status_code == 404 and "reached" not in answer.text
    assert answer.headers.get("connection") == "close"  # the body was not read
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["refused Gradio route the app does not use: path=/gradio_api/process_recording"], lines
    assert client.get("/gradio_api/dev/reload").status_code == 404
    assert client.get("/gradio_api/app_id").text == "reached Gradio"
    assert client.get("/theme.css").text == "reached Gradio"


@pytest.mark.parametrize(
    ("sent", "words"),
    [
        (None, "the definition is empty; write it as JSON text"),
        ("   ", "the definition is empty"),
        ({"name": "x"}, "the definition must be JSON text, written out as a string (this was an object)"),
        ([1], "(this was a list)"),
        (5, "(this was a number)"),
        (True, "(this was true or false)"),
        ("{nope", "the definition is not valid JSON (Expecting property name"),
        ("[" * 100_000, "the definition is nested too deeply"),
    ],
)
def test_json_text_refuses_what_is_not_json_text_in_words(sent, words):
    with pytest.raises(InputError) as refused:
        json_text(sent, "the definition")
    said = str(refused.value)
    assert words in said, said
    assert "Error" not in said and "NoneType" not in said and "recursion" not in said


def test_json_text_parses_json_text():
    assert json_text(' {"a": [1, 2]} ', "the example") == {"a": [1, 2]}
