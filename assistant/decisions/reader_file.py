"""The reader record on disk (``readers.json`` in the data directory): read, written, merged."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from alignment.errors import ConfigError
from alignment.readers import ReaderRecord

__all__ = ["is_legacy_record", "load_reader_record", "merge_records", "save_reader_record"]


def load_reader_record(path: Path) -> ReaderRecord | None:
    """The record at ``path``; None when there is none. A broken file is an error that says how to
    mend it (the record only ever changes which reader reads a value, so nothing is decided on a
    guess). An outcome written before outcomes kept their domain is read as measured on triage
    (``LEGACY_DOMAIN``), which is where the records of that time were measured."""
    if not path.is_file():
        return None
    try:
        return ReaderRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, ValueError, OSError) as exc:
        raise ConfigError(
            f"the reader record {path} cannot be read ({str(exc).splitlines()[0]}); measure it again with "
            "`align readers learn RESULTS.jsonl...`, or delete the file to read every value with value-fit"
        ) from None


def is_legacy_record(path: Path) -> bool:
    """Whether the file at ``path`` was written before outcomes kept their domain (none names one)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        outcomes = data.get("outcomes") or []
    except (OSError, ValueError, AttributeError):
        return False
    return bool(outcomes) and all(isinstance(o, dict) and "domain" not in o for o in outcomes)


def save_reader_record(record: ReaderRecord, path: Path) -> None:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".readers-", suffix=".json", dir=path.parent)
    try:
        rows = ",\n".join(json.dumps(o.model_dump(), ensure_ascii=False) for o in record.outcomes)
        with os.fdopen(fd, "w", encoding="utf-8") as f:  # one outcome a line: a readable diff
            f.write(f'{{"backbone": {json.dumps(record.backbone)}, "outcomes": [\n{rows}\n]}}\n')
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def merge_records(old: ReaderRecord | None, new: ReaderRecord) -> ReaderRecord:
    """``new``'s outcomes replace ``old``'s for the values ``new`` measured in the domains it measured
    them in; the others stay (when both were measured on the same backbone)."""
    if old is None or old.backbone != new.backbone:
        return new
    measured = set(new.measured())
    kept = [o for o in old.outcomes if (o.attribute, o.domain) not in measured]
    outcomes = sorted(
        [*kept, *new.outcomes], key=lambda o: (o.attribute, o.domain, o.scenario_id, o.direction)
    )
    return ReaderRecord(backbone=new.backbone, outcomes=outcomes)
