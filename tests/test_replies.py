"""Reply detection: which conversations the team has answered, and since when the others
wait. Team replies arrive in the watched folder (From a support address) or from Sent
(any From); \\Answered counts only with a team message to the customer after it."""

import sqlite3
from datetime import datetime, timezone

import pytest

from tests.helpers import eml
from tests.test_engine import CALM, TEAM, KeywordModel, customer, team
from triage.engine import Engine, Settings
from triage.history import History
from triage.message import RawMail

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=timezone.utc)
PERSONAL = "Jo Smith <jo.smith@gmail.com>"
"""A team member writing from a personal address: not a support address."""


@pytest.fixture
def engine(tmp_path):
    history = History(tmp_path / "state.db")
    yield Engine(KeywordModel(), CALM, history, Settings(support_addresses=frozenset({TEAM})), now=NOW)
    history.close()


def sent(n, date, *, to="ana@example.org", subject="Re: Lamp", sender=PERSONAL, **kw) -> RawMail:
    """A message from the Sent folder: headers only, as fetch_sent hands them over."""
    data = eml(sender=sender, to=to, subject=subject, body="", date=date, message_id=f"<s{n}@gmail.com>", **kw)
    return RawMail(raw=data.split(b"\n\n")[0] + b"\n\n", mailbox="Sent", key=str(n), uid=n)


def answered(raw: RawMail) -> RawMail:
    """The same customer message with \\Answered set, as a client leaves it."""
    return RawMail(raw.raw, raw.mailbox, raw.key, raw.uid, raw.internaldate, ("\\Seen", "\\Answered"))


def waiting_threads(engine):
    return {(w.thread_id, w.waiting_since.isoformat()) for w in engine.history.waiting()}


MON, TUE, WED = "Mon, 16 Mar 2026 09:00:00 +0000", "Tue, 17 Mar 2026 09:00:00 +0000", "Wed, 18 Mar 2026 09:00:00 +0000"


def test_customer_writes_team_answers_from_sent_customer_writes_again(engine):
    engine.decide([customer(1, "I want a refund", MON)])
    assert waiting_threads(engine) == {("<c1@example.org>", "2026-03-16T09:00:00+00:00")}

    assert engine.record_replies([sent(1, TUE, in_reply_to="<c1@example.org>")]) == 1
    assert engine.history.waiting() == [] and engine.stats.team_replies == 1

    [again] = engine.decide([customer(2, "the refund has not arrived", WED, subject="Re: Lamp",
                                      in_reply_to="<s1@gmail.com>")])
    assert again.thread_id == "<c1@example.org>" and again.repeat_count == 1
    assert again.waiting_hours == pytest.approx(51)  # since Wednesday, not Monday
    assert waiting_threads(engine) == {("<c1@example.org>", "2026-03-18T09:00:00+00:00")}


def test_the_same_personal_address_in_the_inbox_is_a_customer(engine):
    """Only the Sent path makes mail from an unknown address the team's."""
    engine.decide([customer(1, "I want a refund", MON)])
    rows = engine.decide([RawMail(sent(1, TUE, in_reply_to="<c1@example.org>").raw, "INBOX", "x")])
    assert [r.message.sender for r in rows] == ["jo.smith@gmail.com"]
    assert "<c1@example.org>" in {w.thread_id for w in engine.history.waiting()}


def test_sent_mail_that_answers_nobody_is_skipped(engine):
    engine.decide([customer(1, "I want a refund", MON)])
    auto = sent(1, TUE, in_reply_to="<c1@example.org>", extra="Auto-Submitted: auto-replied")
    internal = sent(2, TUE, to="help@larkspur.example", subject="Re: Lamp", in_reply_to="<c1@example.org>")
    assert engine.record_replies([auto, internal]) == 0
    assert len(engine.history.waiting()) == 1
    reply = sent(3, TUE, in_reply_to="<c1@example.org>")
    assert engine.record_replies([reply, reply]) == 1 and engine.record_replies([reply]) == 0


def test_answered_under_a_changed_subject_is_matched_by_in_reply_to(engine):
    engine.decide([customer(1, "I want a refund", MON)])
    engine.record_replies([sent(1, TUE, subject="Your refund for order 1234 is on its way",
                                in_reply_to="<c1@example.org>")])
    assert engine.history.waiting() == []


def test_references_alone_place_a_reply(engine):
    engine.decide([customer(1, "I want a refund", MON)])
    engine.decide([team(1, "done", TUE, subject="Order 1234", references="<x@elsewhere> <c1@example.org>")])
    assert engine.history.waiting() == []


def test_without_headers_a_reply_is_placed_by_recipient_and_subject(engine):
    engine.decide([customer(1, "I want a refund", MON), customer(2, "cancel please", MON, subject="My plan")])
    # To a colleague first and the customer in Cc: the customer is the one with a "lamp" conversation.
    engine.decide([team(1, "refunded", TUE, to="bo@example.org, ana@example.org", subject="RE: Fwd: lamp")])
    assert {w.subject for w in engine.history.waiting()} == {"My plan"}


def test_a_reply_on_another_subject_without_headers_answers_nothing(engine):
    engine.decide([customer(1, "I want a refund", MON)])
    engine.record_replies([sent(1, TUE, subject="Our summer sale")])
    assert len(engine.history.waiting()) == 1


def test_answered_flag_alone_leaves_the_conversation_waiting(engine):
    engine.decide([answered(customer(1, "I want a refund", MON))])
    assert len(engine.history.waiting()) == 1


def test_answered_flag_with_a_later_team_message_to_the_customer_counts(engine):
    engine.decide([answered(customer(1, "I want a refund", MON))])
    engine.record_replies([sent(1, TUE, subject="Our records")])  # threading cannot place it
    assert engine.history.waiting() == []
    [again] = engine.decide([customer(2, "still nothing", WED)])
    assert again.waiting_hours == pytest.approx(51)


def test_answered_flag_needs_the_team_message_after_the_customer_message(engine):
    engine.record_replies([sent(1, MON, subject="Welcome to Larkspur")])
    engine.decide([answered(customer(1, "I want a refund", TUE))])
    assert len(engine.history.waiting()) == 1


def test_answered_flag_read_later_from_the_server(engine):
    """The service reads \\Answered again after the team replied: set_answered_flags."""
    mail = customer(1, "I want a refund", MON)
    engine.decide([RawMail(mail.raw, "INBOX", "7", uid=7)])
    engine.record_replies([sent(1, TUE, subject="Our records")])
    assert engine.history.waiting_uids("INBOX") == [7]
    engine.history.set_answered_flags("INBOX", {7: True})
    assert engine.history.waiting() == [] and engine.history.waiting_uids("INBOX") == []
    engine.history.set_answered_flags("INBOX", {7: False})
    assert len(engine.history.waiting()) == 1


def test_waiting_uids_among_given_uids_agree_with_the_whole_queue(engine):
    """A pass asks only about the UIDs whose flags changed: the answer is the whole
    queue's, cut to them (answered, machine and unknown UIDs left out)."""
    def mail(n, name):
        data = eml(sender=f"{name} <{name.lower()}@example.org>", subject=f"Order {n}", body="Refund please.",
                   date=MON, message_id=f"<c{n}@example.org>")
        return RawMail(data, "INBOX", str(n), uid=n)

    engine.decide([mail(3, "Ana"), mail(5, "Bo"), mail(9, "Cy")])
    engine.history.set_answered_flags("INBOX", {5: True})
    engine.record_replies([sent(5, TUE, to="bo@example.org", subject="Re: Order 5")])
    whole = engine.history.waiting_uids("INBOX")
    assert whole == [3, 9]
    assert engine.history.waiting_uids("INBOX", among=[9, 5, 4, 3]) == [3, 9]
    assert engine.history.waiting_uids("INBOX", among=[5, 9]) == [9]
    assert engine.history.waiting_uids("Other", among=[3, 9]) == []


def test_waiting_names_the_latest_waiting_message_and_its_labels(engine):
    engine.decide([customer(1, "I want a refund", MON), customer(2, "hello?", TUE, subject="Re: Lamp"),
                   customer(3, "thanks!", WED, subject="Re: Lamp")])  # a thank-you awaits nothing
    [waiting] = engine.history.waiting()
    assert waiting.last_message_id == "<c2@example.org>" and waiting.waiting_since.day == 16
    assert "triage/follow_up" in waiting.last_labels and waiting.last_uid is None


V1_MESSAGES = """CREATE TABLE messages(
    message_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, mailbox TEXT NOT NULL, uid INTEGER,
    direction TEXT NOT NULL, customer TEXT NOT NULL, subject TEXT NOT NULL, date TEXT NOT NULL,
    automated INTEGER NOT NULL DEFAULT 0, awaits_reply INTEGER NOT NULL DEFAULT 1, categories TEXT,
    frustration REAL, frustrated INTEGER, priority INTEGER, reasons TEXT, labels TEXT)"""


def test_an_old_state_file_is_brought_up_to_the_current_schema_with_its_mail(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)  # a state file of schema 1, as the first release wrote it
    old.executescript(V1_MESSAGES + ";CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                      "INSERT INTO meta VALUES ('schema_version', '1');")
    old.execute("INSERT INTO messages(message_id, thread_id, mailbox, uid, direction, customer, subject, date)"
                " VALUES ('<c1@x>', '<c1@x>', 'INBOX', 7, 'in', 'ann@x', 'Lamp', '2026-03-16T09:00:00+00:00')")
    old.commit()
    old.close()
    with History(path) as history:
        columns = {row[1] for row in history.db.execute("PRAGMA table_info(messages)")}
        assert {"id", "answered_flag", "content_hash", "unreadable"} <= columns
        assert history.known_uids("INBOX", [7, 8]) == {7}
        [row] = history.db.execute("SELECT id, message_id FROM messages").fetchall()
        assert tuple(row) == (1, "<c1@x>")
        indexes = {row[1] for row in history.db.execute("PRAGMA index_list(messages)")}
        assert "messages_local_hash" in indexes  # what each recorded message pays for: no index more
        assert not {"messages_out_customer", "messages_content_hash"} & indexes
    assert sqlite3.connect(path).execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("7",)


def test_a_schema_6_state_file_gets_what_files_a_conversation_whose_mail_left(tmp_path):
    path = tmp_path / "v6.db"
    with History(path):
        pass
    old = sqlite3.connect(path)
    old.executescript("ALTER TABLE threads DROP COLUMN filed_upto; ALTER TABLE messages DROP COLUMN departed;"
                      "UPDATE meta SET value = '6' WHERE key = 'schema_version';")
    old.close()
    with History(path) as history:
        assert "filed_upto" in {row[1] for row in history.db.execute("PRAGMA table_info(threads)")}
        assert "departed" in {row[1] for row in history.db.execute("PRAGMA table_info(messages)")}
        assert history.waiting() == []
    assert sqlite3.connect(path).execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("7",)


def test_a_schema_5_state_file_gets_the_p1_share_indexes_that_spare_each_batch_a_scan(tmp_path):
    """Each batch reads the strongest claims to P1 and counts the waiting conversations:
    from 6 both come from an index alone."""
    path = tmp_path / "v5.db"
    with History(path):
        pass
    old = sqlite3.connect(path)
    old.executescript("DROP INDEX threads_claim_customer; DROP INDEX threads_waiting;"
                      "CREATE INDEX threads_claim ON threads(claim) WHERE claim IS NOT NULL;"
                      "UPDATE meta SET value = '5' WHERE key = 'schema_version';")
    old.close()
    with History(path) as history:
        indexes = {row[0] for row in history.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "threads_claim" not in indexes
        claim = [row[2] for row in history.db.execute("PRAGMA index_info(threads_claim_customer)")]
        assert claim == ["claim", "thread_id", "customer"]
        plan = history.db.execute("EXPLAIN QUERY PLAN SELECT count(*) FROM threads WHERE waiting = 1").fetchall()
        assert "COVERING INDEX threads_waiting" in plan[0][3]
        # the P1 share, one a customer (History.p1_members), reads no row of the table
        plan = history.db.execute("EXPLAIN QUERY PLAN SELECT thread_id, customer FROM threads WHERE claim IS NOT NULL"
                                  " ORDER BY claim DESC").fetchall()
        assert "COVERING INDEX threads_claim_customer" in plan[0][3]


def test_a_state_file_a_triage_before_the_customers_p1_index_opened_again_keeps_one_claim_index(tmp_path):
    """An older triage opening the file makes its own claim index again (threads_claim):
    the next start drops it, so no record pays for two."""
    path = tmp_path / "s.db"
    with History(path):
        pass
    old = sqlite3.connect(path)
    old.executescript("CREATE INDEX threads_claim ON threads(claim, thread_id) WHERE claim IS NOT NULL;")
    old.close()
    with History(path) as history:
        names = {row[0] for row in history.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "threads_claim" not in names and "threads_claim_customer" in names


THU = "Thu, 19 Mar 2026 09:00:00 +0000"


def test_a_team_members_note_to_the_team_in_the_customers_thread_answers_nobody(engine):
    """"Jo, can you take this one?" — a reply in the customer's conversation sent to the
    team's own address only: the customer got nothing, so their clock runs on and writing
    again counts (as mail in Sent to the team only never answered). A reply to the
    customer with the team cc'd answers."""
    engine.decide([customer(1, "I want a refund", MON),
                   team(1, "Jo, can you take this one? I'm out tomorrow.", TUE, to=TEAM, in_reply_to="<c1@example.org>")])
    assert waiting_threads(engine) == {("<c1@example.org>", "2026-03-16T09:00:00+00:00")}
    [again] = engine.decide([customer(2, "hello? my refund?", WED, subject="Re: Lamp")])
    assert again.repeat_count == 2 and again.waiting_hours == pytest.approx(99.0)
    engine.decide([team(2, "Refunded!", THU, in_reply_to="<c2@example.org>", extra=f"Cc: {TEAM}")])
    assert engine.history.waiting() == []


def test_answered_with_only_a_note_to_the_team_after_it_still_waits(engine):
    """\\Answered counts with a team message to the customer after it: a note to the team
    about them is none."""
    engine.decide([answered(customer(1, "I want a refund", MON)), customer(2, "and the chair?", MON, subject="Chair")])
    engine.decide([team(1, "Jo, this one's yours", TUE, to=TEAM, subject="Re: Chair", in_reply_to="<c2@example.org>")])
    assert waiting_threads(engine) == {("<c1@example.org>", "2026-03-16T09:00:00+00:00"),
                                       ("<c2@example.org>", "2026-03-16T09:00:00+00:00")}
