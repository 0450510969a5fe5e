"""``align serve``: the Gradio app (Chat, Compare, Profiles, Examples, Evaluate) and its API."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from alignment.errors import AlignError, ConfigError
from assistant.cli.common import Subcommands, add_command
from assistant.cli.context import Cli

if TYPE_CHECKING:  # the server's modules are imported when it starts
    from starlette.routing import BaseRoute

    from assistant.app import AppService
    from assistant.settings import Settings

__all__ = ["build_app", "login_callable", "model_first", "openai_routes", "register", "serving_settings"]


def register(sub: Subcommands) -> None:
    p = add_command(
        sub,
        "serve",
        run,
        help="start the web app and its API (Gradio)",
        description=(
            "Start the web app (Chat, Compare, Profiles, Examples, Evaluate) and its named API endpoints. "
            "Users log in with the users table (`align users add`). Bound to loopback with no user "
            "that has a password, it runs in single local-user mode (no login, acting as the local "
            "admin); on any other address it refuses to start without login."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument(
        "--datasets",
        metavar="DIR",
        help="dataset files offered by the Evaluate and Examples tabs (default: ./datasets if present)",
    )
    p.add_argument("--eval-limit", type=int, default=10, help="most records per file an Evaluate run may use")
    p.add_argument(
        "--concurrency",
        type=int,
        help="requests of one endpoint handled at once (default: 4, or the largest max_concurrency of "
        "an OpenAI-compatible backbone; the embedded model still runs one at a time)",
    )
    p.set_defaults(settings_loader=serving_settings)


def serving_settings() -> Settings:
    """The server's settings: the serving defaults filled in (``load_serving_settings``)."""
    from assistant.compose import load_serving_settings

    return load_serving_settings()


def build_app(cli: Cli, host: str, datasets: str | None = None, eval_limit: int = 10) -> AppService:
    """The facade over the command's store (migrated, seeded) and service, login mode chosen."""
    from assistant.app import AppService
    from assistant.app.auth import login_required
    from assistant.web.security import serving_handout

    settings = cli.settings
    extraction = settings.chat_extraction_backbone
    if extraction is not None and extraction not in settings.backbones:
        raise ConfigError(
            f"chat_extraction_backbone {extraction!r} is not among backbones "
            f"({', '.join(sorted(settings.backbones))})"
        )
    if eval_limit < 1:
        raise ConfigError("--eval-limit must be at least 1")
    data_dir = Path(datasets) if datasets else Path.cwd() / "datasets"
    if datasets and not data_dir.is_dir():
        raise ConfigError(f"--datasets {datasets}: no such directory")
    store = cli.store
    local_mode = not login_required(store, host)
    work_dir = settings.data_dir / "app"
    work_dir.mkdir(parents=True, exist_ok=True)
    return AppService(
        store,
        cli.service,
        work_dir=work_dir,
        datasets_dir=data_dir if data_dir.is_dir() else None,
        local_mode=local_mode,
        eval_limit_cap=eval_limit,
        extraction_backbone=extraction,
        handout=serving_handout(),  # files for one user only, in Gradio's cache (assistant.web.security)
    )


def login_callable(app: AppService) -> Callable[[str, str], Awaitable[bool]]:
    """The login check for Gradio: limited per (name, client address); a pair cooling down gets
    HTTP 429 with the reason (``assistant.web.guards.login_check``)."""
    from assistant.web.guards import login_check

    return login_check(app)


def openai_routes(app: AppService, concurrency: int) -> list[BaseRoute]:
    """``/v1``: the OpenAI-compatible API over the chat engine (``assistant.web.openai_api``), with
    the queue's limits; none when the settings turn it off (``openai_api = false``)."""
    settings = app.service.settings
    if not settings.openai_api:
        return []
    from assistant.web.openai_api import OpenAIApi

    api = OpenAIApi(
        app.store,
        app.decisions.chat_engine,
        settings,
        local_mode=app.local_mode,
        concurrency=concurrency,
        limits=app.decisions.limits,  # one per-user rate limit and storage quota for /v1 and the app
    )
    return api.routes()


def model_first(app: AppService, settings: Settings) -> None:
    """When the default backbone is the in-process model: load it, then let every thread the server
    starts afterwards run ``serve_nice`` steps nicer than the model's own (docs/perf/serve-profile.md).
    A model that cannot be loaded now is reported and loaded on first use, as without a server, and
    the server keeps its priority (as it does with a remote backbone: nothing here to give way to)."""
    from assistant.backbones.serving import give_way, loads_first

    name = settings.default_backbone
    if not settings.serve_nice or not loads_first(settings):
        return
    try:
        app.service.backbones.get(name)
    except AlignError as exc:
        print(f"align serve: backbone {name!r} not loaded at start: {exc}", file=sys.stderr, flush=True)
        return
    give_way(settings.serve_nice)


def run(args: argparse.Namespace, cli: Cli) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

    if not 1 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port} is not a port number (1-65535)")
    if args.concurrency is not None and args.concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    from assistant.backbones.serving import queue_concurrency

    concurrency = args.concurrency or queue_concurrency(cli.settings)
    app = build_app(cli, args.host, args.datasets, args.eval_limit)
    model_first(app, cli.settings)
    from assistant.health import health_routes
    from assistant.web.gradio_inputs import SHORT_422, short_input_errors
    from assistant.web.gradio_tuning import lean_sessions, tune_queue
    from assistant.web.guards import guard_middleware, sessions_lifespan
    from assistant.web.login_page import AUTH_MESSAGE
    from assistant.web.plain_http import plain_http_notice
    from assistant.web.proxies import trust_proxies
    from assistant.web.queue_running import share_running
    from assistant.web.security import health_details, security_middleware
    from assistant.web.session_binding import Bindings
    from ui.app import build_demo

    demo = build_demo(app)
    bindings = Bindings()  # whose each Gradio session hash is: checked per request, and sessions per user
    demo.delete_cache = (600, 3600)  # uploads never used, and Gradio's copies, go after an hour
    # past max_queue waiting requests a caller gets HTTP 503 "Queue is full" (gradio_client:
    # QueueError "Queue is full! Please try again.") instead of piling up
    demo.queue(default_concurrency_limit=concurrency, max_size=app.service.settings.max_queue)
    tune_queue(demo)  # Gradio's monitoring summary: not rebuilt after every request
    share_running(demo)  # each user's share of the running places, as /v1 (web/queue_running.py)
    short_input_errors(demo)  # an input Gradio refuses: one short log line and error, never the value
    mode = "single local-user mode (no login)" if app.local_mode else "login required"
    # X-Forwarded-For / -Proto believed from the trusted_proxies only (default: from nobody)
    warning = trust_proxies(app.service.settings.trusted_proxies)
    if warning:
        print(f"align serve: {warning}", file=sys.stderr, flush=True)
    print(f"align serve: http://{args.host}:{args.port} ({mode})", flush=True)
    notice = plain_http_notice(
        login_required=not app.local_mode, allow_insecure=app.service.settings.allow_insecure_http_login
    )
    if notice:
        print(f"align serve: {notice}", flush=True)
    # SIGTERM (docker stop, an orchestrator) stops the server as Ctrl-C does, so `finally` runs
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        demo.launch(
            server_name=args.host,
            server_port=args.port,
            # Gradio awaits an async auth function; its annotation names only the sync kind
            auth=None if app.local_mode else login_callable(app),  # type: ignore[arg-type]
            auth_message=AUTH_MESSAGE,
            blocked_paths=[str(app.work_dir)],  # never served; users get their files handed out
            show_error=True,
            ssr_mode=False,
            quiet=True,
            footer_links=["api"],
            # no run history: it keeps handlers' replies (a new API key among them) in the browser
            run_history=False,
            # GET /healthz (database, Chroma, backbone; 200/503) and /livez for the orchestrator.
            # size limits (413 before parsing), the client address, sessions bound to the database
            max_file_size=app.service.settings.max_upload_bytes,
            app_kwargs={
                "routes": [
                    *health_routes(app.service.settings, details=health_details(app)),
                    *openai_routes(app, concurrency),  # /v1, for chat apps (README)
                ],
                "middleware": [*security_middleware(app), *guard_middleware(app, bindings)],
                # no API description of the outer app for anyone (Gradio's own, /gradio_api/openapi.json,
                # needs a login); Gradio already turns /docs and /redoc off
                "openapi_url": None,
                "docs_url": None,
                "redoc_url": None,
                # a body of the wrong shape: FastAPI's 422 without the values it would send back
                "exception_handlers": SHORT_422,
                # API calls copy no UI config; each user holds at most SESSIONS_PER_USER sessions
                "lifespan": lean_sessions(sessions_lifespan(app), bindings.owner),
            },
        )
    finally:
        app.handout.close()  # the store and the backbones close with the command (``Cli``)
    return 0
