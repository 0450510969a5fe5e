"""UploadLedger: per-user bytes held at once, uploads per minute, and the clean-up of unused uploads."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.app.upload_quota import BLOCK, UploadLedger, UploadRefused


def _file(folder: Path, name: str, size: int) -> Path:
    path = folder / name / f"{name}.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x" * size)
    return path


def _upload(ledger: UploadLedger, user: str, folder: Path, name: str, size: int, now: float) -> Path:
    ledger.admit(user, size, now)
    path = _file(folder, name, size)
    ledger.done(user, size, [path], now)
    return path


def test_the_oldest_uploads_make_room_and_one_too_large_is_refused(tmp_path):
    ledger = UploadLedger(max_bytes=100_000, per_minute=100, keep_s=600)
    first = _upload(ledger, "alice", tmp_path, "a1", 40_000, 0)
    second = _upload(ledger, "alice", tmp_path, "a2", 40_000, 1)
    bobs = _upload(ledger, "bob", tmp_path, "b1", 90_000, 1)
    third = _upload(ledger, "alice", tmp_path, "a3", 40_000, 2)
    assert not first.exists() and not first.parent.exists() and second.exists() and third.exists()
    assert ledger.held_bytes("alice") == 80_000 and bobs.exists()  # bob's are his own
    with pytest.raises(UploadRefused) as caught:
        ledger.admit("alice", 100_001, 3)
    assert caught.value.status == 413 and "at most 0.1 MB" in caught.value.message
    assert second.exists() and third.exists()  # a refused upload drops nothing


def test_uploads_still_coming_in_count_and_empty_files_cost_a_block(tmp_path):
    ledger = UploadLedger(max_bytes=3 * BLOCK, per_minute=100, keep_s=600)
    for _ in range(3):
        ledger.admit("alice", 0, 0)
    with pytest.raises(UploadRefused) as caught:
        ledger.admit("alice", 0, 0)
    assert caught.value.status == 429 and "still coming in" in caught.value.message
    ledger.done("alice", 0, [], 1)
    ledger.admit("alice", 0, 1)


def test_the_rate_is_per_user_and_per_minute(tmp_path):
    ledger = UploadLedger(max_bytes=10**9, per_minute=2, keep_s=600)
    ledger.admit("alice", 10, 0)
    ledger.admit("alice", 10, 1)
    with pytest.raises(UploadRefused) as caught:
        ledger.admit("alice", 10, 30)
    assert caught.value.status == 429 and "wait 30 seconds" in caught.value.message
    ledger.admit("bob", 10, 30)
    ledger.admit("alice", 10, 61)  # the first has left the minute


def test_the_sweep_deletes_old_unused_uploads_only_once_nobody_holds_them(tmp_path):
    ledger = UploadLedger(max_bytes=10**9, per_minute=100, keep_s=10)
    old = _upload(ledger, "alice", tmp_path, "old", 10, 0)
    shared = _file(tmp_path, "same", 10)  # Gradio names a file by its content: two users, one file
    for user, at in (("alice", 0), ("bob", 8)):
        ledger.admit(user, 10, at)
        ledger.done(user, 10, [shared], at)
    new = _upload(ledger, "alice", tmp_path, "new", 10, 9)
    assert ledger.sweep(11) == 1
    assert not old.exists() and shared.exists() and new.exists()  # bob still holds the shared one
    assert ledger.sweep(19) == 2 and not shared.exists() and not new.exists()
