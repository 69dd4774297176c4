"""The labels triage writes for a decision: a small, stable set (categories, frustrated,
priority, overdue, unreadable), each carrying the configured prefix so they are easy to
find and never clash with the team's own labels.

Category labels describe a message and stay. The waiting labels describe a wait and sit
on one message only: the customer's latest message of a waiting conversation carries
the conversation's priority (and ``overdue``, ``frustrated``); earlier messages of the
wait and answered ones carry their categories only. Mail that asks nothing of the team
(machine-sent, thank-yous, pitches) carries ``priority-4``; mail triage could not read
carries ``unreadable``.
"""

from __future__ import annotations

from triage import CATEGORIES

UNREADABLE = "unreadable"
"""The label of a message triage could not read: a person should look at it."""

WAITING_LABELS = ("frustrated", "priority-1", "priority-2", "priority-3", "overdue")
"""Labels that describe a wait rather than the message: the sweep moves them to the
latest waiting message and takes them off once the conversation is answered."""

NO_ACTION = "priority-4"
"""The label of mail that asks nothing of the team; it never changes."""

PRIORITY_LABELS = ("priority-1", "priority-2", "priority-3", NO_ACTION)
"""The priority labels, most urgent first: a message carries one."""


def label_names(prefix: str) -> list[str]:
    """Every label triage may write, prefixed: the whole vocabulary on the server."""
    return [prefix + name for name in (*CATEGORIES, *WAITING_LABELS, NO_ACTION, UNREADABLE)]


def category_labels(categories: list[str], prefix: str) -> list[str]:
    """The category labels of a message (``other`` has none)."""
    return [prefix + c for c in categories if c in CATEGORIES]


def waiting_labels(priority: int, frustrated: bool, overdue: bool, prefix: str) -> list[str]:
    """The labels a waiting conversation puts on its latest message."""
    labels = [f"{prefix}priority-{priority}"]
    if frustrated:
        labels.append(prefix + "frustrated")
    if overdue:
        labels.append(prefix + "overdue")
    return labels


def labels_for(categories: list[str], frustrated: bool, priority: int, prefix: str, overdue: bool = False,
               answered: bool = False) -> list[str]:
    """The labels one message carries: its categories, and — unless ``answered`` (the
    team replied after it) — the waiting labels of ``priority``."""
    labels = category_labels(categories, prefix)
    if answered:
        return labels
    return labels + waiting_labels(priority, frustrated, overdue, prefix)
