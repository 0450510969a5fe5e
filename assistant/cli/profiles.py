"""``align profiles create|list|show|set|delete|export|import``: your alignment profiles."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from alignment.errors import InputError
from alignment.models import Attribute
from assistant.cli.common import (
    Subcommands,
    add_command,
    add_group,
    check_new_key,
    parse_assignments,
    split_assignment,
    validated,
)
from assistant.cli.context import Cli
from assistant.cli.operator import acting_user, add_user_arg, print_json, print_model, print_rows
from assistant.decisions.service import validation_message
from profiles.schemas import ProfileBundle, ProfileCreate, ProfilePublic, ProfileUpdate

__all__ = ["format_profile", "read_bundle", "register"]


def register(sub: Subcommands) -> None:
    psub = add_group(
        sub,
        "profiles",
        help="alignment profiles (named targets)",
        description=(
            "Named alignment targets: attribute=value in [0, 1] (--target) and demographic groups "
            "(--group CATEGORY=GROUP). Use one with `align decide --profile NAME`."
        ),
    )

    c = add_command(psub, "create", _create, help="create a profile")
    c.add_argument("name")
    _target_args(c)
    c.add_argument("--description", default="")
    add_user_arg(c, owner=True)

    ls = add_command(psub, "list", _list, help="list your profiles")
    ls.add_argument("--all", action="store_true", help="every user's profiles (admins only)")
    ls.add_argument("--json", action="store_true")
    add_user_arg(ls, owner=True)

    sh = add_command(psub, "show", _show, help="show a profile with its attribute definitions")
    sh.add_argument("name")
    sh.add_argument("--json", action="store_true")
    add_user_arg(sh, owner=True)

    st = add_command(psub, "set", _set, help="change a profile (targets, groups, description, name)")
    st.add_argument("name")
    _target_args(st)
    st.add_argument("--unset", action="append", metavar="ATTRIBUTE", help="remove a target (repeatable)")
    st.add_argument("--unset-group", action="append", metavar="CATEGORY", help="remove a group")
    st.add_argument("--description")
    st.add_argument("--rename", metavar="NEW_NAME")
    st.add_argument(
        "--expect-version",
        type=int,
        metavar="N",
        help="fail with a conflict unless the profile is still at version N (see `profiles show`)",
    )
    st.add_argument("--json", action="store_true")
    add_user_arg(st, owner=True)

    d = add_command(psub, "delete", _delete, help="delete a profile")
    d.add_argument("name")
    d.add_argument("--expect-version", type=int, metavar="N")
    add_user_arg(d, owner=True)

    e = add_command(psub, "export", _export, help="export profiles as JSON (all of yours, or the named ones)")
    e.add_argument("names", nargs="*", metavar="NAME")
    e.add_argument("--output", "-o", help="write to this file (default: stdout)")
    add_user_arg(e, owner=True)

    i = add_command(
        psub,
        "import",
        _import,
        help="import profiles from an export file (all or nothing)",
        description="Import every profile of FILE ('-' for stdin) in one transaction: all or nothing.",
    )
    i.add_argument("file")
    i.add_argument("--replace", action="store_true", help="overwrite profiles with the same name")
    add_user_arg(i, owner=True)


def _target_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--target", action="append", metavar="ATTRIBUTE=VALUE", help="a value in [0, 1] (repeatable)"
    )
    p.add_argument(
        "--group",
        action="append",
        metavar="CATEGORY=GROUP",
        help="a demographic group, e.g. SEX=Female or INCOME='$100,000 or more' (repeatable)",
    )


def _groups(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        category, group = split_assignment(
            item, "--group", "CATEGORY=GROUP", "SEX=Female", value_required=True
        )
        check_new_key(out, category, "--group")
        out[category] = group.strip()
    return out


def format_profile(p: ProfilePublic, definitions: dict[str, Attribute] | None = None) -> str:
    lines = [f"{p.name} (owner {p.owner}, version {p.version})"]
    if p.description:
        lines.append(f"  {p.description}")
    for name, value in p.targets.items():
        d = (definitions or {}).get(name)
        meaning = ""
        if d is not None:
            meaning = f"  - {d.high if value >= 0.5 else d.low}" if (d.high or d.low) else ""
        lines.append(f"  {name} = {value:g}{meaning}")
    for category, group in p.groups.items():
        lines.append(f"  {category}: {group}")
    return "\n".join(lines)


def _create(args: argparse.Namespace, cli: Cli) -> int:
    data = validated(
        ProfileCreate,
        name=args.name,
        description=args.description,
        targets=parse_assignments(args.target, "--target"),
        groups=_groups(args.group),
    )
    store = cli.store
    profile = store.profiles.create(acting_user(store, args.user), data, owner=args.owner)
    print(f"created profile {profile.name!r} (owner {profile.owner}, version {profile.version})")
    return 0


def _list(args: argparse.Namespace, cli: Cli) -> int:
    store = cli.store
    items = store.profiles.list(acting_user(store, args.user), owner=args.owner, all_users=args.all)

    def row(p: ProfilePublic) -> str:
        targets = ", ".join(
            [f"{k}={v:g}" for k, v in p.targets.items()] + [f"{k}={v}" for k, v in p.groups.items()]
        )
        return f"{p.owner + '/' if args.all else ''}{p.name:<20} v{p.version:<3} {targets}"

    print_rows(items, args.json, row)
    return 0


def _show(args: argparse.Namespace, cli: Cli) -> int:
    store = cli.store
    actor = acting_user(store, args.user)
    target = store.profiles.load_target(actor, args.name, owner=args.owner)
    if args.json:
        print_json({**target.profile.model_dump(mode="json"), "effective_target": target.values})
    else:
        print(format_profile(target.profile, dict(target.attributes)))
    return 0


def _set(args: argparse.Namespace, cli: Cli) -> int:
    change = validated(
        ProfileUpdate,
        description=args.description,
        set_targets=parse_assignments(args.target, "--target"),
        unset_targets=args.unset or [],
        set_groups=_groups(args.group),
        unset_groups=args.unset_group or [],
        rename=args.rename,
        expected_version=args.expect_version,
    )
    store = cli.store
    profile = store.profiles.update(acting_user(store, args.user), args.name, change, owner=args.owner)
    print_model(profile, args.json, format_profile)
    return 0


def _delete(args: argparse.Namespace, cli: Cli) -> int:
    store = cli.store
    store.profiles.delete(
        acting_user(store, args.user), args.name, owner=args.owner, expected_version=args.expect_version
    )
    print(f"deleted profile {args.name!r}")
    return 0


def _export(args: argparse.Namespace, cli: Cli) -> int:
    store = cli.store
    bundle = store.profiles.export(acting_user(store, args.user), names=args.names or None, owner=args.owner)
    text = json.dumps(bundle.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"exported {len(bundle.profiles)} profiles to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def read_bundle(path: str) -> ProfileBundle:
    """An export file, checked whole before anything is written; errors name the file and place."""
    where = "stdin" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {where}: {exc}; nothing was imported") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{where}: not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
            "nothing was imported"
        ) from None
    if isinstance(data, list):  # a bare list of profiles is accepted too
        data = {"profiles": data}
    try:
        return ProfileBundle.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{where}: {validation_message(exc)}; nothing was imported") from None


def _import(args: argparse.Namespace, cli: Cli) -> int:
    bundle = read_bundle(args.file)
    store = cli.store
    items = store.profiles.import_bundle(
        acting_user(store, args.user), bundle, owner=args.owner, replace=args.replace
    )
    print(f"imported {len(items)} profiles: {', '.join(p.name for p in items)}")
    return 0
