"""The conversation test set (tests/fixtures/conversations/conversations.json) run through the chat
engine: each turn's answer, the decision log and the person's default profile checked after it."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.decisions.chat import DEFAULT_PROFILE, ChatUpdate
from profiles.schemas import Actor
from profiles.store import Store

__all__ = ["SET", "Outcome", "main_text", "plain_problems", "run_conversations"]

SET = Path(__file__).resolve().parents[1] / "fixtures" / "conversations" / "conversations.json"
_DECIMAL = re.compile(r"\d\.\d")
_INTERNAL = re.compile(
    r"\bex-[0-9a-f]{4,}|value-fit|value_fit|\bfit \d|&nbsp;|\bpersona\b|\bkdma\b", re.IGNORECASE
)


def main_text(text: str) -> str:
    """An answer without its collapsible details."""
    return re.sub(r"<details>.*?</details>", "", text, flags=re.DOTALL).strip()


def plain_problems(text: str) -> list[str]:
    """What keeps an answer's main text from reading as plain words (empty: nothing)."""
    main = main_text(text)
    problems = []
    if len(main.split()) > 120:
        problems.append(f"{len(main.split())} words")
    if _DECIMAL.search(main):
        problems.append(f"a decimal number: {_DECIMAL.search(main)!r}")
    found = _INTERNAL.search(text)
    if found:
        problems.append(f"an internal word: {found.group(0)!r}")
    if text.count("<details>") != text.count("</details>"):
        problems.append("an unclosed details block")
    return problems


def _level(value: float | None) -> str:
    if value is None:
        return "absent"
    return "high" if value >= 0.65 else "low" if value <= 0.35 else "moderate"


@dataclass
class Outcome:
    checks: int = 0
    met: int = 0
    failures: list[str] = field(default_factory=list)
    turns: int = 0
    conversations: int = 0
    seconds: list[float] = field(default_factory=list)  # per turn (printed, not asserted: not a benchmark)

    def check(self, ok: bool, where: str, what: str) -> None:
        self.checks += 1
        if ok:
            self.met += 1
        else:
            self.failures.append(f"{where}: {what}")


Chat = Callable[[Actor, dict[str, Any]], ChatUpdate]


def run_conversations(store: Store, chat: Chat, new_actor: Callable[[str], Actor]) -> Outcome:
    data = json.loads(SET.read_text(encoding="utf-8"))
    outcome = Outcome()
    people: dict[str, Actor] = {}
    for conv in data["conversations"]:
        outcome.conversations += 1
        person = conv.get("person")  # a person met before: their values are kept
        if person is None:
            actor = new_actor(conv["id"])
        else:
            actor = people.get(person) or people.setdefault(person, new_actor(conv["id"]))
        said_before = ""
        cid: int | None = None
        previous_target: dict[str, float] | None = None
        for n, turn in enumerate(conv["turns"], 1):
            outcome.turns += 1
            where = f"{conv['id']}#{n} {turn['say'][:40]!r}"
            logged_before = len(store.log.list(actor, limit=1000))
            started = time.perf_counter()
            update = chat(actor, {"message": turn["say"], "conversation_id": cid})
            outcome.seconds.append(time.perf_counter() - started)
            if update.conversation_id:
                cid = update.conversation_id
            entries = store.log.list(actor, limit=1000)
            expect = turn["expect"]
            said = update.text
            problems = plain_problems(said)
            outcome.check(not problems, where, f"plain words: {problems}; {main_text(said)[:200]!r}")
            decision = update.decision
            if "kind" in expect:
                kinds = expect["kind"] if isinstance(expect["kind"], list) else [expect["kind"]]
                outcome.check(
                    update.kind in kinds, where, f"kind {update.kind!r}, expected {kinds}: {said[:160]!r}"
                )
            if "decided" in expect:
                made = len(entries) - logged_before
                outcome.check(
                    (made == 1) == expect["decided"] and made <= 1,
                    where,
                    f"{made} decisions logged, expected {'one' if expect['decided'] else 'none'}",
                )
            if "chosen" in expect:
                chosen = decision.choice if decision is not None else None
                outcome.check(
                    chosen is not None and expect["chosen"].casefold() in chosen.casefold(),
                    where,
                    f"chose {chosen!r}, expected {expect['chosen']!r}",
                )
            if "options" in expect:
                count = len(decision.scores) if decision is not None else 0
                outcome.check(
                    count == expect["options"], where, f"{count} options, expected {expect['options']}"
                )
            if "target" in expect:
                target = decision.target if decision is not None else {}
                for name, level in expect["target"].items():
                    got = _level(target.get(name))
                    outcome.check(got == level, where, f"target {name} {got}, expected {level} ({target})")
            if "profile" in expect or expect.get("no_profile"):
                names = [p.name for p in store.profiles.list(actor)]
                if expect.get("no_profile"):
                    outcome.check(DEFAULT_PROFILE not in names, where, "a default profile was made")
                if "profile" in expect:
                    exists = DEFAULT_PROFILE in names
                    values = store.profiles.get(actor, DEFAULT_PROFILE).targets if exists else {}
                    outcome.check(exists, where, "no default profile")
                    for name, level in expect["profile"].items():
                        got = _level(values.get(name))
                        outcome.check(
                            got == level, where, f"profile {name} {got}, expected {level} ({values})"
                        )
            if "moved" in expect:
                target = decision.target if decision is not None else {}
                before = previous_target or {}
                changed = {k for k in set(target) | set(before) if target.get(k) != before.get(k)}
                outcome.check(
                    changed == {expect["moved"]},
                    where,
                    f"moved {sorted(changed)}, expected {expect['moved']!r} (before {before}, after {target})",
                )
            if expect.get("differs"):
                outcome.check(
                    said.strip() != said_before.strip(), where, "the same answer as the turn before"
                )
            said_before = said
            for words in expect.get("says", []):
                outcome.check(
                    words.casefold() in said.casefold(), where, f"does not say {words!r}: {said[:200]!r}"
                )
            for words in expect.get("not_says", []):
                outcome.check(
                    words.casefold() not in said.casefold(), where, f"says {words!r}: {said[:200]!r}"
                )
            if decision is not None and len(entries) > logged_before:
                previous_target = dict(decision.target)
    return outcome
