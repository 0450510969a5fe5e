"""``align config show``: the effective configuration and where each value came from."""

from __future__ import annotations

import argparse
import json

from assistant.cli.common import Subcommands, add_command, add_group
from assistant.cli.context import Cli
from assistant.settings import describe_sources

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    csub = add_group(sub, "config", help="show the configuration")
    show = add_command(csub, "show", run_show, help="print the effective configuration with its sources")
    show.add_argument("--json", action="store_true")


def run_show(args: argparse.Namespace, cli: Cli) -> int:
    settings = cli.settings
    data = settings.model_dump(mode="json")
    sources = describe_sources(settings)
    if args.json:
        print(json.dumps({"settings": data, "sources": sources}, indent=2))
        return 0
    for key, value in data.items():
        print(f"{key} = {json.dumps(value)}    # {sources.get(key, 'default')}")
    return 0
