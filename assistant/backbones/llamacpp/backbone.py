"""The embedded default backbone: llama-cpp-python in process (Gemma 3 270M GGUF by default).

- Plain text: seeded sampling (greedy at temperature 0) with stop strings.
- JSON schema: schema-guided decoding (``schema_decoding``); a schema it cannot walk falls
  back to llama.cpp's grammar sampler (correct but slow with Gemma's 262k vocabulary).
- Label log-probabilities: one forward pass over the prompt, read from the last logits row.
One request at a time, on one thread: the Llama object is guarded by a lock, and every call runs
on the backbone's own thread (llama.cpp's OpenMP workers belong to the thread that calls it).
"""

from __future__ import annotations

import contextvars
import json
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alignment.backbone import Backbone, Capabilities, GenerationRequest, GenerationResult, check_call
from alignment.errors import BackboneUnavailable, ConfigError, InputError
from alignment.models import Message, Usage
from assistant.backbones.cpu_clock import model_cpu_clock
from assistant.backbones.llamacpp.llama_context import LlamaContext
from assistant.backbones.llamacpp.sampling import choose_token, log_softmax
from assistant.backbones.llamacpp.schema_decoding import SchemaDecoder, TokenTrie
from assistant.backbones.llamacpp.schema_plan import Segment, UnsupportedSchema, compile_schema
from assistant.backbones.messages import fold_system

if TYPE_CHECKING:
    from llama_cpp import Llama

    from assistant.settings import Settings

__all__ = ["CHAT_FORMATS", "LlamaCppBackbone", "LlamaCppOptions", "create", "parse_options"]

TYPE_NAME = "llamacpp"


def _formatter(name: str) -> Callable[..., Any]:
    from llama_cpp import llama_chat_format as f

    table: dict[str, Callable[..., Any]] = {
        "gemma": f.format_gemma,
        "chatml": f.format_chatml,
        "llama-2": f.format_llama2,
        "llama-3": f.format_llama3,
        "mistral-instruct": f.format_mistral_instruct,
        "qwen": f.format_qwen,
        "zephyr": f.format_zephyr,
    }
    return table[name]


CHAT_FORMATS = ("gemma", "chatml", "llama-2", "llama-3", "mistral-instruct", "qwen", "zephyr")


class LlamaCppOptions(BaseModel):
    """Options of a ``llamacpp`` backbone (its table in the settings, besides ``type``)."""

    model_config = ConfigDict(extra="forbid")

    model_path: Path | None = None  # default: the embedded Gemma 3 270M GGUF
    n_ctx: int = Field(default=4096, ge=128, le=131072)
    n_threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=256)
    n_batch: int = Field(default=512, ge=8, le=8192)
    chat_format: str = "gemma"
    verbose: bool = False

    @field_validator("chat_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in CHAT_FORMATS:
            raise ValueError(f"unknown chat format {value!r}; use one of {', '.join(CHAT_FORMATS)}")
        return value


def parse_options(name: str, options: dict[str, Any]) -> LlamaCppOptions:
    """The backbone's options checked; a ConfigError names each problem and the known options."""
    try:
        return LlamaCppOptions(**options)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(options)"
            msg = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"backbones.{name}.{key}: {msg}")
        known = ", ".join(LlamaCppOptions.model_fields)
        raise ConfigError(
            f"invalid options of {TYPE_NAME} backbone {name!r}: {'; '.join(problems)} (options: {known})"
        ) from None


def create(name: str, options: dict[str, Any], settings: Settings | None = None) -> LlamaCppBackbone:
    """Factory of the ``llamacpp`` type: check the options, load the model (once)."""
    opts = parse_options(name, options)
    if opts.model_path is None:
        from assistant.models_local import embedded_model_path

        path = embedded_model_path()
    else:
        path = opts.model_path.expanduser()
    return LlamaCppBackbone(name, path, opts)


def _load(name: str, path: Path, opts: LlamaCppOptions) -> Llama:
    if not path.is_file():
        raise BackboneUnavailable(
            f"backbone {name!r}: model file {path} does not exist; set backbones.{name}.model_path to a "
            "GGUF file (or leave it unset for the embedded model and run `align setup`)"
        )
    from llama_cpp import Llama
    from llama_cpp._utils import suppress_stdout_stderr

    try:
        with suppress_stdout_stderr(disable=opts.verbose):  # llama.cpp logs the SWA cache choice
            return Llama(
                model_path=str(path),
                n_ctx=opts.n_ctx,
                n_threads=opts.n_threads,
                n_threads_batch=opts.n_threads,
                n_batch=opts.n_batch,
                n_ubatch=opts.n_batch,
                logits_all=False,
                swa_full=True,  # sliding-window models: keep every cell so any prefix can be reused
                verbose=opts.verbose,
            )
    except Exception as exc:
        raise BackboneUnavailable(
            f"backbone {name!r}: llama.cpp could not load {path} ({exc}); check that it is a GGUF model "
            "file this llama-cpp-python can read (for the embedded model run `align setup`)"
        ) from None


_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")


class LlamaCppBackbone(Backbone):
    """llama-cpp-python in process. Capabilities: JSON schema, label log-probs, samples, seeds."""

    capabilities = Capabilities(
        json_schema=True, label_logprobs=True, samples=True, seeded=True, concurrent=False
    )

    def __init__(self, name: str, model_path: Path, options: LlamaCppOptions) -> None:
        self.name = name
        self.model_path = model_path
        self.options = options
        self.llm = _load(name, model_path, options)
        self.context = LlamaContext(self.llm, name)
        self._format = _formatter(options.chat_format)
        self._lock = threading.Lock()
        # One thread runs every model call. OpenMP gives each thread that calls llama.cpp its own team
        # of workers: called from a server's handler threads in turn, a team that has just finished
        # spins on a core while the next thread's team computes.
        self._runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"llama-{name}")
        # started now, by the thread that builds the backbone: it keeps that thread's priority (and
        # so do llama.cpp's workers, which it starts), whatever thread calls later
        self._runner.submit(lambda: None).result()
        self._plans: dict[str, list[Segment] | None] = {}
        self._tries: dict[tuple[tuple[str, ...], str], TokenTrie] = {}
        self.grammar_fallbacks = 0  # structured requests answered by llama.cpp's grammar (slow)

    # -- prompt ------------------------------------------------------------------------------

    def prompt_tokens(self, messages: list[Message], prefill: str = "") -> list[int]:
        """Tokens of the chat prompt, with ``prefill`` started in the model's turn.

        System text is folded into the first user turn (Gemma's format has no system role).
        Template markup is tokenised with special tokens; message text and the prefill never are,
        so user text cannot forge turn markers.
        """
        turns = fold_system(messages)
        contents = [m.content for m in turns]
        rendered = self._format(
            messages=[{"role": m.role, "content": f"\ue000{i}\ue001"} for i, m in enumerate(turns)]
        ).prompt
        tokens: list[int] = []
        pos = 0
        for match in _PLACEHOLDER.finditer(rendered):
            tokens += self._template_tokens(rendered[pos : match.start()], first=not tokens)
            tokens += self.context.tokenize(contents[int(match.group(1))])
            pos = match.end()
        tokens += self._template_tokens(rendered[pos:], first=not tokens)
        return tokens + self.context.tokenize(prefill)

    def _template_tokens(self, text: str, *, first: bool) -> list[int]:
        if not text and not first:
            return []
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=first, special=True))

    def _check_length(self, prompt: list[int], answer: int) -> None:
        limit = self.options.n_ctx
        if len(prompt) + answer > limit:
            need = f" and the answer up to {answer} more" if answer else ""
            raise InputError(
                f"the prompt has {len(prompt)} tokens{need}, but backbone {self.name!r} holds {limit} "
                f"tokens of context; shorten the scenario or choices, or raise backbones.{self.name}.n_ctx"
            )

    # -- execute -------------------------------------------------------------------------------

    def execute(self, request: GenerationRequest) -> GenerationResult:
        try:
            # in the caller's context: the model thread checks the caller is still there (check_call)
            future = self._runner.submit(contextvars.copy_context().run, self._execute, request)
        except RuntimeError:  # shut down
            raise BackboneUnavailable(f"backbone {self.name!r} has been closed; start it again") from None
        return future.result()

    def _execute(self, request: GenerationRequest) -> GenerationResult:
        with self._lock:
            check_call()  # its asker may have gone away while the call waited for the model
            started, cpu0 = time.perf_counter(), model_cpu_clock(self.options.n_threads)
            prompt = self.prompt_tokens(request.messages, request.prefill)
            if request.label_logprobs is not None:
                result = self._label_logprobs(prompt, request.label_logprobs)
            elif request.json_schema is not None:
                result = self._structured(prompt, request)
            else:
                result = self._plain(prompt, request)
            result.seconds = time.perf_counter() - started
            result.cpu_seconds = model_cpu_clock(self.options.n_threads) - cpu0
            return result

    def _label_logprobs(self, prompt: list[int], labels: list[str]) -> GenerationResult:
        """Log-probability of each label as the next token; a label counts as its FIRST token.

        One forward pass over the prompt (no ``logits_all``): log-softmax of the last logits row.
        Labels whose first tokens coincide get the same value.
        """
        self._check_length(prompt, 1)
        firsts = {}
        for label in labels:
            ids = self.context.tokenize(label)
            if not ids:
                raise InputError(f"label {label!r} is empty after tokenisation; give non-empty labels")
            firsts[label] = ids[0]
        self.context.start(prompt)
        logp = log_softmax(self.context.logits())
        return GenerationResult(
            label_logprobs={label: float(logp[tok]) for label, tok in firsts.items()},
            usage=Usage(prompt_tokens=len(prompt), completion_tokens=0, calls=1),
        )

    @staticmethod
    def _rng(seed: int | None, k: int) -> np.random.Generator:
        return np.random.default_rng(None if seed is None else seed + k)

    def _plain(self, prompt: list[int], request: GenerationRequest) -> GenerationResult:
        self._check_length(prompt, 1)
        max_tokens = min(request.max_tokens, self.options.n_ctx - len(prompt))
        texts: list[str] = []
        completion = 0
        for k in range(request.n):
            if k and request.temperature == 0.0:
                texts.append(texts[0])  # greedy: every sample is the same
                continue
            text, used = self._sample_text(prompt, request, max_tokens, self._rng(request.seed, k))
            texts.append(text)
            completion += used
        return GenerationResult(
            texts=texts, usage=Usage(prompt_tokens=len(prompt), completion_tokens=completion, calls=1)
        )

    def _sample_text(
        self, prompt: list[int], request: GenerationRequest, max_tokens: int, rng: np.random.Generator
    ) -> tuple[str, int]:
        ctx = self.context
        ctx.start(prompt)
        buf = bytearray()
        used = 0
        stops = [s for s in request.stop if s]
        while used < max_tokens:
            token = choose_token(ctx.logits(), rng, request.temperature)
            if ctx.is_end(token):
                break
            used += 1
            buf += ctx.token_bytes(token)
            ctx.feed([token])
            if stops:
                text = buf.decode("utf-8", "ignore")
                cut = min((text.find(s) for s in stops if s in text), default=-1)
                if cut >= 0:
                    return text[:cut], used
        return buf.decode("utf-8", "ignore"), used

    def plan(self, schema: dict[str, Any]) -> list[Segment] | None:
        """The compiled segment plan of a schema, or None when it needs the grammar fallback."""
        key = json.dumps(schema, sort_keys=True)
        if key not in self._plans:
            try:
                self._plans[key] = compile_schema(schema)
            except UnsupportedSchema:
                self._plans[key] = None
            if len(self._plans) > 256:
                self._plans.pop(next(iter(self._plans)))
        return self._plans[key]

    def _structured(self, prompt: list[int], request: GenerationRequest) -> GenerationResult:
        assert request.json_schema is not None
        plan = self.plan(request.json_schema)
        if plan is None:
            return self._grammar(prompt, request)
        texts: list[str] = []
        completion = 0
        for k in range(request.n):
            if k and request.temperature == 0.0:
                texts.append(texts[0])
                continue
            self.context.start(prompt)
            decoder = SchemaDecoder(
                self.context,
                plan,
                rng=self._rng(request.seed, k),
                temperature=request.temperature,
                max_tokens=request.max_tokens,
                tries=self._tries,
            )
            self._check_length(prompt, max(decoder.minimum_tokens(), 1))
            room = self.options.n_ctx - len(prompt)
            decoder.max_tokens = min(request.max_tokens, room)
            decoded = decoder.run()
            texts.append(decoded.text)
            completion += decoded.tokens
        return GenerationResult(
            texts=texts, usage=Usage(prompt_tokens=len(prompt), completion_tokens=completion, calls=1)
        )

    def _grammar(self, prompt: list[int], request: GenerationRequest) -> GenerationResult:
        """Fallback for schemas the decoder cannot walk: llama.cpp's JSON-schema grammar (slow)."""
        from llama_cpp import LlamaGrammar

        assert request.json_schema is not None
        self._check_length(prompt, 1)
        self.grammar_fallbacks += 1
        grammar = LlamaGrammar.from_json_schema(json.dumps(request.json_schema), verbose=self.options.verbose)
        max_tokens = min(request.max_tokens, self.options.n_ctx - len(prompt))
        texts: list[str] = []
        completion = 0
        for k in range(request.n):
            seed = request.seed + k if request.seed is not None else int(self._rng(None, 0).integers(2**31))
            self.llm.set_seed(seed)
            self.context.invalidate()
            tokens: list[int] = []
            for token in self.llm.generate(
                prompt, temp=request.temperature, top_k=40, top_p=0.95, min_p=0.0, grammar=grammar
            ):
                if self.context.is_end(token) or len(tokens) >= max_tokens:
                    break
                tokens.append(token)
            self.context.invalidate()
            texts.append(bytes(self.llm.detokenize(tokens)).decode("utf-8", "ignore"))
            completion += len(tokens)
        return GenerationResult(
            texts=texts, usage=Usage(prompt_tokens=len(prompt), completion_tokens=completion, calls=1)
        )

    def reset_cache(self) -> None:
        """Forget the KV cache (benchmarks time cold prompts with it)."""
        with self._lock:
            self.context.forget()

    def close(self) -> None:
        self._runner.shutdown(wait=True)
        with self._lock:
            close = getattr(self.llm, "close", None)
            if close is not None:
                close()
