"""Transactions and access checks shared by the stores."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session

from alignment.errors import InputError, NotFound, PermissionDenied, StoreUnavailable
from profiles.db import SessionFactory
from profiles.orm import UserRow
from profiles.schemas import Actor

__all__ = ["near_names", "public", "resolve_owner", "transaction", "unknown_attribute"]

M = TypeVar("M", bound=BaseModel)


@contextmanager
def transaction(sessions: SessionFactory) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error; lost connections explained."""
    try:
        with sessions.begin() as session:
            yield session
    except (OperationalError, DisconnectionError) as exc:
        raise StoreUnavailable(_connection_message(exc)) from None
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreUnavailable(_connection_message(exc)) from None
        raise


def public(model: type[M], row: object, **given: Any) -> M:
    """MODEL of a stored ROW: the GIVEN fields (such as the owner's name, where the row holds an id),
    and every other field from the row's attribute of the same name."""
    return model(**{name: getattr(row, name) for name in model.model_fields if name not in given}, **given)


def _connection_message(exc: Exception) -> str:
    first = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"the database did not answer ({first}); nothing was written. Check that it is running "
        "(ALIGN_DATABASE_URL), then retry"
    )


def near_names(name: str, known: list[str], n: int = 5) -> list[str]:
    folded = {k.casefold(): k for k in known}
    hits = difflib.get_close_matches(name.casefold(), list(folded), n=n, cutoff=0.5)
    hits += [k for k in folded if name.casefold() in k and k not in hits][: max(0, n - len(hits))]
    return [folded[h] for h in hits]


def unknown_attribute(name: str, known: list[str], what: str = "attribute") -> InputError:
    if not known:
        return InputError(f"unknown {what} {name!r}: no attributes are defined yet; run `align db seed`")
    near = near_names(name, known)
    hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
    return InputError(f"unknown {what} {name!r}{hint} (see `align attributes list`)")


def resolve_owner(session: Session, actor: Actor, owner: str | None, what: str) -> int:
    """The user id whose data is meant: the actor's own, or (admins only) another user's."""
    if owner is None or owner == actor.name:
        return actor.id
    if not actor.is_admin:
        raise PermissionDenied(f"user {actor.name!r} may not act on {owner!r}'s {what}; only an admin may")
    row = session.scalar(select(UserRow).where(UserRow.name == owner))
    if row is None:
        raise NotFound(f"no user {owner!r}; see `align users list`")
    return row.id
