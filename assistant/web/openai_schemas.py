"""The OpenAI chat API's shapes, as far as ``/v1`` speaks it: one schema per direction.

In: ``ChatCompletionRequest`` (which parameters are honoured, which are accepted as not applicable,
and which are refused: ``assistant.web.openai_params``). Out: ``ChatCompletion``, the streamed
``ChatCompletionChunk``, ``ModelList`` and ``ErrorBody`` (``{"error": {"message", "type", "param",
"code"}}``). Replies carry one field of ours, ``align`` (the conversation, the logged decision and
what kind of answer it is); OpenAI clients ignore it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

__all__ = [
    "AlignInfo",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "ChatMessageIn",
    "ChunkChoice",
    "ChunkDelta",
    "CompletionChoice",
    "CompletionMessage",
    "CompletionUsage",
    "ContentPart",
    "ErrorBody",
    "ErrorDetail",
    "ModelCard",
    "ModelList",
    "StreamOptions",
]


class ContentPart(BaseModel):
    """One part of a message's content (``{"type": "text", "text": ...}``; other types are skipped)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(max_length=50)
    text: str | None = None


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content if p.type == "text" and p.text)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=300)
    messages: list[ChatMessageIn] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None
    response_format: dict[str, Any] | None = None


class CompletionUsage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class AlignInfo(BaseModel):
    """What the answer is in ALIGN assistant's terms (the decision log id, when a decision was made)."""

    conversation_id: int
    decision_id: int | None = None
    kind: str = "decision"


class CompletionMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class CompletionChoice(BaseModel):
    index: int = 0
    message: CompletionMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class _Reply(BaseModel):
    """What a completion, and each chunk of a streamed one, begins with."""

    id: str
    object: str
    created: int
    model: str


class ChatCompletion(_Reply):
    object: Literal["chat.completion"] = "chat.completion"
    choices: list[CompletionChoice]
    usage: CompletionUsage
    align: AlignInfo


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None

    @model_serializer(mode="wrap")
    def _present(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        """Only what the delta says (``{"content": "..."}``), as OpenAI sends it."""
        return {k: v for k, v in handler(self).items() if v is not None}


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta = Field(default_factory=ChunkDelta)
    finish_reason: Literal["stop"] | None = None
    logprobs: None = None


class ChatCompletionChunk(_Reply):
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None
    align: AlignInfo | None = None

    @model_serializer(mode="wrap")
    def _present(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = dict(handler(self))
        for key in ("usage", "align"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


class ModelCard(BaseModel):
    id: str
    name: str = ""  # what a chat app shows (Open WebUI reads it)
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "align-assistant"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail
