"""Gradio's upload progress route, bounded: a user's open progress streams are capped (429 past it), an
over-long upload id is refused (400), and what Gradio keeps for an upload id is removed once no request
of that id is open, on a real Gradio app in this process."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import gradio as gr
import gradio.routes
import httpx
from starlette.middleware import Middleware

from assistant.web.upload_progress import MAX_ID, UploadProgress, forget_upload, upload_id_of, upload_tracker


def gradio_app(**options: Any) -> Any:
    with gr.Blocks() as demo:
        gr.File()
    demo.max_file_size = None  # as launch() sets it
    return gradio.routes.App.create_app(
        demo, app_kwargs={"middleware": [Middleware(UploadProgress, **options)]}
    )


def tables() -> tuple[dict[str, Any], dict[str, Any]]:
    tracker = gradio.routes.file_upload_statuses
    return tracker._statuses, tracker._signals


async def progress(client: httpx.AsyncClient, upload_id: str) -> httpx.Response:
    return await client.get("/gradio_api/upload_progress", params={"upload_id": upload_id}, timeout=30)


async def upload(client: httpx.AsyncClient, upload_id: str) -> httpx.Response:
    files = {"files": ("a.txt", b"hello", "text/plain")}
    return await client.post("/gradio_api/upload", params={"upload_id": upload_id}, files=files, timeout=30)


def run(app: Any, work: Any) -> Any:
    async def go() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await work(client)

    return asyncio.run(go())


def test_gradio_keeps_upload_ids_where_the_cleanup_looks() -> None:
    # if a newer Gradio moves these, the cleanup finds nothing: this test says so
    tracker = upload_tracker()
    assert tracker is gradio.routes.file_upload_statuses
    assert isinstance(tracker._statuses, dict) and isinstance(tracker._signals, dict)
    tracker.track("kept-here")
    forget_upload(tracker, "kept-here")
    assert "kept-here" not in tracker._statuses and "kept-here" not in tracker._signals
    forget_upload(None, "nothing")  # no tracker: nothing to do, no error


def test_the_upload_id_is_the_last_one_given() -> None:
    assert upload_id_of(b"upload_id=a&upload_id=b") == "b"
    assert upload_id_of(b"other=1") is None
    assert upload_id_of(b"upload_id=") == ""


def test_progress_requests_for_random_ids_leave_nothing_behind() -> None:
    statuses, signals = tables()
    before = len(signals), len(statuses)

    async def work(client: httpx.AsyncClient) -> list[int]:
        answers = await asyncio.gather(*(progress(client, uuid.uuid4().hex) for _ in range(200)))
        return [a.status_code for a in answers]

    codes = run(gradio_app(max_streams=200), work)
    assert codes == [404] * 200  # Gradio's own answer for an id it never saw
    assert (len(signals), len(statuses)) == before


def test_more_streams_than_the_cap_at_once_get_429() -> None:
    async def work(client: httpx.AsyncClient) -> list[httpx.Response]:
        return list(await asyncio.gather(*(progress(client, uuid.uuid4().hex) for _ in range(7))))

    answers = run(gradio_app(max_streams=4), work)
    codes = sorted(a.status_code for a in answers)
    assert codes == [404] * 4 + [429] * 3, codes
    refused = next(a for a in answers if a.status_code == 429)
    assert "wait for one to finish" in refused.text


def test_an_over_long_upload_id_is_refused() -> None:
    statuses, signals = tables()
    before = len(signals), len(statuses)

    async def work(client: httpx.AsyncClient) -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        long_id = "x" * (MAX_ID + 1)
        return (
            await progress(client, long_id),
            await upload(client, long_id),
            await progress(client, "y" * MAX_ID),
        )

    too_long, upload_too_long, longest = run(gradio_app(), work)
    assert too_long.status_code == 400 and "too long" in too_long.text
    assert upload_too_long.status_code == 400
    assert longest.status_code == 404  # as long as allowed: Gradio's answer
    assert (len(signals), len(statuses)) == before


def test_an_upload_whose_progress_is_never_read_leaves_nothing_behind() -> None:
    statuses, signals = tables()
    before = len(signals), len(statuses)
    upload_id = uuid.uuid4().hex

    async def work(client: httpx.AsyncClient) -> tuple[int, bool, bool]:
        answer = await upload(client, upload_id)
        kept = upload_id in statuses  # for a progress stream that comes just after
        await asyncio.sleep(0.5)
        return answer.status_code, kept, upload_id in statuses or upload_id in signals

    code, kept_at_first, kept_later = run(gradio_app(grace_s=0.2), work)
    assert code == 200
    assert kept_at_first and not kept_later
    assert (len(signals), len(statuses)) == before


def test_a_progress_stream_still_reads_its_upload() -> None:
    statuses, signals = tables()
    before = len(signals), len(statuses)
    upload_id = uuid.uuid4().hex

    async def work(client: httpx.AsyncClient) -> tuple[httpx.Response, httpx.Response]:
        watching = asyncio.create_task(progress(client, upload_id))
        await asyncio.sleep(0.1)
        uploaded = await upload(client, upload_id)
        return uploaded, await watching

    uploaded, watched = run(gradio_app(grace_s=0.2), work)
    assert uploaded.status_code == 200
    assert watched.status_code == 200 and '"msg": "done"' in watched.text, watched.text
    # and a stream that comes just after a quick upload reads "done" too
    late_id = uuid.uuid4().hex

    async def late(client: httpx.AsyncClient) -> httpx.Response:
        await upload(client, late_id)
        answer = await progress(client, late_id)
        await asyncio.sleep(0.5)
        return answer

    answer = run(gradio_app(grace_s=2), late)
    assert answer.status_code == 200 and '"msg": "done"' in answer.text, answer.text
    assert (len(signals), len(statuses)) == before
