"""Service levels: how long a customer may wait for the team's reply, and what happens
when they wait longer.

Every priority has a reply target in hours (``[sla]`` in the config; 0 means none). The
clock starts at the customer's oldest unanswered message of the conversation. A
conversation is *overdue* once it has waited longer than its target plus the grace; its
priority then rises one level, and one more for each further full target period it
waits, never above 1. With the defaults a P3 (target 72 h) becomes P2 after three days
and P1 after six; a P2 (24 h) becomes P1 after a day; a P1 (4 h) stays P1 but is marked
overdue; a P4 has no target and never ages.

The target is that of the priority decided when the mail came in (stored in history),
never of a priority this module raised, so re-evaluating is idempotent: the same wait
always gives the same answer. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from triage.priority import describe_wait

_DEFAULT_TARGETS = {1: 4.0, 2: 24.0, 3: 72.0, 4: 0.0}
_AGE_REASON = re.compile(r"^(waiting|overdue) ")
"""Reasons that describe the wait: recomputed at every evaluation, never carried over."""


@dataclass(frozen=True)
class Policy:
    """Reply targets in hours per priority (0 or missing: no target) and the grace
    beyond the target before a conversation counts as overdue."""

    targets: Mapping[int, float] = field(default_factory=lambda: MappingProxyType(dict(_DEFAULT_TARGETS)))
    grace_hours: float = 0.0

    @classmethod
    def from_config(cls, sla) -> Policy:
        """The policy of a config's ``[sla]`` section (:class:`triage.config.SlaConfig`)."""
        targets = {p: getattr(sla, f"priority_{p}_hours") for p in _DEFAULT_TARGETS}
        return cls(MappingProxyType(targets), sla.overdue_grace_hours)

    def target(self, priority: int) -> float | None:
        """The reply target of ``priority`` in hours, or None when it has none."""
        hours = self.targets.get(priority, 0.0)
        return hours if hours > 0 else None


@dataclass(frozen=True)
class Standing:
    """Where a waiting conversation stands now."""

    priority: int
    """The current priority: the decided one, raised if overdue."""
    overdue: bool
    target_hours: float | None
    """The reply target of the decided priority (None: no target)."""
    overdue_hours: float
    """How long past the target it has waited (0 when within it)."""
    reasons: list[str]


def assess(priority: int, reasons: list[str], waiting_hours: float | None, policy: Policy) -> Standing:
    """Age a stored decision (``priority`` and ``reasons`` as decided from the mail) by
    the current wait: see the module docstring. The reasons get an up-to-date
    "overdue by 2 days (target 24 h)" first, or "waiting 2 days" for a wait of a day or
    more within its target; stale ones of either kind, stored with the decision, are
    dropped."""
    kept = [r for r in reasons if not _AGE_REASON.match(r)]
    target = policy.target(priority)
    if waiting_hours is None:
        return Standing(priority, False, target, 0.0, kept)
    age = [describe_wait(waiting_hours)] if waiting_hours >= 24 else []
    if target is None or waiting_hours <= target + policy.grace_hours:
        return Standing(priority, False, target, 0.0, [*age, *kept])
    late = waiting_hours - target
    levels = 1 + int((waiting_hours - target - policy.grace_hours) // target)
    reason = f"overdue by {describe_duration(late)} (target {target:g} h)"
    return Standing(max(1, priority - levels), True, target, round(late, 1), [reason, *kept])


def describe_duration(hours: float) -> str:
    """'40 minutes', '5 hours', '2 days': a span as a person would round it (whole
    hours below two days, whole days above, like :func:`~triage.priority.describe_wait`)."""
    if hours < 1:
        minutes = max(int(hours * 60), 1)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    if hours < 48:
        return f"{int(hours)} hour{'s' if int(hours) != 1 else ''}"
    return f"{int(hours // 24)} days"
