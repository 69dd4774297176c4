"""The labels triage writes for a decision: a small, stable set (categories, frustrated,
priority), each carrying the configured prefix so they are easy to find and never clash
with the team's own labels."""

from __future__ import annotations

from triage import CATEGORIES

UNREADABLE = "unreadable"
"""The label of a message triage could not read: a person should look at it."""

WAITING_LABELS = ("frustrated", "priority-1", "priority-2", "priority-3", "priority-4", "overdue")
"""Labels that describe the wait rather than the message: they come off once answered."""


def label_names(prefix: str) -> list[str]:
    """Every label triage may write, prefixed: the whole vocabulary on the server."""
    return [prefix + name for name in (*CATEGORIES, *WAITING_LABELS, UNREADABLE)]


def labels_for(categories: list[str], frustrated: bool, priority: int, prefix: str, overdue: bool = False,
               answered: bool = False) -> list[str]:
    """The labels one triaged message should carry (``overdue``: past its reply target).

    A message the team has already answered (``answered``) carries its categories only:
    the waiting labels would come off at the next sweep anyway (:mod:`triage.sweep`).
    """
    labels = [prefix + c for c in categories if c in CATEGORIES]
    if answered:
        return labels
    if frustrated:
        labels.append(prefix + "frustrated")
    labels.append(f"{prefix}priority-{priority}")
    if overdue:
        labels.append(prefix + "overdue")
    return labels
