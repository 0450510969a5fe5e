"""Ask a backbone for JSON, validate it with pydantic, retry a bounded number of times."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from alignment.backbone import Backbone, GenerationRequest
from alignment.errors import InvalidModelOutput
from alignment.models import Message, Usage

__all__ = [
    "ChoiceAnswer",
    "StructuredReply",
    "ask_structured",
    "parse_json_object",
    "unwrap_schema_echo",
    "with_correction",
]

T = TypeVar("T", bound=BaseModel)

# a retry after an invalid answer tells the model what was wrong, at the end of the question, and,
# when the first ask was greedy, samples a little: a greedy model given the same prompt writes the same
# broken answer again. The invalid answer itself is not shown back: the 0.5B model copied it, three
# times over
RETRY_TEMPERATURE = 0.3
CORRECTION = (
    "(An earlier answer to this could not be read: {error}. Answer with only the JSON object, every "
    'string closed with a double quote (a quote inside a string written as \\"), and no text before or '
    "after it.)"
)


def _problem(exc: Exception) -> str:
    """What was wrong with an answer, in one line (pydantic's first line names only the model)."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'the answer'}: {error['msg']}"
            for error in exc.errors()[:3]
        )
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def with_correction(messages: list[Message], error: str) -> list[Message]:
    """``messages`` with CORRECTION, naming ``error``, added to the last user turn (or as one)."""
    note = CORRECTION.format(error=error)
    if messages and messages[-1].role == "user":
        last = messages[-1]
        return [*messages[:-1], last.model_copy(update={"content": f"{last.content}\n\n{note}"})]
    return [*messages, Message(role="user", content=note)]


class ChoiceAnswer(BaseModel):
    """The answer of one decision prompt (see prompts.decision_schema)."""

    reasoning: str
    choice: str


class StructuredReply(BaseModel):
    """Validated answers plus the bookkeeping of the calls that produced them."""

    answers: list[Any]
    usage: Usage
    seconds: float
    attempts: int


def parse_json_object(text: str) -> Any:
    """Parse the JSON object in ``text`` (tolerates a code fence or text around one object)."""
    text = text.strip()
    if text.startswith("```"):
        text = text.strip("`")
        text = text[text.find("{") :] if "{" in text else text
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise ValueError("no JSON object in the answer")
    try:
        return json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        if exc.msg.startswith("Extra data"):
            # a complete object and more after it (a second object, the schema's "required" list, a
            # note), as a small instruct model writes: the first object is the answer
            return json.JSONDecoder().raw_decode(text[start:])[0]
        if not exc.msg.startswith(STRAY_QUOTE_ERRORS):
            raise
        return json.loads(escape_stray_quotes(text[start : end + 1], exc))


# what json reports when a string ended at a quote the writer meant inside it ("he said "go" now")
STRAY_QUOTE_ERRORS = ("Expecting ',' delimiter", "Expecting ':' delimiter")
NEXT_KEY = re.compile(r'"[A-Za-z_][A-Za-z0-9_ ]{0,40}"\s*:')


def escape_stray_quotes(candidate: str, error: json.JSONDecodeError) -> str:
    """``candidate`` with the quotes that ended a string too early escaped, one per parse error: the
    last unescaped quote before where the parser stopped (a small model writes a quotation inside its
    reasoning without the backslash); or, where that quote opens the next key right after a comma, the
    string before it closed (a small model forgets the closing quote). Raises the first error when
    that does not make it parse."""
    first = error
    for _ in range(candidate.count('"')):
        quote = candidate.rfind('"', 0, error.pos)
        while quote > 0 and candidate[quote - 1] == "\\":
            quote = candidate.rfind('"', 0, quote - 1)
        if quote <= 0:
            break
        if candidate[quote - 1] == "," and NEXT_KEY.match(candidate, quote):
            # a string left open before the next key (`...alone,"choice": "A"`): close it there
            candidate = candidate[: quote - 1] + '"' + candidate[quote - 1 :]
        elif candidate[quote + 1 :].lstrip()[:1] in (",", ":", "}", "]", ""):
            break  # that quote ends a key or a value as JSON's own: the error is something else
        else:
            candidate = candidate[:quote] + '\\"' + candidate[quote + 1 :]
        try:
            json.loads(candidate)
            return candidate
        except json.JSONDecodeError as exc:
            if not exc.msg.startswith(STRAY_QUOTE_ERRORS):
                raise first from None
            error = exc
    raise first


def unwrap_schema_echo(data: Any, schema: dict[str, Any]) -> Any:
    """An answer that copies the schema's shape (``{"type": "object", "properties": {...the
    answer...}}``, as small instruct models do when the schema is asked for in words) read as the
    answer it wraps; anything else unchanged."""
    if not isinstance(data, dict) or schema.get("type") != "object":
        return data
    inner = data.get("properties")
    required = schema.get("required", [])
    if (
        data.get("type") == "object"
        and isinstance(inner, dict)
        and required
        and all(key in inner for key in required)
        and not all(key in data for key in required)
    ):
        return inner
    return data


def ask_structured(
    backbone: Backbone,
    messages: list[Message],
    model: type[T],
    schema: dict[str, Any],
    *,
    n: int = 1,
    temperature: float = 0.0,
    seed: int | None = None,
    max_tokens: int = 256,
    retries: int = 2,
    check: Any = None,
) -> StructuredReply:
    """Return ``n`` answers that parse as ``model`` (and pass ``check(answer)`` if given).

    Invalid answers are asked again (with a new seed, the last one's error added to the question, and
    at least RETRY_TEMPERATURE) up to ``retries`` extra rounds; then InvalidModelOutput
    is raised with the last bad answer. Nothing is ever guessed.
    """
    answers: list[T] = []
    usage = Usage()
    seconds = 0.0
    last_error = ""
    attempts = 0
    asked, asked_temperature = messages, temperature
    samples = n if backbone.capabilities.samples else 1
    while len(answers) < n and attempts <= retries:
        want = n - len(answers)
        request_seed = None if seed is None else seed + attempts * 1000
        texts: list[str] = []
        per_call = min(want, samples) if samples > 1 else 1
        calls = want if per_call == 1 else 1
        for k in range(calls):
            req = GenerationRequest(
                messages=asked,
                json_schema=schema,
                n=per_call if calls == 1 else 1,
                temperature=asked_temperature,
                max_tokens=max_tokens,
                seed=None if request_seed is None else request_seed + k,
            )
            result = backbone.execute(req)
            usage = usage + result.usage
            seconds += result.seconds
            texts.extend(result.texts)
        bad: str | None = None
        for text in texts:
            try:
                answer = model.model_validate(unwrap_schema_echo(parse_json_object(text), schema))
                if check is not None:
                    check(answer)
            except (ValueError, ValidationError) as exc:
                problem = _problem(exc)
                last_error = f"{type(exc).__name__}: {problem} in {text[:200]!r}"
                bad = problem
                continue
            answers.append(answer)
        attempts += 1
        if bad is not None:
            asked = with_correction(messages, bad)
            asked_temperature = max(temperature, RETRY_TEMPERATURE)
    if len(answers) < n:
        raise InvalidModelOutput(
            f"backbone {backbone.name!r} gave no valid answer after {attempts} attempts "
            f"({last_error}); try again, use a larger model, or raise the retries"
        )
    return StructuredReply(answers=answers[:n], usage=usage, seconds=seconds, attempts=attempts)
