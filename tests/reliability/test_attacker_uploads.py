"""Uploads, probed as an outsider did against a live ``align serve`` in login mode: raw multipart
POSTs to Gradio's upload route with each user's real session cookie, many of them, fast.

The server runs with small per-user limits (``ALIGN_UPLOAD_MAX_USER_BYTES`` 200 kB held at once,
``ALIGN_UPLOAD_MAX_PER_MINUTE`` 6, ``ALIGN_UPLOAD_KEEP_S`` 20 s) and its own Gradio folder, so the
files on disk can be counted.
"""

from __future__ import annotations

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
    gradio = data / "gradio"
    gradio.mkdir()
    env = {
        "GRADIO_TEMP_DIR": str(gradio),
        "ALIGN_UPLOAD_MAX_USER_BYTES": str(MAX_USER_BYTES),
        "ALIGN_UPLOAD_MAX_PER_MINUTE": str(PER_MINUTE),
        "ALIGN_UPLOAD_KEEP_S": str(KEEP_S),
    }
    with serving(start_server(data, extra_env=env)) as app:
        yield {"url": app.url, "gradio": gradio, "log": app.log}


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
