"""The data the project ships (``datasets/``: example decisions, the reader record), found from any
working directory: ``ALIGN_DATASETS_DIR`` when set, else the ``datasets`` folder beside the installed
packages (the checkout that ``make setup`` installs), else ``./datasets``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from alignment.datasets import EVERYDAY_EXAMPLE_FILES, DatasetRecord, dataset_files, load_file
from alignment.errors import ConfigError, InputError

__all__ = [
    "default_everyday_paths",
    "default_triage_paths",
    "load_domain_records",
    "load_triage_records",
    "seed_data_dir",
]

ENV = "ALIGN_DATASETS_DIR"
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds assistant/, alignment/, ...


def _candidates() -> list[Path]:
    if os.environ.get(ENV):
        return [Path(os.environ[ENV])]
    return [_PACKAGE_ROOT / "datasets", Path.cwd() / "datasets"]


def seed_data_dir() -> Path:
    """The shipped ``datasets`` folder (it holds ``triage/``); a clear error when there is none."""
    tried = _candidates()
    for folder in tried:
        if (folder / "triage").is_dir():
            return folder
    raise ConfigError(
        f"the example data is missing: no triage/ folder in {', '.join(str(p) for p in tried)}; "
        f"set {ENV} to the project's datasets folder, or reinstall with `make setup`"
    )


def default_triage_paths() -> list[Path]:
    """The shipped triage files."""
    found = sorted((seed_data_dir() / "triage").glob("*.json"))
    if not found:
        raise InputError("no triage data found (datasets/triage); pass --data PATH")
    return found


def load_triage_records(paths: Sequence[str | Path] | None = None) -> list[DatasetRecord]:
    """Triage-domain records of the files (directories are searched for *.json); the shipped ones
    when no path is given."""
    files = dataset_files(list(paths or default_triage_paths()))
    records = [r for f in files for r in load_file(f) if r.domain == "triage"]
    if not records:
        raise InputError("the data holds no triage records; pass triage files with --data")
    return records


def default_everyday_paths() -> list[Path]:
    """The shipped everyday value-pack examples (not the sets that measure values read without
    examples)."""
    found = [seed_data_dir() / "everyday" / name for name in EVERYDAY_EXAMPLE_FILES]
    missing = [p for p in found if not p.is_file()]
    if missing:
        raise InputError(f"no everyday data found ({missing[0]}); pass --data PATH")
    return found


def load_domain_records(paths: Sequence[str | Path] | None, domain: str) -> list[DatasetRecord]:
    """Records of ``domain`` ("triage" or "everyday") in the files (default: the shipped ones)."""
    if domain == "triage":
        return load_triage_records(paths)
    files = dataset_files(list(paths or default_everyday_paths()))
    records = [r for f in files for r in load_file(f) if r.domain == domain]
    if not records:
        raise InputError(f"the data holds no {domain} records; pass {domain} files with --data")
    return records
