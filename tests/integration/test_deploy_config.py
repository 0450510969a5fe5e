"""deploy/: the compose file validates with a real compose implementation, its settings load into
assistant.settings, the vLLM flags match vllm_options, and the Caddyfile adapts with a real Caddy.

No image is pulled or built (no registry access here; no Docker engine runs)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from deploy_env import COMPOSE_FILE, DEPLOY, ENV_EXAMPLE, app_environment, load_compose, read_env_file

from assistant.backbones import build_backbone, vllm_options
from assistant.settings import load_settings

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
    for key in list(os.environ):
        if key.startswith("ALIGN_"):
            monkeypatch.delenv(key)
    for key, value in app_environment().items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://align:change-me@postgres:5432/align"
    assert (settings.chroma_host, settings.chroma_port) == ("chroma", 8000)
    assert settings.default_backbone == "vllm" and list(settings.backbones) == ["vllm"]
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


def test_caddyfile_adapts_with_real_caddy():
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed: run `make setup` (installs Debian's caddy)")
    result = subprocess.run(
        [caddy, "adapt", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    handler = json.loads(result.stdout)["apps"]["http"]["servers"]["srv0"]["routes"][0]["handle"][0]
    assert handler["dynamic_upstreams"] == {
        "name": "app",
        "port": "7860",
        "refresh": 5_000_000_000,
        "source": "a",
    }
    assert handler["load_balancing"]["selection_policy"]["policy"] == "cookie"
    assert handler["flush_interval"] == -1
