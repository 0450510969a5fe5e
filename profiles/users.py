"""Users: names, argon2 password hashes, roles."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from alignment.errors import Conflict, NotFound, PermissionDenied
from profiles.db import SessionFactory
from profiles.orm import ApiKeyRow, UserRow, utcnow
from profiles.passwords import hash_password, verify_password
from profiles.schemas import Actor, Role, UserCreate, UserPublic
from profiles.tx import transaction

__all__ = ["LOCAL_USER", "PasswordChange", "UserStore", "WrongPassword"]

# the local operator: the admin who acts where nobody logs in (the CLI, a server in local mode);
# created without a password on first use, so nobody can log in as them
LOCAL_USER = "local"


class WrongPassword(PermissionDenied):
    """The current password given to confirm a change of one's own account was not right."""


@dataclass(frozen=True)
class PasswordChange:
    """What a password change did: ``reset`` (an admin set another user's password) ended the
    user's sessions, one's own change one's other sessions; either revoked the user's
    ``api_keys_revoked`` keys."""

    name: str
    reset: bool
    api_keys_revoked: int


def _public(row: UserRow) -> UserPublic:
    return UserPublic(
        id=row.id,
        name=row.name,
        role=row.role,
        has_password=bool(row.password_hash),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _actor(row: UserRow) -> Actor:
    return Actor(id=row.id, name=row.name, role=row.role)


class UserStore:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def actor(self, name: str) -> Actor:
        """The user ``name`` as an actor (no password check: for the local operator and tests)."""
        with transaction(self._sessions) as s:
            row = s.scalar(select(UserRow).where(UserRow.name == name))
            if row is None:
                raise NotFound(f"no user {name!r}; create it with `align users add {name} --password ...`")
            return _actor(row)

    def acting(self, name: str | None, *, local: bool) -> Actor | None:
        """Who acts: the user ``name`` (must exist); nobody named (or ``LOCAL_USER`` named) where
        nobody logs in (``local``): the local operator, an admin created on first use. None: nobody
        named where a login is needed, which each door refuses in its own words."""
        if local and name in (None, "", LOCAL_USER):
            return self.local_operator()
        return self.actor(name) if name else None

    def local_operator(self) -> Actor:
        """``LOCAL_USER``, the admin who acts where nobody logs in (created on first use)."""
        return self.ensure(LOCAL_USER, role="admin")

    def ensure(self, name: str, role: Role = "user") -> Actor:
        """The user ``name``, created (without a password) if missing. Idempotent."""
        with transaction(self._sessions) as s:
            row = s.scalar(select(UserRow).where(UserRow.name == name))
            if row is not None:
                return _actor(row)
        try:
            with transaction(self._sessions) as s:
                row = UserRow(name=UserCreate(name=name).name, role=role)
                s.add(row)
                s.flush()
                return _actor(row)
        except IntegrityError:  # created at the same time by another process
            return self.actor(name)

    def add(self, actor: Actor | None, data: UserCreate) -> UserPublic:
        """Create a user. Admins only, except the very first user of an empty store."""
        with transaction(self._sessions) as s:
            if actor is None:
                if s.scalar(select(func.count()).select_from(UserRow)):
                    raise PermissionDenied("only an admin may add users")
            elif not actor.is_admin:
                raise PermissionDenied(f"user {actor.name!r} may not add users; only an admin may")
            if s.scalar(select(UserRow.id).where(UserRow.name == data.name)) is not None:
                raise Conflict(f"user {data.name!r} already exists; choose another name")
            row = UserRow(
                name=data.name,
                role=data.role,
                password_hash=hash_password(data.password) if data.password is not None else None,
            )
            s.add(row)
            try:
                s.flush()
            except IntegrityError:
                raise Conflict(f"user {data.name!r} already exists; choose another name") from None
            return _public(row)

    def list(self, actor: Actor) -> builtins.list[UserPublic]:
        """All users for an admin; only oneself for a user."""
        with transaction(self._sessions) as s:
            query = select(UserRow).order_by(UserRow.name)
            if not actor.is_admin:
                query = query.where(UserRow.id == actor.id)
            return [_public(r) for r in s.scalars(query)]

    def set_password(
        self, actor: Actor, name: str, password: str, *, current: str | None = None
    ) -> PasswordChange:
        """Change one's own password (``name`` is the actor: the current password must be given and
        right, when the account has one) or reset another user's (admins only). Either ends the
        user's login sessions (the session epoch moves) and revokes all of that user's API keys, so
        a stolen session or key does not outlive it."""
        own = name == actor.name
        if not own and not actor.is_admin:
            raise PermissionDenied(
                f"user {actor.name!r} may not change {name!r}'s password; only an admin may reset it"
            )
        with transaction(self._sessions) as s:
            row = s.scalar(select(UserRow).where(UserRow.name == name))
        if row is None:
            raise NotFound(f"no user {name!r}; see `align users list`")
        if own:
            self._confirm(row, current, "change your own password", "the new one was not saved")
        new_hash = hash_password(password)
        with transaction(self._sessions) as s:
            row = s.scalar(select(UserRow).where(UserRow.name == name))
            if row is None:
                raise NotFound(f"no user {name!r}; see `align users list`")
            row.password_hash = new_hash
            row.session_epoch = (row.session_epoch or 1) + 1  # ends the user's login sessions
            keys = s.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.user_id == row.id, ApiKeyRow.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            revoked = int(getattr(keys, "rowcount", 0) or 0)
            return PasswordChange(name=name, reset=not own, api_keys_revoked=revoked)

    def confirm_password(self, actor: Actor, current: str | None, doing: str) -> None:
        """Before ``doing`` (words: "create an API key"): the actor's current password must be given
        and right (``WrongPassword`` when wrong), unless the account has none (the local user)."""
        with transaction(self._sessions) as s:
            row = s.scalar(select(UserRow).where(UserRow.name == actor.name))
        if row is None:
            raise NotFound(f"no user {actor.name!r}; log in again")
        self._confirm(row, current, doing, "nothing was changed")

    @staticmethod
    def _confirm(row: UserRow, current: str | None, doing: str, unchanged: str) -> None:
        if not row.password_hash:
            return
        if not current:
            raise PermissionDenied(
                f"to {doing}, give your current password too (in the Profiles tab, or as "
                "current_password through the API)"
            )
        if not verify_password(row.password_hash, current):
            raise WrongPassword(f"your current password is not right; type it again ({unchanged})")

    def set_role(self, actor: Actor, name: str, role: Role) -> None:
        if not actor.is_admin:
            raise PermissionDenied(f"user {actor.name!r} may not change roles; only an admin may")
        with transaction(self._sessions) as s:
            row = s.scalar(select(UserRow).where(UserRow.name == name))
            if row is None:
                raise NotFound(f"no user {name!r}; see `align users list`")
            if row.role != role:
                row.role = role
                row.session_epoch = (row.session_epoch or 1) + 1  # ends the user's login sessions

    def session_stamp(self, name: str) -> str | None:
        """What a login session of ``name`` is bound to: the account (id and creation time: SQLite may
        give a new account the id of a deleted one) and its session epoch. It changes when the password
        or the role changes, or the user is deleted (None) and made again."""
        with transaction(self._sessions) as s:
            row = s.execute(
                select(UserRow.id, UserRow.created_at, UserRow.session_epoch).where(UserRow.name == name)
            ).first()
        return None if row is None else f"{row[0]}.{row[1].isoformat()}.{row[2]}"

    def authenticate(self, name: str, password: str) -> Actor | None:
        """The actor if ``password`` is right, else None (same answer for an unknown name)."""
        with transaction(self._sessions) as s:
            row = s.scalar(select(UserRow).where(UserRow.name == name))
        if row is None:
            verify_password(None, password)
            return None
        return _actor(row) if verify_password(row.password_hash, password) else None
