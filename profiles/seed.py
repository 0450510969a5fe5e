"""Seed packs of attribute definitions (JSON files in ``profiles/seeds``), loaded idempotently."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from pydantic import ValidationError

from alignment.errors import InputError, UnknownName
from alignment.value_words import words_for
from profiles.attributes import AttributeStore
from profiles.schemas import Actor, AttributeCreate

__all__ = ["PACKS", "load_pack", "pack_synonyms", "seed", "value_words"]

PACKS = ("triage", "opinionqa", "everyday", "moral_foundations", "schwartz")


def _read(name: str) -> list[dict[str, Any]]:
    if name not in PACKS:
        raise UnknownName("seed pack", name, list(PACKS))
    text = (resources.files("profiles.seeds") / f"{name}.json").read_text(encoding="utf-8")
    try:
        items = json.loads(text)["attributes"]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValueError("'attributes' must be a list of objects")
        return items
    except (ValueError, KeyError) as exc:  # a broken shipped file: a packaging bug
        raise InputError(f"seed pack {name!r} is damaged ({exc}); reinstall align-assistant") from None


def load_pack(name: str) -> list[AttributeCreate]:
    """A pack's definitions (a value's ``synonyms`` are not stored: see ``pack_synonyms``)."""
    try:
        return [
            AttributeCreate.model_validate({k: v for k, v in item.items() if k != "synonyms"})
            for item in _read(name)
        ]
    except ValidationError as exc:
        raise InputError(f"seed pack {name!r} is damaged ({exc}); reinstall align-assistant") from None


@functools.cache
def pack_synonyms() -> dict[str, tuple[str, ...]]:
    """Attribute name -> the everyday words people use for it, as the packs list them (the chat
    matches them to the value)."""
    out: dict[str, tuple[str, ...]] = {}
    for pack in PACKS:
        for item in _read(pack):
            words = item.get("synonyms") or []
            if words:
                out[str(item["name"])] = tuple(str(w) for w in words)
    return out


def value_words(name: str) -> tuple[str, ...]:
    """The words a chat matches to a value outright: the synonyms its pack lists, then the everyday
    words of ``alignment.value_words`` that no pack lists, or names, for another value ("family" is
    the everyday pack's family, not Schwartz's benevolence)."""
    own = pack_synonyms().get(name, ())
    taken = {w for other, words in _claimed().items() if other != name for w in words}
    return (*own, *(w for w in words_for(name) if w.casefold() not in taken and w not in own))


@functools.cache
def _claimed() -> dict[str, frozenset[str]]:
    """Per value with synonyms: the words its pack gives it (name, label and synonyms), folded."""
    out: dict[str, frozenset[str]] = {}
    for pack in PACKS:
        for item in _read(pack):
            if item.get("synonyms"):
                name = str(item["name"])
                words = [name, name.replace("_", " "), str(item.get("label", "")), *item["synonyms"]]
                out[name] = frozenset(w.casefold() for w in words if w)
    return out


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
