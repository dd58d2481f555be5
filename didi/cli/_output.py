"""Output that appears whole or not at all: files staged inside the output folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType


class UsageError(Exception):
    """A mistake in the command line or in its files: one line, exit status 2."""


class StagedOutput:
    """A hidden folder inside ``target`` whose files move into ``target`` together.

    Made before the long work, so that an output folder that cannot be written is
    found at once. Staging inside the target keeps every move on one file system
    (a target that is a mount point or a link to another one included). Used as a
    context manager: when the block completes, each file replaces its predecessor
    atomically, one after the other in an instant; when it fails or is
    interrupted, the staged files are removed and ``target`` is as it was (a
    ``target`` made for this run is removed again).
    """

    def __init__(self, target: Path) -> None:
        target = Path(target)
        if target.exists() and not target.is_dir():
            raise UsageError(f"--output-dir {target} exists and is not a folder.")
        self.made_target = not target.exists()
        try:
            target.mkdir(parents=True, exist_ok=True)
            self.staging = Path(tempfile.mkdtemp(prefix=".didi-staging-", dir=target))
        except OSError as exc:
            raise UsageError(f"cannot write to --output-dir {target}: {exc}") from exc
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
                for path in sorted(self.staging.iterdir()):
                    os.replace(path, self.target / path.name)
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)
            if kind is not None and self.made_target:
                shutil.rmtree(self.target, ignore_errors=True)
