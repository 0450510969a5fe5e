"""The few vLLM-specific request fields, in one place, named with the vLLM version they were written for.

Everything else the ``openai`` backbone sends is the plain OpenAI chat API. These fields go into the
request body next to the standard ones (the openai SDK calls that ``extra_body``). Other
OpenAI-compatible servers ignore unknown fields (llama-cpp-python's server does), so sending them
there is harmless but has no effect.

Written for vLLM 0.12 (the release that removed the old ``guided_*`` fields in favour of
``structured_outputs``); ``continue_final_message`` / ``add_generation_prompt`` exist since 0.6.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "SERVE_FLAGS_V0_12",
    "VLLM_VERSION",
    "continue_final_message_v0_12",
    "structured_outputs_choice_v0_12",
    "structured_outputs_json_v0_12",
]

VLLM_VERSION = "0.12"

# The ``vllm serve`` flags this request path relies on; deploy/docker-compose.yml passes them (a test
# checks): the model name the app asks for, the context length, and structured outputs with a pinned
# grammar backend (``--structured-outputs-config '{"backend": "xgrammar"}'``, which replaced
# ``--guided-decoding-backend``). Structured outputs are on by default; the flag pins the backend.
SERVE_FLAGS_V0_12 = ("--served-model-name", "--max-model-len", "--structured-outputs-config")


def continue_final_message_v0_12() -> dict[str, Any]:
    """Continue the last (assistant) message instead of opening a new assistant turn.

    This is how a prefill is honoured: the chat template renders the final assistant message
    without its end-of-turn marker and the model continues it.
    """
    return {"continue_final_message": True, "add_generation_prompt": False}


def structured_outputs_json_v0_12(schema: dict[str, Any]) -> dict[str, Any]:
    """Constrain the output to a JSON schema through vLLM's own field (instead of response_format).

    Needed where ``response_format`` is not taken, e.g. on the ``/v1/completions`` endpoint of
    older releases or with a model whose chat template vLLM cannot combine with response_format.
    """
    return {"structured_outputs": {"json": schema}}


def structured_outputs_choice_v0_12(choices: list[str]) -> dict[str, Any]:
    """Constrain the output to exactly one of ``choices``."""
    return {"structured_outputs": {"choice": list(choices)}}
