"""Password hashing with argon2 (argon2-cffi)."""

from __future__ import annotations

import contextlib
import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from alignment.errors import InputError

__all__ = ["MIN_PASSWORD_CHARS", "hash_password", "verify_password"]

MIN_PASSWORD_CHARS = 8
_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InputError(f"the password is too short; use at least {MIN_PASSWORD_CHARS} characters")
    return _HASHER.hash(password)


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password nobody knows, made once: checked for unknown names."""
    return _HASHER.hash(secrets.token_urlsafe(24))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Does ``password`` match? With no hash (an unknown name, a user without a password) the
    password is still checked against a dummy hash, so the answer takes as long as a real one."""
    if not password_hash:
        with contextlib.suppress(VerificationError, InvalidHashError):
            _HASHER.verify(_dummy_hash(), password)
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
