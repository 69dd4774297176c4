"""A server answering what no server should, through a proxy in front of the real
Dovecot (tests/imapproxy.py): every answer ends in a row or in one error line (exit 1,
which a service retries), never in a traceback."""

from __future__ import annotations

import re

import pytest
from dovecot import Dovecot
from imapproxy import ImapProxy
from test_imap_service import Box, box, message, password_env, write_config  # noqa: F401 - fixtures


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
