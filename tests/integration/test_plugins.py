"""A separate package adds an algorithm and a backbone through entry points, without touching this code."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from alignment.models import Scenario
from tests.helpers.cli import align_json, decide_args, run_align

VENV_BIN = Path(sys.executable).parent

PLUGIN = '''
from alignment.algorithms import Algorithm, Params
from alignment.backbone import Backbone, Capabilities, GenerationRequest, GenerationResult
from alignment.models import ChoiceScore, Decision


class LastParams(Params):
    note: str = "last"


class AlwaysLast(Algorithm):
    """Example plugin algorithm: picks the last choice and says why."""

    name = "always-last"
    Params = LastParams
    needs_target = False

    def decide(self, context, backbone):
        choices = context.scenario.choices
        i = len(choices) - 1
        return Decision(
            choice_index=i, choice=choices[i], justification=f"{self.params.note}: {backbone.name}",
            scores=[ChoiceScore(index=k, choice=c, score=float(k == i)) for k, c in enumerate(choices)],
            algorithm=self.name, backbone=backbone.name,
        )


class EchoBackbone(Backbone):
    capabilities = Capabilities(json_schema=False)

    def __init__(self, name, options):
        self.name = name
        self.options = options

    def execute(self, request: GenerationRequest) -> GenerationResult:
        return GenerationResult(texts=["echo"])


def create(name, options, settings):
    return EchoBackbone(name, options)


def check(name, options, *, client, timeout_s):
    """This type's own health check (``align health``, /healthz)."""
    from assistant.backbones.health import BackboneHealth

    colour = options.get("colour")
    return BackboneHealth(ok=colour == "blue", target="echo", detail=f"echo {name!r} is {colour}")


create.check = check
'''


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("plugin-src")
    (src / "align_plugin_demo.py").write_text(PLUGIN)
    (src / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["setuptools"]
            build-backend = "setuptools.build_meta"
            [project]
            name = "align-plugin-demo"
            version = "0.1"
            [project.entry-points."align.algorithms"]
            always-last = "align_plugin_demo:AlwaysLast"
            [project.entry-points."align.backbones"]
            echo = "align_plugin_demo:create"
            [tool.setuptools]
            py-modules = ["align_plugin_demo"]
            """
        )
    )
    target = tmp_path_factory.mktemp("plugin-site")
    subprocess.run(
        [
            str(VENV_BIN / "pip"),
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(src),
        ],
        check=True,
    )
    return target


def plugin_env(plugin_dir: Path | None, tmp_path: Path) -> dict[str, str]:
    """``align``'s environment here: its data in ``tmp_path``, the plugin importable when given."""
    return {"ALIGN_DATA_DIR": str(tmp_path), **({"PYTHONPATH": str(plugin_dir)} if plugin_dir else {})}


def test_plugin_algorithm_and_backbone_from_entry_points(plugin_dir, tmp_path):
    (tmp_path / "align.toml").write_text(
        '[backbones.embedded]\ntype = "llamacpp"\n[backbones.echo1]\ntype = "echo"\ncolour = "blue"\n'
    )
    decision = align_json(
        decide_args(
            Scenario(text="Pick one", choices=["first", "second"]),
            "--algorithm",
            "always-last",
            "--backbone",
            "echo1",
            "--param",
            "note=plugin",
            "--json",
        ),
        cwd=tmp_path,
        env=plugin_env(plugin_dir, tmp_path),
    )
    assert decision["choice"] == "second"
    assert decision["justification"] == "plugin: echo1"
    assert decision["algorithm"] == "always-last"


def test_plugin_backbone_checks_its_own_health(plugin_dir, tmp_path):
    (tmp_path / "align.toml").write_text(
        '[backbones.embedded]\ntype = "llamacpp"\n'
        '[backbones.echo1]\ntype = "echo"\ncolour = "blue"\n'
        '[backbones.echo2]\ntype = "echo"\ncolour = "red"\n'
    )
    out = run_align(
        ["health", "--json", "--backbone", "echo1", "--backbone", "echo2"],
        cwd=tmp_path,
        env=plugin_env(plugin_dir, tmp_path),
    )
    assert out.returncode == 1, out.stderr  # echo2 is red (and the database is not created yet)
    components = json.loads(out.stdout)["components"]
    assert components["backbone:echo1"] | {"latency_ms": 0} == {
        "ok": True,
        "checked": True,
        "latency_ms": 0,
        "target": "echo",
        "detail": "echo 'echo1' is blue",
    }
    assert components["backbone:echo2"]["ok"] is False
    assert components["backbone:echo2"]["detail"] == "echo 'echo2' is red"


def test_without_the_plugin_the_name_is_unknown(tmp_path):
    out = run_align(
        ["decide", "--scenario", "Pick", "--choice", "a", "--choice", "b", "--algorithm", "always-last"],
        cwd=tmp_path,
        env=plugin_env(None, tmp_path),
    )
    assert out.returncode == 2
    assert "unknown algorithm 'always-last'" in out.stderr and "Traceback" not in out.stderr
