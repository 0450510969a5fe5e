"""Attribute definitions: scalar attributes and demographic categories (readable by all, admin-changed)."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment.errors import Conflict, PermissionDenied
from alignment.models import Attribute
from profiles.db import SessionFactory
from profiles.orm import AttributeDefRow
from profiles.schemas import Actor, AttributeCreate, AttributePublic, group_attribute_name
from profiles.tx import transaction, unknown_attribute

__all__ = ["AttributeStore", "alignment_attributes"]

_FIELDS = ("kind", "domain", "label", "description", "high", "low", "scale_min", "scale_max")


def _public(row: AttributeDefRow) -> AttributePublic:
    return AttributePublic.model_validate(row)


def _row_values(data: AttributeCreate) -> dict[str, object]:
    values: dict[str, object] = {f: getattr(data, f) for f in _FIELDS}
    values["groups"] = [g.model_dump() for g in data.groups]
    return values


def alignment_attributes(definition: AttributePublic) -> dict[str, Attribute]:
    """The prompt-ready attributes of a definition: itself, or one per group of a category."""
    if definition.kind == "scalar":
        return {
            definition.name: Attribute(
                name=definition.name,
                description=definition.description,
                high=definition.high,
                low=definition.low,
                domain=definition.domain,
            )
        }
    category = definition.label or definition.name
    out = {}
    for group in definition.groups:
        label = group.label or group.key
        name = group_attribute_name(definition.name, group.key)
        out[name] = Attribute(
            name=name,
            description=(
                f"Membership of the group '{label}' of the demographic category {category}. "
                + definition.description
            )[:2000],
            high=(definition.high or f"answers as a typical person in the group '{label}' would")[:1000],
            low=(definition.low or f"answers unlike a typical person in the group '{label}'")[:1000],
            domain=definition.domain,
        )
    return out


class AttributeStore:
    """Attribute definitions. ``on_change(callback)``: called after every committed add or upsert
    (the catalogue, ``profiles.catalogue``, empties its cache there)."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions
        self._listeners: builtins.list[Callable[[], None]] = []

    def on_change(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in self._listeners:
            callback()

    def list(
        self, domain: str | None = None, kind: Literal["scalar", "category"] | None = None
    ) -> builtins.list[AttributePublic]:
        with transaction(self._sessions) as s:
            query = select(AttributeDefRow).order_by(AttributeDefRow.domain, AttributeDefRow.name)
            if domain is not None:
                query = query.where(AttributeDefRow.domain == domain)
            if kind is not None:
                query = query.where(AttributeDefRow.kind == kind)
            return [_public(r) for r in s.scalars(query)]

    def names(self, session: Session) -> builtins.list[str]:
        return list(session.scalars(select(AttributeDefRow.name)))

    def get(self, name: str) -> AttributePublic:
        with transaction(self._sessions) as s:
            row = s.scalar(select(AttributeDefRow).where(AttributeDefRow.name == name))
            if row is None:
                raise unknown_attribute(name, self.names(s))
            return _public(row)

    def add(self, actor: Actor, data: AttributeCreate) -> AttributePublic:
        self._require_admin(actor)
        with transaction(self._sessions) as s:
            if s.scalar(select(AttributeDefRow.id).where(AttributeDefRow.name == data.name)) is not None:
                raise Conflict(
                    f"attribute {data.name!r} already exists; see `align attributes show {data.name}`"
                )
            row = AttributeDefRow(name=data.name, **_row_values(data))
            s.add(row)
            s.flush()
            added = _public(row)
        self._changed()
        return added

    def upsert(self, actor: Actor, items: builtins.list[AttributeCreate]) -> dict[str, int]:
        """Create or update definitions by name in one transaction; counts created/updated/unchanged."""
        self._require_admin(actor)
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        with transaction(self._sessions) as s:
            existing = {r.name: r for r in s.scalars(select(AttributeDefRow))}
            for data in items:
                values = _row_values(data)
                row = existing.get(data.name)
                if row is None:
                    s.add(AttributeDefRow(name=data.name, **values))
                    counts["created"] += 1
                elif any(getattr(row, k) != v for k, v in values.items()):
                    for k, v in values.items():
                        setattr(row, k, v)
                    counts["updated"] += 1
                else:
                    counts["unchanged"] += 1
        self._changed()
        return counts

    def definitions(self) -> dict[str, AttributePublic]:
        return {a.name: a for a in self.list()}

    def prompt_attributes(self) -> dict[str, Attribute]:
        """Every definition as prompt-ready attributes (a category gives one per group)."""
        out: dict[str, Attribute] = {}
        for definition in self.list():
            out.update(alignment_attributes(definition))
        return out

    @staticmethod
    def _require_admin(actor: Actor) -> None:
        if not actor.is_admin:
            raise PermissionDenied(
                f"user {actor.name!r} may not change attribute definitions; only an admin may"
            )
