"""Who is waiting, now: every conversation whose last word is the customer's, with its
stored decisions combined and aged by the service levels, most urgent first.

The report prints this list and the sweep makes the labels on the server agree with it,
so both always say the same thing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from triage import CATEGORIES, OTHER
from triage.history import History, Waiting
from triage.priority import NEEDS_REPLY
from triage.sla import Policy, assess

_NUMBERS = re.compile(r"\d+(\.\d+)?(st|nd|rd|th)?")


@dataclass
class Conversation:
    """One waiting conversation as the report shows it and the sweep labels it."""

    thread_id: str
    customer: str
    subject: str
    categories: list[str]
    waiting_since: datetime
    waiting_hours: float
    repeat_count: int
    frustrated: bool
    frustration: float
    priority: int
    """Current priority: the most urgent decision of the wait, aged (:func:`triage.sla.assess`)."""
    overdue: bool
    target_hours: float | None
    reasons: list[str]
    last: Waiting
    """The history row: the customer's latest waiting message, its place and labels."""

    def to_json(self) -> dict:
        """The ``triage report --format json`` contract of DESIGN.md (plus ``frustration``,
        ``overdue`` and ``target_hours``)."""
        return {
            "thread_id": self.thread_id,
            "customer": self.customer,
            "subject": self.subject,
            "categories": self.categories,
            "waiting_since": self.waiting_since.isoformat(),
            "waiting_hours": self.waiting_hours,
            "repeat_count": self.repeat_count,
            "frustrated": self.frustrated,
            "frustration": self.frustration,
            "priority": self.priority,
            "overdue": self.overdue,
            "target_hours": self.target_hours,
            "reasons": self.reasons,
            "last_message_id": self.last.last_message_id,
        }


def urgency_key(conversation: Conversation) -> tuple:
    """Most urgent first: priority, then longest wait, then most frustrated."""
    return (conversation.priority, -conversation.waiting_hours, -conversation.frustration, conversation.thread_id)


def waiting_conversations(history: History, now: datetime, policy: Policy) -> list[Conversation]:
    """Every waiting conversation, evaluated for ``now``, most urgent first."""
    conversations = [_evaluate(history, waiting, now, policy) for waiting in history.waiting()]
    return sorted(conversations, key=urgency_key)


def _evaluate(history: History, waiting: Waiting, now: datetime, policy: Policy) -> Conversation:
    decided = history.decisions_since(waiting.thread_id, waiting.waiting_since)
    hours = round(max((now - waiting.waiting_since).total_seconds() / 3600, 0.0), 1)
    priority, reasons = combine(decided)
    standing = assess(priority, reasons, hours, policy)
    return Conversation(
        thread_id=waiting.thread_id,
        customer=waiting.customer,
        subject=waiting.subject,
        categories=[c for c in CATEGORIES if any(c in d["categories"] for d in decided)] or [OTHER],
        waiting_since=waiting.waiting_since,
        waiting_hours=hours,
        repeat_count=history.unanswered_count(waiting.customer, now),
        frustrated=any(d["frustrated"] for d in decided),
        frustration=max((d["frustration"] for d in decided), default=0.0),
        priority=standing.priority,
        overdue=standing.overdue,
        target_hours=standing.target_hours,
        reasons=standing.reasons,
        last=waiting,
    )


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
