"""The task prompts chat apps send besides a person's messages (titles, tags, follow-ups), on the
templates Open WebUI 0.12.4 and LibreChat send by default (tests/fixtures/conversations/
chat_app_tasks.json), and how each app fills them in."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.helpers.paths import FIXTURES

__all__ = ["TASKS", "fill"]

TASKS: list[dict[str, Any]] = json.loads(
    (FIXTURES / "conversations" / "chat_app_tasks.json").read_text(encoding="utf-8")
)["tasks"]


def fill(template: str, history: list[tuple[str, str]]) -> str:
    """A template filled as its app fills it (Open WebUI's {{MESSAGES:END:n}}, whose follow-up task cuts
    messages over 1,000 characters in the middle; LibreChat's {convo}: the last message and answer)."""

    def cut(text: str) -> str:
        return text if len(text) <= 1000 else text[:497] + "..." + text[-497:]

    def lines(n: int) -> str:
        return "\n".join(f"{role.upper()}: {cut(text)}" for role, text in history[-n:])

    last_user = next(t for r, t in reversed(history) if r == "user")
    text = re.sub(r"\{\{MESSAGES:END:(\d+)\}\}", lambda m: lines(int(m.group(1))), template)
    text = text.replace("{{prompt}}", last_user).replace("{{PROMPT}}", last_user)
    text = text.replace("{{TYPE}}", "General").replace("{{CURRENT_DATE}}", "2026-12-07")
    users = [t for r, t in history if r == "user"]
    answers = [t for r, t in history if r == "assistant"]
    return text.replace("{convo}", f"User: {users[-1]}\nAI: {answers[-1] if answers else ''}")
