"""The standard email parser's result, with the message's own header block read by
splitting strings.

Real mail's header blocks are long — Received chains, DKIM and ARC signatures: 180
lines a message on the benchmark's mail — and ``email.feedparser`` reads them a line at
a time through several layers of Python: about half of parsing a message, and the
largest single cost of triage's per-message work. :class:`HeaderBlockParser` splits a
block that is plainly formed (one kind of line end, every line a field or a continuation
of one) where its fields end, and gives the parser only what it must still read: a
multipart body, under the two fields the parser consults for it (Content-Type, for the
boundary and a digest's parts, and Content-Transfer-Encoding, which a multipart must not
have). Anything irregular in the block — a bare CR or LF, a line that is no field, an
mbox ``From`` line, a first line that continues nothing, an attached message
(``message/*``) — and the parser reads the message whole, as before. Either way the
result is the tree the parser alone makes: same fields in the same order, same payloads,
preamble, epilogue and defects (tests/test_headblock.py compares them on the
repository's mail, in both line ends, and on hostile mutants of it) — but for the
attachments' bodies a parser made with ``skip_unread`` leaves out
(:mod:`triage.unread_parts`).
"""

from __future__ import annotations

import re
from email.message import Message
from email.parser import BytesParser, Parser
from email.policy import compat32

from triage.unread_parts import without_attachment_bodies

_FIELD_NAME = re.compile(r"[!-9;-~]+")
"""A field name as the parser takes one: printable ASCII without a colon (RFC 5322 2.2)."""
_CRLF_FIELDS = re.compile(r"\r\n(?![ \t])")
_LF_FIELDS = re.compile(r"\n(?![ \t])")
"""Where a field ends: a line end not followed by the white space of a continuation."""


class HeaderBlockParser:
    """``BytesParser(_class=message_class, policy=compat32)``'s ``parsebytes``, the top
    header block read here when it is plainly formed (see the module docstring)."""

    def __init__(self, message_class: type[Message], skip_unread: bool = False) -> None:
        self.message_class = message_class
        self.skip_unread = skip_unread
        """Whether a multipart's attachments reach the parser without their bodies
        (:mod:`triage.unread_parts`): the tree is then the parser's but for those."""
        self._whole = BytesParser(_class=message_class, policy=compat32)
        self._body = Parser(_class=message_class, policy=compat32)

    def parsebytes(self, raw: bytes, end: int | None = None) -> Message:
        """The message tree of ``raw``; ``end`` is :func:`header_end` of it, if known."""
        message = self._split(raw, header_end(raw) if end is None else end)
        return message if message is not None else self._whole.parsebytes(raw)

    def _split(self, raw: bytes, end: int) -> Message | None:
        """The tree, or None when the header block is not plainly formed."""
        if end <= 0:
            return None
        if raw.startswith(b"\r\n\r\n", end):
            newline = "\r\n"
        elif raw.startswith(b"\n\n", end):
            newline = "\n"
        else:
            return None
        head = raw[:end].decode("ascii", "surrogateescape")
        if newline == "\r\n":
            lines = head.count("\r\n")
            if head.count("\r") != lines or head.count("\n") != lines:
                return None
        elif "\r" in head:
            return None
        fields = _fields(head, newline)
        if fields is None:
            return None
        message = self.message_class(policy=compat32)
        message._headers = fields
        kind = message.get_content_maintype()
        if kind == "message":  # the parser reads the attached message under this one
            return None
        body = raw[end + 2 * len(newline):].decode("ascii", "surrogateescape")
        if kind != "multipart":
            message._payload = body
            return message
        consulted = _first_fields(fields, ("content-type", "content-transfer-encoding"))
        if self.skip_unread:
            content_type = next((value for name, value in consulted if name.lower() == "content-type"), "")
            body = without_attachment_bodies(body, content_type, newline)
        head = "".join(f"{name}: {value}{newline}" for name, value in consulted)
        parsed = self._body.parsestr(f"{head}{newline}{body}")
        message._payload = parsed._payload
        message.preamble, message.epilogue, message.defects = parsed.preamble, parsed.epilogue, parsed.defects
        return message


def _fields(head: str, newline: str) -> list[tuple[str, str]] | None:
    """(name, value) of each field of the block, as ``compat32.header_source_parse``
    makes them (a continuation line keeps the line end before it); None when a line is
    neither a field nor the continuation of one."""
    if head[:1] in (" ", "\t"):
        return None
    fields: list[tuple[str, str]] = []
    for field in (_CRLF_FIELDS if newline == "\r\n" else _LF_FIELDS).split(head):
        colon = field.find(":")
        if colon <= 0 or _FIELD_NAME.fullmatch(field, 0, colon) is None:
            return None
        fields.append((field[:colon], field[colon + 1:].lstrip(" \t").rstrip("\r\n")))
    return fields


def _first_fields(fields: list[tuple[str, str]], names: tuple[str, ...]) -> list[tuple[str, str]]:
    """The first field of each of ``names`` (lower case) that ``fields`` has."""
    found: dict[str, tuple[str, str]] = {}
    for name, value in fields:
        key = name.lower()
        if key in names and key not in found:
            found[key] = (name, value)
    return list(found.values())


_SPACED_NAME = re.compile(rb"(?:\A|(?<=[\r\n]))([!-9;-~]+)[ \t]+:")
"""A field name with white space before its colon, at the start of a line."""
_LONE_CR = re.compile(rb"\r(?!\n)")


def plain_header_block(raw: bytes, end: int) -> tuple[bytes, int]:
    """``raw`` with its header block (ending at ``end``) written so the parser reads
    every field of it, and where the block ends then. The parser took for the body the
    line of a field, and every field after it, that was written

    - ``Subject :``, white space between the name and the colon (RFC 5322's obsolete
      syntax that old mailers still send): now ``Subject:``;
    - with a lone CR inside it (``Message-ID: <a\rb@c>``) in a block whose lines end in
      LF or CRLF, the parser ending a line there too: now a space.

    Either way the message lost its subject, date and ids. The message's digest is of
    its bytes as they came (:func:`triage.parsing.mail_digest`)."""
    head = raw[:end]
    plain = head
    if b" :" in plain or b"\t:" in plain:
        plain = _SPACED_NAME.sub(rb"\1:", plain)
    if b"\r" in plain and b"\n" in plain:
        lone = plain.count(b"\r") - plain.count(b"\r\n")
        if 0 < lone < plain.count(b"\n"):  # (a block whose lines end in CR alone is left as it is)
            plain = _LONE_CR.sub(b" ", plain)
    if plain is head:
        return raw, end
    return plain + raw[end:], len(plain)


def header_end(raw: bytes) -> int:
    """Where the header block ends (the blank line), or the length when there is none."""
    crlf = raw.find(b"\r\n\r\n")
    end = crlf if crlf >= 0 else len(raw)
    lf = raw.find(b"\n\n", 0, end)  # only before it: a CRLF message has none, and the body is long
    return lf if lf >= 0 else end
