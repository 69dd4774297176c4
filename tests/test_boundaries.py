"""The boundary matcher answers exactly as the stdlib's per-message regex would, and the
parser finds the same parts with it."""

import email.feedparser
import itertools
import re
from email.parser import BytesParser
from email.policy import compat32

import pytest

from triage import boundaries, parsing  # noqa: F401  (importing parsing installs the matcher)
from triage.boundaries import BoundaryMatcher, GatedSubFile, boundary_compile, may_delimit

SEPARATORS = ["--simple", "--=_Part_12_3456.789", "--(weird)+*?[]{}|^$.\\b", "--a b", "----dash--", "--ümlaut"]
TAILS = ["", "--", "-", "---", " ", "\t", " \t ", "-- ", "--\t", "x", " x", "--x"]
ENDS = ["", "\n", "\r\n", "\r", "\n\n", "\r\r", " \n", "\n "]


def real(separator: str) -> re.Pattern[str]:
    """The pattern email.feedparser compiles for a boundary (Python 3.11-3.13)."""
    return re.compile("(?P<sep>" + re.escape(separator) + r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$")


@pytest.mark.parametrize("separator", SEPARATORS)
def test_matches_like_the_regex_on_every_kind_of_line(separator):
    fast, slow = BoundaryMatcher(separator), real(separator)
    lines = [separator + tail + end for tail, end in itertools.product(TAILS, ENDS)]
    lines += ["", "text\n", " " + separator + "\n", separator[:-1] + "\n", separator.upper() + "\n"]
    for line in lines:
        expected, got = slow.match(line), fast.match(line)
        assert (got is None) == (expected is None), repr(line)
        if expected:
            for group in (0, "sep", "end", "ws", "linesep"):
                assert got.group(group) == expected.group(group), (repr(line), group)


def test_only_the_boundary_pattern_is_answered_without_re():
    assert isinstance(boundary_compile(real("--abc").pattern), BoundaryMatcher)
    assert isinstance(boundary_compile(r"\r\n|\r|\n"), re.Pattern)
    assert isinstance(boundary_compile(real("--abc").pattern, re.IGNORECASE), re.Pattern)


def test_the_parser_uses_it_and_reads_the_same_parts(monkeypatch):
    raw = (b"From: a@example.net\nSubject: x\nMIME-Version: 1.0\n"
           b'Content-Type: multipart/mixed; boundary="outer+(1)"\n\npreamble\n'
           b"--outer+(1)\nContent-Type: multipart/alternative; boundary=inner\n\n"
           b"--inner\nContent-Type: text/plain\n\nplain words\n"
           b"--inner\nContent-Type: text/html\n\n<p>html words</p>\n--inner--\n"
           b"--outer+(1)  \nContent-Type: text/csv\nContent-Disposition: attachment; filename=a.csv\n\na,b\n"
           b"--outer+(1)--\nepilogue\n")
    assert email.feedparser.re.compile is boundary_compile

    def shape(message):
        return [(part.get_content_type(), part.get_payload() if not part.is_multipart() else None)
                for part in message.walk()] + [message.preamble, message.epilogue, len(message.defects)]

    fast = shape(BytesParser(policy=compat32).parsebytes(raw))
    monkeypatch.setattr(email.feedparser, "re", re)
    slow = shape(BytesParser(policy=compat32).parsebytes(raw))
    assert fast == slow
    assert fast[2] == ("text/plain", "plain words")


@pytest.mark.parametrize("separator", SEPARATORS)
def test_the_gate_lets_through_every_line_a_matcher_matches(separator):
    """:func:`may_delimit` may say yes to a line no matcher takes, never no to one it does."""
    lines = [prefix + separator + tail + end for prefix, tail, end in itertools.product(["", " ", "x"], TAILS, ENDS)]
    for others in ([], SEPARATORS):
        separators = frozenset([separator, *others])
        for line in lines:
            if real(separator).match(line):
                assert may_delimit(line, separators), repr(line)
    assert not may_delimit("text\n", frozenset(SEPARATORS))
    assert not may_delimit(separator + "x\n", frozenset([separator]))


GATED = (b"From: a@example.net\nSubject: x\nMIME-Version: 1.0\n"
         b'Content-Type: multipart/mixed; boundary="outer"\n\npreamble\n--outer\n'
         b'Content-Type: multipart/alternative; boundary="inner--"\n\n--inner--\n'
         b"Content-Type: text/plain\n\n--inner--x\n--outerx\n-- \n--\nwords\n--inner-- \t\n"
         b"Content-Type: text/html\n\n<p>html</p>\n--outer\t\n"  # an outer delimiter ends the inner multipart
         b"Content-Type: multipart/report; report-type=delivery-status; boundary=r\n\n--r\n"
         b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\nAction: failed\n--r--\n"
         b"--outer--  \nepilogue\n--outer\n")


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_the_parser_reads_the_same_parts_with_the_gated_buffer(monkeypatch, newline):
    assert email.feedparser.BufferedSubFile is GatedSubFile
    raw = GATED.replace(b"\n", newline)

    def shape(message):
        return [(part.get_content_type(), part.get_payload() if not part.is_multipart() else None, part.preamble,
                 part.epilogue, [type(d) for d in part.defects]) for part in message.walk()]

    gated = shape(BytesParser(policy=compat32).parsebytes(raw))
    monkeypatch.setattr(email.feedparser, "BufferedSubFile", GatedSubFile.__mro__[1])
    plain = shape(BytesParser(policy=compat32).parsebytes(raw))
    assert gated == plain
    assert len(gated) >= 6
