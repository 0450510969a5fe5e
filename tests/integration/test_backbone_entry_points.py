"""The metadata an install of this checkout gets lists the built-in backbone types, and the registry
finds and uses them from that metadata alone, as it does a plugin's (no ``BUILTIN`` fallback)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.metadata import PathDistribution
from pathlib import Path

import httpx
import pytest

from assistant.backbones import BUILTIN, ENTRY_POINT_GROUP, backbone_types, get_backbone_type
from assistant.backbones.health import check_backbone
from assistant.backbones.langchain import LANGCHAIN
from assistant.backbones.llamacpp import LLAMACPP
from assistant.backbones.openai import OPENAI

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built_metadata(tmp_path_factory) -> PathDistribution:
    """setuptools' metadata of this checkout's pyproject.toml, as ``pip install`` writes it (built in a
    copy, so that the checkout gets no ``*.egg-info``)."""
    src = tmp_path_factory.mktemp("checkout")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("metadata")
    made = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from setuptools import build_meta; print(build_meta.prepare_metadata_for_build_wheel({str(out)!r}))",
        ],
        cwd=src,
        capture_output=True,
        text=True,
        check=True,
    )
    return PathDistribution(out / made.stdout.split()[-1])


def test_an_install_declares_the_builtin_types(built_metadata):
    declared = built_metadata.entry_points.select(group=ENTRY_POINT_GROUP)
    assert {(ep.name, ep.value) for ep in declared} == {(ep.name, ep.value) for ep in BUILTIN}


def test_the_registry_uses_them_from_the_metadata_alone(built_metadata, monkeypatch, tmp_path):
    declared = built_metadata.entry_points
    monkeypatch.setattr("assistant.backbones.BUILTIN", ())
    monkeypatch.setattr("assistant.backbones.entry_points", lambda group: declared.select(group=group))
    assert backbone_types() == ["langchain", "llamacpp", "openai"]
    for name, kind in [("langchain", LANGCHAIN), ("llamacpp", LLAMACPP), ("openai", OPENAI)]:
        assert get_backbone_type(name) is kind
    with httpx.Client() as client:
        health = check_backbone(
            "local", "llamacpp", {"model_path": str(tmp_path / "no.gguf")}, client=client, timeout_s=1
        )
    assert not health.ok and health.detail == "backbone 'local': no model file; fix model_path"
