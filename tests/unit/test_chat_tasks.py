"""Chat apps' own task prompts (alignment.chat_tasks), on the templates Open WebUI 0.12.4 and LibreChat
send by default (tests/fixtures/conversations/chat_app_tasks.json), filled as the apps fill them."""

from __future__ import annotations

import json

import pytest

from alignment.chat_tasks import answer_task, read_task
from alignment.turns import is_task
from tests.helpers.chat_apps import TASKS, fill

ANSWER = (
    "**My advice: Put my savings in an index fund.**\n\nYou are choosing between “put my savings in an "
    'index fund” and “start a food truck”. What decides it is **Security** ("stability"), which matters '
    "a lot to you: “put my savings in an index fund” does more for it than “start a food truck”. The "
    "trade-off: “start a food truck” is better for **Stimulation**, which matters only a little to you."
    "\n\n<details><summary>Details</summary>\n\nSecurity 0.80\n\n</details>"
)
HISTORY = [("user", "Should I put my savings in an index fund or start a food truck?"), ("assistant", ANSWER)]


@pytest.mark.parametrize("task", TASKS, ids=[f"{t['app']}-{t['name']}" for t in TASKS])
def test_each_task_prompt_is_recognised_and_answered_as_it_asks(task: dict) -> None:
    prompt = fill(task["template"], HISTORY)
    assert is_task(prompt)
    read = read_task(prompt)
    assert read is not None and read.kind == task["kind"]
    answer = answer_task(read)
    if task["keys"]:
        data = json.loads(answer)
        assert sorted(data) == sorted(task["keys"])
    else:
        assert answer and not answer.startswith("{")


def test_the_title_names_the_options() -> None:
    for task in TASKS:
        if task["kind"] == "title":
            answer = answer_task(read_task(fill(task["template"], HISTORY)))  # type: ignore[arg-type]
            title = json.loads(answer)["title"] if task["keys"] else answer
            assert title == "Index fund or food truck", task["name"]


def test_follow_ups_name_the_other_option_and_the_values_that_decided() -> None:
    task = next(t for t in TASKS if t["kind"] == "follow_ups")
    data = json.loads(answer_task(read_task(fill(task["template"], HISTORY))))  # type: ignore[arg-type]
    assert data["follow_ups"][:3] == [
        "Why not the other option?",
        "What if I cared less about security?",
        "What if I cared more about stimulation?",
    ]


def test_before_any_decision_follow_ups_are_examples_and_tags_are_general() -> None:
    history = [("user", "hi"), ("assistant", "Hello! I help you choose between options.")]
    follow = next(t for t in TASKS if t["kind"] == "follow_ups")
    data = json.loads(answer_task(read_task(fill(follow["template"], history))))  # type: ignore[arg-type]
    assert any(" or " in s for s in data["follow_ups"])  # a dilemma to try
    title = next(t for t in TASKS if t["kind"] == "title" and t["app"] == "open-webui")
    assert json.loads(answer_task(read_task(fill(title["template"], history))))["title"] == "Hi"  # type: ignore[arg-type]


def test_a_persons_message_is_not_a_task() -> None:
    for message in (
        "Should I put my savings in an index fund or start a food truck?",
        "Provide for my family or follow my dream: which one?",
        "what is the task of a title?",
    ):
        assert read_task(message) is None and not is_task(message)
