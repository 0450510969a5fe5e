"""Seed packs of attribute definitions (JSON files in ``profiles/seeds``), loaded idempotently."""

from __future__ import annotations

import json
from importlib import resources

from pydantic import ValidationError

from alignment.errors import InputError, UnknownName
from profiles.attributes import AttributeStore
from profiles.schemas import Actor, AttributeCreate

__all__ = ["PACKS", "load_pack", "seed"]

PACKS = ("triage", "opinionqa", "moral_foundations", "schwartz")


def load_pack(name: str) -> list[AttributeCreate]:
    if name not in PACKS:
        raise UnknownName("seed pack", name, list(PACKS))
    text = (resources.files("profiles.seeds") / f"{name}.json").read_text(encoding="utf-8")
    try:
        data = json.loads(text)
        return [AttributeCreate.model_validate(item) for item in data["attributes"]]
    except (ValueError, KeyError, ValidationError) as exc:  # a broken shipped file: a packaging bug
        raise InputError(f"seed pack {name!r} is damaged ({exc}); reinstall align-assistant") from None


def seed(
    attributes: AttributeStore,
    actor: Actor,
    packs: tuple[str, ...] | list[str] = PACKS,
    *,
    only_missing: bool = False,
) -> dict[str, int]:
    """Create or update the packs' definitions; running it twice changes nothing the second time.

    ``only_missing``: create the definitions not stored yet and leave the others as they are
    (an upgrade adds new packs without undoing an admin's edits of the old ones)."""
    items = [item for pack in packs for item in load_pack(pack)]
    if only_missing:
        stored = {a.name for a in attributes.list()}
        items = [item for item in items if item.name not in stored]
    return attributes.upsert(actor, items)
