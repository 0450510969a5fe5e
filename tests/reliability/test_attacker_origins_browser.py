"""Pages on other origins attack a logged-in user in a real browser (Debian's chromium, Playwright).

alice logs in to a live ``align serve`` (login mode), reached as ``127.0.0.1`` and, through chromium's
host resolver, as ``align.example.test`` (a real host name). In the same browser a page served from
another origin: another port on ``127.0.0.1`` (the same site, so alice's cookie goes along) and a
sibling subdomain ``evil.example.test``. It asks, with alice's credentials, for the session token,
joins the queue to run the "create a key" handler (a JSON request, a form-like ``text/plain`` one
and a ``no-cors`` one), and reads the event stream. It must read nothing and create no key; alice's
own page then creates a key and logs out with the UI's own buttons.

Select with ``-m browser``.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from conftest_app import USERS, _create_users, free_port, start_server, stop, wait_ready

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP align.example.test 127.0.0.1, MAP evil.example.test 127.0.0.1",
]
KEY_LABEL = "What the new key is for"

ATTACK = """<!doctype html><html><body><script>
async function attack(app, fnIndex) {
  const out = {read: [], errors: []};
  async function attempt(name, url, options) {
    try {
      const answer = await fetch(url, {credentials: "include", ...options});
      const text = await answer.text();
      out.read.push([name, answer.type, answer.status, text]);
    } catch (error) {
      out.errors.push([name, String(error)]);
    }
  }
  const body = (hash) => JSON.stringify(
    {data: ["stolen"], fn_index: fnIndex, session_hash: hash, trigger_id: null});
  await attempt("token", app + "/gradio_api/token", {});
  await attempt("join", app + "/gradio_api/queue/join",
    {method: "POST", headers: {"Content-Type": "application/json"}, body: body("atk1")});
  await attempt("join-plain", app + "/gradio_api/queue/join",
    {method: "POST", headers: {"Content-Type": "text/plain"}, body: body("atk2")});
  await attempt("join-no-cors", app + "/gradio_api/queue/join",
    {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: body("atk3")});
  await new Promise((done) => setTimeout(done, 1500));
  for (const hash of ["atk1", "atk2", "atk3"]) {
    await attempt("data-" + hash, app + "/gradio_api/queue/data?session_hash=" + hash, {});
  }
  await attempt("config", app + "/config", {});
  return out;
}
</script></body></html>"""


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = ATTACK.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def attacker() -> Iterator[int]:
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield port
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("origins-browser")
    database_url = f"sqlite:///{data / 'align.sqlite3'}"
    _create_users(database_url)
    # alice logs in at a plain-HTTP host name, which the operator allowed (test_attacker_logins.py)
    env = {"ALIGN_SERVE_NICE": "0", "ALIGN_ALLOW_INSECURE_HTTP_LOGIN": "true"}
    proc, url, log = start_server(data, extra_env=env)
    try:
        wait_ready(proc, url, log)
        yield {"url": url, "port": int(url.rsplit(":", 1)[1]), "db": database_url}
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium") and not shutil.os.path.exists(CHROMIUM):  # type: ignore[attr-defined]
        pytest.skip("chromium is not installed (make setup installs it with apt-get)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def _keys_of(db: str, user: str) -> int:
    from profiles.store import open_store

    store = open_store(db)
    try:
        return len(store.api_keys.list(store.users.actor(user)))
    finally:
        store.close()


def _create_key_fn(url: str) -> int:
    with httpx.Client(base_url=url, timeout=30) as session:
        assert (
            session.post("/login", data={"username": "alice", "password": USERS["alice"][0]}).status_code
            == 200
        )
        config = session.get("/config").json()
    labels = {c["id"]: c.get("props", {}).get("label") for c in config["components"]}
    for dependency in config["dependencies"]:
        if KEY_LABEL in [labels.get(i) for i in dependency["inputs"]]:
            return int(dependency["id"])
    raise AssertionError("no create-key handler")


def _login(context: Any, url: str) -> Any:
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url + "/")
    page.get_by_label("username").fill("alice")
    page.get_by_label("password").fill(USERS["alice"][0])
    page.get_by_role("button", name="Login").click()
    page.locator("#header").get_by_text("Signed in as alice").wait_for()
    return page


@pytest.mark.parametrize(
    ("app_host", "evil_host"),
    [("127.0.0.1", "127.0.0.1"), ("align.example.test", "evil.example.test")],
    ids=["another-port", "sibling-subdomain"],
)
def test_a_page_on_another_origin_reads_nothing_and_creates_no_key(
    app, attacker, browser, app_host, evil_host
):
    app_url = f"http://{app_host}:{app['port']}"
    fn = _create_key_fn(app["url"])
    before = _keys_of(app["db"], "alice")
    context = browser.new_context()
    try:
        own = _login(context, app_url)
        evil = context.new_page()
        evil.goto(f"http://{evil_host}:{attacker}/attack.html")
        out = evil.evaluate("([app, fn]) => attack(app, fn)", [app_url, fn])
        readable = [r for r in out["read"] if r[1] not in ("opaque",)]
        assert readable == [], json.dumps(out, indent=1)[:3000]
        assert _keys_of(app["db"], "alice") == before, out
        # alice's own page still works: a key is made and shown, and the "Log out" button logs out
        own.get_by_role("tab", name="Profiles").click()
        own.get_by_text("API keys for chat apps").click()
        own.locator("#api-key-label textarea, #api-key-label input").first.fill("from my own page")
        own.locator("#api-key-password input").fill(USERS["alice"][0])
        own.locator("#api-key-create").click()
        own.locator("#api-key-new").get_by_role("textbox").wait_for()
        own.wait_for_function(
            "() => (document.querySelector('#api-key-new textarea, #api-key-new input') || {}).value"
            "?.startsWith('align-')"
        )
        assert _keys_of(app["db"], "alice") == before + 1
        own.get_by_text("Log out", exact=True).click()
        if app_host != "127.0.0.1":
            # chromium sends no Sec-Fetch-* headers to a plain-HTTP host name (only to HTTPS and
            # localhost): the server cannot tell the app's own page from a link, and asks first
            own.get_by_role("heading", name="Log out?").wait_for()
            own.get_by_role("button", name="Log out").click()
        own.get_by_label("username").wait_for()
        assert own.evaluate("() => fetch('/config').then(r => r.status)") == 401
    finally:
        context.close()
