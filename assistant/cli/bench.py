"""``align bench``: speed benchmarks (ratios measured in one run)."""

from __future__ import annotations

import argparse
from typing import Any

from alignment.errors import NotImplementedFeature

__all__ = ["register"]


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("bench", help="benchmarks")
    bsub = p.add_subparsers(dest="bench_command", required=True, metavar="WHAT")
    b = bsub.add_parser("backbone", help="pipeline/raw and structured/unconstrained speed ratios")
    b.add_argument("--json", action="store_true")
    b.set_defaults(handler=_not_yet)
    from assistant.cli.bench_store import register_store

    register_store(bsub)


def _not_yet(args: argparse.Namespace) -> int:
    raise NotImplementedFeature("align bench backbone is not built yet")
