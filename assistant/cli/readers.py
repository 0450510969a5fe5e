"""``align readers``: which reader follows each value best, measured on its stored decisions.

``learn`` builds the record from ``align eval --algorithm value-fit,regression`` results, each
measurement with the domain of its item; ``show`` prints it, value by value and domain by domain, with
the reader each uses (in that domain only).
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import Any

from alignment.errors import InputError
from alignment.readers import ALTERNATIVE_READER, DEFAULT_READER, ReaderRecord, record_from_results, tally
from assistant.cli.common import Subcommands, add_command, add_group
from assistant.cli.context import Cli
from assistant.decisions.reader_file import load_reader_record, merge_records, save_reader_record

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    rsub = add_group(
        sub, "readers", help="which reader (value-fit or the model's ratings) follows each value best"
    )
    learn = add_command(
        rsub,
        "learn",
        run_learn,
        help="record, from `align eval --algorithm value-fit,regression` results, how often each "
        "reader chose as each value asks",
    )
    learn.add_argument("results", nargs="+", metavar="RESULTS", help="results.jsonl (or .jsonl.gz) files")
    learn.add_argument(
        "--backbone", default=None, help="the backbone regression ran on (default: the default one)"
    )
    learn.add_argument(
        "--domain",
        default=None,
        help="the domain the results' items are from (triage, everyday, ...), for results that do not "
        "say it themselves; a value's reader is then used only for decisions of that domain",
    )
    learn.add_argument("--out", default=None, help="the record file (default: the settings' readers_path)")
    show = add_command(rsub, "show", run_show, help="print the record and the reader each value uses")
    show.add_argument("--json", action="store_true")


def _rows(path: Path) -> list[dict[str, Any]]:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    rows = []
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise InputError(f"{path}, line {n}: not JSON ({exc.msg})") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return rows


def run_learn(args: argparse.Namespace, cli: Cli) -> int:
    settings = cli.settings
    backbone = args.backbone or settings.default_backbone
    rows = [row for path in args.results for row in _rows(Path(path))]
    try:
        record = record_from_results(rows, backbone, domain=args.domain)
    except (KeyError, ValueError) as exc:
        raise InputError(f"these are not `align eval` results: {exc}") from None
    if not record.outcomes:
        raise InputError(
            f"no item was answered by both {DEFAULT_READER} and {ALTERNATIVE_READER} on backbone "
            f"{backbone!r}; run `align eval --algorithm {DEFAULT_READER},{ALTERNATIVE_READER}` on the "
            "same files first"
        )
    out = Path(args.out) if args.out else settings.readers_path
    merged = merge_records(load_reader_record(out), record)
    save_reader_record(merged, out)
    print(f"reader record: {len(record.attributes())} values measured, {len(merged.attributes())} in {out}")
    _print(merged)
    return 0


def run_show(args: argparse.Namespace, cli: Cli) -> int:
    path = cli.settings.readers_path
    record = load_reader_record(path)
    if record is None:
        print(f"no reader record at {path}: every value is read by {DEFAULT_READER}")
        return 0
    if args.json:
        print(record.model_dump_json(indent=1))
        return 0
    print(f"{path} (regression on backbone {record.backbone!r})")
    _print(record)
    return 0


def _print(record: ReaderRecord) -> None:
    print(
        f"| value | domain | decisions | {DEFAULT_READER} right | {ALTERNATIVE_READER} right | "
        f"only {ALTERNATIVE_READER} / only {DEFAULT_READER} right | sign test p | reader used |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for attribute, domain in record.measured():
        t = tally(record, attribute, domain=domain)
        used = ALTERNATIVE_READER if t.better() else DEFAULT_READER
        print(
            f"| {attribute} | {domain} | {t.decisions} | {t.right[DEFAULT_READER]} | "
            f"{t.right[ALTERNATIVE_READER]} | {t.only_alternative} / {t.only_default} | {t.p_value:.3f} | "
            f"{used} |"
        )
    print(
        "A value's reader is used only for decisions of the domain it was measured on; a decision of "
        f"another domain, or of none named, reads it with {DEFAULT_READER}."
    )
