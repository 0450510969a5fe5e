"""``align setup``: prepare local files (the embedded model) once, offline."""

from __future__ import annotations

import argparse
from typing import Any

from assistant.models_local import embedded_model_path
from assistant.settings import load_settings

__all__ = ["register"]


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "setup", help="assemble the embedded model and create the data directory"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = embedded_model_path()
    print(f"embedded model: {path}")
    print(f"data directory: {settings.data_dir}")
    return 0
