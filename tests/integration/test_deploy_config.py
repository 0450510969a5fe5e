"""deploy/: the compose file validates with a real compose implementation, its settings load into
assistant.settings, the vLLM flags match vllm_options, and the Caddyfile adapts with a real Caddy
(HTTPS only, HSTS, HTTP redirected) and serves HTTPS through ``caddy run`` on high ports.

No image is pulled or built (no registry access here; no Docker engine runs)."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.backbones import build_backbone
from assistant.backbones.openai import vllm_options
from assistant.settings import load_settings
from tests.helpers.deploy_env import (
    COMPOSE_FILE,
    DEPLOY,
    ENV_EXAMPLE,
    app_environment,
    load_compose,
    read_env_file,
)
from tests.helpers.settings_env import clear_align_settings

LONG_RUNNING = ("vllm", "postgres", "chroma", "app", "proxy")


def _compose_command() -> list[str] | None:
    """``docker compose`` (the v2 plugin) if it works, else Debian's ``docker-compose``."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def _compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = _compose_command()
    if command is None:
        pytest.skip("no compose implementation: run `make setup` (installs Debian's docker-compose)")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "VLLM_", "ALIGN_"))}
    return subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        cwd=DEPLOY.parent,
        timeout=120,
    )


def test_compose_config_validates_with_the_example_env():
    result = _compose("--env-file", str(ENV_EXAMPLE), "config")
    assert result.returncode == 0, result.stderr
    import yaml

    resolved = yaml.safe_load(result.stdout)
    services = resolved["services"]
    assert set(services) == {"vllm", "postgres", "chroma", "migrate", "app", "proxy"}
    # The compose tool resolves the app's environment exactly as the production-stack test does.
    assert {k: str(v) for k, v in services["app"]["environment"].items()} == app_environment()
    assert services["app"]["deploy"]["replicas"] == 2


def test_compose_config_refuses_missing_secrets(tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = _compose("--env-file", str(empty), "config")
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr or "VLLM_API_KEY" in result.stderr


def test_services_order_health_checks_and_gpu():
    services = load_compose()["services"]
    for name in LONG_RUNNING:
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert services["migrate"]["command"][-1].startswith("align db upgrade && align db seed && ")
    assert services["migrate"]["restart"] == "no"
    assert services["app"]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["app"]["depends_on"]["vllm"] == {"condition": "service_healthy"}
    app_settings = {k: v for k, v in services["app"]["environment"].items() if k.startswith("ALIGN_")}
    assert app_settings and services["migrate"]["environment"].items() >= app_settings.items()
    # client addresses from Caddy's X-Forwarded-For, believed from the proxy's fixed address only
    assert "FORWARDED_ALLOW_IPS" not in services["app"]["environment"]
    proxy_address = services["proxy"]["networks"]["default"]["ipv4_address"]
    assert json.loads(services["app"]["environment"]["ALIGN_TRUSTED_PROXIES"]) == [proxy_address]
    assert "ports" not in services["app"]  # ...which is the app's only caller
    devices = services["vllm"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "chroma-data:/data" in services["chroma"]["volumes"]


def test_vllm_flags_match_the_request_options_version():
    vllm = load_compose()["services"]["vllm"]
    command = vllm["command"]
    for flag in vllm_options.SERVE_FLAGS_V0_12:
        assert flag in command, f"vllm serve misses {flag}"
    assert vllm["image"].endswith(f":v{vllm_options.VLLM_VERSION}.0")
    backend = json.loads(command[command.index("--structured-outputs-config") + 1])
    assert backend == {"backend": "xgrammar"}
    served = command[command.index("--served-model-name") + 1]
    assert app_environment()["ALIGN_BACKBONES__VLLM__MODEL"] == served


def test_every_variable_is_in_the_env_example():
    import re

    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE_FILE.read_text()))
    assert used <= set(read_env_file()), sorted(used - set(read_env_file()))


def test_the_app_environment_loads_into_settings(monkeypatch):
    """The exact ALIGN_* names the compose file passes build the intended Settings and backbone."""
    clear_align_settings(monkeypatch)
    for key, value in app_environment().items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://align:change-me@postgres:5432/align"
    assert (settings.chroma_host, settings.chroma_port) == ("chroma", 8000)
    # the embedded backbone is always kept beside the named ones
    assert settings.default_backbone == "vllm" and list(settings.backbones) == ["embedded", "vllm"]
    assert settings.data_dir == Path("/data")
    backbone = build_backbone("vllm", settings)  # contacts nothing
    try:
        options = backbone.options  # type: ignore[attr-defined]
        assert (options.base_url, options.flavour, options.model) == (
            "http://vllm:8000/v1",
            "vllm",
            "align-llm",
        )
        assert options.timeout_s == 120 and options.max_concurrency == 16
        assert options.api_key_env == "VLLM_API_KEY"
    finally:
        backbone.close()


def test_the_proxy_publishes_https_and_keeps_its_certificates():
    proxy = load_compose()["services"]["proxy"]
    assert proxy["ports"][:2] == ["80:80", "443:443"]  # as resolved with .env.example
    assert proxy["environment"] == {"ALIGN_DOMAIN": "localhost", "ALIGN_TLS": "acme"}
    assert "caddy-data:/data" in proxy["volumes"]  # certificates survive a restart (ACME rate limits)
    assert "8081" in " ".join(proxy["healthcheck"]["test"]) and not any("8081" in p for p in proxy["ports"])


# -- TLS: HTTPS only, HSTS, plain HTTP redirected -------------------------------------------------------


def _caddy() -> str:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed: run `make setup` (installs Debian's caddy)")
    return caddy


def _adapted(env: dict[str, str], caddyfile: Path = DEPLOY / "Caddyfile") -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ALIGN_")}
    result = subprocess.run(
        [_caddy(), "adapt", "--config", str(caddyfile), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def _handlers(node: Any) -> Iterator[dict[str, Any]]:
    """Every handler in a piece of Caddy's JSON config, however deep its subroutes go."""
    if isinstance(node, dict):
        if "handler" in node:
            yield node
        for value in node.values():
            yield from _handlers(value)
    elif isinstance(node, list):
        for value in node:
            yield from _handlers(value)


def _server(config: dict[str, Any], listen: str) -> dict[str, Any]:
    servers = config["apps"]["http"]["servers"].values()
    found = [s for s in servers if listen in s["listen"]]
    assert len(found) == 1, [s["listen"] for s in servers]
    return dict(found[0])


def test_caddyfile_serves_the_domain_over_https_only_with_hsts():
    config = _adapted({"ALIGN_DOMAIN": "align.example.org"})
    assert config["admin"] == {"disabled": True}
    https = _server(config, ":443")
    assert https["routes"][0]["match"] == [{"host": ["align.example.org"]}]
    handlers = list(_handlers(https))
    headers = [h for h in handlers if h["handler"] == "headers"]
    assert headers[0]["response"]["set"]["Strict-Transport-Security"] == ["max-age=31536000"]
    proxy = next(h for h in handlers if h["handler"] == "reverse_proxy")
    assert proxy["dynamic_upstreams"] == {
        "name": "app",
        "port": "7860",
        "refresh": 5_000_000_000,
        "source": "a",
    }
    assert proxy["load_balancing"]["selection_policy"] == {"name": "align_replica", "policy": "cookie"}
    assert proxy["flush_interval"] == -1
    # plain HTTP for the domain answers nothing but a redirect to HTTPS that keeps the method
    http = _server(config, ":80")
    assert http["routes"][0]["match"] == [{"host": ["align.example.org"]}]
    assert [h["handler"] for h in _handlers(http) if h["handler"] != "subroute"] == ["static_response"]
    redirect = next(h for h in _handlers(http) if h["handler"] == "static_response")
    assert redirect["status_code"] == 308
    assert redirect["headers"]["Location"] == ["https://{http.request.host}{http.request.uri}"]
    # a public name: automatic HTTPS (ACME), no internal certificate; the health listener is loopback only
    assert "tls" not in config["apps"] or not any(
        i.get("module") == "internal"
        for p in config["apps"]["tls"]["automation"]["policies"]
        for i in p.get("issuers", [])
    )
    health = _server(config, "127.0.0.1:8081")
    assert [h for h in _handlers(health) if h["handler"] == "reverse_proxy"]


def test_caddyfile_defaults_to_localhost_and_takes_tls_internal_on_request():
    config = _adapted({})
    assert _server(config, ":443")["routes"][0]["match"] == [{"host": ["localhost"]}]
    internal = _adapted({"ALIGN_DOMAIN": "align.test", "ALIGN_TLS": "internal"})
    policies = internal["apps"]["tls"]["automation"]["policies"]
    assert {"subjects": ["align.test"], "issuers": [{"module": "internal"}]} in policies


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Replica(http.server.BaseHTTPRequestHandler):
    """Stands in for an app replica: answers every GET with 200 and the path it was asked for."""

    def do_GET(self) -> None:  # the name http.server calls
        body = f"replica {self.path} proto={self.headers.get('X-Forwarded-Proto')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_caddy_answers_https_with_hsts_and_redirects_http(tmp_path):
    """A real ``caddy run`` of the Caddyfile on high ports, with its local authority (``ALIGN_TLS=
    internal``), in front of a stand-in replica: HTTPS answers carry HSTS, HTTP is redirected."""
    caddy = _caddy()
    replica = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Replica)
    threading.Thread(target=replica.serve_forever, daemon=True).start()
    text = (DEPLOY / "Caddyfile").read_text()
    dynamic = text[text.index("\tdynamic a {") : text.index("}\n", text.index("\tdynamic a {")) + 2]
    text = text.replace(dynamic, f"\tto 127.0.0.1:{replica.server_address[1]}\n")  # the replica
    # the test machine's trust store is left alone
    text = text.replace("\tadmin off\n", "\tadmin off\n\tskip_install_trust\n")
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(text)
    http_port, https_port, health_port = _free_port(), _free_port(), _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ALIGN_")}
    env = {
        **clean,
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "ALIGN_DOMAIN": "localhost",
        "ALIGN_TLS": "internal",
        "ALIGN_PROXY_HTTP_PORT": str(http_port),
        "ALIGN_PROXY_HTTPS_PORT": str(https_port),
        "ALIGN_PROXY_HEALTH_PORT": str(health_port),
    }
    log = (tmp_path / "caddy.log").open("wb")
    proc = subprocess.Popen(
        [caddy, "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        answer = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and answer is None:
            if proc.poll() is not None:
                pytest.fail(f"caddy exited: {(tmp_path / 'caddy.log').read_text()}")
            try:
                answer = httpx.get(f"https://localhost:{https_port}/livez?x=1", verify=False, timeout=5)
            except httpx.HTTPError:
                time.sleep(0.3)
        assert answer is not None, (tmp_path / "caddy.log").read_text()
        assert answer.status_code == 200 and answer.text == "replica /livez?x=1 proto=https"
        assert answer.headers["strict-transport-security"] == "max-age=31536000"
        plain = httpx.post(f"http://localhost:{http_port}/gradio_api/queue/join?a=b", json={}, timeout=5)
        assert plain.status_code == 308
        assert plain.headers["location"] == "https://localhost/gradio_api/queue/join?a=b"
        assert "strict-transport-security" not in plain.headers  # HSTS is sent over HTTPS only
        health = httpx.get(f"http://127.0.0.1:{health_port}/livez", timeout=5)
        assert health.status_code == 200 and health.text.startswith("replica /livez")
        assert httpx.get(f"http://127.0.0.1:{health_port}/", timeout=5).status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()
        replica.shutdown()
