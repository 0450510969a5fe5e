"""The first screen and its errors in a real browser (chromium + Playwright, ``-m browser``).

The Chat tab opens with a welcome and keeps the researcher's pickers under a folded "Advanced"; the
Examples and Evaluate tabs show only to admins; every refused input reads as one message and leaves
the form usable; a profile made in one tab shows in the others without a reload.
"""

from __future__ import annotations

import pytest

from tests.helpers.browser import logged_in_page, on_tab, pick

pytestmark = [pytest.mark.browser]


def error_badges(page) -> int:
    """How many components show Gradio's red "Error" status (a failed handler's outputs)."""
    return int(
        page.evaluate(
            "() => [...document.querySelectorAll('.wrap, .status-tracker, [class*=\"error\"]')]"
            ".filter(e => e.offsetParent !== null && e.innerText.trim() === 'Error').length"
        )
    )


def options_of(page, elem_id: str) -> list[str]:
    page.locator(f"#{elem_id} input").click()
    names = [o.strip() for o in page.get_by_role("option").all_inner_texts()]
    page.keyboard.press("Escape")
    return names


def test_chat_opens_with_a_welcome_and_folds_the_researcher_pickers(app_server, browser):
    page = logged_in_page(browser, app_server.url, "alice", wide=True)
    chat = page.locator("#chatbot")
    chat.get_by_text("honesty matters most to me").wait_for()
    welcome = chat.inner_text()
    assert "own words" in welcome and "For example" in welcome and "values" in welcome.casefold()
    assert len(welcome.split()) < 90  # short
    for jargon in ("algorithm", "backbone", "target", "attribute", "value-fit", "profile"):
        assert jargon not in welcome.casefold(), jargon
    # algorithm and backbone are under "Advanced", folded
    assert not page.locator("#chat-algorithm").is_visible()
    assert not page.locator("#chat-backbone").is_visible()
    page.locator("#chat-advanced").get_by_text("Advanced").click()
    page.locator("#chat-algorithm").wait_for()
    assert page.locator("#chat-backbone").is_visible()
    # the welcome goes once the conversation starts
    page.locator("#chat-input textarea").fill("hello")
    page.locator("#chat-send").click()
    chat.get_by_text("Hello!").wait_for(timeout=120_000)
    assert "honesty matters most to me" not in chat.inner_text().split("Hello!")[0]
    page.close()


def test_examples_and_evaluate_show_only_to_admins(app_server, browser):
    page = logged_in_page(browser, app_server.url, "alice", wide=True)
    for name in ("Chat", "Compare", "Profiles", "Calibrate"):
        assert page.get_by_role("tab", name=name).count() == 1, name
    assert page.get_by_role("tab", name="Examples").count() == 0
    assert page.get_by_role("tab", name="Evaluate").count() == 0
    page.close()
    page = on_tab(browser, app_server.url, "root", "Evaluate")
    page.locator("#eval-run").wait_for()
    page.get_by_role("tab", name="Examples").click()
    page.get_by_text("Example decisions used by").wait_for()
    page.close()


def test_compare_with_one_choice_says_so_in_one_sentence(app_server, browser):
    page = on_tab(browser, app_server.url, "alice", "Compare")
    page.locator("#compare-scenario textarea").fill("Should I move to the city?")
    page.locator("#compare-choices textarea").fill("Move to the city")
    page.locator("#compare-run").click()
    result = page.locator("#compare-result")
    result.get_by_text("at least 2 choices").wait_for()
    said = result.inner_text()
    assert "pydantic" not in said and "further information" not in said, said
    assert "pydantic" not in page.locator("body").inner_text()
    assert error_badges(page) == 0
    # a value out of range or not a number: refused before any column runs, in words
    page.locator("#compare-choices textarea").fill("Move to the city\nStay in the village")
    targets = page.locator("#compare-targets-2 textarea, #compare-targets-2 input").first
    targets.fill("fairness=5")
    page.locator("#compare-run").click()
    result.get_by_text("column 2: value of 'fairness' is 5.0; it must be in [0, 1]").wait_for()
    targets.fill("fairness=high")
    page.locator("#compare-run").click()
    result.get_by_text("'high' is not a number").wait_for()
    assert result.locator(".compare-column").count() == 0 and error_badges(page) == 0
    page.close()


def test_a_profiles_error_is_one_message_and_the_form_stays_usable(app_server, browser):
    page = on_tab(browser, app_server.url, "bob", "Profiles")
    page.locator("#profile-create").click()  # no name: refused
    status = page.locator("#profile-status")
    status.get_by_text("Please check").wait_for()
    assert "name" in status.inner_text()
    assert error_badges(page) == 0
    # the form still takes clicks and typing: fill it in, create
    page.locator("#profile-name textarea, #profile-name input").first.fill("bob-first")
    page.locator("#profile-used").get_by_text("fairness", exact=True).click()
    page.locator("#profile-create").click()
    status.get_by_text("Created").wait_for()
    store = app_server.open_store()
    try:
        assert store.profiles.get(store.users.actor("bob"), "bob-first").targets == {"fairness": 0.5}
    finally:
        store.close()
    page.close()


def test_after_an_empty_message_the_chat_box_takes_typing(app_server, browser):
    page = logged_in_page(browser, app_server.url, "bob", wide=True)
    page.locator("#chat-send").click()  # nothing typed
    page.get_by_text("the message is empty").first.wait_for()
    assert error_badges(page) == 0
    box = page.locator("#chat-input textarea")
    box.click()
    box.press_sequentially("hello")
    assert box.input_value() == "hello"
    page.locator("#chat-send").click()
    page.locator("#chatbot").get_by_text("Hello!").wait_for(timeout=120_000)
    page.close()


def test_a_profile_made_in_one_tab_shows_in_the_others_without_a_reload(app_server, browser):
    page = logged_in_page(browser, app_server.url, "alice", wide=True)
    assert "alice-made-here" not in options_of(page, "chat-profile")
    page.get_by_role("tab", name="Profiles").click()
    page.locator("#profile-name textarea, #profile-name input").first.fill("alice-made-here")
    page.locator("#profile-used").get_by_text("fairness", exact=True).click()
    page.locator("#profile-create").click()
    page.locator("#profile-status").get_by_text("Created").wait_for()
    page.get_by_role("tab", name="Chat").click()
    page.wait_for_timeout(300)
    pick(page, "chat-profile", "alice-made-here")  # no reload
    page.get_by_role("tab", name="Compare").click()
    assert "alice-made-here" in options_of(page, "compare-profile-1")
    # values told in the chat (kept in the profile "default") show in the Profiles tab
    page.get_by_role("tab", name="Chat").click()
    pick(page, "chat-profile", "(your values below)")
    page.locator("#chat-input textarea").fill("honesty matters most to me")
    page.locator("#chat-send").click()
    store = app_server.open_store()
    try:
        alice = store.users.actor("alice")
        for _ in range(240):  # the turn keeps the values in the profile "default"
            if "default" in {p.name for p in store.profiles.list(alice)}:
                break
            page.wait_for_timeout(500)
        honesty = store.profiles.get(alice, "default").targets
    finally:
        store.close()
    assert honesty
    page.get_by_role("tab", name="Profiles").click()
    page.wait_for_timeout(300)
    pick(page, "profile-picker", "default")
    page.wait_for_function("() => !!document.querySelector('#profile-version input')?.value")
    page.close()


def test_a_number_out_of_range_is_one_message_from_the_handler(app_server, browser):
    page = on_tab(browser, app_server.url, "bob", "Calibrate")
    page.get_by_label("Dilemmas (K)").fill("0")
    page.locator("#calibrate-start").click()
    progress = page.locator("#calibrate-progress")
    progress.get_by_text("from 1 to 100").wait_for()
    assert "the number of dilemmas" in progress.inner_text()
    assert error_badges(page) == 0
    page.get_by_label("Dilemmas (K)").fill("1")  # the form still works
    page.locator("#calibrate-start").click()
    page.locator("#calibrate-dilemma").get_by_text("Dilemma 1").wait_for()
    page.close()
