"""The bodies of attachments left out before a multipart message is parsed.

Triage reads a message's text parts and, of every other part, only its header fields
(its type and file name: :func:`triage.parsing._text_parts`). The standard parser still
reads an attachment's body a line at a time — a 500 KB PDF in base64 is 6,700 lines
through several layers of Python — for triage never to look at it.
:func:`without_attachment_bodies` empties those bodies in the multipart body text
before the parser sees it: the parts keep their header fields, their place and their
number; only the payload of a part triage never reads becomes empty.

A part's body is left out only when its own header fields say plainly that triage skips
it: its Content-Type names an ``application``, ``image``, ``audio``, ``video``, ``font``
or ``model`` type, or its Content-Disposition says ``attachment`` (and it is neither a
multipart nor an attached message). Whatever this module is not sure to read as the
parser does — mixed line ends, a boundary parameter that is not a plain token, the same
boundary twice, a multipart without its close delimiter, a part's header block with a
line that is no field or that is not ASCII, a part without a Content-Type (in a
``multipart/digest`` it is an attached message), a Content-Type with quotes the parser
may split otherwise (a quoted ``;``, a backslash, an odd number) or longer than
:data:`MAX_CONTENT_TYPE_CHARS`, more than :data:`MAX_NEAR_DELIMITERS` lines that start
like a delimiter and are none, nesting deeper than :data:`MAX_DEPTH` — is left as it
was: the worst it can do is save nothing. tests/test_unread_parts.py checks that the
parser's tree is the same but for those payloads, on the repository's mail, generated
mail and hostile mutants.
"""

from __future__ import annotations

import re

SKIPPED_TYPES = frozenset({"application", "image", "audio", "video", "font", "model"})
"""Main types whose parts triage never reads (:func:`triage.parsing._text_parts`)."""

MAX_DEPTH = 8
"""Multiparts nested deeper than this are left as they are (real mail nests 2 or 3)."""

MAX_NEAR_DELIMITERS = 1_000
"""A multipart with more lines than this that begin with its separator but are no
delimiter is left as it is: each costs a test here, at every level of nesting (150,000
such lines under eight multiparts whose boundaries prefix each other took 0.9 s, four
times the parser's own time); real mail has none or a few."""

MAX_CONTENT_TYPE_CHARS = 1_000
"""A multipart's Content-Type longer than this is left as it is: the parser reads only
the first :data:`triage.parsing.MAX_PARAMS_CHARS` of it for the boundary (a real one is
under 200 characters)."""

_BOUNDARY = re.compile(
    r"""(?i)(?:^|;)\s*boundary\s*=\s*(?:"([0-9A-Za-z'()+_,./:=?-]{1,70})"|([0-9A-Za-z'()+_,./:=?-]{1,70}))\s*(?:;|$)""")
"""A boundary parameter made only of RFC 2046's boundary characters, without blanks."""
_FIELD = re.compile(r"[!-9;-~]+:")
"""The start of a header field: a name of printable ASCII without a colon, and a colon."""


def without_attachment_bodies(body: str, content_type: str, newline: str) -> str:
    """``body`` — the text under a multipart header block whose Content-Type is
    ``content_type``, every line ending in ``newline`` — with the bodies of the parts
    triage never reads emptied; ``body`` itself when there are none, or when anything
    is unusual (see the module docstring)."""
    if newline == "\r\n":
        ends = body.count("\r\n")
        if body.count("\r") != ends or body.count("\n") != ends:
            return body
    elif newline != "\n" or "\r" in body:
        return body
    boundary = boundary_of(content_type)
    if boundary is None:
        return body
    elided = _elide(body, "--" + boundary, newline, frozenset())
    return body if elided is None else elided


def boundary_of(content_type: str) -> str | None:
    """The boundary of a multipart Content-Type value, when it is one plain parameter;
    None otherwise (absent, given twice, with blanks or escapes, RFC 2231 encoded, in a
    field with an odd number of quotes, a backslash or a quoted ``;``, or over
    :data:`MAX_CONTENT_TYPE_CHARS`)."""
    if len(content_type) > MAX_CONTENT_TYPE_CHARS or content_type.lower().count("boundary") != 1:
        return None
    quoted = content_type.split('"')[1::2]  # the quoted strings, when the quotes pair up
    if content_type.count('"') % 2 or "\\" in content_type or any(";" in q for q in quoted):
        return None  # the parser splits the parameters at a ";" only outside quotes: 'a="; boundary=b' has none
    found = _BOUNDARY.search(content_type)
    return None if found is None else (found[1] or found[2])


def _elide(body: str, separator: str, newline: str, outer: frozenset[str]) -> str | None:
    """``body`` (a multipart's, delimited by ``separator`` lines) with the unread parts'
    bodies emptied; None when there are none, or no close delimiter, or ``separator``
    is also one of an ``outer`` multipart's, or it is nested too deep, or there are too
    many lines like delimiters."""
    if separator in outer or len(outer) >= MAX_DEPTH:
        return None
    delimiters = _delimiters(body, separator, newline)
    if not delimiters or not delimiters[-1][2]:
        return None  # without a close delimiter the parser's last part runs on: left alone
    pieces: list[str] = []
    done = 0  # how much of ``body`` is in ``pieces``
    for (_, start, _), (next_delimiter, _, _) in zip(delimiters, delimiters[1:]):
        end = next_delimiter - len(newline)  # the line end before a delimiter line is the delimiter's
        if end <= start:
            continue
        kept = _part_kept(body[start:end], newline, outer | {separator})
        if kept is not None:
            pieces += [body[done:start], kept]
            done = end
    if not pieces:
        return None
    pieces.append(body[done:])
    return "".join(pieces)


def _delimiters(body: str, separator: str, newline: str) -> list[tuple[int, int, bool]] | None:
    """Each delimiter line of ``separator`` in ``body``, up to the close delimiter:
    (where the line starts, where the line after it starts, whether it closes). A
    delimiter line is the separator, perhaps ``--``, then only blanks, as the parser's
    boundary pattern reads it. None after :data:`MAX_NEAR_DELIMITERS` lines that begin
    with the separator but are no delimiter."""
    found: list[tuple[int, int, bool]] = []
    near = 0
    at = 0 if body.startswith(separator) else _next_line_with(body, newline, separator, 0)
    while at >= 0:
        line_end = body.find(newline, at)
        stop = len(body) if line_end < 0 else line_end
        rest = body[at + len(separator):stop]
        close = rest.startswith("--")
        if not (rest[2:] if close else rest).strip(" \t"):
            found.append((at, stop if line_end < 0 else stop + len(newline), close))
            if close:
                break
        else:
            near += 1
            if near > MAX_NEAR_DELIMITERS:
                return None
        at = _next_line_with(body, newline, separator, at)
    return found


def _next_line_with(body: str, newline: str, start: str, after: int) -> int:
    """Where the first line after position ``after`` that begins with ``start`` begins;
    -1 when there is none."""
    at = body.find(newline + start, after)
    return -1 if at < 0 else at + len(newline)


def _part_kept(part: str, newline: str, outer: frozenset[str]) -> str | None:
    """What is to stay of one part: its header block and blank line when triage never
    reads its body, or the part with a nested multipart's unread bodies emptied; None
    when it stays as it is."""
    blank = part.find(newline + newline)
    if part.startswith(newline) or blank < 0:
        return None  # no header fields (text/plain by default), or no body
    fields = _fields(part[:blank], newline)
    if fields is None:
        return None
    body_start = blank + 2 * len(newline)
    content_type = fields.get("content-type")
    if content_type is None:
        return None  # the parent's default type: text/plain, or message/rfc822 in a digest
    kind = content_type.split(";", 1)[0].strip().lower()
    main = kind.partition("/")[0] if kind.count("/") == 1 else ""  # the parser reads any other as text/plain
    if main == "multipart":
        boundary = boundary_of(content_type)
        inner = None if boundary is None else _elide(part[body_start:], "--" + boundary, newline, outer)
        return None if inner is None else part[:body_start] + inner
    if main == "message":
        return None
    disposition = fields.get("content-disposition", "").split(";", 1)[0].strip().lower()
    if main in SKIPPED_TYPES or disposition == "attachment":
        return part[:body_start]
    return None


def _fields(head: str, newline: str) -> dict[str, str] | None:
    """The first value of each field name (lower case) of a part's header block; None
    when a line is neither a field nor the continuation of one, or it is not ASCII."""
    if not head.isascii() or head[:1] in (" ", "\t"):
        return None
    fields: dict[str, str] = {}
    for field in (_CRLF_FIELDS if newline == "\r\n" else _LF_FIELDS).split(head):
        if _FIELD.match(field) is None:
            return None
        name, _, value = field.partition(":")
        fields.setdefault(name.lower(), value.strip())
    return fields


_CRLF_FIELDS = re.compile(r"\r\n(?![ \t])")
_LF_FIELDS = re.compile(r"\n(?![ \t])")
