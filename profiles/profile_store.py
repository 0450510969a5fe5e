"""Profiles: a user's named alignment targets, with optimistic concurrency (a version column)."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from alignment.errors import Conflict, InputError, NotFound
from alignment.models import Attribute
from profiles.attributes import alignment_attributes
from profiles.db import SessionFactory
from profiles.orm import AttributeDefRow, CalibrationRow, ProfileRow, UserRow
from profiles.schemas import (
    Actor,
    AttributePublic,
    ProfileBundle,
    ProfileCreate,
    ProfileDocument,
    ProfilePublic,
    ProfileUpdate,
    group_attribute_name,
)
from profiles.tx import near_names, public, resolve_owner, transaction, unknown_attribute

__all__ = ["ProfileStore", "ProfileTarget"]


@dataclass(frozen=True)
class ProfileTarget:
    """A stored profile made ready for a decision: its values and their attribute definitions."""

    profile: ProfilePublic
    values: dict[str, float]
    attributes: dict[str, Attribute]

    def snapshot(self) -> dict[str, Any]:
        return {
            "profile": self.profile.model_dump(mode="json"),
            "values": self.values,
            "attributes": {k: a.model_dump(mode="json") for k, a in self.attributes.items()},
        }


def _public(row: ProfileRow, owner: str) -> ProfilePublic:
    return public(ProfilePublic, row, owner=owner)


class _Definitions:
    """The attribute definitions, for checking a profile's targets and groups."""

    def __init__(self, session: Session, only: set[str] | None = None) -> None:
        query = select(AttributeDefRow)
        if only is not None:
            query = query.where(AttributeDefRow.name.in_(only))
        rows = [AttributePublic.model_validate(r) for r in session.scalars(query)]
        self.by_name = {r.name: r for r in rows}
        self.group_attrs: dict[str, AttributePublic] = {}
        for r in rows:
            for g in r.groups:
                self.group_attrs[group_attribute_name(r.name, g.key)] = r

    def known(self) -> builtins.list[str]:
        return sorted(set(self.by_name) | set(self.group_attrs))

    def check_targets(self, targets: dict[str, float]) -> None:
        for name in targets:
            d = self.by_name.get(name)
            if d is not None and d.kind == "category":
                keys = ", ".join(g.key for g in d.groups)
                raise InputError(
                    f"{name!r} is a demographic category: give one of its groups with --group "
                    f"{name}=GROUP (groups: {keys})"
                )
            if d is None and name not in self.group_attrs:
                raise unknown_attribute(name, self.known())

    def check_groups(self, groups: dict[str, str]) -> dict[str, str]:
        out = {}
        for category, group in groups.items():
            d = self.by_name.get(category)
            if d is None or d.kind != "category":
                categories = [n for n, x in self.by_name.items() if x.kind == "category"]
                raise unknown_attribute(category, categories, what="demographic category")
            by_key = {g.key: g.key for g in d.groups}
            by_key.update({g.key.casefold(): g.key for g in d.groups})
            by_key.update({g.label.casefold(): g.key for g in d.groups if g.label})
            key = by_key.get(group) or by_key.get(group.casefold())
            if key is None:
                near = near_names(group, [g.key for g in d.groups])
                hint = f"; did you mean {', '.join(map(repr, near))}?" if near else ""
                raise InputError(
                    f"unknown group {group!r} of {category}{hint} "
                    f"(groups: {', '.join(g.key for g in d.groups)})"
                )
            out[category] = key
        return out

    def check(self, doc: ProfileDocument) -> ProfileDocument:
        self.check_targets(doc.targets)
        return doc.model_copy(update={"groups": self.check_groups(doc.groups)})

    def target(self, profile: ProfilePublic) -> ProfileTarget:
        values = dict(profile.targets)
        attributes: dict[str, Attribute] = {}
        for name in profile.targets:
            d = self.by_name.get(name) or self.group_attrs.get(name)
            if d is not None:
                attributes.update(
                    {k: v for k, v in alignment_attributes(d).items() if k == name or d.kind == "scalar"}
                )
        for category, key in profile.groups.items():
            name = group_attribute_name(category, key)
            values[name] = 1.0
            d = self.by_name.get(category)
            if d is not None:
                attributes.update({k: v for k, v in alignment_attributes(d).items() if k == name})
        return ProfileTarget(profile=profile, values=values, attributes=attributes)


class ProfileStore:
    """Each call acts for ``actor``: on their own profiles, or on ``owner``'s if the actor is an admin."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def create(self, actor: Actor, data: ProfileCreate, owner: str | None = None) -> ProfilePublic:
        with transaction(self._sessions) as s:
            owner_id = resolve_owner(s, actor, owner, "profiles")
            doc = _Definitions(s).check(data)
            row = self._insert(s, owner_id, doc)
            return _public(row, self._owner_name(s, owner_id))

    def list(
        self, actor: Actor, owner: str | None = None, all_users: bool = False
    ) -> builtins.list[ProfilePublic]:
        with transaction(self._sessions) as s:
            query = select(ProfileRow, UserRow.name).join(UserRow, ProfileRow.owner_id == UserRow.id)
            if all_users and actor.is_admin:
                query = query.order_by(UserRow.name, ProfileRow.name)
            else:
                owner_id = resolve_owner(s, actor, owner, "profiles")
                query = query.where(ProfileRow.owner_id == owner_id).order_by(ProfileRow.name)
            return [_public(row, name) for row, name in s.execute(query)]

    def get(self, actor: Actor, name: str, owner: str | None = None) -> ProfilePublic:
        with transaction(self._sessions) as s:
            owner_id = resolve_owner(s, actor, owner, "profiles")
            return _public(self._row(s, owner_id, name), self._owner_name(s, owner_id))

    def get_by_id(self, actor: Actor, profile_id: int) -> ProfilePublic:
        """By id: another user's profile looks exactly like a missing one (unless admin)."""
        with transaction(self._sessions) as s:
            row = s.get(ProfileRow, profile_id)
            if row is None or (row.owner_id != actor.id and not actor.is_admin):
                raise NotFound(f"no profile with id {profile_id}")
            return _public(row, self._owner_name(s, row.owner_id))

    def load_target(self, actor: Actor, name: str, owner: str | None = None) -> ProfileTarget:
        """The profile with its attribute definitions, ready for a decision (one transaction)."""
        with transaction(self._sessions) as s:
            owner_id = resolve_owner(s, actor, owner, "profiles")
            profile = _public(self._row(s, owner_id, name), self._owner_name(s, owner_id))
            return _Definitions(s, _definition_names(profile)).target(profile)

    def update(
        self, actor: Actor, name: str, change: ProfileUpdate, owner: str | None = None
    ) -> ProfilePublic:
        try:
            with transaction(self._sessions) as s:
                owner_id = resolve_owner(s, actor, owner, "profiles")
                row = self._row(s, owner_id, name)
                self._check_version(row, change.expected_version)
                defs = _Definitions(s)
                targets = dict(row.targets)
                for key in change.unset_targets:
                    if key not in targets:
                        raise InputError(f"profile {name!r} has no target {key!r} to remove")
                    del targets[key]
                defs.check_targets(change.set_targets)
                targets.update(change.set_targets)
                groups = dict(row.groups)
                for key in change.unset_groups:
                    if key not in groups:
                        raise InputError(f"profile {name!r} has no group for {key!r} to remove")
                    del groups[key]
                groups.update(defs.check_groups(change.set_groups))
                if not targets and not groups:
                    raise InputError(f"profile {name!r} would have no targets left; delete it instead")
                new_name = change.rename or row.name
                if new_name != row.name:
                    if self._find(s, owner_id, new_name) is not None:
                        raise Conflict(f"a profile named {new_name!r} already exists; choose another name")
                    self._calibration_renamed(s, owner_id, row.name, new_name)
                row.name = new_name
                row.targets = targets
                row.groups = groups
                if change.description is not None:
                    row.description = change.description
                s.flush()
                return _public(row, self._owner_name(s, owner_id))
        except StaleDataError:
            raise _stale(name) from None

    def delete(
        self, actor: Actor, name: str, owner: str | None = None, expected_version: int | None = None
    ) -> None:
        try:
            with transaction(self._sessions) as s:
                owner_id = resolve_owner(s, actor, owner, "profiles")
                row = self._row(s, owner_id, name)
                self._check_version(row, expected_version)
                s.execute(self._calibration_of(owner_id, name, delete(CalibrationRow)))
                s.delete(row)
        except StaleDataError:
            raise _stale(name) from None

    def export(
        self, actor: Actor, names: builtins.list[str] | None = None, owner: str | None = None
    ) -> ProfileBundle:
        with transaction(self._sessions) as s:
            owner_id = resolve_owner(s, actor, owner, "profiles")
            if names:
                rows = [self._row(s, owner_id, n) for n in names]
            else:
                rows = list(
                    s.scalars(
                        select(ProfileRow).where(ProfileRow.owner_id == owner_id).order_by(ProfileRow.name)
                    )
                )
            return ProfileBundle(
                profiles=[
                    ProfileDocument(
                        name=r.name, description=r.description, targets=dict(r.targets), groups=dict(r.groups)
                    )
                    for r in rows
                ]
            )

    def import_bundle(
        self, actor: Actor, bundle: ProfileBundle, owner: str | None = None, replace: bool = False
    ) -> builtins.list[ProfilePublic]:
        """All profiles of the bundle, or none: one transaction; existing names conflict unless replace."""
        try:
            with transaction(self._sessions) as s:
                owner_id = resolve_owner(s, actor, owner, "profiles")
                owner_name = self._owner_name(s, owner_id)
                defs = _Definitions(s)
                out = []
                for doc in bundle.profiles:
                    try:
                        doc = defs.check(doc)
                    except InputError as exc:
                        raise InputError(f"profile {doc.name!r}: {exc}") from None
                    row = self._find(s, owner_id, doc.name)
                    if row is None:
                        row = self._insert(s, owner_id, doc)
                    elif not replace:
                        raise Conflict(
                            f"profile {doc.name!r} already exists; nothing was imported. "
                            "Use --replace to overwrite, or rename it in the file"
                        )
                    else:
                        row.description = doc.description
                        row.targets = dict(doc.targets)
                        row.groups = dict(doc.groups)
                        s.flush()
                    out.append(_public(row, owner_name))
                return out
        except StaleDataError:
            raise Conflict("a profile changed while importing; nothing was imported, retry") from None

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _insert(s: Session, owner_id: int, doc: ProfileDocument) -> ProfileRow:
        if ProfileStore._find(s, owner_id, doc.name) is not None:
            raise Conflict(f"a profile named {doc.name!r} already exists; choose another name or use `set`")
        row = ProfileRow(
            owner_id=owner_id,
            name=doc.name,
            description=doc.description,
            targets=dict(doc.targets),
            groups=dict(doc.groups),
        )
        s.add(row)
        try:
            with s.begin_nested():
                s.flush()
        except IntegrityError:
            raise Conflict(f"a profile named {doc.name!r} already exists; choose another name") from None
        return row

    @staticmethod
    def _calibration_of(owner_id: int, name: str, statement: Any) -> Any:
        """``statement`` (a delete or update of calibrations) for the answers behind one profile."""
        return statement.where(CalibrationRow.user_id == owner_id, CalibrationRow.profile_name == name)

    @classmethod
    def _calibration_renamed(cls, s: Session, owner_id: int, old: str, new: str) -> None:
        """The answers behind profile ``old`` move with it to ``new`` (a row left from a profile
        deleted before gives way)."""
        s.execute(cls._calibration_of(owner_id, new, delete(CalibrationRow)))
        s.execute(cls._calibration_of(owner_id, old, update(CalibrationRow).values(profile_name=new)))

    @staticmethod
    def _find(s: Session, owner_id: int, name: str) -> ProfileRow | None:
        return s.scalar(select(ProfileRow).where(ProfileRow.owner_id == owner_id, ProfileRow.name == name))

    @staticmethod
    def _row(s: Session, owner_id: int, name: str) -> ProfileRow:
        row = ProfileStore._find(s, owner_id, name)
        if row is None:
            names = list(s.scalars(select(ProfileRow.name).where(ProfileRow.owner_id == owner_id)))
            near = near_names(name, names)
            hint = f"; did you mean {', '.join(map(repr, near))}?" if near else ""
            raise NotFound(f"no profile {name!r}{hint} (see `align profiles list`)")
        return row

    @staticmethod
    def _owner_name(s: Session, owner_id: int) -> str:
        name = s.scalar(select(UserRow.name).where(UserRow.id == owner_id))
        if name is None:
            raise NotFound(f"no user with id {owner_id}")
        return name

    @staticmethod
    def _check_version(row: ProfileRow, expected: int | None) -> None:
        if expected is not None and row.version != expected:
            raise Conflict(
                f"profile {row.name!r} was changed by someone else (version {row.version}, you had "
                f"{expected}); nothing was written. Reload it and apply your change again"
            )


def _definition_names(profile: ProfilePublic) -> set[str]:
    """Names of the definitions a profile can use: its keys, and the category part of group keys."""
    names = set(profile.groups)
    for key in profile.targets:
        names.add(key)
        parts = key.split("_")
        names.update("_".join(parts[:i]) for i in range(1, len(parts)))
    return names


def _stale(name: str) -> Conflict:
    return Conflict(
        f"profile {name!r} was changed by someone else at the same time; nothing was written. "
        "Reload it and apply your change again"
    )
