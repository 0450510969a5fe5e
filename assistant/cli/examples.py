"""``align examples``: import, list, search, show and delete example decisions (Chroma)."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import TypedDict

from alignment.datasets import DatasetRecord, dataset_files, load_file
from alignment.errors import InputError
from alignment.example_admin import ExampleHit
from alignment.models import Example
from alignment.prompts import label_of
from assistant.cli.common import Subcommands, add_command, add_group
from assistant.cli.context import Cli
from assistant.stores.examples import ExampleStore

__all__ = ["FileImported", "ImportReport", "import_paths", "register"]


def register(sub: Subcommands) -> None:
    esub = add_group(
        sub,
        "examples",
        help="example decisions for icl and regression (import, list, search, show, delete)",
        description="Example decisions in the Chroma store (embedded under the data dir, or a Chroma "
        "server by ALIGN_CHROMA_HOST / ALIGN_CHROMA_PORT).",
    )

    imp = add_command(
        esub,
        "import",
        _import,
        help="import ALIGN input_output JSON files (idempotent)",
        description="Import ALIGN input_output JSON files (or every *.json in a directory). Every file "
        "is checked before anything is stored; a second import of the same files adds nothing.",
    )
    imp.add_argument("paths", nargs="+", metavar="PATH", help="a JSON file or a directory of them")
    imp.add_argument("--domain", help="domain of the examples (default: from the file: triage, opinionqa)")
    imp.add_argument(
        "--scale", type=float, help="top of the score range (default: 10 if any score > 1, else 1)"
    )
    imp.add_argument("--json", action="store_true", help="print the counts as JSON")

    ls = add_command(esub, "list", _list, help="list stored examples")
    ls.add_argument("--domain")
    ls.add_argument("--source", help="only examples from this file name")
    ls.add_argument("--attribute", help="only examples scored on this attribute")
    ls.add_argument("--limit", type=int, default=20)
    ls.add_argument("--offset", type=int, default=0)
    ls.add_argument("--json", action="store_true")

    se = add_command(esub, "search", _search, help="retrieve the examples most similar to a text")
    se.add_argument("query", help="scenario text to match")
    se.add_argument("--k", type=int, default=3)
    se.add_argument("--domain")
    se.add_argument("--attribute", action="append", help="must score this attribute (repeatable: any)")
    se.add_argument("--exclude-scenario", help="leave out examples of this scenario id")
    se.add_argument("--mmr", type=float, metavar="LAMBDA", help="diversify by MMR (1 = similar, 0 = diverse)")
    se.add_argument("--keep-duplicates", action="store_true", help="keep examples with the query's text")
    se.add_argument("--json", action="store_true")

    sh = add_command(esub, "show", _show, help="show one example")
    sh.add_argument("id")
    sh.add_argument("--json", action="store_true")

    de = add_command(esub, "delete", _delete, help="delete examples by id, or all of one source file")
    de.add_argument("ids", nargs="*", metavar="ID")
    de.add_argument("--source", help="delete every example imported from this file name")


class FileImported(TypedDict):
    path: str
    records: int
    added: int
    present: int
    domain: str


class ImportReport(TypedDict):
    """What ``import_paths`` added, per file and in all (``--json`` prints it as it is)."""

    files: list[FileImported]
    added: int
    present: int
    per_domain: dict[str, int]  # added, by domain
    total: int  # the store's examples afterwards


def import_paths(
    store: ExampleStore,
    paths: list[str],
    *,
    domain: str | None = None,
    scale: float | None = None,
    progress: bool = True,
) -> ImportReport:
    """Check every file, then add their records; returns the counts (added / present / per domain)."""
    from tqdm import tqdm

    files = dataset_files(paths)
    loaded: list[tuple[Path, list[DatasetRecord]]] = [
        (f, load_file(f, domain=domain, scale=scale)) for f in files
    ]
    total = sum(len(records) for _, records in loaded)
    done: list[FileImported] = []
    per_domain: Counter[str] = Counter()
    with tqdm(
        total=total, unit="ex", desc="import", disable=None if progress else True, file=sys.stderr
    ) as bar:
        for path, records in loaded:
            added = store.add_records(records, progress=bar.update)
            done.append(
                FileImported(
                    path=str(path),
                    records=len(records),
                    added=len(added.added),
                    present=len(added.present),
                    domain=records[0].domain,
                )
            )
            per_domain.update(added.per_domain)
    return ImportReport(
        files=done,
        added=sum(f["added"] for f in done),
        present=sum(f["present"] for f in done),
        per_domain=dict(per_domain),
        total=store.count(),
    )


def _import(args: argparse.Namespace, cli: Cli) -> int:
    store = cli.examples
    report = import_paths(store, args.paths, domain=args.domain, scale=args.scale)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for f in report["files"]:
        print(f"{f['path']}: {f['records']} records, {f['added']} added, {f['present']} already present")
    domains = ", ".join(f"{d} +{n}" for d, n in sorted(report["per_domain"].items())) or "none"
    print(
        f"Added {report['added']} examples ({domains}); {report['present']} were already present. "
        f"The store holds {report['total']}."
    )
    return 0


def _summary(example: Example) -> str:
    text = example.text.replace("\n", " ")
    text = text if len(text) <= 70 else text[:67] + "..."
    attributes = sorted({a for s in example.scores for a in s})
    return f"{example.id}  [{example.domain}] {example.scenario_id}  {', '.join(attributes)}  {text}"


def _list(args: argparse.Namespace, cli: Cli) -> int:
    if args.limit < 1 or args.offset < 0:
        raise InputError("--limit must be at least 1 and --offset at least 0")
    store = cli.examples
    items = store.list_examples(
        domain=args.domain, source=args.source, attribute=args.attribute, limit=args.limit, offset=args.offset
    )
    if args.json:
        print(json.dumps([e.model_dump(mode="json") for e in items], indent=2, ensure_ascii=False))
        return 0
    counts = store.counts()["domain"]
    print(
        f"{store.count()} examples ("
        + ", ".join(f"{d}: {n}" for d, n in sorted(counts.items()))
        + f"); showing {len(items)} from {args.offset}"
    )
    for example in items:
        print(_summary(example))
    return 0


def _format(example: Example) -> str:
    lines = [
        f"Id: {example.id}",
        f"Domain: {example.domain}  Source: {example.source}  Scenario: {example.scenario_id}",
        f"Scenario: {example.text}",
        "Choices:",
    ]
    for i, choice in enumerate(example.choices):
        mark = "*" if example.chosen == i else " "
        scores = ", ".join(
            f"{k}={v:.2f}" for k, v in (example.scores[i] if i < len(example.scores) else {}).items()
        )
        lines.append(f" {mark} ({label_of(i)}) {choice}" + (f"  [{scores}]" if scores else ""))
    return "\n".join(lines)


def _show(args: argparse.Namespace, cli: Cli) -> int:
    example = cli.examples.get(args.id)
    print(
        json.dumps(example.model_dump(mode="json"), indent=2, ensure_ascii=False)
        if args.json
        else _format(example)
    )
    return 0


def _search(args: argparse.Namespace, cli: Cli) -> int:
    hits: list[ExampleHit] = cli.examples.search(
        args.query,
        k=args.k,
        domain=args.domain,
        attributes=args.attribute,
        exclude_scenario_id=args.exclude_scenario,
        exclude_near_duplicates=not args.keep_duplicates,
        mmr_lambda=args.mmr,
    )
    if args.json:
        print(json.dumps([h.model_dump(mode="json") for h in hits], indent=2, ensure_ascii=False))
        return 0
    if not hits:
        print("No matching examples.")
    for hit in hits:
        print(f"{hit.similarity:.3f}  {_summary(hit.example)}")
    return 0


def _delete(args: argparse.Namespace, cli: Cli) -> int:
    if bool(args.ids) == bool(args.source):
        raise InputError("give example ids or --source FILE_NAME (one of them)")
    store = cli.examples
    deleted = store.delete_source(args.source) if args.source else store.delete(args.ids)
    print(f"Deleted {len(deleted)} example{'s' if len(deleted) != 1 else ''}.")
    return 0
