"""Who is waiting, now: a conversation whose last word is the customer's, with its stored
decisions combined and aged by the service levels, in one urgency order.

One order drives everything the team sees — the ``once`` table, ``triage report`` and
the labels on the server — so they never disagree (:func:`urgency_key`): priority first,
then how far past its reply target the conversation is, then how frustrated the customer
is. Within a waiting conversation only the customer's latest message carries the
conversation's priority labels; the sweep (:mod:`triage.sweep`) keeps the server so.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from triage import CATEGORIES, OTHER
from triage.history import History, P1Share, ThreadFacts, Waiting, parse_iso
from triage.priority import NEEDS_REPLY
from triage.sla import Policy, assess

_NUMBERS = re.compile(r"\d+(\.\d+)?(st|nd|rd|th)?")


@dataclass
class Conversation:
    """One waiting conversation as the queue shows it and the sweep labels it."""

    thread_id: str
    customer: str
    customer_name: str
    subject: str
    """The subject of the customer's latest message."""
    categories: list[str]
    waiting_since: datetime
    waiting_hours: float
    messages: int
    """How many of the customer's messages wait for a reply in this conversation."""
    repeat_count: int
    frustrated: bool
    frustration: float
    priority: int
    """Current priority: the most urgent decision of the wait, aged (:func:`triage.sla.assess`)."""
    overdue: bool
    overdue_hours: float
    """Hours past the reply target (negative: time left)."""
    target_hours: float | None
    reasons: list[str]
    last: Waiting
    """The history row: the customer's latest waiting message, its place and labels."""
    backlog: bool = False
    """The wait began before triage started watching (a first run's backlog)."""
    due: datetime | None = None
    """When age changes this standing next (None: only new mail or a reply will)."""
    waiting_rows: tuple[int, ...] = ()
    """Rows of the customer's messages in this wait, oldest first."""
    last_date: datetime | None = None
    """When the customer's latest waiting message was sent."""
    customer_rows: tuple[int, ...] = ()
    """Rows of every customer message in it that waits or waited for a reply (what the
    sweep compares), oldest first."""

    def flag_due(self, now: datetime, backlog_days: float) -> bool:
        """Whether priority 1 here may also set ``\\Flagged``: always for a wait that
        began under triage's watch; for the backlog a first run found, only when the
        customer's latest message is at most ``backlog_days`` old — so importing old mail
        flags this week's emergencies, not hundreds of stale ones."""
        if not self.backlog or self.last_date is None:
            return True
        return (now - self.last_date).total_seconds() <= backlog_days * 86400

    def to_json(self) -> dict:
        """The ``triage report --format json`` row (docs/contracts.md)."""
        return {
            "thread_id": self.thread_id,
            "customer": self.customer,
            "customer_name": self.customer_name,
            "subject": self.subject,
            "categories": self.categories,
            "waiting_since": self.waiting_since.isoformat(),
            "waiting_hours": self.waiting_hours,
            "messages": self.messages,
            "repeat_count": self.repeat_count,
            "frustrated": self.frustrated,
            "frustration": self.frustration,
            "priority": self.priority,
            "overdue": self.overdue,
            "overdue_hours": self.overdue_hours,
            "target_hours": self.target_hours,
            "reasons": self.reasons,
            "last_message_id": self.last.last_message_id,
        }


def urgency_key(conversation: Conversation) -> tuple:
    """Most urgent first: priority, then furthest past its reply target, then most
    frustrated, then waiting longest."""
    return (conversation.priority, -conversation.overdue_hours, -conversation.frustration,
            conversation.waiting_since, conversation.thread_id)


def waiting_conversations(history: History, now: datetime, policy: Policy) -> list[Conversation]:
    """Every waiting conversation, evaluated for ``now``, most urgent first."""
    found = conversations(history, [waiting.thread_id for waiting in history.waiting()], now, policy)
    return sorted((c for c in found.values() if c is not None), key=urgency_key)


def conversations(history: History, thread_ids: Iterable[str], now: datetime,
                  policy: Policy) -> dict[str, Conversation | None]:
    """The standing of each conversation at ``now`` (None: nobody waits), with the P1
    share applied once all their claims are known (:func:`within_share`)."""
    found = dict(standings(history, thread_ids, now, policy))
    members = history.p1_members(policy.max_p1_share)
    return {thread_id: within_share(c, members) if c else None for thread_id, c in found.items()}


def conversation(history: History, thread_id: str, now: datetime, policy: Policy) -> Conversation | None:
    """One conversation's standing at ``now``, the P1 share applied; None when nobody waits."""
    return conversations(history, [thread_id], now, policy)[thread_id]


P1_SHARE_FULL = "would be P1, but P1 is kept to the most urgent share of the queue"
P1_CUSTOMER_HELD = "would be P1, but another conversation of this customer's is P1"


def within_share(conversation: Conversation, members: P1Share) -> Conversation:
    """The conversation as the queue shows it: P1 only if it is among ``members``, the
    strongest claims to P1, one a customer (:meth:`History.p1_members`); otherwise it
    stays at P2, where the urgency order puts it first. P1 means "act now", so it must
    stay scarce on any backlog: an imported mailbox where nobody answered anyone for
    weeks would otherwise be all P1."""
    if conversation.priority != 1 or conversation.thread_id in members:
        return conversation
    reason = P1_CUSTOMER_HELD if conversation.customer in members.customers else P1_SHARE_FULL
    return replace(conversation, priority=2, reasons=[*conversation.reasons, reason])


REPEATS_CLAIM = 3
"""From this many messages without a reply a customer's P1 claims rank above the rest."""
REPEATS_TIER = 2
"""The tier of those claims (:func:`claim`): a claim below it is lifted by a customer's
:data:`REPEATS_CLAIM`-th message, one at or above it (a threat) is not."""


def claim(conversation: Conversation) -> str | None:
    """A P1 conversation's claim, sortable (stronger first): a threat, then a third
    message, then the rest (angry repeat senders, money disputes, long overdue waits);
    within each, the longest wait first. None for any other priority."""
    if conversation.priority != 1:
        return None
    tier = REPEATS_TIER + 1 if any(r.startswith("threatens") for r in conversation.reasons) else \
        REPEATS_TIER if conversation.repeat_count >= REPEATS_CLAIM else REPEATS_TIER - 1
    return f"{tier}{10**11 - int(conversation.waiting_since.timestamp()):012d}"


def standings(history: History, thread_ids: Iterable[str], now: datetime,
              policy: Policy) -> Iterator[tuple[str, Conversation | None]]:
    """Each conversation's standing at ``now`` before the P1 share is applied (None when
    nobody waits in it), as (thread, standing) pairs, read from history a few hundred at
    a time (a batch of mail, a sweep after a first run: thousands) and yielded as they
    are read, so a caller that keeps little of each holds little; records whether each
    waits and its claim to P1."""
    ids = list(dict.fromkeys(thread_ids))
    started = history.watch_started()
    for start in range(0, len(ids), STANDINGS_CHUNK):
        chunk = ids[start:start + STANDINGS_CHUNK]
        facts = history.thread_facts(chunk)
        repeats = history.unanswered_counts((f.thread["customer"] for f in facts.values()), now)
        found = {thread_id: _evaluate(facts[thread_id], repeats, started, now, policy) if thread_id in facts
                 else None for thread_id in chunk}
        history.set_standings((thread_id, c is not None, claim(c) if c else None) for thread_id, c in found.items())
        yield from found.items()


STANDINGS_CHUNK = 500
"""Conversations evaluated per round of queries: bounds the rows held at once."""


def _evaluate(facts: ThreadFacts, repeats: dict[str, int], started: datetime | None, now: datetime,
              policy: Policy) -> Conversation | None:
    answered, rows, thread = facts.answered_upto, facts.customer_rows, facts.thread
    thread_id = thread["thread_id"]
    waiting = [r for r in rows if r["awaits_reply"] and (answered is None or parse_iso(r["date"]) > answered)]
    if not waiting:
        return None
    # The waiting labels go on the latest message still in the folder: one a person moved
    # out (History.file_departed) is counted, but shows nothing there.
    last = next((r for r in reversed(waiting) if not r["departed"]), waiting[-1])
    since = parse_iso(waiting[0]["date"])
    hours = round(max((now - since).total_seconds() / 3600, 0.0), 1)
    decided = [_decision(r) for r in waiting if r["priority"] is not None]
    priority, reasons = combine(decided)
    backlog = started is not None and since < started
    standing = assess(priority, reasons, hours, policy, backlog=backlog)
    return Conversation(
        thread_id=thread_id,
        customer=thread["customer"],
        customer_name=next((r["customer_name"] for r in reversed(waiting) if r["customer_name"]), ""),
        subject=last["subject"] or thread["subject"],
        categories=[c for c in CATEGORIES if any(c in d["categories"] for d in decided)] or [OTHER],
        waiting_since=since,
        waiting_hours=hours,
        messages=len({(r["message_id"], r["date"]) for r in waiting}),  # (copies of one message: one)
        repeat_count=repeats.get(thread["customer"], 0),
        frustrated=any(d["frustrated"] for d in decided),
        frustration=max((d["frustration"] for d in decided), default=0.0),
        priority=standing.priority,
        overdue=standing.overdue,
        overdue_hours=standing.overdue_hours,
        target_hours=standing.target_hours,
        reasons=standing.reasons,
        last=Waiting(thread_id, thread["customer"], thread["subject"], since, last["message_id"], last["mailbox"],
                     last["uid"], tuple(json.loads(last["labels"] or "[]")), last["id"]),
        backlog=backlog,
        due=since + timedelta(hours=standing.due_hours) if standing.due_hours is not None else None,
        waiting_rows=tuple(r["id"] for r in waiting),
        last_date=parse_iso(last["date"]),
        customer_rows=tuple(r["id"] for r in rows),
    )


def _decision(row: sqlite3.Row) -> dict:
    return {"categories": json.loads(row["categories"] or "[]"), "frustration": row["frustration"] or 0.0,
            "frustrated": bool(row["frustrated"]), "priority": row["priority"],
            "reasons": json.loads(row["reasons"] or "[]")}


def combine(decided: list[dict]) -> tuple[int, list[str]]:
    """The priority and reasons of a wait of several customer messages (stored
    decisions, oldest first): the most urgent priority; the latest message's reasons,
    then the others' not said yet, most urgent first. Of reasons that differ only in
    their numbers ("2nd message without a reply", "3rd …") the latest is kept.
    With no decision stored (mail recorded before decisions were): 3, "needs a reply"."""
    if not decided:
        return 3, [NEEDS_REPLY]
    latest, *others = reversed(decided)
    others.sort(key=lambda d: d["priority"])
    reasons: list[str] = []
    seen: set[str] = set()
    for decision in (latest, *others):
        for reason in decision["reasons"]:
            kind = _NUMBERS.sub("#", reason)
            if kind not in seen:
                seen.add(kind)
                reasons.append(reason)
    if len(reasons) > 1 and NEEDS_REPLY in reasons:  # the fallback of a message with no other reason
        reasons.remove(NEEDS_REPLY)
    return min(d["priority"] for d in decided), reasons
