"""Which seed pack each attribute comes from, read from the pack files (``profiles/seeds/*.json``).

No database column records it: a stored attribute whose name is in a pack file belongs to that
pack; any other was added by an admin. Everyday packs come first, so a question about savings is
not met with medical-triage attributes only.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

from profiles.seed import PACKS, load_pack

__all__ = [
    "ADMIN_ADDED",
    "EVERYDAY",
    "AttributeGroup",
    "group_by_pack",
    "pack_of",
    "pack_title",
    "seeded_names",
]

EVERYDAY = "everyday"  # the domain of the everyday packs' attributes
ADMIN_ADDED = ""  # the pack of an attribute that is in no pack file
_TITLES = {
    "everyday": "Everyday values",
    "moral_foundations": "Moral foundations",
    "schwartz": "Basic human values (Schwartz)",
    "triage": "Medical triage",
    "opinionqa": "Survey groups (OpinionQA)",
    ADMIN_ADDED: "Added by an admin",
}

A = TypeVar("A")


@functools.cache
def _packs() -> tuple[dict[str, str], tuple[str, ...], frozenset[str]]:
    """(attribute name -> pack, the display order: everyday packs, admin-added, the other packs,
    the everyday packs)."""
    names: dict[str, str] = {}
    everyday: list[str] = []
    others: list[str] = []
    for pack in PACKS:
        items = load_pack(pack)
        for item in items:
            names.setdefault(item.name, pack)
        (everyday if any(i.domain == EVERYDAY for i in items) else others).append(pack)
    return names, (*everyday, ADMIN_ADDED, *others), frozenset(everyday)


def pack_of(name: str) -> str:
    """The seed pack an attribute name belongs to, or ADMIN_ADDED."""
    return _packs()[0].get(name, ADMIN_ADDED)


def pack_title(pack: str) -> str:
    return _TITLES.get(pack) or pack.replace("_", " ").capitalize()


class AttributeGroup(Generic[A]):
    """One pack's attributes, in display order; ``everyday``: a pack for everyday decisions."""

    def __init__(self, pack: str, items: Sequence[A]) -> None:
        self.pack = pack
        self.title = pack_title(pack)
        self.items = list(items)
        self.everyday = pack in _packs()[2]

    def __repr__(self) -> str:
        return f"AttributeGroup({self.pack!r}, {len(self.items)} attributes)"


def group_by_pack(items: Iterable[A]) -> list[AttributeGroup[A]]:
    """``items`` (objects with a ``name``) grouped by pack: everyday packs, then the attributes an
    admin added, then the other packs; within a group, the order of ``items``; no empty group."""
    groups: dict[str, list[A]] = {p: [] for p in _packs()[1]}
    for item in items:
        groups[pack_of(getattr(item, "name", ""))].append(item)
    return [AttributeGroup(p, rows) for p, rows in groups.items() if rows]


def seeded_names() -> set[str]:
    """Every attribute name of every seed pack."""
    return set(_packs()[0])
