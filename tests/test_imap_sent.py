"""The team's replies from Sent, and the sweep, against the test Dovecot.

The end-to-end test is what the service will do on its schedule — triage the watched
folder, ingest Sent, read \\Answered again, sweep — and checks the issue's bar: the
report lists exactly the unanswered conversations, and the labels on the server say
what the report says, before and after the team replies.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import pytest
from dovecot import PASSWORD, PASSWORD_ENV, Dovecot
from helpers import eml

from tests.test_engine import CALM, KeywordModel
from triage.config import Config, LabelsConfig
from triage.engine import Engine, Settings
from triage.errors import ImapError
from triage.history import History
from triage.imap.connection import connect
from triage.imap.labeler import keyword_for, make_labeler
from triage.imap.mailbox import HEADER_FETCH_BYTES, ImapMailbox
from triage.imap.sent import fetch_sent, find_sent_folders, ingest_sent, sent_by_name
from triage.imap.sweep import apply_sweep, refresh_answered
from triage.imap.sync import SWEEP, sync_folder, triage_pass
from triage.parsing import parse_message
from triage.sla import Policy
from triage.sweep import sweep_changes
from triage.waiting import waiting_conversations

SUPPORT = "support@example.com"
LONG_AGO = date.today() - timedelta(days=30)
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
"""The clock of the story (--now); the mail is dated around it."""


def mail(sender: str, to: str, subject: str, body: str, when: datetime, **kw) -> tuple[str, bytes]:
    """(Message-ID, raw with CRLF)."""
    message_id = f"<{uuid.uuid4().hex[:12]}@example.net>"
    raw = eml(sender=sender, to=to, subject=subject, body=body, date=when.strftime("%a, %d %b %Y %H:%M:%S +0000"),
              message_id=message_id, **kw)
    return message_id, raw.replace(b"\n", b"\r\n")


@pytest.fixture
def mailbox(dovecot: Dovecot, mail_folder: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ImapMailbox]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    box = ImapMailbox(connect(dovecot.imap_config()))
    box.select(mail_folder)
    yield box
    box.client.logout()


# -- finding and reading Sent ------------------------------------------------------------


def test_the_sent_folder_is_found_by_special_use(mailbox, sent_folder, dovecot, caplog):
    dovecot.create_folder("Sent Copies")  # a name no heuristic would pick
    try:
        assert find_sent_folders(mailbox) == ["Sent"]
        assert find_sent_folders(mailbox, ["Sent Copies"]) == ["Sent Copies"]  # the config overrides
        assert find_sent_folders(mailbox, ["Sent", "Nope"]) == ["Sent"]  # renamed away: said, and left out
        assert "sent_folders: the server has no folder 'Nope'" in caplog.text
    finally:
        dovecot.delete_folder("Sent Copies")


def test_without_special_use_a_common_name_is_found_and_otherwise_none(mailbox, dovecot):
    assert find_sent_folders(mailbox) == []
    dovecot.create_folder("Sent Items")
    try:
        with mailbox.visiting("Sent Items"):
            pass
        flags = {f for f, _, name in mailbox.client.list_folders() if name == "Sent Items"}
        assert all(b"\\Sent" not in f for f in flags)  # really found by name
        assert find_sent_folders(mailbox) == ["Sent Items"]
    finally:
        dovecot.delete_folder("Sent Items")


@pytest.mark.parametrize("name", ["Gesendete Elemente", "Éléments envoyés", "INBOX.Enviados"])
def test_without_special_use_a_sent_folder_named_in_the_mailboxs_language_is_found(mailbox, dovecot, name):
    """A mail client that made its Sent folder on a server without SPECIAL-USE named it
    in the user's language (Outlook: "Gesendete Elemente"): no English name matched, the
    team's replies there were never read, and every conversation the team had answered
    from it waited, overdue, escalating, as if nobody had."""
    dovecot.create_folder(name)
    try:
        assert find_sent_folders(mailbox) == [name]
    finally:
        dovecot.delete_folder(name)


def test_a_name_like_a_sent_folders_is_one_only_as_a_whole_name() -> None:
    assert sent_by_name(["INBOX", "Gesendet", "Archive"], ".") == "Gesendet"
    assert sent_by_name(["INBOX", "INBOX/Verzonden items"], "/") == "INBOX/Verzonden items"
    assert sent_by_name(["INBOX", "Kunden.Gesendet"], ".") is None  # a folder of its own under another
    assert sent_by_name(["Not Gesendet", "Enviados antiguos"], ".") is None
    assert sent_by_name(["gesendete objekte", "Sent Items"], ".") == "gesendete objekte"
    assert sent_by_name(["E\u0301le\u0301ments envoye\u0301s"], "/") == "E\u0301le\u0301ments envoye\u0301s"  # decomposed (macOS)


def test_a_sent_folder_left_only_as_the_parent_of_others_is_no_sent_folder(mailbox, dovecot, caplog):
    """`Sent Items` deleted with `Sent Items/2025` kept (or the child made first) is
    listed \\Noselect: found by its name, or named in the config, it was asked for its
    STATUS on every pass, which failed every pass: nothing was triaged again."""
    dovecot.create_folder("Sent Items.2025")
    try:
        assert [name for flags, _, name in mailbox.client.list_folders() if b"\\Noselect" in flags
                and name == "Sent Items"]
        assert find_sent_folders(mailbox) == []
        assert find_sent_folders(mailbox, ["Sent Items"]) == []
        assert "sent_folders: the server has no folder 'Sent Items' that holds mail" in caplog.text
    finally:
        dovecot.delete_folder("Sent Items.2025")


def test_fetch_sent_reads_headers_only_and_changes_nothing(mailbox, sent_folder, dovecot):
    ids, uids = [], []
    for n in range(3):
        message_id, raw = mail("Jo <jo@gmail.com>", "ana@example.org", f"Re: {n}", "body text " * 50, T0)
        ids.append(message_id)
        uids.append(dovecot.append(sent_folder, raw))
    folder_before = mailbox.folder

    got = list(fetch_sent(mailbox, sent_folder, uids[0]))

    assert [m.uid for m in got] == uids[1:] and all(m.mailbox == "Sent" for m in got)
    assert all(ids[i + 1].encode() in m.raw and b"body text" not in m.raw for i, m in enumerate(got))
    assert all(m.internaldate is not None for m in got)
    assert all("\\Seen" not in dovecot.flags(sent_folder, uid) for uid in uids)
    assert mailbox.folder == folder_before and mailbox.uids_since(0) == []  # the watched folder is back
    assert [m.uid for m in fetch_sent(mailbox, sent_folder, 0, since=LONG_AGO)] == uids


def test_a_header_block_of_megabytes_is_read_only_as_far_as_triage_parses_it(mailbox, sent_folder, dovecot):
    """Headers-only FETCHes (Sent folders, a first run's older mail) ask for the first
    HEADER_FETCH_BYTES of the header block: a hostile message's megabytes of header are
    not held in memory, and what triage reads at its top still is."""
    message_id, raw = mail("Jo <jo@gmail.com>", "ana@example.org", "Re: lamp", "body", T0)
    head, body = raw.split(b"\r\n\r\n", 1)
    bloated = head + b"".join(b"\r\nX-Trace: %08d %s" % (n, b"x" * 90) for n in range(12_000)) + b"\r\n\r\n" + body
    assert len(bloated) > 2 * HEADER_FETCH_BYTES
    uid = dovecot.append(sent_folder, bloated)

    [got] = fetch_sent(mailbox, sent_folder, 0, since=LONG_AGO)

    assert got.uid == uid and len(got.raw) == HEADER_FETCH_BYTES
    assert parse_message(got).message_id == message_id


def test_ingest_sent_moves_its_own_cursor_and_counts_nothing_twice(mailbox, sent_folder, dovecot, tmp_path):
    with History(tmp_path / "s.db") as history:
        engine = Engine(KeywordModel(), CALM, history, Settings(support_addresses=frozenset({SUPPORT})), now=T0)
        first = dovecot.append(sent_folder, mail("Jo <jo@gmail.com>", "ana@example.org", "Hi", "x", T0)[1])
        assert ingest_sent(mailbox, engine, sent_folder, LONG_AGO) == 1
        engine.commit()
        assert history.get_cursor(sent_folder) == (dovecot.uidvalidity(sent_folder), first)
        assert ingest_sent(mailbox, engine, sent_folder, LONG_AGO) == 0
        assert ingest_sent(mailbox, engine, mailbox.folder, LONG_AGO) == 0  # the watched folder: not Sent
        second = dovecot.append(sent_folder, mail("Jo <jo@gmail.com>", "bo@example.org", "Hi", "x", T0)[1])
        assert ingest_sent(mailbox, engine, sent_folder, LONG_AGO) == 1
        assert history.get_cursor(sent_folder)[1] == second
        engine.commit()
        uidvalidity = dovecot.reset_uidvalidity(sent_folder)  # renumbered: read again, known Message-IDs skipped
        fresh = ImapMailbox(connect(dovecot.imap_config()))  # (the old session's view of Sent is broken now)
        try:
            fresh.select(mailbox.folder)
            assert ingest_sent(fresh, engine, sent_folder, LONG_AGO) == 0
            assert history.get_cursor(sent_folder)[0] == uidvalidity
            assert history.db.execute("SELECT count(*) FROM messages").fetchone()[0] == 2
        finally:
            fresh.client.logout()
            engine.close()


def test_with_nothing_new_in_sent_the_watched_folder_is_not_left(mailbox, sent_folder, dovecot, tmp_path,
                                                                  monkeypatch):
    """Each pass of the service asks Sent; a STATUS says nothing came, so no EXAMINE of
    Sent and no SELECT of a big watched folder again, which on a busy server new mail
    would wait behind."""
    with History(tmp_path / "s.db") as history:
        engine = Engine(KeywordModel(), CALM, history, Settings(support_addresses=frozenset({SUPPORT})), now=T0)
        dovecot.append(sent_folder, mail("Jo <jo@gmail.com>", "ana@example.org", "Hi", "x", T0)[1])
        assert ingest_sent(mailbox, engine, sent_folder, LONG_AGO) == 1
        selects: list[str] = []
        real = mailbox.client.select_folder
        monkeypatch.setattr(mailbox.client, "select_folder", lambda name, **kw: selects.append(name) or real(name, **kw))
        assert ingest_sent(mailbox, engine, sent_folder, LONG_AGO) == 0
        assert selects == []
        dovecot.append(sent_folder, mail("Jo <jo@gmail.com>", "bo@example.org", "Hi", "x", T0)[1])
        assert ingest_sent(mailbox, engine, sent_folder, LONG_AGO) == 1
        assert selects == [sent_folder, mailbox.folder]
        engine.close()


def test_mail_the_service_just_found_is_triaged_without_looking_again(dovecot, mailbox, mail_folder, sent_folder,
                                                                     tmp_path, monkeypatch):
    """``arrived``: the UIDs the service's look after a pass found. The pass takes them
    as they are (no NOOP, no SEARCH); mail that came after them waits for the next look,
    and the cursor stops at them, so it is not skipped. Another session's list (the
    folder not selected by this one) is not trusted: the pass looks for itself."""
    with History(tmp_path / "state.db") as history:
        story = Story(dovecot, mailbox, mail_folder, sent_folder, history)
        imap = dovecot.imap_config(folder=mail_folder)
        story.customer_writes("ana", "ana@example.org", "Lamp", "I want a refund", T0)
        story.service_pass(T0)
        story.customer_writes("bo", "bo@example.org", "My plan", "please cancel", T0)
        mailbox.client.noop()  # (the service's view is as fresh as its pass's last command)
        arrived = mailbox.uids_since(history.get_cursor(mail_folder)[1])  # the service's look after its pass
        story.customer_writes("cy", "cy@example.org", "Money back", "I want a refund", T0)
        commands: list[str] = []
        real_noop, real_search = mailbox.client.noop, mailbox.client.search
        monkeypatch.setattr(mailbox.client, "noop", lambda: commands.append("NOOP") or real_noop())
        monkeypatch.setattr(mailbox.client, "search", lambda *a: commands.append("SEARCH") or real_search(*a))

        sync_folder(mailbox, story.labeler, story.engine, imap, dry_run=False, emit=lambda d: None,
                    arrived=arrived)

        assert commands == []
        assert story.keywords("bo") == kw("cancellation", "priority-2")
        assert story.keywords("cy") == set()  # came after the look: the next pass's
        assert history.get_cursor(mail_folder)[1] == story.uids["bo"]
        sync_folder(mailbox, story.labeler, story.engine, imap, dry_run=False, emit=lambda d: None)
        assert "SEARCH" in commands
        assert story.keywords("cy") == kw("refund", "priority-2")

        story.customer_writes("di", "di@example.org", "Refund", "refund please", T0)
        mailbox.select(sent_folder, readonly=True)  # as after a reconnect: not the folder the UIDs were found in
        commands.clear()
        sync_folder(mailbox, story.labeler, story.engine, imap, dry_run=False, emit=lambda d: None,
                    arrived=[story.uids["di"] + 5])
        assert "SEARCH" in commands
        assert story.keywords("di") == kw("refund", "priority-2")


def test_a_pass_that_finds_no_new_mail_leaves_the_cursor_where_it_was(dovecot, mailbox, mail_folder, sent_folder,
                                                                     tmp_path, monkeypatch):
    """The session keeps its SELECT's state from pass to pass, and that UIDNEXT falls
    behind every message triaged since. A pass that finds nothing new (the housekeeping
    pass after deferred sweeps; a wake-up for a flag change) must not move the cursor back
    to it: the next pass would read again every message since the SELECT — hundreds a pass
    on a busy folder, each fetched whole, to be found already triaged."""
    with History(tmp_path / "state.db") as history:
        story = Story(dovecot, mailbox, mail_folder, sent_folder, history)
        imap = dovecot.imap_config(folder=mail_folder)
        pass_ = lambda: sync_folder(mailbox, story.labeler, story.engine, imap, dry_run=False,  # noqa: E731
                                    emit=lambda d: None)
        story.customer_writes("ana", "ana@example.org", "Lamp", "I want a refund", T0)
        pass_()  # the cursor is set; the session's state is the SELECT's, from before bo and cy
        story.customer_writes("bo", "bo@example.org", "My plan", "please cancel", T0)
        story.customer_writes("cy", "cy@example.org", "Money back", "I want a refund", T0)
        pass_()
        assert history.get_cursor(mail_folder)[1] == story.uids["cy"]

        pass_()  # nothing new

        assert history.get_cursor(mail_folder)[1] == story.uids["cy"]
        story.customer_writes("di", "di@example.org", "Refund", "refund please", T0)
        fetched: list[int] = []
        real_fetch = mailbox.fetch_batches
        def fetch_batches(uids, *args, **kwargs):
            fetched.extend(uids := list(uids))
            return real_fetch(uids, *args, **kwargs)
        monkeypatch.setattr(mailbox, "fetch_batches", fetch_batches)
        pass_()
        assert fetched == [story.uids["di"]]
        assert story.keywords("di") == kw("refund", "priority-2")
        assert history.get_cursor(mail_folder)[1] == story.uids["di"]


def test_mail_arriving_during_a_long_pass_is_labelled_before_the_batch_being_decided(
        dovecot, mailbox, mail_folder, sent_folder, tmp_path, monkeypatch):
    """A first run of several batches: a customer who writes while one is decided is
    labelled (and shown) before that batch's labels are stored, and nothing is skipped."""
    with History(tmp_path / "state.db") as history:
        story = Story(dovecot, mailbox, mail_folder, sent_folder, history)
        for n in range(7):
            story.customer_writes(f"old{n}", f"c{n}@example.org", f"Order {n}", "I want a refund", T0)
        decide, arrived = story.engine.decide, []

        def decide_and_meanwhile(raws, *rest):
            decisions = decide(raws, *rest)
            if not arrived:  # while the first batch is decided
                arrived.append(story.customer_writes("new", "new@example.org", "Plan", "please cancel", T0))
            return decisions

        monkeypatch.setattr(story.engine, "decide", decide_and_meanwhile)
        shown: list[list[int]] = []
        calls: list[list[int]] = []
        apply_many, apply_later = story.labeler.apply_many, story.labeler.apply_later
        monkeypatch.setattr(story.labeler, "apply_many",
                            lambda changes: calls.append([c.uid for c in changes]) or apply_many(changes))
        monkeypatch.setattr(story.labeler, "apply_later",
                            lambda changes: calls.append(["later"]) or apply_later(changes))
        sync_folder(mailbox, story.labeler, story.engine, dovecot.imap_config(folder=mail_folder, batch_size=3),
                    dry_run=False, emit=lambda decisions: shown.append([d.uid for d in decisions]))

        new, first_batch = story.uids["new"], [story.uids[f"old{n}"] for n in range(3)]
        assert shown[0] == [new] and shown[1] == first_batch
        # first the new mail, then, while mail arrives, each batch on its own as it is decided
        assert calls == [[new], first_batch, [story.uids[f"old{n}"] for n in range(3, 6)], [story.uids["old6"]]]
        assert story.keywords("new") == kw("cancellation", "priority-2")
        assert all(story.keywords(f"old{n}") == kw("refund", "priority-2") for n in range(7))
        assert history.get_cursor(mail_folder)[1] == new


@pytest.fixture
def two_batch_groups(monkeypatch):
    """Label groups of two batches (of three messages, in these tests): a long pass's
    groups, small enough to write out."""
    monkeypatch.setattr("triage.imap.sync.LABEL_GROUP_BATCHES", 2)


def second_group_never_answered(apply_later, sent: list[list[int]]):
    """A labeller's ``apply_later`` that records the UIDs of each group sent, and whose
    second group is sent but never answered: the connection drops after the commit."""
    def send(changes):
        sent.append([c.uid for c in changes])
        if len(sent) == 2:
            def never_answered():
                raise ImapError("the connection dropped")
            return never_answered
        return apply_later(changes)
    return send


def test_a_long_pass_stores_labels_two_batches_at_a_time_and_what_a_failure_leaves_the_next_pass_stores(
        dovecot, mailbox, mail_folder, sent_folder, tmp_path, monkeypatch, two_batch_groups):
    """A long pass remembers two batches at a time, then has their labels stored while it
    decides the next batch; rows come batch by batch once their labels are stored. When
    the server's answer never comes (the connection drops after the commit), the
    remembered messages are kept as unstored: the next pass stores their labels and
    prints their rows before anything else, and nothing is decided twice."""
    with History(tmp_path / "state.db") as history:
        story = Story(dovecot, mailbox, mail_folder, sent_folder, history)
        for n in range(11):
            story.customer_writes(f"c{n}", f"c{n}@example.org", f"Order {n}", "I want a refund", T0)
        uids = [story.uids[f"c{n}"] for n in range(11)]
        shown: list[list[int]] = []
        sent: list[list[int]] = []
        apply_later = story.labeler.apply_later
        send = second_group_never_answered(apply_later, sent)

        def show(rows):
            shown.append([row.to_json()["uid"] for row in rows])

        monkeypatch.setattr(story.labeler, "apply_later", send)
        imap = dovecot.imap_config(folder=mail_folder, batch_size=3)
        with pytest.raises(ImapError):
            sync_folder(mailbox, story.labeler, story.engine, imap, dry_run=False, emit=show)
        story.engine.rollback()  # as a pass does when the server fails
        assert sent == [uids[:6], uids[6:]]  # batches 1-2, then 3-4 (the last one short)
        assert shown == [uids[:3], uids[3:6]]  # a batch's rows once its labels are stored
        assert history.get_cursor(mail_folder)[1] == uids[-1]  # all remembered ...
        assert [m.uid for m in history.unstored(mail_folder)] == uids[6:]  # ... these as not stored
        assert story.keywords("c0") == story.keywords("c5") == kw("refund", "priority-2")
        assert story.keywords("c6") == set()

        shown.clear()
        monkeypatch.setattr(story.labeler, "apply_later", apply_later)
        sync_folder(mailbox, story.labeler, story.engine, imap, dry_run=False, emit=show)
        assert shown == [uids[6:]]  # printed now, and nothing decided twice
        assert all(story.keywords(f"c{n}") == kw("refund", "priority-2") for n in range(11))
        assert history.unstored(mail_folder) == []



def _two_conversations_across_groups(story: Story) -> None:
    """Eleven messages in batches of three: bo's second message (c4) in the group of his
    first (batches 1-2), ana's second (c7) in the next group (batches 3-4)."""
    ana = story.customer_writes("c0", "ana@example.org", "Lamp", "I want a refund", T0 - timedelta(hours=9))
    bo = story.customer_writes("c1", "bo@example.org", "My plan", "please cancel", T0 - timedelta(hours=8))
    for n in range(2, 11):
        if n == 4:
            story.customer_writes("c4", "bo@example.org", "Re: My plan", "hello? please cancel", T0 - timedelta(hours=6),
                                  in_reply_to=bo)
        elif n == 7:
            story.customer_writes("c7", "ana@example.org", "Re: Lamp", "where is my refund??", T0 - timedelta(hours=3),
                                  in_reply_to=ana)
        else:
            story.customer_writes(f"c{n}", f"c{n}@example.org", f"Order {n}", "I want a refund", T0 - timedelta(hours=7))


def test_a_long_pass_moves_the_waiting_labels_off_earlier_mail_and_a_failure_loses_none(
        dovecot, mailbox, mail_folder, sent_folder, tmp_path, monkeypatch, two_batch_groups):
    """A conversation's waiting labels leave its earlier message when a later batch brings
    the next one, not left to the sweep: in the same group, the message is written once,
    with what it carries in the end; a message of an earlier group is marked unstored and
    written later (see the next test). When the answer never comes, the next pass
    stores every message moved."""
    with History(tmp_path / "state.db") as history:
        story = Story(dovecot, mailbox, mail_folder, sent_folder, history)
        _two_conversations_across_groups(story)
        sent: list[list[int]] = []
        apply_later = story.labeler.apply_later
        send = second_group_never_answered(apply_later, sent)

        monkeypatch.setattr(story.labeler, "apply_later", send)
        imap = dovecot.imap_config(folder=mail_folder, batch_size=3)
        with pytest.raises(ImapError):
            sync_folder(mailbox, story.labeler, story.engine, imap, dry_run=False, emit=lambda rows: None)
        story.engine.rollback()
        assert story.keywords("c1") == kw("cancellation")  # written once, as it ends
        assert kw("cancellation", "priority-2") <= story.keywords("c4")
        assert sent[0].count(story.uids["c1"]) == 1
        assert story.keywords("c0") == kw("refund", "priority-2")  # its move was never stored ...
        assert story.uids["c0"] in [m.uid for m in history.unstored(mail_folder)]  # ... and is remembered

        monkeypatch.setattr(story.labeler, "apply_later", apply_later)
        sync_folder(mailbox, story.labeler, story.engine, imap, dry_run=False, emit=lambda rows: None)
        assert story.keywords("c0") == kw("refund")
        assert kw("refund", "priority-2") <= story.keywords("c7")
        assert history.unstored(mail_folder) == []
        assert list(history.threads_to_sweep(T0)) == []  # nothing left for the sweep
        assert sweep_changes(history, T0, Policy(), "triage/") == []


@pytest.mark.parametrize("deferred_moves", [1, 2_000])
def test_labels_moved_off_an_earlier_groups_mail_are_written_together_at_the_end_of_the_pass(
        dovecot, mailbox, mail_folder, sent_folder, tmp_path, monkeypatch, deferred_moves, two_batch_groups):
    """Writing a message the server renamed since it last read the folder costs Dovecot a
    read of the whole folder, so the moves off an earlier group's mail are not written
    with each group: they wait (marked unstored) until ``DEFERRED_MOVES`` are due, or
    the pass ends, and are written together. Either way the pass ends with the labels
    where they belong and no mark left."""
    monkeypatch.setattr("triage.imap.sync.DEFERRED_MOVES", deferred_moves)
    with History(tmp_path / "state.db") as history:
        story = Story(dovecot, mailbox, mail_folder, sent_folder, history)
        _two_conversations_across_groups(story)
        groups: list[list[int]] = []
        at_once: list[list[int]] = []
        apply_later, apply_many = story.labeler.apply_later, story.labeler.apply_many

        def later(changes):
            groups.append([c.uid for c in changes])
            return apply_later(changes)

        def now(changes):
            at_once.append([c.uid for c in changes])
            return apply_many(changes)

        monkeypatch.setattr(story.labeler, "apply_later", later)
        monkeypatch.setattr(story.labeler, "apply_many", now)
        imap = dovecot.imap_config(folder=mail_folder, batch_size=3)
        sync_folder(mailbox, story.labeler, story.engine, imap, dry_run=False, emit=lambda rows: None)

        ana = story.uids["c0"]
        assert len(groups) == 2
        if deferred_moves == 1:  # due at once: with the group that moved it
            assert ana in groups[1] and not any(ana in uids for uids in at_once)
        else:  # with nothing after it: at the end of the pass
            assert ana not in groups[1] and at_once == [[ana]]
        assert story.keywords("c0") == kw("refund")
        assert kw("refund", "priority-2") <= story.keywords("c7")
        assert history.unstored(mail_folder) == []
        assert sweep_changes(history, T0, Policy(), "triage/") == []


def test_while_mail_keeps_arriving_the_service_holds_moves_off_earlier_mail_until_a_pass_that_sweeps(
        dovecot, mailbox, mail_folder, sent_folder, tmp_path):
    """A pass that holds (the service's while mail keeps arriving, housekeeping put off)
    writes the new mail's labels only: the waiting labels it moves off a conversation's
    earlier message, labelled passes ago, wait in the service's list, marked unstored;
    later holding passes leave them there; the next pass that does not hold writes them.
    A restart (a new list) writes what the marks say: nothing held is lost."""
    with History(tmp_path / "state.db") as history:
        story = Story(dovecot, mailbox, mail_folder, sent_folder, history)
        imap = dovecot.imap_config(folder=mail_folder)
        ana = story.customer_writes("a1", "ana@example.org", "Lamp", "I want a refund", T0 - timedelta(hours=9))
        sync_folder(mailbox, story.labeler, story.engine, imap, dry_run=False, emit=lambda rows: None)
        assert story.keywords("a1") == kw("refund", "priority-2")

        held: list = []
        story.customer_writes("a2", "ana@example.org", "Re: Lamp", "where is my refund??", T0 - timedelta(hours=3),
                              in_reply_to=ana)
        sync_folder(mailbox, story.labeler, story.engine, imap, dry_run=False, emit=lambda rows: None,
                    held_moves=held, hold=True)
        assert kw("refund", "priority-2") <= story.keywords("a2")  # the new mail: written
        assert story.keywords("a1") == kw("refund", "priority-2")  # the move: held ...
        assert [move.uid for move in held] == [story.uids["a1"]]
        assert [m.uid for m in history.unstored(mail_folder)] == [story.uids["a1"]]  # ... and marked

        story.customer_writes("b1", "bo@example.org", "My plan", "please cancel", T0 - timedelta(hours=1))
        sync_folder(mailbox, story.labeler, story.engine, imap, dry_run=False, emit=lambda rows: None,
                    held_moves=held, hold=True)
        assert story.keywords("b1") == kw("cancellation", "priority-2")
        assert story.keywords("a1") == kw("refund", "priority-2")  # still held: the next pass did not write it
        assert [move.uid for move in held] == [story.uids["a1"]]

        restarted: list = []  # a new service: the mark is all that is left
        story.customer_writes("c1", "cy@example.org", "Order 7", "I want a refund", T0 - timedelta(minutes=30))
        sync_folder(mailbox, story.labeler, story.engine, imap, dry_run=False, emit=lambda rows: None,
                    held_moves=restarted, hold=True)
        assert story.keywords("a1") == kw("refund")
        assert restarted == [] and history.unstored(mail_folder) == []
        held = restarted

        story.customer_writes("a3", "ana@example.org", "Re: Lamp", "hello??", T0 - timedelta(minutes=20),
                              in_reply_to=ana)
        sync_folder(mailbox, story.labeler, story.engine, imap, dry_run=False, emit=lambda rows: None,
                    held_moves=held, hold=True)
        waiting = kw("priority-1", "priority-2", "priority-3", "priority-4", "frustrated", "overdue")
        assert story.keywords("a2") & waiting and story.keywords("a3") & waiting  # a2's move: held
        assert [move.uid for move in held] == [story.uids["a2"]]
        sync_folder(mailbox, story.labeler, story.engine, imap, dry_run=False, emit=lambda rows: None,
                    held_moves=held, hold=False)  # a pass that sweeps after it: everything written
        assert kw("refund") <= story.keywords("a2") and not story.keywords("a2") & waiting
        assert story.keywords("a3") & waiting
        assert held == [] and history.unstored(mail_folder) == []
        assert sweep_changes(history, T0, Policy(), "triage/") == []


def test_a_pass_that_puts_its_housekeeping_off_holds_the_moves_and_the_next_that_sweeps_writes_them_first(
        dovecot, mailbox, mail_folder, sent_folder, tmp_path):
    """What the service's passes do while mail keeps arriving (no housekeeping: the
    moves are held) and once it stops (the sweep: they are written before it, so the
    sweep and the corrections read the server as the state says it is)."""
    with History(tmp_path / "state.db") as history:
        story = Story(dovecot, mailbox, mail_folder, sent_folder, history)
        config = Config(imap=dovecot.imap_config(folder=mail_folder), labels=LabelsConfig())
        ana = story.customer_writes("a1", "ana@example.org", "Lamp", "I want a refund", T0 - timedelta(hours=9))
        held: list = []
        triage_pass(mailbox, story.labeler, story.engine, config, dry_run=False, emit=lambda rows: None,
                    held_moves=held)
        story.customer_writes("a2", "ana@example.org", "Re: Lamp", "where is my refund??", T0 - timedelta(hours=3),
                              in_reply_to=ana)
        triage_pass(mailbox, story.labeler, story.engine, config, dry_run=False, emit=lambda rows: None,
                    housekeeping=frozenset(), held_moves=held)
        assert story.keywords("a1") == kw("refund", "priority-2") and len(held) == 1
        triage_pass(mailbox, story.labeler, story.engine, config, dry_run=False, emit=lambda rows: None,
                    housekeeping=frozenset({SWEEP}), held_moves=held)
        assert story.keywords("a1") == kw("refund") and held == []
        assert history.unstored(mail_folder) == []


# -- the whole story -------------------------------------------------------------------------


class Story:
    """The watched folder, Sent, a state file, and the steps the service takes."""

    def __init__(self, dovecot: Dovecot, mailbox: ImapMailbox, folder: str, sent: str, history: History) -> None:
        self.dovecot, self.mailbox, self.folder, self.sent, self.history = dovecot, mailbox, folder, sent, history
        self.engine = Engine(KeywordModel(), CALM, history, Settings(support_addresses=frozenset({SUPPORT})), now=T0)
        self.labeler = make_labeler(mailbox, LabelsConfig())
        self.uids: dict[str, int] = {}

    def customer_writes(self, name: str, sender: str, subject: str, body: str, when: datetime, **kw) -> str:
        message_id, raw = mail(sender, SUPPORT, subject, body, when, **kw)
        self.uids[name] = self.dovecot.append(self.folder, raw)
        return message_id

    def team_sends(self, to: str, subject: str, when: datetime, **kw) -> str:
        """A reply from a team member's personal address, in Sent only."""
        message_id, raw = mail("Jo Smith <jo.smith@gmail.com>", to, subject, "Sorted, see below.", when, **kw)
        self.dovecot.append(self.sent, raw)
        return message_id

    def service_pass(self, now: datetime) -> None:
        self.engine.fixed_now = now
        sync_folder(self.mailbox, self.labeler, self.engine, self.dovecot.imap_config(folder=self.folder),
                    dry_run=False, emit=lambda decisions: None)
        ingest_sent(self.mailbox, self.engine, self.sent, LONG_AGO)
        refresh_answered(self.mailbox, self.history)
        self.engine.commit()
        apply_sweep(self.labeler, self.history, sweep_changes(self.history, now, Policy(), "triage/"))

    def report(self, now: datetime) -> dict[str, tuple[int, bool]]:
        """Waiting conversations by subject: (priority, overdue)."""
        return {c.subject: (c.priority, c.overdue) for c in waiting_conversations(self.history, now, Policy())}

    def keywords(self, name: str) -> set[str]:
        return {f for f in self.dovecot.flags(self.folder, self.uids[name]) if f.startswith("triage_") or f == "\\Flagged"}


def kw(*labels: str) -> set[str]:
    return {keyword_for("triage/" + label) for label in labels}


def test_a_long_pass_makes_each_row_once_and_prints_it_as_made(dovecot, mailbox, mail_folder, sent_folder, tmp_path,
                                                                monkeypatch):
    """On a long pass that prints rows, a remembered batch's rows are made once, when they
    are kept with the marks, and printed as made once the labels are stored: one row a
    message, in order, the same bytes as rows made at printing."""
    import io
    import json

    from triage.engine import Decision
    from triage.output import jsonl_line, write_jsonl

    with History(tmp_path / "state.db") as history:
        story = Story(dovecot, mailbox, mail_folder, sent_folder, history)
        for n in range(7):
            story.customer_writes(f"c{n}", f"c{n}@example.org", f"Order {n}", "I want a refund", T0)
        uids = [story.uids[f"c{n}"] for n in range(7)]
        decided: list[Decision] = []
        decide = story.engine.decide
        monkeypatch.setattr(story.engine, "decide", lambda raws, *rest: decided.extend(found := decide(raws, *rest)) or found)
        made: list[int] = []
        to_json = Decision.to_json
        monkeypatch.setattr(Decision, "to_json", lambda self: made.append(self.uid) or to_json(self))
        out = io.StringIO()
        sync_folder(mailbox, story.labeler, story.engine, dovecot.imap_config(folder=mail_folder, batch_size=3),
                    dry_run=False, emit=lambda rows: write_jsonl(rows, out))

        assert [json.loads(line)["uid"] for line in out.getvalue().splitlines()] == uids
        assert sorted(made) == uids  # batches 1-2 kept and printed as kept, batch 3 made when printed
        monkeypatch.setattr(Decision, "to_json", to_json)
        assert out.getvalue() == "".join(jsonl_line(d) + "\n" for d in sorted(decided, key=lambda d: d.uid))
        assert history.unstored(mail_folder) == []

def test_report_and_server_labels_agree_before_and_after_the_team_replies(dovecot, mailbox, mail_folder, sent_folder,
                                                                         tmp_path):
    with History(tmp_path / "state.db") as history:
        story = Story(dovecot, mailbox, mail_folder, sent_folder, history)
        ana = story.customer_writes("ana", "ana@example.org", "Lamp", "I want a refund", T0 - timedelta(hours=2))
        story.customer_writes("bo", "bo@example.org", "My plan", "please cancel", T0 - timedelta(hours=1))

        # Fresh: both P2 (target 24 h), labelled as the report says.
        story.service_pass(T0)
        assert story.report(T0) == {"Lamp": (2, False), "My plan": (2, False)}
        assert story.keywords("ana") == kw("refund", "priority-2")
        assert story.keywords("bo") == kw("cancellation", "priority-2")

        # A day later both are overdue: the "overdue" label, and their priority stays.
        day = T0 + timedelta(hours=24)  # Ana waited 26 h, Bo 25 h
        story.service_pass(day)
        assert story.report(day) == {"Lamp": (2, True), "My plan": (2, True)}
        assert story.keywords("ana") == kw("refund", "priority-2", "overdue")

        # Jo answers Ana from a personal address, under a new subject: matched by In-Reply-To.
        story.team_sends("ana@example.org", "Your refund is on its way", day + timedelta(hours=1), in_reply_to=ana)
        # Bo's message gets \Answered from some client, but no reply is anywhere: still waiting.
        dovecot_client_flag(dovecot, mail_folder, story.uids["bo"], "\\Answered")
        later = day + timedelta(hours=2)
        story.service_pass(later)
        assert story.report(later) == {"My plan": (2, True)}
        assert story.keywords("ana") == kw("refund")  # waiting labels off, category stays
        assert story.keywords("bo") == kw("cancellation", "priority-2", "overdue")

        # Five reply targets late (six days), Bo's cancellation is lifted to P1, and \Flagged.
        week = T0 + timedelta(days=6, hours=1)
        story.service_pass(week)
        assert story.report(week) == {"My plan": (1, True)}
        assert story.keywords("bo") == kw("cancellation", "priority-1", "overdue") | {"\\Flagged"}

        # Jo writes to Bo on another subject: with \Answered, that is the evidence.
        story.team_sends("bo@example.org", "About your account", week + timedelta(hours=1))
        # Ana writes again: a new wait, labelled afresh.
        story.customer_writes("ana2", "ana@example.org", "Re: Your refund is on its way", "not arrived yet",
                              week + timedelta(hours=2), in_reply_to=ana)
        end = week + timedelta(hours=3)
        story.service_pass(end)
        assert story.report(end) == {"Re: Your refund is on its way": (2, False)}  # its latest subject
        assert story.keywords("bo") == kw("cancellation")
        assert story.keywords("ana2") == kw("refund", "priority-2")
        assert story.keywords("ana") == kw("refund")
        story.engine.close()


def test_answered_set_and_taken_off_by_a_client_is_read_from_what_changed(dovecot, mailbox, mail_folder, sent_folder,
                                                                           tmp_path):
    with History(tmp_path / "state.db") as history:
        story = Story(dovecot, mailbox, mail_folder, sent_folder, history)
        story.customer_writes("ana", "ana@example.org", "Lamp", "I want a refund", T0 - timedelta(hours=2))
        story.customer_writes("bo", "bo@example.org", "My plan", "please cancel", T0 - timedelta(hours=1))
        story.service_pass(T0)

        def recorded() -> dict[int, int]:
            return dict(history.db.execute("SELECT uid, answered_flag FROM messages WHERE direction = 'in'"))

        assert recorded() == {story.uids["ana"]: 0, story.uids["bo"]: 0}
        dovecot_client_flag(dovecot, mail_folder, story.uids["bo"], "\\Answered")
        story.service_pass(T0 + timedelta(minutes=5))
        assert recorded() == {story.uids["ana"]: 0, story.uids["bo"]: 1}
        assert history.waiting_uids(mail_folder, answered_flag=True) == [story.uids["bo"]]  # no reply came: waits
        dovecot_client_flag(dovecot, mail_folder, story.uids["bo"], "\\Answered", remove=True)
        story.service_pass(T0 + timedelta(minutes=10))
        assert recorded() == {story.uids["ana"]: 0, story.uids["bo"]: 0}
        story.engine.close()


def test_a_look_at_answered_syncs_the_folder_once_and_misses_no_change(dovecot, mailbox, mail_folder, sent_folder,
                                                                        tmp_path, monkeypatch):
    """The sweep's look at \\Answered reads HIGHESTMODSEQ and asks which changed messages
    carry the flag and which lost it with one NOOP: on Dovecot's Maildir with mail
    arriving each sync reads the folder again (0.3-0.7 s at 80,000 messages), which new
    mail waits for. Changes another client made just before are all found."""
    with History(tmp_path / "state.db") as history:
        story = Story(dovecot, mailbox, mail_folder, sent_folder, history)
        story.customer_writes("ana", "ana@example.org", "Lamp", "I want a refund", T0 - timedelta(hours=2))
        story.customer_writes("bo", "bo@example.org", "My plan", "please cancel", T0 - timedelta(hours=1))
        story.service_pass(T0)
        dovecot_client_flag(dovecot, mail_folder, story.uids["bo"], "\\Answered")
        story.service_pass(T0 + timedelta(minutes=5))
        assert history.waiting_uids(mail_folder, answered_flag=True) == [story.uids["bo"]]
        dovecot_client_flag(dovecot, mail_folder, story.uids["ana"], "\\Answered")
        dovecot_client_flag(dovecot, mail_folder, story.uids["bo"], "\\Answered", remove=True)
        commands: list[str] = []
        real_noop = mailbox.client.noop
        monkeypatch.setattr(mailbox.client, "noop", lambda: commands.append("NOOP") or real_noop())

        refresh_answered(mailbox, history)

        assert commands == ["NOOP"]
        assert dict(history.db.execute("SELECT uid, answered_flag FROM messages WHERE direction = 'in'")) == {
            story.uids["ana"]: 1, story.uids["bo"]: 0}
        story.engine.close()


def test_a_sweep_writes_its_changes_slice_by_slice(dovecot, mailbox, mail_folder, sent_folder, tmp_path, monkeypatch):
    monkeypatch.setattr("triage.imap.sweep.SWEEP_SLICE", 1)
    with History(tmp_path / "state.db") as history:
        story = Story(dovecot, mailbox, mail_folder, sent_folder, history)
        story.customer_writes("ana", "ana@example.org", "Lamp", "I want a refund", T0 - timedelta(hours=2))
        story.customer_writes("bo", "bo@example.org", "My plan", "please cancel", T0 - timedelta(hours=1))
        story.service_pass(T0)
        day = T0 + timedelta(hours=24)
        story.service_pass(day)  # both late now: two changes, two slices
        assert story.keywords("ana") == kw("refund", "priority-2", "overdue")
        assert story.keywords("bo") == kw("cancellation", "priority-2", "overdue")
        assert "triage/overdue" in history.labels_of(history.db.execute(
            "SELECT id FROM messages WHERE uid = ?", (story.uids["bo"],)).fetchone()[0])
        story.engine.close()


def dovecot_client_flag(dovecot: Dovecot, folder: str, uid: int, flag: str, remove: bool = False) -> None:
    """Set (or take off) a flag the way the team's mail client would."""
    with dovecot.client() as client:
        client.select_folder(folder)
        (client.remove_flags if remove else client.add_flags)([uid], [flag], silent=True)
