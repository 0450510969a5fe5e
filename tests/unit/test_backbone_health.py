"""Each backbone type checks itself (assistant.backbones.health), through an ``httpx.MockTransport``
client handed in: the openai type with the backbone's own key resolution, the llamacpp type's model
file, plugin types with and without a check of their own, and types that are not installed."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint, EntryPoints
from typing import Any

import httpx
import pytest

from assistant.backbones.health import BackboneHealth, check_backbone
from assistant.health import check_backbone as component_check
from assistant.health import check_health
from assistant.settings import BackboneConfig, load_settings
from profiles.store import open_store
from tests.helpers.settings_env import clear_align_settings

BASE = "http://gpu-box:8000/v1"


class Server:
    """A MockTransport handler: answers by path, records each request."""

    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes = routes
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        answer = self.routes.get(request.url.path, (404, {"error": "no route"}))
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return httpx.Response(status, json=body)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


def check(type_name: str, server: Server | None = None, name: str = "b", **options: Any) -> BackboneHealth:
    with (server or Server({})).client() as client:
        return check_backbone(name, type_name, options, client=client, timeout_s=1.0)


MODELS = (200, {"object": "list", "data": [{"id": "qwen"}, {"id": "other"}]})


# -- openai ----------------------------------------------------------------------------------


def test_openai_sends_the_key_the_backbone_would_send(monkeypatch):
    server = Server({"/v1/models": MODELS})
    monkeypatch.setenv("MY_KEY", "k-123")
    status = check("openai", server, name="vllm", base_url=BASE, model="qwen", api_key_env="MY_KEY")
    assert status == BackboneHealth(ok=True, target=f"{BASE}/models", detail="backbone 'vllm' serves qwen")
    assert server.seen[-1].headers["Authorization"] == "Bearer k-123"
    assert str(server.seen[-1].url) == f"{BASE}/models"

    assert check("openai", server, base_url=BASE, api_key="s3cret").ok
    assert server.seen[-1].headers["Authorization"] == "Bearer s3cret"
    assert check("openai", server, base_url=BASE + "/").ok  # no model: the first one; slash trimmed
    assert server.seen[-1].headers["Authorization"] == "Bearer EMPTY"  # the SDK's placeholder, as built


def test_openai_missing_key_variable_is_reported_without_a_request(monkeypatch):
    monkeypatch.delenv("NOT_SET_KEY", raising=False)
    server = Server({"/v1/models": MODELS})
    status = check("openai", server, name="vllm", base_url=BASE, api_key_env="NOT_SET_KEY")
    assert not status.ok and server.seen == []
    assert status.detail == (
        "backbone 'vllm': the environment variable NOT_SET_KEY (api_key_env) is not set; export it or "
        "remove api_key_env"
    )


def test_openai_options_are_the_backbones_own():
    server = Server({"/v1/models": MODELS})
    bad = check("openai", server, base_url=BASE, flavour="tgi")
    assert not bad.ok and bad.detail.startswith("backbone 'b' (type openai): flavour:") and server.seen == []
    for url in ("", "gpu-box:8000/v1"):
        status = check("openai", server, name="vllm", base_url=url)
        assert not status.ok and status.detail == "backbone 'vllm' has no http(s) base_url; set it"
    assert "has no http(s) base_url" in check("openai", server).detail  # no base_url at all
    assert server.seen == []


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        ((200, {"data": [{"id": "llama"}]}), "the server serves llama, not 'qwen'; fix the backbone's model"),
        ((200, {"data": []}), "backbone 'b': the server lists no model"),
        ((401, {"error": "no key"}), 'HTTP 401 {"error":"no key"}; check the server and the API key'),
        ((200, ["not", "a", "list"]), "not an OpenAI model list; check base_url"),
        ((200, {"data": [{"name": "no id"}]}), "not an OpenAI model list; check base_url"),
        (httpx.ConnectError("connection refused"), "no answer (ConnectError: connection refused); start the"),
        (httpx.ReadTimeout("timed out"), "no answer (ReadTimeout: timed out); start the model server"),
    ],
)
def test_openai_failures_say_what_to_do(answer, detail):
    status = check("openai", Server({"/v1/models": answer}), base_url=BASE, model="qwen")
    assert not status.ok and detail in status.detail and status.target == f"{BASE}/models"


# -- llamacpp --------------------------------------------------------------------------------


def test_llamacpp_checks_the_file_without_loading_it(tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 2_000_000)
    status = check("llamacpp", name="local", model_path=str(gguf), n_threads=1)
    assert status == BackboneHealth(
        ok=True, target=str(gguf), detail="backbone 'local': GGUF model file present (2 MB)"
    )
    (tmp_path / "m.bin").write_bytes(b"PK\3\4")
    assert (
        check("llamacpp", model_path=str(tmp_path / "m.bin")).detail
        == "backbone 'b': m.bin is not a GGUF file"
    )
    missing = check("llamacpp", model_path=str(tmp_path / "no.gguf"))
    assert not missing.ok and missing.detail == "backbone 'b': no model file; fix model_path"
    bad = check("llamacpp", model_path=str(gguf), n_ctxx=10)
    assert not bad.ok and "backbones.b.n_ctxx" in bad.detail


def test_llamacpp_embedded_file_is_never_assembled_by_the_check(monkeypatch, tmp_path):
    monkeypatch.setenv("ALIGN_MODEL_CACHE", str(tmp_path / "cache"))
    status = check("llamacpp")
    assert not status.ok and status.detail == "backbone 'b': no model file; run `align setup`"
    assert list((tmp_path / "cache").iterdir()) == []


# -- plugin types and unknown types ----------------------------------------------------------


def plugin_checked(name: str, options: dict[str, Any], *, client: httpx.Client, timeout_s: float) -> Any:
    colour = options.get("colour")
    return BackboneHealth(ok=colour == "blue", target="echo", detail=f"{name} is {colour} ({timeout_s:g} s)")


def plugin_with_check(name: str, options: dict[str, Any], settings: Any) -> Any:
    raise AssertionError("a health check builds no backbone")


plugin_with_check.check = plugin_checked  # type: ignore[attr-defined]


class PluginWithoutCheck:
    def __init__(self, name: str, options: dict[str, Any], settings: Any) -> None:
        raise AssertionError("a health check builds no backbone")


class PluginStaticCheck(PluginWithoutCheck):
    @staticmethod
    def check(name: str, options: dict[str, Any], *, client: httpx.Client, timeout_s: float) -> Any:
        return {"ok": False, "target": "x", "detail": "a plain dict of the same fields"}


@pytest.fixture
def plugins(monkeypatch):
    here = __name__
    found = EntryPoints(
        EntryPoint(name, f"{here}:{attr}", "align.backbones")
        for name, attr in [
            ("echo", "plugin_with_check"),
            ("bare", "PluginWithoutCheck"),
            ("static", "PluginStaticCheck"),
            ("broken", "no_such_module_here.nowhere:create"),
        ]
    )
    monkeypatch.setattr("assistant.backbones.entry_points", lambda group: found.select(group=group))


def test_plugin_types_check_themselves_or_are_unchecked(plugins):
    assert check("echo", colour="blue") == BackboneHealth(ok=True, target="echo", detail="b is blue (1 s)")
    assert not check("echo", colour="red").ok
    assert check("static") == BackboneHealth(ok=False, target="x", detail="a plain dict of the same fields")
    bare = check("bare")
    assert bare == BackboneHealth(
        ok=True, checked=False, target="bare", detail="backbone type 'bare' has no health check"
    )
    reported = component_check("p", BackboneConfig(type="bare"))  # as `align health` shows it
    assert reported.ok and not reported.checked and reported.latency_ms >= 0


def test_types_that_cannot_be_built_are_not_ok(plugins):
    unknown = check("someplugin")
    assert not unknown.ok and unknown.checked
    assert unknown.detail.startswith(
        "backbone 'b': unknown backbone type 'someplugin'; known: bare, broken, echo"
    )
    assert "llamacpp, openai, static" in unknown.detail
    broken = check("broken")
    assert not broken.ok and "backbone plugin 'broken' failed to load" in broken.detail


# -- the whole report through one client handed in ------------------------------------------


def test_report_goes_through_the_client_handed_in(monkeypatch, tmp_path):
    clear_align_settings(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ALIGN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ALIGN_CHROMA_HOST", "chroma-box")
    monkeypatch.setenv("ALIGN_DEFAULT_BACKBONE", "vllm")
    monkeypatch.setenv("ALIGN_BACKBONES__VLLM__TYPE", "openai")
    monkeypatch.setenv("ALIGN_BACKBONES__VLLM__BASE_URL", BASE)
    monkeypatch.setenv("ALIGN_BACKBONES__VLLM__MODEL", "qwen")
    settings = load_settings()
    open_store(settings.effective_database_url()).close()
    server = Server({"/v1/models": MODELS, "/api/v2/heartbeat": (200, {"nanosecond heartbeat": 1})})
    with server.client() as client:
        report = check_health(settings, timeout_s=1, client=client)
        assert not client.is_closed  # the owner closes it
    assert report.ok, json.dumps(report.as_dict())
    assert sorted(str(r.url) for r in server.seen) == [
        f"http://chroma-box:{settings.chroma_port}/api/v2/heartbeat",
        f"{BASE}/models",
    ]
    assert report.components["backbone"].detail == "backbone 'vllm' serves qwen"

    server.routes["/api/v2/heartbeat"] = httpx.ConnectError("no route to host")
    with server.client() as client:
        down = check_health(settings, timeout_s=1, client=client)
    assert not down.ok and "ALIGN_CHROMA_HOST" in down.components["chroma"].detail
