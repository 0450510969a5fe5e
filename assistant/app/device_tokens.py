"""Device tokens: a browser that has logged in as a user carries a signed token saying so.

The login limiter locks a (user name, client address) pair after repeated failures. Behind a shared
address (an office NAT, a campus network) a stranger could lock a person out that way. OWASP's
"device cookie" answer: a browser where the person logged in successfully gets a token signed by
the server (``issue``); a login attempt that carries a valid token for that user name (``verify``) is
limited per token instead of per address, so failures from other browsers do not lock it out, and
failures from the token's own browser lock only that token.

A token is ``user.device.issued.signature`` (URL-safe base64 of the name, a random id, the time it
was issued, HMAC-SHA256 under a key kept in the server's data directory). The signature also covers the
account's session stamp (``UserStore.session_stamp``: it moves when the password or the role
changes), so a password change or an admin's reset ends every browser's exemption, as it ends the
login sessions. A token grants nothing but that exemption: the password is still checked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MAX_AGE_S", "Device", "DeviceTokens"]

MAX_AGE_S = 180 * 24 * 3600
_KEY_BYTES = 32


@dataclass(frozen=True)
class Device:
    """A verified token: the user it was issued to and the browser's id."""

    user: str
    device_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class DeviceTokens:
    """Issues and verifies device tokens under one secret key."""

    def __init__(
        self, key: bytes, clock: Callable[[], float] = time.time, max_age_s: float = MAX_AGE_S
    ) -> None:
        if len(key) < 16:
            raise ValueError("a device token key needs at least 16 bytes")
        self._key = key
        self._clock = clock
        self.max_age_s = max_age_s

    @classmethod
    def from_file(cls, path: Path) -> DeviceTokens:
        """The key kept in ``path`` (made, readable by the server's user only, on first use), so tokens
        outlive a restart."""
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            key = secrets.token_bytes(_KEY_BYTES)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first
                key = path.read_bytes()
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(key)
        return cls(key)

    def _sign(self, payload: str, stamp: str) -> str:
        signed = f"{payload}\n{stamp}".encode()
        return _b64(hmac.new(self._key, signed, hashlib.sha256).digest())

    def issue(self, user: str, stamp: str = "") -> str:
        """A new token for ``user`` on a new device id, bound to the account's session ``stamp``."""
        payload = f"{_b64(user.encode('utf-8'))}.{secrets.token_urlsafe(12)}.{int(self._clock())}"
        return f"{payload}.{self._sign(payload, stamp)}"

    def verify(self, token: str, stamp_of: Callable[[str], str | None] | None = None) -> Device | None:
        """The device a token names, or None (malformed, forged, older than ``max_age_s``, or issued
        before the account's session stamp, read by ``stamp_of(user)``, last moved)."""
        parts = token.split(".")
        if len(parts) != 4 or len(token) > 1024:
            return None
        try:
            user = _unb64(parts[0]).decode("utf-8")
            issued = int(parts[2])
        except ValueError:
            return None
        stamp = stamp_of(user) if stamp_of is not None else ""
        if stamp is None or not hmac.compare_digest(self._sign(".".join(parts[:3]), stamp), parts[3]):
            return None
        if not 0 <= self._clock() - issued <= self.max_age_s:
            return None
        return Device(user=user, device_id=parts[1])
