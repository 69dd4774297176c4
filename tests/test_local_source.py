"""Local mail (a Maildir, a folder of .eml files, one .eml, an mbox) is read up to what
triage parses, as IMAP fetches it, and keeps the identity of its whole bytes."""

import hashlib
import mailbox

import pytest

from triage.parsing import MAX_PARSE_BYTES, mail_digest, parse_message
from triage.sources.local import read_local


def message(n: int, attachment_bytes: int) -> bytes:
    return (f"From: Ann <ann@example.org>\nTo: help@shop.example\nSubject: refund {n}\n"
            f"Message-ID: <m{n}@example.org>\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\n"
            'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
            "Please refund order 4471, it arrived broken.\n--b\nContent-Type: application/pdf\n"
            "Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=x.pdf\n\n").encode() \
        + b"QUJD\n" * (attachment_bytes // 5) + b"--b--\n"


BIG, SMALL = message(1, 3 * MAX_PARSE_BYTES), message(2, 1_000)


def write(kind: str, tmp_path) -> object:
    """A source of ``kind`` holding BIG then SMALL."""
    if kind == "maildir":
        (tmp_path / "md" / "cur").mkdir(parents=True)
        (tmp_path / "md" / "cur" / "1:2,S").write_bytes(BIG)
        (tmp_path / "md" / "cur" / "2:2,S").write_bytes(SMALL)
        return tmp_path / "md"
    if kind == "eml folder":
        (tmp_path / "emls").mkdir()
        (tmp_path / "emls" / "1.eml").write_bytes(BIG)
        (tmp_path / "emls" / "2.eml").write_bytes(SMALL)
        return tmp_path / "emls"
    if kind == "mbox":
        box = mailbox.mbox(tmp_path / "box.mbox")
        box.add(BIG)
        box.add(SMALL)
        box.close()
        return tmp_path / "box.mbox"
    (tmp_path / "1.eml").write_bytes(BIG)
    return tmp_path / "1.eml"


@pytest.mark.parametrize("kind", ["maildir", "eml folder", "mbox", "one eml"])
def test_a_big_message_is_read_up_to_what_is_parsed_and_known_by_all_its_bytes(kind, tmp_path):
    """A Maildir of 70 messages with 8 MB attachments took 1.2 GB, read whole (and the
    analysis workers a copy each), though triage parses the first 2 MB of each."""
    mails = list(read_local(write(kind, tmp_path)))
    big = mails[0]
    assert len(big.raw) == MAX_PARSE_BYTES and BIG.startswith(big.raw)
    assert mail_digest(big) == hashlib.sha256(BIG).hexdigest()
    parsed = parse_message(big)
    assert parsed.content_hash == hashlib.sha256(BIG).hexdigest()
    assert parsed.newest_text == "Please refund order 4471, it arrived broken."
    if kind != "one eml":
        small = mails[1]
        assert small.raw == SMALL and small.digest is None
        assert mail_digest(small) == hashlib.sha256(SMALL).hexdigest()


def test_file_names_that_are_not_utf8_reach_rows_and_state_as_text(tmp_path, capsys):
    """A Maildir file (and folder) named in Latin-1: os.listdir hands the bytes over as
    lone surrogates, which went into the rows, the unreadable reason and the state; the
    first UTF-8 write raised UnicodeEncodeError, a traceback. Now U+FFFD."""
    import json
    import os

    from triage.cli import main

    box = tmp_path / os.fsdecode(b"bo\xeete")
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True)
    (box / "cur" / os.fsdecode(b"caf\xe9:2,S")).write_bytes(
        b"From: ann@b.example\nSubject: refund\nDate: Mon, 23 Nov 2026 09:00:00 +0000\nMessage-ID: <c@b>\n\nrefund\n")
    (box / "cur" / os.fsdecode(b"bad\xff:2,")).write_bytes(b"no mail headers here\n")
    assert main(["once", str(box), "--format", "jsonl", "--state", str(tmp_path / "s.db"),
                 "--now", "2026-11-24T12:00:00Z"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(row["mailbox"] for row in rows) == ["bo\ufffdte", "bo\ufffdte"]
    [broken] = [row for row in rows if row["labels"] == ["triage/unreadable"]]
    assert broken["reasons"] == ["unreadable: bo\ufffdte:bad\ufffd:2,: no mail headers found"]



@pytest.mark.parametrize("size", [0, 1, (1 << 16) - 1, 1 << 16, (1 << 16) + 1, MAX_PARSE_BYTES - 1, MAX_PARSE_BYTES,
                                  MAX_PARSE_BYTES + 1, MAX_PARSE_BYTES + (1 << 16), MAX_PARSE_BYTES + (1 << 20) + 7])
def test_a_message_is_kept_to_the_parse_limit_and_hashed_whole_whatever_its_size(size):
    import hashlib
    import io

    from triage.sources.local import _read_start

    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    start, digest = _read_start(io.BufferedReader(io.BytesIO(data)))
    assert start == data[:MAX_PARSE_BYTES]
    assert digest == (hashlib.sha256(data).hexdigest() if size > MAX_PARSE_BYTES else None)


def test_a_small_message_is_read_without_asking_for_megabytes():
    """A read of n bytes allocates n first: a few KB read as a 2 MB request cost an mmap,
    an mremap and a munmap a message."""
    import io

    from triage.sources.local import _read_start

    asked = []

    class Recording(io.BufferedReader):
        def read(self, size=-1):
            asked.append(size)
            return super().read(size)

    start, digest = _read_start(Recording(io.BytesIO(b"Subject: hi\n\nhello\n" * 300)))
    assert digest is None and start.startswith(b"Subject: hi")
    assert max(asked) <= 1 << 16
