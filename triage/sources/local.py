"""Read mail from local storage: a Maildir, an mbox file, a folder of .eml files, or one .eml.

All readers are lazy: they yield one :class:`RawMail` at a time so memory does not grow
with the size of the folder; and of a message they keep only what triage parses (its
first :data:`~triage.parsing.MAX_PARSE_BYTES`, as IMAP fetches), so it does not grow
with the size of attachments either.
"""

from __future__ import annotations

import hashlib
import mailbox
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from triage.errors import SourceError
from triage.message import RawMail
from triage.parsing import MAX_PARSE_BYTES

_CHUNK_BYTES = 1 << 20
"""How much of a message beyond what is kept is read at a time (to hash it)."""

_FIRST_BYTES = 1 << 16
"""How much a read asks for first. A read of n bytes allocates n before it reads: asking
for 2 MB (or 1 MB) at once cost each message of a few KB an ``mmap``, an ``mremap`` and a
``munmap`` (glibc serves blocks above 1 MiB so, :mod:`triage.allocator`), ~30 µs."""

_MAILDIR_FLAGS = {"S": "\\Seen", "R": "\\Answered", "F": "\\Flagged", "T": "\\Deleted", "D": "\\Draft"}


def is_maildir(path: Path) -> bool:
    """A Maildir has ``cur`` or ``new`` (``tmp`` is often missing from copies and repos)."""
    return path.is_dir() and ((path / "cur").is_dir() or (path / "new").is_dir())


def is_mbox(path: Path) -> bool:
    """An mbox file starts with a ``From `` separator line."""
    if not path.is_file():
        return False
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def source_name(path: Path) -> str:
    """The ``mailbox`` value reported for mail read from ``path``."""
    return text_name(path.name or str(path))


def text_name(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (``os.listdir`` hands them over as
    lone surrogates) as U+FFFD. A Maildir file named in Latin-1 reached the rows, the
    state and the unreadable reasons as surrogates, which no UTF-8 writer takes: a
    UnicodeEncodeError traceback, the pass lost."""
    if name.isascii():
        return name
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def read_local(path: str | os.PathLike) -> Iterator[RawMail]:
    """Yield every message under ``path``, whatever kind of local source it is.

    Raises SourceError when the path does not exist or is not a mail source.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    if is_maildir(path):
        yield from _read_maildir(path)
    elif is_mbox(path):
        yield from _read_mbox(path)
    elif path.is_file():
        yield _read_eml(path, source_name(path.parent))
    elif path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".eml")
        if not files:
            raise SourceError(f"{path}: not a Maildir, an mbox file, or a folder with .eml files")
        for file in files:
            yield _read_eml(file, source_name(path))
    else:
        raise SourceError(f"{path}: not a Maildir, an mbox file, or a folder with .eml files")


def _read_eml(path: Path, name: str) -> RawMail:
    raw, digest = _read_file(path)
    return RawMail(raw=raw, mailbox=name, key=text_name(path.name), internaldate=_mtime(path), digest=digest)


def _read_maildir(path: Path) -> Iterator[RawMail]:
    name = source_name(path)
    for sub in ("new", "cur"):
        folder = path / sub
        if not folder.is_dir():
            continue
        for file in sorted(folder.iterdir()):
            if not file.is_file() or file.name.startswith("."):
                continue
            info = file.name.split(":2,", 1)[1] if ":2," in file.name else ""
            flags = tuple(_MAILDIR_FLAGS[c] for c in info if c in _MAILDIR_FLAGS)
            raw, digest = _read_file(file)
            yield RawMail(raw=raw, mailbox=name, key=text_name(file.name), internaldate=_mtime(file), flags=flags,
                          digest=digest)


def _read_mbox(path: Path) -> Iterator[RawMail]:
    box = mailbox.mbox(path, create=False)
    try:
        for index, key in enumerate(box.iterkeys()):
            if os.linesep == "\n":  # get_bytes turns os.linesep into "\n": here the bytes as they are
                with box.get_file(key) as handle:
                    raw, digest = _read_start(handle)
            else:
                raw, digest = box.get_bytes(key), None
            yield RawMail(raw=raw, mailbox=source_name(path), key=str(index), digest=digest)
    finally:
        box.close()


def _read_file(path: Path) -> tuple[bytes, str | None]:
    with path.open("rb") as handle:
        return _read_start(handle)


def _read_start(handle) -> tuple[bytes, str | None]:
    """The first :data:`~triage.parsing.MAX_PARSE_BYTES` of a message, and the SHA-256 of
    all of it when there is more (else None). A Maildir of 70 messages with 8 MB
    attachments took 1.2 GB, read whole, and the workers a copy each; the identity of
    local mail stays the hash of its whole bytes."""
    start = handle.read(_FIRST_BYTES)
    if len(start) == _FIRST_BYTES:  # (a buffered read returns less only at the end)
        start += handle.read(MAX_PARSE_BYTES - _FIRST_BYTES)
    more = handle.read(_FIRST_BYTES)
    if not more:
        return start, None
    digest = hashlib.sha256(start)
    while more:
        digest.update(more)
        more = handle.read(_CHUNK_BYTES)
    return start, digest.hexdigest()


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
