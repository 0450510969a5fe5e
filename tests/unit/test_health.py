"""assistant.health: each check against real local things (SQLite files, a loopback HTTP server,
GGUF-like files), the overall report, the /healthz route and the ``align health`` exit status."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from alignment.errors import UnknownName
from assistant.cli import main
from assistant.health import (
    check_backbone,
    check_chroma,
    check_database,
    check_health,
    health_routes,
)
from assistant.settings import BackboneConfig, load_settings
from profiles import migrate
from profiles.store import open_store
from tests.helpers.local_http import LocalHTTPServer, QuietHandler

# no ALIGN_* variable of this shell, and a fresh working folder
pytestmark = pytest.mark.usefixtures("clean_align_env")


class _Handler(QuietHandler):
    routes: ClassVar[dict[str, tuple[int, Any]]] = {}
    seen_auth: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        self.seen_auth.append(self.headers.get("Authorization"))
        status, body = self.routes.get(self.path, (404, {"error": "no route"}))
        self.reply(status, "application/json", json.dumps(body).encode())


@pytest.fixture
def http_server() -> Iterator[tuple[str, int, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"routes": {}, "seen_auth": []})
    with LocalHTTPServer(handler) as server:
        yield "127.0.0.1", server.port, handler


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- database -------------------------------------------------------------------------------


def test_database_missing_then_migrated_then_behind(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    missing = check_database(url)
    assert not missing.ok and "align db upgrade" in missing.detail
    assert not (tmp_path / "a.sqlite3").exists()  # the check created nothing

    open_store(url).close()
    ok = check_database(url)
    assert ok.ok and f"revision {migrate.HEAD}" in ok.detail and ok.latency_ms > 0

    import sqlite3

    behind = tmp_path / "b.sqlite3"
    sqlite3.connect(behind).execute("CREATE TABLE t (x)").connection.close()
    status = check_database(f"sqlite:///{behind}")
    assert not status.ok and "revision empty" in status.detail and "align db upgrade" in status.detail


def test_database_unreachable_server_is_reported_not_raised():
    status = check_database(f"postgresql+psycopg://nobody:secret@127.0.0.1:{_closed_port()}/x", timeout_s=1)
    assert not status.ok and "ALIGN_DATABASE_URL" in status.detail
    assert "secret" not in status.target and "***" in status.target


# -- chroma ---------------------------------------------------------------------------------


def test_chroma_server_heartbeat(http_server):
    host, port, handler = http_server
    handler.routes["/api/v2/heartbeat"] = (200, {"nanosecond heartbeat": 1})
    assert check_chroma(host, port, Path("/nonexistent")).ok
    handler.routes["/api/v2/heartbeat"] = (500, {"error": "boom"})
    status = check_chroma(host, port, Path("/nonexistent"))
    assert not status.ok and "HTTP 500" in status.detail
    down = check_chroma("127.0.0.1", _closed_port(), Path("/nonexistent"), timeout_s=1)
    assert not down.ok and "ALIGN_CHROMA_HOST" in down.detail


def test_chroma_embedded_needs_a_writable_directory(tmp_path):
    assert check_chroma(None, 8000, tmp_path / "data").ok
    (tmp_path / "file").write_text("x")
    status = check_chroma(None, 8000, tmp_path / "file")
    assert not status.ok and "ALIGN_DATA_DIR" in status.detail


# -- backbones ------------------------------------------------------------------------------


def test_openai_backbone_models_list(http_server, monkeypatch):
    host, port, handler = http_server
    base = f"http://{host}:{port}/v1"
    handler.routes["/v1/models"] = (200, {"object": "list", "data": [{"id": "qwen"}, {"id": "other"}]})
    config = BackboneConfig(type="openai", base_url=base, model="qwen", api_key_env="MY_KEY")
    monkeypatch.setenv("MY_KEY", "k-123")
    status = check_backbone("vllm", config)
    assert status.ok and "qwen" in status.detail
    assert handler.seen_auth[-1] == "Bearer k-123"

    wrong = check_backbone("vllm", BackboneConfig(type="openai", base_url=base, model="llama"))
    assert not wrong.ok and "not 'llama'" in wrong.detail
    assert check_backbone("vllm", BackboneConfig(type="openai", base_url=base)).ok  # no model: first one

    handler.routes["/v1/models"] = (401, {"error": "no key"})
    assert "HTTP 401" in check_backbone("vllm", config).detail
    handler.routes["/v1/models"] = (200, ["not", "a", "list"])
    assert "not an OpenAI model list" in check_backbone("vllm", config).detail
    down = BackboneConfig(type="openai", base_url=f"http://127.0.0.1:{_closed_port()}/v1")
    status = check_backbone("vllm", down, timeout_s=1)
    assert not status.ok and "start the model server" in status.detail


def test_llamacpp_backbone_model_file(tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 100)
    assert check_backbone("e", BackboneConfig(type="llamacpp", model_path=str(gguf))).ok
    other = tmp_path / "m.bin"
    other.write_bytes(b"PK\3\4")
    assert "not a GGUF" in check_backbone("e", BackboneConfig(type="llamacpp", model_path=str(other))).detail
    missing = check_backbone("e", BackboneConfig(type="llamacpp", model_path=str(tmp_path / "no.gguf")))
    assert not missing.ok and "model_path" in missing.detail


def test_a_backbone_type_that_is_not_installed_is_not_ok():
    # plugin types with and without a check of their own: tests/unit/test_backbone_health.py
    status = check_backbone("p", BackboneConfig(type="someplugin"))
    assert not status.ok and status.target == "someplugin"
    assert status.detail.startswith("backbone 'p': unknown backbone type 'someplugin'; known: ")


# -- report, route, CLI ---------------------------------------------------------------------


def _configure(monkeypatch, tmp_path, http: tuple[str, int, Any]) -> None:
    host, port, handler = http
    handler.routes["/api/v2/heartbeat"] = (200, {})
    handler.routes["/v1/models"] = (200, {"data": [{"id": "m"}]})
    monkeypatch.setenv("ALIGN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ALIGN_DEFAULT_BACKBONE", "vllm")
    monkeypatch.setenv("ALIGN_BACKBONES__VLLM__TYPE", "openai")
    monkeypatch.setenv("ALIGN_BACKBONES__VLLM__BASE_URL", f"http://{host}:{port}/v1")
    monkeypatch.setenv("ALIGN_BACKBONES__VLLM__MODEL", "m")
    monkeypatch.setenv("ALIGN_BACKBONES__LOCAL__TYPE", "llamacpp")
    monkeypatch.setenv("ALIGN_BACKBONES__LOCAL__MODEL_PATH", str(tmp_path / "missing.gguf"))
    monkeypatch.setenv("ALIGN_CHROMA_HOST", host)
    monkeypatch.setenv("ALIGN_CHROMA_PORT", str(port))


def test_report_is_ok_only_when_every_component_is(monkeypatch, tmp_path, http_server):
    _configure(monkeypatch, tmp_path, http_server)
    settings = load_settings()
    open_store(settings.effective_database_url()).close()
    report = check_health(settings)
    assert report.ok and set(report.components) == {"database", "chroma", "backbone"}
    data = json.loads(json.dumps(report.as_dict()))
    assert data["components"]["backbone"]["detail"] == "backbone 'vllm' serves m"

    more = check_health(settings, backbones=["local", "vllm"])
    assert not more.ok and set(more.components) == {"database", "chroma", "backbone", "backbone:local"}
    with pytest.raises(UnknownName, match="unknown backbone 'nope'; known: embedded, local, vllm"):
        check_health(settings, backbones=["nope"])


def test_healthz_route_answers_200_then_503(monkeypatch, tmp_path, http_server):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    _configure(monkeypatch, tmp_path, http_server)
    settings = load_settings()
    open_store(settings.effective_database_url()).close()

    async def everyone(request: object) -> bool:
        return True

    app = FastAPI()
    app.router.routes.extend(health_routes(settings, timeout_s=1, details=everyone))
    client = TestClient(app)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["ok"] is True
    assert client.get("/livez").json() == {"ok": True}
    plain = FastAPI()  # no details predicate: the test client is no loopback caller, it sees ok only
    plain.router.routes.extend(health_routes(settings, timeout_s=1))
    assert TestClient(plain).get("/healthz").json() == {"ok": True}

    http_server[2].routes.pop("/v1/models")  # the model server answers 404 now
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["components"]["backbone"]["ok"] is False


def test_cli_exit_status_and_json(monkeypatch, tmp_path, http_server, capsys):
    _configure(monkeypatch, tmp_path, http_server)
    assert main(["health", "--json"]) == 1  # the database does not exist yet
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["components"]["database"]["ok"] is False
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["health"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("healthy") and "backbone" in text
    assert main(["health", "--backbone", "local"]) == 1
    assert "UNHEALTHY" in capsys.readouterr().out
    assert main(["health", "--backbone", "nope"]) == 2
    assert main(["health", "--timeout", "0"]) == 2
