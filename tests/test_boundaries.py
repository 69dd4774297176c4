"""The boundary matcher answers exactly as the stdlib's per-message regex would, and the
parser finds the same parts with it."""

import email.feedparser
import itertools
import re
from email.parser import BytesParser
from email.policy import compat32

import pytest

from triage import boundaries, parsing  # noqa: F401  (importing parsing installs the matcher)
from triage.boundaries import BoundaryMatcher, boundary_compile

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
