"""Read an IMAP folder without changing it: select, find new UIDs, fetch raw mail in batches.

Everything is addressed by UID, never by sequence number, and never with ``1:*`` (which
imapclient refuses in FETCH anyway). Bodies come with ``BODY.PEEK``, so ``\\Seen`` stays
as the team left it; should a server set it all the same, it is taken off again at once
(unless it has shown that it honours PEEK: then a ``\\Seen`` that appears is a person's).
A message bigger than ``max_bytes`` is fetched only up to that size, and one round trip
holds at most ``batch_size`` messages and about ``batch_bytes`` bytes, so memory does not
grow with the mailbox.
"""

from __future__ import annotations

import difflib
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timezone
from typing import NamedTuple, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, IMAPClientReadOnlyError
from imapclient.imapclient import join_message_ids, seq_to_parenstr_upper
from imapclient.util import to_unicode

from triage.errors import ImapError
from triage.imap.connection import MESSAGE_BUGS, TEMPORARY_REFUSALS, FetchLost, ImapConnectionError, imap_errors
from triage.imap.fetchparse import parse_fetch
from triage.imap.pipeline import fetch_responses, pipelined
from triage.imap.refusals import REFUSED_PASSES, Refusals
from triage.message import RawMail
from triage.parsing import MAX_HEADER_BYTES

log = logging.getLogger(__name__)

HEADER_FETCH_BYTES = 2 * MAX_HEADER_BYTES
"""How much of a message's header block a headers-only FETCH asks for (the Sent folders,
a first run's older mail): parsing keeps :data:`~triage.parsing.MAX_HEADER_BYTES` of it
and the fields triage reads a little beyond. Asked for whole, a hostile message's header
of many megabytes was held in memory, a batch of such messages at once."""

HEADER_FETCH = f"BODY.PEEK[HEADER]<0.{HEADER_FETCH_BYTES}>"
"""The FETCH item for a message's header block, up to :data:`HEADER_FETCH_BYTES`."""

SEEN = "\\Seen"
DEFAULT_BATCH_BYTES = 25_000_000
"""Upper bound (roughly) on the body bytes one FETCH brings in."""

AT_ONCE_BYTES = 256_000
"""A chunk read in one round trip asks for each body up to this size (or ``max_bytes``,
if smaller), so up to ``batch_bytes / AT_ONCE_BYTES`` messages (97 at the defaults) go at
once. A bigger message (a large attachment: rare) has its chunk read again the
sizes-first way."""

_UID_CHUNK = 500
"""UIDs per command where the caller's list may be long (keeps command lines short)."""
_SEARCH_CHUNK = 50
"""Message-IDs per OR-chained SEARCH."""
PRESENT_WINDOW = 50_000
"""UIDs of a folder's span one SEARCH of :meth:`ImapMailbox.present` covers (its answer:
at most this many numbers, about 300 KB)."""
_MSGID = re.compile(rb"<[^<>\s]+>")
T = TypeVar("T")


class FolderState(NamedTuple):
    """What SELECT told about a folder. A changed ``uidvalidity`` voids every stored UID."""

    uidvalidity: int
    uidnext: int
    permanentflags: frozenset[str]

    @property
    def allows_new_keywords(self) -> bool:
        """True when PERMANENTFLAGS contains ``\\*``: clients may create keywords."""
        return "\\*" in self.permanentflags

    def allows(self, flag: str) -> bool:
        """True when ``flag`` (a system flag or keyword) can be stored permanently."""
        known = {f.lower() for f in self.permanentflags}
        return flag.lower() in known or (not flag.startswith("\\") and self.allows_new_keywords)


class ImapMailbox:
    """One connection's view of the folder it has selected. It only reads; its one write
    takes back a ``\\Seen`` that a server set in spite of BODY.PEEK.

    The labeler borrows :attr:`client` for its writes and uses :meth:`visiting` to look
    into other folders, after which this folder is selected again.
    """

    def __init__(self, client: IMAPClient) -> None:
        client.normalise_times = False  # keep INTERNALDATE's time zone instead of local naive time
        self.client = client
        self.folder: str | None = None
        self.state: FolderState | None = None
        self._selected: tuple[str, bool] | None = None
        """(folder, read-only) selected on the server now, as far as this object knows."""
        self._hierarchy: tuple[str, str] | None = None
        self._remembered: dict[str, tuple[float, object]] = {}
        self.fetch_alone: frozenset[int] = frozenset()
        """UIDs of the selected folder read one at a time: the connection broke while
        they were being sent (:func:`~triage.imap.lostfetch.remember_lost_fetch`)."""
        self.unfetchable: frozenset[int] = frozenset()
        """UIDs not read at all: alone, they broke the connection again and again."""
        self.refusals = Refusals()
        """How often the server refused, without saying why, to deliver messages of the
        folder a pass triages (:mod:`triage.imap.refusals`)."""
        self.read_only: set[str] = set()
        """Folders the server lets this user only read (:meth:`_examine_read_only`)."""
        self.numbering_checked: set[str] = set()
        """Folders a pass triaged on this connection, whose numbering its first pass
        compared with the state's (:func:`~triage.imap.sync.renumbered_silently`)."""
        self.peek_honoured = False
        """True once a body read on this connection came back without ``\\Seen``: the
        server honours BODY.PEEK, so every ``\\Seen`` it shows from then on is a
        person's (:meth:`_restore_seen`)."""

    # -- the server and its folders ----------------------------------------------------

    @property
    def capabilities(self) -> frozenset[str]:
        """The server's capabilities, upper case (e.g. ``X-GM-EXT-1``, ``UIDPLUS``)."""
        with imap_errors("CAPABILITY"):
            return frozenset(c.decode("ascii", "replace").upper() for c in self.client.capabilities())

    def select(self, folder: str, readonly: bool = False) -> FolderState:
        """SELECT ``folder`` read-write (labels are written to it), or EXAMINE it when
        ``readonly`` (nothing can change there, e.g. when reading training folders), and
        return its state.

        A server that sends no PERMANENTFLAGS lets clients change every flag (RFC 3501
        7.1), so its FLAGS plus ``\\*`` are assumed; the labeler verifies what it writes.

        When the folder is selected already, in the same mode (the service's next pass),
        a NOOP brings the session's view up to date instead (so a SEARCH sees what other
        clients delivered) and the state of the SELECT is kept: its ``uidnext`` may then
        be behind (a pass's cursor never goes back to it: :func:`~triage.imap.sync.sync_folder`). A SELECT
        re-opens the folder, which on a big Maildir makes the server re-read it (a tenth
        of a second per 100,000 messages, every pass), and every command counts on a busy
        server. A folder renumbered under the session is not missed: the server ends the
        session (Dovecot does), and a new one SELECTs.

        A folder the user may only read (the server answers SELECT with ``[READ-ONLY]``:
        an ACL with the ``r`` right and no ``s``, ``w``, ``t``, ``i`` or ``e``) is
        EXAMINEd instead and has no PERMANENTFLAGS: labels go as copies into label
        folders, which need only the right to read it. imaplib took that answer for a
        lost connection, so every pass failed and ``triage run`` reconnected for ever.
        """
        if self._selected == (folder, readonly) and self.state is not None:
            with imap_errors(f"checking {folder}"):
                self.client.noop()
            return self.state
        self._selected = None
        with imap_errors(f"selecting {folder}"):
            if folder in self.read_only:
                answer = self._examine_read_only(folder)
            else:
                try:
                    answer = self.client.select_folder(folder, readonly=readonly)
                except IMAPClientReadOnlyError:
                    answer = self._examine_read_only(folder)
                except IMAPClientAbortError:
                    raise
                except IMAPClientError as exc:  # the server's words vary ("doesn't exist", "Unknown Mailbox", …)
                    if not self.holds_mail(folder):
                        raise FolderNotFound(folder, self._names_like(folder)) from exc
                    raise
            uidnext = answer.get(b"UIDNEXT")
            if uidnext is None:
                uidnext = self.client.folder_status(folder, ["UIDNEXT"]).get(b"UIDNEXT")  # (None: refused below)
        if b"UIDVALIDITY" not in answer:
            raise ImapError(f"{folder}: the server gave no UIDVALIDITY, so new mail cannot be tracked")
        permanent = answer.get(b"PERMANENTFLAGS")
        if permanent is None:
            permanent = (*answer.get(b"FLAGS", ()), b"\\*")
        uidvalidity = _number(answer[b"UIDVALIDITY"], f"UIDVALIDITY of {folder}", MAX_UID)
        uidnext = _number(uidnext, f"UIDNEXT of {folder}", MAX_UID + 1)
        self.folder = folder
        self._selected = (folder, readonly)
        self.state = FolderState(uidvalidity, uidnext, frozenset(_text(f) for f in permanent))
        return self.state

    def _examine_read_only(self, folder: str) -> dict:
        """EXAMINE ``folder``, which the server would SELECT only read-only: its answer,
        with no flag that can be stored (:meth:`select`). Said once a connection."""
        if folder not in self.read_only:
            self.read_only.add(folder)
            log.warning("%s is read-only for this user: triage labels its messages with copies in label folders; "
                        "grant the right to write flags (ACL w) to label them in place", folder)
        answer = dict(self.client.select_folder(folder, readonly=True))
        answer[b"PERMANENTFLAGS"] = ()
        return answer

    def selected(self, folder: str) -> FolderState | None:
        """The state of ``folder`` when this session has it selected read-write now, else None."""
        return self.state if self._selected == (folder, False) else None

    @contextmanager
    def visiting(self, folder: str, readonly: bool = True) -> Iterator[None]:
        """Select ``folder`` for the duration of the block (read-only unless asked), then
        select the folder selected before again (also when that SELECT failed, which
        leaves no folder selected).

        When the block raised, its error is the one that propagates even if selecting
        the folder again fails too: after a lost connection it always does, and the
        error of the block may say more (:class:`~triage.imap.connection.FetchLost`
        names the messages whose reading broke the connection)."""
        previous, failed = self.folder, False
        try:
            self._selected = None
            with imap_errors(f"selecting {folder}"):
                self.client.select_folder(folder, readonly=readonly)
            yield
        except Exception:
            failed = True
            raise
        finally:
            if previous is not None:
                try:
                    self.select(previous)
                except ImapError:
                    if not failed:
                        raise
                    log.debug("%s not selected again after an error in %s", previous, folder, exc_info=True)

    def remembered(self, key: str, seconds: float, compute: Callable[[], T]) -> T:
        """``compute()``, asked again only once its answer is ``seconds`` old: for what
        rarely changes on a server (which folders hold sent mail) but would otherwise
        cost commands on every pass of the service. Kept for this connection only."""
        now = time.monotonic()
        kept = self._remembered.get(key)
        if kept is None or now - kept[0] >= seconds:
            kept = self._remembered[key] = (now, compute())
        return kept[1]

    def hierarchy(self) -> tuple[str, str]:
        """(personal namespace prefix, hierarchy delimiter), e.g. ``("", ".")`` on a
        Dovecot Maildir++, ``("INBOX.", ".")`` on Courier, ``("", "/")`` on Gmail."""
        if self._hierarchy is None:
            with imap_errors("NAMESPACE"):
                personal = self.client.namespace().personal if self.client.has_capability("NAMESPACE") else None
                if personal:
                    prefix, delimiter = personal[0]
                else:
                    listed = self.client.list_folders("", "")
                    prefix, delimiter = "", (listed[0][1] if listed else None)
            self._hierarchy = (prefix, _text(delimiter) if delimiter else "/")
        return self._hierarchy

    def folders(self, pattern: str) -> list[str]:
        """Selectable folders whose names match the LIST ``pattern`` (``*`` and ``%`` wildcards)."""
        with imap_errors(f"listing {pattern}"):
            listed = self.client.list_folders("", pattern)
        skip = {b"\\noselect", b"\\nonexistent"}
        return [name for flags, _, name in listed if not skip & {f.lower() for f in flags}]

    def _names_like(self, folder: str) -> list[str]:
        """The server's folder names closest to ``folder`` (for a typo's error message)."""
        names = self.folders("*")
        by_lower = {name.lower(): name for name in names}
        return [by_lower[name] for name in difflib.get_close_matches(folder.lower(), list(by_lower), n=3)]

    def holds_mail(self, folder: str) -> bool:
        """True when the server has ``folder`` and it can be opened: a name listed
        ``\\Noselect`` is only the parent of other folders (Dovecot lists one when a
        person makes ``Sent/2025`` without ``Sent``, or deletes ``Sent`` and keeps its
        children). Its case as the server lists it may differ (Microsoft 365 and Gmail
        ignore case)."""
        return folder.lower() in {name.lower() for name in self.folders(folder)}

    # -- finding mail ------------------------------------------------------------------

    def uids_since(self, last_uid: int) -> list[int]:
        """UIDs above ``last_uid``, ascending. (``UID n:*`` also matches the highest UID when
        every UID is below n, so the answer is filtered.)"""
        with imap_errors(f"searching {self.folder}"):
            found = self.client.search(["UID", f"{last_uid + 1}:*"])
        return [uid for uid in valid_uids(found) if uid > last_uid]

    def announced_new_mail(self) -> bool:
        """True when the server announced mail (an untagged EXISTS) in an answer since this
        was last asked. A SEARCH answers from the session's view of the folder as the
        previous command left it; mail that arrived meanwhile is announced at its end,
        outside its result, and IDLE would not announce it again."""
        return bool(self.client._imap.untagged_responses.pop("EXISTS", None))

    def uids_since_date(self, day: date) -> list[int]:
        """UIDs of messages that arrived (INTERNALDATE) on or after ``day``, ascending."""
        if isinstance(day, datetime):
            day = day.date()
        with imap_errors(f"searching {self.folder}"):
            return valid_uids(self.client.search(["SINCE", day]))

    def highest_modseq(self) -> int:
        """HIGHESTMODSEQ of the selected folder (RFC 7162, CONDSTORE); 0 when the server
        has no CONDSTORE or keeps no MODSEQs for this folder (NOMODSEQ).

        No NOOP first, though Dovecot answers STATUS on the selected folder from the
        session's view, as fresh as the last command that synced it: a stale value is
        safe, only wasteful (changes after it are looked at again), and the
        :meth:`uids_changed_since` that follows syncs anyway. On Dovecot's Maildir with
        mail arriving every sync reads the folder again: 0.3-0.7 s at 80,000 messages,
        which the mail arriving meanwhile waited for, twice a minute."""
        if "CONDSTORE" not in self.capabilities:
            return 0
        with imap_errors(f"reading the HIGHESTMODSEQ of {self.folder}"):
            status = self.client.folder_status(self.folder, [b"HIGHESTMODSEQ"])
        return _number(status.get(b"HIGHESTMODSEQ") or 0, f"HIGHESTMODSEQ of {self.folder}", MAX_MODSEQ)

    def uids_changed_since(self, modseq: int, *also: str, among: Sequence[int] | None = None,
                           synced: bool = False) -> list[int]:
        """UIDs whose flags (or Gmail labels) changed after MODSEQ ``modseq``, ascending
        (SEARCH MODSEQ, CONDSTORE); ``also`` adds search keys (``"ANSWERED"``: of those,
        the ones carrying ``\\Answered`` now); ``among`` asks about those UIDs only (a
        few hundred a SEARCH). A NOOP first: SEARCH answers from the session's view of the
        folder, so the view must include every change up to a HIGHESTMODSEQ read just
        before, or a change counted as seen would never be found. ``synced``: a search
        just before, after that HIGHESTMODSEQ was read, made that NOOP already."""
        criteria = ["MODSEQ", str(modseq + 1), *also]
        with imap_errors(f"searching changes in {self.folder}"):
            if not synced:
                self.client.noop()
            if among is None:
                return valid_uids(self.client.search(criteria))
            found: list[int] = []
            for chunk in _chunks(sorted(set(among)), _UID_CHUNK):
                found += self.client.search([*criteria, "UID", ",".join(map(str, chunk))])
            return valid_uids(found)

    def search_message_ids(self, message_ids: Iterable[str]) -> dict[int, str]:
        """UID → Message-ID of the messages in the selected folder that carry one of
        ``message_ids`` (HEADER search is a substring match, so hits are checked).

        Each ID goes as a quoted string, whatever it holds: ``{``, ``}`` and ``(`` are
        valid in a Message-ID, and sent bare (imapclient quotes only spaces and quotes)
        the server refused the whole SEARCH, every pass. IDs no quoted string can carry
        (control characters, over :data:`_MAX_SEARCHED_ID` characters) are not looked
        for, and a SEARCH the server refuses all the same only loses its own IDs."""
        wanted = {m for m in message_ids if _searchable(m)}
        hits = self._message_id_hits(wanted)
        return {uid: mid for uid, mid in self.message_ids(hits).items() if mid in wanted}  # (it sorts and dedups)

    def search_message_keys(self, keys: Iterable[tuple[str, int]]) -> dict[int, tuple[str, int]]:
        """UID → (Message-ID, RFC822.SIZE) of the messages in the selected folder that are
        one of ``keys`` (:meth:`message_keys`): a copy of a message, told from another
        message that reuses its Message-ID (a web form's fixed one, a mail loop)."""
        wanted = set(keys)
        hits = self._message_id_hits({mid for mid, _ in wanted if _searchable(mid)})
        return {uid: key for uid, key in self.message_keys(hits).items() if key in wanted}

    def _message_id_hits(self, wanted: set[str]) -> list[int]:
        """The UIDs a HEADER Message-ID SEARCH for ``wanted`` finds (substring matches
        included: callers check what they find)."""
        chunks = list(_chunks(sorted(wanted), _SEARCH_CHUNK))
        commands = []
        for chunk in chunks:
            criteria: list[str] = ["OR"] * (len(chunk) - 1)
            for message_id in chunk:
                criteria += ["HEADER", "Message-ID", _quoted(message_id)]
            commands.append(("SEARCH", *criteria))
        with imap_errors(f"searching {self.folder}"):
            answers = pipelined(self.client, commands, "SEARCH")
        hits: list[int] = []
        for (status, data), chunk in zip(answers, chunks):
            if status != "OK":
                log.warning("%s: the server refused to search for %d Message-ID(s) (%s): %s", self.folder,
                            len(chunk), _text(b" ".join(d for d in data if isinstance(d, bytes)))[:200],
                            ", ".join(chunk)[:300])
                continue
            hits += _searched_uids(data)
        return hits

    def present(self, uids: Iterable[int], *, undeleted: bool = False) -> set[int]:
        """Those of ``uids`` the selected folder still has (with ``undeleted``, not
        counting those marked ``\\Deleted``). One ``UID SEARCH UID a:b`` per
        :data:`PRESENT_WINDOW` UIDs of the span that holds any of them (the commands sent
        back to back): a folder of 100,000 messages is asked in two or three commands,
        where a list of the UIDs themselves (tens of thousands waiting) would take a
        command per few hundred, and on a busy server each costs a look at the folder.
        What an answer holds beyond ``uids`` is dropped as it is read. Raises ImapError
        when the server refuses any of them: an answer in part says nothing of the UIDs
        it left out, and must never be taken for their being gone."""
        wanted = set(uids)
        windows = sorted({uid // PRESENT_WINDOW for uid in wanted})
        if not windows:
            return set()
        commands = [("SEARCH", "UID", f"{max(1, w * PRESENT_WINDOW)}:{(w + 1) * PRESENT_WINDOW - 1}",
                     *(("UNDELETED",) if undeleted else ())) for w in windows]
        # (No NOOP first: a view of the folder older than now shows messages since
        # removed, which only puts their departure off to a later look.)
        with imap_errors(f"searching {self.folder}"):
            answers = pipelined(self.client, commands, "SEARCH")
        found: set[int] = set()
        for status, data in answers:
            if status != "OK":
                raise ImapError(f"{self.folder}: the server refused to say which messages are still there: "
                                f"{status} {_text(b' '.join(d for d in data if isinstance(d, bytes)))[:200]}")
            found.update(uid for uid in _searched_uids(data) if uid in wanted)
        return found

    # -- reading mail -------------------------------------------------------------------

    def flags_of(self, uids: Iterable[int]) -> dict[int, frozenset[str]]:
        """Current flags and keywords per UID (``\\Recent`` left out); missing UIDs are gone."""
        result: dict[int, frozenset[str]] = {}
        for chunk in _chunks(sorted(set(uids)), _UID_CHUNK):
            with imap_errors(f"fetching flags in {self.folder}"):
                answer = fetch(self.client, chunk, ["FLAGS"])
            result.update({uid: frozenset(_flags(data.get(b"FLAGS", ()))) for uid, data in answer.items()})
        return result

    def message_keys(self, uids: Iterable[int]) -> dict[int, tuple[str, int]]:
        """(Message-ID, RFC822.SIZE) of each UID that has a Message-ID: what knows a
        message's copy in a label folder (COPY keeps the bytes), where the Message-ID
        alone took another message reusing it for the copy."""
        return {uid: (message_id, int(data[b"RFC822.SIZE"]))
                for uid, message_id, data in self._with_message_ids(uids, ["RFC822.SIZE"])
                if data.get(b"RFC822.SIZE") is not None}

    def message_ids(self, uids: Iterable[int]) -> dict[int, str]:
        """The Message-ID of each UID that has one (read with BODY.PEEK)."""
        return {uid: message_id for uid, message_id, _ in self._with_message_ids(uids)}

    def _with_message_ids(self, uids: Iterable[int], items: Sequence[str] = ()) -> Iterator[tuple[int, str, dict]]:
        """(UID, Message-ID, the FETCH answer with ``items`` too) of each of ``uids`` that
        has a Message-ID, ascending, a chunk of UIDs a FETCH."""
        for chunk in _chunks(sorted(set(uids)), _UID_CHUNK):
            with imap_errors(f"fetching Message-IDs in {self.folder}"):
                answer = self.client.fetch(chunk, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]", *items])
            for uid, data in answer.items():
                match = _MSGID.search(_body(data) or b"")
                if match:
                    yield uid, match.group(0).decode("ascii", "replace"), data

    def fetch_batches(
        self,
        uids: Iterable[int],
        batch_size: int = 200,
        max_bytes: int = 2_000_000,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
        refused_unreadable: bool = False,
    ) -> Iterator[list[RawMail]]:
        """Yield the messages of ``uids`` (ascending) as lists of :class:`RawMail`.

        First RFC822.SIZE, FLAGS and INTERNALDATE for ``batch_size`` UIDs, then the bodies
        with ``BODY.PEEK[]`` — or ``BODY.PEEK[]<0.max_bytes>`` for a bigger message, whose
        RawMail then holds only its first ``max_bytes`` — in groups of about ``batch_bytes``,
        each asked for right after its FLAGS (:meth:`_fetch_bodies`). ``flags`` are those
        from just before the body was read. A message expunged meanwhile is left out; one
        the server refuses to deliver even alone is logged and left out, or, with
        ``refused_unreadable`` (the messages a pass decides), handed over as a stand-in
        without bytes that is decided as unreadable (:func:`refusal_kind`): left out, the
        cursor passed it, and a customer's message was never a row nor labelled.

        A chunk small enough that its bodies, each up to :data:`AT_ONCE_BYTES`, stay
        within ``batch_bytes`` (the messages a service's pass or a first run's fresh mail
        brings) is read in one round trip: both FETCHes pipelined (:meth:`_fetch_at_once`).
        On a busy server every command costs a look at the folder, and new mail waits for
        each; and the longer a pass waits, the more mail the next one brings.
        """
        if batch_size < 1 or max_bytes < 1:
            raise ValueError("batch_size and max_bytes must be positive")
        for chunk in _chunks(sorted(set(uids)), batch_size):
            alone = [uid for uid in chunk if uid in self.fetch_alone or uid in self.unfetchable]
            if not alone:
                yield from self._fetch_chunk(chunk, max_bytes, batch_bytes, refused_unreadable)
                continue
            mails = [mail for uid in alone for mail in self._fetch_one(uid, max_bytes, batch_bytes, refused_unreadable)]
            rest = [uid for uid in chunk if uid not in alone]
            mails += [mail for batch in self._fetch_chunk(rest, max_bytes, batch_bytes, refused_unreadable)
                      for mail in batch]
            if mails:
                yield sorted(mails, key=lambda mail: mail.uid or 0)

    def _fetch_one(self, uid: int, max_bytes: int, batch_bytes: int, refused_unreadable: bool) -> list[RawMail]:
        """The message ``uid`` read on its own; for one in :attr:`unfetchable`, a
        stand-in without bytes, which is decided as unreadable."""
        if uid in self.unfetchable:
            log.warning("%s: UID %d is not read: the connection broke each time the server was asked for it alone",
                        self.folder, uid)
            return [RawMail(b"", self.folder or "", str(uid), uid,
                            unreadable="the server broke the connection each time it was asked for this message")]
        return [mail for batch in self._fetch_chunk([uid], max_bytes, batch_bytes, refused_unreadable)
                for mail in batch]

    def _fetch_chunk(self, chunk: list[int], max_bytes: int, batch_bytes: int,
                     refused_unreadable: bool = False) -> Iterator[list[RawMail]]:
        """:meth:`fetch_batches` of one chunk of UIDs; a connection that breaks meanwhile
        raises :class:`~triage.imap.connection.FetchLost` naming the chunk."""
        if not chunk:
            return
        try:
            delivered: set[int] = set()
            for mails in self._fetch_chunk_once(chunk, max_bytes, batch_bytes, refused_unreadable):
                delivered.update(mail.uid for mail in mails)
                yield mails
            if refused_unreadable:
                unanswered = [uid for uid in chunk if uid not in delivered and uid not in self.refusals.now]
                stand_ins = self._unanswered(unanswered) if unanswered else []
                if stand_ins:
                    yield stand_ins
        except FetchLost:
            raise
        except ImapConnectionError as exc:
            raise FetchLost(str(exc), self.folder or "", self.state.uidvalidity if self.state else 0, chunk) from exc

    def _fetch_chunk_once(self, chunk: list[int], max_bytes: int, batch_bytes: int,
                          refused_unreadable: bool) -> Iterator[list[RawMail]]:
        cap = min(max_bytes, AT_ONCE_BYTES)
        if len(chunk) * cap <= batch_bytes:
            meta, mails = self._fetch_at_once(chunk, cap, max_bytes)
            if mails is not None:
                if mails:
                    yield mails
                return
        else:
            with imap_errors(f"fetching sizes in {self.folder}"):
                meta = fetch(self.client, chunk, ["RFC822.SIZE", "FLAGS", "INTERNALDATE"])
        sizes = _sizes(meta)
        for group in byte_groups([u for u in chunk if u in sizes], sizes, max_bytes, batch_bytes):
            mails = self._fetch_group(group, meta, sizes, max_bytes, refused_unreadable)
            if mails:
                yield mails

    def _unanswered(self, uids: list[int]) -> list[RawMail]:
        """Of the messages a FETCH answered OK without a word about them, those the folder
        still has (the others were expunged meanwhile): the server is not sending them,
        as if it refused without a reason (:mod:`triage.imap.refusals`). Left for a later
        pass, then stand-ins decided unreadable; the cursor passed them, and they were
        lost."""
        stand_ins = []
        for uid in sorted(self.present(uids)):
            times = self.refusals.refused(uid) if self.folder == self.refusals.folder else REFUSED_PASSES
            log.warning("%s: the server answered the FETCH of UID %d without it, though the folder has it "
                        "(%d of %d times%s)", self.folder, uid, times, REFUSED_PASSES,
                        ": tried again next pass" if times < REFUSED_PASSES else "")
            if times >= REFUSED_PASSES:
                stand_ins.append(RawMail(b"", self.folder or "", str(uid), uid,
                                         unreadable=f"the server did not send it when asked, on {times} passes"))
        return stand_ins

    def _fetch_at_once(self, uids: list[int], cap: int, max_bytes: int) -> tuple[dict, list[RawMail] | None]:
        """Sizes, flags and dates, and every body up to ``cap`` bytes, in two FETCHes sent
        back to back: (the first FETCH's answers by UID, the messages). The messages are
        None when they must be read again the sizes-first way: the server refused the
        bodies (one broken message can make it fail the lot; that way reads them one by
        one where it must), or one is bigger than ``cap`` and ``cap`` is below
        ``max_bytes``.

        The flags of the first FETCH are the message's before its body was read when the
        server runs commands in order; one that runs them side by side (Dovecot) honours
        BODY.PEEK, so ``\\Seen`` is never set by the reading there."""
        where = f"fetching UIDs {_uid_list(uids)} in {self.folder}"
        ids = join_message_ids(uids)
        with imap_errors(where):
            (meta_status, meta_data), (body_status, body_data) = pipelined(self.client, [
                ("FETCH", ids, "(RFC822.SIZE FLAGS INTERNALDATE)"),
                ("FETCH", ids, f"(BODY.PEEK[]<0.{cap}> FLAGS)")], "FETCH")
        if meta_status != "OK":
            raise ImapError(f"{where}: {meta_status} {meta_data}")
        meta: dict[int, dict] = {}
        bodies: dict[int, dict] = {}
        wanted = set(uids)
        for uid, items in fetch_responses(self.client, meta_data + (body_data if body_status == "OK" else []), wanted):
            if b"RFC822.SIZE" in items:
                meta.setdefault(uid, items)
            elif _has_body(items):
                bodies.setdefault(uid, items)
        sizes = _sizes(meta)
        found = [uid for uid in uids if uid in sizes]
        if body_status != "OK":
            log.warning("%s: %s %s; fetching them again", where, body_status, body_data)
            return meta, None
        if any(_body(answer) is None for answer in bodies.values()):  # BODY[] NIL: read alone, it is a refusal
            log.warning("%s: the server sent no content (BODY[] NIL) for some; fetching them again", where)
            return meta, None
        if cap < max_bytes and any(sizes[uid] > cap for uid in found):
            log.debug("%s: a message over %d bytes; fetching them by size", where, cap)
            return meta, None
        self._too_big(found, sizes, max_bytes)
        return meta, self._mails(found, meta, bodies)

    def _fetch_group(self, uids: list[int], meta: dict, sizes: dict[int, int], max_bytes: int,
                     refused_unreadable: bool = False) -> list[RawMail]:
        before: dict[int, frozenset[str]] = {}
        bodies: dict[int, dict] = {}
        refused: dict[int, str] = {}
        whole = [uid for uid in uids if sizes[uid] <= max_bytes]
        partial = self._too_big(uids, sizes, max_bytes)
        for some, item in ((whole, "BODY.PEEK[]"), (partial, f"BODY.PEEK[]<0.{max_bytes}>")):
            if some:
                flags, answers = self._fetch_bodies(some, item, refused)
                before.update(flags)
                bodies.update(answers)
        mails = self._mails(uids, meta, bodies, before)
        if refused_unreadable and refused:
            mails = sorted([*mails, *self._refused_mails(refused, meta)], key=lambda mail: mail.uid or 0)
        return mails

    def _refused_mails(self, refused: dict[int, str], meta: dict) -> list[RawMail]:
        """Stand-ins without bytes for the messages the server refused to deliver alone
        (UID → why), decided as unreadable: a row, the ``unreadable`` label, a person looks."""
        mails = []
        for uid, reason in sorted(refused.items()):
            known = meta.get(uid, {})
            mails.append(RawMail(b"", self.folder or "", str(uid), uid, internaldate=_utc(known.get(b"INTERNALDATE")),
                                 flags=tuple(sorted(_flagset(known))),
                                 unreadable=reason))
        return mails

    def _too_big(self, uids: list[int], sizes: dict[int, int], max_bytes: int) -> list[int]:
        """Those of ``uids`` bigger than ``max_bytes`` (only their start is read), logged."""
        partial = [uid for uid in uids if sizes[uid] > max_bytes]
        if partial:
            log.info("%s: UIDs %s exceed %d bytes; reading their start", self.folder, _uid_list(partial), max_bytes)
        return partial

    def _mails(self, uids: list[int], meta: dict, bodies: dict[int, dict],
               before: dict[int, frozenset[str]] | None = None) -> list[RawMail]:
        """RawMail of each UID with a body, its flags those from before the body was read:
        ``before`` when the flags were read just before it, else those of ``meta`` (and
        ``\\Seen`` taken off again where reading it set it, judged by ``before`` only)."""
        if before is None:
            before = {uid: _flagset(meta[uid]) for uid in uids}
        self._restore_seen(before, bodies)
        mails = []
        for uid in uids:
            raw = _body(bodies.get(uid, {}))
            if raw is None:
                continue
            mails.append(
                RawMail(
                    raw=bytes(raw),
                    mailbox=self.folder or "",
                    key=str(uid),
                    uid=uid,
                    internaldate=_utc(meta[uid].get(b"INTERNALDATE")),
                    flags=tuple(sorted(before[uid] if uid in before else _flagset(meta[uid]))),
                )
            )
        return mails

    def _fetch_bodies(self, uids: list[int], item: str, refused: dict[int, str],
                      bugs: set[int] | None = None) -> tuple[dict[int, frozenset[str]], dict[int, dict]]:
        """FETCH FLAGS, then ``item`` and FLAGS, sent back to back: (the flags just before
        the body was read, the body answers), by UID. The chunk's sizes came a round trip
        earlier, or many (a chunk of big mail goes in groups of ``batch_bytes``), and a
        ``\\Seen`` a person set since must not pass for one the reading set
        (:meth:`_restore_seen`). When the server fails the whole batch (one broken message
        can do that), fetch one by one and skip the ones that still fail, adding to
        ``refused`` the UID and the server's words for each that still exists
        (:func:`refusal_kind`); a refusal that says "later" raises ImapError, and so do
        "bug" refusals of every message of a batch (the server's trouble, not theirs); the
        UIDs of those are added to ``bugs``."""
        where = f"fetching UIDs {_uid_list(uids)} in {self.folder}"
        ids = join_message_ids(uids)
        with imap_errors(where):
            (_, flags_data), (status, data) = pipelined(self.client, [
                ("FETCH", ids, "(FLAGS)"), ("FETCH", ids, f"({item} FLAGS)")], "FETCH")
        if status == "OK":
            before: dict[int, frozenset[str]] = {}
            bodies: dict[int, dict] = {}
            for uid, items in fetch_responses(self.client, flags_data + data, set(uids)):
                if _has_body(items):
                    bodies.setdefault(uid, items)
                elif b"FLAGS" in items:
                    before.setdefault(uid, _flagset(items))
            for uid in [uid for uid, items in bodies.items() if _body(items) is None]:
                # BODY[] NIL (reported for Exchange): the server has no content to give for it
                log.warning("skipping a message the server sent no content for: %s: UID %d: BODY[] NIL", where, uid)
                refused[uid] = "the server sent no content for it (BODY[] NIL)"
                del bodies[uid]
            return before, bodies
        answer = f"{status} {' '.join(_text(part) for part in data if isinstance(part, bytes | str))}"
        refusal = f"{where}: {answer}"
        if len(uids) == 1:
            kind = refusal_kind(answer)
            if kind == "later":
                raise ImapError(f"{refusal} (the server says to try again later)")
            if kind == "gone":
                log.info("%s: UID %d was expunged meanwhile: %s", self.folder, uids[0], refusal)
                return {}, {}
            if kind == "bug" and bugs is not None:
                bugs.add(uids[0])
            if kind in ("unsure", "bug") and self.folder == self.refusals.folder:
                times = self.refusals.refused(uids[0])
                if times < REFUSED_PASSES:
                    log.warning("%s (refused without a reason, %d of %d times: tried again next pass)", refusal,
                                times, REFUSED_PASSES)
                    return {}, {}
                answer = f"{answer} (refused on {times} passes)"
            log.warning("skipping a message the server cannot deliver: %s", refusal)
            refused[uids[0]] = f"the server refused to deliver it: {answer}"
            return {}, {}
        log.warning("%s; fetching those messages one by one", refusal)
        before, bodies, bugs = {}, {}, set()
        for uid in uids:
            flags, answers = self._fetch_bodies([uid], item, refused, bugs)
            before.update(flags)
            bodies.update(answers)
        if bugs and not bodies and bugs == set(uids):
            raise ImapError(f"{refusal} (for every message of it alike: the server's trouble, tried again later)")
        return before, bodies

    def _restore_seen(self, before: dict[int, frozenset[str]], bodies: dict[int, dict]) -> None:
        """Take ``\\Seen`` off messages whose reading set it (a server that ignores
        BODY.PEEK): those without it ``before`` that carry it in their body's answer.

        A person may have opened one in between, though, and that ``\\Seen`` is theirs:
        the answers cannot tell the two apart (with CONDSTORE neither: either change
        moves the message's MODSEQ, so a STORE ``UNCHANGEDSINCE`` the MODSEQ of
        ``before`` would refuse every restore, and one since the body's answer guards only
        the time after it, when opening a message already ``\\Seen`` changes nothing). So
        nothing is taken off once the server has shown it honours BODY.PEEK — a body on
        this connection, in this answer or an earlier one, came back without ``\\Seen``
        (:attr:`peek_honoured`), as Dovecot does. Elsewhere ``before`` is read right before
        the body, in the same round trip, leaving a person that moment only."""
        after = {uid: _flagset(data) for uid, data in bodies.items()}
        self.peek_honoured = self.peek_honoured or any(SEEN not in flags for flags in after.values())
        if self.peek_honoured:
            return
        gained = sorted(uid for uid, flags in after.items() if SEEN in flags and SEEN not in before.get(uid, {SEEN}))
        if gained:
            log.warning("%s set \\Seen on UIDs %s despite BODY.PEEK; taking it off", self.folder, _uid_list(gained))
            with imap_errors(f"restoring \\Seen in {self.folder}"):
                self.client.remove_flags(gained, [SEEN], silent=True)


class FolderNotFound(ImapError):
    """The server has no folder of that name (a typo, or a folder renamed or deleted):
    raised by :meth:`ImapMailbox.select`, with the server's names closest to it."""

    def __init__(self, folder: str, similar: list[str]):
        self.folder, self.similar = folder, similar
        like = f" (it has {', '.join(map(repr, similar))})" if similar else ""
        super().__init__(f"the server has no folder {folder!r}{like}")


_GONE_CODES = ("[EXPUNGEISSUED]", "[NONEXISTENT]")


_RESPONSE_CODE = re.compile(r"^\s*(?:OK|NO|BAD)\s+\[", re.IGNORECASE)


def refusal_kind(answer: str) -> str:
    """What a server's refusal of one message's FETCH means, by its response code
    (RFC 5530): "gone" (expunged meanwhile: nothing to triage), "later" (the server is
    busy, limited or failing: try the pass again, rather than take its trouble for the
    message's) or "broken" (another code: this message cannot be read, it is decided as
    unreadable, so a person sees it). "bug" (:data:`MESSAGE_BUGS`): as "unsure", unless
    every message of the batch gets it, which is the server's trouble. Without a code, "unsure": the refusal may be the
    server's passing trouble (Gmail's "Some messages could not be FETCHed" is), so the
    message is tried again on later passes and decided unreadable only after
    :data:`~triage.imap.refusals.REFUSED_PASSES` of them refused it."""
    upper = answer.upper()
    if any(code in upper for code in _GONE_CODES):
        return "gone"
    if any(code in upper for code in MESSAGE_BUGS):
        return "bug"
    if any(code in upper for code in TEMPORARY_REFUSALS):  # the server's trouble, as for a login
        return "later"
    return "broken" if _RESPONSE_CODE.match(answer) else "unsure"


def fetch(client: IMAPClient, uids: Sequence[int], items: Sequence[str]) -> dict[int, dict]:
    """``client.fetch(uids, items)`` (by UID), its answer read by
    :func:`~triage.imap.fetchparse.parse_fetch`; a refusal raises imapclient's error, as
    ``client.fetch`` does."""
    if not uids:
        return {}
    [(status, data)] = pipelined(client, [("FETCH", join_message_ids(uids), seq_to_parenstr_upper(items))], "FETCH")
    if status != "OK":
        raise IMAPClientError(f"fetch failed: {to_unicode(data[0])}")
    response = parse_fetch(data, client.normalise_times)
    return {uid: response[uid] for uid in uids if uid in response}  # (unsolicited answers dropped)


def byte_groups(uids: Sequence[int], sizes: dict[int, int], max_bytes: int, batch_bytes: int) -> Iterator[list[int]]:
    """Split ``uids`` into runs whose fetched sizes (each capped at ``max_bytes``) add up
    to at most ``batch_bytes``; a run always holds at least one UID."""
    group: list[int] = []
    total = 0
    for uid in uids:
        size = min(sizes[uid], max_bytes)
        if group and total + size > batch_bytes:
            yield group
            group, total = [], 0
        group.append(uid)
        total += size
    if group:
        yield group


def status_uids(status: dict) -> tuple[int, int] | None:
    """(UIDVALIDITY, UIDNEXT) of a STATUS answer; None when it holds no numbers for them
    (a STATUS without them, or with words, was a traceback every pass: no mail triaged)."""
    try:
        return int(status[b"UIDVALIDITY"]), int(status[b"UIDNEXT"])
    except (KeyError, TypeError, ValueError):
        return None


def shown_status(status: dict) -> str:
    """A STATUS answer, short, for a log line."""
    return " ".join(f"{_text(key)} {_text(value) if isinstance(value, (bytes, str)) else value}"
                    for key, value in status.items())[:200] or "empty"


def _sizes(meta: dict[int, dict]) -> dict[int, int]:
    """UID → RFC822.SIZE of a FETCH answer; 0 (unknown) for one that is no size."""
    return {uid: _size(data.get(b"RFC822.SIZE")) for uid, data in meta.items()}


def _size(value: object) -> int:
    """An RFC822.SIZE as a number of bytes: 0 (unknown) for what is none (``x``, NIL, a
    negative number), which ended the pass in a ValueError traceback, every pass, so no
    mail was triaged; such a message is fetched as any other, up to the byte cap."""
    try:
        size = int(value or 0)
    except (TypeError, ValueError):
        return 0
    return max(size, 0)


_MAX_SEARCHED_ID = 998
"""The longest Message-ID searched for (RFC 5322's line limit; the server's own limit on
a command line is some 64 KB, for up to :data:`_SEARCH_CHUNK` IDs)."""


def _searchable(message_id: str) -> bool:
    """Whether an IMAP quoted string can carry ``message_id``: printable ASCII only."""
    return 0 < len(message_id) <= _MAX_SEARCHED_ID and all(" " <= c <= "~" for c in message_id)


def _quoted(text: str) -> str:
    """``text`` as an IMAP quoted string (RFC 3501: ``\\`` and ``"`` escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _chunks(items: Sequence, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _searched_uids(data: list) -> Iterator[int]:
    """The numbers of a pipelined SEARCH's untagged answers, as they are read (those no
    UID can be left out)."""
    return (uid for line in data if line for n in _text(line).split() if n.isdigit() and 0 < (uid := int(n)) <= MAX_UID)


MAX_UID = 2**32 - 1
"""The largest UID and UIDVALIDITY (RFC 3501: 32-bit numbers)."""
MAX_MODSEQ = 2**63 - 1
"""The largest MODSEQ (RFC 7162: 63 bits)."""


def valid_uids(found: Iterable[int]) -> list[int]:
    """A SEARCH's UIDs, ascending, without numbers no UID can be (0, or past 32 bits: an
    answer no server should send, which ended the pass in an OverflowError)."""
    uids = sorted(found)
    kept = [uid for uid in uids if 0 < uid <= MAX_UID]
    if len(kept) != len(uids):
        log.warning("the server's SEARCH answered %d number(s) no UID can be; left out", len(uids) - len(kept))
    return kept


def _number(value: object, what: str, largest: int) -> int:
    """``value`` of a server's answer as a whole number from 0 to ``largest``; ImapError
    for anything else (the pass fails as for any server error, and is tried again)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if not 0 <= number <= largest:
        raise ImapError(f"the server's {what} is not a number triage can use: {_text(value) if isinstance(value, bytes | str) else value!r}")
    return number


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _flags(raw: Iterable[bytes | str] | None) -> list[str]:
    """The flags of a FETCH's FLAGS (``\\Recent`` left out); none for a FLAGS that is no
    list (``FLAGS NIL``, a TypeError traceback that ended every pass)."""
    if raw is None or isinstance(raw, (bytes, str, int)):
        return []
    return [flag for flag in map(_text, raw) if flag.lower() != "\\recent"]


def _flagset(data: dict) -> frozenset[str]:
    """The FLAGS of a FETCH answer (``\\Recent`` left out)."""
    return frozenset(_flags(data.get(b"FLAGS", ())))


def _has_body(data: dict) -> bool:
    """Whether a FETCH answer has a ``BODY[...]`` item, NIL included."""
    return any(isinstance(key, bytes) and key.startswith(b"BODY[") for key in data)


def _body(data: dict) -> bytes | None:
    """The ``BODY[...]`` item of a FETCH answer, whatever its section and partial suffix."""
    for key, value in data.items():
        if isinstance(key, bytes) and key.startswith(b"BODY["):
            return value
    return None


def _utc(value: datetime | None) -> datetime | None:
    """An INTERNALDATE in UTC; None for one UTC cannot hold (``31-Dec-9999 23:59:59
    -1400``, which any client may APPEND: an OverflowError traceback, every pass) or
    whose zone is no zone (``+9999``: a ValueError traceback, every pass)."""
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except (OverflowError, ValueError) as exc:
        log.debug("an INTERNALDATE UTC cannot hold (%s): taken as none", exc)
        return None


def _uid_list(uids: Sequence[int], shown: int = 10) -> str:
    text = ",".join(map(str, uids[:shown]))
    return text + (f",… ({len(uids)} in all)" if len(uids) > shown else "")
