"""What one user's uploads may hold on the server's disk, and how often they may come.

Gradio keeps every upload in its cache folder until a handler uses it (``Uploads.received`` takes it
out at once) or its cache clean-up comes by. ``UploadLedger`` keeps, per user, the files their
uploads left there, and before each upload request:

- refuses more than ``per_minute`` upload requests of one user within a minute (429);
- refuses a request whose announced size alone is above the user's total (413);
- makes room under the user's total (``max_bytes``: the files held, and the uploads still coming
  in) by deleting that user's oldest uploads that no handler took yet; when the uploads still coming
  in fill it alone, the request is refused (429) until they are done.

A request that ends without its files stored (refused, failed, or cut off by the client part-way)
leaves the parts Gradio's parser had written so far (``PartFile``); ``done`` deletes them before the
request's announced bytes stop counting, so they count against the user's total until they are
gone, and one that cannot be deleted is held like an upload (the sweep tries again).

``sweep()`` deletes every upload older than ``keep_s`` that no handler took (a handler takes an
upload at once; an upload left that long was not meant for one). A file counts at least one disk
block (4 KiB), so a thousand empty files cost what they cost the disk. A file that two users
uploaded alike (Gradio names files by their content) is deleted only once neither holds it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BLOCK", "PartFile", "UploadLedger", "UploadRefused"]

BLOCK = 4096  # every file takes at least one block of the disk


def megabytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


class UploadRefused(Exception):
    """An upload request refused before its body is read: an HTTP status and words for a person."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class PartFile:
    """A file Gradio's parser made for one part of an upload request: where, and which file it is
    (device and inode: once the request is over, that name may belong to another request's file)."""

    path: Path
    device: int
    inode: int

    @classmethod
    def of(cls, path: str | Path, fd: int) -> PartFile:
        """The file open as ``fd`` at ``path``."""
        found = os.fstat(fd)
        return cls(Path(path), found.st_dev, found.st_ino)

    def remove(self) -> bool:
        """Delete the file if it is still there under its name; False if it is and cannot be deleted."""
        try:
            found = os.stat(self.path)
        except OSError:
            return True  # stored under its final name, or gone
        if (found.st_dev, found.st_ino) != (self.device, self.inode):
            return True  # the name is another file's now
        try:
            self.path.unlink()
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return True


@dataclass
class _Held:
    path: Path
    size: int
    at: float
    own_folder: bool = True  # Gradio's folder for this content, deleted with it when empty


@dataclass
class _User:
    held: list[_Held] = field(default_factory=list)  # oldest first
    incoming: int = 0  # announced bytes of requests still coming in
    recent: deque[float] = field(default_factory=deque)  # when the last requests came


class UploadLedger:
    """Per-user upload quota: ``max_bytes`` held at once, ``per_minute`` requests, ``keep_s`` seconds."""

    def __init__(self, *, max_bytes: int, per_minute: int, keep_s: float) -> None:
        self.max_bytes = max_bytes
        self.per_minute = per_minute
        self.keep_s = keep_s
        self._users: dict[str, _User] = {}
        self._lock = threading.Lock()

    # -- before and after one upload request --------------------------------------------------------

    def admit(self, user: str, declared: int, now: float | None = None) -> None:
        """Let ``user`` send an upload of ``declared`` bytes, or raise ``UploadRefused``."""
        now = time.monotonic() if now is None else now
        cost = max(declared, BLOCK)
        doomed: list[_Held] = []
        with self._lock:
            entry = self._users.setdefault(user, _User())
            while entry.recent and entry.recent[0] <= now - 60:
                entry.recent.popleft()
            if len(entry.recent) >= self.per_minute:
                wait = max(1, round(entry.recent[0] + 60 - now))
                raise UploadRefused(
                    429,
                    f"too many uploads: at most {self.per_minute} a minute; wait {wait} seconds, "
                    "then upload again",
                )
            if cost > self.max_bytes:
                raise UploadRefused(
                    413,
                    f"this upload is too large ({megabytes(declared)}); your uploads may hold at most "
                    f"{megabytes(self.max_bytes)} on the server at once. Upload a smaller file.",
                )
            entry.held = [h for h in entry.held if h.path.exists()]  # a handler took the rest
            while entry.held and self._bytes(entry) + cost > self.max_bytes:
                oldest = entry.held.pop(0)
                if not self._held_by_others(user, oldest.path):
                    doomed.append(oldest)
            if self._bytes(entry) + cost > self.max_bytes:
                raise UploadRefused(
                    429,
                    "your other uploads are still coming in; wait until they are done, then upload again",
                )
            entry.recent.append(now)
            entry.incoming += cost
        _delete(doomed)

    def done(
        self,
        user: str,
        declared: int,
        files: list[Path],
        now: float | None = None,
        *,
        parts: tuple[PartFile, ...] | list[PartFile] = (),
    ) -> None:
        """The request ``admit`` let in has ended; ``files``: the files it stored in Gradio's cache;
        ``parts``: the files its parser made (those not stored under ``files`` are deleted first)."""
        now = time.monotonic() if now is None else now
        kept = [part.path for part in parts if not part.remove()]
        held = []
        for path in [*files, *kept]:
            try:
                size = path.stat().st_size
            except OSError:
                continue
            held.append(_Held(path, max(size, BLOCK), now, own_folder=path not in kept))
        with self._lock:
            entry = self._users.setdefault(user, _User())
            entry.incoming = max(0, entry.incoming - max(declared, BLOCK))
            entry.held.extend(held)

    # -- clean-up -------------------------------------------------------------------------------------

    def sweep(self, now: float | None = None) -> int:
        """Delete the uploads older than ``keep_s`` that no handler took; how many were deleted."""
        now = time.monotonic() if now is None else now
        doomed: list[_Held] = []
        with self._lock:
            for name, entry in list(self._users.items()):
                keep = [h for h in entry.held if h.at > now - self.keep_s and h.path.exists()]
                for old in entry.held:
                    if old not in keep and not self._held_by_others(name, old.path):
                        doomed.append(old)
                entry.held = keep
                if not keep and not entry.incoming and not entry.recent:
                    del self._users[name]
        _delete(doomed)
        return len(doomed)

    def held_bytes(self, user: str) -> int:
        """The bytes ``user``'s uploads hold now (each file at least one block)."""
        with self._lock:
            entry = self._users.get(user)
            return 0 if entry is None else sum(h.size for h in entry.held if h.path.exists())

    @staticmethod
    def _bytes(entry: _User) -> int:
        return entry.incoming + sum(h.size for h in entry.held)

    def _held_by_others(self, user: str, path: Path) -> bool:
        return any(h.path == path for name, other in self._users.items() if name != user for h in other.held)


def _delete(files: list[_Held]) -> None:
    """Delete the files and their folders (Gradio makes one folder per uploaded content)."""
    for held in files:
        with contextlib.suppress(OSError):
            held.path.unlink(missing_ok=True)
            if held.own_folder:
                held.path.parent.rmdir()  # only when empty
