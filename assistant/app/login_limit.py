"""Login attempts rate-limited per (user name, client address), with exponential back-off; failures
per address across all names (``AddressLimiter``); and a cap on password checks at once
(``PasswordChecks``).

Too many failures for a name from one address within a window lock that pair for a cool-down;
each further lock of the same pair doubles it (up to a maximum). The name is compared exactly,
the way accounts are (``alice`` and ``Alice`` are different accounts and different keys). Keyed by
address too, so a stranger who keeps failing for ``admin`` locks only their own address out:
the admin logging in from elsewhere is not affected.

Per (name, address) alone, a stranger who makes up a new name for every attempt is never limited,
and each attempt costs a password check (about 0.2 s of a core, the same for an unknown name as for
a known one). ``AddressLimiter`` counts the failures of one address whatever the names, with its own
(higher) numbers, and refuses above them before any password is checked. ``PasswordChecks`` bounds how
many checks run at once: past it a login is refused at once instead of waiting in line, so a flood
from many addresses cannot take every core.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from alignment.errors import PermissionDenied
from profiles.schemas import MAX_USER_NAME_CHARS

if TYPE_CHECKING:
    from assistant.settings import Settings

__all__ = [
    "AddressLimiter",
    "LoginLimiter",
    "LoginsBusy",
    "PasswordChecks",
    "TooManyFromAddress",
    "TooManyLogins",
]

UNKNOWN_ADDRESS = "?"
MAX_KEYS = 10_000  # past this many tracked pairs, quiet ones are forgotten


def _name_key(name: str) -> str:
    """The name as the limiter keeps it: a name longer than any account's is kept as its digest, so
    a stranger posting megabyte names cannot grow the server's memory (such a name is no account)."""
    if len(name) <= MAX_USER_NAME_CHARS:
        return name
    return "sha256:" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


def _shown(name: str) -> str:
    return name if len(name) <= MAX_USER_NAME_CHARS else f"{name[:20]}... ({len(name)} characters)"


class TooManyLogins(PermissionDenied):
    """Refused without checking the password: too many recent failures for this name and address."""

    def __init__(self, name: str, wait_s: float) -> None:
        super().__init__(
            f"too many failed logins for {_shown(name)!r}; wait {max(1, round(wait_s))} s, then try again"
        )
        self.wait_s = wait_s


class TooManyFromAddress(TooManyLogins):
    """Refused without checking the password: too many recent failures from this address, whatever
    the names."""

    def __init__(self, wait_s: float) -> None:
        PermissionDenied.__init__(
            self,
            f"too many failed logins from your network address; wait {_wait_words(wait_s)}, then try again",
        )
        self.wait_s = wait_s


class LoginsBusy(TooManyLogins):
    """Refused without checking the password: as many password checks as allowed are running."""

    def __init__(self) -> None:
        PermissionDenied.__init__(self, "too many sign-ins at once; try again in a moment")
        self.wait_s = 1.0


def _wait_words(wait_s: float) -> str:
    seconds = max(1, round(wait_s))
    return f"{seconds} s" if seconds < 120 else f"{round(seconds / 60)} minutes"


@dataclass
class _Pair:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0
    strikes: int = 0  # locks so far: the next one lasts cooldown * 2**strikes
    last_seen: float = 0.0


class LoginLimiter:
    """``max_failures`` failures for one (name, address) within ``window_s`` lock it for
    ``cooldown_s``, then twice that, and so on up to ``max_cooldown_s``.

    The same whether or not the user exists (it tells nothing about which names exist). A success
    clears the pair. A pair quiet for longer than the longest cool-down starts over. Thread-safe;
    memory is bounded by forgetting quiet pairs.
    """

    def __init__(
        self,
        max_failures: int = 5,
        window_s: float = 60.0,
        cooldown_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_cooldown_s: float = 900.0,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.cooldown_s = cooldown_s
        self.max_cooldown_s = max(max_cooldown_s, cooldown_s)
        self._clock = clock
        self._pairs: dict[tuple[str, str], _Pair] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimiter:
        """The limits of the settings' ``login_*`` fields (logins, and wrong API keys on /v1)."""
        return cls(
            settings.login_max_failures,
            settings.login_window_s,
            settings.login_cooldown_s,
            max_cooldown_s=settings.login_max_cooldown_s,
        )

    @staticmethod
    def _key(name: str, address: str | None) -> tuple[str, str]:
        return _name_key(name), address or UNKNOWN_ADDRESS

    def _forget_after_s(self) -> float:
        return max(self.window_s, self.max_cooldown_s) * 2

    def check(self, name: str, address: str | None = None) -> None:
        """Raise TooManyLogins while ``name`` from ``address`` is cooling down."""
        now = self._clock()
        with self._lock:
            pair = self._pairs.get(self._key(name, address))
            if pair is not None and now < pair.locked_until:
                raise TooManyLogins(name, pair.locked_until - now)

    def failed(self, name: str, address: str | None = None) -> None:
        key, now = self._key(name, address), self._clock()
        with self._lock:
            pair = self._pairs.get(key)
            if pair is None or now - pair.last_seen > self._forget_after_s():
                pair = self._pairs[key] = _Pair()
            pair.last_seen = now
            pair.failures = [t for t in pair.failures if now - t < self.window_s]
            pair.failures.append(now)
            if len(pair.failures) >= self.max_failures:
                pair.locked_until = now + min(self.cooldown_s * 2**pair.strikes, self.max_cooldown_s)
                pair.strikes += 1
                pair.failures = []
            if len(self._pairs) > MAX_KEYS:
                self._forget_quiet(now)

    def succeeded(self, name: str, address: str | None = None) -> None:
        with self._lock:
            self._pairs.pop(self._key(name, address), None)

    def tracked(self) -> int:
        """How many (name, address) pairs are remembered (for tests and health)."""
        with self._lock:
            return len(self._pairs)

    def _forget_quiet(self, now: float) -> None:
        # a locked pair is kept; one whose failures left the window and is not locked goes
        self._pairs = {
            k: p
            for k, p in self._pairs.items()
            if now < p.locked_until or (p.failures and now - p.failures[-1] < self.window_s)
        }


class AddressLimiter:
    """``max_failures`` failed logins from one address within ``window_s``, whatever the names, lock
    the address for ``cooldown_s``, then twice that, and so on up to ``max_cooldown_s``.

    A success does not clear the count (else a stranger could reset it with an account of their
    own); failures leave it as the window moves on. The caller leaves out attempts from a browser
    with a device token of the name it tries (``DeviceTokens``): those are limited per device.
    """

    _ALL = ""  # the one name every failure of an address counts under

    def __init__(
        self,
        max_failures: int = 50,
        window_s: float = 600.0,
        cooldown_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        max_cooldown_s: float = 3600.0,
    ) -> None:
        self._limiter = LoginLimiter(max_failures, window_s, cooldown_s, clock, max_cooldown_s)

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressLimiter:
        """The limits of the settings' ``login_address_*`` fields."""
        return cls(
            settings.login_address_max_failures,
            settings.login_address_window_s,
            settings.login_address_cooldown_s,
            max_cooldown_s=settings.login_address_max_cooldown_s,
        )

    def check(self, address: str | None) -> None:
        """Raise TooManyFromAddress while ``address`` is locked."""
        try:
            self._limiter.check(self._ALL, address)
        except TooManyLogins as exc:
            raise TooManyFromAddress(exc.wait_s) from None

    def failed(self, address: str | None) -> None:
        self._limiter.failed(self._ALL, address)

    def tracked(self) -> int:
        """How many addresses are remembered."""
        return self._limiter.tracked()


class PasswordChecks:
    """At most ``limit`` password checks at once: ``with checks.slot():`` around one. A login that
    finds them all taken waits up to ``wait_s`` for one (so people who sign in at the same moment are
    all let in), with at most ``max_waiting`` waiting; past that, or after the wait, LoginsBusy.
    ``done`` counts the checks that ran."""

    def __init__(self, limit: int = 2, wait_s: float = 5.0, max_waiting: int | None = None) -> None:
        if limit < 1:
            raise ValueError("at least one password check must be allowed at once")
        self.limit = limit
        self.wait_s = wait_s
        self.max_waiting = 2 * limit if max_waiting is None else max_waiting
        self._slots = threading.BoundedSemaphore(limit)
        self._count = threading.Lock()
        self._waiting = 0
        self.done = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordChecks:
        return cls(settings.login_max_concurrent_checks, settings.login_check_wait_s)

    def _acquire(self) -> bool:
        if self._slots.acquire(blocking=False):
            return True
        with self._count:
            if self._waiting >= self.max_waiting or self.wait_s <= 0:
                return False
            self._waiting += 1
        try:
            return self._slots.acquire(timeout=self.wait_s)
        finally:
            with self._count:
                self._waiting -= 1

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._acquire():
            raise LoginsBusy
        try:
            yield
        finally:
            with self._count:
                self.done += 1
            self._slots.release()
