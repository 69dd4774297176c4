"""triage.sla: reply targets, overdue, and priorities that rise with the wait."""

import pytest

from triage.config import SlaConfig, config_from_dict
from triage.sla import Policy, assess, describe_duration

DEFAULT = Policy()


def test_defaults_are_the_documented_ones():
    assert [DEFAULT.target(p) for p in (1, 2, 3, 4)] == [4.0, 24.0, 72.0, None]
    configured = Policy.from_config(SlaConfig())
    assert dict(configured.targets) == dict(DEFAULT.targets) and configured.grace_hours == DEFAULT.grace_hours == 0


def test_within_the_target_nothing_changes_but_the_wait_is_told():
    standing = assess(2, ["asks for a refund"], 23.9, DEFAULT)
    assert (standing.priority, standing.overdue, standing.overdue_hours) == (2, False, 0.0)
    assert standing.reasons == ["asks for a refund"]
    standing = assess(3, ["needs a reply"], 50, DEFAULT)
    assert standing.priority == 3 and standing.reasons == ["waiting 2 days", "needs a reply"]


def test_exactly_at_the_target_is_not_yet_overdue():
    assert not assess(2, [], 24.0, DEFAULT).overdue
    assert assess(2, [], 24.1, DEFAULT).overdue


@pytest.mark.parametrize("priority, hours, expected", [
    (3, 71, 3), (3, 73, 2), (3, 143, 2), (3, 145, 1), (3, 1000, 1),
    (2, 25, 1), (1, 5, 1), (1, 500, 1),
])
def test_priority_rises_one_level_when_overdue_and_one_per_further_target_period(priority, hours, expected):
    assert assess(priority, [], hours, DEFAULT).priority == expected


def test_overdue_reason_says_by_how_much_and_against_which_target():
    standing = assess(2, ["asks for a refund", "waiting 1 days", "overdue by 3 hours (target 24 h)"], 72, DEFAULT)
    assert standing.overdue and standing.priority == 1 and standing.target_hours == 24.0
    assert standing.reasons == ["overdue by 2 days (target 24 h)", "asks for a refund"]
    assert standing.overdue_hours == 48.0


def test_no_target_means_never_overdue():
    standing = assess(4, [], 10_000, DEFAULT)
    assert (standing.priority, standing.overdue, standing.target_hours) == (4, False, None)


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
    assert assess(3, [], 9, policy).overdue and assess(3, [], 9, policy).priority == 2
    assert not assess(2, [], 10_000, policy).overdue


def test_negative_targets_are_a_config_error():
    from triage.errors import ConfigError

    with pytest.raises(ConfigError, match="sla.priority_1_hours"):
        config_from_dict({"sla": {"priority_1_hours": -1}})


@pytest.mark.parametrize("hours, text", [(0.2, "12 minutes"), (1, "1 hour"), (47.9, "47 hours"), (49, "2 days")])
def test_describe_duration(hours, text):
    assert describe_duration(hours) == text
