"""An uploaded file, held only while one request uses it.

Gradio leaves an upload in its shared upload folder. ``Uploads.received`` takes it out of there at
once (into a private folder of the uploader's under the data folder, which is never served),
checks it (a dataset: ALIGN input_output JSON), hands it to the caller, and deletes it when the
request is done, whether it succeeded or not. A request names an upload only through this; no
path in a request can reach another user's upload.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alignment.datasets import load_file
from alignment.errors import InputError

__all__ = ["Uploads"]

GONE = "the uploaded file is no longer on the server; upload it again"


class Uploads:
    """``root``: where uploads wait while a request uses them (one folder per user and request).

    ``refuse(path)``: paths that are never taken as an upload (the files handed out to users).
    """

    def __init__(self, root: Path, refuse: Callable[[Path], bool] = lambda path: False) -> None:
        self.root = root
        self.refuse = refuse

    @contextmanager
    def received(
        self, owner: str, source: Path, *, check: Callable[[Path], object] | None = load_file
    ) -> Iterator[Path]:
        """The upload at ``source``, moved to ``owner``'s folder, checked (by default: an ALIGN
        input_output file); deleted on exit."""
        if self.refuse(source) or not source.is_file():
            raise InputError(GONE)
        folder = self.root / owner / secrets.token_hex(8)
        folder.mkdir(parents=True, mode=0o700)
        target = folder / (source.name or "upload.json")
        try:
            try:
                shutil.copyfile(source, target)
            except OSError:
                raise InputError(GONE) from None
            _discard(source)
            try:
                if check is not None:
                    check(target)
            except InputError as exc:  # name the file, never the folder it waits in
                raise InputError(str(exc).replace(str(target), target.name)) from None
            yield target
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            _discard(source)


def _discard(source: Path) -> None:
    """Delete Gradio's copy and its folder (Gradio names one folder per upload)."""
    source.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        source.parent.rmdir()  # only when empty
