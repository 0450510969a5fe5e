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

import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers.browser import sign_in
from tests.helpers.store import conversations_of
from tests.helpers.web import log_in

if TYPE_CHECKING:
    pass

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

CHROMIUM_ARGS = ["--host-resolver-rules=MAP *.probe.test 127.0.0.1"]
ATTACK_PAGE = """<!doctype html><html><body><script>
const q = new URLSearchParams(location.search);
document.cookie = q.get("name") + "=" + q.get("value") + "; domain=" + q.get("domain") + "; path=/";
document.body.textContent = "tossed: " + document.cookie;
</script></body></html>"""


def _user(page: Any) -> Any:
    return page.evaluate("fetch('/gradio_api/user').then(r => r.status === 200 ? r.json() : r.status)")


CHAT = """fetch('/gradio_api/call/chat', {method: 'POST', headers: {'Content-Type': 'application/json'},
  body: JSON.stringify({data: [{message: 'PRIVATE-ALICE: should I - tell my boss - keep it secret'}]})})
  .then(async r => [r.status, await r.text()])"""


@pytest.mark.parametrize(
    "toss_host, domain", [("evil.probe.test", "probe.test"), ("app.probe.test", "app.probe.test")]
)
def test_a_tossed_cookie_does_not_log_the_victim_in_as_the_attacker(
    login_app: dict[str, Any], attacker: int, browser: Any, toss_host: str, domain: str
) -> None:
    site = f"http://app.probe.test:{login_app['port']}"
    bob = log_in(login_app["url"], "bob")
    name, token = next(
        (k, v) for k, v in bob.cookies.items() if k.startswith("access-token-") and "unsecure" not in k
    )
    bobs_before = conversations_of(login_app["db"], "bob")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        sign_in(page, site, "alice")
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
        assert conversations_of(login_app["db"], "bob") == bobs_before

        # the reply expired both cookies: alice logs in again and is herself
        sign_in(page, site, "alice")
        assert _user(page) == "alice"
    finally:
        context.close()
