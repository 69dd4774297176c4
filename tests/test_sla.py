"""triage.sla: reply targets, overdue, and the one lift age may give (P2 to P1, when
long overdue and not part of a first run's backlog)."""

import pytest

from triage.config import SlaConfig, config_from_dict
from triage.sla import Policy, assess, describe_duration

DEFAULT = Policy()


def test_defaults_are_the_documented_ones():
    assert [DEFAULT.target(p) for p in (1, 2, 3, 4)] == [4.0, 24.0, 72.0, None]
    configured = Policy.from_config(SlaConfig())
    assert dict(configured.targets) == dict(DEFAULT.targets) and configured.grace_hours == DEFAULT.grace_hours == 0
    assert configured.escalate_after_targets == DEFAULT.escalate_after_targets == 5


def test_within_the_target_nothing_changes_but_the_wait_is_told():
    standing = assess(2, ["asks for a refund"], 23.9, DEFAULT)
    assert (standing.priority, standing.overdue, standing.overdue_hours) == (2, False, -0.1)
    assert standing.due_hours == 24.0  # when it becomes overdue
    assert standing.reasons == ["asks for a refund"]
    standing = assess(3, ["needs a reply"], 50, DEFAULT)
    assert standing.priority == 3 and standing.reasons == ["waiting 2 days", "needs a reply"]


def test_exactly_at_the_target_is_not_yet_overdue():
    assert not assess(2, [], 24.0, DEFAULT).overdue
    assert assess(2, [], 24.1, DEFAULT).overdue


@pytest.mark.parametrize("priority, hours, expected", [
    (3, 71, 3), (3, 73, 3), (3, 1000, 3),          # a question never becomes urgent by age alone
    (2, 25, 2), (2, 143, 2), (2, 144, 1), (2, 1000, 1),  # a P2 wait five targets late (6 days) is lifted to P1
    (1, 5, 1), (1, 500, 1),
])
def test_age_lifts_only_a_p2_wait_and_only_when_long_overdue(priority, hours, expected):
    standing = assess(priority, [], hours, DEFAULT)
    assert standing.priority == expected
    assert standing.overdue == (hours > DEFAULT.target(priority))


def test_the_backlog_a_first_run_finds_is_never_lifted():
    assert assess(2, [], 1000, DEFAULT, backlog=True).priority == 2
    assert assess(2, [], 1000, DEFAULT, backlog=True).overdue


def test_the_next_deadline_is_when_age_changes_the_standing():
    assert assess(2, [], 30, DEFAULT).due_hours == 144.0       # the lift to P1
    assert assess(2, [], 30, DEFAULT, backlog=True).due_hours is None
    assert assess(3, [], 80, DEFAULT).due_hours is None        # overdue already; nothing more changes
    assert assess(2, [], 150, DEFAULT).due_hours is None


def test_overdue_reason_says_by_how_much_and_against_which_target():
    standing = assess(2, ["asks for a refund", "waiting 1 days", "overdue by 3 hours (target 24 h)"], 72, DEFAULT)
    assert standing.overdue and standing.priority == 2 and standing.target_hours == 24.0
    assert standing.reasons == ["overdue by 2 days (target 24 h)", "asks for a refund"]
    assert standing.overdue_hours == 48.0


def test_no_target_means_never_overdue():
    standing = assess(4, [], 10_000, DEFAULT)
    assert (standing.priority, standing.overdue, standing.target_hours, standing.due_hours) == (4, False, None, None)


def test_nobody_waiting_is_never_overdue():
    standing = assess(2, ["waiting 3 days", "asks for a refund"], None, DEFAULT)
    assert (standing.priority, standing.overdue, standing.reasons) == (2, False, ["asks for a refund"])


def test_grace_delays_overdue_but_lateness_counts_from_the_target():
    policy = Policy.from_config(config_from_dict({"sla": {"overdue_grace_hours": 12}}).sla)
    assert not assess(2, [], 35, policy).overdue
    standing = assess(2, [], 37, policy)
    assert standing.overdue and standing.reasons[0] == "overdue by 13 hours (target 24 h)"


def test_assessing_twice_gives_the_same_answer():
    """The stored priority is never the aged one, so re-evaluation cannot compound."""
    first = assess(3, ["needs a reply"], 100, DEFAULT)
    assert assess(3, first.reasons, 100, DEFAULT) == first


def test_configured_targets_are_used_and_zero_switches_one_off():
    policy = Policy.from_config(config_from_dict({"sla": {"priority_3_hours": 8, "priority_2_hours": 0}}).sla)
    assert assess(3, [], 9, policy).overdue and assess(3, [], 9, policy).priority == 3
    assert not assess(2, [], 10_000, policy).overdue


def test_escalation_can_be_switched_off_or_brought_forward():
    never = Policy.from_config(config_from_dict({"sla": {"escalate_after_targets": 0}}).sla)
    assert assess(2, [], 10_000, never).priority == 2
    soon = Policy.from_config(config_from_dict({"sla": {"escalate_after_targets": 1}}).sla)
    assert assess(2, [], 47, soon).priority == 2 and assess(2, [], 48, soon).priority == 1


def test_negative_targets_are_a_config_error():
    from triage.errors import ConfigError

    with pytest.raises(ConfigError, match="sla.priority_1_hours"):
        config_from_dict({"sla": {"priority_1_hours": -1}})


@pytest.mark.parametrize("hours, text", [(0.2, "12 minutes"), (1, "1 hour"), (47.9, "47 hours"), (49, "2 days")])
def test_describe_duration(hours, text):
    assert describe_duration(hours) == text
