"""Debian's chromium (``/usr/bin/chromium``, installed by ``make setup``) driven by Playwright, and
the app's login form in it. Never ``playwright install``: the browser is the system's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers.local_http import LocalHTTPServer, QuietHandler
from tests.helpers.serve import new_site, serving, start_server
from tests.helpers.web import password_of

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

__all__ = [
    "ARGS",
    "CHROMIUM",
    "attacker",
    "browser",
    "chromium",
    "logged_in_page",
    "login_app",
    "on_tab",
    "page_server",
    "pick",
    "sign_in",
]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def chromium(*more_args: str) -> Iterator[Browser]:
    """``with chromium() as browser:`` headless chromium with ``ARGS`` and ``more_args`` (say a
    ``--host-resolver-rules=...``), closed when the block ends. Skips where Playwright or chromium
    is not installed."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (make setup installs it with apt-get)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[*ARGS, *more_args])
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Page, url: str, user: str, password: str | None = None) -> None:
    """The app's login form at ``url``, filled in and sent as a person does; returns once the
    header says who is signed in."""
    page.goto(url + "/")
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(password_of(user) if password is None else password)
    page.get_by_role("button", name="Login").click()
    page.locator("#header").get_by_text(f"Signed in as {user}").wait_for()


def logged_in_page(
    browser: Browser | BrowserContext,
    url: str,
    user: str,
    password: str | None = None,
    *,
    wide: bool = False,
    timeout_ms: float = 30_000,
) -> Page:
    """A new page (1280 x 1000 when ``wide``) logged in as ``user``."""
    page = browser.new_page()
    if wide:
        page.set_viewport_size({"width": 1280, "height": 1000})
    page.set_default_timeout(timeout_ms)
    sign_in(page, url, user, password)
    return page


def on_tab(browser: Browser | BrowserContext, url: str, user: str, tab: str) -> Page:
    """A wide page logged in as ``user`` (``USERS``' password), on the app's ``tab``."""
    page = logged_in_page(browser, url, user, wide=True)
    page.get_by_role("tab", name=tab).click()
    return page


@contextmanager
def page_server(html: str) -> Iterator[int]:
    """``with page_server(html) as port:`` another origin on 127.0.0.1:port that answers every GET
    with ``html`` (an attacker's page)."""
    body = html.encode()

    class Page(QuietHandler):
        def do_GET(self) -> None:
            self.reply(200, "text/html; charset=utf-8", body)

    with LocalHTTPServer(Page) as server:
        yield server.port


def pick(page: Page, elem_id: str, option: str) -> None:
    """Choose ``option`` in the dropdown ``#elem_id``."""
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).click()


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest) -> Iterator[Browser]:
    """chromium for one test module (``chromium()``, with the module's ``CHROMIUM_ARGS`` if any)."""
    with chromium(*getattr(request.module, "CHROMIUM_ARGS", ())) as launched:
        yield launched


@pytest.fixture(scope="module")
def attacker(request: pytest.FixtureRequest) -> Iterator[int]:
    """The port of a page on another origin that serves the module's ``ATTACK_PAGE``."""
    with page_server(request.module.ATTACK_PAGE) as port:
        yield port


@pytest.fixture(scope="module")
def login_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``align serve`` in login mode for a browser that reaches it by host names over plain HTTP
    (the operator's opt-in, tests/reliability/test_attacker_logins.py): its ``url``, ``port`` and
    database (``db``)."""
    data, database_url = new_site(tmp_path_factory, "login-app")
    env = {"ALIGN_SERVE_NICE": "0", "ALIGN_ALLOW_INSECURE_HTTP_LOGIN": "true"}
    with serving(start_server(data, extra_env=env)) as app:
        yield {"url": app.url, "port": app.port, "db": database_url}
