"""The engine's use of history: threads, repeats, waiting, follow-ups, team replies.

The category model here is a stub that scores by keyword, so these tests are about the
engine's bookkeeping, not about the classifier (tests/test_model.py covers that).
"""

from datetime import datetime, timezone

import pytest

from triage.engine import Engine, Settings
from triage.history import History
from triage.parsing import content_hash
from tests.helpers import eml, raw
from triage.message import RawMail
from triage.sla import Policy
from triage.waiting import standings

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=timezone.utc)
TEAM = "help@larkspur.example"


class KeywordModel:
    """Stub: 'refund' in the text means refund; 'cancel' means cancellation."""

    labels = ("refund", "cancellation", "fee_dispute", "follow_up")

    def scores(self, texts):
        return [{label: float(word in text.lower()) for label, word in
                 zip(self.labels, ("refund", "cancel", "charged", "following up"))} for text in texts]

    def decide(self, scores):
        return [label for label in self.labels if scores[label] >= 0.5]

    def covers(self, language):
        return True


class CalmTone:
    """Stub tone model: nobody sounds upset, so frustration comes from history alone."""

    def scores(self, texts):
        return [0.0 for _ in texts]


CALM = CalmTone()


@pytest.fixture
def engine(tmp_path):
    history = History(tmp_path / "state.db")
    yield Engine(KeywordModel(), CALM, history, Settings(support_addresses=frozenset({TEAM})), now=NOW)
    history.close()


def customer(n, body, date, subject="Lamp", **kw):
    return raw(eml(sender="Ana <ana@example.org>", subject=subject, body=body, date=date,
                   message_id=f"<c{n}@example.org>", **kw), key=f"c{n}")


def team(n, body, date, to="ana@example.org", subject="Re: Lamp", **kw):
    return raw(eml(sender=f"Larkspur <{TEAM}>", to=to, subject=subject, body=body, date=date,
                   message_id=f"<t{n}@larkspur.example>", **kw), key=f"t{n}")


def test_first_message_waits_and_counts_itself(engine):
    [d] = engine.decide([customer(1, "I want a refund", "Sun, 15 Mar 2026 12:00:00 +0000")])
    assert d.categories == ["refund"] and d.repeat_count == 1
    assert d.waiting_hours == pytest.approx(5 * 24)
    assert d.thread_id == "<c1@example.org>"


def test_repeats_without_reply_count_up_and_become_follow_ups_even_under_a_new_subject(engine):
    decisions = engine.decide([
        customer(1, "I want a refund", "Sun, 15 Mar 2026 12:00:00 +0000"),
        customer(2, "hello? anyone there", "Tue, 17 Mar 2026 12:00:00 +0000", subject="still nothing"),
        customer(3, "third email now", "Thu, 19 Mar 2026 12:00:00 +0000", subject="???"),
    ])
    assert [d.repeat_count for d in decisions] == [1, 2, 3]
    assert "follow_up" not in decisions[0].categories
    assert "follow_up" in decisions[1].categories and "follow_up" in decisions[2].categories
    assert decisions[2].priority == 1 and "3rd message without a reply" in decisions[2].reasons


def test_one_message_delivered_twice_is_one_message_without_a_reply(engine):
    """A customer writing to two addresses that reach the mailbox (support@ and help@, an
    alias that forwards) makes two copies, their Delivered-To apart: each was counted,
    "2nd message without a reply", and the customer's real second message was their
    "3rd" and P1. A copy (the same Message-ID and Date) counts once; both are rows."""
    first = eml(sender="Ana <ana@example.org>", subject="Lamp", body="I want a refund",
                date="Sun, 15 Mar 2026 12:00:00 +0000", message_id="<c1@example.org>")
    copies = [RawMail(b"Delivered-To: " + to + b"\n" + first, "INBOX", f"c1-{n}", uid=n)
              for n, to in enumerate((b"help@larkspur.example", b"support@larkspur.example"), 1)]
    decisions = engine.decide([*copies, RawMail(customer(2, "hello? anyone there", "Tue, 17 Mar 2026 12:00:00 +0000",
                                                         subject="still nothing").raw, "INBOX", "c2", uid=3)])
    assert [d.repeat_count for d in decisions] == [1, 1, 2]
    assert "2nd message without a reply" in decisions[2].reasons and decisions[2].priority != 1
    assert {d.uid for d in decisions} == {1, 2, 3}
    [(_, conversation)] = standings(engine.history, [decisions[0].thread_id], NOW, Policy())
    assert conversation.messages == 1  # the report's count of the waiting messages too


def test_team_reply_stops_the_clock_and_is_not_a_row(engine):
    decisions = engine.decide([
        customer(1, "I want a refund", "Sun, 15 Mar 2026 12:00:00 +0000"),
        team(1, "Refunded!", "Mon, 16 Mar 2026 09:00:00 +0000", in_reply_to="<c1@example.org>"),
    ])
    assert len(decisions) == 1 and decisions[0].waiting_hours is None
    assert decisions[0].labels == ["triage/refund"]  # answered already: no waiting labels to write
    assert engine.stats.team_replies == 1
    assert engine.history.waiting() == []


def test_customer_writing_after_the_reply_starts_a_new_wait(engine):
    engine.decide([
        customer(1, "I want a refund", "Sun, 15 Mar 2026 12:00:00 +0000"),
        team(1, "Refunded!", "Mon, 16 Mar 2026 09:00:00 +0000", in_reply_to="<c1@example.org>"),
    ])
    engine.commit()
    [d] = engine.decide([customer(2, "not arrived", "Thu, 19 Mar 2026 12:00:00 +0000", subject="Re: Lamp",
                                  in_reply_to="<t1@larkspur.example>")])
    assert d.thread_id == "<c1@example.org>" and d.repeat_count == 1 and d.waiting_hours == pytest.approx(24)


def test_thread_found_by_subject_when_headers_are_missing(engine):
    first, second = engine.decide([
        customer(1, "cancel please", "Sun, 15 Mar 2026 12:00:00 +0000", subject="My plan"),
        customer(2, "cancel it!!", "Mon, 16 Mar 2026 12:00:00 +0000", subject="RE: my plan"),
    ])
    assert first.thread_id == second.thread_id


def test_nothing_is_triaged_twice_and_rollback_forgets(engine):
    batch = [customer(1, "I want a refund", "Sun, 15 Mar 2026 12:00:00 +0000")]
    engine.decide(batch)
    engine.rollback()
    assert len(engine.decide(batch)) == 1
    engine.commit()
    assert engine.decide(batch) == [] and engine.stats.already_triaged == 1


def test_a_big_batch_commits_into_the_write_ahead_log_and_survives_closing(tmp_path):
    """A commit of thousands of pages (a batch at 100,000 messages) is not copied into the
    state file at once (that copy and its sync cost every batch); closing copies it, and
    nothing is lost."""
    path = tmp_path / "state.db"
    history = History(path)
    before = path.stat().st_size
    for n in range(2000):  # ~8 MB: 2,000 pages, twice SQLite's default checkpoint size
        history.record(message_id=f"<m{n}@example.org>", thread_id=f"<m{n}@example.org>", mailbox="INBOX",
                       uid=n + 1, direction="in", customer=f"c{n}@example.org", subject="x" * 4000,
                       date=NOW, automated=False, awaits_reply=True)
    history.commit()
    assert path.stat().st_size == before
    history.close()
    assert path.stat().st_size > 8_000_000
    with History(path) as again:
        assert again.db.execute("SELECT count(*) FROM messages").fetchone()[0] == 2000


def test_automated_mail_is_a_row_but_never_a_repeat_or_waiting(engine):
    ooo = raw(eml(sender="Bo <bo@example.org>", subject="Automatic reply: refund", body="I am away",
                  date="Sun, 15 Mar 2026 12:00:00 +0000", message_id="<o1@example.org>",
                  extra="Auto-Submitted: auto-replied"))
    [d] = engine.decide([ooo, ooo])
    assert d.message.automated and d.priority == 4 and d.frustration == 0.0 and d.waiting_hours is None
    assert engine.history.waiting() == []


def test_list_posts_and_notifications_get_no_category_and_never_make_a_repeat_customer(engine):
    list_post = raw(eml(sender="Ana <ana@example.org>", subject="[shops] anyone get a refund from ParcelNet?",
                        body="I want a refund from them", date="Sun, 15 Mar 2026 12:00:00 +0000",
                        message_id="<l1@example.org>", to="shops@lists.example",
                        extra="List-Id: <shops.lists.example>\nList-Post: <mailto:shops@lists.example>"), key="l1")
    shop_notice = raw(eml(sender="Marketly <noreply@marketly.example>", subject="Your refund has been processed",
                          body="refund of 12.00 processed", date="Mon, 16 Mar 2026 12:00:00 +0000",
                          message_id="<n1@marketly.example>"), key="n1")
    first, second, direct = engine.decide([
        list_post, shop_notice, customer(1, "I want a refund", "Wed, 18 Mar 2026 12:00:00 +0000")])
    assert first.message.automated_reason == "mailing list" and second.message.automated_reason == "no-reply sender"
    assert first.categories == second.categories == ["other"] and first.waiting_hours is None
    assert direct.categories == ["refund"] and direct.repeat_count == 1
    assert [w.customer for w in engine.history.waiting()] == ["ana@example.org"]


def test_json_row_has_the_contract_fields(engine):
    [d] = engine.decide([customer(1, "refund me", "Thu, 19 Mar 2026 12:00:00 +0000")])
    row = d.to_json()
    for key in ("message_id", "uid", "mailbox", "from", "subject", "date", "thread_id", "categories", "scores",
                "frustration", "frustrated", "automated", "repeat_count", "waiting_hours", "priority", "reasons",
                "labels"):
        assert key in row
    assert row["from"] == "ana@example.org" and row["uid"] is None and row["date"] == "2026-03-19T12:00:00+00:00"
    assert row["labels"] == ["triage/refund", "triage/priority-2"]


def test_domain_entry_marks_the_whole_team():
    settings = Settings(support_addresses=frozenset({"@larkspur.example"}))
    assert settings.is_team("Jo@Larkspur.example") and not settings.is_team("jo@larkspur.example.org")


def test_a_thank_you_after_the_reply_asks_for_nothing_and_starts_no_wait(engine):
    engine.decide([
        customer(1, "I want a refund", "Sun, 15 Mar 2026 12:00:00 +0000", subject="Refund for my lamp"),
        team(1, "Refunded!", "Mon, 16 Mar 2026 09:00:00 +0000", in_reply_to="<c1@example.org>"),
    ])
    [thanks] = engine.decide([customer(2, "thanks, got it!", "Mon, 16 Mar 2026 10:00:00 +0000",
                                       subject="Re: Refund for my lamp", in_reply_to="<t1@larkspur.example>")])
    assert thanks.categories == ["other"] and thanks.priority == 4 and thanks.waiting_hours is None
    assert engine.history.waiting() == []
    [later] = engine.decide([customer(3, "one more refund question", "Tue, 17 Mar 2026 10:00:00 +0000")])
    assert later.repeat_count == 1  # the thank-you was no unanswered repeat


def test_a_sender_of_dozens_of_distinct_subjects_nobody_answers_is_a_machine(engine):
    """A feed without List headers (issue 9: 623 RSS items became one customer with a
    289th message without a reply, P1): from the 20th item on it is automated, and its
    earlier items wait for nobody."""
    feed = [raw(eml(sender="Town Weather <weather@town.example>", subject=f"Bulletin {n}: rain on {n} March",
                    body="Showers later.", date=f"{n:02d} Mar 2026 07:00:00 +0000", message_id=f"<w{n}@town.example>"),
                key=f"w{n}") for n in range(1, 21)]
    rows = engine.decide(feed)
    assert [r.message.automated for r in rows[:19]] == [False] * 19 and rows[19].message.automated
    assert rows[19].priority == 4 and "automated (bulk sender)" in rows[19].reasons
    assert engine.history.waiting() == []
    # A customer writing often, on one subject, is not one.
    chaser = [customer(n, "where is my refund??", f"{n:02d} Mar 2026 09:00:00 +0000", subject="Refund")
              for n in range(1, 22)]
    assert not any(r.message.automated for r in engine.decide(chaser))


def test_a_customers_mail_loop_counts_every_message_and_reads_a_bounded_history_for_each(engine, monkeypatch):
    """Hundreds of messages from one customer on one subject, never answered (a mail
    loop, or a script): each new one still counts every earlier one, but the bulk-sender
    check reads the subjects of the latest SENDER_SUBJECTS_READ only — read whole for each
    new message, 4,000 of them took 97 s."""
    import triage.history

    loop = [customer(n, "where is my refund", f"{1 + n // 60:02d} Mar 2026 {n % 24:02d}:{n % 60:02d}:00 +0000",
                     subject="Refund") for n in range(1, 251)]
    engine.decide(loop)
    counted = []
    real = engine.history.sender_counts
    monkeypatch.setattr(engine.history, "sender_counts", lambda *args: counted.append(real(*args)) or counted[-1])
    [last] = engine.decide([customer(251, "where is my refund", "06 Mar 2026 12:00:00 +0000", subject="Refund")])
    assert last.repeat_count == 251 and not last.message.automated
    assert [counts.messages for counts in counted] == [triage.history.SENDER_SUBJECTS_READ]  # subjects read


def test_two_messages_with_one_message_id_are_both_triaged_and_the_same_one_twice_is_not(engine):
    """Identity is the message, not its Message-ID (a chargeback threat reusing another
    message's ID was never triaged): by content for local mail, by UID over IMAP."""
    first = customer(1, "where is my parcel?", "Mon, 16 Mar 2026 09:00:00 +0000", subject="Parcel")
    threat = raw(eml(sender="Bo <bo@example.org>", subject="Refund", body="Refund me or I file a chargeback",
                     date="Mon, 16 Mar 2026 10:00:00 +0000", message_id="<c1@example.org>"), key="other")
    rows = engine.decide([first, threat])
    assert [r.message.message_id for r in rows] == ["<c1@example.org>", "<c1@example.org>"]
    assert rows[1].priority == 1 and rows[1].thread_id != rows[0].thread_id  # not joined to Ana's conversation
    engine.commit()
    assert engine.decide([first, threat]) == []  # the same bytes again: known
    over_imap = [RawMail(first.raw, "INBOX", "7", uid=7), RawMail(first.raw, "INBOX", "8", uid=8)]
    assert len(engine.decide(over_imap)) == 2  # two UIDs are two messages, whatever they hold
    assert engine.decide(over_imap) == []


def test_mail_moved_out_of_its_folder_and_back_is_known_and_a_copy_beside_it_is_not(engine):
    """A message under a new UID with the Message-ID and bytes of one triaged under a UID
    the folder no longer has was moved out and back: its record takes the new UID and it
    is not decided again. While the old UID is still there it is a second delivery. In
    another folder (the watched one renamed) it is the same message too."""
    first = customer(1, "where is my parcel?", "Mon, 16 Mar 2026 09:00:00 +0000", subject="Parcel")
    [row] = engine.decide([RawMail(first.raw, "INBOX", "7", uid=7)], present=lambda uids: set())
    engine.commit()
    assert engine.decide([RawMail(first.raw, "INBOX", "9", uid=9)], present=lambda uids: set()) == []
    assert engine.history.known_uids("INBOX", [7, 9]) == {9}
    [copy] = engine.decide([RawMail(first.raw, "INBOX", "12", uid=12)], present=lambda uids: set(uids))
    assert copy.message.uid == 12 and engine.history.known_uids("INBOX", [9, 12]) == {9, 12}
    engine.commit()
    # The folder renamed, and the config with it: the same messages, not new mail.
    moved = [RawMail(first.raw, "Support", str(uid), uid=uid) for uid in (9, 12)]
    assert engine.decide(moved, present=lambda uids: set(uids)) == []
    assert engine.history.known_uids("Support", [9, 12]) == {9, 12} and not engine.history.known_uids("INBOX", [9, 12])


def test_a_conversation_whose_waiting_mail_left_the_folder_is_filed_until_it_comes_back(engine):
    """Every waiting message of a conversation gone from the folder: the conversation is
    filed (answered up to the latest of them); a customer writing again starts a new
    wait; a message moved back (its record rebound) makes it wait again as before. A
    conversation with a waiting message still there waits on, all of them counted."""
    history = engine.history
    first = customer(1, "where is my lamp?", "Mon, 16 Mar 2026 09:00:00 +0000")
    again = customer(2, "hello? the lamp?", "Mon, 16 Mar 2026 10:00:00 +0000")
    bo = [raw(eml(sender="Bo <bo@example.org>", subject="Refund", body=body, date=date,
                  message_id=f"<b{n}@example.org>")) for n, (body, date) in
          enumerate([("refund please", "Mon, 16 Mar 2026 09:30:00 +0000"),
                     ("still no refund", "Mon, 16 Mar 2026 11:00:00 +0000")])]
    engine.decide([RawMail(m.raw, "INBOX", str(uid), uid=uid) for uid, m in
                   [(1, first), (2, again), (3, bo[0]), (4, bo[1])]])
    engine.commit()
    since = {w.customer: w.waiting_since.isoformat() for w in history.waiting()}
    assert since == {"ana@example.org": "2026-03-16T09:00:00+00:00", "bo@example.org": "2026-03-16T09:30:00+00:00"}

    assert history.file_departed("INBOX", {1, 3}) == []  # each conversation has a message still there
    assert history.file_departed("Other", {2}) == []  # another folder's UID 2 is another message
    [ana_thread] = history.file_departed("INBOX", {1, 2, 3})
    assert {w.customer: w.waiting_since.isoformat() for w in history.waiting()} == {
        "bo@example.org": "2026-03-16T09:30:00+00:00"}
    assert history.waiting_since(ana_thread) is None and history.waiting_uids("INBOX") == [3, 4]
    history.commit()

    later = customer(3, "and now the cable is missing", "Tue, 17 Mar 2026 09:00:00 +0000")
    engine.decide([RawMail(later.raw, "INBOX", "5", uid=5)])
    assert history.waiting_since(ana_thread).isoformat() == "2026-03-17T09:00:00+00:00"  # a new wait
    engine.rollback()

    row = history.db.execute("SELECT id FROM messages WHERE uid = 2").fetchone()[0]
    history.rebind_uid(row, "INBOX", 9)  # moved back under UID 9
    assert history.waiting_since(ana_thread).isoformat() == "2026-03-16T09:00:00+00:00"  # as before it left
    assert history.waiting_uids("INBOX") == [1, 3, 4, 9]


def test_after_a_renumbering_a_team_message_without_a_message_id_is_known_by_its_content(engine):
    """The team's message in the watched folder keeps its content hash, so a renumbering
    finds it by content (it was recorded a second time: its record had none)."""
    history = engine.history
    asked = customer(1, "where is my lamp?", "Mon, 16 Mar 2026 09:00:00 +0000")
    answer = team(1, "it ships today", "Mon, 16 Mar 2026 10:00:00 +0000").raw.replace(
        b"Message-ID: <t1@larkspur.example>\n", b"")
    engine.decide([RawMail(asked.raw, "INBOX", "1", uid=1), RawMail(answer, "INBOX", "2", uid=2)])
    engine.commit()

    history.rebind_uids("INBOX", {"<c1@example.org>": 11})  # renumbered: 11, 12
    assert history.rebind_by_content("INBOX", {12: content_hash(answer)}) == {12}
    assert engine.decide([RawMail(answer, "INBOX", "12", uid=12)]) == []
    assert history.db.execute("SELECT count(*) FROM messages WHERE direction = 'out'").fetchone()[0] == 1


def test_after_a_renumbering_mail_a_message_id_cannot_name_is_known_by_its_content(engine):
    """After a UIDVALIDITY change a message without a Message-ID (stored under one made
    from its content) and two sharing one get their new UIDs by content, so they are not
    triaged again; identical copies pair off in order, and a copy left over is a message
    of its own, triaged like any second delivery."""
    history = engine.history
    anonymous = eml(sender="Ana <ana@example.org>", subject="Lamp", body="where is my lamp?",
                    date="Mon, 16 Mar 2026 09:00:00 +0000", message_id="<x@example.org>").replace(
                        b"Message-ID: <x@example.org>\n", b"")
    shared = [eml(sender="Bo <bo@example.org>", subject="Refund", body=body, date=date, message_id="<s@example.org>")
              for body, date in [("refund please", "Mon, 16 Mar 2026 10:00:00 +0000"),
                                 ("still no refund", "Mon, 16 Mar 2026 11:00:00 +0000")]]
    old = [RawMail(data, "INBOX", str(uid), uid=uid) for uid, data in
           [(1, anonymous), (2, shared[0]), (3, shared[1]), (4, anonymous)]]  # 4: the same bytes delivered again
    assert len(engine.decide(old)) == 4
    engine.commit()
    digest = {uid: content_hash(data) for uid, data in
              [(10, anonymous), (11, shared[0]), (12, shared[1]), (13, anonymous), (14, anonymous)]}

    history.rebind_uids("INBOX", {"<s@example.org>": 12})  # the folder renumbered: 10..14
    assert history.known_uids("INBOX", list(digest)) == set()
    assert history.rebind_by_content("Other", digest) == set()  # another folder's mail is not this one's
    assert history.rebind_by_content("INBOX", digest) == {10, 11, 12, 13}

    rows = history.db.execute("SELECT uid, content_hash FROM messages ORDER BY uid").fetchall()
    assert [tuple(row) for row in rows] == [(uid, digest[uid]) for uid in (10, 11, 12, 13)]  # each to its content
    copies = history.db.execute("SELECT uid FROM messages WHERE content_hash = ? ORDER BY id", (digest[10],))
    assert [row[0] for row in copies] == [10, 13]  # the first triaged (UID 1 before) takes the lowest UID
    again = [RawMail(data, "INBOX", str(uid), uid=uid) for uid, data in
             [(10, anonymous), (11, shared[0]), (12, shared[1]), (13, anonymous), (14, anonymous)]]
    assert [d.uid for d in engine.decide(again)] == [14]


def test_a_loading_engine_reads_its_model_at_the_first_new_mail_and_once(tmp_path):
    """`triage once` with nothing new must not pay for reading the model (most of a start)."""
    loads = []

    class ModelWithTone(KeywordModel):  # what a loaded model is: its tone travels with it
        tone = CALM

        def scores_and_tone(self, texts, human):
            return self.scores(texts), CALM.scores(texts)

    def load():
        loads.append(1)
        return ModelWithTone()

    with History(tmp_path / "state.db") as history:
        engine = Engine.loading(load, history, Settings(support_addresses=frozenset({TEAM})), now=NOW)
        assert list(engine.ahead([])) == [] and loads == []
        first = customer(1, "I want a refund", "2026-03-19T10:00:00+00:00")
        [decision] = engine.decide([first])
        assert decision.categories == ["refund"] and loads == [1]
        engine.commit()
        assert engine.decide([first]) == [] and engine.stats.already_triaged == 1
        engine.decide([customer(2, "please cancel", "2026-03-19T11:00:00+00:00")])
        assert loads == [1]
        engine.close()
