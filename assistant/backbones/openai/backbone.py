"""The ``openai`` backbone: any OpenAI-compatible chat server (vLLM first), through the openai SDK.

Configured as a named backbone, for example::

    [backbones.vllm-qwen]
    type = "openai"
    base_url = "http://gpu-box:8000/v1"
    flavour = "vllm"            # or "openai", "llamacpp-server"

Request bodies are built by :mod:`assistant.backbones.openai.requests` (one per flavour) and posted
with the SDK's client (its own retries off: this module retries connection errors, timeouts, 429
and 5xx with exponential backoff, then raises BackboneUnavailable / BackboneError with the
server's message). Answers that are not JSON of the schema are returned as text: the caller
(``alignment.structured.ask_structured``) validates, retries and raises InvalidModelOutput.

Label log-probabilities: labels that the server does not list among its top 20 next tokens get a
floor below the smallest listed log-probability (see ``requests.label_logprobs_from_top``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import openai
from openai.types import Completion
from openai.types.chat import ChatCompletion
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from alignment.backbone import Backbone, Capabilities, GenerationRequest, GenerationResult, check_call
from alignment.errors import BackboneError, BackboneUnavailable, ConfigError
from alignment.models import Usage
from assistant.backbones.openai.requests import (
    Flavour,
    PromptFormat,
    StructuredVia,
    build_chat_body,
    build_completion_body,
    label_logprobs_from_top,
    uses_completions_endpoint,
)

if TYPE_CHECKING:
    import httpx2  # the HTTP library of the openai SDK (tests hand in a MockTransport client)
    from openai.types.chat.chat_completion import Choice as ChatChoice
    from openai.types.completion_choice import CompletionChoice

    from assistant.settings import Settings

__all__ = [
    "CAPABILITIES",
    "OpenAICompatBackbone",
    "OpenAIOptions",
    "create",
    "parse_options",
    "resolve_api_key",
]

T = TypeVar("T")
# one call's answer: its texts, its usage, and the top log-probabilities of its first choice (read
# only for a request that asks for label log-probabilities)
_Answer = tuple[list[str], Usage, Callable[[], list[tuple[str, float]]]]

CAPABILITIES: dict[str, Capabilities] = {
    # vLLM: n samples, per-request seeds, logprobs, a prefill via continue_final_message, batching.
    "vllm": Capabilities(json_schema=True, label_logprobs=True, samples=True, seeded=True, concurrent=True),
    # The OpenAI API: n samples and logprobs, but no prefill (so no label logprobs after one) and
    # seeds are best effort only.
    "openai": Capabilities(
        json_schema=True, label_logprobs=False, samples=True, seeded=False, concurrent=True
    ),
    # llama-cpp-python's server: ignores n, one request at a time, seeded sampling, logprobs.
    "llamacpp-server": Capabilities(
        json_schema=True, label_logprobs=True, samples=False, seeded=True, concurrent=False
    ),
}


class OpenAIOptions(BaseModel):
    """Options of an ``openai`` backbone (its table in the settings, without ``type``)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(description="the server's OpenAI base URL, e.g. http://127.0.0.1:8000/v1")
    model: str | None = Field(default=None, description="default: the first id of GET /v1/models")
    api_key: SecretStr = SecretStr("EMPTY")
    api_key_env: str | None = Field(default=None, description="read the API key from this variable")
    flavour: Flavour = "vllm"
    timeout_s: float = Field(default=120.0, gt=0, le=3600)
    max_retries: int = Field(default=2, ge=0, le=10)
    backoff_s: float = Field(default=0.5, ge=0, le=60)
    max_concurrency: int | None = Field(default=None, ge=1, le=1024, description="default 1 or 8")
    extra_body: dict[str, Any] = Field(default_factory=dict, description="added to every request body")
    fold_system: bool | None = Field(
        default=None,
        description="system text into the first user turn (default: llamacpp-server with gemma)",
    )
    prompt_format: PromptFormat = "gemma"
    structured_output: StructuredVia = "response_format"

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        url = url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an http(s) URL; write it like http://127.0.0.1:8000/v1")
        return url

    @model_validator(mode="after")
    def _check_combination(self) -> OpenAIOptions:
        if self.structured_output == "structured_outputs" and self.flavour != "vllm":
            raise ValueError("structured_output 'structured_outputs' is a vLLM field; use flavour 'vllm'")
        return self

    def concurrency(self) -> int:
        if self.max_concurrency is not None:
            return self.max_concurrency
        return 8 if CAPABILITIES[self.flavour].concurrent else 1

    def folds_system(self) -> bool:
        if self.fold_system is not None:
            return self.fold_system
        # Gemma's template has no system role; ChatML (Qwen and most instruct models) keeps it
        return self.flavour == "llamacpp-server" and self.prompt_format == "gemma"


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        text = str(message if message else body)
    else:
        text = exc.response.text or exc.message
    text = " ".join(text.split())
    return text[:400] + ("..." if len(text) > 400 else "")


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    return isinstance(exc, openai.APIStatusError) and (exc.status_code >= 500 or exc.status_code == 429)


class OpenAICompatBackbone(Backbone):
    """One OpenAI-compatible server. Thread-safe; at most ``max_concurrency`` requests at once."""

    def __init__(
        self, name: str, options: OpenAIOptions, api_key: str, http_client: httpx2.Client | None = None
    ) -> None:
        self.name = name
        self.options = options
        self.capabilities = CAPABILITIES[options.flavour]
        self._client = openai.OpenAI(
            base_url=options.base_url,
            api_key=api_key,
            timeout=options.timeout_s,
            max_retries=0,  # retried here, with our backoff and error messages
            http_client=http_client,
        )
        self._slots = threading.BoundedSemaphore(options.concurrency())
        self._model: str | None = options.model
        self._model_lock = threading.Lock()
        self.sleep: Callable[[float], None] = time.sleep

    # -- transport ---------------------------------------------------------------------------

    def _call(self, what: str, send: Callable[[], T]) -> T:
        """``send()`` with retries and backoff; failures become BackboneUnavailable / BackboneError."""
        opts = self.options
        attempts = opts.max_retries + 1
        for attempt in range(attempts):
            try:
                with self._slots:
                    check_call()  # its asker may have gone away while the call waited for a slot
                    return send()
            except openai.APIError as exc:
                if _retryable(exc) and attempt + 1 < attempts:
                    self.sleep(opts.backoff_s * (2**attempt))
                    continue
                raise self._translate(exc, what, attempt + 1) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _translate(self, exc: openai.APIError, what: str, attempts: int) -> BackboneError:
        where = f"backbone {self.name!r} at {self.options.base_url}"
        tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
        if isinstance(exc, openai.APITimeoutError):
            return BackboneUnavailable(
                f"{where} did not answer {what} within timeout_s={self.options.timeout_s:g} s "
                f"({tries}); the server is overloaded or stuck: check it, raise timeout_s, or lower "
                "max_tokens"
            )
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            return BackboneUnavailable(
                f"cannot reach {where} ({tries}): {type(cause).__name__}: {cause}; "
                "start the server or fix base_url"
            )
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            hint = {
                401: "set api_key or api_key_env",
                403: "set api_key or api_key_env",
                404: f"check that base_url ends with /v1 and that model {self._model!r} is served",
            }.get(status, "check the backbone's options (flavour, model, extra_body)")
            return BackboneError(
                f"{where} refused {what} with HTTP {status} ({tries}): {_server_message(exc)}; {hint}"
            )
        return BackboneError(f"{where} gave an unreadable answer to {what}: {exc}; check the server")

    def model_name(self) -> str:
        """The configured model, else the first id that GET /v1/models lists (looked up once)."""
        with self._model_lock:
            if self._model is None:
                page = self._call("GET /models", self._client.models.list)
                ids = [m.id for m in page.data]
                if not ids:
                    raise BackboneError(
                        f"backbone {self.name!r} at {self.options.base_url} serves no models; "
                        "set the backbone's model option"
                    )
                self._model = ids[0]
            return self._model

    def _post(self, path: str, body: dict[str, Any], cast_to: type[T]) -> T:
        def send() -> T:
            return self._client.post(path, body=body, cast_to=cast_to)

        try:
            result = self._call(f"POST {path}", send)
        except ValueError as exc:  # the body is not JSON
            raise self._unreadable(path, exc) from exc
        if not isinstance(result, cast_to):
            raise self._unreadable(path, TypeError(f"got {str(result)[:80]!r}"))
        return result

    def _unreadable(self, path: str, exc: Exception) -> BackboneError:
        return BackboneError(
            f"backbone {self.name!r} at {self.options.base_url} answered POST {path} with something "
            f"that is not an OpenAI response ({type(exc).__name__}: {str(exc)[:200]}); check base_url "
            "and flavour"
        )

    # -- requests ----------------------------------------------------------------------------

    def execute(self, request: GenerationRequest) -> GenerationResult:
        start = time.perf_counter()
        completions = uses_completions_endpoint(self.options.flavour, request)
        try:
            result = self._execute(request, completions)
        except (AttributeError, TypeError, KeyError, IndexError) as exc:  # fields of the wrong shape
            path = "/completions" if completions else "/chat/completions"
            raise self._unreadable(path, exc) from exc
        result.seconds = time.perf_counter() - start
        return result

    def _calls(self, request: GenerationRequest) -> list[tuple[int, int | None]]:
        """(samples per call, seed) of each call: one call with n, or n calls with seed, seed+1, ..."""
        if request.label_logprobs is not None or request.n == 1:
            return [(1, request.seed)]
        if self.capabilities.samples:
            return [(request.n, request.seed)]
        return [(1, None if request.seed is None else request.seed + k) for k in range(request.n)]

    def _execute(self, request: GenerationRequest, completions: bool) -> GenerationResult:
        """The calls of ``_calls`` to /completions or /chat/completions: their texts, or the label
        log-probabilities of the first, with the usage of them all."""
        model = self.model_name()
        call = self._completion if completions else self._chat
        texts: list[str] = []
        usage = Usage()
        for n, seed in self._calls(request):
            said, used, top = call(request.model_copy(update={"seed": seed}), model, n)
            usage = usage + used
            if request.label_logprobs is not None:
                return GenerationResult(
                    label_logprobs=label_logprobs_from_top(top(), request.label_logprobs), usage=usage
                )
            texts.extend(said)
        return GenerationResult(texts=texts, usage=usage)

    def _chat(self, request: GenerationRequest, model: str, n: int) -> _Answer:
        body = build_chat_body(
            request,
            model=model,
            flavour=self.options.flavour,
            fold=self.options.folds_system(),
            n=n,
            structured_via=self.options.structured_output,
            extra_body=self.options.extra_body,
        )
        answer = self._post("/chat/completions", body, ChatCompletion)
        choices = sorted(answer.choices or [], key=lambda c: c.index)
        if not choices:
            raise self._no_choices()
        texts = [c.message.content or "" for c in choices]
        return texts, _usage(answer.usage), partial(_chat_top_logprobs, choices[0])

    def _completion(self, request: GenerationRequest, model: str, _n: int) -> _Answer:
        body = build_completion_body(
            request,
            model=model,
            prompt_format=self.options.prompt_format,
            extra_body=self.options.extra_body,
            fold=self.options.folds_system(),
        )
        answer = self._post("/completions", body, Completion)
        if not answer.choices:
            raise self._no_choices()
        first = answer.choices[0]
        return [first.text or ""], _usage(answer.usage), partial(_completion_top_logprobs, first)

    def _no_choices(self) -> BackboneError:
        return BackboneError(f"backbone {self.name!r} answered without choices; check the server's logs")

    def close(self) -> None:
        self._client.close()


def _usage(raw: object) -> Usage:
    if raw is None:
        return Usage(calls=1)
    return Usage(
        prompt_tokens=int(getattr(raw, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(raw, "completion_tokens", 0) or 0),
        calls=1,
    )


def _completion_top_logprobs(choice: CompletionChoice) -> list[tuple[str, float]]:
    logprobs = choice.logprobs
    tops = (logprobs.top_logprobs if logprobs else None) or []
    return list((tops[0] or {}).items()) if tops else []


def _chat_top_logprobs(choice: ChatChoice) -> list[tuple[str, float]]:
    content = getattr(choice.logprobs, "content", None) if choice.logprobs else None
    if not content:
        return []
    return [(t.token, t.logprob) for t in content[0].top_logprobs or []]


def resolve_api_key(name: str, options: OpenAIOptions) -> str:
    """The key the backbone sends: api_key_env's variable (which must be set), else api_key."""
    if options.api_key_env is None:
        return options.api_key.get_secret_value()
    value = os.environ.get(options.api_key_env)
    if not value:
        raise ConfigError(
            f"backbone {name!r}: the environment variable {options.api_key_env} (api_key_env) is "
            "not set; export it or remove api_key_env"
        )
    return value


def parse_options(name: str, options: dict[str, Any]) -> OpenAIOptions:
    """The backbone's options checked; a ConfigError names each problem."""
    try:
        return OpenAIOptions.model_validate(options)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(options)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"backbone {name!r} (type openai): {problems}") from None


def create(name: str, options: dict[str, Any], settings: Settings | None = None) -> OpenAICompatBackbone:
    """Factory of the ``openai`` backbone type. Nothing is contacted until the first request."""
    parsed = parse_options(name, options)
    return OpenAICompatBackbone(name, parsed, resolve_api_key(name, parsed))
