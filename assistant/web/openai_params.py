"""Which parameters of OpenAI's chat request ``/v1`` honours, accepts as not applicable, or refuses.

Every parameter a request sends is one of these; any other is refused with 400 (``unsupported
parameter``), never silently ignored.

Honoured:

- ``model``, ``messages``, ``stream``, ``stream_options.include_usage``;
- ``seed``: the decision's seed;
- ``n``: 1 (the default); more than one answer is refused: the assistant gives one decision;
- ``response_format``: ``text``; ``json_object`` and ``json_schema`` get the answer as JSON
  (``assistant.web.openai_formats``); a schema asking for other properties is refused;
- ``tools`` / ``functions`` with ``tool_choice`` / ``function_call`` ``auto`` or ``none`` (or
  unset): the assistant answers in words and calls none of them, which ``auto`` allows (Open WebUI
  sends its built-in tools with every chat request). A choice that forces a call (``required``, a
  named function) is refused, as is ``parallel_tool_calls`` with it;
- ``logprobs``: ``false``; log-probabilities of the answer's tokens are refused (the answer is not
  sampled token by token), as is ``top_logprobs`` above 0.

Accepted, and not applicable (the answer is advice built from the decision, not text sampled from a
language model; chat apps send these by default): ``temperature``, ``top_p``, ``top_k``, ``min_p``,
``frequency_penalty``, ``presence_penalty``, ``repetition_penalty``, ``logit_bias``, ``max_tokens``,
``max_completion_tokens`` (the answer is short: at most 120 words before its details), ``stop``,
``user``, ``metadata``, ``store``, ``service_tier``, ``reasoning_effort``, ``modalities`` of text
only, ``parallel_tool_calls`` without a forced call.
"""

from __future__ import annotations

from typing import Any

__all__ = ["HONOURED", "NOT_APPLICABLE", "UnsupportedParameter", "check_parameters"]

HONOURED = frozenset(
    (
        "model",
        "messages",
        "stream",
        "stream_options",
        "seed",
        "n",
        "response_format",
        "tools",
        "tool_choice",
        "functions",
        "function_call",
        "logprobs",
        "top_logprobs",
    )
)
NOT_APPLICABLE = frozenset(
    (
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "frequency_penalty",
        "presence_penalty",
        "repetition_penalty",
        "logit_bias",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "user",
        "metadata",
        "store",
        "service_tier",
        "reasoning_effort",
        "modalities",
        "parallel_tool_calls",
    )
)
_FREE_CHOICES = (None, "auto", "none")


class UnsupportedParameter(Exception):
    """A parameter this server cannot honour: ``param`` names it, the message says what to send."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


def check_parameters(payload: dict[str, Any]) -> None:
    """Refuse (``UnsupportedParameter``) the first parameter of ``payload`` that cannot be honoured."""
    for name in payload:
        if name not in HONOURED and name not in NOT_APPLICABLE:
            raise UnsupportedParameter(
                name,
                f"this server does not support the parameter {name!r}; leave it out (it accepts "
                "the OpenAI chat parameters model, messages, stream, seed, response_format and the "
                "sampling settings)",
            )
    n = payload.get("n")
    if n is not None and n != 1:
        raise UnsupportedParameter(
            "n", "this assistant gives one answer per request: send n = 1 or leave n out"
        )
    for choice_name, tools_name in (("tool_choice", "tools"), ("function_call", "functions")):
        choice = payload.get(choice_name)
        if choice not in _FREE_CHOICES:
            raise UnsupportedParameter(
                choice_name,
                f"this assistant answers in words and never calls a tool: {choice_name} may be "
                f"'auto' or 'none' (the {tools_name} offered are then not called), not a forced call",
            )
    if payload.get("logprobs") not in (None, False):
        raise UnsupportedParameter(
            "logprobs",
            "this assistant's answer is built from its decision, not sampled token by token, so it "
            "has no log-probabilities: leave logprobs out or send false",
        )
    if payload.get("top_logprobs") not in (None, 0):
        raise UnsupportedParameter(
            "top_logprobs", "top_logprobs needs log-probabilities, which this assistant has none of"
        )
    modalities = payload.get("modalities")
    if modalities is not None and (not isinstance(modalities, list) or set(modalities) - {"text"}):
        raise UnsupportedParameter("modalities", "this assistant answers in text only: send ['text']")
