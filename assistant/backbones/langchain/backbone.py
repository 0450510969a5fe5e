"""The ``langchain`` backbone: any LangChain chat model (``BaseChatModel``) as a backbone.

Configured as a named backbone, for example::

    [backbones.claude]
    type = "langchain"
    class = "langchain_anthropic:ChatAnthropic"
    options = { model = "claude-sonnet-4-5", max_retries = 2 }
    options_env = { api_key = "ANTHROPIC_API_KEY" }   # an option read from the environment

- ``class``: ``module:ChatClass``; the provider's package must be installed (``pip install
  langchain-anthropic``; ``langchain-openai`` comes with the ``langchain`` extra). A missing package
  is a ConfigError that names what to install.
- ``options``: the class's keyword arguments; ``options_env``: options whose values are read from
  environment variables (keys, never written in a file).
- ``per_request``: which of the model's settings each request sets, as ``request field = "model
  field"`` for ``temperature``, ``max_tokens``, ``seed`` and ``json_schema``. A dotted name goes
  into a dict field: ``max_tokens = "extra_body.max_tokens"`` for servers that ignore the OpenAI
  API's newer ``max_completion_tokens``; ``json_schema = "format"`` for ``ChatOllama``. Default:
  temperature, max_tokens and seed onto the model fields of the same names, when the class has them.
- ``structured_output``: ``json_schema`` uses the model's own ``with_structured_output(schema,
  method="json_schema")`` (the provider constrains the answer); ``prompt`` puts the schema in the
  prompt (and, when ``per_request`` maps ``json_schema``, in that setting too, for providers that
  constrain output by a schema setting of their own); ``auto`` (the default): that setting when it
  is mapped, else json_schema when the class offers it, moving to the prompt for good when the
  provider refuses json_schema but answers the prompt. Either way the caller
  (``alignment.structured.ask_structured``) validates the JSON with pydantic and asks again.
- ``fold_system``: system text into the first user turn (chat templates without a system role).

Capabilities are what LangChain gives for every provider: one answer per call (no ``n``), no
label log-probabilities (an algorithm that needs them, ``likelihood``, says so and names others),
no prefill; seeded only when ``seed`` is a per-request setting; concurrent only when configured.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import threading
import time
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alignment.backbone import Backbone, Capabilities, GenerationRequest, GenerationResult
from alignment.errors import BackboneError, BackboneUnavailable, ConfigError, NotImplementedFeature
from alignment.models import Message, Usage
from assistant.backbones.messages import fold_system

if TYPE_CHECKING:  # LangChain is imported when a langchain backbone is built
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

    from assistant.settings import Settings

__all__ = ["LangChainBackbone", "LangChainOptions", "create", "load_chat_class", "schema_prompt"]

_LOG = logging.getLogger("align.backbones")
T = TypeVar("T")
REQUEST_FIELDS = ("temperature", "max_tokens", "seed", "json_schema")
_DEFAULT_FIELDS = ("temperature", "max_tokens", "seed")
EXTRA_INSTALL = "pip install 'align-assistant[langchain]'"


class LangChainOptions(BaseModel):
    """Options of a ``langchain`` backbone (its table in the settings, without ``type``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    class_path: str = Field(alias="class", description='the chat model class, "module:ChatClass"')
    options: dict[str, Any] = Field(default_factory=dict, description="the class's keyword arguments")
    options_env: dict[str, str] = Field(
        default_factory=dict, description="options read from environment variables: option = VARIABLE"
    )
    per_request: dict[str, str] | None = Field(
        default=None, description="request field (temperature, max_tokens, seed) = model field"
    )
    structured_output: Literal["auto", "json_schema", "prompt"] = "auto"
    fold_system: bool = False
    concurrent: bool = False
    max_concurrency: int | None = Field(
        default=None, ge=1, le=1024, description="default 1, or 4 if concurrent"
    )

    @field_validator("class_path")
    @classmethod
    def _check_class(cls, value: str) -> str:
        module, colon, name = value.strip().partition(":")
        if not colon or not module or not name:
            raise ValueError(
                f"{value!r} is not 'module:ChatClass'; write it like 'langchain_openai:ChatOpenAI'"
            )
        return f"{module}:{name}"

    @field_validator("per_request")
    @classmethod
    def _check_per_request(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for key in value or {}:
            if key not in REQUEST_FIELDS:
                raise ValueError(f"per_request sets {', '.join(REQUEST_FIELDS)}; not {key!r}")
        return value

    def concurrency(self) -> int:
        if self.max_concurrency is not None:
            return self.max_concurrency
        return 4 if self.concurrent else 1


def _package_hint(module: str) -> str:
    top = module.split(".")[0]
    if top in ("langchain_core", "langchain_openai"):
        return EXTRA_INSTALL
    return f"pip install {top.replace('_', '-')}"


def load_chat_class(name: str, class_path: str) -> type[BaseChatModel]:
    """The chat model class, or a ConfigError that says what to install or fix."""
    try:
        from langchain_core.language_models import BaseChatModel
    except ImportError:
        raise ConfigError(
            f"backbone {name!r} (type langchain) needs LangChain, which is not installed; {EXTRA_INSTALL}"
        ) from None
    module_name, _, attr = class_path.partition(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        raise ConfigError(
            f"backbone {name!r} (type langchain): the package of {class_path!r} is not installed "
            f"(no module {missing!r}); install it: {_package_hint(missing)}"
        ) from None
    found = getattr(module, attr, None)
    if not (inspect.isclass(found) and issubclass(found, BaseChatModel)):
        what = "not found" if found is None else "not a LangChain chat model (BaseChatModel)"
        raise ConfigError(f"backbone {name!r} (type langchain): {class_path!r} is {what}; check class")
    return found


def _fields(chat_class: type[BaseChatModel]) -> set[str]:
    fields = getattr(chat_class, "model_fields", {})
    names = set(fields)
    names.update(f.alias for f in fields.values() if getattr(f, "alias", None))
    return names


def _offers_json_schema(chat_class: type[BaseChatModel]) -> bool:
    """Whether the class's own ``with_structured_output`` takes ``method="json_schema"``."""
    try:
        parameter = inspect.signature(chat_class.with_structured_output).parameters.get("method")
    except (TypeError, ValueError):
        return False
    return parameter is not None and "json_schema" in str(parameter.annotation)


def schema_prompt(schema: dict[str, Any]) -> str:
    """What the prompt says when the provider cannot constrain the answer to a schema."""
    return (
        "Answer with one JSON object and nothing else (no text before or after it). It must fit this "
        "JSON schema:\n" + json.dumps(schema, ensure_ascii=False)
    )


def _with_title(schema: dict[str, Any]) -> dict[str, Any]:
    """LangChain names a structured output by the schema's ``title``."""
    return schema if "title" in schema else {"title": "answer", **schema}


def _text(content: object) -> str:
    """A message's text (a provider may answer with a list of content blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            b if isinstance(b, str) else str(b.get("text", "")) if isinstance(b, dict) else ""
            for b in content
        )
    return str(content or "")


def _usage(message: object) -> Usage:
    meta = getattr(message, "usage_metadata", None) or {}
    return Usage(
        prompt_tokens=int(meta.get("input_tokens", 0) or 0),
        completion_tokens=int(meta.get("output_tokens", 0) or 0),
        calls=1,
    )


def _unavailable(exc: Exception) -> bool:
    """A provider that cannot be reached (LangChain's own error classes, or the transport's)."""
    try:
        from langchain_core import exceptions as lc
    except ImportError:  # pragma: no cover - LangChain is loaded by then
        lc = None  # type: ignore[assignment]
    kinds: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for name in ("ModelConnectionError", "ModelTimeoutError"):
        kind = getattr(lc, name, None)
        if isinstance(kind, type):
            kinds.append(kind)
    if isinstance(exc, tuple(kinds)):
        return True
    return any(n in k.__name__ for k in type(exc).__mro__ for n in ("ConnectionError", "Timeout"))


class LangChainBackbone(Backbone):
    """One LangChain chat model. At most ``max_concurrency`` requests at once."""

    def __init__(
        self, name: str, options: LangChainOptions, model: BaseChatModel, per_request: dict[str, str]
    ) -> None:
        self.name = name
        self.options = options
        self.model = model
        self.per_request = per_request
        self._structured: str = options.structured_output
        if self._structured == "auto":
            if "json_schema" in per_request:
                self._structured = "setting"
            elif not _offers_json_schema(type(model)):
                self._structured = "prompt"
        self.capabilities = self._capabilities()
        self._slots = threading.BoundedSemaphore(options.concurrency())

    def _capabilities(self) -> Capabilities:
        return Capabilities(
            json_schema=self._structured != "prompt" or "json_schema" in self.per_request,  # constrained
            label_logprobs=False,
            samples=False,
            seeded="seed" in self.per_request,
            concurrent=self.options.concurrent,
        )

    @property
    def structured_via(self) -> str:
        """How structured output is asked for now: ``json_schema`` (the class's own), ``setting`` (the
        ``per_request`` json_schema setting, and the prompt), ``prompt``, or ``auto`` (not yet tried)."""
        return self._structured

    # -- one call -------------------------------------------------------------------------

    def _configured(self, request: GenerationRequest, seed: int | None) -> BaseChatModel:
        """The model with this request's settings (a shallow copy: the client is shared)."""
        values = {
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "seed": seed,
            "json_schema": request.json_schema,
        }
        update: dict[str, Any] = {}
        for field, target in self.per_request.items():
            value = values[field]
            if value is None:
                continue
            head, *path = target.split(".")
            if not path:
                update[head] = value
                continue
            top = copy.deepcopy(update.get(head, getattr(self.model, head, None)) or {})
            inner = top
            for key in path[:-1]:
                inner = inner.setdefault(key, {})
            inner[path[-1]] = value
            update[head] = top
        return self.model.model_copy(update=update) if update else self.model

    def _messages(self, messages: list[Message], extra_system: str = "") -> list[BaseMessage]:
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        if extra_system:  # after the first system text, or as the system text
            first = next((i for i, m in enumerate(messages) if m.role == "system"), None)
            if first is None:
                messages = [Message(role="system", content=extra_system), *messages]
            else:
                joined = f"{messages[first].content}\n\n{extra_system}"
                messages = [*messages[:first], Message(role="system", content=joined), *messages[first + 1 :]]
        if self.options.fold_system:
            messages = fold_system(messages)
        kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
        return [kinds[m.role](content=m.content) for m in messages]

    def _call(self, what: str, send: Callable[[], T]) -> T:
        try:
            with self._slots:
                return send()
        except (BackboneError, NotImplementedFeature):
            raise
        except Exception as exc:
            raise self._translate(exc, what) from exc

    def _translate(self, exc: Exception, what: str) -> BackboneError:
        detail = " ".join(str(exc).split())[:400] or type(exc).__name__
        where = f"backbone {self.name!r} ({self.options.class_path})"
        if _unavailable(exc):
            return BackboneUnavailable(
                f"cannot reach {where} for {what}: {type(exc).__name__}: {detail}; check that the provider "
                "is up and its options (base URL, key)"
            )
        return BackboneError(f"{where} failed {what}: {type(exc).__name__}: {detail}; check its options")

    def _plain(
        self, request: GenerationRequest, seed: int | None, extra_system: str = ""
    ) -> tuple[str, Usage]:
        model = self._configured(request, seed)
        messages = self._messages(request.messages, extra_system)
        stop = list(request.stop) or None
        answer = self._call("a text answer", lambda: model.invoke(messages, stop=stop))
        return _text(answer.content), _usage(answer)

    def _json_schema(self, request: GenerationRequest, seed: int | None) -> tuple[str, Usage]:
        assert request.json_schema is not None
        model = self._configured(request, seed)
        structured = model.with_structured_output(
            _with_title(request.json_schema), method="json_schema", include_raw=True
        )
        messages = self._messages(request.messages)
        reply = self._call("a structured answer (json_schema)", lambda: structured.invoke(messages))
        raw = reply.get("raw") if isinstance(reply, dict) else None
        parsed = reply.get("parsed") if isinstance(reply, dict) else reply
        if parsed is not None:
            data = parsed.model_dump() if isinstance(parsed, BaseModel) else parsed
            return json.dumps(data, ensure_ascii=False), _usage(raw)
        return _text(getattr(raw, "content", "")), _usage(raw)  # the caller validates, and asks again

    def _structured_answer(self, request: GenerationRequest, seed: int | None) -> tuple[str, Usage]:
        assert request.json_schema is not None
        prompt = schema_prompt(request.json_schema)
        if self._structured in ("prompt", "setting"):  # the schema in the prompt (and the setting)
            return self._plain(request, seed, prompt)
        try:
            return self._json_schema(request, seed)
        except BackboneUnavailable:
            raise
        except BackboneError as refused:
            if self._structured == "json_schema":
                raise BackboneError(
                    f"{refused}. The provider may not support structured output with a JSON schema: set "
                    "the backbone's structured_output to 'prompt' (or 'auto')"
                ) from refused
            answer = self._plain(request, seed, prompt)  # auto: does the provider answer the prompt?
            _LOG.warning(
                "backbone %r: the provider refused json_schema structured output (%s); the schema goes in "
                "the prompt from now on",
                self.name,
                str(refused)[:200],
            )
            self._structured = "prompt"
            self.capabilities = self._capabilities()
            return answer

    def execute(self, request: GenerationRequest) -> GenerationResult:
        if request.label_logprobs is not None:
            raise NotImplementedFeature(
                f"backbone {self.name!r} (type langchain) cannot give label log-probabilities; use an "
                "algorithm that reads answers (persona, persona-vote) or an openai or llamacpp backbone"
            )
        if request.prefill:
            raise NotImplementedFeature(
                f"backbone {self.name!r} (type langchain) cannot continue a started answer (prefill)"
            )
        start = time.perf_counter()
        texts: list[str] = []
        usage = Usage()
        for k in range(request.n):
            seed = None if request.seed is None else request.seed + k
            if request.json_schema is not None:
                text, used = self._structured_answer(request, seed)
            else:
                text, used = self._plain(request, seed)
            texts.append(text)
            usage = usage + used
        return GenerationResult(texts=texts, usage=usage, seconds=time.perf_counter() - start)


def _per_request(name: str, options: LangChainOptions, chat_class: type[BaseChatModel]) -> dict[str, str]:
    fields = _fields(chat_class)
    if options.per_request is None:
        return {f: f for f in _DEFAULT_FIELDS if f in fields}
    for request_field, target in options.per_request.items():
        head = target.partition(".")[0]
        if head not in fields:
            raise ConfigError(
                f"backbone {name!r} (type langchain): per_request {request_field} = {target!r}, but "
                f"{options.class_path} has no setting {head!r}"
            )
    if "json_schema" in options.per_request and options.structured_output == "json_schema":
        raise ConfigError(
            f"backbone {name!r} (type langchain): structured_output 'json_schema' asks the class for it, "
            "while per_request sets json_schema through a setting; choose one (structured_output 'auto')"
        )
    return dict(options.per_request)


def create(name: str, options: dict[str, Any], settings: Settings | None = None) -> LangChainBackbone:
    """Factory of the ``langchain`` backbone type. The model is built here; nothing is contacted until
    the first request (as LangChain's chat models do)."""
    import os

    try:
        parsed = LangChainOptions.model_validate(options)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(options)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"backbone {name!r} (type langchain): {problems}") from None
    chat_class = load_chat_class(name, parsed.class_path)
    arguments = dict(parsed.options)
    for option, variable in parsed.options_env.items():
        value = os.environ.get(variable)
        if not value:
            raise ConfigError(
                f"backbone {name!r}: the environment variable {variable} (options_env.{option}) is not set; "
                "export it or remove it from options_env"
            )
        arguments[option] = value
    per_request = _per_request(name, parsed, chat_class)
    try:
        model = chat_class(**arguments)
    except Exception as exc:
        detail = " ".join(str(exc).split())[:400]
        raise ConfigError(
            f"backbone {name!r} (type langchain): {parsed.class_path}(...) refused its options: {detail}"
        ) from None
    return LangChainBackbone(name, parsed, model, per_request)
