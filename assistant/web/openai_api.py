"""The OpenAI-compatible API that ``align serve`` adds to Gradio's FastAPI app: chat apps (Open WebUI,
LibreChat, any OpenAI client) reach the assistant at ``/v1`` with a per-user API key.

- ``GET /v1/models`` (and ``/v1/models/{id}``): the models the caller may name (``openai_models``).
- ``POST /v1/chat/completions``: the newest user message goes through the chat engine
  (``assistant.decisions.chat.ChatEngine``) in the stored conversation that the sent history
  continues (``assistant.decisions.chat_threads``), so follow-ups ("why not B?", "what if I cared
  more about fairness?") work across turns; a decision goes into the decision log as every decision
  does. A chat app's own task (a title, tags, follow-ups) is answered as the task asks and is
  neither decided, logged nor stored. The reply is the engine's answer text (or JSON, as
  ``response_format`` asks: ``openai_formats``); ``stream: true`` sends it as server-sent events in
  OpenAI's chunk format, ending with ``data: [DONE]``: while a decision is weighed the stream starts
  with a progress line (``assistant.decisions.progress``; the stored answer has none, and the history
  a chat app sends back is matched without it), then the verdict and the rest of the answer. A turn
  that has said nothing ``FIRST_CHUNK_S`` after the request opens its stream with ``WAIT_NOTE``'s
  line, so the first words come at once however long the turn takes.
- Each request parameter is honoured, accepted as not applicable, or refused with 400
  (``openai_params``).

Keys: ``Authorization: Bearer KEY`` (``profiles.api_keys``); a key acts as its user. A missing, wrong
or revoked key gets 401 in OpenAI's error format; in single local-user mode (no login anywhere) a
request without a key acts as the local user, as the web page does. Limits as for the rest of the
app: the body size (``BodyLimit``, 413), every text and list in the request (``PayloadLimits``),
requests at once and waiting (``ApiGate``, 503 when full; each user's share of them, 429 past it), chat
requests per minute per user (``UsageLimits``, shared with the web app, 429), the characters of
conversation text stored per user (429 ``insufficient_quota``; nothing is stored for a refused
request), and wrong keys per client address and key start (the login limiter's settings, 429 while
locked; a valid key is never refused for them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import anyio
from pydantic import ValidationError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from alignment.errors import (
    AlignError,
    Conflict,
    InputError,
    NotFound,
    PermissionDenied,
    StoreUnavailable,
)
from alignment.models import Usage
from alignment.turns import is_task
from assistant.app.login_limit import LoginLimiter, TooManyLogins
from assistant.app.payload_limits import PayloadLimits, PayloadTooLarge, check_payload
from assistant.app.schemas import ChatRequest, parse_request
from assistant.app.usage_limits import Reservation, StorageFull, TooManyRequests, UsageLimits
from assistant.decisions.cancel import TurnCancelled, in_turn
from assistant.decisions.chat import ChatEngine, ChatUpdate
from assistant.decisions.chat_threads import Turn, continue_thread
from assistant.decisions.messages import for_people
from assistant.decisions.progress import progress_line
from assistant.decisions.service import validation_message
from assistant.settings import Settings
from assistant.web.api_gate import ApiGate, Busy, Lease, UserShareUsed
from assistant.web.openai_formats import JsonFormat, answer_json, check_schema, read_format
from assistant.web.openai_models import ModelChoice, model_ids, model_name, parse_model
from assistant.web.openai_params import UnsupportedParameter, check_parameters
from assistant.web.openai_schemas import (
    AlignInfo,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChunkChoice,
    ChunkDelta,
    CompletionChoice,
    CompletionMessage,
    CompletionUsage,
    ErrorBody,
    ErrorDetail,
    ModelCard,
    ModelList,
)
from profiles.api_keys import SHOWN_CHARS
from profiles.schemas import Actor
from profiles.store import Store

__all__ = ["API_PREFIX", "FIRST_CHUNK_S", "WAIT_NOTE", "ApiFailure", "OpenAIApi", "error_response"]

API_PREFIX = "/v1"
# a streamed turn whose engine has said nothing this long after the request opens with WAIT_NOTE
FIRST_CHUNK_S = 0.15
WAIT_NOTE = "Reading your message"
Handler = Callable[[Request], Awaitable[Response]]
MAX_KEY_CHARS = 200
_KEY_LIMIT_NAME = "(API key)"  # wrong keys are counted per client address and key start
_LOG = logging.getLogger("align.api")


class ApiFailure(Exception):
    """An answer other than 200, in OpenAI's error format."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        code: str | None = None,
        retry_after_s: float | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.code = code
        self.retry_after_s = retry_after_s
        self.param = param


def error_response(failure: ApiFailure) -> JSONResponse:
    body = ErrorBody(
        error=ErrorDetail(message=failure.message, type=failure.kind, param=failure.param, code=failure.code)
    )
    headers = {}
    if failure.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if failure.retry_after_s is not None:
        headers["Retry-After"] = str(max(1, round(failure.retry_after_s)))
    return JSONResponse(body.model_dump(mode="json"), status_code=failure.status, headers=headers)


def _from_align_error(exc: AlignError) -> ApiFailure:
    message = for_people(str(exc))
    if isinstance(exc, PayloadTooLarge):
        return ApiFailure(400, message, code="request_too_large")
    if isinstance(exc, InputError):
        return ApiFailure(400, message, code="invalid_request")
    if isinstance(exc, NotFound):
        return ApiFailure(404, message, code="not_found")
    if isinstance(exc, PermissionDenied):
        return ApiFailure(403, message, kind="permission_error", code="permission_denied")
    if isinstance(exc, Conflict):
        return ApiFailure(409, message, code="conflict")
    if isinstance(exc, StoreUnavailable):
        return ApiFailure(503, message, kind="server_error", code="service_unavailable", retry_after_s=5)
    return ApiFailure(500, message, kind="server_error", code="server_error")


def _failure(exc: Exception) -> ApiFailure:
    """What the caller is told of ``exc``: an ``ApiFailure`` as it is, an ``AlignError`` by its kind,
    anything else as the server's own failure (logged)."""
    if isinstance(exc, ApiFailure):
        return exc
    if isinstance(exc, AlignError):
        return _from_align_error(exc)
    return _unexpected(exc)


def _unexpected(exc: Exception) -> ApiFailure:
    _LOG.error("an API request failed: %s", type(exc).__name__, exc_info=exc)
    detail = str(exc).strip()[:300]
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return ApiFailure(
        500,
        for_people(
            f"the server could not answer this request ({what}); try again, and tell the operator "
            "if it keeps happening"
        ),
        kind="server_error",
        code="server_error",
    )


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _usage(update: ChatUpdate) -> CompletionUsage:
    usage = update.decision.usage if update.decision is not None else Usage()
    prompt, completion = usage.prompt_tokens, usage.completion_tokens
    return CompletionUsage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


def _info(update: ChatUpdate) -> AlignInfo:
    return AlignInfo(conversation_id=update.conversation_id, decision_id=update.decision_id, kind=update.kind)


def _shown(update: ChatUpdate) -> bool:
    """Whether an update is part of the answer (a progress update is not: its note is streamed as
    the progress line, ahead of the answer)."""
    return update.done or update.decision is not None


def _refused(exc: UnsupportedParameter) -> ApiFailure:
    return ApiFailure(400, exc.message, code="unsupported_parameter", param=exc.param)


def _sse(data: object) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


class OpenAIApi:
    """Handed the store, the chat engine and the settings; ``routes()`` go to the FastAPI app."""

    def __init__(
        self,
        store: Store,
        engine: ChatEngine,
        settings: Settings,
        *,
        local_mode: bool = False,
        concurrency: int = 4,
        limits: UsageLimits | None = None,
    ) -> None:
        self.store = store
        self.engine = engine
        self.settings = settings
        self.local_mode = local_mode
        self.gate = ApiGate(concurrency, int(settings.max_queue), int(settings.api_max_requests_per_user))
        # requests per minute and conversation storage per user: the web app's own (``align serve``
        # hands over ``AppDecisions.limits``), so /v1 and the web app count against one limit
        self.usage = limits or UsageLimits(
            store,
            per_minute=int(settings.api_requests_per_minute),
            quota_chars=int(settings.conversation_quota_chars),
        )
        self.limits = PayloadLimits.from_settings(settings)
        self.key_limiter = LoginLimiter.from_settings(settings)
        self.started = int(time.time())

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{API_PREFIX}/models", self._guarded(self.list_models), methods=["GET"]),
            Route(f"{API_PREFIX}/models/{{model:path}}", self._guarded(self.get_model), methods=["GET"]),
            Route(f"{API_PREFIX}/chat/completions", self._guarded(self.chat_completions), methods=["POST"]),
        ]

    @staticmethod
    def _guarded(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                response: Response = await handler(request)
                return response
            except Exception as exc:
                return error_response(_failure(exc))

        return endpoint

    # -- who is calling -------------------------------------------------------------------

    async def authenticate(self, request: Request) -> Actor:
        key = _bearer(request)
        if key is None:
            local = await run_in_threadpool(self.store.users.acting, None, local=self.local_mode)
            if local is not None:  # no key where nobody logs in: the local operator
                return local
            raise ApiFailure(
                401,
                "this server needs an API key: send it as a bearer token (Authorization: Bearer KEY). "
                "Create a key in the Profiles tab of the web app, or ask an admin for one",
                code="missing_api_key",
            )
        address = request.client.host if request.client else None
        try:
            if len(key) > MAX_KEY_CHARS:
                raise PermissionDenied("this API key is not valid; check that it was copied whole")
            # a key that verifies is let in whatever others sent from the same address (one stale
            # key in a shared chat app must not lock out its other users); nothing is reset by it
            return await run_in_threadpool(self.store.api_keys.authenticate, key)
        except PermissionDenied as exc:
            refused = str(exc)
        known = len(key) <= MAX_KEY_CHARS and await run_in_threadpool(self.store.api_keys.known_prefix, key)
        # wrong keys are counted per address: those starting as a stored key does (a revoked or
        # mistyped key, or guesses at one key's secret) per key start, any others together
        bucket = f"{_KEY_LIMIT_NAME} {key[:SHOWN_CHARS]}" if known else f"{_KEY_LIMIT_NAME} unknown"
        try:
            self.key_limiter.check(bucket, address)
        except TooManyLogins as exc:
            what = "this wrong API key" if known else "wrong API keys"
            raise ApiFailure(
                429,
                f"too many requests with {what} from this address; wait {max(1, round(exc.wait_s))} s, "
                "then try again with a valid key (a valid key is always let in)",
                kind="rate_limit_error",
                code="rate_limit_exceeded",
                retry_after_s=exc.wait_s,
            ) from None
        self.key_limiter.failed(bucket, address)
        raise ApiFailure(401, refused, code="invalid_api_key")

    def _profiles(self, actor: Actor) -> list[str]:
        return [p.name for p in self.store.profiles.list(actor)]

    def _model(self, actor: Actor, name: str) -> ModelChoice:
        try:
            return parse_model(name, self._profiles(actor), self.settings.deciders)
        except NotFound as exc:
            raise ApiFailure(404, str(exc), code="model_not_found") from None

    # -- models ---------------------------------------------------------------------------

    async def list_models(self, request: Request) -> Response:
        actor = await self.authenticate(request)
        profiles = await run_in_threadpool(self._profiles, actor)
        ids = model_ids(profiles, self.settings.deciders)
        deciders = self.settings.deciders
        cards = [ModelCard(id=i, name=model_name(i, deciders), created=self.started) for i in ids]
        return JSONResponse(ModelList(data=cards).model_dump(mode="json"))

    async def get_model(self, request: Request) -> Response:
        actor = await self.authenticate(request)
        name = str(request.path_params["model"])
        await run_in_threadpool(self._model, actor, name)
        card = ModelCard(id=name, name=model_name(name, self.settings.deciders), created=self.started)
        return JSONResponse(card.model_dump(mode="json"))

    # -- chat -----------------------------------------------------------------------------

    async def _request(self, request: Request, actor: Actor) -> ChatCompletionRequest:
        raw = await request.body()
        try:
            payload = json.loads(raw)
        except ValueError:
            raise ApiFailure(
                400, "the request body is not JSON; send a JSON object", code="invalid_json"
            ) from None
        check_payload(payload, self.limits, what="chat_completions", user=actor.name)
        try:
            json.dumps(payload, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ApiFailure(
                400,
                "the request holds a text that is not valid Unicode (a lone surrogate such as \\ud800, "
                "half of a character); send the text as UTF-8",
                code="invalid_request",
            ) from None
        if not isinstance(payload, dict):
            raise ApiFailure(400, "the request must be a JSON object", code="invalid_request")
        try:
            check_parameters(payload)
        except UnsupportedParameter as exc:
            raise _refused(exc) from None
        try:
            return ChatCompletionRequest.model_validate(payload)
        except ValidationError as exc:
            raise ApiFailure(400, validation_message(exc), code="invalid_request") from None

    def _start(self, actor: Actor, req: ChatCompletionRequest) -> tuple[Iterator[ChatUpdate], ChatUpdate]:
        """The conversation found or made, the turn started: its first update (errors come here, while
        the status code can still say what went wrong) and the rest of the updates."""
        choice = self._model(actor, req.model)
        said = [m for m in req.messages if m.role in ("user", "assistant")]
        if not said or said[-1].role != "user":
            raise ApiFailure(
                400, "the last message must be the user's: the question to answer", code="invalid_request"
            )
        if not said[-1].text().strip():
            raise ApiFailure(
                400, "the last message is empty; describe your situation and the options you have"
            )
        history = [Turn.model_validate({"role": m.role, "content": m.text()}) for m in said[:-1]]
        # the message, and the last two of a history the server has not seen (chat_threads keeps them)
        reservation = self._reserve(actor, sum(len(m.text()) for m in said[-3:]))
        try:
            updates, first = self._respond(actor, req, choice, said[-1].text(), history, reservation)
        except BaseException:
            reservation.release()
            raise
        return updates, first

    def _respond(
        self,
        actor: Actor,
        req: ChatCompletionRequest,
        choice: ModelChoice,
        message: str,
        history: list[Turn],
        reservation: Reservation,
    ) -> tuple[Iterator[ChatUpdate], ChatUpdate]:
        chat = parse_request(
            ChatRequest,
            {
                "message": message,
                "profile": choice.profile,
                "decider": choice.decider,
                "seed": req.seed,
            },
        )
        if not is_task(message):  # a chat app's own request: no conversation is found or made
            found = continue_thread(
                self.store, actor, history, profile=choice.profile, reserve=self._grow(reservation)
            )
            chat = chat.model_copy(update={"conversation_id": found})
        updates = reservation.hold(self.engine.respond(actor, chat))
        first = next(updates)
        return updates, first

    @staticmethod
    def _grow(reservation: Reservation) -> Callable[[int], None]:
        """More characters for the turn's reservation (a copied conversation start), or 429."""

        def grow(extra: int) -> None:
            try:
                reservation.grow(extra)
            except StorageFull as exc:
                raise ApiFailure(
                    429, str(exc), kind="insufficient_quota", code="insufficient_quota"
                ) from None

        return grow

    def _reserve(self, actor: Actor, text_chars: int) -> Reservation:
        """Reserve what the turn may store against the user's quota (``UsageLimits.reserve``), or refuse
        it before anything is stored."""
        try:
            return self.usage.reserve(actor, text_chars)
        except StorageFull as exc:
            raise ApiFailure(429, str(exc), kind="insufficient_quota", code="insufficient_quota") from None

    async def chat_completions(self, request: Request) -> Response:
        actor = await self.authenticate(request)
        req = await self._request(request, actor)
        wanted = self._format(req)
        try:
            self.usage.take(actor)
        except TooManyRequests as exc:
            raise ApiFailure(
                429,
                f"you sent more than {exc.limit} requests in a minute (here and in the web app); wait "
                f"{max(1, round(exc.wait_s))} s, then try again",
                kind="rate_limit_error",
                code="rate_limit_exceeded",
                retry_after_s=exc.wait_s,
            ) from None
        try:
            lease = await self.gate.enter(actor.name)
        except UserShareUsed as exc:
            raise ApiFailure(
                429,
                f"you already have {exc.limit} requests running or waiting, your share of this server; "
                "wait for one of them to finish, then try again",
                kind="rate_limit_error",
                code="too_many_requests_at_once",
                retry_after_s=5,
            ) from None
        except Busy:
            raise ApiFailure(
                503,
                "the server is busy answering other requests; try again in a few seconds",
                kind="server_error",
                code="server_busy",
                retry_after_s=5,
            ) from None
        gone = threading.Event()  # set when a streaming caller hangs up: the turn stops at its next step
        try:
            start = asyncio.ensure_future(run_in_threadpool(in_turn, gone, self._start, actor, req))
            if req.stream:
                include_usage = bool(req.stream_options and req.stream_options.include_usage)
                # a turn that has not started within FIRST_CHUNK_S: the stream opens now, with a
                # progress line (errors then come as an error event); else as the turn's start says
                done, _ = await asyncio.wait({start}, timeout=FIRST_CHUNK_S)
                if done:
                    start.result()  # a refusal still gets its status code
                late = not done and wanted is None
                stream = self._stream(req, start, lease, include_usage, wanted, late, gone)
                return WatchedStream(
                    stream,
                    gone=gone,
                    lease=lease,
                    asker=actor.name,
                    media_type="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
                    background=BackgroundTask(lease.release),
                )
            watching = asyncio.ensure_future(_watch(request, gone))  # a caller who hangs up
            try:
                updates, first = await start
                final = await run_in_threadpool(in_turn, gone, _last, first, updates, gone)
                if gone.is_set():
                    raise TurnCancelled("the asker went away")
            finally:
                watching.cancel()
        except TurnCancelled:  # the caller is gone: nobody reads an answer; its slot is free now
            _stopped(actor.name)
            lease.release()
            return Response(status_code=499)
        except BaseException:
            lease.release()
            raise
        lease.release()
        reply = ChatCompletion(
            id=f"chatcmpl-{uuid.uuid4().hex}",
            created=int(time.time()),
            model=req.model,
            choices=[CompletionChoice(message=CompletionMessage(content=self._content(req, final, wanted)))],
            usage=_usage(final),
            align=_info(final),
        )
        return JSONResponse(reply.model_dump(mode="json"))

    @staticmethod
    def _format(req: ChatCompletionRequest) -> JsonFormat | None:
        """The JSON the request's ``response_format`` asks for (None: text); 400 for one it cannot be."""
        try:
            wanted = read_format(req.response_format)
            if wanted is not None:
                said = [m for m in req.messages if m.role == "user"]
                check_schema(wanted, said[-1].text() if said else "")
            return wanted
        except UnsupportedParameter as exc:
            raise _refused(exc) from None

    @staticmethod
    def _content(req: ChatCompletionRequest, final: ChatUpdate, wanted: JsonFormat | None) -> str:
        if wanted is None:
            return final.text
        said = [m for m in req.messages if m.role == "user"]
        return answer_json(final, said[-1].text() if said else "", wanted)

    async def _stream(
        self,
        req: ChatCompletionRequest,
        start: asyncio.Future[tuple[Iterator[ChatUpdate], ChatUpdate]],
        lease: Lease,
        include_usage: bool,
        wanted: JsonFormat | None,
        late: bool,
        gone: threading.Event,
    ) -> AsyncIterator[str]:
        model = req.model
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

        def chunk(
            delta: ChunkDelta | None,
            finish: bool = False,
            *,
            align: AlignInfo | None = None,
            usage: CompletionUsage | None = None,
        ) -> str:
            choices = (
                [] if delta is None else [ChunkChoice(delta=delta, finish_reason="stop" if finish else None)]
            )
            data = ChatCompletionChunk(
                id=ident, created=created, model=model, choices=choices, usage=usage, align=align
            )
            return _sse(data.model_dump(mode="json"))

        try:
            yield chunk(ChunkDelta(role="assistant", content=""))
            if late:
                yield chunk(ChunkDelta(content=progress_line(WAIT_NOTE) + "\n\n"))
            with anyio.CancelScope(shield=True):  # a hang-up waits for the turn's first step to return
                updates, first = await start
            sent = ""
            notes: list[str] = []
            final = first
            async for update in _chain(first, updates, gone):
                final = update
                if wanted is not None:  # JSON: one piece, once the turn is done
                    if update.done:
                        yield chunk(ChunkDelta(content=self._content(req, update, wanted)))
                    continue
                if not _shown(update):
                    if update.note and update.note not in notes:  # the progress line, at once
                        notes.append(update.note)
                        yield chunk(ChunkDelta(content=progress_line(update.note) + "\n\n"))
                    continue
                text = update.text
                delta = text[len(sent) :] if text.startswith(sent) else "\n\n" + text
                if delta:
                    yield chunk(ChunkDelta(content=delta))
                    sent = text
            yield chunk(ChunkDelta(), finish=True, align=_info(final))
            if include_usage:
                yield chunk(None, usage=_usage(final))
        except TurnCancelled:  # the caller is gone (WatchedStream says so): nothing more to send
            return
        except Exception as exc:
            failure = _failure(exc)
            yield _sse(
                ErrorBody(
                    error=ErrorDetail(message=failure.message, type=failure.kind, code=failure.code)
                ).model_dump()
            )
        finally:
            lease.release()
        yield "data: [DONE]\n\n"


def _last(first: ChatUpdate, updates: Iterator[ChatUpdate], gone: threading.Event) -> ChatUpdate:
    """Run the turn to its end (the engine stores the answer after its last update); a turn whose
    caller hung up stops at its next step."""
    last = first
    for update in updates:
        last = update
        if gone.is_set():
            close = getattr(updates, "close", None)
            if close is not None:
                close()
            break
    return last


def _stopped(asker: str) -> None:
    _LOG.warning("a turn of %s stopped: its asker went away", asker)


async def _watch(request: Request, gone: threading.Event) -> None:
    """Until cancelled: once the caller hangs up, the turn is told (it stops at its next step or
    model call; its slot is given back then)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


_END = object()


def _next(updates: Iterator[ChatUpdate]) -> Any:
    return next(updates, _END)


async def _chain(
    first: ChatUpdate, updates: Iterator[ChatUpdate], gone: threading.Event
) -> AsyncIterator[ChatUpdate]:
    """The turn's updates, each computed in a worker thread that knows whether the asker is gone."""
    yield first
    try:
        while True:
            if gone.is_set():
                raise TurnCancelled("the asker went away")
            update = await run_in_threadpool(in_turn, gone, _next, updates)
            if update is _END:
                return
            yield update
    finally:
        close = getattr(updates, "close", None)
        if close is not None:  # a dropped turn stops here (its worker is done): nothing more is stored
            with contextlib.suppress(Exception):
                close()


class WatchedStream(StreamingResponse):
    """A streamed answer that notices at once when its caller hangs up (whatever ASGI version the
    server speaks): the turn is told (``gone``: it stops at its next step, and a decision that was
    being weighed is neither logged nor stored), and the caller's slot (``lease``) is given back once
    the turn's running step has returned (a decision stops at its next model call): hanging up and
    asking again cannot run more turns at once than the caller's share."""

    def __init__(
        self, content: AsyncIterator[str], *, gone: threading.Event, lease: Lease, asker: str, **kw: Any
    ) -> None:
        super().__init__(content, **kw)
        self.gone = gone
        self.lease = lease
        self.asker = asker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        finished = False
        try:
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    nonlocal finished
                    with contextlib.suppress(OSError):
                        await self.stream_response(send)
                        finished = True
                    group.cancel_scope.cancel()

                async def watch() -> None:
                    await self.listen_for_disconnect(receive)
                    if not finished:
                        self.gone.set()
                    group.cancel_scope.cancel()  # ends when the turn's running step does

                group.start_soon(stream)
                group.start_soon(watch)
        finally:
            if not finished:
                self.gone.set()
            if self.gone.is_set():  # said before its slot is given back
                _stopped(self.asker)
            self.lease.release()
            body = self.body_iterator
            aclose = getattr(body, "aclose", None)
            if aclose is not None:
                with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                    await aclose()
        if finished and self.background is not None:
            await self.background()
