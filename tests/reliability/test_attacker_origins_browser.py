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
from contextlib import closing
from typing import TYPE_CHECKING

import pytest

from tests.helpers.browser import logged_in_page
from tests.helpers.gradio_queue import handler
from tests.helpers.serve import USERS
from tests.helpers.store import api_keys_of
from tests.helpers.web import logged_in

if TYPE_CHECKING:
    pass

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

KEY_LABEL = "What the new key is for"


CHROMIUM_ARGS = ["--host-resolver-rules=MAP align.example.test 127.0.0.1, MAP evil.example.test 127.0.0.1"]
ATTACK_PAGE = """<!doctype html><html><body><script>
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


def _create_key_fn(url: str) -> int:
    with closing(logged_in(url, "alice", timeout=30)) as session:
        return handler(session, input=KEY_LABEL)


@pytest.mark.parametrize(
    ("app_host", "evil_host"),
    [("127.0.0.1", "127.0.0.1"), ("align.example.test", "evil.example.test")],
    ids=["another-port", "sibling-subdomain"],
)
def test_a_page_on_another_origin_reads_nothing_and_creates_no_key(login_app, attacker, browser, app_host, evil_host):
    app_url = f"http://{app_host}:{login_app['port']}"
    fn = _create_key_fn(login_app["url"])
    before = api_keys_of(login_app["db"], "alice")
    context = browser.new_context()
    try:
        own = logged_in_page(context, app_url, "alice")
        evil = context.new_page()
        evil.goto(f"http://{evil_host}:{attacker}/attack.html")
        out = evil.evaluate("([app, fn]) => attack(app, fn)", [app_url, fn])
        readable = [r for r in out["read"] if r[1] not in ("opaque",)]
        assert readable == [], json.dumps(out, indent=1)[:3000]
        assert api_keys_of(login_app["db"], "alice") == before, out
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
        assert api_keys_of(login_app["db"], "alice") == before + 1
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
