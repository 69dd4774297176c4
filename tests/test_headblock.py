"""The header block read by splitting gives the tree the standard parser gives."""

from email.parser import BytesParser
from email.policy import compat32

import pytest
from fuzz import mutants
from helpers import repository_mail

from triage.headblock import HeaderBlockParser, header_end
from triage.parsing import _IndexedMessage

WHOLE = BytesParser(_class=_IndexedMessage, policy=compat32)
FAST = HeaderBlockParser(_IndexedMessage)


def tree(message) -> tuple:
    """Everything the parser records of a message and, recursively, of its parts."""
    payload = message._payload
    return (type(message), message._headers, message.get_unixfrom(), message.get_default_type(), message.preamble,
            message.epilogue, [(type(d), str(d)) for d in message.defects],
            [tree(part) for part in payload] if isinstance(payload, list) else payload)


def assert_same_tree(raw: bytes) -> None:
    assert tree(FAST.parsebytes(raw)) == tree(WHOLE.parsebytes(raw)), raw[:300]


def test_the_repository_mail_parses_to_the_same_tree_with_either_line_end():
    mail = repository_mail(every=4)
    assert len(mail) > 2000
    split = 0
    for raw in mail:
        for variant in (raw, raw.replace(b"\r\n", b"\n"), raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")):
            assert_same_tree(variant)
            split += FAST._split(variant, header_end(variant)) is not None
    assert split > 0.9 * 3 * len(mail)  # the common case takes the quick path


def test_hostile_mutants_parse_to_the_same_tree():
    for names, raw in mutants(seed=20261206, count=400):
        assert tree(FAST.parsebytes(raw)) == tree(WHOLE.parsebytes(raw)), names


MULTIPART = (b"Content-Type: multipart/alternative;\r\n\tboundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\n"
             b"Content-Type: text/plain\r\n\r\nhi\r\n--b1\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n--b1--\r\nepilogue\r\n")


@pytest.mark.parametrize(("raw", "quick"), [
    (b"From: a@example.org\r\nSubject: hi\r\n  there\r\n\r\nbody\r\n", True),
    (b"From: a@example.org\nSubject:\n there\n\nbody\n", True),
    (b"From: a@example.org\r\nSubject:   \r\nTo: b@example.org\r\n\r\nbody", True),
    (b"From: a@example.org\r\n" + MULTIPART, True),
    (b"From: a@example.org\r\n" + MULTIPART.replace(b"--b1--\r\nepilogue\r\n", b""), True),  # no close boundary
    (b"From: a@example.org\r\nContent-Type: multipart/mixed\r\n\r\nno boundary here\r\n", True),
    (b"From: a@example.org\r\nContent-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nFrom: c@x\r\n\r\nx\r\n--d--\r\n",
     True),
    (b"From: a@example.org\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@example.org\r\n\r\ninner\r\n", False),
    (b"From a@example.org Mon Nov 23 09:30:00 2026\r\nFrom: a@example.org\r\n\r\nbody", False),
    (b" continued\r\nFrom: a@example.org\r\n\r\nbody", False),
    (b"From: a@example.org\r\n: no name\r\n\r\nbody", False),
    (b"From: a@example.org\r\nBad Name: x\r\n\r\nbody", False),
    (b"From: a@example.org\r\nthis line is no field\r\n\r\nbody", False),
    (b"From: a@example.org\rSubject: bare CR\r\n\r\nbody", False),
    (b"From: a@example.org\r\nSubject: bare\nLF\r\n\r\nbody", False),
    (b"From: a@example.org\r\nSubject: no body", False),
    (b"\r\n\r\nbody only", False),
    (b"From: caf\xc3\xa9 <a@example.org>\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n\r\nbody \xff", True),
])
def test_plainly_formed_blocks_are_split_and_the_rest_go_to_the_parser(raw, quick):
    assert (FAST._split(raw, header_end(raw)) is not None) == quick
    assert_same_tree(raw)
