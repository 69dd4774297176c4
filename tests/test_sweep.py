"""The sweep: the labels of waiting conversations follow their age; answered ones lose
the waiting labels and keep their categories; only real changes come out."""

import io
from datetime import datetime, timedelta, timezone

import pytest

from tests.test_engine import CALM, TEAM, KeywordModel, customer, team
from triage.engine import Engine, Settings
from triage.history import History
from triage.message import RawMail
from triage.sla import Policy
from triage.sweep import SweepChange, labels_after, sweep_changes, write_sweep

T0 = datetime(2026, 3, 16, 9, 30, tzinfo=timezone.utc)
MON = "Mon, 16 Mar 2026 09:00:00 +0000"
P = "triage/"


@pytest.fixture
def history(tmp_path):
    with History(tmp_path / "state.db") as history:
        yield history


def decide(history, *raws, now=T0):
    """Triage ``raws`` as mail of INBOX; UIDs from the number in their key ("c1" -> 1, "t1" -> 101)."""
    engine = Engine(KeywordModel(), CALM, history, Settings(support_addresses=frozenset({TEAM})), now=now)
    uid = {"c": 0, "t": 100}
    return engine.decide([RawMail(r.raw, "INBOX", r.key, uid=uid[r.key[0]] + int(r.key[1:])) for r in raws])


def sweep(history, now, policy=Policy()):
    return sweep_changes(history, now, policy, P)


def apply(history, changes):
    """What apply_sweep records once the server has the labels."""
    for change in changes:
        history.set_labels(change.row, labels_after(history.labels_of(change.row), change))


def row_of(history, message_id):
    """The row of the (one) message of this Message-ID."""
    [row] = history.db.execute("SELECT id FROM messages WHERE message_id = ?", (message_id,)).fetchall()
    return row[0]


def labels_of(history, message_id):
    """The labels recorded on the (one) message of this Message-ID."""
    return history.labels_of(row_of(history, message_id))


def test_labels_written_at_triage_time_need_no_sweep(history):
    decide(history, customer(1, "I want a refund", MON))
    assert sweep(history, T0) == []


def test_past_its_target_the_latest_message_gets_overdue_and_its_new_priority(history):
    decide(history, customer(1, "I want a refund", MON))  # P2: target 24 h
    assert sweep(history, T0 + timedelta(hours=20)) == []
    [change] = sweep(history, T0 + timedelta(hours=25))
    assert change == SweepChange("INBOX", 1, "<c1@example.org>", frozenset({P + "overdue", P + "priority-1"}),
                                 frozenset({P + "priority-2"}), change.row)
    apply(history, [change])
    assert labels_of(history, "<c1@example.org>") == (P + "overdue", P + "priority-1", P + "refund")
    assert sweep(history, T0 + timedelta(hours=26)) == []  # nothing twice


def test_a_changed_policy_takes_overdue_off_again(history):
    decide(history, customer(1, "I want a refund", MON))
    apply(history, sweep(history, T0 + timedelta(hours=30)))
    relaxed = Policy({1: 4.0, 2: 48.0, 3: 72.0})
    [change] = sweep(history, T0 + timedelta(hours=30), relaxed)
    assert change.add == {P + "priority-2"} and change.remove == {P + "overdue", P + "priority-1"}


def test_the_latest_message_carries_the_conversation_s_priority(history):
    # A chargeback threat (P1), then a "hello?" (P2 on its own: a 2nd message) in the same conversation.
    decide(history, customer(1, "Refund me or I file a chargeback", MON),
           customer(2, "hello?", "Mon, 16 Mar 2026 09:10:00 +0000", subject="Re: Lamp"))
    [change] = sweep(history, T0)
    assert (change.message_id, change.add, change.remove) == ("<c2@example.org>", {P + "priority-1"}, {P + "priority-2"})


def test_answered_conversations_lose_waiting_labels_and_keep_categories(history):
    frustrated = customer(1, "I want a refund", MON)
    decide(history, frustrated)
    history.set_labels(row_of(history, "<c1@example.org>"), [P + "refund", P + "frustrated", P + "priority-1", P + "overdue", "other"])
    decide(history, team(1, "refunded", "Mon, 16 Mar 2026 11:00:00 +0000", in_reply_to="<c1@example.org>"))
    [change] = sweep(history, T0 + timedelta(days=3))
    assert change.remove == {P + "frustrated", P + "priority-1", P + "overdue"} and change.add == frozenset()
    apply(history, [change])
    assert labels_of(history, "<c1@example.org>") == ("other", P + "refund")
    assert sweep(history, T0 + timedelta(days=3)) == []


def test_automated_mail_after_an_answer_keeps_its_labels(history):
    decide(history, customer(1, "I want a refund", MON),
           team(1, "refunded", "Mon, 16 Mar 2026 11:00:00 +0000", in_reply_to="<c1@example.org>"))
    apply(history, sweep(history, T0))
    ooo = RawMail(customer(2, "I am away", "Mon, 16 Mar 2026 12:00:00 +0000", subject="Automatic reply: Lamp",
                           extra="Auto-Submitted: auto-replied").raw, "INBOX", "ooo", uid=9)
    Engine(KeywordModel(), CALM, history, Settings(support_addresses=frozenset({TEAM})), now=T0).decide([ooo])
    assert sweep(history, T0 + timedelta(days=5)) == []


def test_local_mail_has_no_uid_and_the_changes_print_one_line_each(history):
    Engine(KeywordModel(), CALM, history, Settings(), now=T0).decide([customer(1, "I want a refund", MON)])
    changes = sweep(history, T0 + timedelta(days=2))
    assert [c.uid for c in changes] == [None] and changes[0].mailbox == "test"
    out = io.StringIO()
    write_sweep(changes, out)
    assert out.getvalue() == ("sweep: 1 message to relabel\n"
                              "  <c1@example.org> (test): +triage/overdue +triage/priority-1 -triage/priority-2\n")
    write_sweep([], out)
    assert out.getvalue().count("sweep:") == 1
