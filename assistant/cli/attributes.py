"""``align attributes list|show|add``: attribute definitions (everyone reads; admins add)."""

from __future__ import annotations

import argparse

from assistant.cli.common import Subcommands, add_command, add_group, validated
from assistant.cli.context import Cli
from assistant.cli.operator import acting_user, add_user_arg, print_model, print_rows
from profiles.schemas import AttributeCreate, AttributeGroup, AttributePublic

__all__ = ["format_attribute", "register"]


def register(sub: Subcommands) -> None:
    asub = add_group(
        sub,
        "attributes",
        help="attribute definitions (values and demographic categories)",
        description="Attribute definitions. Load the shipped ones with `align db seed`.",
    )

    ls = add_command(asub, "list", _list, help="list attribute definitions")
    ls.add_argument("--domain", help="only this domain (triage, opinion, ...)")
    ls.add_argument("--kind", choices=["scalar", "category"])
    ls.add_argument("--json", action="store_true")

    sh = add_command(asub, "show", _show, help="show one definition")
    sh.add_argument("name")
    sh.add_argument("--json", action="store_true")

    a = add_command(
        asub,
        "add",
        _add,
        help="add a definition (admins only)",
        description="Add a scalar attribute (a value in [0, 1]), or a demographic category with --group.",
    )
    a.add_argument("name")
    a.add_argument("--description", default="", help="what the attribute is about")
    a.add_argument("--high", default="", help="what a value near 1 means")
    a.add_argument("--low", default="", help="what a value near 0 means")
    a.add_argument("--domain", default="generic", help="triage, opinion, or your own (default: generic)")
    a.add_argument("--label", default="", help="a display name")
    a.add_argument("--scale-min", type=float, default=0.0, help="native scale of the data (default 0)")
    a.add_argument("--scale-max", type=float, default=1.0, help="native scale of the data (default 1)")
    a.add_argument(
        "--group",
        action="append",
        metavar="KEY[=LABEL]",
        help="a group of a demographic category (repeatable; makes the attribute a category)",
    )
    add_user_arg(a)


def format_attribute(a: AttributePublic) -> str:
    lines = [f"{a.name} ({a.kind}, domain {a.domain})" + (f": {a.label}" if a.label else "")]
    for label, text in (("description", a.description), ("high", a.high), ("low", a.low)):
        if text:
            lines.append(f"  {label}: {text}")
    if a.kind == "scalar":
        lines.append(f"  data scale: {a.scale_min:g}..{a.scale_max:g} (targets are always in [0, 1])")
    for g in a.groups:
        lines.append(f"  group {g.key}" + (f" ({g.label})" if g.label and g.label != g.key else ""))
    return "\n".join(lines)


def _list(args: argparse.Namespace, cli: Cli) -> int:
    store = cli.store
    items = store.attributes.list(domain=args.domain, kind=args.kind)
    print_rows(items, args.json, _row, "no attribute definitions; load the shipped ones with `align db seed`")
    return 0


def _row(a: AttributePublic) -> str:
    extra = f"{len(a.groups)} groups" if a.kind == "category" else (a.label or "")
    return f"{a.name:<24} {a.domain:<8} {a.kind:<8} {extra}"


def _show(args: argparse.Namespace, cli: Cli) -> int:
    store = cli.store
    item = store.attributes.get(args.name)
    print_model(item, args.json, format_attribute)
    return 0


# the options of `align attributes add` that are AttributeCreate fields of the same name
_ADD_FIELDS = ("name", "domain", "label", "description", "high", "low", "scale_min", "scale_max")


def _add(args: argparse.Namespace, cli: Cli) -> int:
    groups = []
    for raw in args.group or []:
        key, _, label = raw.partition("=")
        groups.append({"key": key.strip(), "label": label.strip()})
    data = validated(
        AttributeCreate,
        kind="category" if groups else "scalar",
        groups=[validated(AttributeGroup, **g) for g in groups],
        **{name: getattr(args, name) for name in _ADD_FIELDS},
    )
    store = cli.store
    item = store.attributes.add(acting_user(store, args.user), data)
    print(f"added attribute {item.name!r}")
    return 0
