"""Files handed to one user: a copy under an unguessable folder, readable by its owner (and admins)
until it expires, then deleted.

Every file the app returns (an evaluation's chart and zip, a profile or comparison export) goes
through ``Handout.give``: never a path in the data folder, never a name another user could predict.
The web layer asks ``owner_of`` before serving any path under ``root`` and refuses a path there that
no live grant covers (another process's, an expired one, a made-up one).

What one owner holds is bounded: past ``max_bytes_per_owner`` (or ``max_files_per_owner``) a new copy
first takes the place of that owner's oldest ones, whose links stop working early, so no one fills
the disk by asking for exports again and again.

``align serve`` puts ``root`` inside Gradio's cache folder, so a handler may return the copy as is
(Gradio serves it from there without copying it again to a place nobody guards).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_TTL_S", "MAX_BYTES_PER_OWNER", "MAX_FILES_PER_OWNER", "Handout"]

DEFAULT_TTL_S = 3600.0  # a download link works this long after the reply that gave it
MAX_BYTES_PER_OWNER = 64 * 1024 * 1024  # well above an export of 500 profiles (about 1.6 MB)
MAX_FILES_PER_OWNER = 50


@dataclass(frozen=True)
class _Grant:
    owner: str
    expires: float
    size: int = 0


class Handout:
    """Handed-out copies under ``root`` (created on first use), one folder per grant.

    Several servers may share ``root`` (Gradio's cache folder is per machine): each serves and
    deletes only its own grants, and anyone's folder older than ``ttl_s`` is stale (every grant has
    expired by then) and swept. ``link_prefix`` + the copy's absolute path is the link a reply gives
    (Gradio's file route). ``clock`` (seconds, monotonic) times the grants.
    """

    def __init__(
        self,
        root: Path,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        link_prefix: str = "/gradio_api/file=",
        clock: Callable[[], float] = time.monotonic,
        max_bytes_per_owner: int = MAX_BYTES_PER_OWNER,
        max_files_per_owner: int = MAX_FILES_PER_OWNER,
    ) -> None:
        self.root = Path(os.path.abspath(root))
        self.ttl_s = ttl_s
        self.max_bytes_per_owner = max_bytes_per_owner
        self.max_files_per_owner = max_files_per_owner
        self.link_prefix = link_prefix
        self._clock = clock
        self._grants: dict[str, _Grant] = {}
        self._lock = threading.Lock()

    def give(self, owner: str, source: Path | bytes, name: str | None = None) -> str:
        """Copy ``source`` (a file, or the bytes of one) for ``owner``; returns its link."""
        if name is None:
            if isinstance(source, bytes):
                raise ValueError("give a name for the bytes handed out")
            name = source.name
        name = Path(name).name or "file"
        self.sweep()
        size = len(source) if isinstance(source, bytes) else source.stat().st_size
        self._make_room(owner, size)
        token = secrets.token_urlsafe(24)
        folder = self.root / token
        folder.mkdir(parents=True, mode=0o700)
        target = folder / name
        if isinstance(source, bytes):
            target.write_bytes(source)
        else:
            shutil.copyfile(source, target)
        with self._lock:
            self._grants[token] = _Grant(owner=owner, expires=self._clock() + self.ttl_s, size=size)
        return self.link(target)

    def _make_room(self, owner: str, size: int) -> None:
        """Revoke and delete ``owner``'s oldest copies until one of ``size`` bytes fits the bounds."""
        with self._lock:
            mine = [t for t, g in self._grants.items() if g.owner == owner]  # oldest first
            held = sum(self._grants[t].size for t in mine)
            dropped = []
            while mine and (held + size > self.max_bytes_per_owner or len(mine) >= self.max_files_per_owner):
                token = mine.pop(0)
                held -= self._grants.pop(token).size
                dropped.append(token)
        for token in dropped:
            shutil.rmtree(self.root / token, ignore_errors=True)

    def link(self, path: Path) -> str:
        return f"{self.link_prefix}{path}"

    def path(self, link: str) -> Path:
        """The copy a link names (for a UI handler that shows it in a component)."""
        return Path(link.removeprefix(self.link_prefix))

    def holds(self, path: Path | str) -> bool:
        """Whether ``path`` (made absolute, symlinks resolved) lies under ``root``."""
        return _inside(path, self.root)

    def owner_of(self, path: Path | str) -> str | None:
        """The owner of a live grant covering ``path``; None when no live grant covers it."""
        token = self._token(path)
        if token is None:
            return None
        with self._lock:
            grant = self._grants.get(token)
        if grant is None or grant.expires <= self._clock():
            return None
        return grant.owner

    def sweep(self) -> None:
        """Delete the expired copies, and stale folders a stopped server left."""
        now = self._clock()
        with self._lock:
            expired = [t for t, g in self._grants.items() if g.expires <= now]
            for token in expired:
                del self._grants[token]
        for token in expired:
            shutil.rmtree(self.root / token, ignore_errors=True)
        try:
            folders = list(self.root.iterdir())
        except OSError:
            return
        oldest = time.time() - self.ttl_s
        for folder in folders:
            with contextlib.suppress(OSError):
                if folder.stat().st_mtime < oldest:
                    shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        """Delete this server's copies (it stops)."""
        with self._lock:
            tokens = list(self._grants)
            self._grants.clear()
        for token in tokens:
            shutil.rmtree(self.root / token, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.root.rmdir()  # when no other server uses it

    def _token(self, path: Path | str) -> str | None:
        """The grant folder ``path`` lies in, when it lies in one directly (``root/TOKEN/NAME``)."""
        for candidate in _forms(path):
            for root in _forms(self.root):
                try:
                    parts = candidate.relative_to(root).parts
                except ValueError:
                    continue
                if len(parts) == 2:
                    return parts[0]
        return None


def _forms(path: Path | str) -> list[Path]:
    """``path`` made absolute as written and with symlinks resolved (both are checked)."""
    absolute = Path(os.path.abspath(path))
    try:
        resolved = absolute.resolve()
    except (OSError, RuntimeError):
        return [absolute]
    return [absolute, resolved]


def _inside(path: Path | str, root: Path) -> bool:
    return any(p.is_relative_to(r) for p in _forms(path) for r in _forms(root))
