"""A folder renumbered under the UIDVALIDITY it had (a restore from a backup, a migration
tool that kept it; RFC 3501 forbids it, servers do it): UIDs went back, and the ones
triage knew name other messages. Against the real Dovecot (tests/dovecot.py renumbers a
Maildir and puts its UIDVALIDITY back)."""

from __future__ import annotations

from datetime import timedelta

from dovecot import Dovecot
from imapproxy import ImapProxy
from test_imap_sent import LONG_AGO, SUPPORT, T0, mail, mailbox  # noqa: F401 - fixtures
from test_imap_service import (Box, box, message, on_server, password_env, triage_keywords,  # noqa: F401 - fixtures
                               write_config)

from tests.test_engine import CALM, KeywordModel
from triage.engine import Engine, Settings
from triage.history import History
from triage.imap.connection import connect
from triage.imap.mailbox import ImapMailbox
from triage.imap.renumbering import renumbered_in_place
from triage.imap.sent import ingest_sent


def test_mail_under_uids_triage_knew_as_other_messages_is_triaged_and_labelled_alone(box: Box) -> None:
    """Two of three triaged messages moved out, two new ones arrived, then the folder was
    renumbered 1..3 under the same UIDVALIDITY: the cursor (3) stood above the new mail,
    which was never triaged, and UID 1, cy's message, was taken for ann's."""
    ids = {}
    for tag in ("ann", "bob", "cy"):
        ids[tag], raw = message(tag, sender=f"{tag}@example.net", subject=f"order of {tag}")
        box.append(raw)
    code, rows, _ = box.once()
    assert (code, len(rows)) == (0, 3)
    cy = {row["message_id"]: row for row in rows}[ids["cy"]]
    with box.dovecot.client() as client:
        client.select_folder(box.folder)
        gone = [row["uid"] for row in rows if row["message_id"] != ids["cy"]]
        client.delete_messages(gone)
        client.uid_expunge(gone)
    new = dict(message(tag, sender=f"{tag}@example.net", subject=f"order of {tag}") for tag in ("dan", "eve"))
    for raw in new.values():
        box.append(raw)
    box.dovecot.renumber_keeping_uidvalidity(box.folder)
    assert box.dovecot.uids(box.folder) == [1, 2, 3]

    code, rows, err = box.once("-v")

    assert code == 0 and "Traceback" not in err, err
    assert sorted(row["message_id"] for row in rows) == sorted(new)
    assert "renumbered its messages under the same UIDVALIDITY" in err
    for uid, keywords in on_server(rows).items():
        assert triage_keywords(box.flags(uid)) == keywords
    cy_uid = next(uid for uid in box.dovecot.uids(box.folder) if uid not in {row["uid"] for row in rows})
    assert triage_keywords(box.flags(cy_uid)) == triage_keywords(set(on_server([cy])[cy["uid"]]))
    assert box.once() == (0, [], "")


def test_a_server_refusing_the_look_at_known_uids_still_has_its_mail_triaged(box: Box, dovecot: Dovecot) -> None:
    """The look is one FETCH of a few Message-IDs; refused (a message the server will not
    give, for one), it says nothing either way, and must not fail every pass."""
    box.append(message("ann")[1])
    assert box.once()[0] == 0

    def refuse(connection, line: bytes) -> bytes | None:
        if b"HEADER.FIELDS (MESSAGE-ID)" in line and b" UID FETCH " in line:
            connection.to_client(line.split(b" ", 1)[0] + b" NO [SERVERBUG] cannot read that\r\n")
            return None
        return line

    uid = box.append(message("bob", sender="bob@example.net")[1])
    with ImapProxy(dovecot.port, from_client=refuse) as proxy:
        write_config(box.config, dovecot, box.folder, port=proxy.port)
        code, rows, err = box.once()
    assert (code, [row["uid"] for row in rows]) == (0, [uid]), err


def test_a_team_reply_in_a_sent_folder_whose_uids_went_back_is_read(mailbox, sent_folder, dovecot, tmp_path):
    """Sent kept its UIDVALIDITY and numbered its mail from 1 again: its UIDNEXT fell
    below the cursor, and every reply filed there until the UIDs passed it again was
    never read (the customer kept waiting for an answer they had)."""
    with History(tmp_path / "s.db") as history:
        engine = Engine(KeywordModel(), CALM, history, Settings(support_addresses=frozenset({SUPPORT})), now=T0)
        old = [dovecot.append(sent_folder, mail(f"Jo <{SUPPORT}>", f"c{i}@example.org", "Hi", "x", T0)[1])
               for i in range(3)]
        assert ingest_sent(mailbox, engine, sent_folder, LONG_AGO) == 3
        engine.commit()
        with dovecot.client() as client:
            client.select_folder(sent_folder)
            client.delete_messages(old[1:])
            client.uid_expunge(old[1:])
        dovecot.renumber_keeping_uidvalidity(sent_folder)
        reply = dovecot.append(sent_folder, mail(f"Jo <{SUPPORT}>", "ana@example.org", "Re: refund", "done",
                                                 T0 + timedelta(hours=1))[1])
        assert reply < old[-1]
        fresh = ImapMailbox(connect(dovecot.imap_config()))
        try:
            fresh.select(mailbox.folder)
            assert ingest_sent(fresh, engine, sent_folder, LONG_AGO) == 1
            engine.commit()
            assert history.get_cursor(sent_folder)[1] == reply
            assert ingest_sent(fresh, engine, sent_folder, LONG_AGO) == 0
        finally:
            fresh.client.logout()
            engine.close()


def test_what_tells_a_folder_renumbered_in_place() -> None:
    """UIDNEXT not above the last UID triaged, or a UID triage knew holding a message
    with another Message-ID; a UID gone (moved out, expunged) says nothing."""
    known = {7: "<a@x>", 9: "<b@x>"}
    assert not renumbered_in_place(9, 10, known, known)
    assert not renumbered_in_place(9, 12, known, {9: "<b@x>"})  # UID 7 expunged
    assert not renumbered_in_place(9, 12, known, {})  # all gone
    assert renumbered_in_place(9, 12, known, {7: "<a@x>", 9: "<c@x>"})
    assert renumbered_in_place(9, 9, known, known)
    assert renumbered_in_place(9, 3, {}, {})
    assert not renumbered_in_place(0, 1, {}, {})
