"""The Calibrate tab and the feedback buttons in a real browser (chromium + Playwright, ``-m browser``).

No model is needed: calibration is pure computation, and the chat decision uses ``random``.
"""

from __future__ import annotations

import pytest

from tests.helpers.browser import logged_in_page, on_tab, pick

pytestmark = [pytest.mark.browser]

SITUATION = (  # as in test_app_browser.py
    "Two people are hurt after a car crash and there is one medical kit.\n"
    "- Treat the driver who caused the crash\n"
    "- Treat the passenger of the other car"
)


def test_calibrate_tab_asks_k_dilemmas_then_saves_the_profile(app_server, browser):
    page = on_tab(browser, app_server.url, "alice", "Calibrate")
    page.get_by_label("Dilemmas (K)").fill("2")
    page.get_by_label("Save as profile").fill("browser-calibrated")
    page.locator("#calibrate-start").click()
    for n in (1, 2):
        page.locator("#calibrate-dilemma").get_by_text(f"Dilemma {n}").wait_for()
        page.locator("#calibrate-choice label").first.click()
        page.locator("#calibrate-answer").click()
    page.locator("#calibrate-result").get_by_text("Saved as your profile").wait_for()
    assert "90% interval" in page.locator("#calibrate-result").inner_text()
    store = app_server.open_store()
    try:
        alice = store.users.actor("alice")
        assert store.profiles.get(alice, "browser-calibrated").targets
        assert len(store.calibrations.get(alice, "browser-calibrated").answers) == 2
    finally:
        store.close()
    page.close()


def test_disagree_under_a_chat_answer_is_stored(app_server, browser):
    page = logged_in_page(browser, app_server.url, "bob", wide=True)
    page.locator("#chat-advanced").get_by_text("Advanced").click()  # the algorithm picker is folded there
    pick(page, "chat-algorithm", "random")
    page.locator("#chat-input textarea").fill(SITUATION)
    page.locator("#chat-send").click()
    page.locator("#chatbot").get_by_text("My advice:").wait_for(timeout=60_000)
    page.locator("#chat-feedback").wait_for()
    text = page.locator("#chatbot").inner_text()
    chose_a = "My advice: Treat the driver" in text
    pick(
        page,
        "chat-would-choose",
        "(B) Treat the passenger of the other car"
        if chose_a
        else "(A) Treat the driver who caused the crash",
    )
    page.locator("#chat-disagree").click()
    page.locator("#chat-feedback-status").get_by_text("I will remember it").wait_for(timeout=120_000)
    store = app_server.open_store()
    try:
        rows = store.feedback.list(store.users.actor("bob"))
        assert (
            len(rows) == 1 and rows[0]["agree"] is False and rows[0]["would_choose"] == (1 if chose_a else 0)
        )
    finally:
        store.close()
    page.close()
