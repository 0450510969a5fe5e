"""``align setup``: prepare local files once, offline: the embedded model, the data directory,
the attribute definitions and (by default) the vendored example decisions."""

from __future__ import annotations

import argparse
from pathlib import Path

from assistant.cli.common import Subcommands
from assistant.cli.context import Cli
from assistant.models_local import embedded_model_path

__all__ = ["register"]

DEFAULT_EXAMPLES = Path("datasets")


def everyday_example_files(root: Path) -> list[Path]:
    """Everyday examples scored on the shipped value packs (the novel-attribute set stays out:
    it measures attributes that have no examples)."""
    return [root / "everyday" / "everyday_packs_input_output.json"]


def register(sub: Subcommands) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "setup",
        help="assemble the embedded model, create the data directory, seed attributes and examples",
    )
    p.add_argument(
        "--examples",
        default=str(DEFAULT_EXAMPLES),
        metavar="DIR",
        help="import the ALIGN files under DIR/triage, DIR/opinionqa and DIR/everyday's value-pack "
        "file into the example store, adding only what is not stored yet (default: ./datasets); "
        "pass an empty string to skip",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, cli: Cli) -> int:
    from assistant.cli.examples import import_paths
    from assistant.cli.operator import seed_new_packs

    settings = cli.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = embedded_model_path()
    print(f"embedded model: {path}")
    print(f"data directory: {settings.data_dir}")
    store = cli.store  # migrated, attribute packs seeded
    seed_new_packs(store)
    print(f"attribute definitions: {len(store.attributes.list())}")
    root = Path(args.examples) if args.examples else None
    if root is not None and (root / "triage").is_dir():
        examples = cli.examples
        # idempotent: an upgrade imports only what is new (the ids are content hashes)
        dirs = [
            str(p) for p in (root / "triage", root / "opinionqa", *everyday_example_files(root)) if p.exists()
        ]
        report = import_paths(examples, dirs)
        print(
            f"example decisions: imported {report['added']} from {', '.join(dirs)}; {examples.count()} stored"
        )
    elif root is not None:
        print(f"example decisions: {root}/triage not found; import later with `align examples import`")
    if root is not None:
        _seed_reader_record(root / "readers.json", settings.readers_path)
    return 0


def _seed_reader_record(seed: Path, path: Path) -> None:
    """The measured reader record of the seeded examples, unless the data directory has its own."""
    from assistant.decisions.reader_file import load_reader_record, save_reader_record

    if path.exists():
        print(f"reader record: {path} kept")
        return
    record = load_reader_record(seed)
    if record is None:
        return
    save_reader_record(record, path)
    print(f"reader record: {len(record.attributes())} values measured, from {seed}")
