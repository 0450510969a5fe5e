"""Health of what one app replica depends on: the database, Chroma and the backbone.

``check_health(settings)`` runs the checks at once (threads, each with a short timeout) and returns
a ``HealthReport`` (JSON-able): per component ``ok``, latency and a one-line detail that says what
to do when it is not ok; ``ok`` overall only when every component is.

- database: ``SELECT 1`` on ALIGN_DATABASE_URL, and the schema revision must be the newest one
  (a replica started before ``align db upgrade`` reports unhealthy instead of racing to migrate).
- chroma: ``GET /api/v2/heartbeat`` of the Chroma server (ALIGN_CHROMA_HOST/PORT), or, embedded,
  a writable directory under ALIGN_DATA_DIR.
- backbone (the default one, plus any named): each backbone's type checks it
  (``assistant.backbones.health``): ``openai``: ``GET {base_url}/models`` with the backbone's key and
  the configured model among the served ones; ``llamacpp``: the GGUF file present and readable; a
  plugin type: its own ``check``, else reported unchecked.

HTTP checks go through an ``httpx.Client`` handed in (``client=``), else one made per check or report.

Used by ``align health`` (exit 0/1) and by the app's ``GET /healthz`` (200/503, see
``health_routes``). Nothing here changes any state: no file, table or collection is created.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.routing import BaseRoute

    from assistant.settings import BackboneConfig, Settings

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "ComponentStatus",
    "HealthReport",
    "check_backbone",
    "check_chroma",
    "check_database",
    "check_health",
    "health_routes",
]

DEFAULT_TIMEOUT_S = 3.0


class ComponentStatus(BaseModel):
    """One dependency: is it usable, how long the check took, and what was seen."""

    ok: bool
    checked: bool = True  # False: this kind of component has no check (a plugin backbone type)
    latency_ms: float = 0.0
    target: str = ""  # what was checked (URL without password, host:port, file)
    detail: str = ""  # one line; when not ok, what to do next


class HealthReport(BaseModel):
    ok: bool
    checked_at: datetime
    components: dict[str, ComponentStatus] = Field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


@contextmanager
def _http(client: httpx.Client | None, timeout_s: float) -> Iterator[httpx.Client]:
    """The client handed in, else one for this check only (closed after it)."""
    if client is not None:
        yield client
        return
    with httpx.Client(timeout=timeout_s) as own:
        yield own


def _timed(check: Callable[[], ComponentStatus], target: str) -> ComponentStatus:
    start = time.perf_counter()
    try:
        status = check()
    except Exception as exc:  # a health check reports; it never raises
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        status = ComponentStatus(ok=False, target=target, detail=f"{type(exc).__name__}: {first}")
    status.latency_ms = round((time.perf_counter() - start) * 1000, 1)
    return status


# -- database --------------------------------------------------------------------------------


def check_database(url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> ComponentStatus:
    """``SELECT 1`` and the schema revision, on a connection of its own (no pool kept)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    from profiles import migrate

    parsed = make_url(url)
    target = parsed.render_as_string(hide_password=True)

    def run() -> ComponentStatus:
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            db = parsed.database
            if db and db != ":memory:" and not Path(db).expanduser().is_file():
                return ComponentStatus(
                    ok=False, target=target, detail="the SQLite file does not exist; run `align db upgrade`"
                )
            connect_args["timeout"] = timeout_s
        elif parsed.get_backend_name() == "postgresql":
            connect_args["connect_timeout"] = max(1, round(timeout_s))
        engine = create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1")).scalar_one()
            revision = migrate.current_revision(engine)
        except Exception as exc:
            first = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
            return ComponentStatus(
                ok=False,
                target=target,
                detail=f"cannot query the database ({first}); check ALIGN_DATABASE_URL and the server",
            )
        finally:
            engine.dispose()
        if revision != migrate.HEAD:
            return ComponentStatus(
                ok=False,
                target=target,
                detail=f"schema at revision {revision or 'empty'}, this program needs {migrate.HEAD}; "
                "run `align db upgrade` (the compose file's migrate service does)",
            )
        return ComponentStatus(ok=True, target=target, detail=f"SELECT 1 ok; schema at revision {revision}")

    return _timed(run, target)


# -- chroma ----------------------------------------------------------------------------------


def check_chroma(
    host: str | None,
    port: int,
    data_dir: Path,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    client: httpx.Client | None = None,
) -> ComponentStatus:
    """The Chroma server's heartbeat, or (embedded) a directory that the process can write."""
    if host:
        url = f"http://{host}:{port}/api/v2/heartbeat"

        def server() -> ComponentStatus:
            from assistant.backbones.health import get_ok

            with _http(client, timeout_s) as http:
                response = get_ok(
                    http,
                    url,
                    timeout_s=timeout_s,
                    unreachable="no answer ({error}); start the Chroma server or fix "
                    "ALIGN_CHROMA_HOST / ALIGN_CHROMA_PORT",
                    refused="HTTP {status}: {text}; check the Chroma server",
                )
            if isinstance(response, str):
                return ComponentStatus(ok=False, target=url, detail=response)
            return ComponentStatus(ok=True, target=url, detail="heartbeat ok")

        return _timed(server, url)

    path = Path(data_dir) / "chroma"

    def embedded() -> ComponentStatus:
        existing = path if path.exists() else next((p for p in path.parents if p.exists()), None)
        if existing is None or not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            return ComponentStatus(
                ok=False,
                target=str(path),
                detail=f"{existing or path} is not a writable directory; fix ALIGN_DATA_DIR",
            )
        state = "present" if existing == path else "created on first use"
        return ComponentStatus(ok=True, target=str(path), detail=f"embedded store ({state})")

    return _timed(embedded, str(path))


# -- backbones -------------------------------------------------------------------------------


def check_backbone(
    name: str,
    config: BackboneConfig,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    client: httpx.Client | None = None,
) -> ComponentStatus:
    """The backbone's type checks it (``assistant.backbones.health``): ``llamacpp`` its GGUF file,
    ``openai`` its server's model list, a plugin type its own ``check`` (else: unchecked)."""
    from assistant.backbones.health import check_backbone as check_own

    def run() -> ComponentStatus:
        with _http(client, timeout_s) as http:
            seen = check_own(name, config.type, config.options(), client=http, timeout_s=timeout_s)
        return ComponentStatus(**seen.model_dump())

    return _timed(run, config.type)


# -- all of it -------------------------------------------------------------------------------


def check_health(
    settings: Settings,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    backbones: Sequence[str] = (),
    client: httpx.Client | None = None,
) -> HealthReport:
    """Database, Chroma and the default backbone (as ``backbone``), plus ``backbone:NAME`` for
    each name in ``backbones``; all checked concurrently. HTTP goes through ``client`` (else through
    one made for this report and closed after it)."""
    from alignment.errors import UnknownName

    for name in backbones:
        if name not in settings.backbones:
            raise UnknownName("backbone", name, list(settings.backbones))
    with _http(client, timeout_s) as http:
        checks: dict[str, Callable[[], ComponentStatus]] = {
            "database": partial(check_database, settings.effective_database_url(), timeout_s=timeout_s),
            "chroma": partial(
                check_chroma,
                settings.chroma_host,
                settings.chroma_port,
                settings.data_dir,
                timeout_s=timeout_s,
                client=http,
            ),
        }
        for name in dict.fromkeys([settings.default_backbone, *backbones]):
            key = "backbone" if name == settings.default_backbone else f"backbone:{name}"
            config = settings.backbones[name]
            checks[key] = partial(check_backbone, name, config, timeout_s=timeout_s, client=http)
        with ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="health") as pool:
            futures = {key: pool.submit(check) for key, check in checks.items()}
            components = {key: future.result() for key, future in futures.items()}
    return HealthReport(
        ok=all(c.ok for c in components.values()), checked_at=datetime.now(UTC), components=components
    )


def health_routes(
    settings: Settings,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    details: Callable[[Request], Awaitable[bool]] | None = None,
    client: httpx.Client | None = None,
) -> list[BaseRoute]:
    """``GET /healthz`` (the deep check: 200 when healthy, else 503) and ``GET /livez`` (the process
    answers; nothing is contacted), as FastAPI routes. Open to anyone: the orchestrator has no login.

    The body is ``{"ok": true|false}`` only, unless ``details(request)`` says the caller may see the
    report (paths, schema revision, backbone). Without ``details``, callers on this machine that no
    proxy forwarded may; ``align serve`` lets admins see it too.

    ``align serve`` hands them to Gradio's FastAPI app (``launch(app_kwargs={"routes": ...})``).
    Checks use ``client`` when one is handed in (its owner closes it), else a client per request.
    """
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse
    from fastapi.routing import APIRoute
    from starlette.routing import Route

    async def healthz(request: Request) -> JSONResponse:  # a Starlette route: handed the request as is
        report = await run_in_threadpool(check_health, settings, timeout_s=timeout_s, client=client)
        status = 200 if report.ok else 503
        if await (details or _loopback)(request):
            return JSONResponse(report.as_dict(), status_code=status)
        return JSONResponse({"ok": report.ok}, status_code=status)

    async def livez() -> JSONResponse:
        return JSONResponse({"ok": True})

    return [
        Route("/healthz", healthz, methods=["GET"], include_in_schema=False),
        APIRoute("/livez", livez, methods=["GET"], include_in_schema=False),
    ]


async def _loopback(request: Request) -> bool:
    from assistant.web.session import is_loopback

    return is_loopback(request.scope)
