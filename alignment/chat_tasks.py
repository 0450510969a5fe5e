"""A chat app's own requests (pure): recognised, and answered as the task asks, never as a dilemma.

Chat apps send requests of their own through the same chat API as a person's messages: a title for
the conversation, tags, follow-up suggestions, search queries, an autocompletion, an emoji. Each
holds the conversation so far as text. ``read_task`` recognises them:

- Open WebUI (its default templates, ``open_webui/config.py`` of 0.12): the message starts with
  ``### Task:`` and holds ``<chat_history>`` with ``USER:`` / ``ASSISTANT:`` lines; what it asks for
  is read from the JSON its ``### Output:`` section shows (``title``, ``tags``, ``follow_ups``,
  ``queries``, ``text`` for autocompletion, ``prompt`` for an image prompt); its emoji task starts
  "Your task is to reflect the speaker's likely facial expression";
- LibreChat (``@librechat/agents``): "Provide a concise, 5-word-or-less title for the conversation"
  (answered with the title alone, as it asks) and "Analyze this conversation and provide: 1. The
  detected language" (answered as JSON ``{"language", "title"}``), each with ``User:`` / ``AI:``
  lines.

``answer_task`` answers from the conversation in the prompt:

- the title names the options of the dilemma ("Index fund or food truck");
- tags: ``Decision``, ``Values`` and the topic;
- follow-ups the assistant understands, so that a chat app's suggestion chips teach them: "Why not
  <the other option>?", "What if I cared less about <the value that decided it>?", "What if I cared
  more about <the value the other option is better for>?", "Why?"; before any decision, examples of
  a dilemma and of values in words;
- no search queries (``{"queries": []}``), an empty autocompletion, a thinking emoji.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Literal

from alignment.chat_parse import parse_situation

__all__ = ["ChatTask", "TaskKind", "answer_task", "read_task", "task_payload"]

TaskKind = Literal["title", "tags", "follow_ups", "queries", "autocomplete", "emoji", "image_prompt", "other"]

_OPEN_WEBUI = re.compile(r"^\s*#{2,4}\s*task\s*:", re.IGNORECASE)
_HISTORY = re.compile(r"<chat_history>(?P<body>.*?)(?:</chat_history>|\Z)", re.IGNORECASE | re.DOTALL)
_OUTPUT_KEY = re.compile(r"\{\s*\"(?P<key>[a-z_]+)\"\s*:", re.IGNORECASE)
_EMOJI = re.compile(r"^\s*your task is to reflect the speaker'?s likely facial expression", re.IGNORECASE)
_EMOJI_MESSAGE = re.compile(r"Message:\s*```(?P<text>.*?)```", re.DOTALL)
_LIBRECHAT_TITLE = re.compile(r"^\s*provide a concise,? 5-word-or-less title for the conversation", re.I)
_LIBRECHAT_STRUCTURED = re.compile(
    r"^\s*analy[sz]e this conversation and provide:\s*\n\s*1\.\s*the detected language", re.IGNORECASE
)
_LIBRECHAT_OLD = re.compile(r"^\s*write a concise title for this conversation in the given language", re.I)
_ROLE_LINE = re.compile(r"^(?P<role>USER|ASSISTANT|SYSTEM|User|AI|Assistant|Human)\s*:\s?(?P<text>.*)$")
_KEYS: dict[str, TaskKind] = {
    "title": "title",
    "tags": "tags",
    "follow_ups": "follow_ups",
    "queries": "queries",
    "text": "autocomplete",
    "prompt": "image_prompt",
}
_CHOOSING = re.compile(r"You are choosing between (?P<list>.+?)\.(?:\s|$)")
_QUOTED = re.compile(r"“(?P<text>[^”]+)”")
_ADVICE = re.compile(r"My advice:\s*(?P<text>[^*\n]+?)\.?\*\*")
_DECIDES = re.compile(r"What decides it is \*\*(?P<value>[^*]+)\*\*")
_TRADE = re.compile(r"(?:better for|ahead if) \*\*(?P<value>[^*]+)\*\*")
_LISTED_VALUE = re.compile(r"^\s*\d+\.\s+\*\*(?P<value>[^*]+)\*\*", re.MULTILINE)
_DETAILS = re.compile(r"<details>.*?(?:</details>|\Z)", re.DOTALL)
_DETERMINERS = frozenset(
    ("a", "an", "the", "my", "our", "your", "his", "her", "their", "some", "this", "that")
)
_ARTICLES = frozenset(("a", "an", "the"))
_PREPOSITIONS = frozenset(("in", "into", "at", "with", "for", "to", "on", "from", "by", "about"))
_TOPICS: list[tuple[str, re.Pattern[str]]] = [
    (
        "Finance",
        re.compile(
            r"\b(?:money|savings?|invest\w*|fund|loan|debt|salary|pay|rent|buy|mortgage|stock)\b", re.I
        ),
    ),
    (
        "Career",
        re.compile(r"\b(?:job|career|work|boss|startup|firm|company|promotion|offer|business)\b", re.I),
    ),
    (
        "Family",
        re.compile(
            r"\b(?:family|parents?|mother|father|mom|dad|kids?|children|wife|husband|partner)\b", re.I
        ),
    ),
    ("Friendship", re.compile(r"\b(?:friends?|neighbou?rs?)\b", re.I)),
    (
        "Health",
        re.compile(r"\b(?:health|doctor|patients?|medical|hospital|triage|injur\w*|treat\w*)\b", re.I),
    ),
    ("Ethics", re.compile(r"\b(?:honest\w*|lie|lying|truth|fair\w*|wallet|cheat\w*|steal\w*)\b", re.I)),
    ("Education", re.compile(r"\b(?:school|study|studies|university|college|degree|course)\b", re.I)),
    ("Travel", re.compile(r"\b(?:travel|trip|abroad|move|moving|city|country)\b", re.I)),
]
_TITLE_CHARS = 60
_STARTERS = [
    "Should I rent or buy a flat?",
    "Honesty matters most to me",
    "What can you do?",
]


@dataclass
class ChatTask:
    """A chat app's request: what it asks for, which app's wording, and the conversation it holds
    (``history``: (role, text), role ``user`` or ``assistant``)."""

    kind: TaskKind
    app: Literal["open-webui", "librechat"]
    history: list[tuple[str, str]] = field(default_factory=list)
    as_json: bool = True  # the task asks for a JSON object (else the bare answer: LibreChat's title)
    with_language: bool = False  # LibreChat's structured title: {"language", "title"}


def read_task(text: str) -> ChatTask | None:
    """The chat app's task ``text`` is, or None for a person's message."""
    if _EMOJI.match(text):
        message = _EMOJI_MESSAGE.search(text)
        return ChatTask(
            "emoji", "open-webui", [("user", message.group("text").strip())] if message else [], False
        )
    if _LIBRECHAT_TITLE.match(text) or _LIBRECHAT_OLD.match(text):
        return ChatTask("title", "librechat", _librechat_history(text), as_json=False)
    if _LIBRECHAT_STRUCTURED.match(text):
        return ChatTask("title", "librechat", _librechat_history(text), with_language=True)
    history = _HISTORY.search(text)
    if not _OPEN_WEBUI.match(text) and history is None:
        return None
    head = text[: history.start()] if history else text
    output = head[head.lower().rfind("### output") :] if "### output" in head.lower() else head
    keys = [m.group("key").lower() for m in _OUTPUT_KEY.finditer(output)]
    rest = text[: history.start()] + text[history.end() :] if history else text
    kind = next((_KEYS[k] for k in keys if k in _KEYS), None) or _kind_by_words(rest)
    return ChatTask(kind, "open-webui", _open_webui_history(history.group("body")) if history else [])


def _kind_by_words(head: str) -> TaskKind:
    lowered = head.lower()
    for words, kind in (
        ("follow-up", "follow_ups"),
        ("follow up", "follow_ups"),
        ("title", "title"),
        ("tags", "tags"),
        ("search quer", "queries"),
        ("autocompletion", "autocomplete"),
        ("image", "image_prompt"),
    ):
        if words in lowered:
            return kind  # type: ignore[return-value]
    return "other"


def _lines_history(body: str, roles: dict[str, str]) -> list[tuple[str, str]]:
    history: list[tuple[str, str]] = []
    for line in body.splitlines():
        found = _ROLE_LINE.match(line)
        if found and found.group("role") in roles:
            history.append((roles[found.group("role")], found.group("text")))
        elif history:
            role, said = history[-1]
            history[-1] = (role, f"{said}\n{line}")
    return [(role, said.strip()) for role, said in history if role in ("user", "assistant")]


def _open_webui_history(body: str) -> list[tuple[str, str]]:
    return _lines_history(body, {"USER": "user", "ASSISTANT": "assistant", "SYSTEM": "system"})


def _librechat_history(text: str) -> list[tuple[str, str]]:
    return _lines_history(
        text, {"User": "user", "Human": "user", "AI": "assistant", "Assistant": "assistant"}
    )


# -- answers -------------------------------------------------------------------------------------


@dataclass
class _Read:
    """What the conversation in a task says: the options of its last dilemma, the one advised, the
    value that decided it and the one the other option is better for; the values the assistant asked
    about."""

    options: list[str] = field(default_factory=list)
    chosen: int | None = None
    decisive: str = ""
    trade_off: str = ""
    asked: list[str] = field(default_factory=list)
    first_user: str = ""


def _read(history: list[tuple[str, str]]) -> _Read:
    seen = _Read(first_user=next((t for r, t in history if r == "user"), ""))
    for role, said in history:
        if role == "user":
            situation = parse_situation(said)
            if situation.complete:
                seen.options, seen.chosen, seen.decisive, seen.trade_off = situation.options, None, "", ""
            continue
        main = _DETAILS.sub("", said)
        choosing = _CHOOSING.search(main)
        if choosing:
            seen.options = [m.group("text") for m in _QUOTED.finditer(choosing.group("list"))] or seen.options
        advised = _ADVICE.search(main)
        if advised and seen.options:
            seen.chosen = _which(advised.group("text"), seen.options)
            decides, trade = _DECIDES.search(main), _TRADE.search(main)
            seen.decisive = _bare(decides.group("value")) if decides else ""
            seen.trade_off = _bare(trade.group("value")) if trade else ""
            seen.asked = []
        listed = [_bare(m.group("value")) for m in _LISTED_VALUE.finditer(main)]
        if listed:
            seen.asked = listed
    return seen


def _bare(value: str) -> str:
    return re.sub(r"\s*\(.*?\)\s*", " ", value).strip()


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9']+", text.casefold()) if w not in _DETERMINERS and len(w) > 2}


def _which(advised: str, options: list[str]) -> int | None:
    mine = _words(advised)
    overlap = [len(mine & _words(o)) for o in options]
    best = max(range(len(options)), key=lambda i: overlap[i])
    return best if overlap[best] > 0 and overlap.count(overlap[best]) == 1 else None


def _short(option: str) -> str:
    """An option in a few words: "put my savings in an index fund" -> "index fund", "start a food
    truck" -> "food truck", "tell my friend the truth about his wife" -> "tell my friend the truth"."""
    words = re.sub(r"[“”\"?!.]", "", option).split()
    if len(words) > 4:
        at = [i for i, w in enumerate(words[:-1]) if i >= 2 and w.casefold() in _PREPOSITIONS]
        if at and words[at[-1] + 1].casefold() in _ARTICLES:  # "... in an index fund"
            words = words[at[-1] + 1 :]
        elif at and at[0] <= 5:  # "... the truth about his wife"
            words = words[: at[0]]
    if len(words) > 3 and words[1].casefold() in _ARTICLES:
        words = words[1:]  # "start a food truck": the verb goes
    while len(words) > 1 and words[0].casefold() in _ARTICLES:
        words = words[1:]
    return " ".join(words[-5:])


def _title(seen: _Read) -> str:
    if len(seen.options) >= 2:
        shorts = [_short(o) for o in seen.options[:3]]
        title = (", ".join(shorts[:-1]) + " or " + shorts[-1]) if len(shorts) > 2 else " or ".join(shorts)
        if len(title) > _TITLE_CHARS:
            title = " or ".join(" ".join(s.split()[-2:]) for s in shorts)
        return title[:1].upper() + title[1:]
    first = re.sub(r"[^\w\s',-]", " ", seen.first_user).split()
    if not first:
        return "New conversation"
    title = " ".join(first[:5])
    return title[:1].upper() + title[1:]


def _tags(history: list[tuple[str, str]], seen: _Read) -> list[str]:
    text = " ".join(t for r, t in history if r == "user")
    topics = [name for name, pattern in _TOPICS if pattern.search(text)]
    tags = ["Decision", "Values"] if seen.options else ["Values"]
    return [*tags, *topics[:2]] or ["General"]


def _follow_ups(seen: _Read) -> list[str]:
    if len(seen.options) >= 2 and seen.chosen is not None:
        others = [o for i, o in enumerate(seen.options) if i != seen.chosen]
        out = [
            f"Why not {_lower(_short(others[0]))}?" if len(seen.options) > 2 else "Why not the other option?"
        ]
        if seen.decisive:
            out.append(f"What if I cared less about {seen.decisive.lower()}?")
        if seen.trade_off and seen.trade_off != seen.decisive:
            out.append(f"What if I cared more about {seen.trade_off.lower()}?")
        out.append("Why?")
        return out[:5]
    if seen.asked:
        first = seen.asked[0].lower()
        out = [f"{seen.asked[0]} matters a lot to me"]
        if len(seen.asked) > 1:
            out.append(f"{first.capitalize()} matters a lot to me, {seen.asked[1].lower()} only a little")
        return [*out, "What can you do?"]
    return list(_STARTERS)


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def task_payload(task: ChatTask) -> dict[str, object]:
    """The task's answer as the JSON object it asks for."""
    seen = _read(task.history)
    if task.kind == "title":
        title = _title(seen)
        return {"language": "English", "title": title} if task.with_language else {"title": title}
    if task.kind == "tags":
        return {"tags": _tags(task.history, seen)}
    if task.kind == "follow_ups":
        return {"follow_ups": _follow_ups(seen)}
    if task.kind == "queries":
        return {"queries": []}  # the decision rests on the person's values, not on a web search
    if task.kind == "autocomplete":
        return {"text": ""}
    if task.kind == "image_prompt":
        return {"prompt": ""}
    if task.kind == "emoji":
        return {"emoji": "🤔"}
    return {}


def answer_task(task: ChatTask) -> str:
    """The text to send back: the JSON object, or the bare answer where the task asks for it (an
    emoji; LibreChat's completion title)."""
    payload = task_payload(task)
    if task.kind == "emoji":
        return str(payload["emoji"])
    if not task.as_json and task.kind == "title":
        return str(payload["title"])
    return json.dumps(payload, ensure_ascii=False)
