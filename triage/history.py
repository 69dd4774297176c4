"""What triage remembers between runs, in one SQLite file (WAL mode).

It stores every message it has seen (inbound and the team's replies), which conversation
each belongs to, the IMAP cursor of each folder it reads (the watched one, Sent, training
folders) and, with CONDSTORE, the watched folder's HIGHESTMODSEQ. From that it answers
the questions the engine asks: is this message new, which conversation is it in, how many times has
this customer written since the team last answered, and since when is a conversation
waiting. All writes of a batch sit in one transaction that :meth:`History.commit` makes
durable once the caller has acted (labels stored) — or, on a long pass, together with
the messages whose labels are still to be stored (:meth:`History.add_unstored`), which
the next pass stores if this one ends first — so a crash loses nothing.

When a conversation counts as answered (its customer messages up to that moment wait
no more):

- a team reply in the conversation (threaded by In-Reply-To/References, else by the
  customer's address and normalised subject: :meth:`History.thread_for`) answers every
  customer message before it — one that reached someone outside the team: not the
  team's note to its own addresses only, nor a reply a delivery failure report returned
  (:data:`KINDS`);
- ``\\Answered`` on a customer message answers it only together with a team message to
  that customer dated after it, in any conversation (a reply written under a new subject
  and without In-Reply-To, which threading cannot place). ``\\Answered`` alone never
  counts: clients set it for a forward or a draft, and many never set it at all.

- every waiting customer message of the conversation left the watched folder (a person
  moved or archived it elsewhere: :meth:`History.file_departed`) answers the
  conversation up to the latest of them: it was filed, or handled elsewhere. A message
  moved back is waiting again (:meth:`History.rebind_uid`).

A customer writing after that moment starts a new wait.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from triage.automated import SenderCounts
from triage.errors import TriageError, UsageError
from triage.subjects import subject_key

log = logging.getLogger(__name__)

SCHEMA_VERSION = 7

_MESSAGES = """
CREATE TABLE IF NOT EXISTS messages(
    id           INTEGER PRIMARY KEY,
    message_id   TEXT NOT NULL,
    content_hash TEXT NOT NULL DEFAULT '',
    thread_id    TEXT NOT NULL,
    mailbox      TEXT NOT NULL,
    uid          INTEGER,
    direction    TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    customer     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    date         TEXT NOT NULL,
    automated    INTEGER NOT NULL DEFAULT 0,
    awaits_reply INTEGER NOT NULL DEFAULT 1,
    categories   TEXT,
    frustration  REAL,
    frustrated   INTEGER,
    priority     INTEGER,
    reasons      TEXT,
    labels       TEXT,
    answered_flag INTEGER NOT NULL DEFAULT 0,
    unreadable   TEXT,
    customer_name TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL DEFAULT 'customer',
    run          INTEGER NOT NULL DEFAULT 0,
    departed     INTEGER NOT NULL DEFAULT 0
);
"""
"""One row per message seen: ``id`` is its identity (a Message-ID is threading evidence
only: bounces, broken mailers and forwards reuse them); an IMAP message is also known by
(``mailbox``, ``uid``), local mail by ``content_hash``. ``unreadable`` says why a message
could not be read (NULL for the others). ``kind`` is what the message is to the queue
(:data:`KINDS`); ``run`` is the run that triaged it (:meth:`History.begin_run`);
``departed``: it left the watched folder (:meth:`History.file_departed`), and its
conversation was filed with it, or waits on with its waiting labels on a message still
there; it keeps its UID, so that moved back it is known."""


def _one_message(table: str = "m") -> str:
    """SQL for what one message a customer wrote is, in rows of ``messages`` named
    ``table``, for counting how often they wrote: copies of it (the same Message-ID and
    Date, delivered twice through two addresses that reach the mailbox, their Delivered-To
    apart) are one. A Message-ID alone is not: mailers reuse them. Counted from the
    ``messages_asking`` index alone (its rows are the ones counted), which keeps a mail
    loop of thousands counted in about the time a plain count took."""
    return f"{table}.message_id || char(0) || {table}.date"


KINDS = ("customer", "automated", "acknowledgement", "no_reply", "unreadable", "team", "bounced", "internal")
"""What a message is to the queue: a customer who waits for a reply; or mail that asks
nothing of the team (machine-sent, a thank-you, a pitch or survey, unreadable); or the
team's own reply. Only that answers: not a reply of the team's that bounced
(:meth:`History.mark_bounced`), nor the team's note to its own addresses only
(``internal``: "Jo, can you take this one?" in the customer's conversation)."""

_TABLES = _MESSAGES + """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refs(message_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS threads(
    thread_id   TEXT PRIMARY KEY,
    customer    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    subject_key TEXT NOT NULL,
    dirty       INTEGER NOT NULL DEFAULT 1,
    due         TEXT,
    waiting     INTEGER NOT NULL DEFAULT 0,
    claim       TEXT,
    p1          INTEGER NOT NULL DEFAULT 0,
    filed_upto  TEXT
);
CREATE TABLE IF NOT EXISTS cursors(
    mailbox     TEXT PRIMARY KEY,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS unstored(
    mailbox     TEXT NOT NULL,
    uid         INTEGER NOT NULL,
    labels      TEXT NOT NULL,
    flag        INTEGER NOT NULL,
    line        TEXT,
    PRIMARY KEY (mailbox, uid)
);
CREATE TABLE IF NOT EXISTS modseqs(
    mailbox     TEXT PRIMARY KEY,
    uidvalidity INTEGER NOT NULL,
    modseq      INTEGER NOT NULL
);
"""

_INDEXES = """
CREATE INDEX IF NOT EXISTS messages_message_id ON messages(message_id);
CREATE INDEX IF NOT EXISTS messages_local_hash ON messages(content_hash) WHERE uid IS NULL;
CREATE INDEX IF NOT EXISTS messages_customer ON messages(customer, direction, date);
CREATE INDEX IF NOT EXISTS messages_asking ON messages(customer, date, message_id)
    WHERE direction = 'in' AND awaits_reply = 1;
CREATE INDEX IF NOT EXISTS messages_thread ON messages(thread_id, direction, date);
CREATE INDEX IF NOT EXISTS messages_uid ON messages(mailbox, uid);
CREATE INDEX IF NOT EXISTS threads_customer_subject ON threads(customer, subject_key);
CREATE INDEX IF NOT EXISTS threads_dirty ON threads(dirty) WHERE dirty = 1;
CREATE INDEX IF NOT EXISTS threads_due ON threads(due) WHERE due IS NOT NULL;
DROP INDEX IF EXISTS threads_claim;
CREATE INDEX IF NOT EXISTS threads_claim_customer ON threads(claim, thread_id, customer) WHERE claim IS NOT NULL;
CREATE INDEX IF NOT EXISTS threads_waiting ON threads(waiting) WHERE waiting = 1;
CREATE INDEX IF NOT EXISTS messages_run ON messages(run, direction);
"""

WAL_CHECKPOINT_PAGES = 10_000
"""How big the write-ahead log grows (in 4 KiB pages) before a commit copies it into the
state file. A batch of 500 messages dirties thousands of pages at 100,000 messages in the
state (its inserts land all over six indexes); at SQLite's default of 1,000 every batch's
commit copied and synced all of them, and the pages two batches share were copied twice.
At 10,000 a commit checkpoints every few batches (a 60-batch test: commits 40 % faster)."""

SENDER_SUBJECTS_READ = 200
"""How many of a sender's latest messages :meth:`History.sender_counts` reads the subjects
of: a machine shows itself in far fewer (:data:`triage.automated.BULK_MIN_MESSAGES`)."""

_V3_COLUMNS = ("message_id, thread_id, mailbox, uid, direction, customer, subject, date, automated, awaits_reply,"
               " categories, frustration, frustrated, priority, reasons, labels, answered_flag")
_KINDS_FROM_FLAGS = ("UPDATE messages SET kind = CASE WHEN direction = 'out' THEN 'team' WHEN automated = 1 THEN"
                     " 'automated' WHEN awaits_reply = 0 THEN 'acknowledgement' ELSE 'customer' END")
_MIGRATIONS = {
    # (The very first state files lack awaits_reply too: machine-sent mail asked nothing.)
    2: ["ALTER TABLE messages ADD COLUMN answered_flag INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE messages ADD COLUMN awaits_reply INTEGER NOT NULL DEFAULT 1",
        "UPDATE messages SET awaits_reply = 0 WHERE automated = 1"],
    # Identity moves from the Message-ID (which real mail reuses) to a row of its own.
    3: ["ALTER TABLE messages RENAME TO messages_v2",
        _MESSAGES,
        f"INSERT INTO messages({_V3_COLUMNS}) SELECT {_V3_COLUMNS} FROM messages_v2 ORDER BY date, rowid",
        "DROP TABLE messages_v2",
        _KINDS_FROM_FLAGS,
        "ALTER TABLE threads ADD COLUMN dirty INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE threads ADD COLUMN due TEXT",
        "DROP INDEX IF EXISTS messages_customer", "DROP INDEX IF EXISTS messages_thread",
        "DROP INDEX IF EXISTS messages_uid", "DROP INDEX IF EXISTS messages_out_customer"],
    # The P1 share of the queue: which conversations wait, their claims to P1, and which hold it.
    4: ["ALTER TABLE threads ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE threads ADD COLUMN claim TEXT",
        "ALTER TABLE threads ADD COLUMN p1 INTEGER NOT NULL DEFAULT 0",
        "UPDATE threads SET dirty = 1"],
    # Every index is paid for on each message recorded (a random B-tree insert each): the
    # team's messages to a customer are found through messages_customer as well, and only
    # local mail (no UID) is looked up by its content.
    5: ["DROP INDEX IF EXISTS messages_out_customer", "DROP INDEX IF EXISTS messages_content_hash"],
    # Every batch reads the P1 share: the strongest claims from their index alone (it
    # holds the thread too, recreated below) and the waiting count from an index of its own.
    6: ["DROP INDEX IF EXISTS threads_claim"],
    # A conversation whose waiting messages all left the watched folder is filed.
    7: ["ALTER TABLE threads ADD COLUMN filed_upto TEXT",
        "ALTER TABLE messages ADD COLUMN departed INTEGER NOT NULL DEFAULT 0"],
}
"""Schema version -> the statements that bring a file of the version before up to it."""
_ADD_COLUMN = re.compile(r"ALTER TABLE (?P<table>\w+) ADD COLUMN (?P<column>\w+)")

_AFTER_ADDING = {("messages", "kind"): [_KINDS_FROM_FLAGS]}
"""What fills a column :func:`missing_columns` adds, where its default is not what the
rows it gets hold."""


def missing_columns(tables_sql: str, columns: dict[str, set[str]]) -> list[tuple[str, str, str]]:
    """(table, column, its definition) of each column the ``CREATE TABLE`` statements in
    ``tables_sql`` define and the existing ``columns`` (table -> names) lack. Early
    versions of triage added columns without raising the schema version (the files of
    version 3 that lack ``kind``, ``run``, ``customer_name``, and the conversations'
    ``dirty`` and ``due``), so the version alone cannot say what a file holds: opening
    one failed with "no such column", every start, and a service restarted for ever."""
    missing = []
    for table, body in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)\(\n(.*?)\n\);", tables_sql, re.S):
        if table not in columns:
            continue
        for line in body.splitlines():
            definition = line.strip().rstrip(",")
            name = definition.split(" ", 1)[0]
            if definition and name.isidentifier() and name.upper() not in ("PRIMARY", "CHECK", "UNIQUE") \
                    and name not in columns[table]:
                missing.append((table, name, definition))
    return missing


def _answered_upto(thread: str) -> str:
    """SQL for the moment up to which the conversation ``thread`` (an SQL expression)
    counts as answered, as ISO text ('' when never): see the module docstring."""
    return f"""max(
        coalesce((SELECT max(o.date) FROM messages o WHERE o.thread_id = {thread} AND o.direction = 'out'
                  AND o.kind = 'team'), ''),
        coalesce((SELECT f.filed_upto FROM threads f WHERE f.thread_id = {thread}), ''),
        coalesce((SELECT max(a.date) FROM messages a WHERE a.thread_id = {thread} AND a.direction = 'in'
                  AND a.answered_flag = 1 AND EXISTS (SELECT 1 FROM messages r WHERE r.direction = 'out'
                  AND r.kind = 'team' AND r.customer = a.customer AND r.date > a.date)), ''))"""


_PENDING = f"""
    WITH answered AS (SELECT thread_id, customer, subject, {_answered_upto("threads.thread_id")} AS upto FROM threads),
    pending AS (SELECT m.*, a.customer AS thread_customer, a.subject AS thread_subject, a.upto
                FROM messages m JOIN answered a ON a.thread_id = m.thread_id
                WHERE m.direction = 'in' AND m.awaits_reply = 1 AND m.date > a.upto)
"""
"""A CTE: ``pending`` holds every customer message still waiting for the team's reply."""


_CUSTOMER_ROW = ("id, message_id, thread_id, mailbox, uid, subject, date, awaits_reply, kind, customer_name,"
                 " categories, frustration, frustrated, priority, reasons, labels, departed")
"""The columns of a customer message that a conversation's standing and the sweep read."""

_SUB_JOURNALS_IN_MEMORY = "PRAGMA temp_store=MEMORY"
"""Each message's writes run in a savepoint (:meth:`History.one_message`), whose
sub-journal keeps every page the message changes. SQLite holds a sub-journal in memory up
to 64 KiB and then moves it to a temporary file for the rest of the transaction: from
then on every message's pages were written there, two system calls a page — ~37 a
message, 110,000 for 3,000 messages, a quarter of the main process's system time. In
memory, a sub-journal is emptied at each RELEASE (a message's pages: ~80 KiB at most).
The same setting would keep the sweep's scratch table in memory too (megabytes after a
first run over 100,000 messages), so :meth:`History.open_sweep_scratch` sets SQLite's
default (a file) before it makes the table, and :meth:`History.commit` sets this again
once the sweep is consumed (SQLite drops the TEMP tables then; a sweep makes its own)."""

SCRATCH_CACHE_KIB = 256
"""SQLite's page cache for the sweep's scratch table (its default is 2 MB): it is written
once and read back in order, so a small cache costs little and a sweep after a first run
over 100,000 messages does not hold 2 MB of its pages."""

_IN_CHUNK = 500
"""Values bound into one ``IN (...)`` list at most (SQLite allows 32,766 variables)."""


def _in_lists(values: list) -> Iterator[tuple[list, str, list]]:
    """``values`` a chunk of at most :data:`_IN_CHUNK` at a time, as (the chunk, the
    placeholders of its ``IN (...)`` list, the values to bind). The list is padded (with
    the last value again) to the next power of two: the statement's text then takes a
    handful of shapes, not one per length, so the connection's statement cache keeps
    reusing a few compiled statements instead of filling with hundreds of large ones
    (measured: the main process's memory grew with every batch)."""
    for start in range(0, len(values), _IN_CHUNK):
        chunk = values[start:start + _IN_CHUNK]
        size = 8
        while size < len(chunk):
            size *= 2
        padded = [*chunk, *[chunk[-1]] * (size - len(chunk))]
        yield chunk, ",".join("?" * size), padded


def _create_private(path: Path) -> None:
    """Create the state file readable by its owner only (its WAL and shared-memory files
    take its mode), or make an existing one so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


class StateFileGone(TriageError):
    """The state file was deleted, moved or replaced while a run had it open: what the
    run writes from then on reaches no later run (see :meth:`History.check_file`)."""

    def __init__(self, path: str, *, replaced: bool):
        self.path = path
        super().__init__(f"state file {path} was {'replaced by another file' if replaced else 'deleted or moved'} "
                         "while triage had it open: what triage records now would be lost")


class UnusableStateFile(UsageError):
    """The state path names something triage can never open as its state: a directory,
    or a file that is not an SQLite database or whose pages are damaged. Exit status 2:
    running again unchanged cannot work, and a service manager must not restart triage
    on it for ever. (A locked database, a full disk or an I/O error may pass: those
    stay runtime failures.)"""

    def __init__(self, path: str, problem: str, advice: str | None = None):
        self.path, self.problem = path, problem
        if advice is None:
            advice = ("move it aside, or point --state or [state] path at a file" if problem == "is a directory"
                      else "move it aside, and triage starts a new one")
        self.advice = advice
        super().__init__(f"state file {path} {problem}: {advice}")


_DAMAGED = frozenset({sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT})
"""SQLite's answers for a file that is no database, or one whose pages are damaged."""


def unusable_state_file(path: str | Path, error: BaseException) -> UnusableStateFile | None:
    """The :class:`UnusableStateFile` that ``error``, met opening or reading the state
    file ``path``, means; None when it is another kind of failure."""
    if isinstance(error, IsADirectoryError) or (isinstance(error, OSError) and Path(path).expanduser().is_dir()):
        return UnusableStateFile(str(path), "is a directory")
    if isinstance(error, sqlite3.DatabaseError) and getattr(error, "sqlite_errorcode", None) in _DAMAGED:
        return UnusableStateFile(str(path), f"is not a database triage can read ({error})")
    return None


def _schema_version(path: str, value: object) -> int:
    """The schema version a state file's ``meta`` records, when this triage can work
    with it. A newer one (the package rolled back after an upgrade) was stamped back to
    this triage's version and its tables used as if they were this version's, and the
    next upgrade skipped its migrations; a value that is no number was a ValueError
    traceback. Both are :class:`UnusableStateFile`."""
    try:
        version = int(str(value).strip())
    except ValueError:
        version = 0
    if version < 1:
        raise UnusableStateFile(path, f"records a schema version triage cannot read ({str(value)[:40]!r})")
    if version > SCHEMA_VERSION:
        raise UnusableStateFile(path, f"was written by a newer triage (schema {version}; this one knows up to "
                                f"{SCHEMA_VERSION})", "run that version of triage, or move the file aside to "
                                "start a new one")
    return version


def _file_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file ``path`` names, or None when it names none."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


def _labeled(row: sqlite3.Row) -> Labeled:
    return Labeled(row["id"], row["message_id"], row["mailbox"], row["uid"], tuple(json.loads(row["labels"] or "[]")))


def iso(value: datetime) -> str:
    """UTC ISO-8601 with seconds: the one format stored, so text order is time order."""
    return value.astimezone(timezone.utc).isoformat(timespec="seconds")


def parse_iso(value: str) -> datetime:
    """Inverse of :func:`iso`."""
    return datetime.fromisoformat(value)


@dataclass(frozen=True)
class ThreadFacts:
    """A conversation as stored: its row, up to when it counts as answered (None: never),
    and its customer's messages, oldest first (:meth:`History.thread_facts`)."""

    thread: sqlite3.Row
    answered_upto: datetime | None
    customer_rows: list[sqlite3.Row]


@dataclass(frozen=True)
class Waiting:
    """A conversation whose last word is the customer's."""

    thread_id: str
    customer: str
    subject: str
    waiting_since: datetime
    last_message_id: str
    """The customer's latest message waiting for a reply (the one the sweep labels)."""
    last_mailbox: str = ""
    last_uid: int | None = None
    last_labels: tuple[str, ...] = ()
    """The triage labels that message carries (as recorded)."""
    last_row: int = 0
    """That message's row in the state (its identity)."""


@dataclass(frozen=True)
class Unstored:
    """A message whose labels a pass decided and may not have stored (:meth:`History.add_unstored`)."""

    uid: int
    labels: tuple[str, ...]
    flag: bool
    """Whether adding priority 1 may set ``\\Flagged`` too."""
    line: str | None
    """Its JSON Lines row, when the pass printed rows."""


@dataclass(frozen=True)
class Labeled:
    """A stored message and the triage labels it carries."""

    row: int
    message_id: str
    mailbox: str
    uid: int | None
    labels: tuple[str, ...]


@dataclass(frozen=True)
class P1Share:
    """Which conversations hold P1 (:meth:`History.p1_members`), and whose they are."""

    threads: frozenset[str]
    customers: frozenset[str]
    """The customers of ``threads`` (one conversation each)."""

    def __contains__(self, thread_id: object) -> bool:
        return thread_id in self.threads


class History:
    """The state file. Use as a context manager, or call :meth:`close`.

    The file and its lock are created readable by their owner only (they hold who wrote
    about what). :meth:`snapshot` opens a private in-memory copy instead, for a dry run
    that must write nothing.
    """

    def __init__(self, path: str | Path, *, _connection: sqlite3.Connection | None = None):
        self.path = str(path)
        try:
            self._open(_connection)
        except (OSError, sqlite3.DatabaseError) as exc:
            unusable = unusable_state_file(path, exc)
            if unusable is None:
                raise
            raise unusable from None
        self._identity = _file_identity(self.path) if self.path != ":memory:" else None
        """(device, inode) of the file opened (:meth:`check_file`)."""
        self.run = 0
        """The run whose messages are recorded now (0 until :meth:`begin_run`)."""

    def _open(self, connection: sqlite3.Connection | None) -> None:
        """Open (or take) the database and bring its schema up to date."""
        if connection is not None:
            self.db = connection
        else:
            if self.path != ":memory:":
                self.path = str(Path(self.path).expanduser())
                if Path(self.path).is_dir():
                    raise IsADirectoryError(21, "Is a directory", self.path)
                _create_private(Path(self.path))
            self.db = sqlite3.connect(self.path, isolation_level="DEFERRED")
        self.db.row_factory = sqlite3.Row
        if self.path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(_SUB_JOURNALS_IN_MEMORY)
        self.db.executescript(_TABLES)
        self._migrate()
        self.db.executescript(_INDEXES)
        self.db.commit()

    @classmethod
    def snapshot(cls, path: str | Path) -> History:
        """An in-memory copy of the state file at ``path`` (empty when there is none):
        everything reads as usual, nothing reaches the disk. For ``--dry-run`` and the
        readers (``report``, ``status``), which must not wait for a writer's lock."""
        memory = sqlite3.connect(":memory:", isolation_level="DEFERRED")
        source = Path(path).expanduser()
        if source.is_dir():
            raise UnusableStateFile(str(path), "is a directory")
        if source.is_file():
            disk = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
            try:
                disk.backup(memory)
            except sqlite3.Error as exc:
                raise unusable_state_file(path, exc) or sqlite3.OperationalError(
                    f"{source}: cannot read the state file: {exc}") from None
            finally:
                disk.close()
        try:
            return cls(":memory:", _connection=memory)
        except UnusableStateFile as exc:  # (found in the copy: named by the file's path)
            raise UnusableStateFile(str(path), exc.problem, exc.advice) from None

    def _migrate(self) -> None:
        """Bring a state file of an older schema up to :data:`SCHEMA_VERSION` (a new file
        has the current schema already and is only stamped)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        columns = {r[1] for r in self.db.execute("PRAGMA table_info(messages)")}
        if row:
            version = _schema_version(self.path, row[0])
        else:  # a new file, or one from before the version was stamped
            version = SCHEMA_VERSION if "id" in columns else 2 if "answered_flag" in columns else 1
        if version >= 3:  # (before, the messages table is rebuilt by the migration to 3)
            self._add_missing_columns()
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[target]:
                added = _ADD_COLUMN.match(statement)
                if added and added["column"] in {r[1] for r in self.db.execute(f"PRAGMA table_info({added['table']})")}:
                    continue  # a table this version created already has it
                self.db.execute(statement)
        self._add_missing_columns()
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _add_missing_columns(self) -> None:
        """Add the columns of the current schema a file's tables lack (:func:`missing_columns`)."""
        present = {table: {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}
                   for (table,) in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}
        for table, column, definition in missing_columns(_TABLES, present):
            self.db.execute(f"ALTER TABLE {table} ADD COLUMN {definition}")
            for statement in _AFTER_ADDING.get((table, column), ()):
                self.db.execute(statement)

    def check_file(self) -> None:
        """Raise :class:`StateFileGone` when :attr:`path` no longer names the file open
        here: it was deleted, moved away, or replaced by another. SQLite goes on writing
        to the file it opened, which no later run (nor `triage status`) opens. One stat,
        cheap enough for a service to ask between passes. (An in-memory copy: never.)"""
        if self._identity is None:
            return
        found = _file_identity(self.path)
        if found != self._identity:
            raise StateFileGone(self.path, replaced=found is not None)

    def save_copy(self, target: str | Path) -> None:
        """Write everything committed here to a new state file ``target`` (readable by its
        owner only), with SQLite's online backup: the contents of a state file deleted
        under a running service survive only in the service's open file."""
        target = Path(target)
        _create_private(target)
        copy = sqlite3.connect(target)
        try:
            self.db.backup(copy)
        finally:
            copy.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Roll back anything not committed and close the file."""
        self.db.rollback()
        self.db.close()

    def lost_fetches(self, mailbox: str) -> tuple[int, dict[int, int]] | None:
        """(UIDVALIDITY, UID → times the connection broke while it was read alone) of the
        messages of ``mailbox`` whose reading broke a connection (:meth:`set_lost_fetches`)."""
        return self._uid_counts(f"lost-fetches:{mailbox}")

    def set_lost_fetches(self, mailbox: str, uidvalidity: int, uids: dict[int, int]) -> None:
        """Remember ``uids`` (see :meth:`lost_fetches`); uncommitted."""
        self._set_uid_counts(f"lost-fetches:{mailbox}", uidvalidity, uids)

    def refused_fetches(self, mailbox: str) -> tuple[int, dict[int, int]] | None:
        """(UIDVALIDITY, UID → passes that refused it) of the messages of ``mailbox`` the
        server refused to deliver without a reason (:mod:`triage.imap.refusals`)."""
        return self._uid_counts(f"refused-fetches:{mailbox}")

    def set_refused_fetches(self, mailbox: str, uidvalidity: int, uids: dict[int, int]) -> None:
        """Remember ``uids`` (see :meth:`refused_fetches`); uncommitted."""
        self._set_uid_counts(f"refused-fetches:{mailbox}", uidvalidity, uids)

    def _uid_counts(self, key: str) -> tuple[int, dict[int, int]] | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        stored = json.loads(row["value"])
        return int(stored["uidvalidity"]), {int(uid): int(times) for uid, times in stored["uids"].items()}

    def _set_uid_counts(self, key: str, uidvalidity: int, uids: dict[int, int]) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(
            {"uidvalidity": uidvalidity, "uids": {str(uid): times for uid, times in sorted(uids.items())}})))

    def refused_stores(self, mailbox: str, uidvalidity: int) -> dict[int, int]:
        """UID → passes whose labels for it the server refused, of the messages of
        ``mailbox`` (of ``uidvalidity``) still to be labelled (``sync.remember_refused_stores``)."""
        stored = self._uid_counts(f"refused-stores:{mailbox}")
        return stored[1] if stored and stored[0] == uidvalidity else {}

    def set_refused_stores(self, mailbox: str, uidvalidity: int, uids: dict[int, int]) -> None:
        """Remember ``uids`` (see :meth:`refused_stores`); uncommitted."""
        self._set_uid_counts(f"refused-stores:{mailbox}", uidvalidity, uids)

    def absent(self, mailbox: str) -> tuple[int, set[int]] | None:
        """(UIDVALIDITY, UIDs) of the waiting messages of ``mailbox`` that the last look
        did not find in the folder (:mod:`triage.imap.departures`), or None."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (f"absent:{mailbox}",)).fetchone()
        if row is None:
            return None
        stored = json.loads(row["value"])
        return int(stored["uidvalidity"]), {int(uid) for uid in stored["uids"]}

    def set_absent(self, mailbox: str, uidvalidity: int, uids: Iterable[int]) -> None:
        """Remember ``uids`` (see :meth:`absent`); uncommitted."""
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"absent:{mailbox}", json.dumps(
            {"uidvalidity": uidvalidity, "uids": sorted(uids)})))

    def commit(self) -> None:
        """Make the batch's writes durable: call only after acting on its decisions."""
        self.db.commit()
        # Back from the sweep's scratch table (consumed by now): sub-journals in memory.
        self.db.execute(_SUB_JOURNALS_IN_MEMORY)

    def rollback(self) -> None:
        """Forget the batch's writes (acting on it failed; it will be decided again)."""
        self.db.rollback()

    @contextmanager
    def one_message(self) -> Iterator[None]:
        """Writes inside the block stand or fall together, within the batch's transaction:
        when the block raises, only its own writes are undone (an SQLite savepoint)."""
        if not self.db.in_transaction:  # else RELEASE of the outermost savepoint would commit
            self.db.execute("BEGIN")
        self.db.execute("SAVEPOINT one_message")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK TO one_message")
            self.db.execute("RELEASE one_message")
            raise
        self.db.execute("RELEASE one_message")

    # -- runs --------------------------------------------------------------------------

    def begin_run(self, now: datetime) -> int:
        """Start numbering a new run (its messages are marked with it, so a run can list
        what it triaged without holding it in memory); the first run also fixes when
        triage started watching (:meth:`watch_started`).

        A run whose clock is before that moment finds it was fixed on a clock in the
        future (``--now 2030``, a clock set wrong), which kept every wait from escalating
        until then: it is moved back to the newest mail triaged so far (the first run
        came after it), or to this run's clock if that is earlier. Uncommitted."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'run'").fetchone()
        self.run = (int(row[0]) if row else 0) + 1
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('run', ?)", (str(self.run),))
        started, clock = self.db.execute("SELECT value FROM meta WHERE key = 'watch_started'").fetchone(), iso(now)
        if started is None or started[0] > clock:
            newest = self.db.execute("SELECT max(date) FROM messages").fetchone()[0] if started else None
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('watch_started', ?)", (min(clock, newest or clock),))
            if started is not None:
                log.warning("this run's clock (%s) is before the moment triage started watching (%s); "
                            "watching is taken to have started at %s", clock, started[0], min(clock, newest or clock))
        return self.run

    def watch_started(self) -> datetime | None:
        """When triage first ran on this state: waits that began before are the backlog
        it found, not waits that grew under its watch (see :mod:`triage.sla`)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'watch_started'").fetchone()
        return parse_iso(row[0]) if row else None

    def run_kinds(self, run: int) -> dict[str, int]:
        """How many inbound messages of each kind (:data:`KINDS`) the run triaged, plus
        ``answered``: customer messages the team had already answered."""
        counts = {kind: n for kind, n in self.db.execute(
            "SELECT kind, count(*) FROM messages WHERE run = ? AND direction = 'in' GROUP BY kind", (run,))}
        counts["answered"] = self.db.execute(
            f"SELECT count(*) FROM messages m WHERE m.run = ? AND m.direction = 'in' AND m.kind = 'customer'"
            f" AND m.date <= {_answered_upto('m.thread_id')}", (run,)).fetchone()[0]
        return counts

    def threads_of_run(self, run: int) -> list[str]:
        """The conversations the run triaged customer mail of."""
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT thread_id FROM messages WHERE run = ? AND direction = 'in' AND kind = 'customer'", (run,))]

    # -- the sweep's bookkeeping -------------------------------------------------------

    def threads_to_sweep(self, now: datetime, every: bool = False, size: int = _IN_CHUNK) -> Iterator[list[str]]:
        """Conversations whose standing may have changed, ``size`` at a time: something
        happened in them since the last sweep (``dirty``), or their next deadline (``due``)
        has come; with ``every``, all of them. In chunks because a sweep after a first run
        looks at every conversation of the mailbox; marking conversations swept while
        iterating is safe (it pages by rowid)."""
        for rows in self._by_rowid("SELECT rowid, thread_id FROM threads WHERE rowid > ?"
                                   + ("" if every else " AND (dirty = 1 OR due <= ?)"),
                                   () if every else (iso(now),), size):
            yield [r[1] for r in rows]

    def open_sweep_scratch(self) -> None:
        """An empty scratch table for what a sweep found per conversation (a temporary
        table of this connection: a sweep after a first run finds one per conversation of
        the mailbox, which stays out of the process's memory this way)."""
        try:
            self.db.execute("PRAGMA temp_store=DEFAULT")  # on disk, as SQLite keeps TEMP tables
        except sqlite3.OperationalError:  # TEMP opened in memory within this transaction: it stays so
            log.debug("the sweep's scratch table is kept in memory this time")
        self.db.execute(f"PRAGMA temp.cache_size = -{SCRATCH_CACHE_KIB}")
        self.db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS sweep_found (thread_id TEXT PRIMARY KEY, priority INTEGER,"
            " frustrated INTEGER, overdue INTEGER, last_row INTEGER, flag INTEGER, due TEXT)")
        self.db.execute("DELETE FROM temp.sweep_found")

    def keep_found(self, found: Iterable[tuple]) -> None:
        """Store rows of (thread, priority, frustrated, overdue, last row, flag, due) in the
        scratch table; priority None when nobody waits in the conversation."""
        self.db.executemany("INSERT OR REPLACE INTO temp.sweep_found VALUES (?, ?, ?, ?, ?, ?, ?)", found)

    def not_found_yet(self, thread_ids: list[str]) -> list[str]:
        """Those of ``thread_ids`` the scratch table has nothing on yet, in order."""
        known: set[str] = set()
        for _, marks, bound in _in_lists(thread_ids):
            known.update(r[0] for r in self.db.execute(
                f"SELECT thread_id FROM temp.sweep_found WHERE thread_id IN ({marks})", bound))
        return [t for t in thread_ids if t not in known]

    def found_in_chunks(self, size: int = _IN_CHUNK) -> Iterator[list[sqlite3.Row]]:
        """The scratch table's rows, ``size`` at a time, in the order stored."""
        return self._by_rowid("SELECT rowid, * FROM temp.sweep_found WHERE rowid > ?", (), size)

    def _by_rowid(self, select: str, params: tuple, size: int) -> Iterator[list[sqlite3.Row]]:
        """The rows of ``select`` (whose first column is ``rowid`` and whose first
        parameter is the rowid to start after, ``params`` the rest), ``size`` at a time
        in rowid order; each page is read whole, so the caller may write between pages."""
        after = 0
        while rows := self.db.execute(select + " ORDER BY rowid LIMIT ?", (after, *params, size)).fetchall():
            after = rows[-1][0]
            yield rows

    def remember_policy(self, fingerprint: str) -> bool:
        """Record the service levels the sweep runs with; True when they differ from the
        last sweep's (every conversation must then be evaluated again). Uncommitted."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'sweep_policy'").fetchone()
        if row and row[0] == fingerprint:
            return False
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('sweep_policy', ?)", (fingerprint,))
        return row is not None

    def remember_sweep_clock(self, now: datetime) -> datetime | None:
        """Record ``now`` as the clock of this sweep; return the last sweep's (None before
        the first). Uncommitted."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'sweep_clock'").fetchone()
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('sweep_clock', ?)", (iso(now),))
        return parse_iso(row[0]) if row else None

    def mark_swept(self, thread_id: str, due: datetime | None) -> None:
        """The conversation is up to date until ``due`` (None: until something happens)."""
        self.db.execute("UPDATE threads SET dirty = 0, due = ? WHERE thread_id = ?",
                        (iso(due) if due else None, thread_id))

    def mark_claims_dirty(self, customers: Iterable[str], below: str) -> None:
        """The conversations of ``customers`` whose claim to P1 sorts ``below`` are due for
        the sweep again: how often a customer wrote ranks their claims
        (:func:`triage.waiting.claim`), and nothing else of their standing. Uncommitted."""
        self.db.executemany("UPDATE threads SET dirty = 1 WHERE customer = ? AND dirty = 0 AND claim < ?",
                            [(customer, below) for customer in customers])

    def mark_labelled(self, standings: Iterable[tuple[str, datetime | None, bool]]) -> None:
        """Conversations (thread, due, P1) whose every customer message was just labelled
        as the sweep would label it now: swept until ``due``, and labelled with P1 or
        without (what :meth:`p1_changed` compares). Uncommitted."""
        self.db.executemany("UPDATE threads SET dirty = 0, due = ?, p1 = ? WHERE thread_id = ?",
                            [(iso(due) if due else None, int(p1), thread_id) for thread_id, due, p1 in standings])

    def p1_members(self, share: float, at_least: int = 2) -> P1Share:
        """The conversations that are P1: of those claiming it, the strongest, one a
        customer, at most ``share`` of the waiting conversations but ``at_least`` this
        many (a small queue can act on a threat and a long-neglected customer at once);
        every claim when ``share`` is 1 or more. One a customer: a customer writing two
        hundred times under eight subjects made three conversations, and they took every
        P1 place of a queue of 23 — the team acts on the customer once, and the next
        customer's threat was P2. See :mod:`triage.waiting`."""
        if share >= 1:
            rows = self.db.execute("SELECT thread_id, customer FROM threads WHERE claim IS NOT NULL").fetchall()
            return P1Share(frozenset(r[0] for r in rows), frozenset(r[1] for r in rows if r[1]))
        waiting = self.db.execute("SELECT count(*) FROM threads WHERE waiting = 1").fetchone()[0]
        limit = max(int(share * waiting), at_least)
        threads: set[str] = set()
        customers: set[str] = set()
        # (threads_claim_customer holds all three: no row of the table is read)
        for thread_id, customer in self.db.execute(
                "SELECT thread_id, customer FROM threads WHERE claim IS NOT NULL ORDER BY claim DESC"):
            if customer and customer in customers:
                continue  # (a stronger claim of theirs holds P1)
            threads.add(thread_id)
            customers.add(customer)
            if len(threads) >= limit:
                break
        return P1Share(frozenset(threads), frozenset(customer for customer in customers if customer))

    def p1_changed(self, members: P1Share) -> list[str]:
        """Conversations whose P1 membership differs from the last one labelled, now
        recorded as ``members`` says (uncommitted)."""
        was = {r[0] for r in self.db.execute("SELECT thread_id FROM threads WHERE p1 = 1")}
        changed = sorted(was ^ members.threads)
        self.db.executemany("UPDATE threads SET p1 = ? WHERE thread_id = ?",
                            [(int(thread_id in members.threads), thread_id) for thread_id in changed])
        return changed

    def customer_rows(self, thread_ids: list[str]) -> dict[str, list[sqlite3.Row]]:
        """Each conversation's messages from a customer who waits for a reply (or waited,
        until the team answered), oldest first, with what was decided (a conversation with
        none is left out), in one query per few hundred conversations. Mail that asks
        nothing (automated, thank-yous, unreadable) is left out: neither a standing nor
        the sweep reads it, and a feed's or a mailer daemon's conversation holds
        thousands."""
        rows: dict[str, list[sqlite3.Row]] = {}
        for _, marks, bound in _in_lists(thread_ids):
            for row in self.db.execute(f"SELECT {_CUSTOMER_ROW} FROM messages WHERE thread_id IN ({marks})"
                                       " AND direction = 'in' AND awaits_reply = 1 ORDER BY thread_id, date, id",
                                       bound):
                rows.setdefault(row["thread_id"], []).append(row)
        return rows

    def thread_facts(self, thread_ids: list[str]) -> dict[str, ThreadFacts]:
        """What the standing of each conversation is worked out from (its row, up to when
        it counts as answered, its customer's messages), in two queries per few hundred
        conversations rather than three per conversation. Unknown ids are left out."""
        found: dict[str, ThreadFacts] = {}
        for chunk, marks, bound in _in_lists(thread_ids):
            rows = self.customer_rows(chunk)
            for thread in self.db.execute(f"SELECT *, {_answered_upto('t.thread_id')} AS upto FROM threads t"
                                          f" WHERE t.thread_id IN ({marks})", bound):
                upto = thread["upto"]
                found[thread["thread_id"]] = ThreadFacts(thread, parse_iso(upto) if upto else None,
                                                         rows.get(thread["thread_id"], []))
        return found

    def unanswered_counts(self, customers: Iterable[str], upto: datetime) -> dict[str, int]:
        """How many times each customer wrote since the team last wrote to them, up to
        ``upto`` (what makes a "3rd message without a reply"), in one query per few hundred;
        copies of one message count once (:func:`_one_message`)."""
        wanted = sorted(set(customers))
        counts: dict[str, int] = {}
        for _, marks, bound in _in_lists(wanted):
            values = marks.replace("?", "(?)")
            counts.update(self.db.execute(
                f"""WITH c(customer) AS (VALUES {values})
                SELECT c.customer, (SELECT count(DISTINCT {_one_message()})
                    FROM messages m INDEXED BY messages_asking WHERE m.customer = c.customer
                    AND m.direction = 'in' AND m.awaits_reply = 1 AND m.date <= ?
                    AND m.date > coalesce((SELECT max(o.date) FROM messages o WHERE o.customer = c.customer
                                           AND o.direction = 'out' AND o.kind = 'team' AND o.date <= ?), ''))
                FROM c""",
                [*bound, iso(upto), iso(upto)]).fetchall())
        return counts

    def set_standings(self, standings: Iterable[tuple[str, bool, str | None]]) -> None:
        """Remember, per conversation (thread, waiting, claim), whether it waits and its claim
        to priority 1 (a sortable strength, None when it has none): what the P1 share is
        divided by. Uncommitted."""
        self.db.executemany("UPDATE threads SET waiting = ?, claim = ? WHERE thread_id = ?",
                            [(int(waiting), claim, thread_id) for thread_id, waiting, claim in standings])

    # -- what is known -----------------------------------------------------------------

    def has_inbound(self, message_id: str, customer: str) -> bool:
        """True when a message of ``customer``'s with this Message-ID is recorded."""
        return self.db.execute("SELECT 1 FROM messages WHERE message_id = ? AND customer = ? AND direction = 'in'",
                               (message_id, customer)).fetchone() is not None

    def waits_under_subject(self, customer: str, subject: str) -> bool:
        """True when ``customer`` has a message awaiting the team's reply, unanswered, in a
        conversation under ``subject`` (normalised as threads are)."""
        key = subject_key(subject)
        return bool(key) and self.db.execute(
            "SELECT 1 FROM threads t JOIN messages m ON m.thread_id = t.thread_id WHERE t.customer = ?"
            " AND t.subject_key = ? AND m.direction = 'in' AND m.customer = ? AND m.awaits_reply = 1"
            f" AND m.date > {_answered_upto('m.thread_id')} LIMIT 1", (customer, key, customer)).fetchone() is not None

    def is_known_reply(self, message_id: str) -> bool:
        """True when a message of the team's with this Message-ID is recorded (a reply
        seen in the watched folder is then not recorded again from Sent)."""
        return self.db.execute("SELECT 1 FROM messages WHERE message_id = ? AND direction = 'out'",
                               (message_id,)).fetchone() is not None

    def highest_uids(self, mailbox: str, limit: int) -> dict[int, str]:
        """UID -> Message-ID of the ``limit`` highest UIDs recorded in ``mailbox`` that are
        still there as far as triage knows (not departed), each one message's alone and
        named by a Message-ID of its own header in ASCII (not one triage made up): what
        :func:`~triage.imap.renumbering.renumbered_in_place` compares with the server.
        Unreadable messages are left out: the server may refuse them, or drop the session
        over them, again."""
        rows = self.db.execute(
            "SELECT uid, min(message_id) FROM messages WHERE mailbox = ? AND uid IS NOT NULL AND departed = 0"
            " AND unreadable IS NULL GROUP BY uid HAVING count(*) = 1 ORDER BY uid DESC LIMIT ?",
            (mailbox, limit)).fetchall()
        return {int(uid): str(message_id) for uid, message_id in rows
                if message_id.isascii() and not message_id.endswith("@triage.invalid>")}

    def known_uids(self, mailbox: str, uids: list[int]) -> set[int]:
        """The subset of ``uids`` in ``mailbox`` already recorded."""
        found: set[int] = set()
        for _, marks, bound in _in_lists(uids):
            rows = self.db.execute(f"SELECT uid FROM messages WHERE mailbox = ? AND uid IN ({marks})", (mailbox, *bound))
            found.update(row[0] for row in rows)
        return found

    def triaged_as(self, mailbox: str, message_id: str, content_hash: str,
                   uid: int) -> list[tuple[int, str, int | None]]:
        """(row, folder, UID) of each customer message recorded with the same Message-ID
        and the same bytes as the message now under ``uid`` in ``mailbox``, but elsewhere:
        under another UID of ``mailbox`` (first), under none (a resync did not find it), or
        in another folder triage watched before. (The Message-ID alone names no message:
        real mail reuses them.)"""
        return [(int(row), str(folder), old) for row, folder, old in self.db.execute(
            "SELECT id, mailbox, uid FROM messages WHERE message_id = ? AND content_hash = ? AND direction = 'in'"
            " AND (uid IS NOT NULL OR mailbox = ?) AND NOT (mailbox = ? AND uid IS ?)"
            " ORDER BY mailbox = ? DESC, uid IS NULL, uid, id",
            (message_id, content_hash, mailbox, mailbox, uid, mailbox))]

    def rebind_uid(self, row: int, mailbox: str, uid: int) -> None:
        """The message of ``row`` is under ``uid`` in ``mailbox`` now. Uncommitted. A
        message whose leaving filed its conversation is back: the conversation waits
        again (:meth:`_back`)."""
        self.db.execute("UPDATE messages SET mailbox = ?, uid = ? WHERE id = ?", (mailbox, uid, row))
        self._back([row])

    def _back(self, rows: Iterable[int]) -> None:
        """Those of ``rows`` that departed (:meth:`file_departed`) are in the folder again:
        their conversation is no longer filed up to them. The whole stretch filed with
        them waits again, its other messages still gone included (as a conversation does
        of which only some messages left): a filing is undone, not split. Uncommitted."""
        back = [(row,) for row in rows]
        # (Of a conversation that waited on, not filed, the sweep puts its waiting labels
        # back on the message if it is the latest.)
        self.db.executemany(
            "UPDATE threads SET filed_upto = NULL, dirty = 1 WHERE thread_id = (SELECT m.thread_id FROM messages m"
            " WHERE m.id = ? AND m.departed = 1)", back)
        self.db.executemany("UPDATE messages SET departed = 0 WHERE id = ? AND departed = 1", back)

    def departed_uids(self, mailbox: str, limit: int) -> list[int]:
        """The highest ``limit`` UIDs in ``mailbox`` of the messages that left it
        (:meth:`file_departed`), ascending."""
        return sorted(row[0] for row in self.db.execute(
            "SELECT uid FROM messages WHERE mailbox = ? AND departed = 1 AND uid IS NOT NULL ORDER BY uid DESC"
            " LIMIT ?", (mailbox, limit)))

    def return_departed(self, mailbox: str, uids: Iterable[int]) -> None:
        """The messages under ``uids`` in ``mailbox`` that had left it are there again
        under the same UIDs (undeleted): as :meth:`rebind_uid` for one moved back. Uncommitted."""
        self._back([row[0] for uid in uids for row in self.db.execute(
            "SELECT id FROM messages WHERE mailbox = ? AND uid = ? AND departed = 1", (mailbox, uid))])

    def file_departed(self, mailbox: str, uids: Iterable[int]) -> list[str]:
        """The waiting customer messages of ``mailbox`` under ``uids`` have left the
        folder (two looks some minutes apart did not find them: see
        :mod:`triage.imap.departures`). Each conversation all of whose waiting messages
        are among them is filed: answered up to the latest of them (module docstring),
        due for the sweep. One that still has a waiting message in the folder (or one
        the folder could not be asked about: in another folder, or without a UID) waits
        on, all its messages counted, and its waiting labels move to the latest message
        still there (:func:`triage.waiting.standings` places them on the latest that has
        not departed). Returns the conversations filed. Uncommitted."""
        gone = set(uids)
        threads: set[str] = set()
        for _, marks, bound in _in_lists(sorted(gone)):
            threads.update(r[0] for r in self.db.execute(
                f"SELECT thread_id FROM messages WHERE mailbox = ? AND uid IN ({marks}) AND direction = 'in'",
                (mailbox, *bound)))
        filed = []
        for thread in sorted(threads):
            rows = self.db.execute(
                "SELECT id, mailbox, uid, date, departed FROM messages WHERE thread_id = :t AND direction = 'in'"
                f" AND awaits_reply = 1 AND date > {_answered_upto(':t')}", {"t": thread}).fetchall()
            left = [r for r in rows if r["mailbox"] == mailbox and r["uid"] in gone]
            if rows and len(left) == len(rows):
                self.db.execute("UPDATE threads SET filed_upto = ?, dirty = 1 WHERE thread_id = ?",
                                (max(r["date"] for r in rows), thread))
                filed.append(thread)
            elif any(not r["departed"] for r in left):  # it waits on: its labels move to what is still there
                self.db.execute("UPDATE threads SET dirty = 1 WHERE thread_id = ?", (thread,))
            self.db.executemany("UPDATE messages SET departed = 1 WHERE id = ?", [(r["id"],) for r in left])
        return filed

    def known_hashes(self, hashes: list[str]) -> set[str]:
        """The subset of content hashes already recorded for local mail (its identity; mail
        read from a server is known by its UID)."""
        found: set[str] = set()
        for _, marks, bound in _in_lists(hashes):
            rows = self.db.execute(f"SELECT content_hash FROM messages WHERE uid IS NULL AND content_hash IN ({marks})",
                                   bound)
            found.update(row[0] for row in rows)
        return found

    # -- threading ---------------------------------------------------------------------

    def reply_customer(self, in_reply_to: str | None, references: tuple[str, ...], recipients: list[str],
                       subject: str) -> str | None:
        """Whom a team reply answers: the customer of the conversation its In-Reply-To or
        References name; else the first of ``recipients`` (the non-team addresses it
        went to) with a conversation of the same normalised subject; else the first of
        them. None when it went to nobody outside the team."""
        for ref in [in_reply_to, *reversed(references)]:
            if ref:
                row = self.db.execute(
                    "SELECT t.customer FROM refs r JOIN threads t ON t.thread_id = r.thread_id WHERE r.message_id = ?",
                    (ref,),
                ).fetchone()
                if row:
                    return row[0]
        key = subject_key(subject)
        for address in recipients:
            if key and self.db.execute("SELECT 1 FROM threads WHERE customer = ? AND subject_key = ?",
                                       (address, key)).fetchone():
                return address
        return recipients[0] if recipients else None

    def thread_for(self, message_id: str, in_reply_to: str | None, references: tuple[str, ...], customer: str,
                   subject: str, *, chasing: bool = False) -> str:
        """The conversation a message belongs to: by In-Reply-To and References first,
        then by customer and normalised subject; otherwise a new conversation named after
        the message itself. Records the message's ids so later replies find it.

        A conversation has one customer: a reference into another customer's conversation
        (a forward, a bounce, a reused Message-ID) does not join it. A customer ``chasing``
        (the message follows up) under a new subject while a conversation of theirs still
        waits for the team ("THIRD EMAIL - still nothing") is in that conversation: it is
        one wait, not a new one."""
        thread_id = None
        for ref in [in_reply_to, *reversed(references)]:
            if ref and (thread_id := self._thread_of_ref(ref, customer)):
                break
        key = subject_key(subject)
        if thread_id is None and key:
            row = self.db.execute(
                "SELECT thread_id FROM threads WHERE customer = ? AND subject_key = ? ORDER BY rowid DESC LIMIT 1",
                (customer, key),
            ).fetchone()
            thread_id = row[0] if row else None
        if thread_id is None:  # an earlier message named this one (they arrived out of order)
            thread_id = self._thread_of_ref(message_id, customer)
        if thread_id is None and chasing and customer:
            thread_id = self._waiting_thread_of(customer)
        if thread_id is None:
            thread_id = self._new_thread_id(message_id)
        self.db.execute(
            "INSERT OR IGNORE INTO threads(thread_id, customer, subject, subject_key, dirty) VALUES (?, ?, ?, ?, 0)",
            (thread_id, customer, subject, key),
        )
        for ref in {message_id, *(r for r in [in_reply_to, *references] if r)}:
            self.db.execute("INSERT OR IGNORE INTO refs VALUES (?, ?)", (ref, thread_id))
        return thread_id

    def _thread_of_ref(self, ref: str, customer: str) -> str | None:
        """The conversation of ``customer`` that the Message-ID ``ref`` belongs to, if any."""
        row = self.db.execute("SELECT r.thread_id FROM refs r JOIN threads t ON t.thread_id = r.thread_id"
                              " WHERE r.message_id = ? AND t.customer = ?", (ref, customer)).fetchone()
        return row[0] if row else None

    def _waiting_thread_of(self, customer: str) -> str | None:
        """The customer's most recent conversation still waiting for the team, if any."""
        row = self.db.execute(
            "SELECT m.thread_id FROM messages m WHERE m.customer = ? AND m.direction = 'in' AND m.awaits_reply = 1"
            f" AND m.date > {_answered_upto('m.thread_id')} ORDER BY m.date DESC LIMIT 1", (customer,)).fetchone()
        return row[0] if row else None

    def _new_thread_id(self, message_id: str) -> str:
        """The Message-ID, or, when a conversation of that name exists (a reused
        Message-ID), the Message-ID with a number."""
        candidate, n = message_id, 1
        while self.db.execute("SELECT 1 FROM threads WHERE thread_id = ?", (candidate,)).fetchone():
            n += 1
            candidate = f"{message_id}#{n}"
        return candidate

    # -- recording ---------------------------------------------------------------------

    def record(self, *, message_id: str, thread_id: str, mailbox: str, uid: int | None, direction: str,
               customer: str, subject: str, date: datetime, automated: bool, awaits_reply: bool,
               answered_flag: bool = False, content_hash: str = "", unreadable: str | None = None,
               kind: str | None = None, customer_name: str = "") -> int:
        """Store one message and return its row (its identity from now on); ``direction``
        is 'in' (customer) or 'out' (the team's reply).

        ``awaits_reply`` is False for customer mail nobody needs to answer (automated mail,
        a plain thank-you): it neither starts a wait nor counts as a repeat.
        ``answered_flag``: the message carries ``\\Answered`` (see the module docstring).
        ``unreadable``: why the message could not be read, for mail recorded unread.
        ``kind``: see :data:`KINDS` (by default derived from the other arguments).
        The conversation is due for the sweep again (unless the message asks nothing: it
        changes no standing); so, for a reply of the team, is every conversation of its
        customer (``\\Answered`` counts with a later reply in any of them).
        """
        if kind is None:
            kind = ("team" if direction == "out" else "unreadable" if unreadable else "automated" if automated
                    else "customer" if awaits_reply else "acknowledgement")
        cursor = self.db.execute(
            "INSERT INTO messages(message_id, content_hash, thread_id, mailbox, uid, direction, customer, subject, date,"
            " automated, awaits_reply, answered_flag, unreadable, kind, customer_name, run)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (message_id, content_hash, thread_id, mailbox, uid, direction, customer, subject, iso(date), int(automated),
             int(awaits_reply and direction == "in"), int(answered_flag), unreadable, kind, customer_name, self.run),
        )
        if direction == "out":
            self.db.execute("UPDATE threads SET dirty = 1 WHERE customer = ? AND dirty = 0", (customer,))
        if direction == "out" or awaits_reply:  # (mail that asks nothing changes no standing)
            self.db.execute("UPDATE threads SET dirty = 1 WHERE thread_id = ? AND dirty = 0", (thread_id,))
        return int(cursor.lastrowid)

    def inbound_count(self, sender: str, since: datetime) -> int:
        """How many messages ``sender`` sent since ``since`` (from the index alone)."""
        return self.db.execute("SELECT count(*) FROM messages WHERE customer = ? AND direction = 'in' AND date > ?",
                               (sender, iso(since))).fetchone()[0]

    def sender_counts(self, sender: str, since: datetime, subject: str) -> SenderCounts:
        """What a sender did since ``since``, counting a new message on ``subject`` too
        (:func:`triage.automated.bulk_sender` reads it): their messages and distinct
        subjects, and the team's messages to them, ever. Of a sender with more than
        :data:`SENDER_SUBJECTS_READ` messages in the window, their latest that many
        (with the new one) are counted: read whole for each new message, a mail loop's
        thousands of messages made a pass quadratic (4,000 of them took 97 s)."""
        subjects = [r[0] for r in self.db.execute("SELECT subject FROM messages WHERE customer = ?"
                                                  " AND direction = 'in' AND date > ? ORDER BY date DESC LIMIT ?",
                                                  (sender, iso(since), SENDER_SUBJECTS_READ - 1))]
        subjects.append(subject)
        team = self.db.execute("SELECT count(*) FROM messages WHERE customer = ? AND direction = 'out'",
                               (sender,)).fetchone()[0] if len(subjects) > 1 else 0
        return SenderCounts(len(subjects), len({subject_key(s) for s in subjects}), team, 0)

    def mark_bulk_sender(self, sender: str) -> None:
        """Everything a sender found to be a machine sent waits for nobody (its
        conversations are due for the sweep, which takes their waiting labels off)."""
        self.db.execute("UPDATE threads SET dirty = 1 WHERE thread_id IN (SELECT thread_id FROM messages"
                        " WHERE customer = ? AND direction = 'in' AND awaits_reply = 1)", (sender,))
        self.db.execute("UPDATE messages SET awaits_reply = 0, automated = 1, kind = 'automated' WHERE customer = ?"
                        " AND direction = 'in' AND kind = 'customer'", (sender,))

    def mark_bounced(self, message_id: str) -> list[str]:
        """The team's message ``message_id`` was not delivered (a bounce reported it): it
        answers nobody, and the conversations it answered wait again (due for the sweep).
        Returns them. Uncommitted."""
        threads = [r[0] for r in self.db.execute(
            "SELECT DISTINCT thread_id FROM messages WHERE message_id = ? AND direction = 'out' AND kind = 'team'",
            (message_id,))]
        if threads:
            self.db.execute("UPDATE messages SET kind = 'bounced' WHERE message_id = ? AND direction = 'out'",
                            (message_id,))
            self.db.executemany("UPDATE threads SET dirty = 1 WHERE customer = (SELECT customer FROM threads"
                                " WHERE thread_id = ?)", [(t,) for t in threads])
        return threads

    def mark_unreadable(self, row: int, reason: str) -> None:
        """Mark a recorded message as one triage failed on: it waits for nobody then."""
        self.db.execute("UPDATE messages SET unreadable = ?, awaits_reply = 0, kind = 'unreadable' WHERE id = ?",
                        (reason, row))

    def set_answered_flags(self, mailbox: str, answered: dict[int, bool]) -> None:
        """Record whether the messages of ``mailbox`` (by UID) carry ``\\Answered`` now:
        clients set it after triage has read the message. A conversation whose message
        changed is due for the sweep again."""
        self.db.executemany("UPDATE threads SET dirty = 1 WHERE thread_id IN (SELECT thread_id FROM messages"
                            " WHERE mailbox = ? AND uid = ? AND answered_flag != ?)",
                            [(mailbox, uid, int(flag)) for uid, flag in answered.items()])
        self.db.executemany("UPDATE messages SET answered_flag = ? WHERE mailbox = ? AND uid = ? AND answered_flag != ?",
                            [(int(flag), mailbox, uid, int(flag)) for uid, flag in answered.items()])

    def labels_of(self, row: int) -> tuple[str, ...]:
        """The triage labels a stored message carries (as recorded; () when none)."""
        found = self.db.execute("SELECT labels FROM messages WHERE id = ?", (row,)).fetchone()
        return tuple(json.loads(found[0])) if found and found[0] else ()

    def labelled(self, mailbox: str, limit: int) -> list[Labeled]:
        """The ``limit`` most recently triaged messages of ``mailbox`` that carry labels:
        what a correction scan re-reads."""
        rows = self.db.execute(
            "SELECT id, message_id, mailbox, uid, labels FROM messages WHERE mailbox = ? AND uid IS NOT NULL"
            " AND direction = 'in' AND labels IS NOT NULL ORDER BY uid DESC LIMIT ?", (mailbox, limit)).fetchall()
        return [_labeled(r) for r in rows]

    def labelled_uids(self, mailbox: str, uids: list[int]) -> list[Labeled]:
        """Those of ``uids`` in ``mailbox`` that are triaged customer messages carrying
        labels (the ones a correction scan compares)."""
        found = []
        for _, marks, bound in _in_lists(uids):
            rows = self.db.execute(
                "SELECT id, message_id, mailbox, uid, labels FROM messages WHERE mailbox = ? AND direction = 'in'"
                f" AND labels IS NOT NULL AND uid IN ({marks}) ORDER BY uid", (mailbox, *bound))
            found += [_labeled(r) for r in rows]
        return found

    def decided_categories(self, message_id: str) -> tuple[str, ...]:
        """The categories triage last decided for a message of this Message-ID
        (``("other",)`` for none); () when it never triaged one."""
        row = self.db.execute("SELECT categories FROM messages WHERE message_id = ? AND categories IS NOT NULL"
                              " ORDER BY id DESC LIMIT 1", (message_id,)).fetchone()
        return tuple(json.loads(row[0])) if row and row[0] else ()

    def add_unstored(self, mailbox: str, messages: Iterable[Unstored]) -> None:
        """Messages of ``mailbox`` whose labels are being stored on the server after this
        commit: a pass that ends before they are (:meth:`clear_unstored`) leaves them here
        for the next one to store, and to print their rows. Uncommitted."""
        self.db.executemany("INSERT OR REPLACE INTO unstored VALUES (?, ?, ?, ?, ?)",
                            ((mailbox, m.uid, json.dumps(m.labels), int(m.flag), m.line) for m in messages))

    def clear_unstored(self, mailbox: str, uids: Iterable[int]) -> None:
        """The labels of these messages are on the server and their rows printed. Uncommitted."""
        self.db.executemany("DELETE FROM unstored WHERE mailbox = ? AND uid = ?", ((mailbox, uid) for uid in uids))

    def forget_unstored_rows(self, mailbox: str, uids: Iterable[int]) -> None:
        """The rows of these messages are printed, their labels not stored: they stay
        marked, for a later pass to store them, and not to print them again. Uncommitted."""
        self.db.executemany("UPDATE unstored SET line = NULL WHERE mailbox = ? AND uid = ?",
                            ((mailbox, uid) for uid in uids))

    def unstored(self, mailbox: str) -> list[Unstored]:
        """What :meth:`add_unstored` left for ``mailbox``, by UID."""
        return [Unstored(r["uid"], tuple(json.loads(r["labels"])), bool(r["flag"]), r["line"])
                for r in self.db.execute("SELECT uid, labels, flag, line FROM unstored WHERE mailbox = ? ORDER BY uid",
                                         (mailbox,))]

    def set_labels(self, row: int, labels: list[str]) -> None:
        """Record the triage labels a message carries now (after a sweep changed them)."""
        self.db.execute("UPDATE messages SET labels = ? WHERE id = ?", (json.dumps(sorted(labels)), row))

    def save_decision(self, row: int, *, categories: list[str], frustration: float, frustrated: bool,
                      priority: int, reasons: list[str], labels: list[str]) -> None:
        """Store what was decided for an inbound message (the report and re-sweeps read it):
        ``priority`` and ``reasons`` as decided from the mail, before a wait aged them
        (:mod:`triage.sla` ages them again at every re-evaluation); ``labels`` as written."""
        self.db.execute(
            "UPDATE messages SET categories = ?, frustration = ?, frustrated = ?, priority = ?, reasons = ?, labels = ?"
            " WHERE id = ?",
            (json.dumps(categories), frustration, int(frustrated), priority, json.dumps(reasons), json.dumps(labels), row),
        )

    # -- questions the engine asks ----------------------------------------------------

    def last_reply_to_customer(self, customer: str, before: datetime) -> datetime | None:
        """When the team last wrote to this customer, at or before ``before``."""
        row = self.db.execute(
            "SELECT max(date) FROM messages WHERE customer = ? AND direction = 'out' AND kind = 'team'"
            " AND date <= ?",
            (customer, iso(before)),
        ).fetchone()
        return parse_iso(row[0]) if row and row[0] else None

    def unanswered_from_customer(self, customer: str, upto: datetime) -> tuple[int, datetime | None]:
        """How many of the customer's messages await a reply since the team last wrote to
        them, up to and including ``upto``, and the oldest one's date (None: none). Counted
        by SQLite, not read: a customer's mail loop has thousands. Copies of one message
        count once (:func:`_one_message`)."""
        since = self.last_reply_to_customer(customer, upto)
        count, oldest = self.db.execute(
            f"SELECT count(DISTINCT {_one_message()}), min(m.date) FROM messages m INDEXED BY messages_asking"
            " WHERE customer = ? AND direction = 'in' AND awaits_reply = 1 AND date > ? AND date <= ?",
            (customer, iso(since) if since else "", iso(upto)),
        ).fetchone()
        return count, parse_iso(oldest) if oldest else None

    def waiting_since(self, thread_id: str) -> datetime | None:
        """The oldest customer message in the conversation since it was last answered
        (module docstring), or None when the team has the last word (or the customer
        never wrote)."""
        row = self.db.execute(
            "SELECT min(date) FROM messages WHERE thread_id = :t AND direction = 'in' AND awaits_reply = 1 AND date > "
            + _answered_upto(":t"),
            {"t": thread_id},
        ).fetchone()
        return parse_iso(row[0]) if row and row[0] else None

    def answered_upto(self, thread_id: str) -> datetime | None:
        """Up to when the conversation counts as answered (None: never answered)."""
        row = self.db.execute(f"SELECT {_answered_upto(':t')}", {"t": thread_id}).fetchone()
        return parse_iso(row[0]) if row and row[0] else None

    def waiting(self) -> list[Waiting]:
        """Every conversation whose last word is the customer's (module docstring: when
        a conversation counts as answered)."""
        rows = self.db.execute(
            _PENDING + """
            SELECT * FROM (
                SELECT thread_id, thread_customer, thread_subject, id, message_id, mailbox, uid, labels,
                       min(date) OVER (PARTITION BY thread_id) AS since,
                       row_number() OVER (PARTITION BY thread_id ORDER BY date DESC, id DESC) AS newest
                FROM pending)
            WHERE newest = 1 ORDER BY since
            """
        ).fetchall()
        return [Waiting(r["thread_id"], r["thread_customer"], r["thread_subject"], parse_iso(r["since"]),
                        r["message_id"], r["mailbox"], r["uid"], tuple(json.loads(r["labels"] or "[]")), r["id"])
                for r in rows]

    def queue_counts(self) -> tuple[int, int]:
        """(conversations waiting, of them P1) as the last sweep left them: cheap counts
        for the log and the status file (``triage report`` evaluates each one afresh)."""
        row = self.db.execute("SELECT count(*), coalesce(sum(waiting AND p1), 0) FROM threads WHERE waiting = 1")
        waiting, p1 = row.fetchone()
        return int(waiting), int(p1)

    def waiting_uids(self, mailbox: str, among: Iterable[int] | None = None, answered_flag: bool = False) -> list[int]:
        """UIDs in ``mailbox`` of the customer messages still waiting for a reply (whose
        ``\\Answered`` flag may have changed since they were read); with ``among``, only
        those of these UIDs — what a pass costs then depends on them, not on the size of
        the queue; with ``answered_flag``, only those recorded as carrying ``\\Answered``
        (waiting still: no reply of the team's came after it)."""
        if answered_flag:
            return [row[0] for row in self.db.execute(
                "SELECT m.uid FROM messages m WHERE m.mailbox = ? AND m.uid IS NOT NULL AND m.direction = 'in'"
                f" AND m.awaits_reply = 1 AND m.answered_flag = 1 AND m.date > {_answered_upto('m.thread_id')}"
                " ORDER BY m.uid", (mailbox,))]
        if among is None:
            rows = self.db.execute(
                _PENDING + "SELECT uid FROM pending WHERE mailbox = ? AND uid IS NOT NULL ORDER BY uid", (mailbox,))
            return [row[0] for row in rows]
        found: list[int] = []
        for _, marks, bound in _in_lists(sorted(set(among))):
            found += [row[0] for row in self.db.execute(
                f"SELECT m.uid FROM messages m WHERE m.mailbox = ? AND m.uid IN ({marks})"
                f" AND m.direction = 'in' AND m.awaits_reply = 1 AND m.date > {_answered_upto('m.thread_id')}",
                (mailbox, *bound))]
        return sorted(found)

    def answered_with_labels(self, names: tuple[str, ...]) -> list[Labeled]:
        """Customer messages of answered stretches of conversation that still carry a
        label ending in one of ``names`` (e.g. ``"overdue"``): the sweep takes those off."""
        like = " OR ".join("m.labels LIKE ?" for _ in names) or "0"
        rows = self.db.execute(
            f"""
            SELECT m.id, m.message_id, m.mailbox, m.uid, m.labels FROM messages m JOIN threads t ON t.thread_id = m.thread_id
            WHERE m.direction = 'in' AND ({like}) AND m.date <= {_answered_upto("t.thread_id")}
            ORDER BY m.date
            """,
            [f'%{name}"%' for name in names],
        ).fetchall()
        return [_labeled(r) for r in rows]

    # -- IMAP position -----------------------------------------------------------------

    def get_cursor(self, mailbox: str) -> tuple[int, int] | None:
        """(UIDVALIDITY, last UID triaged) of an IMAP folder, or None before the first run."""
        row = self.db.execute("SELECT uidvalidity, last_uid FROM cursors WHERE mailbox = ?", (mailbox,)).fetchone()
        return (row[0], row[1]) if row else None

    def set_cursor(self, mailbox: str, uidvalidity: int, last_uid: int) -> None:
        """Move a folder's cursor; durable with the next :meth:`commit`."""
        self.db.execute(
            "INSERT INTO cursors VALUES (?, ?, ?) ON CONFLICT(mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity,"
            " last_uid = excluded.last_uid",
            (mailbox, uidvalidity, last_uid),
        )

    def first_run_plan(self, mailbox: str) -> tuple[int, int, str] | None:
        """(UIDVALIDITY, the folder's top UID then, its UIDs as ranges) of the first run of
        an IMAP folder that has not finished (:mod:`triage.imap.firstrun`), or None."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (f"first-run:{mailbox}",)).fetchone()
        if row is None:
            return None
        stored = json.loads(row["value"])
        return int(stored["uidvalidity"]), int(stored["top"]), str(stored["uids"])

    def set_first_run_plan(self, mailbox: str, uidvalidity: int, top: int, uids: str) -> None:
        """Remember what a first run of ``mailbox`` sets out to triage (see
        :meth:`first_run_plan`); durable with the next :meth:`commit`, as its cursor is."""
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"first-run:{mailbox}", json.dumps(
            {"uidvalidity": uidvalidity, "top": top, "uids": uids})))

    def clear_first_run_plan(self, mailbox: str) -> None:
        """The first run of ``mailbox`` is finished (uncommitted)."""
        self.db.execute("DELETE FROM meta WHERE key = ?", (f"first-run:{mailbox}",))

    def get_modseq(self, mailbox: str) -> tuple[int, int] | None:
        """(UIDVALIDITY, HIGHESTMODSEQ) of an IMAP folder when its labels were last read,
        or None: where the next correction scan may ask for changes only (CONDSTORE)."""
        row = self.db.execute("SELECT uidvalidity, modseq FROM modseqs WHERE mailbox = ?", (mailbox,)).fetchone()
        return (row[0], row[1]) if row else None

    def set_modseq(self, mailbox: str, uidvalidity: int, modseq: int) -> None:
        """Remember a folder's HIGHESTMODSEQ (0: none usable); durable with the next :meth:`commit`."""
        self.db.execute(
            "INSERT INTO modseqs VALUES (?, ?, ?) ON CONFLICT(mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity,"
            " modseq = excluded.modseq",
            (mailbox, uidvalidity, modseq),
        )

    def due_for_full_refresh(self, key: str, now: datetime, seconds: float) -> bool:
        """True (and the moment remembered, uncommitted) when ``key``'s last full refresh
        is more than ``seconds`` before ``now``, or never happened, or is after ``now``:
        one remembered on a clock in the future (a clock set wrong, then corrected) put
        off every refresh until then."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (f"refreshed:{key}",)).fetchone()
        if row and 0 <= (now - parse_iso(row[0])).total_seconds() < seconds:
            return False
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"refreshed:{key}", iso(now)))
        return True

    def rebind_uids(self, mailbox: str, uid_by_message_id: dict[str, int]) -> None:
        """After a UIDVALIDITY change: attach the new UIDs to messages already known by Message-ID.

        Every old UID of ``mailbox`` is void, so a known message no longer in the folder keeps
        none (otherwise its old UID could pass a new, untriaged message off as known). A
        Message-ID that two stored messages share names neither for sure: both stay without
        a UID, so their new copies are not mistaken for each other (:meth:`rebind_by_content`
        tells them apart)."""
        self.db.execute("UPDATE messages SET uid = NULL WHERE mailbox = ?", (mailbox,))
        self.db.executemany(
            "UPDATE messages SET uid = ? WHERE mailbox = ? AND message_id = ? AND"
            " (SELECT count(*) FROM messages d WHERE d.mailbox = messages.mailbox AND d.message_id = messages.message_id) = 1",
            [(uid, mailbox, mid) for mid, uid in uid_by_message_id.items()],
        )
        self._back([r[0] for r in self.db.execute(
            "SELECT id FROM messages WHERE mailbox = ? AND departed = 1 AND uid IS NOT NULL", (mailbox,))])

    def rebind_by_content(self, mailbox: str, hash_by_uid: dict[int, str]) -> set[int]:
        """After :meth:`rebind_uids`: attach new UIDs (with the content hash of the message
        under each, :func:`triage.parsing.content_hash`) to the messages of ``mailbox``
        still without one that have that content. Returns the UIDs attached. Uncommitted.

        The same bytes are the same message: this knows those a Message-ID cannot name, one
        without it (stored under an id made from its content) or one whose Message-ID stored
        messages share, so they are not triaged and counted a second time. Identical copies
        (the same bytes delivered twice) pair off in order, the oldest stored message with
        the lowest UID; a copy left over stays unknown, a message of its own, as a UID is
        whatever it holds."""
        uids_by_hash: dict[str, list[int]] = {}
        for uid, digest in sorted(hash_by_uid.items()):
            uids_by_hash.setdefault(digest, []).append(uid)
        pairs: list[tuple[int, int]] = []
        for _, marks, bound in _in_lists(sorted(uids_by_hash)):
            for row, digest in self.db.execute(
                    f"SELECT id, content_hash FROM messages WHERE uid IS NULL AND content_hash IN ({marks})"
                    " AND mailbox = ? ORDER BY id", (*bound, mailbox)).fetchall():
                if uids_by_hash[digest]:
                    pairs.append((uids_by_hash[digest].pop(0), row))
        self.db.executemany("UPDATE messages SET uid = ? WHERE id = ?", pairs)
        self._back(row for _, row in pairs)
        return {uid for uid, _ in pairs}

    # -- what the report reads ---------------------------------------------------------

    def decisions_since(self, thread_id: str, since: datetime) -> list[dict]:
        """Stored decisions of the conversation's customer messages from ``since`` on, oldest first."""
        rows = self.db.execute(
            "SELECT categories, frustration, frustrated, priority, reasons FROM messages WHERE thread_id = ?"
            " AND direction = 'in' AND awaits_reply = 1 AND date >= ? AND priority IS NOT NULL ORDER BY date",
            (thread_id, iso(since)),
        ).fetchall()
        return [{"categories": json.loads(r["categories"]), "frustration": r["frustration"],
                 "frustrated": bool(r["frustrated"]), "priority": r["priority"], "reasons": json.loads(r["reasons"])}
                for r in rows]
