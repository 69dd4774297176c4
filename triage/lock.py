"""One triage at a time per mailbox: an exclusive ``flock`` on a file next to the state file.

Two processes working the same mailbox and state file would decide the same mail twice
and fight over the SQLite write lock. The lock is held by the open file, so the kernel
drops it when the process dies however it dies: a stale lock file never blocks a restart.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from triage.errors import UsageError


class AlreadyRunning(UsageError):
    """Raised when another process holds the lock of the same state file."""


def lock_path_for(state_path: str | Path) -> Path:
    """The lock file of a state file: ``state.db`` → ``state.db.lock``."""
    path = Path(state_path).expanduser()
    return path.with_name(path.name + ".lock")


class InstanceLock:
    """``with InstanceLock(path):`` holds the lock, or raises :class:`AlreadyRunning`.

    The file holds the owner's process id, for the error message and for people."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def __enter__(self) -> InstanceLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(
                f"another triage (pid {owner}) is already working on this mailbox: {self.path} is locked"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def keep(self) -> bool:
        """Make sure the lock is still the file at :attr:`path`; True when it had to be
        taken again. A lock file deleted (or replaced) under a running triage locks
        nothing: a second triage would create a new one, lock it, and both would decide
        the same mail. So the lock is taken again on whatever file is at the path now;
        raises :class:`AlreadyRunning` when another triage holds that one already."""
        if self._fd is None:
            return False
        held = os.fstat(self._fd)
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            found = None
        if found is not None and (found.st_dev, found.st_ino) == (held.st_dev, held.st_ino):
            return False
        old, self._fd = self._fd, None
        try:
            self.__enter__()
        finally:
            if self._fd is None:
                self._fd = old  # not taken: keep what is held, for the exit to release
            else:
                os.close(old)
        return True

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock; the file stays, harmless
            self._fd = None
