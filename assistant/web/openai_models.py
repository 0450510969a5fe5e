"""What a "model" of the OpenAI-compatible API names: how to decide, and for whose values.

- ``align``: the default decider, with the caller's default profile;
- ``align:<profile>``: the default decider with one of the caller's profiles;
- ``align:<profile>:<decider>``: a named decider (``[deciders.*]`` in the settings) with that profile
  (``align::<decider>``: with the default profile).

The caller's default profile is their profile named ``default``, else their only profile when they
have exactly one, else none (the chat then asks which values matter). A profile name may itself hold
a colon: the part after the last colon is read as a decider only when a decider of that name exists.
A caller sees only their own profiles, so a model naming someone else's is unknown to them.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from alignment.errors import NotFound

__all__ = [
    "DEFAULT_PROFILE",
    "ROOT",
    "ModelChoice",
    "default_profile",
    "model_ids",
    "model_name",
    "parse_model",
]

ROOT = "align"
DEFAULT_PROFILE = "default"
_SHOWN = 12  # models named in an "unknown model" message


class ModelChoice(BaseModel):
    profile: str | None = None
    decider: str | None = None  # None: the settings' default decider


def default_profile(profiles: Iterable[str]) -> str | None:
    names = list(profiles)
    if DEFAULT_PROFILE in names:
        return DEFAULT_PROFILE
    return names[0] if len(names) == 1 else None


def model_ids(profiles: Iterable[str], deciders: Iterable[str]) -> list[str]:
    """Every model a caller may name: ``align``, then per profile ``align:<profile>`` and each decider."""
    names = sorted(set(profiles))
    chosen = sorted(set(deciders))
    ids = [ROOT]
    for profile in names:
        ids.append(f"{ROOT}:{profile}")
        ids.extend(f"{ROOT}:{profile}:{decider}" for decider in chosen)
    return ids


def model_name(model_id: str, deciders: Iterable[str] = ()) -> str:
    """The name a person reads for a model: "ALIGN assistant (your values)", "ALIGN assistant: work
    values", "ALIGN assistant: work values, careful"."""
    if model_id == ROOT:
        return "ALIGN assistant (your values)"
    rest = model_id[len(ROOT) + 1 :] if model_id.startswith(ROOT + ":") else model_id
    head, colon, tail = rest.rpartition(":")
    if colon and tail in set(deciders):
        profile = head or "your values"
        return f"ALIGN assistant: {profile}, {tail}"
    return f"ALIGN assistant: {rest}"


def parse_model(name: str, profiles: Iterable[str], deciders: Iterable[str]) -> ModelChoice:
    """The profile and decider ``name`` asks for; NotFound (with the models there are) otherwise."""
    owned = set(profiles)
    known = set(deciders)
    if name == ROOT:
        return ModelChoice(profile=default_profile(sorted(owned)))
    if name.startswith(ROOT + ":"):
        rest = name[len(ROOT) + 1 :]
        head, colon, tail = rest.rpartition(":")
        if colon and tail in known and (head in owned or head == ""):
            return ModelChoice(profile=head or default_profile(sorted(owned)), decider=tail)
        if rest in owned:
            return ModelChoice(profile=rest)
    shown = model_ids(owned, known)
    more = f" and {len(shown) - _SHOWN} more" if len(shown) > _SHOWN else ""
    raise NotFound(
        f"the model {name!r} does not exist or is not yours; the models you can use are "
        f"{', '.join(shown[:_SHOWN])}{more} (align:PROFILE uses one of your saved profiles)"
    )
