"""The sweep: make the waiting labels on the server agree with who is waiting now.

Labels written when a message is triaged say how things stood then. As time passes a
conversation ages past its reply target (:mod:`triage.sla`) and the team answers
others, so the service re-evaluates every waiting conversation on a schedule, and
``triage once`` does too:

- a waiting conversation: the customer's latest waiting message carries
  ``<prefix>overdue`` exactly when the conversation is overdue, and exactly one
  priority label, the current one;
- an answered stretch of conversation: its customer messages lose the waiting labels
  (overdue, priority-N, frustrated, :data:`~triage.labels.WAITING_LABELS`); the category
  labels stay.

:func:`sweep_changes` compares that with the labels history says each message carries
and returns only real changes, so a sweep with nothing to do writes nothing. It is pure
apart from reading history; :func:`triage.imap.sweep.apply_sweep` carries the changes out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple, TextIO

from triage.history import History
from triage.labels import WAITING_LABELS, labels_for
from triage.sla import Policy
from triage.waiting import waiting_conversations


class SweepChange(NamedTuple):
    """Labels to add to and remove from one customer message (``uid`` None: local mail);
    ``row`` is the message in the state."""

    mailbox: str
    uid: int | None
    message_id: str
    add: frozenset[str]
    remove: frozenset[str]
    row: int = 0


def sweep_changes(history: History, now: datetime, policy: Policy, prefix: str) -> list[SweepChange]:
    """The label changes due at ``now`` (see the module docstring): waiting
    conversations most urgent first, then answered messages oldest first."""
    changes = []
    aged = {prefix + "overdue", *(f"{prefix}priority-{p}" for p in range(1, 5))}
    for conversation in waiting_conversations(history, now, policy):
        last = conversation.last
        wanted = set(labels_for([], False, conversation.priority, prefix, conversation.overdue))
        current = set(last.last_labels)
        change = SweepChange(last.last_mailbox, last.last_uid, last.last_message_id,
                             frozenset(wanted - current), frozenset((aged - wanted) & current), last.last_row)
        if change.add or change.remove:
            changes.append(change)
    waiting_labels = {prefix + name for name in WAITING_LABELS}
    for message in history.answered_with_labels(WAITING_LABELS):
        stale = frozenset(waiting_labels & set(message.labels))
        if stale:
            changes.append(SweepChange(message.mailbox, message.uid, message.message_id, frozenset(), stale, message.row))
    return changes


def labels_after(labels: Iterable[str], change: SweepChange) -> list[str]:
    """The labels a message carries once ``change`` is made, sorted."""
    return sorted((set(labels) - change.remove) | change.add)


def write_sweep(changes: list[SweepChange], out: TextIO) -> None:
    """Say what the sweep would change, one line per message (nothing when nothing)."""
    if not changes:
        return
    out.write(f"sweep: {len(changes)} message{'s' if len(changes) != 1 else ''} to relabel\n")
    for change in changes:
        where = f"{change.mailbox} UID {change.uid}" if change.uid is not None else change.mailbox
        edits = [f"+{label}" for label in sorted(change.add)] + [f"-{label}" for label in sorted(change.remove)]
        out.write(f"  {change.message_id} ({where}): {' '.join(edits)}\n")
