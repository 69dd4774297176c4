"""The sweep: the waiting labels follow the conversation — on its latest waiting message,
aged by its wait, off once answered — category labels stay, only real changes come out,
and only conversations where something happened or a deadline came are looked at."""

from datetime import datetime, timedelta, timezone

import pytest

from tests.helpers import eml, raw
from tests.test_engine import CALM, TEAM, KeywordModel, customer, team
from triage.engine import Engine, Settings
from triage.history import History
from triage.message import RawMail
from triage.sla import Policy
from triage.sweep import labels_after, record_sweep, sweep_changes

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
    changes = sweep_changes(history, now, policy, P)
    record_sweep(history, changes)  # what apply_sweep records once the server has them
    return changes


def _flat(chunks):
    return [thread_id for chunk in chunks for thread_id in chunk]


def labels_of(history, message_id):
    [row] = history.db.execute("SELECT labels FROM messages WHERE message_id = ?", (message_id,)).fetchall()
    return tuple(sorted(__import__("json").loads(row[0])))


def test_labels_written_at_triage_time_need_no_sweep(history):
    [d] = decide(history, customer(1, "I want a refund", MON))
    assert d.labels == [P + "refund", P + "priority-2"]
    assert sweep(history, T0) == []


def test_past_its_target_the_latest_message_is_overdue_and_after_five_targets_p1(history):
    decide(history, customer(1, "I want a refund", MON))  # P2: target 24 h
    assert sweep(history, T0 + timedelta(hours=20)) == []
    [change] = sweep(history, T0 + timedelta(hours=25))
    assert (change.uid, change.add, change.remove) == (1, {P + "overdue"}, frozenset())
    assert sweep(history, T0 + timedelta(hours=26)) == []  # nothing twice
    [change] = sweep(history, T0 + timedelta(days=6, hours=1))
    assert (change.add, change.remove) == ({P + "priority-1"}, {P + "priority-2"})
    assert labels_of(history, "<c1@example.org>") == (P + "overdue", P + "priority-1", P + "refund")


def test_a_question_is_overdue_but_never_lifted_by_age(history):
    decide(history, customer(1, "what colour are the cushions?", MON))
    [change] = sweep(history, T0 + timedelta(days=4))
    assert (change.add, change.remove) == ({P + "overdue"}, frozenset())
    assert sweep(history, T0 + timedelta(days=40)) == []


def test_only_conversations_where_something_happened_or_a_deadline_came_are_looked_at(history):
    decide(history, customer(1, "I want a refund", MON))
    assert _flat(history.threads_to_sweep(T0)) == []  # its one message was labelled as a sweep would
    assert _flat(history.threads_to_sweep(T0 + timedelta(hours=23))) == []
    assert _flat(history.threads_to_sweep(T0 + timedelta(hours=25))) == ["<c1@example.org>"]  # its target
    decide(history, customer(2, "cushions?", MON, subject="Cushions"))
    assert _flat(history.threads_to_sweep(T0)) == []
    decide(history, customer(3, "still waiting for the cushions?", MON, subject="Re: Cushions",
                             in_reply_to="<c2@example.org>"))
    # c2 hands its labels on to c3; Ana's third message without a reply would rank her
    # claims to P1 higher, but c1 claims none: nothing of its standing moved
    assert _flat(history.threads_to_sweep(T0)) == ["<c2@example.org>"]


def test_a_third_message_without_a_reply_has_the_customers_p1_claims_looked_at_again(history):
    def claim_of_c1():
        return history.db.execute("SELECT claim FROM threads WHERE thread_id = '<c1@example.org>'").fetchone()[0]

    later = T0 + timedelta(days=6, hours=1)
    decide(history, customer(1, "I want a refund", MON))
    sweep(history, later)  # P1 now, by its wait
    claim = claim_of_c1()
    assert claim is not None
    decide(history, customer(2, "cushions?", MON, subject="Cushions"), now=later)
    decide(history, customer(3, "still waiting for the cushions?", MON, subject="Re: Cushions",
                             in_reply_to="<c2@example.org>"), now=later)
    assert "<c1@example.org>" in _flat(history.threads_to_sweep(later))
    sweep(history, later)
    assert claim_of_c1() > claim  # a third message without a reply ranks above a long wait
    assert _flat(history.threads_to_sweep(later)) == []
    decide(history, customer(4, "hello??", MON, subject="Re: Cushions", in_reply_to="<c3@example.org>"), now=later)
    assert "<c1@example.org>" not in _flat(history.threads_to_sweep(later))  # a fourth lifts it no further


def test_a_threat_ranks_first_however_often_its_customer_wrote(history):
    decide(history, customer(1, "Refund me or I file a chargeback", MON))  # P1: a threat
    decide(history, customer(2, "cushions?", MON, subject="Cushions"))
    decide(history, customer(3, "still waiting for the cushions?", MON, subject="Re: Cushions",
                             in_reply_to="<c2@example.org>"))
    assert "<c1@example.org>" not in _flat(history.threads_to_sweep(T0))
    claim = history.db.execute("SELECT claim FROM threads WHERE thread_id = '<c1@example.org>'").fetchone()[0]
    everything = sweep_changes(history, T0, Policy(), P, threads=_flat(history.threads_to_sweep(T0, every=True)))
    assert [c.uid for c in everything] == [2]  # c2 hands its labels on to c3; nothing of c1's moves
    assert history.db.execute("SELECT claim FROM threads WHERE thread_id = '<c1@example.org>'").fetchone()[0] == claim


def test_mail_that_asks_nothing_makes_no_conversation_due(history):
    decide(history, customer(1, "I want a refund", MON))
    thanks, bounce = decide(
        history, customer(2, "Thank you so much!", MON, subject="Re: Lamp", in_reply_to="<c1@example.org>"),
        raw(eml(sender="MAILER-DAEMON@mx.example.net", subject="Undelivered Mail Returned to Sender",
                body="This is the mail system. Your message could not be delivered.", date=MON,
                message_id="<c3@example.org>", extra="Auto-Submitted: auto-replied"), key="c3"))
    assert (thanks.priority, bounce.priority) == (4, 4)
    assert _flat(history.threads_to_sweep(T0)) == []
    assert sweep_changes(history, T0, Policy(), P, threads=_flat(history.threads_to_sweep(T0, every=True))) == []


def test_the_sweep_after_a_first_run_looks_only_at_what_a_batch_could_not_settle(history):
    """A batch labels its conversations as the sweep would, so the sweep after a first run
    looks again only at conversations with mail from an earlier batch, and at those the
    P1 share moved — and finds exactly the changes a sweep of everything finds."""
    def writes(n, sender, body, subject, **kw):
        return raw(eml(sender=sender, subject=subject, body=body, date=MON, message_id=f"<c{n}@example.org>", **kw),
                   key=f"c{n}")

    decide(history, writes(1, "ana@example.org", "I want a refund", "Lamp"),
           writes(2, "bo@example.org", "cushions?", "Cushions"))
    decide(history, writes(3, "ana@example.org", "where is my refund??", "Re: Lamp", in_reply_to="<c1@example.org>"),
           writes(4, "cy@example.org", "I want a refund", "Order 4"))
    assert _flat(history.threads_to_sweep(T0)) == ["<c1@example.org>"]
    [change] = sweep(history, T0)
    assert change.uid == 1 and not change.add and P + "priority-2" in change.remove
    assert sweep_changes(history, T0, Policy(), P, threads=_flat(history.threads_to_sweep(T0, every=True))) == []


def test_conversations_to_sweep_come_in_chunks_and_marking_them_swept_meanwhile_skips_none(history):
    decide(history, *(customer(n, f"question number {n}?", MON, subject=f"Question {n}") for n in range(1, 6)))
    history.db.execute("UPDATE threads SET dirty = 1")  # (as after mail in each)
    seen = []
    for chunk in history.threads_to_sweep(T0, size=2):
        assert len(chunk) <= 2
        seen += chunk
        for thread_id in chunk:
            history.mark_swept(thread_id, None)  # what the sweep does between chunks
    assert sorted(seen) == sorted(f"<c{n}@example.org>" for n in range(1, 6))
    assert _flat(history.threads_to_sweep(T0)) == []


def test_a_sweep_over_more_conversations_than_a_chunk_sees_them_all(history, monkeypatch):
    monkeypatch.setattr("triage.sweep.STANDINGS_CHUNK", 2)
    monkeypatch.setattr("triage.waiting.STANDINGS_CHUNK", 2)
    decide(history, *(customer(n, "I want a refund", MON, subject=f"Order {n}") for n in range(1, 6)))
    changes = sweep(history, T0 + timedelta(hours=25))
    assert sorted(c.uid for c in changes) == [1, 2, 3, 4, 5]  # each overdue now
    assert all(c.add == {P + "overdue"} for c in changes)
    assert sweep(history, T0 + timedelta(hours=26)) == []


def test_a_changed_policy_is_applied_to_every_conversation(history):
    decide(history, customer(1, "I want a refund", MON))
    sweep(history, T0 + timedelta(hours=30))
    assert labels_of(history, "<c1@example.org>") == (P + "overdue", P + "priority-2", P + "refund")
    [change] = sweep(history, T0 + timedelta(hours=30), Policy({1: 4.0, 2: 48.0, 3: 72.0}))
    assert change.add == frozenset() and change.remove == {P + "overdue"}


def test_labels_swept_on_a_clock_a_year_ahead_are_taken_back_when_the_clock_is_right_again(history):
    """A clock that jumped a year ahead during a run (a VM's clock, NTP not synced yet)
    made every waiting conversation overdue, and a P2 wait P1, as it should on that
    clock; each was then swept until its next deadline, past the wrong clock. Set right,
    no deadline had come: the labels stayed wrong until something happened in the
    conversation. A sweep on a clock before the last one's looks at every conversation."""
    decide(history, customer(1, "I want a refund", MON))
    ahead = sweep(history, T0 + timedelta(days=365))
    assert {change.add for change in ahead} == {frozenset({P + "overdue", P + "priority-1"})}
    [back] = sweep(history, T0 + timedelta(hours=2))
    assert (back.add, back.remove) == ({P + "priority-2"}, {P + "overdue", P + "priority-1"})
    assert labels_of(history, "<c1@example.org>") == (P + "priority-2", P + "refund")
    assert sweep(history, T0 + timedelta(hours=3)) == []  # once: the clock is right again


def test_the_latest_message_carries_the_conversations_labels_the_earlier_ones_none(history):
    decide(history, customer(1, "Refund me or I file a chargeback", MON))
    [second] = decide(history, customer(2, "hello?", "Mon, 16 Mar 2026 09:10:00 +0000", subject="Re: Lamp"))
    assert second.priority == 1 and P + "priority-1" in second.labels  # the conversation's, not its own P2
    [change] = sweep(history, T0)
    assert (change.message_id, change.add, change.remove) == ("<c1@example.org>", frozenset(), {P + "priority-1"})
    assert labels_of(history, "<c1@example.org>") == (P + "refund",)


def test_answered_conversations_lose_waiting_labels_and_keep_categories(history):
    decide(history, customer(1, "I want a refund", MON))
    sweep(history, T0 + timedelta(days=2))
    decide(history, team(1, "refunded", "Tue, 17 Mar 2026 11:00:00 +0000", in_reply_to="<c1@example.org>"))
    [change] = sweep(history, T0 + timedelta(days=3))
    assert change.remove == {P + "overdue", P + "priority-2"} and change.add == frozenset()
    assert labels_of(history, "<c1@example.org>") == (P + "refund",)
    assert sweep(history, T0 + timedelta(days=3)) == []


def test_mail_that_asks_nothing_keeps_its_labels(history):
    decide(history, customer(1, "I want a refund", MON),
           team(1, "refunded", "Mon, 16 Mar 2026 11:00:00 +0000", in_reply_to="<c1@example.org>"))
    sweep(history, T0)
    ooo = RawMail(customer(2, "I am away", "Mon, 16 Mar 2026 12:00:00 +0000", subject="Automatic reply: Lamp",
                           extra="Auto-Submitted: auto-replied").raw, "INBOX", "ooo", uid=9)
    [d] = Engine(KeywordModel(), CALM, history, Settings(support_addresses=frozenset({TEAM})), now=T0).decide([ooo])
    assert d.labels == [P + "priority-4"]
    assert sweep(history, T0 + timedelta(days=5)) == []


def test_local_mail_has_no_uid(history):
    Engine(KeywordModel(), CALM, history, Settings(), now=T0).decide([customer(1, "I want a refund", MON)])
    [change] = sweep(history, T0 + timedelta(days=2))
    assert change.uid is None and change.mailbox == "test"


def test_labels_after():
    from triage.sweep import SweepChange

    change = SweepChange("INBOX", 1, "<a@x>", frozenset({"b"}), frozenset({"a"}), 1)
    assert labels_after(["a", "c"], change) == ["b", "c"]


def test_a_batch_moves_the_waiting_labels_off_earlier_mail_itself_and_says_what_to_store(history):
    """With a collector for what it moves, a batch takes the waiting labels off its
    conversations' earlier messages (on a server: the collector's, to store) and records
    them moved, so the sweep after a first run finds nothing left to do there."""
    engine = Engine(KeywordModel(), CALM, history, Settings(support_addresses=frozenset({TEAM})), now=T0)
    moved: list = []
    [first] = engine.decide([RawMail(customer(1, "I want a refund", MON).raw, "INBOX", "c1", uid=1)], moved=moved)
    assert first.labels == [P + "refund", P + "priority-2"] and moved == []
    [second] = engine.decide([RawMail(customer(2, "where is my refund??", "Mon, 16 Mar 2026 09:10:00 +0000",
                                              subject="Re: Lamp", in_reply_to="<c1@example.org>").raw,
                                      "INBOX", "c2", uid=2)], moved=moved)
    assert P + "priority-2" in second.labels
    assert [(m.uid, m.add, m.remove) for m in moved] == [(1, frozenset(), {P + "priority-2"})]
    assert labels_of(history, "<c1@example.org>") == (P + "refund",)
    assert _flat(history.threads_to_sweep(T0)) == []
    assert sweep_changes(history, T0, Policy(), P, threads=_flat(history.threads_to_sweep(T0, every=True))) == []


def test_without_a_collector_mail_on_a_server_is_left_to_the_sweep_and_local_mail_is_moved_at_once(history):
    decide(history, customer(1, "I want a refund", MON))
    decide(history, customer(2, "where is my refund??", MON, subject="Re: Lamp", in_reply_to="<c1@example.org>"))
    assert _flat(history.threads_to_sweep(T0)) == ["<c1@example.org>"]  # UIDs: nobody to store them

    engine = Engine(KeywordModel(), CALM, history, Settings(support_addresses=frozenset({TEAM})), now=T0)
    engine.decide([customer(3, "please cancel", MON, subject="Plan")])  # local mail: no UID
    engine.decide([customer(4, "hello?? cancel it", MON, subject="Re: Plan", in_reply_to="<c3@example.org>")])
    assert "<c3@example.org>" not in _flat(history.threads_to_sweep(T0))
    assert labels_of(history, "<c3@example.org>") == (P + "cancellation",)


def test_a_look_remembered_on_a_clock_in_the_future_does_not_put_off_the_next_ones(history):
    """The looks for mail moved out of the folder and the full re-reading of \\Answered
    are made at most every few minutes, by the time of the last one. Remembered on a
    clock in the future (``--now 2030``, a clock set wrong and then corrected), it put
    off every look until then: conversations a person filed kept waiting."""
    present = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
    assert history.due_for_full_refresh("INBOX\0departures", datetime(2030, 1, 1, tzinfo=timezone.utc), 300)
    assert history.due_for_full_refresh("INBOX\0departures", present, 300)
    assert not history.due_for_full_refresh("INBOX\0departures", present + timedelta(seconds=299), 300)
    assert history.due_for_full_refresh("INBOX\0departures", present + timedelta(seconds=300), 300)
