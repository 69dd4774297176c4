"""A server answering what no server should, through a proxy in front of the real
Dovecot (tests/imapproxy.py): every answer ends in a row or in one error line (exit 1,
which a service retries), never in a traceback."""

from __future__ import annotations

import re

import pytest
from dovecot import Dovecot
from imapproxy import ImapProxy
from test_imap_service import (Box, box, message, password_env, triage_keywords,  # noqa: F401 - fixtures
                               write_config)


def rewriting(pattern: bytes, replacement: bytes):
    found = re.compile(pattern)
    return lambda connection, line: found.sub(replacement, line)


# (what the server says, how its answers are rewritten, exit status, rows)
ANSWERS = {
    "a SEARCH with a number past 32 bits": (rb"^(\* SEARCH(?: \d+)*)", rb"\1 99999999999999999999", 0, 3),
    "a SEARCH with UID 0": (rb"^(\* SEARCH(?: \d+)*)", rb"\1 0", 0, 3),
    "a SEARCH with a word in it": (rb"^(\* SEARCH(?: \d+)*)", rb"\1 abc", 1, 0),
    "a UIDVALIDITY past 32 bits": (rb"\[UIDVALIDITY \d+\]", rb"[UIDVALIDITY 99999999999999999999]", 1, 0),
    "a UIDNEXT that is no number": (rb"\[UIDNEXT \d+\]", rb"[UIDNEXT x]", 1, 0),
    "a HIGHESTMODSEQ that is no number": (rb"HIGHESTMODSEQ \d+", rb"HIGHESTMODSEQ x", 1, 0),
}


@pytest.mark.parametrize("answer", ANSWERS)
def test_a_server_answering_nonsense_gives_rows_or_one_error_line(box: Box, dovecot: Dovecot, answer: str) -> None:
    pattern, replacement, status, count = ANSWERS[answer]
    for tag in ("ann", "bob", "cy"):
        box.append(message(tag, sender=f"{tag}@example.net")[1])
    with ImapProxy(dovecot.port, from_server=rewriting(pattern, replacement)) as proxy:
        write_config(box.config, dovecot, box.folder, port=proxy.port)
        code, rows, err = box.once()
    assert "Traceback" not in err, err
    assert (code, len(rows)) == (status, count), err
    if status:
        assert err.strip().splitlines()[-1].startswith("triage: error: ")


def test_messages_a_fetch_answers_without_are_tried_again_then_labelled_unreadable(box: Box, dovecot: Dovecot) -> None:
    """A FETCH answered OK with answers for other UIDs (or none): the messages were taken
    for expunged, the cursor passed them, and they were never rows. Those the folder
    still has are now asked for again by the next passes, then decided unreadable."""
    uids = [box.append(message(tag, sender=f"{tag}@example.net")[1]) for tag in ("ann", "bob")]
    with ImapProxy(dovecot.port, from_server=rewriting(rb"^\* (\d+) FETCH \(UID (\d+)", rb"* \1 FETCH (UID 7\2")) \
            as proxy:
        write_config(box.config, dovecot, box.folder, port=proxy.port)
        runs = [box.once() for _ in range(3)]
    assert [(code, len(rows)) for code, rows, _ in runs] == [(0, 0), (0, 0), (0, 2)], runs[-1][2]
    assert "without it, though the folder has it (1 of 3 times: tried again next pass)" in runs[0][2]
    assert sorted(row["uid"] for row in runs[2][1]) == uids
    assert all(row["labels"] == ["triage/unreadable"] for row in runs[2][1])
    write_config(box.config, dovecot, box.folder)
    assert box.once()[:2] == (0, [])


def uid_set(spec: bytes) -> set[int]:
    """The UIDs an IMAP sequence set names (``b"3:5,9"`` -> {3, 4, 5, 9})."""
    covered: set[int] = set()
    for part in spec.decode().split(","):
        first, _, last = part.partition(":")
        covered.update(range(int(first), int(last or first) + 1))
    return covered


def refusing_stores(uids: set[int] | None, answer: bytes = b"NO [CANNOT] this message cannot be changed"):
    """A client hook: a UID STORE touching any of ``uids`` (None: every one) is answered
    ``answer`` by the proxy and never reaches the server."""
    def hook(connection, line: bytes) -> bytes | None:
        found = re.match(rb"^(\S+) UID STORE ([\d:,]+) ", line)
        if found is None:
            return line
        covered = uid_set(found[2])
        if uids is not None and not covered & uids:
            return line
        connection.to_client(found[1] + b" " + answer + b"\r\n")
        return None
    return hook


DOVECOT_INTERNAL_ERROR = b"NO [SERVERBUG] Internal error occurred. Refer to server log for more information."
"""What Dovecot answers for a message file it cannot read or change (hunt 10)."""


@pytest.mark.parametrize("answer", [b"NO [CANNOT] this message cannot be changed", DOVECOT_INTERNAL_ERROR])
def test_a_message_the_server_will_not_change_does_not_hold_up_the_others(box: Box, dovecot: Dovecot,
                                                                           answer: bytes) -> None:
    """One message whose STORE the server refuses: every STORE carrying it (a batch's
    labels go in a few STOREs of many messages) was refused, the pass failed, and the
    next ones too, for good: no mail labelled, a service retrying for ever. Now the
    others are labelled, and the one refused is named in an error line. Dovecot's
    ``[SERVERBUG]`` for a file it cannot change was taken for passing trouble (hunt 10)."""
    uids = [box.append(message(tag, sender=f"{tag}@example.net")[1]) for tag in ("ann", "bob", "cy")]
    bad = uids[1]
    with ImapProxy(dovecot.port, from_client=refusing_stores({bad}, answer)) as proxy:
        write_config(box.config, dovecot, box.folder, port=proxy.port)
        code, rows, err = box.once()
        assert (code, sorted(row["uid"] for row in rows)) == (0, uids), err
        assert f"the server refused to change UID {bad}, which is left without these labels" in err
        assert "Traceback" not in err
        assert box.once()[:2] == (0, [])
    assert triage_keywords(box.flags(bad)) == set()
    assert all(triage_keywords(box.flags(uid)) for uid in uids if uid != bad)


def test_a_lone_message_the_server_will_not_change_is_tried_again_on_later_passes(box: Box, dovecot: Dovecot) -> None:
    """A message whose STORE the server refuses (the only message of the write, as new
    mail comes to a service) was left without labels for good, said once: no later pass
    tried again, though the state counted it in the queue. It is now tried again by the
    next passes, each without failing, also when several wait so (every one refused is
    then no sign of the folder's refusal), and given up on, in one error line, after
    three passes refused it."""
    first = box.append(message("ann", sender="ann@example.net")[1])
    with ImapProxy(dovecot.port, from_client=refusing_stores(None, b"NO this message cannot be changed")) as proxy:
        write_config(box.config, dovecot, box.folder, port=proxy.port)
        code, rows, err = box.once()
        assert (code, [row["uid"] for row in rows]) == (0, [first]), err
        assert f"the server refused to change UID {first}" in err and "tried again next pass" in err
        second = box.append(message("bob", sender="bob@example.net")[1])
        code, rows, err = box.once()
        assert (code, [row["uid"] for row in rows]) == (0, [second]), err
        code, rows, err = box.once()  # both tried again, both refused: the pass goes on
        assert (code, rows) == (0, []) and "Traceback" not in err, err
        assert f"UID {first} refused its labels on 3 passes; left without them" in err
    assert triage_keywords(box.flags(first)) == triage_keywords(box.flags(second)) == set()
    write_config(box.config, dovecot, box.folder)
    code, rows, err = box.once()
    assert (code, rows) == (0, []), err
    assert triage_keywords(box.flags(second)) and triage_keywords(box.flags(first)) == set()
    assert box.once()[:2] == (0, [])


@pytest.mark.parametrize("answer", [b"NO [CANNOT] no keywords here", b"NO [NOPERM] not yours to change",
                                    DOVECOT_INTERNAL_ERROR])
def test_a_folder_that_refuses_every_store_still_fails_the_pass(box: Box, dovecot: Dovecot, answer: bytes) -> None:
    """Every message refused, or a code that speaks of the folder: not one message's
    trouble, so the pass fails (exit 1, the service retries) and nothing is passed by."""
    for tag in ("ann", "bob"):
        box.append(message(tag, sender=f"{tag}@example.net")[1])
    with ImapProxy(dovecot.port, from_client=refusing_stores(None, answer)) as proxy:
        write_config(box.config, dovecot, box.folder, port=proxy.port)
        code, rows, err = box.once()
    assert (code, rows) == (1, []) and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("triage: error: ")
    write_config(box.config, dovecot, box.folder)
    code, rows, _ = box.once()
    assert (code, len(rows)) == (0, 2)


@pytest.mark.parametrize("name", [b'"R&D"', b'"Q&A/2025"', b'"&ZZZZ-"'])
def test_a_folder_name_that_is_no_modified_utf7_does_not_fail_every_pass(box: Box, dovecot: Dovecot,
                                                                         name: bytes) -> None:
    """A server that keeps folder names as a client sent them lists "R&D" as it is:
    imapclient's decoder raised for the whole LIST, and every pass (each looks for the
    Sent folder in one) failed, exit 1, over a folder triage never touches."""
    box.append(message("ann")[1])

    def listed_too(connection, line: bytes) -> bytes:
        if line.startswith(b"* LIST ") and line.rstrip().endswith(b" INBOX"):
            return line + b'* LIST (\\HasNoChildren) "." ' + name + b"\r\n"
        return line

    with ImapProxy(dovecot.port, from_server=listed_too) as proxy:
        write_config(box.config, dovecot, box.folder, port=proxy.port)
        code, rows, err = box.once()
    assert (code, len(rows)) == (0, 1), err


FETCH_ANSWERS = {
    "an RFC822.SIZE that is no number": (rb"RFC822\.SIZE \d+", rb"RFC822.SIZE x"),
    "a negative RFC822.SIZE": (rb"RFC822\.SIZE \d+", rb"RFC822.SIZE -5"),
    "FLAGS NIL": (rb"FLAGS \([^)]*\)", rb"FLAGS NIL"),
}


@pytest.mark.parametrize("answer", FETCH_ANSWERS)
def test_a_fetch_with_a_size_or_flags_no_server_should_send_is_no_traceback(box: Box, dovecot: Dovecot,
                                                                            answer: str) -> None:
    """An RFC822.SIZE that is no number, FLAGS NIL: a ValueError or TypeError traceback,
    every pass. The size is taken as unknown and the mail triaged; flags that are none
    are none (a server that never shows the keywords it stores is then told so, in one
    line, as one that does not keep them)."""
    uids = [box.append(message(tag, sender=f"{tag}@example.net")[1]) for tag in ("ann", "bob")]
    found, replacement = re.compile(FETCH_ANSWERS[answer][0]), FETCH_ANSWERS[answer][1]

    def rewritten(connection, line: bytes) -> bytes:
        return found.sub(replacement, line) if line.startswith(b"* ") and b" FETCH (" in line else line

    with ImapProxy(dovecot.port, from_server=rewritten) as proxy:
        write_config(box.config, dovecot, box.folder, port=proxy.port)
        code, rows, err = box.once()
        assert "Traceback" not in err
        if answer == "FLAGS NIL":
            assert (code, rows) == (1, []) and err.strip().splitlines()[-1].startswith(
                f"triage: error: {box.folder}: the server answered OK but did not keep keyword ")
            return
        assert (code, sorted(row["uid"] for row in rows)) == (0, uids), err
        assert box.once()[:2] == (0, [])
    assert all(triage_keywords(box.flags(uid)) for uid in uids)


@pytest.mark.parametrize("answer", [rb"* STATUS \1 (MESSAGES 1)", rb"* STATUS \1 (UIDVALIDITY x UIDNEXT y)"])
def test_a_sent_folder_status_without_its_numbers_leaves_the_sent_folder_out_this_pass(
        box: Box, dovecot: Dovecot, sent_folder: str, answer: bytes) -> None:
    """A STATUS of the Sent folder without UIDVALIDITY and UIDNEXT (or with words for
    them) was a KeyError or ValueError traceback, every pass: no mail triaged. The Sent
    folder is left out of the pass, said in an error line, and the mail triaged."""
    uids = [box.append(message(tag, sender=f"{tag}@example.net")[1]) for tag in ("ann", "bob")]
    status = re.compile(rb"^\* STATUS (\S+) \(.*\)")

    with ImapProxy(dovecot.port, from_server=lambda connection, line: status.sub(answer, line)) as proxy:
        write_config(box.config, dovecot, box.folder, port=proxy.port)
        code, rows, err = box.once()
    assert (code, sorted(row["uid"] for row in rows)) == (0, uids), err
    assert "Sent: the server's STATUS answer holds no UIDVALIDITY and UIDNEXT to read" in err


def test_an_internaldate_utc_cannot_hold_is_no_date(box: Box, dovecot: Dovecot, sent_folder: str) -> None:
    """An INTERNALDATE past the last moment UTC holds (any client may APPEND one) was an
    OverflowError traceback, every pass. It is taken as no INTERNALDATE: the Date header
    dates the message."""
    from test_imap_service import SUPPORT

    uids = [box.append(message(tag, sender=f"{tag}@example.net")[1]) for tag in ("ann", "bob")]
    box.dovecot.append(sent_folder, message("reply", sender=SUPPORT)[1])
    internaldate = re.compile(rb'INTERNALDATE "[^"]*"')

    def rewritten(connection, line: bytes) -> bytes:
        return internaldate.sub(b'INTERNALDATE "31-Dec-9999 23:59:59 -1400"', line)

    with ImapProxy(dovecot.port, from_server=rewritten) as proxy:
        write_config(box.config, dovecot, box.folder, port=proxy.port)
        code, rows, err = box.once()
    assert (code, sorted(row["uid"] for row in rows)) == (0, uids), err
    assert {row["date"] for row in rows} == {"2026-11-23T09:30:00+00:00"}


@pytest.mark.parametrize("value", [b"1764000000", b"(23 Nov 2026)", b"NIL", b'"no date at all"',
                                   b'"23-Nov-2026 09:30:00 +9999"'])
def test_an_internaldate_that_is_no_date_is_no_internaldate(box: Box, dovecot: Dovecot, sent_folder: str,
                                                           value: bytes) -> None:
    """An INTERNALDATE sent as a bare number or a list (a server's own format) was an
    AttributeError traceback inside imapclient, every pass, in the watched folder and in
    the Sent folder alike; one with a zone of 99 hours a ValueError. It is taken as no
    INTERNALDATE, said in one warning, and the Date header dates the message."""
    from test_imap_service import SUPPORT

    uids = [box.append(message(tag, sender=f"{tag}@example.net")[1]) for tag in ("ann", "bob")]
    box.dovecot.append(sent_folder, message("reply", sender=SUPPORT)[1])
    internaldate = re.compile(rb'INTERNALDATE "[^"]*"')

    def rewritten(connection, line: bytes) -> bytes:
        return internaldate.sub(b"INTERNALDATE " + value, line)

    with ImapProxy(dovecot.port, from_server=rewritten) as proxy:
        write_config(box.config, dovecot, box.folder, port=proxy.port)
        code, rows, err = box.once()
    assert "Traceback" not in err, err
    assert (code, sorted(row["uid"] for row in rows)) == (0, uids), err
    assert {row["date"] for row in rows} == {"2026-11-23T09:30:00+00:00"}
    if value[:1].isdigit() or value[:1] == b"(":
        assert "INTERNALDATE" in err and " no date (" in err


def refusing_copies(uids: set[int], answer: bytes = b"NO [SERVERBUG] this item cannot be copied"):
    """A client hook: a UID COPY of any of ``uids`` is answered ``answer`` by the proxy."""
    def hook(connection, line: bytes) -> bytes | None:
        found = re.match(rb"^(\S+) UID COPY ([\d:,]+) ", line)
        if found is None:
            return line
        covered = uid_set(found[2])
        if not covered & uids:
            return line
        connection.to_client(found[1] + b" " + answer + b"\r\n")
        return None
    return hook


def test_with_labels_as_folders_a_message_the_server_will_not_copy_does_not_hold_up_the_others(
        box: Box, dovecot: Dovecot) -> None:
    """Labels as folder copies (Microsoft 365): a COPY carries every message of a label,
    and one the server would not copy (an item it cannot read) made the COPY, the pass and
    every later pass fail, for good: no mail labelled, a service retrying for ever. The
    others are labelled now, the one refused named in an error line and tried again later,
    as a refused STORE is."""
    import uuid

    from triage.imap.labeler import folder_for

    prefix = f"t{uuid.uuid4().hex[:6]}"
    uids = [box.append(message(tag, sender=f"{tag}@example.net")[1]) for tag in ("ann", "bob", "cy")]
    bad = uids[1]
    with ImapProxy(dovecot.port, from_client=refusing_copies({bad})) as proxy:
        write_config(box.config, dovecot, box.folder, port=proxy.port, labels={"mode": "folders", "prefix": f"{prefix}/"})
        code, rows, err = box.once()
        assert (code, sorted(row["uid"] for row in rows)) == (0, uids), err
        assert f"the server refused to change UID {bad}, which is left without these labels" in err
        assert "Traceback" not in err
        assert box.once()[:2] == (0, [])
    labels = {label for row in rows for label in row["labels"]}
    assert len(dovecot.uids(folder_for(f"{prefix}/refund", "", "."))) == 2  # ann's and cy's copies, not bob's
    write_config(box.config, dovecot, box.folder, labels={"mode": "folders", "prefix": f"{prefix}/"})
    assert box.once()[:2] == (0, [])  # tried again without the proxy: stored now
    assert len(dovecot.uids(folder_for(f"{prefix}/refund", "", "."))) == 3
    for label in [*labels, prefix]:
        dovecot.delete_folder(folder_for(label, "", "."))
