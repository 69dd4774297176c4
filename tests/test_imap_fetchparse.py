"""triage.imap.fetchparse: FETCH answers read by regular expression give exactly what
imapclient's parser gives — on answers of every shape (the unusual ones go to imapclient),
and on a real Dovecot's answers to the FETCHes triage sends."""
from __future__ import annotations

from pathlib import Path

import pytest
from dovecot import PASSWORD, PASSWORD_ENV, sample_message
from imapclient.response_parser import parse_fetch_response

import triage.imap.fetchparse as fetchparse
from triage.imap.connection import connect
from triage.imap.fetchparse import parse_fetch
from triage.imap.mailbox import fetch
from triage.imap.pipeline import answers, send

BODY = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody with ) and ( and {3}\r\n"

USUAL = {
    "sizes, flags, date": [b'5 (UID 5 RFC822.SIZE 1234 FLAGS (\\Seen $Label1 triage_refund) '
                           b'INTERNALDATE "06-Dec-2026 10:00:00 +0100")'],
    "no flags": [b'7 (UID 9 RFC822.SIZE 10 FLAGS () INTERNALDATE " 6-Dec-2026 10:00:00 -0500")'],
    "body, flags before": [(b"1 (UID 3 FLAGS (\\Seen) BODY[] {%d}" % len(BODY), BODY), b")"],
    "body, flags after": [(b"1 (UID 3 BODY[] {%d}" % len(BODY), BODY), b" FLAGS (\\Answered))"],
    "body first": [(b"2 (BODY[] {%d}" % len(BODY), BODY), b" UID 4 FLAGS ())"],
    "several": [(b"1 (UID 3 FLAGS () BODY[] {%d}" % len(BODY), BODY), b")",
                b"1 (UID 3 FLAGS (\\Seen))",
                (b"2 (UID 8 FLAGS (\\Flagged) BODY[] {0}", b""), b")"],
    "flags only": [b"3 (UID 12 FLAGS (\\Seen \\Flagged))", b"4 (FLAGS (\\Seen) UID 13)"],
    "a date nobody can read": [b'3 (UID 3 INTERNALDATE "yesterday")'],
    # With CONDSTORE on, the answers to triage's own STOREs (read with the next FETCH):
    "a flag change's MODSEQ": [b"1005 (UID 1005 MODSEQ (209))", b"6 (UID 6 FLAGS (\\Seen) MODSEQ (12345678901234))"],
    "a body beside a MODSEQ": [b"4 (UID 4 MODSEQ (7))", (b"2 (UID 8 FLAGS () BODY[] {%d}" % len(BODY), BODY), b")"],
    # A server with no content to give for a message (reported for Exchange):
    "a NIL body": [b"3 (UID 3 BODY[] NIL FLAGS (\\Seen))"],
    "a NIL body after the flags": [b"3 (UID 3 FLAGS () BODY[] NIL)", (b"4 (UID 4 FLAGS () BODY[] {3}", b"abc"), b")"],
}

UNUSUAL = {
    "NIL in the flags": [b"3 (UID 3 FLAGS (NIL \\Seen))"],
    "a keyword of digits": [b"3 (UID 3 FLAGS (\\Seen 2024))"],
    "a partial body": [(b"1 (UID 3 BODY[]<0> {%d}" % len(BODY), BODY), b" FLAGS ())"],
    "another item": [b"3 (UID 3 X-GM-MSGID 12345 FLAGS (\\Seen))"],
    "a MODSEQ without parentheses": [b"3 (UID 3 MODSEQ 12345)"],
    "a MODSEQ of two numbers": [b"3 (UID 3 MODSEQ (1 2))"],
    "a flag list of digits as MODSEQ": [b"3 (UID 3 MODSEQ (\\Seen))"],
    "lower case": [b"3 (uid 3 flags (\\Seen))"],
    "an escaped quote": [b'3 (UID 3 INTERNALDATE "06-Dec-2026 \\"10:00:00 +0000")'],
    "a header literal": [(b"1 (UID 3 BODY[HEADER] {%d}" % len(BODY), BODY), b")"],
    "two literals": [(b"1 (UID 3 BODY[HEADER] {3}", b"abc"), (b" BODY[] {3}", b"def"), b")"],
    "an item twice": [b"3 (UID 3 FLAGS (\\Seen) FLAGS ())"],
    "items not apart": [b"3 (UID 3FLAGS (\\Seen))"],
    "a literal's rest not apart": [(b"1 (UID 3 BODY[] {3}", b"abc"), b"FLAGS ())"],
    "nothing": [None],
    "a NIL partial body": [b"3 (UID 3 BODY[]<0> NIL FLAGS ())"],
    "NIL for a number": [b"3 (UID 3 RFC822.SIZE NIL)"],
    "NIL for flags": [b"3 (UID 3 FLAGS NIL)"],
    "a NIL body beside a literal one": [(b"1 (UID 3 BODY[] NIL BODY[] {3}", b"abc"), b")"],
}


ANSWER = [b"3 (UID 5 FLAGS (\\Seen))"]
UNUSUAL_ANSWER = [b"3 (UID 5 X-GM-MSGID 1 FLAGS (\\Seen))", (b"4 (UID 9 BODY[HEADER] {3}", b"abc"), b")"]
CHANGE = [b"5 (FLAGS (\\Deleted triage_cancellation))"]
WITHOUT_A_UID = {  # (the answer, the same without the responses that carry no UID)
    "alone": (CHANGE, []),
    "after an answer": (ANSWER + CHANGE, ANSWER),
    "before an answer": (CHANGE + ANSWER, ANSWER),
    "beside an unusual answer": (UNUSUAL_ANSWER[:1] + CHANGE + UNUSUAL_ANSWER[1:], UNUSUAL_ANSWER),
}
"""Another client's flag change as a server tells it to a session that has the folder
open: a sequence number, no UID (Dovecot, in the answer to the next command)."""


@pytest.mark.parametrize("normalise", [True, False])
@pytest.mark.parametrize("shape", WITHOUT_A_UID)
def test_by_uid_a_response_without_a_uid_is_left_out_not_taken_for_the_uid_of_its_number(shape, normalise) -> None:
    """imapclient keys a response without a UID by its sequence number, and merges it
    into the UID of that number: another message's flags read as UID 5's (a correction
    nobody made). By sequence number it is read as imapclient reads it."""
    data, answered = WITHOUT_A_UID[shape]
    assert outcome(parse_fetch, data, normalise, True) == outcome(parse_fetch_response, answered or [None], normalise,
                                                                   True)
    assert outcome(parse_fetch, data, normalise, False) == outcome(parse_fetch_response, data, normalise, False)


@pytest.mark.parametrize("uid_is_key", [True, False])
@pytest.mark.parametrize("normalise", [True, False])
@pytest.mark.parametrize("shape", [*USUAL, *UNUSUAL])
def test_every_shape_reads_as_imapclient_reads_it(shape, normalise, uid_is_key) -> None:
    data = {**USUAL, **UNUSUAL}[shape]
    assert outcome(parse_fetch, data, normalise, uid_is_key) == outcome(parse_fetch_response, data, normalise,
                                                                         uid_is_key)


def outcome(parse, data: list, *args) -> object:
    """What ``parse`` returns, or the kind of error it raises (imapclient refuses some)."""
    try:
        return parse(list(data), *args)
    except Exception as exc:
        return type(exc)


@pytest.mark.parametrize("shape", USUAL)
def test_the_usual_shapes_never_need_imapclients_parser(shape, monkeypatch) -> None:
    def slow(*args):
        raise AssertionError("handed to imapclient")
    monkeypatch.setattr(fetchparse, "parse_fetch_response", slow)
    assert parse_fetch(list(USUAL[shape])) is not None


def test_a_real_servers_answers_read_as_imapclient_reads_them(dovecot, mail_folder, monkeypatch) -> None:
    fixtures = Path(__file__).parent / "fixtures"
    raws = [p.read_bytes() for p in sorted(fixtures.glob("*.eml")) if p.stat().st_size] + [sample_message("<a@example.net>")]
    for n, raw in enumerate(raws):
        dovecot.append(mail_folder, raw, flags=[["\\Seen"], [], ["$Label1", "triage_refund", "\\Flagged"]][n % 3])
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    client = connect(dovecot.imap_config())
    try:
        client.normalise_times = False
        client.select_folder(mail_folder)
        uids = client.search("ALL")
        handed_over = []
        monkeypatch.setattr(fetchparse, "parse_fetch_response",
                            lambda *args: handed_over.append(args) or parse_fetch_response(*args))
        for items, usual in ((["RFC822.SIZE", "FLAGS", "INTERNALDATE"], True), (["BODY.PEEK[]", "FLAGS"], True),
                             (["FLAGS"], True), (["BODY.PEEK[]<0.100>", "FLAGS"], False)):
            expected = client.fetch(uids, items)
            assert len(expected) == len(raws)
            handed_over.clear()
            assert fetch(client, uids, items) == expected
            assert bool(handed_over) is not usual
        assert fetch(client, [], ["FLAGS"]) == {}
    finally:
        client.logout()


def test_the_answers_to_triages_stores_under_condstore_need_no_imapclient(dovecot, mail_folder, monkeypatch) -> None:
    """With CONDSTORE on (triage's sessions ask for it), a STORE's answers carry MODSEQ and
    wait in imaplib for the next FETCH: they once sent every such FETCH answer, a batch of
    bodies with them, to imapclient's slow parser."""
    for n in range(3):
        dovecot.append(mail_folder, sample_message(f"<m{n}@example.net>"))
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    client = connect(dovecot.imap_config())
    try:
        client.enable("CONDSTORE")
        client.select_folder(mail_folder)
        uids = client.search("ALL")
        handed_over = []
        monkeypatch.setattr(fetchparse, "parse_fetch_response",
                            lambda *args: handed_over.append(args) or parse_fetch_response(*args))
        # Labels are sent and their answers read later (Labeler.apply_later): the STORE's
        # untagged answer arrives among the next FETCH's.
        tags = send(client, [("STORE", str(uids[0]), "+FLAGS.SILENT", "(triage_refund)")])
        found = fetch(client, uids, ["BODY.PEEK[]", "FLAGS"])
        assert [status for status, _ in answers(client, tags, "FETCH")] == ["OK"]
        assert handed_over == []
        [modseq] = found[uids[0]].pop(b"MODSEQ")  # the STORE's, merged in as imapclient merges it
        assert isinstance(modseq, int)
        assert found == client.fetch(uids, ["BODY.PEEK[]", "FLAGS"])
        assert b"triage_refund" in found[uids[0]][b"FLAGS"]
    finally:
        client.logout()
