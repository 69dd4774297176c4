"""The sweep: make the waiting labels on the server agree with who is waiting now.

Labels written when a message is triaged say how things stood then. As time passes a
conversation ages past its reply target (:mod:`triage.sla`), the customer writes again
and the team answers, so the sweep re-evaluates conversations and keeps this true:

- of a waiting conversation, the customer's latest waiting message carries the
  conversation's waiting labels (priority, ``overdue``, ``frustrated``:
  :data:`~triage.labels.WAITING_LABELS`), and its other messages none;
- an answered message carries none; category labels are never touched (they are the
  message's, and a person may have corrected them).

It is incremental: only conversations where something happened since the last sweep,
or whose next deadline has come (:meth:`History.threads_to_sweep`), are evaluated — and
those another one pushed out of P1 or let in (:func:`triage.waiting.within_share`) —
so a sweep costs what changed, not the size of the mailbox — except once after the service
levels changed, and once on a clock before the last sweep's (:func:`clock_went_back`), when
every conversation is evaluated again. :func:`sweep_changes` returns only
real changes and marks the evaluated conversations swept (uncommitted: the caller commits
once the labels are on the server); :func:`triage.imap.sweep.apply_sweep` carries them out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import NamedTuple

from triage.history import History, iso, parse_iso
from triage.labels import WAITING_LABELS, waiting_labels
from triage.sla import Policy
from triage.waiting import STANDINGS_CHUNK, standings


class SweepChange(NamedTuple):
    """Labels to add to and remove from one customer message (``uid`` None: local mail);
    ``row`` is the message in the state."""

    mailbox: str
    uid: int | None
    message_id: str
    add: frozenset[str]
    remove: frozenset[str]
    row: int = 0
    flag: bool = True
    """Whether adding priority-1 may set ``\\Flagged`` too (:meth:`Conversation.flag_due`)."""


def sweep_changes(history: History, now: datetime, policy: Policy, prefix: str,
                  threads: Iterable[str] | None = None, flag_backlog_days: float = 7.0) -> list[SweepChange]:
    """The waiting-label changes due at ``now`` in the conversations that need a look
    (or in ``threads``), and mark those swept; see the module docstring. As a list: see
    :func:`iter_sweep_changes` for a sweep that may change tens of thousands."""
    return list(iter_sweep_changes(history, now, policy, prefix, threads, flag_backlog_days))


def iter_sweep_changes(history: History, now: datetime, policy: Policy, prefix: str,
                       threads: Iterable[str] | None = None, flag_backlog_days: float = 7.0) -> Iterator[SweepChange]:
    """:func:`sweep_changes`, one change at a time, as the conversations are compared.

    Two rounds: every conversation's standing is evaluated and kept in history's scratch
    table (which P1 share it falls in is known only once all are), then read back a chunk
    at a time and compared with the labels its messages carry. Memory stays a chunk's,
    however many conversations a sweep after a first run looks at, as long as the
    caller too takes the changes a slice at a time (the sweep after a first run over
    100,000 messages changes thousands: as a list they were +8 MiB of the process). The
    caller may write to history between changes; conversations are marked swept as they
    are read, so the whole must be consumed before the caller commits."""
    if threads is None:
        policy_changed = history.remember_policy(repr(policy))
        every = clock_went_back(history.remember_sweep_clock(now), now) or policy_changed
        chunks: Iterable[list[str]] = history.threads_to_sweep(now, every=every)
    else:
        chunks = [list(dict.fromkeys(threads))]
    history.open_sweep_scratch()

    def evaluate(thread_ids: list[str]) -> None:
        history.keep_found(
            (thread_id, c.priority, c.frustrated, c.overdue, c.last.last_row, c.flag_due(now, flag_backlog_days),
             iso(c.due) if c.due else None) if c else (thread_id, None, None, None, None, None, None)
            for thread_id, c in standings(history, thread_ids, now, policy))

    for chunk in chunks:
        evaluate(chunk)
    members = history.p1_members(policy.max_p1_share)
    evaluate(history.not_found_yet(history.p1_changed(members)))  # pushed out of P1, or let in, by others
    for found in history.found_in_chunks(STANDINGS_CHUNK):
        customer_rows = history.customer_rows([f["thread_id"] for f in found])
        for f in found:
            thread_id, on_last = f["thread_id"], frozenset()
            if f["priority"] is not None:
                priority = 2 if f["priority"] == 1 and thread_id not in members else f["priority"]
                on_last = frozenset(waiting_labels(priority, bool(f["frustrated"]), bool(f["overdue"]), prefix))
            # (mail that asks nothing keeps its own labels: it is no customer row)
            yield from row_changes(customer_rows.get(thread_id, []), f["last_row"] if on_last else None, on_last,
                                   prefix, bool(f["flag"]) if on_last else True)
            history.mark_swept(thread_id, parse_iso(f["due"]) if f["due"] else None)


CLOCK_SLACK = timedelta(minutes=5)
"""How far a sweep's clock may be behind the last sweep's before every conversation is
evaluated again: labels swept that little ahead are right again as soon."""


def clock_went_back(last_sweep: datetime | None, now: datetime) -> bool:
    """True when ``now`` is more than :data:`CLOCK_SLACK` before the clock of the last
    sweep. That sweep judged every conversation it looked at on its clock and put it off
    until its next deadline after it: on a clock that had jumped ahead (a year, a VM
    started with a wrong clock) the waits it made overdue or P1 stayed so once the clock
    was right, until something happened in them."""
    return last_sweep is not None and now < last_sweep - CLOCK_SLACK


def row_changes(rows: Iterable, last_row: int | None, on_last: frozenset[str], prefix: str,
                flag: bool = True) -> Iterator[SweepChange]:
    """The changes that leave the waiting labels ``on_last`` on the customer row
    ``last_row`` of a conversation (None: nobody waits in it) and none on its other
    ``rows`` (history's customer rows, with the labels each carries), as recorded; the
    category labels stay."""
    ours = {prefix + name for name in WAITING_LABELS}
    for row in rows:
        current = set(json.loads(row["labels"] or "[]"))
        wanted = on_last if row["id"] == last_row else frozenset()
        add, remove = frozenset(wanted - current), frozenset((current & ours) - wanted)
        if add or remove:
            yield SweepChange(row["mailbox"], row["uid"], row["message_id"], add, remove, row["id"], flag)


def labels_after(labels: Iterable[str], change: SweepChange) -> list[str]:
    """The labels a message carries once ``change`` is made, sorted."""
    return sorted((set(labels) - change.remove) | change.add)


def record_sweep(history: History, changes: Iterable[SweepChange]) -> None:
    """Record the labels the messages carry once ``changes`` are made (after the server
    has them, or at once for local mail, which has no server)."""
    for change in changes:
        history.set_labels(change.row, labels_after(history.labels_of(change.row), change))
