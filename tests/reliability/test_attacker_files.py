"""Files, paths, health details, the login page and headers, probed as an attacker would, against a
live ``align serve`` in login mode (users root (admin), alice (made an admin here: evaluations are for
admins, and her files must still be hers only), bob).

Raw HTTP (httpx, each user with the session cookie of a real login), ``gradio_client`` on the named
endpoints, and the unnamed UI handlers called by ``fn_index`` over Gradio's queue (as the browser
does). Every attack is shown refused, and the owner (and an admin) shown still served.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client.exceptions import AppError

from assistant.web.login_page import EMPTY
from tests.helpers.browser import chromium, sign_in
from tests.helpers.gradio_queue import QueueAnswer, call_fn, handler, refusal
from tests.helpers.serve import REPO, USERS, create_users, serving, sqlite_url, start_server, stop
from tests.helpers.store import opened
from tests.helpers.web import gradio_client, logged_in

pytestmark = pytest.mark.timeout(900)

DATASET = "triage/oracle_fairness_training_input_output.json"
NO_SCORES = [  # parses, but holds no question to evaluate: the run fails after its folder was made
    {
        "input": {
            "scenario_id": "s",
            "state": "Who?",
            "choices": [{"unstructured": "a"}, {"unstructured": "b"}],
        },
        "label": [{}, {}],
    }
]
SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
REFUSED = "no dataset file"
FORWARDED = {"X-Forwarded-For": "203.0.113.7"}  # as a reverse proxy passes on a caller from outside


# -- the server -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """base/data (ALIGN_DATA_DIR), base/datasets (--datasets), base/files (an ALIGN file outside the
    datasets), base/gradio (GRADIO_TEMP_DIR), base/tmp (the server's TMPDIR)."""
    base = tmp_path_factory.mktemp("attacker")
    data, datasets, files = base / "data", base / "datasets", base / "files"
    for folder in (data, datasets / "triage", datasets / "broken", files, base / "gradio", base / "tmp"):
        folder.mkdir(parents=True)
    shutil.copyfile(REPO / "datasets" / DATASET, datasets / DATASET)
    shutil.copyfile(REPO / "datasets" / DATASET, files / "x.json")
    (datasets / "link.json").symlink_to(files / "x.json")  # inside, pointing outside
    (datasets / "broken" / "no_scores.json").write_text(json.dumps(NO_SCORES))
    database_url = sqlite_url(data)
    create_users(database_url)
    with opened(database_url) as store:
        store.users.set_role(store.users.actor("root"), "alice", "admin")
    env = {"GRADIO_TEMP_DIR": str(base / "gradio"), "TMPDIR": str(base / "tmp")}
    with serving(start_server(data, host=None, datasets=datasets, eval_limit=None, extra_env=env)) as app:
        sessions = {name: logged_in(app.url, name) for name in USERS}
        yield {"url": app.url, "base": base, "data": data, "proc": app.proc, "log": app.log, **sessions}
        for session in sessions.values():
            session.close()


def _call(session: httpx.Client, fn_index: int, data: list[Any]) -> QueueAnswer:
    """Call a UI handler over Gradio's queue (join, then read the event stream to the end)."""
    return call_fn(session, fn_index, data, timeout=600)


def _upload(session: httpx.Client, name: str, content: bytes) -> dict[str, Any]:
    answer = session.post("/gradio_api/upload", files=[("files", (name, content, "application/json"))])
    assert answer.status_code == 200, answer.text
    path = answer.json()[0]
    return {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}


def _file_url(site: dict[str, Any], path: Path | str) -> str:
    return f"/gradio_api/file={path}"


# -- 1. each user's files to that user (and admins) only -------------------------------------------


@pytest.fixture(scope="module")
def alices_run(site: dict[str, Any]) -> dict[str, Any]:
    """alice evaluates through the named endpoint (gradio_client), as an API caller does."""
    alice = gradio_client(site["url"], "alice")
    try:
        reply = alice.predict(
            {"files": [DATASET], "algorithms": ["random"], "limit": 1}, api_name="/evaluate"
        )
    finally:
        alice.close()
    return dict(reply)


def test_the_evaluate_reply_holds_links_and_no_server_path(site, alices_run):
    text = json.dumps(alices_run)
    assert str(site["data"]) not in text and str(site["base"]) + "/data" not in text
    assert "out" not in alices_run and re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{6}", alices_run["run"])
    assert (
        alices_run["summary"]["files"] == [DATASET]
        and alices_run["summary"]["config"]["out"] == alices_run["run"]
    )
    for key in ("chart", "zip"):
        assert alices_run[key].startswith("/gradio_api/file="), alices_run[key]


def test_only_the_owner_and_admins_get_a_handed_out_file(site, alices_run):
    for key, magic in (("chart", b"\x89PNG"), ("zip", b"PK")):
        link = alices_run[key]
        mine = site["alice"].get(link)
        assert mine.status_code == 200 and mine.content.startswith(magic), (key, mine.status_code)
        assert mine.headers["cache-control"] == "private, no-store"
        assert site["root"].get(link).status_code == 200  # an admin
        refused = site["bob"].get(link)
        assert refused.status_code == 403 and alices_run["run"] not in refused.text, refused.text
        assert httpx.get(site["url"] + link).status_code in (401, 403)  # no login
        # the other spellings of the same file: the deprecated route, `..`, a doubled slash
        path = link.removeprefix("/gradio_api/file=")
        folder, name = path.rsplit("/", 1)
        for variant in (
            f"/gradio_api/file/{path}",
            f"/gradio_api/file={folder}/../{Path(folder).name}/{name}",
            f"/gradio_api/file={folder}//{name}",
        ):
            assert site["bob"].get(variant).status_code == 403, variant
            assert site["alice"].get(variant).status_code == 200, variant


def test_nothing_in_the_data_folder_is_served_to_anyone(site, alices_run):
    run = site["data"] / "app" / "evaluations" / "alice" / alices_run["run"]
    targets = [run / "results.jsonl", run / "summary.json", run / "accuracy.png", run.with_suffix(".zip")]
    assert all(t.is_file() for t in targets)  # they are there, with predictable names
    targets += [site["data"] / "align.sqlite3", site["base"] / "gradio" / ".." / "data" / "align.sqlite3"]
    for target in targets:
        for who in ("bob", "alice", "root"):  # not even the owner or an admin: only handed-out copies are
            answer = site[who].get(_file_url(site, target))
            assert answer.status_code == 403, (who, target, answer.status_code)
            assert str(site["data"]) not in answer.text


def test_a_made_up_or_stale_handout_path_is_refused(site, alices_run):
    path = Path(alices_run["zip"].removeprefix("/gradio_api/file="))
    stale = path.parent.parent / ("A" * 32)
    stale.mkdir()
    (stale / "left.json").write_text("{}")  # as a stopped server would leave it: no live grant
    for who in ("alice", "bob", "root"):
        assert site[who].get(_file_url(site, stale / "left.json")).status_code == 403
        assert site[who].get(_file_url(site, path.parent)).status_code == 403
    shutil.rmtree(stale)


def test_ui_handlers_hand_out_files_to_their_caller_only(site):
    """Profile export and Evaluate (with an upload), called by fn_index over the queue."""
    alice, bob = site["alice"], site["bob"]
    created = gradio_client(site["url"], "alice")
    created.predict({"name": "alice-secret", "targets": {"fairness": 0.8}}, api_name="/create_profile")
    created.close()
    exported = _call(alice, handler(alice, output="Exported profiles"), [])
    assert exported.success, exported
    url = exported.output["data"][0]["url"]
    assert "alice-secret" in alice.get(url).text
    assert bob.get(url).status_code == 403 and "alice-secret" not in bob.get(url).text

    # bob hands alice's copy to the import handler as if he had uploaded it: refused, nothing read
    path = exported.output["data"][0]["path"]
    importing = handler(bob, input="Import a profiles JSON file")
    stolen = {"path": path, "orig_name": "profiles.json", "meta": {"_type": "gradio.FileData"}}
    answer = _call(bob, importing, [stolen, False])
    assert "upload it again" in refusal(answer.success, answer.output), answer
    bobs = gradio_client(site["url"], "bob")
    assert "alice-secret" not in json.dumps(bobs.predict({}, api_name="/list_profiles"))
    bobs.close()
    assert Path(path).is_file()  # alice's copy stays for her

    evaluating = handler(alice, output="Results (zip)")
    upload = _upload(alice, "mine.json", (REPO / "datasets" / DATASET).read_bytes())
    result = _call(alice, evaluating, [[], upload, ["random"], "embedded", 1])
    assert result.success, result
    _, chart, archive = result.output["data"]
    for handed in (chart, archive):
        assert alice.get(handed["url"]).status_code == 200
        assert bob.get(handed["url"]).status_code == 403
    # 6. the upload left Gradio's folder and the server's upload folder once it was used
    assert not Path(upload["path"]).exists()
    uploads = site["data"] / "app" / "uploads" / "alice"
    assert not uploads.exists() or list(uploads.iterdir()) == []


# -- 2. paths from requests stay inside the datasets folder ------------------------------------------


def test_evaluate_reads_nothing_outside_the_datasets_folder(site):
    data, base = site["data"], site["base"]
    hostile = [
        f"{data}/app/../../files/x.json",  # a real ALIGN file outside the datasets
        "../files/x.json",
        str(base / "files" / "x.json"),
        "link.json",  # a symlink inside the datasets folder that points outside
        f"{data}/app/../../../../etc/passwd",
        "../../../../etc/passwd",
        "/etc/passwd",
        "../../../../etc/no-such-file",
        "nope.json",
        str(data / "align.sqlite3"),
    ]
    runs = site["data"] / "app" / "evaluations" / "alice"
    before = set(runs.iterdir()) if runs.is_dir() else set()
    alice = gradio_client(site["url"], "alice")  # an admin: evaluations are for admins
    try:
        answers = {}
        for name in hostile:
            with pytest.raises(AppError) as caught:
                alice.predict({"files": [name], "algorithms": ["random"], "limit": 1}, api_name="/evaluate")
            answers[name] = str(caught.value)
    finally:
        alice.close()
    for name, message in answers.items():
        # the same answer for a file that exists outside, one that does not, and one that is no JSON
        assert message == f"no dataset file {name!r}; pick one of the files listed in the Evaluate tab", (
            message
        )
        assert "JSON" not in message
    assert (set(runs.iterdir()) if runs.is_dir() else set()) == before


def _offered(outputs: list[Any], config: dict[str, Any], dependency: dict[str, Any]) -> list[Any]:
    """The dataset choices among a load handler's outputs."""
    labels = {c["id"]: c.get("props", {}).get("label") for c in config["components"]}
    wanted = ("Dataset files", "From the datasets directory")
    return [
        out.get("choices")
        for out, i in zip(outputs, dependency["outputs"], strict=True)
        if labels.get(i) in wanted and isinstance(out, dict)
    ]


def test_the_ui_offers_no_file_outside_and_its_handlers_refuse_one(site):
    root, bob = site["root"], site["bob"]
    # the page's config names no dataset file, to anyone: the page's load fills them in for admins
    for session in (root, bob):
        assert DATASET not in json.dumps(session.get("/config").json())
    config = root.get("/config").json()
    loads = [d for d in config["dependencies"] if any(t[1] == "load" for t in d.get("targets", []))]
    assert len(loads) == 1
    offered = _offered(_call(root, int(loads[0]["id"]), []).output["data"], config, loads[0])
    assert len(offered) == 2 and all(offered)
    for choices in offered:  # the symlink that points outside is not offered
        assert [c[0] if isinstance(c, list) else c for c in choices] == ["broken/no_scores.json", DATASET]
    loaded = _call(bob, int(loads[0]["id"]), [])
    assert DATASET not in json.dumps(loaded.output), loaded  # not to a non-admin
    importing = handler(root, input="From the datasets directory")
    for name in ("../files/x.json", "link.json", "../../../../etc/passwd"):
        answer = _call(root, importing, [name, None])  # refused by Gradio's choices check, or by ours
        assert refusal(answer.success, answer.output), answer
        # (its words and outputs, with the warning: nothing read, nothing imported)
        assert "JSON" not in json.dumps(answer.output) and "imported" not in json.dumps(answer.output)
    refused = _call(bob, handler(bob, input="From the datasets directory"), [DATASET, None])
    assert refusal(refused.success, refused.output), refused  # not offered to bob: not his choice
    # a non-admin's upload is refused before it is read (it is not even a dataset: that goes unsaid)
    upload = _upload(bob, "mine.json", b"not a dataset at all")
    refused = _call(bob, handler(bob, input="From the datasets directory"), [None, upload])
    assert "only an admin" in refusal(refused.success, refused.output), refused


def test_a_made_up_file_path_is_one_plain_refusal_not_a_traceback(site):
    """A FileData naming a file nobody uploaded (``/etc/passwd``): refused in words, one log line."""
    bob, log = site["bob"], site["log"]
    start = log.stat().st_size
    importing = handler(bob, input="Import a profiles JSON file")
    made_up = {"path": "/etc/passwd", "orig_name": "passwd.json", "meta": {"_type": "gradio.FileData"}}
    answer = _call(bob, importing, [made_up, False])
    assert "upload it again" in refusal(answer.success, answer.output), answer
    assert "root:" not in json.dumps(answer.output)
    written = log.read_bytes()[start:].decode(errors="replace")
    assert "Traceback" not in written and "InvalidPathError" not in written, written[-2000:]
    assert "refused a file path that was not uploaded here" in written, written[-2000:]


# -- 3. /healthz details for admins and loopback only ------------------------------------------------


def test_healthz_tells_strangers_ok_only(site):
    url = site["url"]
    anonymous = httpx.get(f"{url}/healthz", headers=FORWARDED, timeout=30)
    assert anonymous.status_code == 200 and anonymous.json() == {"ok": True}
    user = site["bob"].get("/healthz", headers=FORWARDED)
    assert user.status_code == 200 and user.json() == {"ok": True}
    admin = site["root"].get("/healthz", headers=FORWARDED).json()
    assert set(admin["components"]) >= {"database", "chroma", "backbone"}
    assert str(site["data"]) in json.dumps(admin)  # the details are there, for an admin
    local = httpx.get(f"{url}/healthz", timeout=30).json()  # loopback, no proxy: the orchestrator
    assert "revision" in local["components"]["database"]["detail"]


# -- 4. the login page holds no API description ------------------------------------------------------


def test_the_login_page_describes_no_api(site):
    url = site["url"]
    for path in ("/", "/?view=api", "/gradio_api/runs"):
        page = httpx.get(url + path, timeout=30)
        if page.status_code != 200:
            continue
        assert "/decide" not in page.text and "set_password" not in page.text, path
        assert EMPTY in page.text
    for path in ("/gradio_api/info", "/config"):
        assert httpx.get(url + path, timeout=30).status_code in (401, 403), path
    assert httpx.get(url + "/gradio_api/openapi.json", timeout=30).status_code == 404  # closed to all
    assert '"/set_password"' in site["bob"].get("/").text  # after login the page is whole


# -- 5. security headers on every response ------------------------------------------------------------


def test_every_response_carries_the_security_headers(site):
    url = site["url"]
    page = httpx.get(url + "/", timeout=30)
    asset = re.search(r'src="\./(assets/[^"]+\.js)"', page.text)
    assert asset is not None
    answers = [
        page,
        httpx.get(f"{url}/{asset.group(1)}", timeout=30),
        httpx.get(f"{url}/gradio_api/info", timeout=30),  # 401
        httpx.get(f"{url}/healthz", timeout=30),
        httpx.get(f"{url}/livez", timeout=30),
        httpx.post(f"{url}/login", data={"username": "nobody", "password": "wrong-password"}, timeout=30),
        site["bob"].get("/"),
        site["bob"].get("/gradio_api/file=/etc/passwd"),  # 403
        site["bob"].get(_file_url(site, site["data"] / "align.sqlite3")),  # 403 from the file guard
        site["bob"].get("/config"),
    ]
    for answer in answers:
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, (answer.request.url, name, answer.status_code)
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    for html in (page, site["bob"].get("/")):
        policy = html.headers["content-security-policy"]
        nonce = re.search(r"'nonce-([^']+)'", policy)
        assert nonce is not None and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        tags = re.findall(r"<script\b[^>]*>", html.text)
        assert tags and all(f'nonce="{nonce.group(1)}"' in tag for tag in tags), tags
    again = httpx.get(url + "/", timeout=30).headers["content-security-policy"]
    assert again != page.headers["content-security-policy"]  # a fresh nonce per page


# -- 6. temporary folders are removed -----------------------------------------------------------------


def test_exports_and_failed_runs_leave_no_folder_behind(site):
    alice = site["alice"]
    exported = _call(alice, handler(alice, output="Exported profiles"), [])
    assert exported.success
    compare = gradio_client(site["url"], "alice")
    try:
        with pytest.raises(AppError, match="no evaluation items"):
            compare.predict(
                {"files": ["broken/no_scores.json"], "algorithms": ["random"], "limit": 1},
                api_name="/evaluate",
            )
    finally:
        compare.close()
    left = [p.name for p in (site["base"] / "tmp").iterdir() if p.name.startswith("align-")]
    assert left == [], left  # no align-profiles-* / align-compare-* temporary folders
    runs = site["data"] / "app" / "evaluations" / "alice"
    assert all((run / "results.jsonl").is_file() for run in runs.iterdir() if run.is_dir())  # good runs only
    assert not [p for p in runs.iterdir() if p.suffix == ".zip" and not p.with_suffix("").is_dir()]


@pytest.mark.browser
@pytest.mark.model
def test_the_ui_works_under_the_policy_in_a_real_browser(site):
    """Debian's chromium: log in, run a comparison (gr.HTML renders through a template), evaluate
    and see the chart and download the zip; the browser reports no policy violation."""
    console: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.on("console", lambda m: console.append(m.text))
        page.set_default_timeout(60_000)
        sign_in(page, site["url"], "alice")
        page.get_by_role("tab", name="Compare").click()
        page.locator("#compare-scenario textarea").fill("Two people are hurt and there is one kit.")
        page.locator("#compare-choices textarea").fill("Treat the driver\nTreat the passenger")
        page.locator("#compare-run").click()
        page.locator("#compare-result .compare-column").nth(1).wait_for(timeout=180_000)
        page.get_by_role("tab", name="Evaluate").click()
        page.locator("#eval-files").get_by_text(DATASET).click()
        page.get_by_label("random", exact=True).check()
        page.locator("#eval-run").click()
        page.locator("#eval-summary").get_by_text("Alignment accuracy").first.wait_for(timeout=300_000)
        page.locator("img[src*='accuracy.png']").wait_for()
        page.wait_for_function("() => document.querySelector(\"img[src*='accuracy.png']\").naturalWidth > 0")
        link = page.locator("a[href*='evaluation-'][href$='.zip']").first
        link.wait_for()
        assert page.request.get(link.get_attribute("href") or "").body().startswith(b"PK")  # with alice's cookie
    violations = [m for m in console if "Content Security Policy" in m or "Refused to" in m]
    assert violations == [], violations


def test_stopping_the_server_removes_its_handed_out_copies(tmp_path, site):
    """Checked last: the handout folder of the running server, then gone once it stops."""
    handout = site["base"] / "gradio" / "align-handout"
    assert handout.is_dir() and any(handout.iterdir())
    stop(site["proc"])
    assert not handout.exists() or not any(handout.iterdir())
