"""The ``align`` command. Each sub-command group lives in its own module with ``register``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from alignment.errors import AlignError

__all__ = ["main"]

# Command-group modules; each has register(subparsers) that sets ``handler`` defaults.
_GROUPS = [
    "assistant.cli.decide",
    "assistant.cli.config",
    "assistant.cli.bench",
    "assistant.cli.setup",
    "assistant.cli.models",
    "assistant.cli.examples",
    "assistant.cli.eval",
    "assistant.cli.readers",
    "assistant.cli.users",
    "assistant.cli.attributes",
    "assistant.cli.profiles",
    "assistant.cli.log",
    "assistant.cli.db",
    "assistant.cli.calibration",
    "assistant.cli.feedback",
    "assistant.cli.health",
    "assistant.cli.serve",
]


def build_parser() -> argparse.ArgumentParser:
    from importlib import import_module

    parser = argparse.ArgumentParser(
        prog="align", description="ALIGN assistant: decisions aligned to your values."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _GROUPS:
        import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from assistant.cli.context import Cli
    from assistant.settings import load_settings

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # settings built once (by the command's own loader, if it has one: serve's has the serving
        # defaults); what a command opens is closed when it ends
        with Cli(getattr(args, "settings_loader", load_settings)) as cli:
            code = args.handler(args, cli)
    except AlignError as exc:
        print(f"align: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("align: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
