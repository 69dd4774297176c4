"""Standard output and error as triage finds them, made fit to write to.

A command's results go to stdout, and the world hands triage odd ones:

- **closed** (``triage once >&-``, a supervisor that closes it): Python makes
  ``sys.stdout`` None, and the first row printed was an AttributeError traceback. Worse,
  the lowest free descriptor is then 1, and the next file opened (the lock, the state)
  would become everybody's standard output. The descriptor is pointed at /dev/null, and a
  command that would print refuses to start, naming the fix (exit 2).
- **not UTF-8** (``PYTHONIOENCODING=ascii``, a Latin-1 locale, ``LANG=C`` with UTF-8
  mode off): the first subject with an "é" was a UnicodeEncodeError traceback, after the
  batch's labels were stored. JSON Lines, JSON, HTML and TOML are UTF-8 whatever the
  locale (docs/contracts.md); text for people keeps the locale's encoding, characters it
  lacks shown as ``?``.
- **failing** (``> /dev/full``, a disk filling up, an I/O error): a write's OSError was a
  traceback; now it is one line, ``cannot write to standard output: …``, exit 1. Rows
  not printed are not recorded as printed (the batch is not committed, or stays marked
  unstored over IMAP), so the next run prints them.
"""

from __future__ import annotations

import codecs
import os
import sys
from typing import TextIO

from triage.errors import TriageError, UsageError

MACHINE_FORMATS = frozenset({"jsonl", "json", "html", "toml"})
"""Output formats for programs and files: always UTF-8."""


class OutputFailed(TriageError):
    """Writing to standard output failed (a full disk, an I/O error): exit 1."""


class StdoutClosed(UsageError):
    """Standard output is closed and the command would print to it: exit 2."""


def open_closed_descriptors() -> set[int]:
    """Point each of descriptors 0, 1 and 2 that is closed at /dev/null, so that no file
    triage opens becomes one of them; the ones that were closed."""
    closed = set()
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.add(fd)
            opened = os.open(os.devnull, os.O_RDWR)
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)
    return closed


def settle_streams(prints: bool, machine: bool) -> None:
    """Make ``sys.stdout`` and ``sys.stderr`` fit to write to (see the module docstring).
    ``prints``: the command writes to stdout; ``machine``: what it writes is for programs
    (UTF-8 whatever the locale). Raises :class:`StdoutClosed` when stdout was closed and
    the command would print."""
    closed = open_closed_descriptors()
    if sys.stderr is None or 2 in closed:
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    if sys.stdout is None or 1 in closed:
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
        if prints:
            raise StdoutClosed("standard output is closed: give it somewhere to go (> FILE, or > /dev/null "
                               "to discard what triage prints)")
    stream = sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    if _is_utf8(encoding) or not hasattr(stream, "reconfigure"):
        pass
    elif machine:
        stream.reconfigure(encoding="utf-8", errors="strict")
    else:
        stream.reconfigure(errors="replace")
    sys.stdout = _Stdout(stream)


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


class _Stdout:
    """``sys.stdout``, its write errors (but a closed pipe's, which the command line
    takes as the reader having had enough) raised as :class:`OutputFailed`."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputFailed(_failed(exc)) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputFailed(_failed(exc)) from None

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _failed(exc: OSError) -> str:
    return f"cannot write to standard output: {exc.strerror or exc}"
