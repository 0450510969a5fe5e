"""``align setup``: prepare local files once, offline: the embedded model, the data directory,
the attribute definitions and (by default) the vendored example decisions."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from alignment.errors import ConfigError
from assistant.cli.common import Subcommands, add_command
from assistant.cli.context import Cli
from assistant.models_local import embedded_model_path
from assistant.stores.seed_data import seed_data_dir

if TYPE_CHECKING:
    from alignment.readers import ReaderRecord

__all__ = ["register"]


def everyday_example_files(root: Path) -> list[Path]:
    """Everyday examples scored on the shipped value packs (the novel-attribute and moral-clarity
    sets stay out: they measure values read without examples of the same dilemmas)."""
    from alignment.datasets import EVERYDAY_EXAMPLE_FILES

    return [root / "everyday" / name for name in EVERYDAY_EXAMPLE_FILES]


def register(sub: Subcommands) -> None:
    p = add_command(
        sub,
        "setup",
        run,
        help="assemble the embedded model, create the data directory, seed attributes and examples",
    )
    p.add_argument(
        "--examples",
        default=None,
        metavar="DIR",
        help="import the ALIGN files under DIR/triage, DIR/opinionqa and DIR/everyday's value-pack "
        "files into the example store, adding only what is not stored yet (default: the datasets "
        "folder installed with the project, wherever you run from); pass an empty string to skip",
    )


def run(args: argparse.Namespace, cli: Cli) -> int:
    from assistant.cli.examples import import_paths
    from assistant.cli.operator import seed_new_packs

    # found before anything is written: missing data is an error, not a quiet skip
    if args.examples is None:
        root: Path | None = seed_data_dir()
    else:
        root = Path(args.examples) if args.examples else None
    if root is not None and not (root / "triage").is_dir():
        raise ConfigError(f"--examples {root}: no triage/ folder there; name the project's datasets folder")
    settings = cli.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = embedded_model_path()
    print(f"embedded model: {path}")
    print(f"data directory: {settings.data_dir}")
    store = cli.store  # migrated, attribute packs seeded
    seed_new_packs(store)
    print(f"attribute definitions: {len(store.attributes.list())}")
    if root is not None:
        examples = cli.examples
        # idempotent: an upgrade imports only what is new (the ids are content hashes)
        dirs = [
            str(p) for p in (root / "triage", root / "opinionqa", *everyday_example_files(root)) if p.exists()
        ]
        report = import_paths(examples, dirs)
        print(
            f"example decisions: imported {report['added']} from {', '.join(dirs)}; {examples.count()} stored"
        )
        _seed_reader_record(root / "readers.json", settings.readers_path)
    return 0


def _seed_reader_record(seed: Path, path: Path) -> None:
    """The measured reader record of the seeded examples, unless the data directory has its own.
    A record seeded before outcomes kept their domain, unchanged since, is replaced by the seed (the
    same measurements, each with the domain it was measured on); any other record is kept."""
    from assistant.decisions.reader_file import is_legacy_record, load_reader_record, save_reader_record

    record = load_reader_record(seed)
    if path.exists():
        old = load_reader_record(path)
        if record is not None and is_legacy_record(path) and _same_measurements(old, record):
            save_reader_record(record, path)
            print(f"reader record: {path} now says which domain each measurement is from")
            return
        print(f"reader record: {path} kept")
        return
    if record is None:
        return
    save_reader_record(record, path)
    print(f"reader record: {len(record.attributes())} values measured, from {seed}")


def _same_measurements(old: ReaderRecord | None, new: ReaderRecord) -> bool:
    """Whether two records hold the same decisions, the domains they name aside."""
    if old is None or old.backbone != new.backbone:
        return False

    def key(r: ReaderRecord) -> list[tuple[str, str, str, tuple[tuple[str, bool], ...]]]:
        return sorted(
            (o.attribute, o.scenario_id, o.direction, tuple(sorted(o.right.items()))) for o in r.outcomes
        )

    return key(old) == key(new)
