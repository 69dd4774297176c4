"""The first run's backlog: the customers who have waited longest are exactly the ones a
first run must not miss.

A first run triages the mail of the last ``imap.first_run_days`` days in full. Older mail,
back to ``imap.backlog_days``, is looked at cheaply: one SEARCH for the candidates, then
their headers only (FETCH ``BODY.PEEK[HEADER]``), which say who wrote, in reply to what,
and whether a client set ``\\Answered``. The team's messages among them are recorded as
replies (the Sent folder's, back to the same day, were recorded before), and then each
older customer message is kept if its conversation was not answered after it — by the
same rules as everywhere else (:mod:`triage.history`): a team reply in the conversation
(by In-Reply-To/References, else by customer and subject), or ``\\Answered`` with a team
message to the customer after it. Only those are fetched in full and triaged; answered
and machine-sent mail is skipped, and counted, so the run can say what it skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from triage.engine import Engine, has_answered_flag
from triage.errors import MessageParseError
from triage.history import History
from triage.imap.connection import imap_errors
from triage.imap.mailbox import HEADER_FETCH, ImapMailbox, _body, _chunks, _flags, _utc, fetch, valid_uids
from triage.message import Message, RawMail
from triage.parsing import parse_message
from triage.subjects import subject_key

log = logging.getLogger(__name__)

BATCH = 500
"""Headers fetched per round trip."""


@dataclass
class Backlog:
    """What a first run found before its window."""

    horizon: date
    since: date
    waiting: list[int] = field(default_factory=list)
    """UIDs of the older customer messages still waiting for the team."""
    scanned: int = 0
    answered: int = 0
    skipped_other: int = 0
    """Machine-sent mail, the team's own, and headers that could not be read."""

    def summary(self, recent: int) -> str:
        """One line: what the first run reads, what it skipped, and how to change that."""
        older = self.scanned - len(self.waiting)
        return (f"first run: triaging {recent} message{'s' if recent != 1 else ''} since {self.since.isoformat()} "
                f"and {len(self.waiting)} older one{'s' if len(self.waiting) != 1 else ''} still waiting for the team; "
                f"skipped {older} older message{'s' if older != 1 else ''} back to {self.horizon.isoformat()} "
                f"({self.answered} answered, {self.skipped_other} machine-sent or the team's) and everything before "
                f"{self.horizon.isoformat()}: raise [imap] first_run_days to triage more in full, [imap] backlog_days "
                "to look further back")


def scan_backlog(mailbox: ImapMailbox, engine: Engine, since: date, horizon: date) -> Backlog:
    """Find the older customer messages of the selected folder, from ``horizon`` up to
    ``since``, whose conversations still wait for the team (module docstring). The
    team's messages found are recorded as replies (uncommitted, with the pass)."""
    backlog = Backlog(horizon, since)
    if horizon >= since:
        return backlog
    with imap_errors(f"searching {mailbox.folder}"):
        uids = valid_uids(mailbox.client.search(["SINCE", horizon, "BEFORE", since]))
    backlog.scanned = len(uids)
    customers: list[tuple[int, Message]] = []
    for raws in _header_batches(mailbox, uids):
        team = []
        for raw in raws:
            try:
                message = parse_message(raw)
            except MessageParseError:
                message = None
            teams = message is not None and engine.settings.is_team_message(message)
            if teams:
                team.append(raw)
            if message is None or message.automated or teams:
                backlog.skipped_other += 1
            else:
                customers.append((raw.uid, message))
        engine.record_replies(team)
    for uid, message in customers:
        if answered(engine.history, message, engine.settings.customer_of(message)[0]):
            backlog.answered += 1
        else:
            backlog.waiting.append(uid)
    log.info("%s: %d older message(s) since %s, %d still waiting", mailbox.folder, len(uids), horizon, len(backlog.waiting))
    return backlog


def answered(history: History, message: Message, customer: str) -> bool:
    """Whether the team answered this (not yet recorded) customer message: a team reply
    after it in the conversation it would join, or ``\\Answered`` with a team message to
    the customer after it (the rules of :mod:`triage.history`). ``customer``: whose
    message it is (:meth:`~triage.engine.Settings.customer_of`)."""
    for ref in (message.message_id, message.in_reply_to, *reversed(message.references)):
        if ref:
            row = history.db.execute("SELECT r.thread_id FROM refs r JOIN threads t ON t.thread_id = r.thread_id"
                                     " WHERE r.message_id = ? AND t.customer = ?", (ref, customer)).fetchone()
            if row and _answered_after(history, row[0], message.date):
                return True
    key = subject_key(message.subject)
    if key:
        for (thread_id,) in history.db.execute("SELECT thread_id FROM threads WHERE customer = ? AND subject_key = ?",
                                               (customer, key)):
            if _answered_after(history, thread_id, message.date):
                return True
    if has_answered_flag(message.flags):
        later = history.last_reply_to_customer(customer, datetime.now(timezone.utc))
        return later is not None and later > message.date
    return False


def _answered_after(history: History, thread_id: str, moment: datetime) -> bool:
    upto = history.answered_upto(thread_id)
    return upto is not None and upto > moment


def _header_batches(mailbox: ImapMailbox, uids: list[int]) -> Iterable[list[RawMail]]:
    """The headers of ``uids`` as RawMail (header only, with flags and INTERNALDATE),
    one batch at a time."""
    for chunk in _chunks(uids, BATCH):
        with imap_errors(f"fetching headers in {mailbox.folder}"):
            answer = fetch(mailbox.client, chunk, [HEADER_FETCH, "FLAGS", "INTERNALDATE"])
        batch = []
        for uid in chunk:
            data = answer.get(uid, {})
            header = _body(data)
            if header:
                batch.append(RawMail(raw=bytes(header), mailbox=mailbox.folder or "", key=str(uid), uid=uid,
                                     internaldate=_utc(data.get(b"INTERNALDATE")),
                                     flags=tuple(_flags(data.get(b"FLAGS", ())))))
        yield batch
