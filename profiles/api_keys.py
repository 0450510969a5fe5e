"""API keys: a user's keys for the OpenAI-compatible API (``/v1``).

A key is 256 random bits (``secrets.token_urlsafe``), shown once when it is made. Only its SHA-256
is stored: a key that random cannot be guessed from its hash, so no slow password hash is needed,
and a lookup is one indexed equality (then a constant-time comparison). A revoked key stays listed
(so its holder is told it was revoked, not that it never existed) and never authenticates again.
Only a user's ``MAX_REVOKED_KEYS`` most recently revoked keys are kept: creating or revoking a key
deletes older revoked ones, so revoking cannot add rows forever. A deleted key is refused as an
unknown key is (the same words, no start of it stored).
A key acts as its user, with the user's current role: it sees exactly what the user sees.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from alignment.errors import Conflict, NotFound, PermissionDenied
from alignment.models import clean_text
from profiles.db import SessionFactory
from profiles.orm import ApiKeyRow, UserRow, utcnow
from profiles.schemas import Actor
from profiles.tx import public, resolve_owner, transaction

__all__ = [
    "KEY_PREFIX",
    "MAX_ACTIVE_KEYS",
    "MAX_REVOKED_KEYS",
    "SHOWN_CHARS",
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyPublic",
    "ApiKeyStore",
    "hash_key",
]

KEY_PREFIX = "align-"
SHOWN_CHARS = 12  # the start of a key kept in clear, so a person can tell their keys apart
MAX_ACTIVE_KEYS = 50  # per user
MAX_REVOKED_KEYS = 20  # per user: the most recently revoked ones are kept, older ones deleted
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes (stored in UTC)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(default="", max_length=100)  # what the key is for ("Open WebUI at home")

    @field_validator("label")
    @classmethod
    def _label(cls, value: str) -> str:
        value = clean_text(value)
        if "\n" in value or "\t" in value:
            raise ValueError("the key's label must be one line")
        return value


class ApiKeyPublic(BaseModel):
    """What anyone is ever shown of a key: never the key, only its first characters."""

    id: int
    user: str
    label: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class ApiKeyCreated(ApiKeyPublic):
    """A new key, the only time it is shown whole."""

    key: str


def _public(row: ApiKeyRow, user: str) -> ApiKeyPublic:
    return public(
        ApiKeyPublic,
        row,
        user=user,
        created_at=_aware(row.created_at) or row.created_at,
        last_used_at=_aware(row.last_used_at),
        revoked_at=_aware(row.revoked_at),
    )


def _forget_old_revoked(s: Session, user_id: int) -> None:
    """Delete the user's revoked keys past the ``MAX_REVOKED_KEYS`` most recently revoked."""
    old = s.scalars(
        select(ApiKeyRow.id)
        .where(ApiKeyRow.user_id == user_id, ApiKeyRow.revoked_at.is_not(None))
        .order_by(ApiKeyRow.revoked_at.desc(), ApiKeyRow.id.desc())
        .offset(MAX_REVOKED_KEYS)
    ).all()
    if old:
        s.execute(delete(ApiKeyRow).where(ApiKeyRow.id.in_(old)))


class ApiKeyStore:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def create(self, actor: Actor, data: ApiKeyCreate, owner: str | None = None) -> ApiKeyCreated:
        """A new key for ``owner`` (default: the actor; another user's: admins only)."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with transaction(self._sessions) as s:
            user_id = resolve_owner(s, actor, owner, "API keys")
            active = s.scalar(
                select(func.count())
                .select_from(ApiKeyRow)
                .where(ApiKeyRow.user_id == user_id, ApiKeyRow.revoked_at.is_(None))
            )
            if (active or 0) >= MAX_ACTIVE_KEYS:
                raise Conflict(
                    f"this user already has {MAX_ACTIVE_KEYS} API keys; revoke one they no longer use first"
                )
            row = ApiKeyRow(
                user_id=user_id, key_hash=hash_key(key), prefix=key[:SHOWN_CHARS], label=data.label
            )
            s.add(row)
            s.flush()
            _forget_old_revoked(s, user_id)
            name = s.scalar(select(UserRow.name).where(UserRow.id == user_id)) or ""
            return ApiKeyCreated(**_public(row, name).model_dump(), key=key)

    def list(self, actor: Actor, owner: str | None = None) -> builtins.list[ApiKeyPublic]:
        """``owner``'s keys (default: the actor's), newest first, the recently revoked ones included."""
        with transaction(self._sessions) as s:
            user_id = resolve_owner(s, actor, owner, "API keys")
            name = s.scalar(select(UserRow.name).where(UserRow.id == user_id)) or ""
            rows = s.scalars(
                select(ApiKeyRow).where(ApiKeyRow.user_id == user_id).order_by(ApiKeyRow.id.desc())
            )
            return [_public(r, name) for r in rows]

    def revoke(self, actor: Actor, key: int | str, owner: str | None = None) -> ApiKeyPublic:
        """Revoke one of ``owner``'s keys, named by its id or its first characters. Idempotent."""
        with transaction(self._sessions) as s:
            user_id = resolve_owner(s, actor, owner, "API keys")
            query = select(ApiKeyRow).where(ApiKeyRow.user_id == user_id)
            if isinstance(key, int):
                rows = list(s.scalars(query.where(ApiKeyRow.id == key)))
            else:
                shown = key.strip()
                rows = [r for r in s.scalars(query) if shown and r.prefix.startswith(shown[:SHOWN_CHARS])]
                if len(shown) > SHOWN_CHARS:  # the whole key: it must be exactly this one
                    rows = [r for r in rows if hmac.compare_digest(r.key_hash, hash_key(shown))]
            if not rows:
                raise NotFound(f"no API key {key!r} of this user; list the keys to see their ids")
            if len(rows) > 1:
                raise Conflict(f"{len(rows)} keys start with {key!r}; name the key by its id instead")
            row = rows[0]
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                s.flush()
            name = s.scalar(select(UserRow.name).where(UserRow.id == user_id)) or ""
            public = _public(row, name)
            _forget_old_revoked(s, user_id)
            return public

    def known_prefix(self, key: str) -> bool:
        """Does any stored key (active or revoked) start as ``key`` does? A key whose first
        characters match none cannot be valid: it is a guess or a key of a deleted user."""
        shown = key[:SHOWN_CHARS]
        if len(shown) < SHOWN_CHARS or not shown.startswith(KEY_PREFIX):
            return False
        with transaction(self._sessions) as s:
            return s.scalar(select(ApiKeyRow.id).where(ApiKeyRow.prefix == shown).limit(1)) is not None

    def authenticate(self, key: str) -> Actor:
        """The user a key acts as; PermissionDenied (with the reason) for an unknown or revoked key."""
        digest = hash_key(key)
        with transaction(self._sessions) as s:
            row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == digest))
            if row is None or not hmac.compare_digest(row.key_hash, digest):
                raise PermissionDenied(
                    "this API key is not valid; check that it was copied whole, or create a new one"
                )
            if row.revoked_at is not None:
                raise PermissionDenied("this API key was revoked; create a new one")
            user = s.get(UserRow, row.user_id)
            if user is None:  # pragma: no cover - the key goes with its user (ON DELETE CASCADE)
                raise PermissionDenied("this API key's user no longer exists")
            now = utcnow()
            used = _aware(row.last_used_at)
            if used is None or now - used >= LAST_USED_EVERY:
                row.last_used_at = now
            return Actor(id=user.id, name=user.name, role=user.role)
