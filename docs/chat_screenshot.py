"""Take docs/chat.png: the Chat tab's first screen of a running ``align serve`` (local mode).

    align serve --port 7850 &
    python docs/chat_screenshot.py http://127.0.0.1:7850 docs/chat.png

Uses Debian's chromium (``/usr/bin/chromium``) through Playwright.
"""

from __future__ import annotations

import sys

from playwright.sync_api import sync_playwright


def main(url: str = "http://127.0.0.1:7860", out: str = "docs/chat.png") -> None:
    with sync_playwright() as p:
        args = ["--no-sandbox", "--disable-gpu"]
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page(viewport={"width": 1100, "height": 820})
        page.goto(url + "/")
        page.locator("#chatbot").get_by_text("honesty matters most to me").wait_for(timeout=60_000)
        page.wait_for_timeout(2500)  # the tabs shown after the page load
        page.screenshot(path=out)
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:3])
