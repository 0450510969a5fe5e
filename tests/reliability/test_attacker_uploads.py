"""Uploads, probed as an outsider did against a live ``align serve`` in login mode: raw multipart
POSTs to Gradio's upload route with each user's real session cookie, many of them, fast.

The server runs with small per-user limits (``ALIGN_UPLOAD_MAX_USER_BYTES`` 200 kB held at once,
``ALIGN_UPLOAD_MAX_PER_MINUTE`` 6, ``ALIGN_UPLOAD_KEEP_S`` 20 s) and its own Gradio folder, so the
files on disk can be counted.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.serve import new_site, serving, start_server
from tests.helpers.waiting import wait_for
from tests.helpers.web import logged_in

pytestmark = pytest.mark.timeout(600)

KB = 1000
MAX_USER_BYTES, PER_MINUTE, KEEP_S = 200 * KB, 6, 20


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data, _ = new_site(tmp_path_factory, "uploads")
    gradio, tmp = data / "gradio", data / "tmp"
    gradio.mkdir()
    tmp.mkdir()
    env = {
        "GRADIO_TEMP_DIR": str(gradio),
        "TMPDIR": str(tmp),  # where Gradio parses the forms of its other routes
        "ALIGN_UPLOAD_MAX_USER_BYTES": str(MAX_USER_BYTES),
        "ALIGN_UPLOAD_MAX_PER_MINUTE": str(PER_MINUTE),
        "ALIGN_UPLOAD_KEEP_S": str(KEEP_S),
    }
    with serving(start_server(data, extra_env=env)) as app:
        yield {"url": app.url, "gradio": gradio, "tmp": tmp, "log": app.log}


def _upload(session: httpx.Client, size: int, name: str) -> httpx.Response:
    content = (name.encode() + b"-") * (size // (len(name) + 1) + 1)
    return session.post(
        "/gradio_api/upload", files=[("files", (f"{name}.json", content[:size], "application/json"))]
    )


def _stored(site: dict[str, Any]) -> list[Path]:
    """The uploaded files in Gradio's folder (not the handed-out copies)."""
    return [p for p in site["gradio"].rglob("*.json") if p.is_file() and "align-handout" not in p.parts]


def test_an_upload_without_login_is_refused_and_stores_nothing(site):
    answer = httpx.post(
        site["url"] + "/gradio_api/upload",
        files=[("files", ("x.json", b"{}" * 1000, "application/json"))],
        timeout=30,
    )
    assert answer.status_code == 401, answer.text
    assert _stored(site) == []


def test_one_users_uploads_are_capped_in_bytes_and_rate_and_others_are_not_touched(site):
    alice, bob = logged_in(site["url"], "alice"), logged_in(site["url"], "bob")
    try:
        bobs = _upload(bob, 50 * KB, "bob-0")
        assert bobs.status_code == 200, bobs.text
        bobs_file = Path(bobs.json()[0])

        # one file larger than alice may hold at all: refused before it is read, plainly
        too_big = _upload(alice, MAX_USER_BYTES + 10 * KB, "alice-big")
        assert too_big.status_code == 413, too_big.text
        assert "at most 0.2 MB on the server at once" in too_big.json()["detail"]

        # three of 80 kB: the third makes room by dropping alice's oldest (held: 160 kB, not 240 kB)
        paths = []
        for i in range(3):
            answer = _upload(alice, 80 * KB, f"alice-{i}")
            assert answer.status_code == 200, answer.text
            paths.append(Path(answer.json()[0]))
        assert not paths[0].exists() and paths[1].is_file() and paths[2].is_file()
        alices = [p for p in _stored(site) if p.name.startswith("alice")]
        assert sum(p.stat().st_size for p in alices) <= MAX_USER_BYTES, alices

        # the rate: 6 uploads a minute (the refused one did not count); the 7th is refused
        for i in range(3, PER_MINUTE):
            assert _upload(alice, 1 * KB, f"alice-{i}").status_code == 200
        refused = _upload(alice, 1 * KB, "alice-late")
        assert refused.status_code == 429, refused.text
        assert "too many uploads" in refused.json()["detail"] and refused.headers["retry-after"]
        assert not any(p.name.startswith("alice-late") for p in _stored(site))

        # bob is untouched by all of it: his file is there, and he may still upload
        assert bobs_file.is_file()
        assert _upload(bob, 10 * KB, "bob-1").status_code == 200
    finally:
        alice.close()
        bob.close()


def test_uploads_no_request_used_are_deleted_soon(site):
    carol = logged_in(site["url"], "root")
    try:
        answer = _upload(carol, 5 * KB, "left-behind")
        assert answer.status_code == 200, answer.text
        left = Path(answer.json()[0])
        assert left.is_file()

        def gone() -> bool:
            carol.get("/gradio_api/app_id")  # any request lets the server sweep
            return not left.exists()

        wait_for(gone, f"the unused upload to be deleted (kept {KEEP_S} s)", timeout=60)
        assert not left.parent.exists()  # Gradio's folder for it too
    finally:
        carol.close()


def _cut_off_upload(site: dict[str, Any], cookies: str, declared: int, sent: int, name: str) -> socket.socket:
    """An upload announcing ``declared`` bytes over a raw socket, of which ``sent`` bytes of the file
    go out; the socket stays open (the caller closes it: the upload is cut off)."""
    boundary = "align-cut-off"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}.json"\r\n'
        "Content-Type: application/json\r\n\r\n"
    ).encode()
    host, port = site["url"].removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(
        (
            f"POST /gradio_api/upload HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookies}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {declared}\r\n\r\n"
        ).encode()
        + head
    )
    sock.sendall(b"x" * sent)
    return sock


def _partials(site: dict[str, Any]) -> list[Path]:
    """The files Gradio's upload parser is writing or left (plain files at the top of its folder)."""
    return [p for p in site["gradio"].iterdir() if p.is_file()]


def _bytes_on_disk(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


def test_cut_off_uploads_leave_no_file_and_count_against_the_quota_until_deleted(site):
    root = logged_in(site["url"], "root")
    cookies = "; ".join(f"{name}={value}" for name, value in root.cookies.items())
    log = site["log"]
    logged_before = log.stat().st_size
    try:
        for i in range(3):
            sock = _cut_off_upload(site, cookies, 150 * KB, 100 * KB, f"cut-{i}")
            try:
                wait_for(lambda: _bytes_on_disk(_partials(site)) >= 90 * KB, "the partial file", timeout=30)
                if i == 0:
                    # while it comes in, its announced bytes count: another 150 kB does not fit
                    refused = _upload(root, 150 * KB, "root-meanwhile")
                    assert refused.status_code == 429, refused.text
                    assert "still coming in" in refused.json()["detail"]
            finally:
                sock.close()  # cut off part-way
            wait_for(lambda: not _partials(site), "the cut-off upload's file to be deleted", timeout=10)
        # nothing of the three stays: root may upload up to the quota again, and no more is on disk
        answer = _upload(root, 150 * KB, "root-after")
        assert answer.status_code == 200, answer.text
        roots = [p for p in _stored(site) if p.name.startswith("root")]
        assert _bytes_on_disk(roots) + _bytes_on_disk(_partials(site)) <= MAX_USER_BYTES
    finally:
        root.close()
    # each cut-off upload leaves one short line in the log, and no traceback
    wait_for(lambda: log.read_bytes()[logged_before:].count(b"upload cut off") >= 3, "the log lines", 10)
    written = log.read_bytes()[logged_before:].decode(errors="replace")
    assert "Traceback" not in written and "ClientDisconnect" not in written, written[-3000:]


def test_a_form_gradio_parses_on_another_route_leaves_no_file(site):
    """Gradio's screen-recording route parsed its form into the system's temporary folder and kept
    the parsed file after answering (500 kB a request, never deleted). The route is closed now (404
    before its body is read, ``gradio_routes``); the parser's files of any form route are deleted too."""
    bob = logged_in(site["url"], "bob")
    try:
        before = {p for p in site["tmp"].rglob("*") if p.is_file()}
        answer = bob.post(
            "/gradio_api/process_recording", files=[("video", ("v.mp4", b"v" * 500 * KB, "video/mp4"))]
        )
        assert answer.status_code == 404, answer.text[:200]
        wait_for(
            lambda: {p for p in site["tmp"].rglob("*") if p.is_file()} <= before,
            "the parsed form's file to be deleted",
            timeout=10,
        )
    finally:
        bob.close()
