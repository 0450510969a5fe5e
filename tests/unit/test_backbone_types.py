"""One registry of backbone types (assistant.backbones): the built-ins are entry points like any plugin's,
declared in pyproject.toml; each type is one BackboneType (create, check, serving defaults), which
``align serve``'s defaults and ``align health`` ask instead of switching on the type's name."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import EntryPoint, EntryPoints
from pathlib import Path
from typing import Any

import httpx
import pytest

import assistant.backbones as registry
from alignment.errors import ConfigError, UnknownName
from alignment.fake import FakeBackbone
from assistant.backbones import BUILTIN, ENTRY_POINT_GROUP, BackboneType, backbone_types, get_backbone_type
from assistant.backbones.health import BackboneHealth, check_backbone
from assistant.backbones.llamacpp import LLAMACPP
from assistant.backbones.serving import for_serving, loads_first, queue_concurrency, serving_threads
from assistant.settings import Settings
from tests.helpers.settings_env import clear_align_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    clear_align_settings(monkeypatch)
    monkeypatch.chdir(tmp_path)


def installed(monkeypatch, *found: tuple[str, str]) -> None:
    """What the installed packages' metadata lists in the group: only ``found``."""
    points = EntryPoints(EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in found)
    monkeypatch.setattr("assistant.backbones.entry_points", lambda group: points.select(group=group))


def test_pyproject_declares_the_builtin_types_as_entry_points():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][
        ENTRY_POINT_GROUP
    ]
    assert declared == {ep.name: ep.value for ep in BUILTIN}
    assert sorted(declared) == ["langchain", "llamacpp", "openai"]


def test_builtins_load_through_the_plugin_path_even_when_the_metadata_lists_none(monkeypatch):
    installed(monkeypatch)  # an install made before the package declared its types
    assert backbone_types() == ["langchain", "llamacpp", "openai"]
    for ep in BUILTIN:
        kind = get_backbone_type(ep.name)
        assert isinstance(kind, BackboneType) and kind is ep.load()
        assert kind.check is not None
    assert get_backbone_type("llamacpp") is LLAMACPP
    with pytest.raises(UnknownName, match="unknown backbone type 'vllm'; known: langchain, llamacpp, openai"):
        get_backbone_type("vllm")


def test_the_same_entry_points_from_the_metadata_are_one_type_each(monkeypatch):
    installed(monkeypatch, *((ep.name, ep.value) for ep in BUILTIN), ("echo", f"{__name__}:ECHO"))
    assert backbone_types() == ["echo", "langchain", "llamacpp", "openai"]
    assert get_backbone_type("echo") is ECHO


def test_a_plugin_cannot_take_a_builtin_name(monkeypatch):
    installed(monkeypatch, ("llamacpp", f"{__name__}:ECHO"))
    assert get_backbone_type("llamacpp") is LLAMACPP


def test_importing_a_type_loads_no_model_runtime():
    code = (
        "import sys\n"
        "from assistant.backbones import BUILTIN, get_backbone_type\n"
        "[get_backbone_type(ep.name) for ep in BUILTIN]\n"
        "print(' '.join(m for m in ('llama_cpp', 'openai', 'langchain_core', 'numpy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.split() == []


# -- a plugin's own BackboneType: the same questions the built-ins answer ----------------------


def echo_create(name: str, options: dict[str, Any], settings: Any) -> FakeBackbone:
    return FakeBackbone(name=name)


def echo_check(
    name: str, options: dict[str, Any], *, client: httpx.Client, timeout_s: float
) -> BackboneHealth:
    return BackboneHealth(ok=True, target="echo", detail=f"{name} has {options.get('lanes')} lanes")


ECHO = BackboneType(
    create=echo_create,
    check=echo_check,
    serving_defaults=lambda options: {} if "warm" in options else {"warm": True},
    concurrency=lambda name, options: int(options.get("lanes", 1)),
    in_process=True,
)


def plain_factory(name: str, options: dict[str, Any], settings: Any) -> FakeBackbone:
    return FakeBackbone(name=name)


@pytest.fixture
def echo(monkeypatch):
    installed(
        monkeypatch,
        ("echo", f"{__name__}:ECHO"),
        ("plain", f"{__name__}:plain_factory"),
        ("broken", "no_such_module_here:create"),
    )


def test_a_plugin_type_is_built_and_checked_through_the_registry(echo):
    settings = Settings(backbones={"embedded": {"type": "llamacpp"}, "e": {"type": "echo", "lanes": 3}})
    assert registry.build_backbone("e", settings).name == "e"
    with httpx.Client() as client:
        health = check_backbone("e", "echo", {"lanes": 3}, client=client, timeout_s=1)
    assert health == BackboneHealth(ok=True, target="echo", detail="e has 3 lanes")
    assert get_backbone_type("plain").check is None and get_backbone_type("plain").create is plain_factory
    with pytest.raises(ConfigError, match="backbone plugin 'broken' failed to load"):
        get_backbone_type("broken")


def test_serving_asks_each_type(echo):
    backbones = {
        "embedded": {"type": "llamacpp"},
        "e": {"type": "echo", "lanes": 6},
        "warm": {"type": "echo", "warm": False},
        "p": {"type": "plain"},
        "gone": {"type": "broken"},
        "unknown": {"type": "nowhere"},
    }
    settings = Settings(backbones=backbones)
    served = for_serving(settings)
    assert served.backbones["embedded"].options() == {"n_threads": serving_threads()}
    assert served.backbones["e"].options() == {"lanes": 6, "warm": True}
    assert served.backbones["warm"].options() == {"warm": False}  # the settings' own value stands
    for same in ("p", "gone", "unknown"):  # no defaults, or no type to ask: as configured
        assert served.backbones[same] == settings.backbones[same]
    assert queue_concurrency(settings) == 6
    assert queue_concurrency(Settings(backbones={**backbones, "e": {"type": "echo", "lanes": 2}})) == 4

    assert loads_first(settings)  # the embedded default runs in process
    for default in ("e", "p", "gone", "unknown"):
        assert loads_first(Settings(backbones=backbones, default_backbone=default)) == (default == "e")
