"""Attachments' bodies left out before parsing change nothing triage reads: the tree is
the parser's but for the payloads of parts triage never reads, and every message parses
to the same Message."""

import random
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import compat32

import pytest
from fuzz import mutants
from helpers import repository_mail

import triage.parsing as parsing
from triage.headblock import HeaderBlockParser
from triage.message import RawMail
from triage.parsing import _IndexedMessage, parse_message
from triage.unread_parts import (MAX_CONTENT_TYPE_CHARS, MAX_NEAR_DELIMITERS, SKIPPED_TYPES, boundary_of,
                                 without_attachment_bodies)

WHOLE = BytesParser(_class=_IndexedMessage, policy=compat32)
SKIPPING = HeaderBlockParser(_IndexedMessage, skip_unread=True)


def unread(part) -> bool:
    """Whether triage never reads this part's payload (parsing._text_parts)."""
    kind = part.get_content_type()
    disposition = str(part.get("content-disposition", "")).split(";", 1)[0].strip().lower()
    return (isinstance(part._payload, str) and part.get_content_maintype() not in ("message", "multipart")
            and (kind.split("/")[0] in SKIPPED_TYPES or disposition == "attachment"))


def same_but_unread(skipped, whole) -> int:
    """Assert the trees agree but for unread payloads emptied; returns how many were."""
    assert type(skipped) is type(whole)
    assert (skipped._headers, skipped.get_unixfrom(), skipped.get_default_type(), skipped.preamble,
            skipped.epilogue) == (whole._headers, whole.get_unixfrom(), whole.get_default_type(), whole.preamble,
                                  whole.epilogue)
    assert [(type(d), str(d)) for d in skipped.defects] == [(type(d), str(d)) for d in whole.defects]
    a, b = skipped._payload, whole._payload
    if isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b)
        return sum(same_but_unread(x, y) for x, y in zip(a, b))
    if a == b:
        return 0
    assert a == "" and unread(whole), (a[:200], b[:200])
    return 1


def check(raw: bytes) -> int:
    emptied = same_but_unread(SKIPPING.parsebytes(raw), WHOLE.parsebytes(raw))
    assert parsed_with(SKIPPING, raw) == parsed_with(HeaderBlockParser(_IndexedMessage), raw)
    return emptied


def parsed_with(parser: HeaderBlockParser, raw: bytes):
    keep = parsing._PARSER
    parsing._PARSER = parser
    try:
        return parse_message(RawMail(raw, "test", "1"))
    except Exception as exc:  # the same refusal either way
        return type(exc), str(exc)
    finally:
        parsing._PARSER = keep


def made_mail(rng: random.Random, newline: bytes) -> bytes:
    """A multipart message as mail clients make them: text, HTML, attachments, nested."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Ann <ann@example.org>", "help@example.com", "my order"
    message["Message-ID"] = f"<m{rng.random()}@example.org>"
    message.set_content("Hello,\nplease refund order 1234.\n" * rng.randint(1, 5))
    if rng.random() < 0.6:
        message.add_alternative("<p>Hello, please <b>refund</b> order 1234.</p>\n" * rng.randint(1, 5), subtype="html")
    for n in range(rng.randint(1, 3)):
        kind = rng.choice([("application", "pdf"), ("image", "png"), ("text", "csv"), ("audio", "ogg")])
        data = rng.randbytes(rng.randint(0, 3000))
        if kind[0] == "text":
            message.add_attachment(data.hex(), subtype=kind[1], filename=f"f{n}.csv")
        else:
            message.add_attachment(data, maintype=kind[0], subtype=kind[1], filename=f"f{n}.{kind[1]}")
    if rng.random() < 0.3:
        inner = EmailMessage()
        inner["From"], inner["Subject"] = "b@example.org", "forwarded"
        inner.set_content("the forwarded words")
        inner.add_attachment(b"%PDF-1.4 inner", maintype="application", subtype="pdf", filename="inner.pdf")
        message.add_attachment(inner)
    return message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", newline)


def test_mail_as_clients_make_it_parses_the_same_without_its_attachments_bodies():
    rng = random.Random(20261207)
    emptied = 0
    for n in range(300):
        emptied += check(made_mail(rng, [b"\r\n", b"\n"][n % 2]))
    assert emptied > 300  # one to three attachments a message, an attached message's parts kept


def test_the_repository_mail_parses_the_same():
    emptied = 0
    for raw in repository_mail(every=10):
        if b"multipart" not in raw.lower():
            continue  # nothing to leave out
        for variant in (raw, raw.replace(b"\r\n", b"\n"), raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")):
            emptied += check(variant)
    assert emptied > 20


def test_hostile_mutants_parse_the_same():
    checked = 0
    for names, raw in mutants(seed=20261207, count=400):
        if b"multipart" not in raw.lower():
            continue
        try:
            check(raw)
        except AssertionError as exc:
            raise AssertionError(names) from exc
        checked += 1
    assert checked > 40


ATTACHED = (b"--b1\r\nContent-Type: text/plain\r\n\r\nthe words\r\n--b1\r\n"
            b"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\n"
            b"JVBERi0xLjcK\r\nJVBERi0xLjcK\r\n--b1--\r\n")


def top(content_type: bytes, body: bytes) -> bytes:
    return b"From: a@example.org\r\nSubject: s\r\nContent-Type: " + content_type + b"\r\n\r\n" + body


@pytest.mark.parametrize(("raw", "emptied"), [
    (top(b'multipart/mixed; boundary="b1"', ATTACHED), 1),
    (top(b"multipart/mixed; boundary=b1", b"preamble\r\n" + ATTACHED + b"epilogue\r\n"), 1),
    (top(b'multipart/mixed; boundary="b1"', ATTACHED.replace(b"--b1--", b"--b1--  \t")), 1),
    # Left as they are:
    (top(b'multipart/mixed; boundary="b1"', ATTACHED.replace(b"--b1--\r\n", b"")), 0),  # no close delimiter
    (top(b'multipart/mixed; boundary="b1"', ATTACHED.replace(b"the words\r\n", b"the words\n")), 0),  # mixed ends
    (top(b"multipart/mixed; boundary*=''b1", ATTACHED), 0),  # RFC 2231
    (top(b'multipart/mixed; boundary="b1"; x="boundary"', ATTACHED), 0),
    (top(b'multipart/mixed; boundary="b 1"', ATTACHED.replace(b"--b1", b"--b 1")), 0),
    (top(b'multipart/mixed; boundary="b1"', ATTACHED.replace(b"Content-Disposition", b"Bad Field")), 0),
    (top(b'multipart/mixed; boundary="b1"', ATTACHED.replace(b"filename=a.pdf", b"filename=\xc3\xa9.pdf")), 0),
    (top(b'multipart/mixed; boundary="b1"', ATTACHED.replace(b"Content-Type: application/pdf\r\n", b"")
         .replace(b"attachment;", b"inline;")), 0),
    (top(b'multipart/mixed; boundary="b1"',  # the same boundary inside: every such line is the outer's
         b"--b1\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n" + ATTACHED + b"--b1--\r\n"), 1),
    (top(b'multipart/mixed; boundary="b1"',  # a message attached: the parser reads it whole
         b"--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@example.org\r\nContent-Type: multipart/mixed; "
         b"boundary=b2\r\n\r\n" + ATTACHED.replace(b"b1", b"b2") + b"--b1--\r\n"), 0),
    # The parser finds no boundary (the body is one text, read): a quoted ";" does not end a parameter,
    (top(b'multipart/mixed; name="; boundary=b1', ATTACHED), 0),
    (top(b'multipart/mixed; name="a;boundary=b1;"', ATTACHED), 0),
    # and only the first parsing.MAX_PARAMS_CHARS of the field are read for it.
    (top(b'multipart/mixed; name="' + b"a" * 4000 + b'"; boundary=b1', ATTACHED), 0),
    (top(b"multipart/mixed; name=" + b"a" * 3990 + b"; boundary=b1", ATTACHED), 0),
    # A part without a Content-Type in a digest is an attached message (read when there is no text).
    (top(b"multipart/digest; boundary=b1", b"--b1\r\nContent-Disposition: attachment\r\n\r\nFrom: c@example.org"
         b"\r\nSubject: s\r\n\r\nthe words\r\n--b1--\r\n"), 0),
    (top(b"multipart/mixed; boundary=b1", b"--b1\r\nContent-Type: multipart/digest; boundary=b2\r\n\r\n--b2\r\n"
         b"Content-Disposition: attachment\r\n\r\nFrom: c@example.org\r\n\r\nthe words\r\n--b2--\r\n--b1--\r\n"), 0),
    (top(b"multipart/digest; boundary=b1", ATTACHED), 1),  # a typed part in a digest is its type
])
def test_only_plainly_delimited_unread_parts_lose_their_bodies(raw, emptied):
    assert check(raw) == emptied


def test_nested_multiparts_lose_their_attachments_bodies_down_to_a_depth():
    body = ATTACHED
    for level in range(2, 12):
        body = (b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (level, level - 1) + body
                + b"--b%d\r\nContent-Type: image/png\r\n\r\niVBORw0KGgo=\r\n--b%d--\r\n" % (level, level))
    assert check(top(b"multipart/mixed; boundary=b11", body)) == 8  # the eight levels from the top


@pytest.mark.parametrize("near", [MAX_NEAR_DELIMITERS, MAX_NEAR_DELIMITERS + 1])
def test_lines_like_delimiters_are_tested_up_to_a_number(near):
    body = b"--b1\r\nContent-Type: image/png\r\n\r\n" + b"--b1X\r\n" * near + b"--b1--\r\n"
    assert check(top(b"multipart/mixed; boundary=b1", body)) == (near <= MAX_NEAR_DELIMITERS)


def test_a_big_attachment_is_not_read():
    pdf = b"JVBERi0xLjcKJeLjz9MKMSAwIG9iago8PC9UeXBlL0NhdGFsb2cvUGFnZXMgMiAwIFI+PgplbmRv\r\n" * 20_000
    raw = top(b'multipart/mixed; boundary="b1"', ATTACHED.replace(b"JVBERi0xLjcK\r\nJVBERi0xLjcK\r\n", pdf))
    parsed = SKIPPING.parsebytes(raw)
    assert parsed.get_payload(1).get_payload() == ""
    assert parsed.get_payload(1).get_filename() == "a.pdf"
    assert parsed.get_payload(0).get_payload() == "the words"


@pytest.mark.parametrize("content_type", [
    'multipart/mixed; boundary="b1"; type="text/html"', 'multipart/mixed; a="x;y"; boundary=b1',
    'multipart/mixed; a="; boundary=b1', 'multipart/mixed; a="x;boundary=b1;"', 'multipart/mixed; a="\\";boundary=b1"',
    "multipart/mixed; a='x;y'; boundary=b1", 'multipart/mixed; a="x""y"; boundary=b1',
    'multipart/mixed; boundary=b1 (c)',
    'multipart/mixed;;boundary = "b1" ;', "multipart/mixed; boundary*=''b1", 'multipart/mixed; a="x" ; boundary="b1"x',
])
def test_the_boundary_read_here_is_the_parsers(content_type):
    message = _IndexedMessage(compat32)
    message["Content-Type"] = content_type
    assert boundary_of(content_type) in (None, message.get_boundary())


def test_the_boundary_is_read_only_when_plain():
    assert boundary_of('multipart/mixed; boundary="=_a.b:c"') == "=_a.b:c"
    assert boundary_of("multipart/mixed;\r\n\tBoundary = xyz ; charset=x") == "xyz"
    assert boundary_of("multipart/mixed") is None
    assert boundary_of('multipart/mixed; boundary="a\\"b"') is None
    assert boundary_of('multipart/mixed; boundary=""') is None
    assert without_attachment_bodies("x", "multipart/mixed", "\r\n") == "x"
    assert boundary_of('multipart/related; type="text/html"; boundary="xyz"') == "xyz"
    assert boundary_of('multipart/mixed; name="a;b"; boundary=xyz') is None  # a quoted ";": not read here
    assert boundary_of('multipart/mixed; name="x; boundary=xyz') is None
    assert boundary_of('multipart/mixed; name="a\\"; boundary=xyz') is None
    assert boundary_of("multipart/mixed; boundary=xyz; name=" + "a" * MAX_CONTENT_TYPE_CHARS) is None
    assert MAX_CONTENT_TYPE_CHARS <= parsing.MAX_PARAMS_CHARS  # the parser reads this much for the boundary
