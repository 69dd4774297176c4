"""Service levels: how long a customer may wait for the team's reply, and what a wait
past it changes.

Every priority has a reply target in hours (``[sla]`` in the config; 0 means none). The
clock starts at the customer's oldest unanswered message of the conversation. Lateness is
its own dimension: a conversation waiting longer than its target (plus the grace) is
*overdue* — it gets the ``overdue`` label, a column of its own, and it comes first among
conversations of its priority — but age alone does not make a question an emergency:

- a conversation's priority is earned by what it says and its history (:mod:`triage.priority`);
- age lifts it at most one level, and only from P2 to P1: once it is
  ``escalate_after_targets`` reply targets late (default 5: a refund request with a 24 h
  target becomes P1 after six days). A P3 question stays P3 however old it is: it never
  outranks a frustrated customer or a money dispute; it shows as overdue instead;
- only waits that began while triage was watching are lifted. The backlog a first run
  finds (waits that began before :meth:`~triage.history.History.watch_started`) keeps the
  priority of its content: importing a year of old mail must not turn it all into P1.

The target is that of the priority decided from the mail (stored in history), never of
a priority this module raised, so re-evaluating is idempotent: the same wait always gives
the same answer. Pure: no I/O, no clock.
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
    """Reply targets in hours per priority (0 or missing: no target), the grace beyond
    the target before a conversation counts as overdue, and how many targets late a P2
    conversation becomes P1 (0: never)."""

    targets: Mapping[int, float] = field(default_factory=lambda: MappingProxyType(dict(_DEFAULT_TARGETS)))
    grace_hours: float = 0.0
    escalate_after_targets: float = 5.0

    @classmethod
    def from_config(cls, sla) -> Policy:
        """The policy of a config's ``[sla]`` section (:class:`triage.config.SlaConfig`)."""
        targets = {p: getattr(sla, f"priority_{p}_hours") for p in _DEFAULT_TARGETS}
        return cls(MappingProxyType(targets), sla.overdue_grace_hours, sla.escalate_after_targets)

    def target(self, priority: int) -> float | None:
        """The reply target of ``priority`` in hours, or None when it has none."""
        hours = self.targets.get(priority, 0.0)
        return hours if hours > 0 else None


@dataclass(frozen=True)
class Standing:
    """Where a waiting conversation stands now."""

    priority: int
    """The current priority: the decided one, lifted to 1 when long overdue (module docstring)."""
    overdue: bool
    target_hours: float | None
    """The reply target of the decided priority (None: no target)."""
    overdue_hours: float
    """How far past the target it has waited; negative while within it (time left);
    0 when there is no target."""
    reasons: list[str]
    due_hours: float | None = None
    """Hours into the wait when this standing changes next by age alone (it becomes
    overdue, or is lifted), or None when age will change nothing more."""


def assess(priority: int, reasons: list[str], waiting_hours: float | None, policy: Policy,
           backlog: bool = False) -> Standing:
    """Age a decision (``priority`` and ``reasons`` as decided from the mail) by the
    current wait: see the module docstring. ``backlog``: the wait began before triage
    watched, and is never lifted. The reasons get an up-to-date "overdue by 2 days
    (target 24 h)" first, or "waiting 2 days" for a wait of a day or more within its
    target; stale ones of either kind, stored with the decision, are dropped."""
    kept = [r for r in reasons if not _AGE_REASON.match(r)]
    target = policy.target(priority)
    if waiting_hours is None:
        return Standing(priority, False, target, 0.0, kept)
    if target is None:
        age = [describe_wait(waiting_hours)] if waiting_hours >= 24 else []
        return Standing(priority, False, None, 0.0, [*age, *kept])
    late = round(waiting_hours - target, 1)
    if waiting_hours <= target + policy.grace_hours:
        age = [describe_wait(waiting_hours)] if waiting_hours >= 24 else []
        return Standing(priority, False, target, late, [*age, *kept], target + policy.grace_hours)
    reason = f"overdue by {describe_duration(waiting_hours - target)} (target {target:g} h)"
    lift_at = target * (1 + policy.escalate_after_targets)
    liftable = priority == 2 and policy.escalate_after_targets > 0 and not backlog
    if liftable and waiting_hours >= lift_at:
        return Standing(1, True, target, late, [reason, *kept])
    return Standing(priority, True, target, late, [reason, *kept], lift_at if liftable else None)


def describe_duration(hours: float) -> str:
    """'40 minutes', '5 hours', '2 days': a span as a person would round it (whole
    hours below two days, whole days above, like :func:`~triage.priority.describe_wait`)."""
    if hours < 1:
        minutes = max(int(hours * 60), 1)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    if hours < 48:
        return f"{int(hours)} hour{'s' if int(hours) != 1 else ''}"
    return f"{int(hours // 24)} days"
