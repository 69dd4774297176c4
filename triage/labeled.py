"""Read labeled mail: one subfolder per category, each a Maildir or a folder of .eml files.

A message that sits in several category folders (the same Message-ID) has all those
categories; a message in ``other/`` has none.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from triage import CATEGORIES, OTHER
from triage.errors import MessageParseError, SourceError
from triage.message import Message, RawMail
from triage.parsing import mail_digest, parse_message
from triage.sources.local import read_local

log = logging.getLogger(__name__)

FOLDERS = (*CATEGORIES, OTHER)


@dataclass
class Example:
    """One labeled message: its parsed form and the categories it was filed under."""

    message: Message
    categories: set[str]
    frustrated: bool | None = None
    """From the corpus's ``X-Corpus-Frustrated`` annotation, where present."""


@dataclass
class LabeledSet:
    """A labeled collection, deduplicated by Message-ID, with a content hash to cite."""

    examples: list[Example]
    sha256: str
    skipped: int
    read: int = 0
    """Files (or IMAP messages) read: one per category folder a message is filed in."""

    def describe(self, source: str) -> str:
        """'read 812 messages from SOURCE: 640 used, 170 copies of a message filed under
        several categories merged, 2 skipped (no mail headers)'."""
        merged = self.read - len(self.examples) - self.skipped
        parts = [f"{len(self.examples)} used"]
        if merged > 0:
            parts.append(f"{merged} copies of a message filed under several categories merged")
        if self.skipped:
            parts.append(f"{self.skipped} skipped (no mail headers)")
        return f"read {self.read} message{'s' if self.read != 1 else ''} from {source}: " + ", ".join(parts)

    def counts(self) -> dict[str, int]:
        """Messages per category (``other`` = none of the categories)."""
        counts = {name: 0 for name in FOLDERS}
        for example in self.examples:
            for name in example.categories or {OTHER}:
                counts[name] += 1
        return counts


def load_labeled(root: str | Path) -> LabeledSet:
    """Read every category folder under ``root``; raise SourceError if there is none."""
    root = Path(root).expanduser()
    present = [name for name in FOLDERS if (root / name).is_dir() and any((root / name).iterdir())]
    if not present:
        raise SourceError(f"{root}: expected category folders ({', '.join(FOLDERS)})")
    by_folder: list[tuple[str, Iterable[RawMail]]] = [(name, read_local(root / name)) for name in present]
    return build_labeled(by_folder)


def build_labeled(by_folder: Iterable[tuple[str, Iterable[RawMail]]]) -> LabeledSet:
    """Parse (category, raw mail) pairs into a deduplicated LabeledSet; shared with IMAP training."""
    examples: dict[str, Example] = {}
    digest = hashlib.sha256()
    skipped = 0
    raws: list[tuple[str, RawMail]] = [(folder, raw) for folder, mails in by_folder for raw in mails]
    for folder, raw in sorted(raws, key=lambda pair: (pair[0], pair[1].key)):
        digest.update(folder.encode() + b"\0" + bytes.fromhex(mail_digest(raw)))
        try:
            message = parse_message(raw)
        except MessageParseError as exc:
            log.warning("skipping %s", exc)
            skipped += 1
            continue
        example = examples.get(message.message_id)
        if example is None:
            example = examples[message.message_id] = Example(message, set(), _annotation(raw.raw))
        if folder != OTHER:
            example.categories.add(folder)
    ordered = sorted(examples.values(), key=lambda e: e.message.message_id)
    return LabeledSet(ordered, digest.hexdigest(), skipped, len(raws))


def _annotation(raw: bytes) -> bool | None:
    head = raw.split(b"\n\n", 1)[0].lower()
    marker = b"x-corpus-frustrated:"
    at = head.find(marker)
    if at < 0:
        return None
    return head[at + len(marker):].split(b"\n", 1)[0].strip().startswith(b"yes")
