"""triage.imap.mailbox against the test Dovecot: finding and fetching mail without a trace."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import pytest
from dovecot import PASSWORD, PASSWORD_ENV, Dovecot, sample_message
from imapclient import IMAPClient

from triage.errors import ImapError
from triage.imap.connection import FetchLost, connect
from triage.imap.mailbox import AT_ONCE_BYTES, ImapMailbox, byte_groups, refusal_kind

SEEN = "\\Seen"

@pytest.fixture
def mailbox(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> Iterator[ImapMailbox]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    client = connect(dovecot.imap_config())
    yield ImapMailbox(client)
    client.logout()


def fill(dovecot: Dovecot, folder: str, count: int, seen: set[int] = frozenset()) -> list[int]:
    """Append ``count`` messages; those whose index is in ``seen`` are \\Seen."""
    return [
        dovecot.append(folder, sample_message(f"<m{i}.{folder}@example.net>"), flags=["\\Seen"] if i in seen else [])
        for i in range(count)
    ]


def test_select_reports_uidvalidity_uidnext_and_permanentflags(dovecot, mail_folder, mailbox) -> None:
    uids = fill(dovecot, mail_folder, 2)
    uidvalidity, uidnext, permanentflags = mailbox.select(mail_folder)
    assert uidvalidity == dovecot.uidvalidity(mail_folder)
    assert uidnext == uids[-1] + 1
    assert {"\\*", "\\Flagged", "\\Seen"} <= permanentflags
    assert mailbox.state.allows_new_keywords and mailbox.state.allows("triage_refund")


def test_uids_since_never_returns_the_last_seen_uid_again(dovecot, mail_folder, mailbox) -> None:
    uids = fill(dovecot, mail_folder, 3)
    mailbox.select(mail_folder)
    assert mailbox.uids_since(0) == uids
    assert mailbox.uids_since(uids[0]) == uids[1:]
    assert mailbox.uids_since(uids[-1]) == []  # "UID n:*" alone would answer the last UID
    assert mailbox.uids_since(uids[-1] + 100) == []


def test_present_answers_which_uids_the_folder_still_has_window_by_window(dovecot, mail_folder, mailbox,
                                                                          monkeypatch) -> None:
    """One SEARCH per window of the UIDs' span that holds any of them, not per UID or per
    few hundred; the UIDs the folder no longer has, and those not asked about, are not
    in the answer."""
    uids = fill(dovecot, mail_folder, 9)
    with dovecot.client() as other:
        other.select_folder(mail_folder)
        other.delete_messages([uids[1], uids[7]])
        other.expunge()
    mailbox.select(mail_folder)
    monkeypatch.setattr("triage.imap.mailbox.PRESENT_WINDOW", 3)
    sent: list[bytes] = []
    real_send = mailbox.client._imap.send
    monkeypatch.setattr(mailbox.client._imap, "send", lambda data: sent.append(data) or real_send(data))
    asked = [uids[0], uids[1], uids[2], uids[7], uids[8]]

    assert mailbox.present(asked) == {uids[0], uids[2], uids[8]}
    assert b"".join(sent).count(b"UID SEARCH UID") == len({uid // 3 for uid in asked})
    assert mailbox.present([]) == set()


def test_mail_arriving_after_the_last_command_is_announced_by_the_next_not_found_by_it(
        dovecot, mail_folder, mailbox) -> None:
    """What the service's look after a pass relies on: a SEARCH answers from the view the
    previous command left, and announces (EXISTS) what arrived since at its end."""
    uids = fill(dovecot, mail_folder, 1)
    mailbox.select(mail_folder)
    mailbox.announced_new_mail()
    late = dovecot.append(mail_folder, sample_message("<late@example.net>"))
    assert mailbox.uids_since(uids[-1]) == []
    assert mailbox.announced_new_mail()
    assert not mailbox.announced_new_mail()  # told once
    assert mailbox.uids_since(uids[-1]) == [late]


def test_what_rarely_changes_is_asked_again_only_when_old(mailbox) -> None:
    """The Sent folders a pass reads: found once, trusted for a while, then looked for again."""
    asked: list[int] = []

    def find() -> list[str]:
        asked.append(1)
        return ["Sent"]

    assert mailbox.remembered("sent folders", 300, find) == ["Sent"]
    assert mailbox.remembered("sent folders", 300, find) == ["Sent"]
    assert len(asked) == 1
    assert mailbox.remembered("sent folders", 0, find) == ["Sent"]  # old at once
    assert len(asked) == 2


def test_uids_since_date_uses_the_arrival_date(dovecot, mail_folder, mailbox) -> None:
    with dovecot.client() as client:
        old = datetime(2020, 1, 1, tzinfo=timezone.utc)
        client.append(mail_folder, sample_message("<old@example.net>"), msg_time=old)
    recent = dovecot.append(mail_folder, sample_message("<new@example.net>"))
    mailbox.select(mail_folder)
    assert mailbox.uids_since_date(date.today() - timedelta(days=30)) == [recent]


def test_fetch_in_batches_returns_the_exact_bytes_and_leaves_seen_alone(dovecot, mail_folder, mailbox, caplog) -> None:
    uids = fill(dovecot, mail_folder, 5, seen={1, 3})
    before = {uid: dovecot.flags(mail_folder, uid) for uid in uids}
    mailbox.select(mail_folder)

    batches = list(mailbox.fetch_batches(uids, batch_size=2))

    assert [len(batch) for batch in batches] == [2, 2, 1]
    mails = [mail for batch in batches for mail in batch]
    assert [mail.uid for mail in mails] == uids
    assert mails[0].raw == sample_message(f"<m0.{mail_folder}@example.net>")
    assert mails[0].mailbox == mail_folder and mails[0].key == str(uids[0])
    assert mails[0].internaldate.tzinfo == timezone.utc
    assert [("\\Seen" in mail.flags) for mail in mails] == [False, True, False, True, False]
    assert {uid: dovecot.flags(mail_folder, uid) for uid in uids} == before
    assert "despite BODY.PEEK" not in caplog.text  # nothing had to be repaired


class WireRewritingClient(IMAPClient):
    """A client whose commands are rewritten on their way to the server (by
    :meth:`rewrite`), so a test can make the real Dovecot behave as a careless or broken
    server would, whichever way triage sends a command (imapclient's ``fetch`` or a
    pipelined one)."""

    def rewrite(self, args: list[str]) -> list[str]:
        return args

    def _create_IMAP4(self):
        imap = super()._create_IMAP4()
        send = imap._command

        def rewritten(name, *args):
            texts = [arg.decode() if isinstance(arg, bytes) else arg for arg in args if arg is not None]
            return send(name, *self.rewrite(texts))

        imap._command = rewritten
        return imap


def uid_set(text: str) -> set[int]:
    """The UIDs of a sequence set such as ``3,5:7``."""
    uids: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition(":")
        uids.update(range(int(low), int(high or low) + 1))
    return uids


class PeekIgnoringClient(WireRewritingClient):
    """Turns BODY.PEEK[] into BODY[], as a careless server would treat it."""

    def rewrite(self, args):
        return [arg.replace("BODY.PEEK[", "BODY[") for arg in args]


@pytest.mark.parametrize("count", [2, 30], ids=["one round trip", "sizes first"])
def test_seen_set_by_the_fetch_is_taken_off_again(dovecot, mail_folder, count) -> None:
    uids = fill(dovecot, mail_folder, count, seen={1})
    client = PeekIgnoringClient(dovecot.host, dovecot.port, ssl=False, timeout=10)
    client.login("support", PASSWORD)
    try:
        mailbox = ImapMailbox(client)
        mailbox.select(mail_folder)
        # 30 messages of at most 1 MB each may be more than 20 MB: sizes are fetched first
        mails = [mail for batch in mailbox.fetch_batches(uids, max_bytes=1_000_000, batch_bytes=20_000_000)
                 for mail in batch]
    finally:
        client.logout()
    assert [("\\Seen" in mail.flags) for mail in mails] == [i == 1 for i in range(count)]
    assert [("\\Seen" in dovecot.flags(mail_folder, uid)) for uid in uids] == [i == 1 for i in range(count)]


class PersonOpeningClient(WireRewritingClient):
    """While triage reads, a person opens the message ``opened`` in their mail client (on
    a connection of their own: ``\\Seen`` is set on the server). They do it just before the
    first FETCH sent after the sizes FETCH whose items contain ``when`` (with ``"BODY"``:
    once the bodies are asked for; with ``""``: right after the sizes came)."""

    opened = 0
    when = "BODY"

    def __init__(self, dovecot: Dovecot, folder: str) -> None:
        super().__init__(dovecot.host, dovecot.port, ssl=False, timeout=10)
        self.dovecot, self.folder = dovecot, folder
        self.sizes_asked = self.done = False

    def rewrite(self, args):
        if args[:1] == ["FETCH"]:
            if "RFC822.SIZE" in args[2]:
                self.sizes_asked = True
            elif self.sizes_asked and not self.done and self.when in args[2]:
                self.done = True
                with self.dovecot.client() as person:
                    person.select_folder(self.folder)
                    person.add_flags([self.opened], [SEEN])
        return args


@pytest.mark.parametrize("count, read_before", [(3, False), (1, True)],
                         ids=["with others unread", "alone, on a connection that read mail before"])
def test_seen_set_by_a_person_while_the_bodies_are_read_stays(dovecot, mail_folder, count, read_before) -> None:
    """Dovecot honours BODY.PEEK: a ``\\Seen`` that appears during the reading is a
    person's. Taken off again, the team saw the mail unread though someone had read it."""
    earlier = fill(dovecot, mail_folder, 1)
    uids = fill(dovecot, mail_folder, count)
    client = PersonOpeningClient(dovecot, mail_folder)
    client.opened = uids[0]
    client.login("support", PASSWORD)
    try:
        mailbox = ImapMailbox(client)
        mailbox.select(mail_folder)
        if read_before:
            client.done = True  # not during this fetch
            list(mailbox.fetch_batches(earlier))
            client.done = client.sizes_asked = False
        mails = [mail for batch in mailbox.fetch_batches(uids, max_bytes=1_000_000, batch_bytes=1_000)
                 for mail in batch]  # batch_bytes below AT_ONCE_BYTES: the sizes first
    finally:
        client.logout()
    assert client.done and [mail.uid for mail in mails] == uids
    assert [SEEN in dovecot.flags(mail_folder, uid) for uid in uids] == [True] + [False] * (count - 1)


def test_on_a_server_that_ignores_peek_a_seen_set_after_the_sizes_stays(dovecot, mail_folder) -> None:
    """A server that sets ``\\Seen`` on BODY.PEEK gets it taken off again, but only where it
    was not there just before the body was read: the sizes of a chunk come a round trip
    (or many, for a big chunk) earlier, and a person may have opened a message since."""
    uids = fill(dovecot, mail_folder, 3)

    class Client(PersonOpeningClient):
        when = ""

        def rewrite(self, args):
            return PeekIgnoringClient.rewrite(self, super().rewrite(args))

    client = Client(dovecot, mail_folder)
    client.opened = uids[1]
    client.login("support", PASSWORD)
    try:
        mailbox = ImapMailbox(client)
        mailbox.select(mail_folder)
        mails = [mail for batch in mailbox.fetch_batches(uids, max_bytes=1_000_000, batch_bytes=1_000)
                 for mail in batch]
    finally:
        client.logout()
    assert client.done and [mail.uid for mail in mails] == uids
    assert [SEEN in dovecot.flags(mail_folder, uid) for uid in uids] == [False, True, False]


class OneBrokenMessageClient(WireRewritingClient):
    """A server that refuses every body FETCH that includes UID ``broken``, as Dovecot
    does for a message file it cannot read (here by an item it does not know: BAD)."""

    broken = 0

    def rewrite(self, args):
        if args[:1] == ["FETCH"] and self.broken in uid_set(args[1]) and "BODY" in args[2]:
            return [*args[:2], args[2].replace("(", "(X-BROKEN ", 1)]
        return args


def fetch_with_one_refused(dovecot, folder: str, batch_bytes: int, refused: int = 0,
                           **options) -> tuple[list[int], list]:
    """Four messages in ``folder``, fetched in batches of two by a client whose FETCHes of
    the second the server refuses (without a response code; ``refused``: as many earlier
    passes did): (their UIDs, the batches)."""
    from triage.imap.refusals import Refusals

    uids = fill(dovecot, folder, 4)
    client = OneBrokenMessageClient(dovecot.host, dovecot.port, ssl=False, timeout=10)
    client.broken = uids[1]
    client.login("support", PASSWORD)
    try:
        mailbox = ImapMailbox(client)
        mailbox.select(folder)
        if options.get("refused_unreadable"):  # a pass's messages: refusals are counted
            mailbox.refusals = Refusals(folder, mailbox.state.uidvalidity, {uids[1]: refused} if refused else {})
        return uids, list(mailbox.fetch_batches(uids, batch_size=2, max_bytes=1_000_000, batch_bytes=batch_bytes,
                                                **options))
    finally:
        client.logout()


@pytest.mark.parametrize("batch_bytes", [25_000_000, 400_000], ids=["one round trip", "sizes first"])
def test_a_message_the_server_cannot_deliver_is_skipped(dovecot, mail_folder, caplog, batch_bytes) -> None:
    uids, batches = fetch_with_one_refused(dovecot, mail_folder, batch_bytes)
    assert [[mail.uid for mail in batch] for batch in batches] == [[uids[0]], uids[2:]]
    assert f"fetching UIDs {uids[1]} in {mail_folder}: " in caplog.text
    assert "skipping a message the server cannot deliver" in caplog.text


@pytest.mark.parametrize("batch_bytes", [25_000_000, 400_000], ids=["one round trip", "sizes first"])
def test_a_message_refused_without_a_reason_is_left_for_the_next_pass_and_counted(dovecot, mail_folder,
                                                                                   batch_bytes) -> None:
    uids, batches = fetch_with_one_refused(dovecot, mail_folder, batch_bytes, refused_unreadable=True, refused=1)
    assert [mail.uid for batch in batches for mail in batch] == [uids[0], *uids[2:]]


@pytest.mark.parametrize("batch_bytes", [25_000_000, 400_000], ids=["one round trip", "sizes first"])
def test_a_message_the_server_refuses_is_a_stand_in_for_a_pass(dovecot, mail_folder, batch_bytes) -> None:
    """The messages a pass decides: one the server refuses to deliver alone comes back as
    a stand-in without bytes, decided as unreadable (a row and a label), not left out —
    refused without a response code, on the third pass that refuses it."""
    uids, batches = fetch_with_one_refused(dovecot, mail_folder, batch_bytes, refused_unreadable=True, refused=2)
    mails = [mail for batch in batches for mail in batch]
    assert [mail.uid for mail in mails] == uids
    stand_in = mails[1]
    assert stand_in.raw == b"" and stand_in.unreadable.startswith("the server refused to deliver it: BAD")
    assert stand_in.unreadable.endswith("(refused on 3 passes)")
    assert stand_in.internaldate is not None
    assert all(mail.unreadable is None for mail in mails if mail is not stand_in)


@pytest.mark.parametrize("batch_bytes", [25_000_000, 400_000], ids=["one round trip", "sizes first"])
def test_a_body_the_server_answers_nil_is_a_stand_in_for_a_pass(dovecot, mail_folder, batch_bytes) -> None:
    """``BODY[] NIL`` in a FETCH answer (reported for Exchange): the message was left out
    without a word, and the cursor passed it. It is decided unreadable, a row and a label."""
    from imapproxy import BodyAsNil, ImapProxy

    uids = fill(dovecot, mail_folder, 3)
    with ImapProxy(dovecot.port, from_server=BodyAsNil(uids[1])) as proxy:
        client = IMAPClient(dovecot.host, proxy.port, ssl=False, timeout=10)
        client.login("support", PASSWORD)
        try:
            mailbox = ImapMailbox(client)
            mailbox.select(mail_folder)
            mails = [mail for batch in mailbox.fetch_batches(uids, max_bytes=1_000_000, batch_bytes=batch_bytes,
                                                              refused_unreadable=True) for mail in batch]
        finally:
            client.logout()
    assert [mail.uid for mail in mails] == uids
    assert mails[1].raw == b"" and mails[1].unreadable == "the server sent no content for it (BODY[] NIL)"
    assert mails[0].raw and mails[2].raw and mails[0].unreadable is None


@pytest.mark.parametrize("answer, kind", [
    ("NO [EXPUNGEISSUED] Some of the requested messages no longer exist", "gone"),
    ("NO [NONEXISTENT] No such message", "gone"),
    ("NO [UNAVAILABLE] Try again later", "later"),
    ("NO [LIMIT] Too many fetches", "later"),
    ("NO [SERVERBUG] Internal error occurred. Refer to server log for more information.", "bug"),
    ("NO [CORRUPTION] Cannot read the message", "broken"),
    ("BAD [PARSE] Invalid fetch item", "broken"),
    ("NO Some messages could not be FETCHed (Failure)", "unsure"),
    ("BAD Error in IMAP command", "unsure"),
    ("NO Message [1] could not be read", "unsure"),
])
def test_what_a_refused_fetch_means(answer: str, kind: str) -> None:
    assert refusal_kind(answer) == kind


@pytest.mark.parametrize("batch_bytes", [25_000_000, 15_000], ids=["one round trip", "sizes first"])
def test_a_message_over_max_bytes_is_fetched_only_up_to_it(dovecot, mail_folder, mailbox, caplog,
                                                           batch_bytes) -> None:
    big_body = "I attach the whole log.\n" + "x" * 76 + "\n"
    big = sample_message("<big@example.net>", body=big_body * 2000)
    small = sample_message("<small@example.net>")
    big_uid = dovecot.append(mail_folder, big)
    small_uid = dovecot.append(mail_folder, small)
    mailbox.select(mail_folder)

    batches = mailbox.fetch_batches([big_uid, small_uid], max_bytes=10_000, batch_bytes=batch_bytes)
    mails = {mail.uid: mail for batch in batches for mail in batch}

    assert mails[big_uid].raw == big[:10_000]
    assert mails[small_uid].raw == small
    assert "\\Seen" not in dovecot.flags(mail_folder, big_uid)
    assert "despite BODY.PEEK" not in caplog.text


class CommandLoggingClient(WireRewritingClient):
    """Notes when each command is sent and when its answer is read."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.events: list[str] = []
        complete = self._imap._command_complete
        self._imap._command_complete = lambda name, tag: self.events.append("answer") or complete(name, tag)

    def rewrite(self, args):
        self.events.append(" ".join(args[:1] + [a for a in args[2:] if "BODY" in a][:1]))
        return args


def test_a_few_messages_take_one_round_trip(dovecot, mail_folder) -> None:
    """The service's batches: sizes and bodies (each up to AT_ONCE_BYTES) asked for back
    to back, both answers read after; a batch whose bodies could pass ``batch_bytes``
    that way, or with a body over AT_ONCE_BYTES, asks for the sizes first."""
    big = sample_message(f"<big.{mail_folder}@example.net>", body="a long log line\n" * (AT_ONCE_BYTES // 16 + 10))
    uids = [*fill(dovecot, mail_folder, 3), dovecot.append(mail_folder, big)]
    client = CommandLoggingClient(dovecot.host, dovecot.port, ssl=False, timeout=10)
    client.login("support", PASSWORD)
    runs = []
    try:
        mailbox = ImapMailbox(client)
        mailbox.select(mail_folder)
        for chunk, batch_bytes in ((uids[:3], 25_000_000), (uids[:3], 3 * AT_ONCE_BYTES - 1), (uids, 25_000_000)):
            client.events.clear()
            mails = [mail for batch in mailbox.fetch_batches(chunk, max_bytes=1_000_000, batch_bytes=batch_bytes)
                     for mail in batch]
            runs.append((list(client.events), [mail.uid for mail in mails], mails))
    finally:
        client.logout()
    at_once, sizes_first, with_big = runs
    assert at_once[0] == ["FETCH", f"FETCH (BODY.PEEK[]<0.{AT_ONCE_BYTES}> FLAGS)", "answer", "answer"]
    # the bodies' own round trip asks for the flags just before them (see _restore_seen)
    assert sizes_first[0] == ["FETCH", "answer", "FETCH", "FETCH (BODY.PEEK[] FLAGS)", "answer", "answer"]
    assert at_once[1] == sizes_first[1] == uids[:3]
    assert with_big[0] == [*at_once[0], *sizes_first[0][2:]]  # tried at once, then the bodies by their sizes
    assert with_big[1] == uids and with_big[2][-1].raw == big  # the big one whole


def test_expunged_uids_are_left_out(dovecot, mail_folder, mailbox) -> None:
    uids = fill(dovecot, mail_folder, 2)
    mailbox.select(mail_folder)
    assert [mail.uid for batch in mailbox.fetch_batches([*uids, uids[-1] + 50]) for mail in batch] == uids


def test_message_ids_found_by_header_search(dovecot, mail_folder, mailbox) -> None:
    uids = fill(dovecot, mail_folder, 3)
    mailbox.select(mail_folder)
    assert mailbox.message_ids(uids[:1]) == {uids[0]: f"<m0.{mail_folder}@example.net>"}
    wanted = [f"<m2.{mail_folder}@example.net>", "<absent@example.net>", f"<m0.{mail_folder}@example.net>"]
    assert mailbox.search_message_ids(wanted) == {uids[0]: wanted[2], uids[2]: wanted[0]}


def test_message_ids_with_braces_parentheses_and_quotes_are_searched_as_quoted_strings(dovecot, mail_folder,
                                                                                          mailbox) -> None:
    """``{``, ``}``, ``(`` and ``"`` are valid in a Message-ID; sent bare, Dovecot refused
    the whole SEARCH ("Invalid characters in atom"), and with it every pass. An ID no
    quoted string can carry is left out, and the others are still found."""
    odd = [f"<{{a1b2}}order.{mail_folder}@shop.example>", f"<(paren).{mail_folder}@x.example>",
           f'<"quoted\\back".{mail_folder}@x.example>']
    uids = [dovecot.append(mail_folder, sample_message(message_id)) for message_id in odd]
    mailbox.select(mail_folder)
    assert mailbox.search_message_ids([*odd, "<bad\x01id@x.example>", "<" + "x" * 5000 + "@x.example>"]) == dict(
        zip(uids, odd))


def test_uidvalidity_change_is_visible_on_select(dovecot, mail_folder, mailbox) -> None:
    fill(dovecot, mail_folder, 2)
    first = dovecot.uidvalidity(mail_folder)
    new = dovecot.reset_uidvalidity(mail_folder)
    assert new != first
    assert mailbox.select(mail_folder).uidvalidity == new


def test_selecting_the_selected_folder_again_refreshes_without_a_select(dovecot, mail_folder, mailbox,
                                                                        monkeypatch) -> None:
    """The service's next pass: a NOOP, not a SELECT that makes the server re-read a big
    folder; new mail is seen all the same. (A folder renumbered under a session that
    has it selected: the server ends the session, and the service reconnects.)"""
    uids = fill(dovecot, mail_folder, 2)
    first = mailbox.select(mail_folder)
    selects = []
    real_select = mailbox.client.select_folder
    monkeypatch.setattr(mailbox.client, "select_folder", lambda *a, **k: selects.append(a) or real_select(*a, **k))
    dovecot.append(mail_folder, sample_message("<late@example.net>"))
    again = mailbox.select(mail_folder)
    assert selects == [] and again.uidvalidity == first.uidvalidity
    assert mailbox.uids_since(uids[-1]) == [uids[-1] + 1]  # the NOOP let the session see it
    mailbox.select(mail_folder, readonly=True)  # another mode: a real EXAMINE
    assert len(selects) == 1
    with mailbox.visiting("INBOX"):
        pass
    assert len(selects) == 3  # there and back: the folder is selected anew


def test_visiting_another_folder_comes_back(dovecot, mail_folder, mailbox) -> None:
    uids = fill(dovecot, mail_folder, 1)
    mailbox.select(mail_folder)
    with mailbox.visiting("INBOX"):
        assert mailbox.uids_since(0) == []
    assert mailbox.folder == mail_folder
    assert mailbox.uids_since(0) == uids
    with pytest.raises(ImapError, match="selecting no-such-folder"), mailbox.visiting("no-such-folder"):
        pass
    assert mailbox.uids_since(0) == uids  # a failed SELECT deselects; the old folder is back


def test_an_error_in_the_visited_folder_is_not_hidden_by_the_way_back(dovecot, mail_folder, monkeypatch) -> None:
    """A connection lost in the visited folder fails the SELECT of the folder before too:
    the block's error is the one reported (a FetchLost names the messages whose reading
    broke the connection, which the next pass reads alone)."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    mailbox = ImapMailbox(connect(dovecot.imap_config()))
    mailbox.select(mail_folder)
    lost = FetchLost("fetching headers in INBOX: connection lost", "INBOX", 1, [7])
    with pytest.raises(FetchLost) as raised, mailbox.visiting("INBOX"):
        mailbox.client.shutdown()
        raise lost
    assert raised.value is lost


def test_byte_groups_bound_the_bytes_per_fetch() -> None:
    sizes = {1: 400, 2: 400, 3: 5_000, 4: 100, 5: 100}
    assert list(byte_groups([1, 2, 3, 4, 5], sizes, max_bytes=1_000, batch_bytes=1_000)) == [[1, 2], [3], [4, 5]]
    assert list(byte_groups([3], sizes, max_bytes=10_000, batch_bytes=1_000)) == [[3]]  # never an empty group
    assert list(byte_groups([], sizes, max_bytes=1, batch_bytes=1)) == []
