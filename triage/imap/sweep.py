"""The IMAP side of the sweep (:mod:`triage.sweep`): read the ``\\Answered`` flags the
team's clients set since triage read their messages, and write the label changes a sweep
decided, recording them only once they are on the server.

The service calls, on its schedule, with the watched folder selected::

    refresh_answered(mailbox, history)
    apply_sweep(labeler, history, iter_sweep_changes(history, now, policy, prefix))
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from itertools import islice

from triage.engine import has_answered_flag
from triage.history import History
from triage.imap.corrections import changes_since
from triage.imap.labeler import LabelChange, Labeler
from triage.imap.mailbox import ImapMailbox
from triage.sweep import SweepChange, record_sweep

log = logging.getLogger(__name__)

REFRESH_SLICE = 2000
"""Waiting messages whose flags are read (and reduced to answered or not) at a time."""

FULL_REFRESH_SECONDS = 600
"""Without CONDSTORE, how often the flags of every waiting message are read again."""


def refresh_answered(mailbox: ImapMailbox, history: History, stop: Callable[[], bool] = lambda: False) -> int:
    """Record which waiting customer messages of the selected folder carry ``\\Answered``
    now (history's rule makes it count only with a team message after it). Uncommitted;
    returns how many of those read carry it. ``stop`` is asked between slices (a stop
    leaves the rest).

    It costs what changed, not the size of the backlog: with CONDSTORE, only the waiting
    messages whose flags changed since the last look are read; without, all of them, but
    at most every :data:`FULL_REFRESH_SECONDS` (the team's replies themselves, read from
    Sent every pass, are the main evidence; ``\\Answered`` is the fallback)."""
    folder = mailbox.folder or ""
    uidvalidity = mailbox.state.uidvalidity if mailbox.state else 0
    key = _answered_key(folder)
    highest = mailbox.highest_modseq()
    since = changes_since(history.get_modseq(key), uidvalidity, highest)
    if since is not None:
        # Every message this pass labelled changed too (a first run: every message), so the
        # server is asked only which of the changed ones are answered, and which of those
        # recorded as answered lost the flag: two short answers, however much changed.
        now_answered = mailbox.uids_changed_since(since, "ANSWERED")
        flagged = history.waiting_uids(folder, answered_flag=True)
        lost = mailbox.uids_changed_since(since, "UNANSWERED", among=flagged, synced=True) if flagged else []
        waiting = history.waiting_uids(folder, among=now_answered) if now_answered else []
        history.set_answered_flags(folder, {**{uid: True for uid in waiting}, **{uid: False for uid in lost}})
        if waiting or lost:
            log.debug("sweep: %d waiting message(s) in %s newly carry \\Answered, %d lost it", len(waiting),
                      folder, len(lost))
        history.set_modseq(key, uidvalidity, highest)
        return len(waiting)
    if history.due_for_full_refresh(key, datetime.now(timezone.utc), FULL_REFRESH_SECONDS):
        waiting = history.waiting_uids(folder)
    else:
        return 0
    log.info("sweep: re-reading \\Answered of %d waiting message(s) in %s", len(waiting), folder)
    carrying = 0
    # In slices: the flags of every waiting message at once (50,000 on a first run over a
    # big backlog) would be the largest thing in memory; a slice is reduced to yes/no.
    for start in range(0, len(waiting), REFRESH_SLICE):
        if stop():
            break
        flags = mailbox.flags_of(waiting[start:start + REFRESH_SLICE])
        answered = {uid: has_answered_flag(found) for uid, found in flags.items()}
        history.set_answered_flags(folder, answered)
        carrying += sum(answered.values())
    history.set_modseq(key, uidvalidity, highest)
    return carrying


def _answered_key(folder: str) -> str:
    """Where history keeps the folder's MODSEQ of the last look at ``\\Answered``."""
    return f"{folder}\0answered"


def watch_answered_from_now(mailbox: ImapMailbox, history: History) -> None:
    """Before a first run reads the selected folder: remember its HIGHESTMODSEQ, so the
    sweep after it asks the server only about what changed since, not for the flags of
    every message just read (whose ``\\Answered`` was read with them). Uncommitted."""
    key = _answered_key(mailbox.folder or "")
    highest = mailbox.highest_modseq()
    if highest and history.get_modseq(key) is None:
        history.set_modseq(key, mailbox.state.uidvalidity if mailbox.state else 0, highest)


SWEEP_SLICE = 1000
"""Label changes a sweep carries out (and plans in memory) at a time."""


def apply_sweep(labeler: Labeler, history: History, changes: Iterable[SweepChange]) -> int:
    """Write the changes that concern the labeler's folder (others, and local mail
    without a UID, are left alone), then record the messages' new labels and commit —
    unless the labeler is in a dry run, which writes and records nothing (it logs what it
    would do). Returns how many messages' labels changed (or would). In slices of
    :data:`SWEEP_SLICE`, taken from ``changes`` as they come
    (:func:`~triage.sweep.iter_sweep_changes`): the sweep after a first run may relabel
    tens of thousands, and a slice is what is held at once. Raises ImapError when the
    server refuses; what is not recorded yet is tried again by the next sweep (writing a
    label twice is harmless)."""
    folder = labeler.mailbox.folder
    mine = (c for c in changes if c.mailbox == folder and c.uid is not None)
    count = 0
    while part := list(islice(mine, SWEEP_SLICE)):
        labeler.apply_many([LabelChange.of(c.uid, c.add, c.remove, flag=c.flag) for c in part])
        if not labeler.dry_run:
            record_sweep(history, part)
        count += len(part)
    if labeler.dry_run:
        return count
    history.commit()
    log.info("sweep: relabelled %d message(s) in %s", count, folder)
    return count
