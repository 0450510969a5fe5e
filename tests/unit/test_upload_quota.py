"""UploadLedger: per-user bytes held at once, uploads per minute, and the clean-up of unused uploads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.app.upload_quota import BLOCK, PartFile, UploadLedger, UploadRefused


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


def _part(folder: Path, name: str, size: int) -> PartFile:
    """A file as Gradio's parser makes one for a part of an upload, ``size`` bytes written so far."""
    path = folder / name
    with path.open("wb") as out:
        out.write(b"x" * size)
        return PartFile.of(path, out.fileno())


def test_a_cut_off_uploads_parts_count_until_done_deletes_them(tmp_path):
    ledger = UploadLedger(max_bytes=100_000, per_minute=100, keep_s=600)
    ledger.admit("alice", 90_000, 0)
    part = _part(tmp_path, "tmpcut", 60_000)  # cut off after 60 kB of the 90 announced
    with pytest.raises(UploadRefused) as caught:
        ledger.admit("alice", 20_000, 1)  # the cut-off request is not over: its 90 kB still count
    assert caught.value.status == 429
    ledger.done("alice", 90_000, [], 1, parts=[part])
    assert not part.path.exists() and tmp_path.is_dir()  # Gradio's folder itself stays
    assert ledger.held_bytes("alice") == 0
    ledger.admit("alice", 90_000, 2)


def test_parts_stored_or_whose_name_is_another_files_now_are_left_alone(tmp_path):
    ledger = UploadLedger(max_bytes=10**9, per_minute=100, keep_s=600)
    ledger.admit("alice", 100, 0)
    stored = _part(tmp_path, "tmpstored", 100)
    final = tmp_path / "sha" / "a.json"
    final.parent.mkdir()
    stored.path.rename(final)  # Gradio moved it to its final name: the answer names it
    theirs = tmp_path / "tmpreused"
    with theirs.open("wb") as ours:  # this request's part, deleted by someone else, the name reused
        reused = PartFile.of(theirs, ours.fileno())
        theirs.unlink()
        theirs.write_bytes(b"another request's upload, coming in")
    ledger.done("alice", 100, [final], 1, parts=[stored, reused])
    assert final.is_file() and theirs.is_file()
    assert ledger.held_bytes("alice") == BLOCK


def test_a_part_that_cannot_be_deleted_stays_counted_until_the_sweep(tmp_path):
    ledger = UploadLedger(max_bytes=10 * BLOCK, per_minute=100, keep_s=10)
    stuck = tmp_path / "tmpstuck"
    stuck.mkdir()  # unlink fails on it, as on a file the server may not delete
    (stuck / "inside").write_bytes(b"x")
    fd = os.open(stuck, os.O_RDONLY)
    try:
        part = PartFile.of(stuck, fd)
    finally:
        os.close(fd)
    ledger.admit("alice", 5 * BLOCK, 0)
    ledger.done("alice", 5 * BLOCK, [], 1, parts=[part])
    assert stuck.exists() and ledger.held_bytes("alice") >= BLOCK
    ledger.sweep(20)
    assert tmp_path.is_dir() and ledger.held_bytes("alice") == 0
