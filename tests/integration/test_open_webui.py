"""Open WebUI, a real chat app, talking to ``align serve``'s OpenAI-compatible ``/v1`` with an API key.

Open WebUI (from PyPI, in a virtual environment of its own: ``make open-webui``) runs with its default
settings, so it sends its own title, tag and follow-up requests to the assistant as a person's chat
would. Debian's chromium, driven by Playwright, has a three-turn chat: a dilemma, "why not the other
one?", then a click on one of Open WebUI's follow-up suggestions. Select with ``-m chatapp``.

The conversation runs once (the ``chat`` fixture records what a person would see); each test checks
one thing of it: the answers, the chat's title, the decision log (read through the store), the "why
not" answer, and the follow-up suggestion. ``OPEN_WEBUI_SCREENSHOT=PATH`` saves a screenshot of the
finished chat there.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from assistant.evaluation.serve_process import stop_process, wait_answering
from tests.helpers.browser import CHROMIUM, chromium
from tests.helpers.serve import REPO, free_port, new_site, start_server, stop, wait_ready
from tests.helpers.store import new_api_key, opened

pytestmark = [pytest.mark.chatapp, pytest.mark.browser, pytest.mark.model, pytest.mark.timeout(1800)]

SETUP = REPO / "tests" / "chatapp" / "setup_open_webui.sh"
QUESTION = "Should I put my savings in an index fund or lend them to my cousin's food truck?"
WHY_NOT = "why not the other one?"
OPTION_WORDS = ("index fund", "food truck")
TURN_S = 300.0  # one answer on a busy 2-core machine
TASK_S = 120.0  # Open WebUI's title and follow-up requests, after an answer
# what the assistant says when it did not understand a message as part of this decision
NOT_UNDERSTOOD = (
    "at least two options",
    "Which options are you choosing between",
    "I can't help with that",
    "I answer decisions only",
    "I have not decided anything",
)


def open_webui_venv() -> Path:
    where = subprocess.run(["bash", str(SETUP), "--where"], capture_output=True, text=True, check=True)
    return Path(where.stdout.strip())


@dataclass
class Services:
    align_url: str
    webui_url: str
    database_url: str
    logs: list[Path]

    def open_store(self) -> Any:
        from profiles.store import open_store

        return open_store(self.database_url)


def _alice_with_values_and_key(database_url: str) -> str:
    """alice's default profile (security matters, stimulation little) and her key for Open WebUI."""
    from profiles.schemas import ProfileCreate

    with opened(database_url) as store:
        alice = store.users.actor("alice")
        targets = {"security": 0.9, "stimulation": 0.2}
        store.profiles.create(alice, ProfileCreate(name="default", targets=targets))
    return new_api_key(database_url, "alice", label="Open WebUI")


def _open_webui_env(data_dir: Path, align_url: str, key: str) -> dict[str, str]:
    """Open WebUI's defaults (title, tag and follow-up generation on), nothing fetched at run time."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        DATA_DIR=str(data_dir),
        HF_HOME=str(data_dir / "hf"),
        WEBUI_SECRET_KEY="open-webui-test-secret",
        WEBUI_AUTH="false",  # one local admin, no sign-in page
        OPENAI_API_BASE_URL=align_url + "/v1",
        OPENAI_API_KEY=key,
        DEFAULT_MODELS="align",
        ENABLE_OLLAMA_API="false",
        # offline: no model downloads, no update checks, no telemetry
        OFFLINE_MODE="true",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        RAG_EMBEDDING_MODEL="",  # no document embedder to load (chats here have no files)
        RAG_EMBEDDING_MODEL_AUTO_UPDATE="false",
        RAG_RERANKING_MODEL_AUTO_UPDATE="false",
        WHISPER_MODEL_AUTO_UPDATE="false",
        ENABLE_WEB_SEARCH="false",
        ENABLE_VERSION_UPDATE_CHECK="false",
        SCARF_NO_ANALYTICS="true",
        DO_NOT_TRACK="true",
        ANONYMIZED_TELEMETRY="false",
    )
    return env


def _wait_webui(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 600.0) -> None:
    wait_answering(
        proc,
        url,
        log,
        timeout=timeout,
        what="open-webui",
        probe="/health",
        ready=lambda status: status == 200,
        every_s=1,
        tail=5000,
    )


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    venv = open_webui_venv()
    binary = venv / "bin" / "open-webui"
    if not binary.exists():
        how = f"make open-webui (bash {SETUP.relative_to(REPO)}) installs it into {venv}"
        if os.environ.get("CI"):
            pytest.fail(f"Open WebUI is not installed: {how}")
        pytest.skip(f"Open WebUI is not installed: {how}")
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (make setup installs it with apt-get)")

    data_dir, database_url = new_site(tmp_path_factory, "open-webui-align")
    key = _alice_with_values_and_key(database_url)
    align, align_url, align_log = start_server(data_dir)
    webui_dir = tmp_path_factory.mktemp("open-webui")
    webui_log = webui_dir / "open-webui.log"
    port = free_port()
    webui: subprocess.Popen[bytes] | None = None
    try:
        with webui_log.open("wb") as handle:  # both start at once: Open WebUI takes a minute or two
            webui = subprocess.Popen(
                [str(binary), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=_open_webui_env(webui_dir / "data", align_url, key),
                cwd=webui_dir,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_ready(align, align_url, align_log, timeout=300)
        webui_url = f"http://127.0.0.1:{port}"
        _wait_webui(webui, webui_url, webui_log)
        yield Services(align_url, webui_url, database_url, [align_log, webui_log])
    finally:
        if webui is not None:
            stop_process(webui, group=True)
        stop(align)


# -- the conversation, as a person has it -------------------------------------------------------


@dataclass
class Chat:
    """What the person saw, turn by turn; filled as far as the chat got."""

    answers: list[str] = field(default_factory=list)  # the assistant's messages, as shown
    raw_tags: list[str] = field(default_factory=list)  # HTML tags shown as text in an answer
    title: str = ""  # the chat's title, as Open WebUI stores and shows it
    shown_title: str = ""  # the sidebar's entry for the chat
    chips: list[str] = field(default_factory=list)  # follow-up suggestions under the last answer
    clicked: str = ""  # the suggestion clicked
    problems: list[str] = field(default_factory=list)


def _assistant(page: Any) -> Any:
    """The assistant's messages (Open WebUI's ``#message-<id>`` elements that are not the user's)."""
    return page.locator("#messages-container [id^='message-']:not(.user-message)")


def _send(page: Any, text: str) -> None:
    page.locator("#chat-input").click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def _wait_answer(page: Any, count: int) -> str:
    """The ``count``-th answer's text once Open WebUI shows it done (its Copy button appears)."""
    answer = _assistant(page).nth(count - 1)
    answer.get_by_role("button", name="Copy").wait_for(timeout=TURN_S * 1000)
    return str(answer.locator("#response-content-container").inner_text())


def _chat_title(page: Any) -> str:
    chat_id = page.url.rstrip("/").rsplit("/c/", 1)[-1]
    return str(
        page.evaluate(
            """async (id) => {
                const r = await fetch('/api/v1/chats/' + id,
                    {headers: {Authorization: 'Bearer ' + localStorage.token}});
                return (await r.json()).title;
            }""",
            chat_id,
        )
    )


def _sidebar_title(page: Any) -> str:
    """The first entry of the sidebar's chat list (the chat just had), as shown."""
    return str(page.locator("#sidebar-chat-item").first.inner_text()).strip().splitlines()[0]


def _poll(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(2)
        value = check()
    return value


def _chips(page: Any) -> list[str]:
    buttons = page.get_by_role("button", name=re.compile(r"^Follow up: "))
    return [
        str(label)[len("Follow up: ") :] for label in buttons.evaluate_all("bs => bs.map(b => b.ariaLabel)")
    ]


def _raw_tags(text: str) -> list[str]:
    return re.findall(r"</?(?:details|summary|br|p|div|span)\b[^>]*>|&nbsp;", text)


def have_the_chat(webui_url: str, screenshot: str | None = None) -> Chat:
    """The three turns in chromium; what went wrong on the way is kept in ``problems``."""
    from playwright.sync_api import Error as PlaywrightError

    seen = Chat()
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(60_000)
        try:
            page.goto(webui_url + "/")
            page.locator("#chat-input").wait_for()
            whats_new = page.get_by_role("button", name="Okay, Let's Go!")
            if _poll(whats_new.is_visible, 10):
                whats_new.click()

            _send(page, QUESTION)
            seen.answers.append(_wait_answer(page, 1))
            page.wait_for_url(re.compile(r"/c/"))
            untitled = {"", "new chat", _plain(QUESTION)}
            _poll(lambda: _plain(_chat_title(page)) not in untitled, TASK_S)
            seen.title = _chat_title(page)
            _poll(lambda: _plain(seen.title).startswith(_plain(_sidebar_title(page)).rstrip("…")), 10)
            seen.shown_title = _sidebar_title(page)

            _send(page, WHY_NOT)
            seen.answers.append(_wait_answer(page, 2))
            seen.chips = _poll(lambda: _chips(page), TASK_S) or []
            if seen.chips:
                seen.clicked = seen.chips[0]
                page.get_by_role("button", name=f"Follow up: {seen.clicked}", exact=True).click()
                seen.answers.append(_wait_answer(page, 3))
            for answer in _assistant(page).all():
                seen.raw_tags += _raw_tags(answer.locator("#response-content-container").inner_text())
        except PlaywrightError as exc:
            seen.problems.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
        finally:
            if screenshot:
                page.screenshot(path=screenshot)
    return seen


@pytest.fixture(scope="module")
def chat(services: Services) -> Chat:
    return have_the_chat(services.webui_url, os.environ.get("OPEN_WEBUI_SCREENSHOT"))


def _verdict_first(answer: str) -> bool:
    """The answer opens with its verdict, after at most short status lines ("Weighing 2 options…")."""
    lines = [line.strip() for line in answer.splitlines() if line.strip()]
    verdict = next((i for i, line in enumerate(lines) if line.startswith("My advice:")), None)
    return verdict is not None and all(line.endswith("…") and len(line) <= 60 for line in lines[:verdict])


def _logged(services: Services) -> list[Any]:
    store = services.open_store()
    try:
        alice = store.users.actor("alice")
        return [store.log.get(alice, e.id) for e in reversed(store.log.list(alice, limit=200))]
    finally:
        store.close()


def _stored_turns(services: Services) -> list[tuple[str, str, int | None]]:
    """alice's stored messages (role, text, decision id), every conversation, oldest first."""
    store = services.open_store()
    try:
        alice = store.users.actor("alice")
        return [
            (m.role, m.content, m.decision_id)
            for c in sorted(store.conversations.list(alice), key=lambda c: c.id)
            for m in store.conversations.messages(alice, c.id)
        ]
    finally:
        store.close()


def _plain(text: str) -> str:
    return text.lower().replace("’", "'").strip()


def _about(text: str, words: str) -> bool:
    return _plain(words) in _plain(text)


# -- the checks ---------------------------------------------------------------------------------


def test_the_dilemma_is_answered_with_advice(chat, services):
    assert chat.answers, f"no answer shown: {chat.problems}"
    first = chat.answers[0]
    assert _verdict_first(first) and all(_about(first, w) for w in OPTION_WORDS), first
    entries = _logged(services)
    assert entries and entries[0].status == "ok" and entries[0].profile_name == "default"
    assert _about(first, entries[0].result["choice"])


def test_the_answers_render_without_raw_markup(chat):
    assert chat.answers, f"no answer shown: {chat.problems}"
    assert not chat.raw_tags, f"shown as text in Open WebUI: {sorted(set(chat.raw_tags))}"


def test_the_chat_title_comes_from_the_options(chat):
    assert chat.title, f"no title: {chat.problems}"
    assert _plain(chat.title) != _plain(QUESTION), (
        "the title is the question: the title task was not answered"
    )
    # short, two options joined by "or", every word taken from the options ("Index fund or food truck")
    words = re.findall(r"[\w']+", _plain(chat.title))
    options = re.findall(r"[\w']+", _plain(QUESTION))
    assert len(chat.title) <= 60 and " or " in _plain(chat.title), chat.title
    assert _about(chat.title, OPTION_WORDS[0]) and all(w in options for w in words), chat.title
    shown = _plain(chat.shown_title).rstrip("…").strip()
    assert shown and _plain(chat.title).startswith(shown), (chat.title, chat.shown_title)


def test_no_task_is_logged_as_a_decision(chat, services):
    assert chat.answers, f"no answer shown: {chat.problems}"
    entries = _logged(services)
    for entry in entries:  # each logged decision is the person's dilemma, never a chat app's task
        scenario = entry.request["scenario"]
        assert "### Task" not in scenario and "<chat_history>" not in scenario, scenario[:200]
        assert any(_about(" ".join(entry.request["choices"]), w) for w in OPTION_WORDS), entry.request
    assert 1 <= len(entries) <= len(chat.answers), [e.request["scenario"][:80] for e in entries]
    for role, text, _ in _stored_turns(services):  # nor is a task kept as a conversation
        assert not text.lstrip().startswith("### Task"), (role, text[:200])


def test_why_not_the_other_one_is_about_the_other_option(chat, services):
    assert len(chat.answers) >= 2, f"no answer to {WHY_NOT!r}: {chat.problems}"
    entries = _logged(services)
    chosen = entries[0].result["choice_index"]
    other = entries[0].request["choices"][1 - chosen]
    words = next(w for w in OPTION_WORDS if _about(other, w))
    answer = chat.answers[1]
    assert _about(answer, words) and not any(_about(answer, n) for n in NOT_UNDERSTOOD), answer
    replies = [(text, did) for role, text, did in _stored_turns(services) if role == "assistant"]
    assert replies[1][1] == entries[0].id, "the answer is not tied to the logged decision"


def test_a_follow_up_suggestion_is_understood(chat, services):
    assert chat.chips, (
        "Open WebUI showed no follow-up suggestions: the assistant's answer to its follow-up task "
        f"was not the JSON it asks for ({chat.problems})"
    )
    assert len(chat.answers) >= 3, f"no answer after clicking {chat.clicked!r}: {chat.problems}"
    answer = chat.answers[2]
    assert not any(_about(answer, n) for n in NOT_UNDERSTOOD), (chat.clicked, answer)
    # understood as a follow-up: the answer explains or re-decides this dilemma
    turns = _stored_turns(services)
    asked = [
        i
        for i, (role, text, _) in enumerate(turns)
        if role == "user" and text.strip() == chat.clicked.strip()
    ]
    assert asked, f"{chat.clicked!r} did not reach the assistant"
    reply = turns[asked[-1] + 1]
    assert reply[0] == "assistant" and reply[2] is not None, (chat.clicked, reply[1][:300])
    first = _logged(services)[0]
    store = services.open_store()
    try:
        entry = store.log.get(store.users.actor("alice"), reply[2])
    finally:
        store.close()
    assert entry.request["choices"] == first.request["choices"], (chat.clicked, entry.request)


def test_the_assistant_logged_no_failed_request(services, chat):
    assert chat.answers, f"no answer shown: {chat.problems}"
    text = services.logs[0].read_text(errors="replace")
    failures = [line for line in text.splitlines() if re.search(r"Traceback|an API request failed", line)]
    assert not failures, failures[:5]
