"""Cookie tossing in a real browser (Debian's chromium, Playwright): a forced login from a sibling
subdomain or from another port.

alice logs in to a live ``align serve`` (login mode) at ``http://app.probe.test:PORT`` (chromium's
host resolver maps ``*.probe.test`` to 127.0.0.1). Then a page of the attacker, bob, on
``evil.probe.test:OTHER`` (a sibling subdomain) or ``app.probe.test:OTHER`` (another port of the same
host) sets bob's login cookie under the app's cookie name for the whole domain with
``document.cookie``. alice's tab must not act as bob: ``/gradio_api/user`` is not bob and a chat call
is not stored in bob's account. Her tab is logged out instead, and her next login works.

Select with ``-m browser``.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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
    "--host-resolver-rules=MAP *.probe.test 127.0.0.1",
]

TOSS = """<!doctype html><html><body><script>
const q = new URLSearchParams(location.search);
document.cookie = q.get("name") + "=" + q.get("value") + "; domain=" + q.get("domain") + "; path=/";
document.body.textContent = "tossed: " + document.cookie;
</script></body></html>"""


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = TOSS.encode()
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
    data = tmp_path_factory.mktemp("cookies-browser")
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
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make setup installs it with apt-get)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def _conversations_of(db: str, user: str) -> int:
    from profiles.store import open_store

    store = open_store(db)
    try:
        return len(store.conversations.list(store.users.actor(user)))
    finally:
        store.close()


def _log_in(page: Any, url: str) -> None:
    page.goto(url + "/")
    page.get_by_label("username").fill("alice")
    page.get_by_label("password").fill(USERS["alice"][0])
    page.get_by_role("button", name="Login").click()
    page.locator("#header").get_by_text("Signed in as alice").wait_for()


def _user(page: Any) -> Any:
    return page.evaluate("fetch('/gradio_api/user').then(r => r.status === 200 ? r.json() : r.status)")


CHAT = """fetch('/gradio_api/call/chat', {method: 'POST', headers: {'Content-Type': 'application/json'},
  body: JSON.stringify({data: [{message: 'PRIVATE-ALICE: should I - tell my boss - keep it secret'}]})})
  .then(async r => [r.status, await r.text()])"""


@pytest.mark.parametrize(
    "toss_host, domain", [("evil.probe.test", "probe.test"), ("app.probe.test", "app.probe.test")]
)
def test_a_tossed_cookie_does_not_log_the_victim_in_as_the_attacker(
    app: dict[str, Any], attacker: int, browser: Any, toss_host: str, domain: str
) -> None:
    site = f"http://app.probe.test:{app['port']}"
    bob = httpx.post(app["url"] + "/login", data={"username": "bob", "password": USERS["bob"][0]}, timeout=60)
    name, token = next(
        (k, v) for k, v in bob.cookies.items() if k.startswith("access-token-") and "unsecure" not in k
    )
    bobs_before = _conversations_of(app["db"], "bob")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        _log_in(page, site)
        assert _user(page) == "alice"

        toss = context.new_page()
        toss.goto(f"http://{toss_host}:{attacker}/toss.html?name={name}&value={token}&domain={domain}")
        assert token in toss.locator("body").inner_text()  # the browser took bob's cookie
        toss.close()

        page.reload()
        page.wait_for_timeout(2000)
        assert _user(page) != "bob"
        status, text = page.evaluate(CHAT)
        assert status != 200 or "event_id" not in text, text
        time.sleep(3)
        assert _conversations_of(app["db"], "bob") == bobs_before

        # the reply expired both cookies: alice logs in again and is herself
        _log_in(page, site)
        assert _user(page) == "alice"
    finally:
        context.close()
