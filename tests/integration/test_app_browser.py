"""The app in a real browser: Debian's chromium driven by Playwright against a live ``align serve``.

Select with ``-m browser``. Log in, chat a decision (the default decider), ask with no values and
pick a suggested one, run a 2-column comparison, edit a profile slider and see it saved (after a
reload, and in the store), import a profiles file (its upload and the page following its progress).
"""

from __future__ import annotations

import json

import pytest

from tests.helpers.browser import logged_in_page, pick

pytestmark = [pytest.mark.browser, pytest.mark.model]

SITUATION = (
    "Two people are hurt after a car crash and there is one medical kit.\n"
    "- Treat the driver who caused the crash\n"
    "- Treat the passenger of the other car"
)


@pytest.fixture(scope="module")
def alice_profile(app_server):
    from profiles.schemas import ProfileCreate

    store = app_server.open_store()
    try:
        alice = store.users.actor("alice")
        store.profiles.create(alice, ProfileCreate(name="browser-fair", targets={"fairness": 0.6}))
    finally:
        store.close()
    return "browser-fair"


def test_login_and_chat_a_decision(app_server, browser, alice_profile):
    page = logged_in_page(browser, app_server.url, "alice", wide=True)
    assert page.get_by_role("tab", name="Examples").count() == 0  # admins only
    pick(page, "chat-profile", alice_profile)
    page.locator("#chat-input textarea").fill(SITUATION)
    page.locator("#chat-send").click()
    answer = page.locator("#chatbot").get_by_text("My advice:")
    answer.wait_for(timeout=120_000)
    # the answer streams in (the verdict first): read it once its details block has arrived
    page.locator("#chatbot summary").get_by_text("Details").last.wait_for(timeout=60_000)
    text = page.locator("#chatbot").inner_text()
    assert "Treat the" in text and "Details" in text and "&nbsp;" not in text
    page.locator("#chatbot summary").get_by_text("Details").last.click()  # the details unfold
    page.locator("#chatbot").get_by_text("How it was decided").last.wait_for()
    text = page.locator("#chatbot").inner_text()
    store = app_server.open_store()
    try:
        entries = store.log.list(store.users.actor("alice"))
        # the algorithm entry "default (…)" sends none: the service's default decider decides
        assert entries[0].profile_name == alice_profile
        assert store.log.get(store.users.actor("alice"), entries[0].id).request["algorithm"] is None
        # the method that decided, named in the details ("the value fit method")
        assert entries[0].algorithm.replace("-", " ") in text and entries[0].status == "ok"
        assert entries[0].choice is not None and entries[0].choice in text
    finally:
        store.close()
    page.close()


SAVINGS = (
    "I have savings of 20,000. Should I put them in a broad index fund or start a food truck business "
    "with a friend?\n- Index fund\n- Food truck business"
)


def test_no_values_get_suggestions_and_a_click_then_send_decides(app_server, browser):
    page = logged_in_page(browser, app_server.url, "bob", wide=True)
    page.locator("#chat-input textarea").fill(SAVINGS)
    page.locator("#chat-send").click()
    first = page.locator("#chat-suggest-0")
    first.wait_for(timeout=120_000)
    chat = page.locator("#chatbot").inner_text()
    assert chat.count("which values matter to you") == 1  # the answer is shown once
    assert "could not" not in chat and "--" not in chat and "own words" in chat
    label = first.inner_text().removeprefix("+").strip()
    assert label and label in chat
    assert page.locator("#chat-calibrate").is_visible()
    first.click()
    # the suggestion is ticked, its slider shows the default weight, the question is back in the box
    page.wait_for_function("() => document.querySelector('#chat-input textarea').value.includes('savings')")
    assert page.locator("#chat-values input[type=checkbox]:checked").count() == 1
    slider = page.locator("[id^='chat-value-']:visible")
    slider.first.wait_for()
    assert slider.count() == 1 and float(slider.locator("input[type=number]").input_value()) == 0.75
    page.locator("#chat-send").click()
    page.locator("#chatbot").get_by_text("My advice:").wait_for(timeout=120_000)
    page.locator("#chat-feedback").wait_for(timeout=120_000)  # comes with the final answer
    page.locator("#chat-suggestions").wait_for(state="hidden")
    chat = page.locator("#chatbot").inner_text()
    assert chat.count("My advice:") == 1 and chat.count("which values matter to you") == 1
    assert "--" not in chat
    store = app_server.open_store()
    try:
        bob = store.users.actor("bob")
        entry = store.log.get(bob, store.log.list(bob)[0].id)
        assert entry.status == "ok" and entry.request["algorithm"] is None
        assert len(entry.request["target"]) == 1 and list(entry.request["target"].values()) == [0.75]
        assert entry.result is not None and entry.result["choice"] in chat
        latest = max(store.conversations.list(bob), key=lambda c: c.id)
        contents = [m.content for m in store.conversations.messages(bob, latest.id)]
    finally:
        store.close()
    assert len(contents) == 4 and len(set(contents[1::2])) == 2  # each answer stored once
    page.close()


def test_the_chat_offers_the_calibrate_tab(app_server, browser):
    page = logged_in_page(browser, app_server.url, "bob", wide=True)
    page.locator("#chat-input textarea").fill(SAVINGS)
    page.locator("#chat-send").click()
    page.locator("#chat-calibrate").click()
    page.locator("#calibrate-start").wait_for()
    assert page.get_by_role("tab", name="Calibrate").get_attribute("aria-selected") == "true"
    page.close()


def test_two_column_comparison(app_server, browser):
    page = logged_in_page(browser, app_server.url, "alice", wide=True)
    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-scenario textarea").fill(SITUATION.splitlines()[0])
    page.locator("#compare-choices textarea").fill("Treat the driver\nTreat the passenger")
    pick(page, "compare-algorithm-1", "random")
    page.locator("#compare-targets-2 textarea, #compare-targets-2 input").first.fill("fairness=0.9")
    page.locator("#compare-run").click()
    columns = page.locator("#compare-result .compare-column")
    columns.nth(1).wait_for(timeout=120_000)
    assert columns.count() == 2
    first, second = columns.nth(0).inner_text(), columns.nth(1).inner_text()
    # the second column defaults to the default decider's algorithm (value-fit)
    assert "random" in first and "value-fit" in second and "fairness" in second
    assert "tokens" in second and "Why:" in second
    agree = page.locator("#compare-result").inner_text()
    disagreeing = page.locator("#compare-result .compare-column[data-disagrees='true']").count()
    assert ("All columns agree" in agree) == (disagreeing == 0)
    link = page.locator("#compare-export a[download='comparison.json']")
    link.wait_for()
    exported = page.request.get(
        link.get_attribute("href") or ""
    ).json()  # the download, with the login cookie
    for shown, result in zip((first, second), exported["result"]["results"], strict=True):
        assert result["decision"]["choice"] in shown
    assert len(exported["result"]["results"]) == 2 and exported["request"]["columns"][1]["targets"] == {
        "fairness": 0.9
    }
    page.close()


def test_edit_a_profile_slider_and_see_it_saved(app_server, browser, alice_profile):
    page = logged_in_page(browser, app_server.url, "alice", wide=True)
    page.get_by_role("tab", name="Profiles").click()
    pick(page, "profile-picker", alice_profile)
    number = page.locator("#profile-slider-fairness input[type=number]")
    page.wait_for_function("() => document.querySelector('#profile-version input')?.value === '1'")
    assert float(number.input_value()) == pytest.approx(0.6)
    number.fill("0.85")
    number.press("Enter")
    page.locator("#profile-save").click()
    page.locator("#profile-status").get_by_text("Saved").wait_for()
    # reload the page: the saved value comes back from the server
    page.reload()
    page.locator("#header").get_by_text("Signed in as alice").wait_for()
    page.get_by_role("tab", name="Profiles").click()
    pick(page, "profile-picker", alice_profile)
    page.wait_for_function("() => document.querySelector('#profile-version input')?.value === '2'")
    assert float(page.locator("#profile-slider-fairness input[type=number]").input_value()) == pytest.approx(
        0.85
    )
    store = app_server.open_store()
    try:
        saved = store.profiles.get(store.users.actor("alice"), alice_profile)
        assert saved.targets == {"fairness": 0.85} and saved.version == 2
    finally:
        store.close()
    page.close()


def test_delete_this_conversation_frees_its_storage(app_server, browser):
    page = logged_in_page(browser, app_server.url, "root", wide=True)
    page.locator("#chat-input textarea").fill("hello")
    page.locator("#chat-send").click()
    page.locator("#chatbot").get_by_text("Hello!").wait_for(timeout=120_000)
    store = app_server.open_store()
    try:
        root = store.users.actor("root")
        before = len(store.conversations.list(root))
        assert before >= 1
        page.locator("#chat-delete").click()
        page.locator("#chatbot").get_by_text("Hello!").wait_for(state="detached")
        page.wait_for_timeout(500)
        assert len(store.conversations.list(root)) == before - 1
    finally:
        store.close()
    page.close()


def test_import_a_profiles_file_uploaded_in_the_browser(app_server, browser, tmp_path):
    # the upload, and the page following its progress, pass the server's limits on both
    bundle = {"profiles": [{"name": "browser-imported", "targets": {"fairness": 0.3}}]}
    path = tmp_path / "profiles.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    page = logged_in_page(browser, app_server.url, "bob", wide=True)
    answers: dict[str, list[int]] = {"upload": [], "upload_progress": []}

    def seen(response) -> None:
        route = response.url.split("/gradio_api/", 1)[-1].split("?", 1)[0]
        if route in answers:
            answers[route].append(response.status)

    page.on("response", seen)
    page.get_by_role("tab", name="Profiles").click()
    page.get_by_text("Import / export").click()
    box = page.locator(".block", has_text="Import a profiles JSON file").last
    box.locator("input[type=file]").set_input_files(str(path))
    page.get_by_text("profiles.json").first.wait_for()
    page.get_by_role("button", name="Import", exact=True).click()
    page.locator("#profile-status").get_by_text("Imported 1: browser-imported.").wait_for(timeout=60_000)
    assert answers["upload"] == [200], answers
    assert answers["upload_progress"] and set(answers["upload_progress"]) == {200}, answers
    page.close()
