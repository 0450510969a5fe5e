"""Request bodies for OpenAI-compatible servers, and reading label log-probabilities from answers.

Pure functions of plain data (no I/O), so each flavour's request can be checked without a server.

Flavours:
- ``vllm``: ``response_format`` json_schema (strict), ``n`` samples, ``max_tokens``; a prefill is
  sent as a final assistant message that vLLM continues (see vllm_options).
- ``openai``: the OpenAI API itself (or any server that follows it exactly): json_schema,
  ``max_completion_tokens``; it cannot continue an assistant prefill.
- ``llamacpp-server``: llama-cpp-python's server. It rejects json_schema (HTTP 500) and takes
  ``{"type": "json_object", "schema": ...}`` (a grammar over the whole vocabulary: with Qwen's 152k
  tokens about 4 s a token on 2 busy cores, so ``structured_output = "prompt"`` asks for the schema in
  words instead and the caller validates); it ignores ``n`` and ``max_completion_tokens``. A
  prefill (and label log-probabilities) go to ``/v1/completions`` with the prompt rendered by the
  same chat template as the server's (``prompt_format``: "gemma", or "chatml" for Qwen and other
  ChatML models, whose template keeps system messages).
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from alignment.backbone import GenerationRequest
from alignment.errors import BackboneError, NotImplementedFeature
from alignment.models import Message
from assistant.backbones.messages import fold_system
from assistant.backbones.openai import vllm_options

__all__ = [
    "MAX_TOP_LOGPROBS",
    "MISSING_LABEL_MARGIN",
    "Flavour",
    "PromptFormat",
    "build_chat_body",
    "build_completion_body",
    "chat_messages",
    "label_logprobs_from_top",
    "render_prompt",
    "response_format",
    "uses_completions_endpoint",
]

Flavour = Literal["vllm", "openai", "llamacpp-server"]
PromptFormat = Literal["gemma", "chatml"]
StructuredVia = Literal["response_format", "structured_outputs", "prompt"]

MAX_TOP_LOGPROBS = 20  # the OpenAI API's limit and vLLM's default --max-logprobs
# A label that is not among the top log-probabilities gets (smallest listed logprob - margin):
# its true probability is at most that of the least likely listed token, so the floor ranks it
# below every listed token. It is a bound, not an estimate: it only orders, never invents a pick.
MISSING_LABEL_MARGIN = math.log(2.0)
SCHEMA_NAME = "decision"
GEMMA_END_OF_TURN = "<end_of_turn>"
CHATML_END_OF_TURN = "<|im_end|>"
# what the Qwen2.5 template says when a conversation has no system message
QWEN_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
END_OF_TURN: dict[str, str] = {"gemma": GEMMA_END_OF_TURN, "chatml": CHATML_END_OF_TURN}


def chat_messages(messages: list[Message], *, fold: bool) -> list[dict[str, str]]:
    chosen = fold_system(messages) if fold else messages
    return [{"role": m.role, "content": m.content} for m in chosen]


def render_prompt(
    messages: list[Message], prompt_format: PromptFormat, prefill: str = "", *, fold: bool = True
) -> str:
    """The text prompt the server's chat template would build, with the answer started by ``prefill``.

    "gemma" is llama-cpp-python's ``format_gemma``: system text folded into the first user turn
    (Gemma has no system role), ``<start_of_turn>user|model`` turns, then an open model turn.
    "chatml" is the ChatML template of Qwen2.5's GGUF files (``<|im_start|>role ... <|im_end|>``):
    system messages stay system turns unless ``fold``; with none, Qwen's template adds its own
    default system turn, which is added here too so the two endpoints see the same prompt.
    """
    if prompt_format == "gemma":
        roles = {"user": "user", "assistant": "model"}
        parts = [
            f"<start_of_turn>{roles[m.role]}\n{m.content}{GEMMA_END_OF_TURN}\n" for m in fold_system(messages)
        ]
        return "".join(parts) + "<start_of_turn>model\n" + prefill
    if prompt_format == "chatml":
        chosen = fold_system(messages) if fold else list(messages)
        if not chosen or chosen[0].role != "system":
            chosen = [Message(role="system", content=QWEN_DEFAULT_SYSTEM), *chosen]
        parts = [f"<|im_start|>{m.role}\n{m.content}{CHATML_END_OF_TURN}\n" for m in chosen]
        return "".join(parts) + "<|im_start|>assistant\n" + prefill
    raise NotImplementedFeature(  # pragma: no cover - Literal guards it; kept for plugins
        f"prompt_format {prompt_format!r} is not built; use 'gemma' or 'chatml'"
    )


def response_format(flavour: Flavour, schema: dict[str, Any]) -> dict[str, Any]:
    """The ``response_format`` that makes this flavour of server constrain output to ``schema``."""
    if flavour == "llamacpp-server":
        return {"type": "json_object", "schema": schema}
    return {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "schema": schema, "strict": True},
    }


def schema_instruction(schema: dict[str, Any]) -> str:
    """What ``structured_via = "prompt"`` adds to the last user turn in place of a constraint."""
    return (
        "\n\nAnswer with one JSON object and nothing else (no code fence, no text around it): the "
        "answer itself, not a schema. It must be valid under this JSON schema:\n"
        f"{json.dumps(schema, separators=(',', ':'))}"
    )


def with_schema_instruction(messages: list[dict[str, str]], schema: dict[str, Any]) -> list[dict[str, str]]:
    out = [dict(m) for m in messages]
    last_user = max((i for i, m in enumerate(out) if m["role"] == "user"), default=None)
    if last_user is None:
        out.append({"role": "user", "content": schema_instruction(schema).strip()})
    else:
        out[last_user]["content"] += schema_instruction(schema)
    return out


def uses_completions_endpoint(flavour: Flavour, request: GenerationRequest) -> bool:
    """llama-cpp-python's server cannot continue an assistant turn: prefills go to /v1/completions."""
    return flavour == "llamacpp-server" and (bool(request.prefill) or request.label_logprobs is not None)


def _token_limit(flavour: Flavour, max_tokens: int) -> dict[str, int]:
    # llama-cpp-python's server ignores max_completion_tokens; vLLM takes both; OpenAI wants the new name.
    return {"max_completion_tokens": max_tokens} if flavour == "openai" else {"max_tokens": max_tokens}


def build_chat_body(
    request: GenerationRequest,
    *,
    model: str,
    flavour: Flavour,
    fold: bool,
    n: int = 1,
    structured_via: StructuredVia = "response_format",
    extra_body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body of one POST /chat/completions. ``n`` is the samples asked in this one call."""
    messages = chat_messages(request.messages, fold=fold)
    body: dict[str, Any] = {"model": model, "messages": messages, "temperature": request.temperature}
    if request.prefill:
        if flavour != "vllm":
            raise NotImplementedFeature(
                f"flavour {flavour!r} cannot continue an assistant prefill over the chat API; "
                "use flavour 'vllm' (or 'llamacpp-server', which uses /v1/completions)"
            )
        messages.append({"role": "assistant", "content": request.prefill})
        body.update(vllm_options.continue_final_message_v0_12())
    if request.label_logprobs is not None:
        body.update(_token_limit(flavour, 1))
        body.update(logprobs=True, top_logprobs=MAX_TOP_LOGPROBS, temperature=0.0)
    else:
        body.update(_token_limit(flavour, request.max_tokens))
        if n > 1:
            body["n"] = n
        if request.stop:
            body["stop"] = list(request.stop)
        if request.json_schema is not None:
            if structured_via == "structured_outputs":
                body.update(vllm_options.structured_outputs_json_v0_12(request.json_schema))
            elif structured_via == "prompt":
                # no constraint: the schema is asked for in words and the answer validated (and asked
                # again) by the caller; for servers whose constrained decoding is too slow
                body["messages"] = with_schema_instruction(messages, request.json_schema)
            else:
                body["response_format"] = response_format(flavour, request.json_schema)
    if request.seed is not None:
        body["seed"] = request.seed
    body.update(extra_body or {})
    return body


def build_completion_body(
    request: GenerationRequest,
    *,
    model: str,
    prompt_format: PromptFormat,
    extra_body: dict[str, Any] | None = None,
    fold: bool = True,
) -> dict[str, Any]:
    """The JSON body of one POST /completions (llama-cpp-python's server: prefill, label logprobs)."""
    if request.json_schema is not None:
        raise NotImplementedFeature(
            "a JSON schema together with a prefill is not built for flavour 'llamacpp-server'; "
            "drop the prefill or use flavour 'vllm'"
        )
    body: dict[str, Any] = {
        "model": model,
        "prompt": render_prompt(request.messages, prompt_format, request.prefill, fold=fold),
        "temperature": request.temperature,
    }
    if request.label_logprobs is not None:
        body.update(max_tokens=1, logprobs=MAX_TOP_LOGPROBS, temperature=0.0)
    else:
        body["max_tokens"] = request.max_tokens
        body["stop"] = [*request.stop, END_OF_TURN[prompt_format]]
    if request.seed is not None:
        body["seed"] = request.seed
    body.update(extra_body or {})
    return body


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def label_logprobs_from_top(top: list[tuple[str, float]], labels: list[str]) -> dict[str, float]:
    """Log-probability of each label as the next token, from the server's top log-probabilities.

    Tokens that are a label up to surrounding whitespace ("A", " A") are summed (log-sum-exp), as
    they are the same answer. A label absent from ``top`` gets the floor
    ``min(listed logprobs) - MISSING_LABEL_MARGIN`` (a bound below every listed token, never a
    guess). If no label is listed at all, the answer says nothing about the labels: BackboneError.
    """
    finite = [(tok, lp) for tok, lp in top if lp is not None and math.isfinite(lp)]
    if not finite:
        raise BackboneError("the server returned no top log-probabilities for the next token")
    found: dict[str, list[float]] = {}
    for token, logprob in finite:
        key = token.strip()
        if key in labels:
            found.setdefault(key, []).append(logprob)
    if not found:
        shown = ", ".join(repr(t) for t, _ in finite[:8])
        raise BackboneError(
            f"none of the labels {labels} is among the {len(finite)} most likely next tokens "
            f"({shown}, ...); the prompt does not lead the model to a label: check the prefill "
            "and the chat template (prompt_format)"
        )
    floor = min(lp for _, lp in finite) - MISSING_LABEL_MARGIN
    return {label: _logsumexp(found[label]) if label in found else floor for label in labels}
