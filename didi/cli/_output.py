"""Output that appears whole or not at all: files staged beside the output folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType


class UsageError(Exception):
    """A mistake in the command line or in its files: one line, exit status 2."""


class StagedOutput:
    """A fresh folder beside ``target``, whose files move into ``target`` together.

    Created before the long work, so that an output folder that cannot be written
    is found at once. Used as a context manager: when the block completes, the
    files are moved into place (the whole folder in one rename when ``target`` does
    not exist yet, else file by file, each replacing its predecessor atomically);
    when it fails or is interrupted, they are removed and ``target`` is untouched.
    """

    def __init__(self, target: Path) -> None:
        target = Path(target)
        if target.exists() and not target.is_dir():
            raise UsageError(f"--output-dir {target} exists and is not a folder.")
        if target.is_dir() and not os.access(target, os.W_OK):
            raise UsageError(f"--output-dir {target} is not writable.")
        parent = target.absolute().parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=parent))
        except OSError as exc:
            raise UsageError(f"cannot write next to --output-dir {target}: {exc}") from exc
        self.target = target

    def __truediv__(self, name: str) -> Path:
        """Where to write the file ``name`` for now."""
        return self.staging / name

    def __enter__(self) -> StagedOutput:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                self._move_into_place()
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)

    def _move_into_place(self) -> None:
        if not self.target.exists():
            os.replace(self.staging, self.target)
            return
        for path in sorted(self.staging.iterdir()):
            os.replace(path, self.target / path.name)
