"""People's corrections of triage's categories, kept in the state file to learn from.

A correction is a person's word on what one message is about. It comes from one of two
places (``source``):

- ``label-change``: someone changed triage's category labels on a message in their mail
  client (took ``triage/refund`` off, put ``triage/cancellation`` on);
- ``training-folder``: someone filed a message into a training folder (``Training/refund``);
  ``after`` is then the categories of every training folder holding it
  (:mod:`triage.imap.drops`), so a message filed twice has both.

Only a person's change is a correction, never triage's own labels. The service tells
the two apart by what it stored: :meth:`triage.history.History.save_decision` keeps the
labels triage wrote on each message, so the category labels found on the server are a
person's work where they differ from those while the message's other triage labels are
intact (:func:`human_change`). Labels triage writes are therefore never recorded here, a
message whose labels nobody touched yields nothing, and neither does one whose labels
were lost (a folder recreated or migrated, its keywords reset): those are put back
(:mod:`triage.imap.restore`). (Training folders are never written by triage: it refuses to learn from
its own label folders, see :mod:`triage.imap.training` and :mod:`triage.imap.drops`.)

Each correction stores the message's classifier text (subject and newest words), so a
model can be retrained without fetching the mail again. The table lives in the same
SQLite file as :class:`~triage.history.History`, but this module owns it and opens its
own connection: corrections are committed as they are recorded, independently of the
service's batch transaction.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from triage import CATEGORIES, OTHER
from triage.history import iso, parse_iso
from triage.labels import PRIORITY_LABELS
from triage.labeled import Example
from triage.message import Message

SOURCES = ("label-change", "training-folder")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS corrections(
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    recorded   TEXT NOT NULL,
    before     TEXT NOT NULL,
    after      TEXT NOT NULL,
    source     TEXT NOT NULL CHECK (source IN ('label-change', 'training-folder')),
    text       TEXT NOT NULL,
    automated  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS corrections_message ON corrections(message_id, id);
"""
# before/after: JSON lists of categories in canonical order; [] means "other".


@dataclass(frozen=True)
class Correction:
    """One recorded correction. ``before`` is what triage had decided, ``after`` what the
    person chose (both in canonical order; empty = ``other``); ``text`` is the message's
    classifier text; ``id`` grows with every record, so it doubles as a cursor."""

    id: int
    message_id: str
    recorded: datetime
    before: tuple[str, ...]
    after: tuple[str, ...]
    source: str
    text: str
    automated: bool = False

    def example(self) -> Example:
        """The correction as a training example with exactly the corrected categories."""
        subject, _, newest = self.text.partition("\n")
        message = Message(message_id=self.message_id, sender="", sender_name="", recipients=(), subject=subject,
                          date=self.recorded, in_reply_to=None, references=(), body_text=newest, newest_text=newest,
                          automated=self.automated, automated_reason=None)
        return Example(message, set(self.after))


def categories(names: Iterable[str]) -> tuple[str, ...]:
    """Validated categories in canonical order; ``other`` stands for none. ValueError
    names anything else."""
    names = set(names)
    unknown = names - set(CATEGORIES) - {OTHER}
    if unknown:
        raise ValueError(f"unknown categories {sorted(unknown)}; known: {', '.join((*CATEGORIES, OTHER))}")
    return tuple(c for c in CATEGORIES if c in names)


def categories_of_labels(labels: Iterable[str], prefix: str) -> tuple[str, ...]:
    """The categories among triage's labels (``triage/refund`` -> ``refund``); the other
    labels triage writes (priority, frustrated) and everyone else's are ignored."""
    found = {label[len(prefix):].lower() for label in labels if label.lower().startswith(prefix.lower())}
    return tuple(c for c in CATEGORIES if c in found)


def _triage_labels(labels: Iterable[str], prefix: str) -> set[str]:
    """Triage's labels among ``labels``, lower case (keywords compare so)."""
    start = prefix.lower()
    return {label.lower() for label in labels if label.lower().startswith(start)}


def extra_priorities(written: Iterable[str], current: Iterable[str], prefix: str) -> tuple[str, ...]:
    """The priority labels to take off a message that carries more than one (``current``):
    those triage did not write (``written``, as stored), in their spelling on the server.
    A priority says how soon the team should answer; two say nothing. Priority is
    triage's to decide and it is not learned from people, so its own stands; when
    triage wrote none of them (a person put two on a message triage gave none), all go.
    One priority label a person set alone is not a conflict and is left (the
    conversation's next sweep puts triage's back, as for any waiting label)."""
    names = {(prefix + name).lower() for name in PRIORITY_LABELS}
    on = [label for label in current if label.lower() in names]
    if len({label.lower() for label in on}) < 2:
        return ()
    mine = {label.lower() for label in written}
    return tuple(sorted(label for label in on if label.lower() not in mine))


def missing_labels(written: Iterable[str], current: Iterable[str], prefix: str) -> frozenset[str]:
    """The triage labels triage wrote (``written``, as stored) that the message no longer carries."""
    return frozenset(_triage_labels(written, prefix) - _triage_labels(current, prefix))


def labels_intact(written: Iterable[str], current: Iterable[str], prefix: str) -> bool:
    """True when a message still carries triage labels, and every one triage wrote that
    is not a category (priority, frustrated, overdue, unreadable) is still there. Labels
    that vanish with the rest — a folder recreated or migrated, its keywords reset, a
    client that dropped them — are nobody's word on the categories."""
    now = _triage_labels(current, prefix)
    categories_written = {(prefix + c).lower() for c in categories_of_labels(written, prefix)}
    return bool(now) and not (_triage_labels(written, prefix) - categories_written) - now


def human_change(written: Iterable[str], current: Iterable[str], prefix: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """``(before, after)`` categories when a person changed the category labels of a
    message: they differ from those triage wrote (``written``, as stored in the state),
    and the message's other triage labels are intact (:func:`labels_intact`). None
    otherwise — nobody changed them, or labels were lost rather than changed. This is the
    rule that keeps triage from learning its own labels, or a folder's lost keywords."""
    written, current = list(written), list(current)
    before, after = categories_of_labels(written, prefix), categories_of_labels(current, prefix)
    if before == after or not labels_intact(written, current, prefix):
        return None
    return before, after


class CorrectionStore:
    """The ``corrections`` table of a state file. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)
        self.db.commit()

    def __enter__(self) -> CorrectionStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def record(self, *, message_id: str, before: Iterable[str], after: Iterable[str], source: str, text: str,
               automated: bool = False, when: datetime | None = None) -> Correction | None:
        """Store one correction and commit it; None when there is nothing new to learn:
        ``after`` is what the message's newest correction already says (so the service
        may re-scan and report the same change again), or, for a message not corrected
        before, a ``label-change`` that changes nothing. A ``training-folder`` filing that
        agrees with triage is kept: it confirms the model on the team's own mail. A person
        who changes the labels back to triage's is recorded too: the newest word counts."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
        before, after = categories(before), categories(after)
        newest = self.db.execute("SELECT after FROM corrections WHERE message_id = ? ORDER BY id DESC LIMIT 1",
                                 (message_id,)).fetchone()
        if newest is not None:
            known = tuple(json.loads(newest[0]))
        else:
            known = before if source == "label-change" else None
        if known == after:
            return None
        when = when or datetime.now(timezone.utc)
        cursor = self.db.execute(
            "INSERT INTO corrections(message_id, recorded, before, after, source, text, automated)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (message_id, iso(when), json.dumps(before), json.dumps(after), source, text, int(automated)),
        )
        self.db.commit()
        return Correction(cursor.lastrowid, message_id, parse_iso(iso(when)), before, after, source, text, automated)

    def since(self, since: datetime | None = None, *, after_id: int = 0) -> list[Correction]:
        """Corrections recorded at or after ``since`` and with an id above ``after_id``, oldest first."""
        rows = self.db.execute(
            "SELECT * FROM corrections WHERE recorded >= ? AND id > ? ORDER BY id",
            (iso(since) if since else "", after_id),
        )
        return [_correction(row) for row in rows]

    def latest(self) -> list[Correction]:
        """The newest correction of each message (a person may change their mind), by Message-ID."""
        rows = self.db.execute(
            "SELECT * FROM corrections WHERE id IN (SELECT max(id) FROM corrections GROUP BY message_id)"
            " ORDER BY message_id"
        )
        return [_correction(row) for row in rows]

    def count_after(self, after_id: int) -> int:
        """How many corrections have an id above ``after_id``."""
        return self.db.execute("SELECT count(*) FROM corrections WHERE id > ?", (after_id,)).fetchone()[0]


def record_correction(state_path: str | Path, **correction) -> Correction | None:
    """Record one correction in the state file; see :meth:`CorrectionStore.record`."""
    with CorrectionStore(state_path) as store:
        return store.record(**correction)


def corrections_since(state_path: str | Path, since: datetime | None = None, *, after_id: int = 0) -> list[Correction]:
    """The corrections in the state file recorded since ``since`` (all by default), oldest first."""
    with CorrectionStore(state_path) as store:
        return store.since(since, after_id=after_id)


def corrections_sha256(corrections: Iterable[Correction]) -> str:
    """A hash of what the corrections teach (message, categories, text), for model cards."""
    digest = hashlib.sha256()
    for c in sorted(corrections, key=lambda c: c.message_id):
        digest.update(json.dumps([c.message_id, c.after, c.text]).encode() + b"\n")
    return digest.hexdigest()


def _correction(row: tuple) -> Correction:
    id_, message_id, recorded, before, after, source, text, automated = row
    return Correction(id_, message_id, parse_iso(recorded), tuple(json.loads(before)), tuple(json.loads(after)),
                      source, text, bool(automated))
