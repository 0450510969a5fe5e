"""UploadQuota around Gradio's own upload function (``gradio.route_utils.upload_fn``, its parser
writing real files): the files a request's parser made and did not store are deleted when that
request ends, whether the client cut it off or Gradio left a part unused; another request's files
coming in at the same time are not touched."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import anyio
import pytest
from gradio.route_utils import GradioMultiPartParser, upload_fn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Message

from assistant.app.upload_quota import UploadLedger
from assistant.web.upload_quota import UploadQuota

BOUNDARY = "align-test"


def _app(folder: Path, ledger: UploadLedger) -> Starlette:
    """Gradio's upload route as ``align serve`` has it: the quota inside Starlette's error handler."""

    async def upload(request: Request) -> JSONResponse:
        stored, _, _ = await upload_fn(request, folder, math.inf, None, force_move=True)
        return JSONResponse([str(path) for path in stored])

    return Starlette(
        routes=[Route("/gradio_api/upload", upload, methods=["POST"])],
        middleware=[Middleware(UploadQuota, ledger=ledger, local_user="alice")],
    )


def _ledger() -> UploadLedger:
    return UploadLedger(max_bytes=10**9, per_minute=100, keep_s=600)


def _head(field: str, name: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
        "Content-Type: application/json\r\n\r\n"
    ).encode()


def _tail() -> bytes:
    return f"\r\n--{BOUNDARY}--\r\n".encode()


class _Request:
    """One upload request driven by hand: the test hands its body over piece by piece."""

    def __init__(self, app: Starlette, declared: int, path: str = "/gradio_api/upload") -> None:
        self.app = app
        self.path = path
        self.declared = declared
        self.to_app, self.from_test = anyio.create_memory_object_stream[Message](10)
        self.sent: list[Message] = []
        self.done = anyio.Event()

    async def run(self) -> None:
        scope: dict[str, Any] = {
            "type": "http",
            "method": "POST",
            "path": self.path,
            "raw_path": self.path.encode(),
            "root_path": "",
            "query_string": b"",
            "scheme": "http",
            "http_version": "1.1",
            "server": ("127.0.0.1", 80),
            "client": ("127.0.0.1", 5000),
            "headers": [
                (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
                (b"content-length", str(self.declared).encode()),
            ],
        }

        async def send(message: Message) -> None:
            self.sent.append(message)

        try:
            await self.app(scope, self.from_test.receive, send)
        finally:
            self.done.set()

    async def body(self, data: bytes, more: bool = True) -> None:
        await self.to_app.send({"type": "http.request", "body": data, "more_body": more})

    async def cut_off(self) -> None:
        await self.to_app.send({"type": "http.disconnect"})

    def status(self) -> int:
        return int(next(m["status"] for m in self.sent if m["type"] == "http.response.start"))

    def answer(self) -> Any:
        return json.loads(
            b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")
        )


def _partials(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file())


async def _until(condition: Any) -> None:
    with anyio.fail_after(10):
        while not condition():
            await anyio.sleep(0.01)


def test_a_cut_off_uploads_file_goes_and_another_coming_in_stays(tmp_path, caplog):
    ledger = _ledger()
    app = _app(tmp_path, ledger)

    async def go() -> None:
        cut, other = _Request(app, 500_000), _Request(app, 300_000)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(cut.run)
            tasks.start_soon(other.run)
            await cut.body(_head("files", "cut.json") + b"x" * 100_000)
            await _until(lambda: len(_partials(tmp_path)) == 1)
            ours = _partials(tmp_path)[0]
            await other.body(_head("files", "other.json") + b"y" * 50_000)
            await _until(lambda: len(_partials(tmp_path)) == 2)
            (theirs,) = [p for p in _partials(tmp_path) if p != ours]
            await cut.cut_off()
            await cut.done.wait()
            assert _partials(tmp_path) == [theirs]  # only the cut-off request's file went
            await other.body(b"y" * 50_000 + _tail(), more=False)
            await other.done.wait()
        assert other.status() == 200 and Path(other.answer()[0]).is_file()
        assert _partials(tmp_path) == [] and not cut.sent  # nobody left to answer

    with caplog.at_level(logging.WARNING):
        anyio.run(go)
    lines = [r.getMessage() for r in caplog.records if r.name == "align.uploads"]
    assert len(lines) == 1 and lines[0].startswith("upload cut off by the client: user=alice received=1")
    assert lines[0].endswith(" of 500000 bytes")
    assert not any(r.exc_info for r in caplog.records)
    assert ledger.held_bytes("alice") > 0  # the stored one only


@pytest.mark.parametrize("field", ["unused", "files"])
def test_a_part_gradio_does_not_store_leaves_nothing(tmp_path, field):
    ledger = _ledger()
    app = _app(tmp_path, ledger)
    # a part under another name than "files" is written, then not stored; a part the body never
    # finishes is written as far as it goes, then not stored: 200 with no file, either way
    body = _head(field, "a.json") + b"z" * 10_000 + (_tail() if field == "unused" else b"\r\n--oops")

    async def go() -> _Request:
        request = _Request(app, len(body))
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(request.run)
            await request.body(body, more=False)
        return request

    request = anyio.run(go)
    assert request.status() == 200 and request.answer() == []
    assert _partials(tmp_path) == [] and ledger.held_bytes("alice") == 0


def test_a_form_parsed_on_another_route_leaves_no_file(tmp_path):
    async def recording(request: Request) -> JSONResponse:  # as Gradio's process_recording parses
        parser = GradioMultiPartParser(
            request.headers, request.stream(), upload_dir=tmp_path, max_file_size=1e9
        )
        form = await parser.parse()
        return JSONResponse(len(form.getlist("video")))

    app = Starlette(
        routes=[Route("/gradio_api/process_recording", recording, methods=["POST"])],
        middleware=[Middleware(UploadQuota, ledger=_ledger(), local_user="alice")],
    )
    body = _head("video", "v.mp4") + b"v" * 20_000 + _tail()

    async def go() -> _Request:
        request = _Request(app, len(body), path="/gradio_api/process_recording")
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(request.run)
            await request.body(body, more=False)
        return request

    request = anyio.run(go)
    assert request.status() == 200 and request.answer() == 1
    assert _partials(tmp_path) == []
