"""Handed-out files, uploads and dataset paths (the pieces behind the file guard and /evaluate)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from alignment.errors import InputError
from assistant.app.evaluation import AppEvaluation
from assistant.app.handout import Handout
from assistant.app.uploads import GONE, Uploads
from assistant.web.file_guard import file_route_target
from assistant.web.headers import _SCRIPT_TAG
from assistant.web.login_page import EMPTY, hide_api_info

DATASET = json.dumps(
    [
        {
            "input": {
                "scenario_id": "s1",
                "state": "Who first?",
                "choices": [
                    {"unstructured": "a", "kdma_association": {"fairness": 0.9}},
                    {"unstructured": "b", "kdma_association": {"fairness": 0.1}},
                ],
            },
            "label": [{"fairness": 0.9}, {"fairness": 0.1}],
        }
    ]
)


def test_a_grant_names_its_owner_until_it_expires(tmp_path):
    now = [100.0]
    handout = Handout(tmp_path / "handout", ttl_s=0.3, clock=lambda: now[0])
    link = handout.give("alice", b"{}", "profiles.json")
    path = handout.path(link)
    assert link.startswith("/gradio_api/file=") and path.read_bytes() == b"{}"
    assert handout.owner_of(path) == "alice" and handout.owner_of(str(path)) == "alice"
    assert path.parent.name not in ("alice", "handout") and len(path.parent.name) >= 32  # unguessable
    assert handout.holds(path) and handout.holds(path.parent / ".." / "x") and not handout.holds(tmp_path)
    made_up = path.parent.parent / ("x" * 32) / "profiles.json"
    assert handout.owner_of(made_up) is None and handout.owner_of(path.parent) is None
    now[0] += 0.29
    assert handout.owner_of(path) == "alice"  # still live just before it expires
    now[0] += 0.06
    assert handout.owner_of(path) is None  # expired: refused even before the sweep deletes it
    handout.give("bob", b"x", "other.json")  # each grant sweeps the expired ones
    assert not path.exists()


def test_close_deletes_only_this_servers_copies_and_sweep_the_stale_ones(tmp_path):
    root = tmp_path / "handout"
    mine, other = Handout(root), Handout(root)
    kept = other.path(other.give("bob", b"b", "b.json"))
    gone = mine.path(mine.give("alice", b"a", "a.json"))
    assert other.owner_of(gone) is None  # another server's grant is no grant here
    mine.close()
    assert not gone.exists() and kept.exists()
    stale = root / "left-by-a-killed-server"
    stale.mkdir()
    old = time.time() - 2 * other.ttl_s
    os.utime(stale, (old, old))
    other.sweep()
    assert not stale.exists() and kept.exists()


def test_an_upload_is_moved_checked_and_deleted(tmp_path):
    gradio_dir = tmp_path / "gradio" / "abc123"
    gradio_dir.mkdir(parents=True)
    source = gradio_dir / "mine.json"
    source.write_text(DATASET)
    uploads = Uploads(tmp_path / "uploads")
    with uploads.received("alice", source) as file:
        assert file.read_text() == DATASET and not source.exists()  # out of Gradio's shared folder at once
        assert file.is_relative_to(tmp_path / "uploads" / "alice")
    assert not file.exists() and not gradio_dir.exists()
    assert list((tmp_path / "uploads" / "alice").iterdir()) == []


def test_a_bad_upload_is_deleted_and_its_error_names_no_folder(tmp_path):
    source = tmp_path / "bad.json"
    source.write_bytes(b"\xff\xfe not utf-8")
    uploads = Uploads(tmp_path / "uploads")
    with pytest.raises(InputError) as caught, uploads.received("alice", source):
        pass
    assert "bad.json" in str(caught.value) and str(tmp_path) not in str(caught.value)
    assert not source.exists() and list((tmp_path / "uploads" / "alice").iterdir()) == []


def test_a_handed_out_file_is_never_taken_as_an_upload(tmp_path):
    handout = Handout(tmp_path / "handout")
    alices = handout.path(handout.give("alice", DATASET.encode(), "alice.json"))
    uploads = Uploads(tmp_path / "uploads", refuse=handout.holds)
    with pytest.raises(InputError, match=GONE), uploads.received("bob", alices):
        pass
    assert alices.exists()
    with pytest.raises(InputError, match=GONE), uploads.received("bob", tmp_path / "missing.json"):
        pass


def _evaluation(tmp_path: Path) -> AppEvaluation:
    datasets = tmp_path / "datasets"
    (datasets / "triage").mkdir(parents=True)
    (datasets / "triage" / "one.json").write_text(DATASET)
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "x.json").write_text(DATASET)  # outside the datasets folder
    (datasets / "link.json").symlink_to(tmp_path / "files" / "x.json")
    (datasets / "notes.txt").write_text("not a dataset")
    return AppEvaluation(
        None,  # type: ignore[arg-type]  # dataset_path needs no service
        runs_dir=tmp_path / "runs",
        datasets_dir=datasets,
        limit_cap=2,
        handout=Handout(tmp_path / "handout"),
    )


def test_dataset_paths_stay_inside_the_datasets_folder(tmp_path):
    evaluation = _evaluation(tmp_path)
    assert evaluation.dataset_path("triage/one.json") == (tmp_path / "datasets/triage/one.json").resolve()
    assert evaluation.dataset_path("triage/../triage/one.json").name == "one.json"
    outside = [
        "../files/x.json",
        str(tmp_path / "files" / "x.json"),  # absolute
        f"{tmp_path}/datasets/../files/x.json",
        "link.json",  # a symlink inside that points outside
        "../../../../../../etc/passwd",
        "/etc/passwd",
        "notes.txt",
        "nope.json",
        "triage",
        "",
        "a\x00b.json",
    ]
    messages = set()
    for name in outside:
        with pytest.raises(InputError) as caught:
            evaluation.dataset_path(name)
        messages.add(str(caught.value).replace(repr(name), "NAME"))
    # one answer for all: missing, outside, a directory, not JSON (nothing tells whether a path exists)
    assert messages == {"no dataset file NAME; pick one of the files listed in the Evaluate tab"}


def test_the_file_route_target_is_found_in_both_spellings():
    assert file_route_target("/gradio_api/file=/tmp/gradio/x/a.png") == "/tmp/gradio/x/a.png"
    assert file_route_target("/gradio_api/file/tmp/x") == "tmp/x"
    assert file_route_target("/gradio_api/info") is None


def test_the_login_page_loses_the_api_description():
    page = (
        '<script>window.gradio_config = {"auth_required":true};</script>'
        '<script>window.gradio_api_info = {"named_endpoints":{"/decide":{"parameters":[]}}};</script>'
        "<script>var x = 1;</script>"
    )
    hidden = hide_api_info(page)
    assert "/decide" not in hidden and f"{EMPTY}</script>" in hidden
    assert 'window.gradio_config = {"auth_required":true}' in hidden and "var x = 1" in hidden


def test_every_script_tag_gets_the_nonce_once():
    page = '<script>a</script><script type="module" src="x.js"></script><script nonce="n">b</script><scripts>'
    tagged = _SCRIPT_TAG.sub('<script nonce="N"', page)
    assert tagged.count('nonce="N"') == 2 and '<script nonce="n">' in tagged and "<scripts>" in tagged


def test_what_one_owner_holds_is_bounded_and_the_oldest_copies_make_room(tmp_path):
    """Exports asked for again and again: a new copy takes the place of the owner's oldest ones past
    the bounds (their links stop working), and other owners' copies are left alone."""
    handout = Handout(tmp_path / "handout", max_bytes_per_owner=1000, max_files_per_owner=3)
    bobs = handout.path(handout.give("bob", b"b" * 600, "b.json"))
    paths = [handout.path(handout.give("alice", b"a" * 400, f"{i}.json")) for i in range(3)]
    assert [handout.owner_of(p) for p in paths] == [None, "alice", "alice"]  # 3 x 400 > 1000
    assert not paths[0].exists() and paths[1].exists()
    small = [handout.path(handout.give("alice", b"x", f"s{i}.json")) for i in range(3)]
    assert [p.exists() for p in paths + small] == [False, False, False, True, True, True]  # 3 files
    big = handout.path(handout.give("alice", b"y" * 5000, "big.json"))  # alone it passes the bound
    assert big.exists() and not any(p.exists() for p in small)
    assert handout.owner_of(bobs) == "bob" and bobs.exists()
    files = [p for p in (tmp_path / "handout").rglob("*") if p.is_file()]
    assert sorted(p.name for p in files) == ["b.json", "big.json"]
