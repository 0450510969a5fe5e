"""``response_format`` of ``/v1``: the answer as text, or as a JSON object.

- ``{"type": "text"}`` (or none): the advice as Markdown.
- ``{"type": "json_object"}``: the answer as JSON. A chat app's own task (a title, tags, follow-ups)
  gets the object the task asks for (``alignment.chat_tasks``); any other turn gets ``DecisionAnswer``:

  ``kind`` (decision, why, why_not, more, less, feedback, values, ask, suggest, greeting, help,
  off_topic, ...), ``answer`` (the main text, without the details block), ``chosen`` and
  ``chosen_index`` (the option advised, or null when the turn decided nothing), ``options``,
  ``reasons`` (the plain sentences after the verdict), ``confidence`` (``clear`` or ``close
  call``), ``estimates`` (per option, per value, where the option stands in [0, 1]), ``target``
  (the values it was decided on, each in [0, 1]) and ``decision_id`` (the decision log's entry).
- ``{"type": "json_schema", "json_schema": {"schema": ...}}``: the same object, when every property
  the schema requires is one of its properties (a property the schema does not list is left out);
  another schema is refused with 400, naming the properties there are.

A streamed JSON answer comes as one piece once the turn is done (a progress line would break it).
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from alignment.advice import read_decision
from alignment.chat_tasks import read_task, task_payload
from assistant.decisions.chat import ChatUpdate
from assistant.web.openai_params import UnsupportedParameter

__all__ = ["DecisionAnswer", "JsonFormat", "answer_json", "decision_answer", "read_format"]

_DETAILS = re.compile(r"<details>.*?(?:</details>|\Z)", re.DOTALL)
_VERDICT = re.compile(r"^\s*\*\*[^*\n]+\*\*\s*")


class DecisionAnswer(BaseModel):
    """A turn's answer as JSON (``response_format`` json_object or json_schema)."""

    kind: str
    answer: str
    chosen: str | None = None
    chosen_index: int | None = None
    options: list[str] = Field(default_factory=list)
    reasons: str = ""
    confidence: Literal["clear", "close call"] | None = None
    estimates: dict[str, dict[str, float]] = Field(default_factory=dict)
    target: dict[str, float] = Field(default_factory=dict)
    decision_id: int | None = None


class JsonFormat(BaseModel):
    """What a ``response_format`` asks for: None for text; else the properties to keep (None: all)."""

    keep: list[str] | None = None
    required: list[str] = Field(default_factory=list)


def read_format(response_format: Any) -> JsonFormat | None:
    """The JSON ``response_format`` asks for (None: text); UnsupportedParameter for one it cannot be."""
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return JsonFormat()
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise UnsupportedParameter(
                "response_format",
                "response_format json_schema needs json_schema.schema, a JSON schema object",
            )
        properties = schema.get("properties")
        required = schema.get("required") or []
        if not isinstance(required, list):
            required = []
        return JsonFormat(
            keep=sorted(properties) if isinstance(properties, dict) else None,
            required=[str(r) for r in required],
        )
    raise UnsupportedParameter(
        "response_format", "response_format type must be 'text', 'json_object' or 'json_schema'"
    )


def check_schema(wanted: JsonFormat, message: str) -> None:
    """Refuse a schema this answer cannot fill: its required properties must all be among ours."""
    task = read_task(message)
    have = set(task_payload(task)) if task is not None else set(DecisionAnswer.model_fields)
    missing = [r for r in wanted.required if r not in have]
    if missing:
        raise UnsupportedParameter(
            "response_format",
            f"this assistant cannot fill the schema's {', '.join(repr(m) for m in missing)}: its JSON "
            f"answer has the properties {', '.join(sorted(have))}; ask for those, or for json_object",
        )


def decision_answer(update: ChatUpdate) -> DecisionAnswer:
    """The turn's final update as ``DecisionAnswer``."""
    main = _DETAILS.sub("", update.text).strip()
    decision = update.decision
    if decision is None:
        return DecisionAnswer(kind=update.kind, answer=main, decision_id=update.decision_id)
    reading = read_decision(decision)
    return DecisionAnswer(
        kind=update.kind,
        answer=main,
        chosen=decision.choice,
        chosen_index=decision.choice_index,
        options=[s.choice for s in decision.scores],
        reasons=_VERDICT.sub("", main).strip(),
        confidence="close call" if reading.close else "clear",
        estimates={s.choice: dict(s.attributes) for s in decision.scores if s.attributes},
        target=dict(decision.target),
        decision_id=update.decision_id,
    )


def answer_json(update: ChatUpdate, message: str, wanted: JsonFormat) -> str:
    """The final answer as the JSON text ``wanted`` asks for."""
    task = read_task(message) if update.kind == "task" else None
    data: dict[str, Any] = (
        task_payload(task) if task is not None else decision_answer(update).model_dump(mode="json")
    )
    if wanted.keep is not None:
        data = {k: v for k, v in data.items() if k in wanted.keep}
    return json.dumps(data, ensure_ascii=False)
