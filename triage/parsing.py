"""Raw bytes in, a typed :class:`~triage.message.Message` out: only what triage reads.

Triage reads a handful of headers and the sender's words, never attachments, so it parses
no more than that, with the standard library's ``email`` parser (the engine under
mail-parser, at a third of mail-parser's cost on real mail, and it never raises on the
valid multipart/report bounces mail-parser trips on); the message's own header block,
half of that parser's cost on real mail, is read by :mod:`triage.headblock` into the
same fields. Header values are decoded by
:mod:`triage.headers` within a budget; of a header that occurs twice (two ``Subject:``
lines are common in spam and broken mailers) the first non-empty one counts.

Mail is hostile input, and no message is dropped for being odd:

1. the ``email`` parser, which records defects instead of raising;
2. should it raise all the same, a plain scan of the raw header lines and the text after
   them (:func:`_scan_raw`);
3. only bytes with no mail header at all raise :class:`MessageParseError`; callers record
   such a message as unreadable, they do not skip it silently.

Every step has a budget: at most :data:`MAX_PARSE_BYTES` of a message are parsed, its
header block is cut at :data:`MAX_HEADER_BYTES`, a header value at
:data:`~triage.headers.MAX_HEADER_CHARS`, the MIME delimiter lines at
:data:`MAX_DELIMITERS`, the walk over MIME parts at :data:`MAX_PARTS`, and the text at
:data:`MAX_BODY_CHARS`. A message over a budget is decided from what was
read, and says so in ``notes``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from dataclasses import dataclass, replace
from email.message import Message as EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

from triage import boundaries
from triage.automated import automated_rule, names_no_person
from triage.bounces import failed_delivery_of
from triage.errors import MessageParseError
from triage.forwards import Forwarded, attached_forward, forwarded_mail, is_forward_subject
from triage.headblock import HeaderBlockParser, header_end, plain_header_block
from triage.headers import MAX_HEADER_CHARS, MAX_REFERENCES_CHARS, decode_bytes, decode_value
from triage.htmltext import html_to_text, without_bulk
from triage.message import Message, RawMail
from triage.quotes import newest_words
from triage.relayed import RELAYING_RULES, relayed_complaint

log = logging.getLogger(__name__)

MAX_PARSE_BYTES = 2_000_000
"""A message is parsed from at most its first 2 MB (the IMAP fetch stops there too): the
words come first, and a 50 MB attachment would otherwise cost seconds and 600 MB."""

MAX_HEADER_BYTES = 256_000
"""Of a header block beyond this (a real one is rarely over 30 KB) only the fields triage
reads are kept past this size."""

MAX_FIELD_BYTES = 16_000
"""A header field of an oversized block is cut to this (folded lines included)."""

_READ_FIELDS = frozenset({
    b"from", b"sender", b"to", b"cc", b"subject", b"date", b"message-id", b"in-reply-to", b"references",
    b"mime-version", b"content-type", b"content-transfer-encoding", b"content-disposition", b"auto-submitted",
    b"precedence", b"x-autoreply", b"x-autorespond", b"x-autoresponder", b"return-path", b"feedback-id",
})
"""The fields triage reads, kept whatever precedes them."""

MAX_BODY_CHARS = 200_000
"""Text beyond this (pasted logs, giant HTML) is dropped before any further work."""

MAX_PARTS = 100
"""MIME parts looked at for text; a message nested deeper or wider is read this far."""

MAX_ATTACHED_DEPTH = 5
"""Attached messages looked into, one inside the other, for the text of a message that
has none of its own (a forward, as an attachment, of a forward as an attachment)."""

MAX_MULTIPARTS = 50
"""Multipart boundaries declared in a message that are parsed: the parser tests every
line against every enclosing boundary, so 900 nested multiparts over 2 MB of short lines
took 75 s. A message is parsed up to the declaration of the next one (real mail, forwards
of forwards included, declares a few)."""

MAX_PARAMS_CHARS = 4_000
"""Of a Content-Type or Content-Disposition field, the part read for its parameters
(charset, boundary, file name): the standard library's splitter counts the quotes from
the start again at every ``;``, so a 200 KB field of quoted semicolons took 20 s."""

_BOUNDARY_PARAMETER = re.compile(rb"boundary\s*=")

MAX_DELIMITERS = 1_000
"""MIME delimiter lines (``--`` and a boundary) parsed. The parser makes a part of each,
however small (``--b`` and two line ends: 400,000 parts in 2 MB took 6 s and 120 MB),
and triage looks at the first :data:`MAX_PARTS` parts only, so a message is parsed up
to its delimiter line after this many."""

_BOUNDARY_VALUE = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]*)"|([^\s;"]+))', re.IGNORECASE)

_EARLIEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=timezone.utc)
_LATEST_PLAUSIBLE = datetime(2101, 1, 1, tzinfo=timezone.utc)
_FOUR_DIGIT_SMALL_YEAR = re.compile(r"\b\d{1,2}\s+[A-Za-z]{3,}\s+0\d{2,}\b")
"""A Date's day, month and a year of three digits or more under 1000 (``1 Jan 0000``),
which the standard library reads as a two-digit year."""
_MSGID = re.compile(r"<[^<>\s]{1,500}>")
_NAME_ADDR = re.compile(r"\s*([^<>,]{0,500}?)\s*<([^<>\s@]{1,200}@[^<>\s]{1,300})>")
_HEADER_LINE = re.compile(rb"^[!-9;-~]{1,76}:", re.MULTILINE)
"""A header field's start: printable ASCII name without a colon, then a colon (RFC 5322 2.2)."""
_MAIL_HEADERS = ("from", "subject", "date", "message-id", "to", "sender", "received", "return-path")


class _IndexedMessage(EmailMessage):
    """The standard compat32 message, its header lookups through an index of the
    lower-cased field names. Real mail carries 50-100 header fields (Received chains,
    DKIM and ARC signatures) and the stdlib scans and lower-cases all of them on every
    ``get``: the parser itself asks for Content-Type several times a part, and those scans
    were a quarter of parsing a message. Same answers: the first field of a name wins.

    The index is rebuilt whenever the header list is not the one it was built from, or
    has another length, or a field was replaced in place (:meth:`replace_header`)."""

    _index: tuple[list, int, dict[str, tuple[str, str]]] | None = None

    def _first(self, name: str) -> tuple[str, str] | None:
        headers = self._headers
        index = self._index
        if index is None or index[0] is not headers or index[1] != len(headers):
            fields: dict[str, tuple[str, str]] = {}
            for field in headers:
                fields.setdefault(field[0].lower(), field)
            index = self._index = (headers, len(headers), fields)
        return index[2].get(name.lower())

    def get(self, name, failobj=None):
        field = self._first(name)
        return failobj if field is None else self.policy.header_fetch_parse(*field)

    def __contains__(self, name) -> bool:
        return self._first(name) is not None

    def replace_header(self, _name, _value) -> None:
        self._index = None
        super().replace_header(_name, _value)

    def _get_params_preserve(self, failobj, header):
        """The stdlib's (under ``get_param``, ``get_boundary``, ``get_content_charset``,
        ``get_filename``), reading at most :data:`MAX_PARAMS_CHARS` of the field."""
        field = self._first(header)
        if field is None or not isinstance(field[1], str) or len(field[1]) <= MAX_PARAMS_CHARS:
            return super()._get_params_preserve(failobj, header)
        cut = _IndexedMessage(self.policy)
        cut._headers = [(field[0], field[1][:MAX_PARAMS_CHARS])]
        return cut._get_params_preserve(failobj, header)

    _content_type: tuple[tuple[str, str] | None, str, str] | None = None

    def get_content_type(self) -> str:
        """The stdlib's answer, kept until the Content-Type field or the default type
        changes: the parser and triage ask it about ten times a message."""
        field, default = self._first("content-type"), self._default_type
        known = self._content_type
        if known is None or known[0] is not field or known[1] != default:
            known = self._content_type = (field, default, super().get_content_type())
        return known[2]


_PARSER = HeaderBlockParser(_IndexedMessage, skip_unread=True)
boundaries.install()


def content_hash(raw: bytes) -> str:
    """The identity of a message's bytes (local mail has no other): hex SHA-256."""
    return hashlib.sha256(raw).hexdigest()


def mail_digest(mail: RawMail) -> str:
    """:func:`content_hash` of the whole message: the digest its source took when it read
    only the start (``mail.digest``), else the hash of ``mail.raw``."""
    return mail.digest or content_hash(mail.raw)


def parse_message(mail: RawMail) -> Message:
    """Parse one raw message (see the module docstring); MessageParseError only when the
    bytes hold no mail header at all."""
    raw = mail.raw or b""
    name = f"{mail.mailbox}:{mail.key}"
    if not raw.strip():
        raise MessageParseError(f"{name}: empty message")
    notes: list[str] = []
    if len(raw) > MAX_PARSE_BYTES:
        log.info("%s: %d bytes; parsing the first %d", name, len(raw), MAX_PARSE_BYTES)
        raw = raw[:MAX_PARSE_BYTES]
        notes.append(f"over {MAX_PARSE_BYTES // 1_000_000} MB: read the first {MAX_PARSE_BYTES // 1_000_000} MB")
    raw = _cap_multiparts(raw, notes)
    raw, end = plain_header_block(raw, header_end(raw))
    if end > MAX_HEADER_BYTES:
        raw = _cap_header_block(raw, end, notes)
        end = header_end(raw)
    raw = _cap_delimiters(raw, end, notes)
    parts: list[tuple[str, str]] = []
    attached: _Attached | None = None
    try:
        parsed = _PARSER.parsebytes(raw, end)
        headers = _Headers.of(parsed)
        body, attached = _body_text(parsed, notes, parts)
    except Exception as exc:  # the parser is lenient; this is the last line of defence
        log.info("%s: the email parser failed (%s: %s); reading the raw text", name, type(exc).__name__, exc)
        notes.append("MIME structure unreadable: read as plain text")
        headers, body = _scan_raw(raw)
        parts = []
    if not any(headers.has(h) for h in _MAIL_HEADERS):
        raise MessageParseError(f"{name}: no mail headers found")
    message = _message(mail, headers, body, notes, mail_digest(mail), parts, attached)
    if message.automated:  # (a report of a failed delivery is machine mail)
        message = replace(message, undelivered=failed_delivery_of(raw, end))
    return message


def _cap_multiparts(raw: bytes, notes: list[str]) -> bytes:
    """``raw`` up to its multipart boundary declaration after :data:`MAX_MULTIPARTS`."""
    lowered = raw.lower()  # a case-blind pattern would scan a message six times slower
    if lowered.count(b"boundary") <= MAX_MULTIPARTS:
        return raw
    for count, found in enumerate(_BOUNDARY_PARAMETER.finditer(lowered), 1):
        if count > MAX_MULTIPARTS:
            notes.append(f"over {MAX_MULTIPARTS} multipart boundaries: read up to the next one")
            return raw[:raw.rfind(b"\n", 0, found.start()) + 1]
    return raw


def _cap_delimiters(raw: bytes, end: int, notes: list[str]) -> bytes:
    """``raw`` up to its delimiter line after :data:`MAX_DELIMITERS`, counting the lines
    after the header block (which ends at ``end``) that are ``--`` and a boundary the
    message declares (then ``--``, blanks and the line end, as the parser reads them)."""
    if raw.count(b"\n--", end) + raw.count(b"\r--", end) <= MAX_DELIMITERS:
        return raw  # all real mail: the search below is for a flood of parts
    declared = {value.rstrip() for pair in _BOUNDARY_VALUE.findall(raw) for value in pair if value.rstrip()}
    if not declared:
        return raw
    alternatives = b"|".join(re.escape(boundary) for boundary in sorted(declared))
    delimiter = re.compile(rb"[\r\n]--(?:" + alternatives + rb")(?:--)?[ \t]*(?=[\r\n]|\Z)")
    for count, found in enumerate(delimiter.finditer(raw, end), 1):
        if count > MAX_DELIMITERS:
            notes.append(f"over {MAX_DELIMITERS} MIME delimiter lines: read up to the next one")
            return raw[:found.start() + 1]
    return raw


def _message(mail: RawMail, headers: _Headers, body: str, notes: list[str], digest: str,
             parts: list[tuple[str, str]], attached: _Attached | None = None) -> Message:
    sender_name, sender = _first_address(headers.raw("from")) or _first_address(headers.raw("sender")) or ("", "")
    recipients = tuple(address for _, address in _addresses(headers.raw("to"), headers.raw("cc")))
    subject = headers.get("subject")
    message_id = _first_msgid(headers.raw("message-id")) or f"<{digest[:40]}@triage.invalid>"
    reason = _automated_reason(headers, sender, subject, parts, body)
    references = tuple(_MSGID.findall(headers.raw("references", MAX_REFERENCES_CHARS, keep="end")))
    answer_to_name, answer_to = answer_address(headers.raw("reply-to"), sender, sender_name, subject, body)
    return Message(
        message_id=message_id,
        sender=sender,
        sender_name=sender_name,
        recipients=recipients,
        subject=subject,
        date=_message_date(headers.raw("date"), mail.internaldate),
        in_reply_to=_first_msgid(headers.raw("in-reply-to")),
        references=references[-50:],
        body_text=body,
        newest_text=newest_words(body),
        automated=reason is not None,
        answer_to=answer_to,
        answer_to_name=answer_to_name,
        forwarded=None if reason is not None else (forwarded_mail(subject, body)
                                                   or _attached_forward(subject, body, attached)),
        automated_reason=reason,
        mailbox=mail.mailbox,
        uid=mail.uid,
        key=mail.key,
        flags=mail.flags,
        content_hash=digest,
        notes=tuple(notes),
    )


def _automated_reason(headers: _Headers, sender: str, subject: str, parts: list[tuple[str, str]],
                      body: str) -> str | None:
    """Why the message is machine mail (:func:`triage.automated.automated_rule`), or None;
    also None for a customer's complaint a portal relays from a no-reply or notifications
    mailbox (:func:`triage.relayed.relayed_complaint`): its words are a customer's."""
    found = automated_rule(headers, sender, subject, headers.raw("content-type"), parts)
    if found is None or (found[0] in RELAYING_RULES and relayed_complaint(body)):
        return None
    return found[1]


class _Headers:
    """Header name (any case) -> first non-empty value, raw; decoded on request. A
    mapping for :func:`~triage.automated.automated_reason`, which asks for a few only."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        for name, value in pairs:
            key = name.strip().lower()
            if key not in self._values or not self._values[key].strip():
                self._values[key] = value

    @classmethod
    def of(cls, parsed: EmailMessage) -> _Headers:
        # The raw values: ``items()`` would turn 8-bit (RFC 6532) headers into U+FFFD.
        return cls([(name, _unescape(value)) for name, value in parsed._headers])

    def has(self, name: str) -> bool:
        return name in self._values

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self):
        """The header names present, lower-case."""
        return iter(self._values)

    def get(self, name: str, default: str = "") -> str:
        """The value decoded from RFC 2047 and whitespace-collapsed (``default`` when absent)."""
        return decode_value(self._values[name]) if name in self._values else default

    def raw(self, name: str, limit: int = MAX_HEADER_CHARS, keep: str = "start") -> str:
        """The value as sent (not decoded), cut to ``limit`` characters from the start, or
        from the end with ``keep="end"``."""
        value = self._values.get(name, "")
        if len(value) > limit:
            value = value[-limit:] if keep == "end" else value[:limit]
        return value


def _unescape(value) -> str:
    """A header value as the bytes parser stored it (8-bit bytes as surrogate escapes)
    back to text: UTF-8 where it is, else windows-1252."""
    if not isinstance(value, str):
        return str(value)
    if value.isascii():
        return value
    try:
        data = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # real characters already (a message built in Python)
        return value
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _cap_header_block(raw: bytes, end: int, notes: list[str]) -> bytes:
    """A header block (ending at ``end``) over :data:`MAX_HEADER_BYTES` keeps its fields up
    to that size and, beyond it, only the fields triage reads; each field at most
    :data:`MAX_FIELD_BYTES`."""
    kept: list[bytes] = []
    total = field = 0
    keep = False
    for line in raw[:end].split(b"\n"):
        if line[:1] not in (b" ", b"\t"):  # a new field, else a continuation of the last one
            name = line.split(b":", 1)[0].strip().lower()
            keep = total < MAX_HEADER_BYTES or name in _READ_FIELDS or name.startswith(b"list-")
            field = 0
        if keep and field < MAX_FIELD_BYTES:
            line = line[: MAX_FIELD_BYTES - field]
            kept.append(line)
            field += len(line)
            total += len(line)
    notes.append(f"headers over {MAX_HEADER_BYTES // 1000} KB: read the ones triage uses")
    return b"\n".join(kept) + raw[end:]


@dataclass(frozen=True)
class _Attached:
    """The first message a message attaches (message/rfc822 among its own parts), and
    whether the message's text was read from it (it had none of its own)."""

    message: EmailMessage
    text_is_its: bool


def _body_text(parsed: EmailMessage, notes: list[str],
               parts: list[tuple[str, str]]) -> tuple[str, _Attached | None]:
    """The message's text: its plain-text parts, else its HTML as text; and the first
    message it attaches (None when none). Attachments are never read; attached messages
    (a bounce's returned mail, a forward as attachment) only when the message has no text
    of its own: the first one, and within it the first one again while there is no text,
    :data:`MAX_ATTACHED_DEPTH` deep. ``parts`` receives the (content type, file name) of
    the parts walked under the top one, for :func:`~triage.automated.automated_reason`."""
    plain, html, attached = _text_parts(parsed, notes, parts)
    first = _Attached(attached[0], text_is_its=not (plain or html)) if attached else None
    for _ in range(MAX_ATTACHED_DEPTH):  # (a forward of a forward, each as an attachment)
        if plain or html or not attached:
            break
        plain, html, attached = _text_parts(attached[0], notes, [])
    return _text_of(plain, html), first


def _text_of(plain: list, html: list) -> str:
    """The text of a message's text parts: the plain ones, else the HTML ones as text."""
    text = _join(plain)
    if not text.strip() and html:
        text = html_to_text(_join(html, MAX_BODY_CHARS * 2, thin=without_bulk))
    return text[:MAX_BODY_CHARS].replace("\r\n", "\n")


def _attached_forward(subject: str, body: str, attached: _Attached | None) -> Forwarded | None:
    """The mail a forward carries as an attachment (Outlook's "Forward as Attachment":
    "FW: complaint", the colleague's note, the customer's mail attached whole), read from
    the attached message's own headers (:func:`triage.forwards.attached_forward`); None
    for any other message. Only a forward's attachment is read: most mail has none."""
    if attached is None or not is_forward_subject(subject):
        return None
    try:
        headers = _Headers.of(attached.message)
        author = _first_address(headers.raw("from")) or ("", "")
        text = body if attached.text_is_its else _text_of(*_text_parts(attached.message, [], [])[:2])
        return attached_forward(subject, "" if attached.text_is_its else body, author[0], author[1],
                                headers.get("subject"),
                                tuple(address for _, address in _addresses(headers.raw("to"), headers.raw("cc"))),
                                _first_msgid(headers.raw("message-id")) or "", text)
    except Exception:  # noqa: BLE001 - an unreadable attachment leaves the message as it is
        log.debug("a forward's attached message could not be read", exc_info=True)
        return None


def _text_parts(root: EmailMessage, notes: list[str], walked: list[tuple[str, str]]) -> tuple[list, list, list]:
    """(text/plain parts, text/html parts, attached messages) under ``root``, in order,
    not descending into attached messages; at most :data:`MAX_PARTS` parts looked at.
    The (content type, file name) of each part under ``root`` is appended to ``walked``
    (the name of application/* parts only: a DMARC report's zip is known by its name)."""
    plain, html, attached = [], [], []
    stack, seen = [root], 0
    while stack:
        part = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            notes.append(f"over {MAX_PARTS} MIME parts: read the first {MAX_PARTS}")
            break
        kind = part.get_content_type()
        if part is not root:
            walked.append((str(part.get("content-type", kind))[:500], _filename(part) if kind.startswith("application/")
                           else ""))
        payload = part.get_payload()
        if kind.startswith("message/") and part is not root:
            if isinstance(payload, list) and payload and kind == "message/rfc822":
                attached.append(payload[0])
            continue
        if isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, EmailMessage)]))
            continue
        if str(part.get("content-disposition", "")).split(";", 1)[0].strip().lower() == "attachment":
            continue
        # A multipart whose boundary never occurs is one unparsed text: read, not lost.
        if kind == "text/plain" or part.get_content_maintype() == "multipart":
            plain.append(part)
        elif kind == "text/html":
            html.append(part)
    return plain, html, attached


def _filename(part: EmailMessage) -> str:
    """A part's file name, '' when it has none or its parameters cannot be read."""
    try:
        return str(part.get_filename() or "")[:300]
    except Exception:  # malformed RFC 2231 parameters: the name is unknown, the rest is read
        return ""


def _join(parts: list[EmailMessage], limit: int = MAX_BODY_CHARS, thin: Callable[[str], str] | None = None) -> str:
    """The decoded text of ``parts``, at most ``limit`` characters; each part's text
    passed through ``thin`` (what is never shown taken out) before it counts."""
    texts, size = [], 0
    for part in parts:
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        text = decode_bytes(payload[: limit * 4] if thin is None else payload[:MAX_PARSE_BYTES],
                            part.get_content_charset())
        if thin is not None:
            text = thin(text)
        if text.strip():
            texts.append(text)
            size += len(text)
            if size >= limit:
                break
    return "\n".join(texts)[:limit]


def _scan_raw(raw: bytes) -> tuple[_Headers, str]:
    """Headers and text of a message the email parser could not take: header lines up
    to the first blank line, the rest as text (tags dropped when it looks like HTML)."""
    end = header_end(raw)
    head, body = raw[:end], raw[end:].lstrip(b"\r\n")
    pairs: list[tuple[str, str]] = []
    for line in re.split(rb"\r?\n(?![ \t])", head):
        name, colon, value = line.partition(b":")
        if colon and _HEADER_LINE.match(line):
            pairs.append((name.decode("ascii", "replace"), decode_bytes(value, "utf-8").strip()))
    text = decode_bytes(body[: MAX_BODY_CHARS * 2], "utf-8")
    if "<html" in text[:2000].lower() or "<div" in text[:2000].lower():
        text = html_to_text(text)
    return _Headers(pairs), text[:MAX_BODY_CHARS]


def _addresses(*values: str) -> list[tuple[str, str]]:
    """(display name, lower-case address) pairs of address headers; names decoded."""
    found = []
    try:
        pairs = getaddresses([v for v in values if v])
    except Exception:  # a malformed list; the addresses are then unknown
        return []
    for name, address in pairs:
        address = address.strip().lower()
        if address:
            found.append((decode_value(name).strip('" '), address))
    return found


def _first_address(value: str) -> tuple[str, str] | None:
    """(display name, address) of the first address in an address header. An address in
    angle brackets wins at once, with all before it as the name, quotes and all: real
    mail puts addresses in unquoted names ("Mail Guard for ann@x.example <v@y.example>")."""
    bracketed = _NAME_ADDR.match(value or "")
    if bracketed:
        return decode_value(bracketed.group(1)).strip('" '), bracketed.group(2).strip().lower()
    for name, address in _addresses(value):
        if address:
            return name, address
    return None


_EMAIL_FIELD = re.compile(r"^[ \t*>]*(?:e-?mail|e-?mail address|your e-?mail|courriel|correo(?: electr[oó]nico)?"
                          r"|e-?mail-?adresse)[ \t*]*[:=][ \t*]*<?(?:mailto:)?([^\s<>@,;:\"']+@[^\s<>,;:\"']+\.[a-z]{2,})",
                          re.IGNORECASE | re.MULTILINE)
"""A form's field giving the customer's address ("Email: ana@example.org")."""
FORM_FIELDS_CHARS = 3000
"""How much of a relayed form's text is searched for its e-mail field (the fields come first)."""


def answer_address(reply_to: str, sender: str, sender_name: str, subject: str, body: str) -> tuple[str, str]:
    """(name, address) the customer is answered at when it is not From's, else ("", "").

    Web forms, shop apps and helpdesk relays send every customer's words from one
    mailbox (``noreply@``, "Website Contact Form", ``wordpress@`` of the shop's own
    domain) and name the customer in Reply-To: taken as From, four customers writing
    through one form were one customer writing four times — one conversation, "4th
    message without a reply", P1 and frustrated. A Reply-To naming exactly one other
    address is who writes and who the team's answer goes to; several (a list) are not
    one person. A form that names the customer only in its fields (From no person,
    :func:`triage.automated.names_no_person`) is read for an e-mail field."""
    named = [(name, address) for name, address in _addresses(reply_to) if "@" in address]
    if len(named) == 1:
        name, address = named[0]
        return ("", "") if address == sender else (name, address)
    if named or not names_no_person(sender, sender_name, subject):
        return "", ""
    found = _EMAIL_FIELD.search(body[:FORM_FIELDS_CHARS])
    address = found.group(1).lower().rstrip(".") if found else ""
    return ("", "") if not address or address == sender else ("", address)


def _first_msgid(value: str) -> str | None:
    match = _MSGID.search(value or "")
    return match.group(0) if match else None


DATE_AHEAD_OF_ARRIVAL = timedelta(minutes=15)
"""How far after its arrival a message's Date is still believed: a sender's clock a few
minutes fast. Mail cannot be written after it arrived, and a Date hours ahead (a phone or
a server with its clock or time zone set wrong) put the message after the team's reply to
it: believed up to a day ahead, it kept an answered conversation waiting, overdue, then
P1 — for ever, unless the team wrote again after that Date."""


def _message_date(header: str, internaldate: datetime | None) -> datetime:
    """The Date header, or INTERNALDATE where the header is missing or absurd; an absurd
    INTERNALDATE (before 1995 or after 2100: a migration that lost it, set it to 0) is
    no evidence against the header either, or new mail dated today by its sender waited
    "56 years" and topped the queue as overdue."""
    fallback = _as_utc(internaldate) if internaldate else None
    if fallback is not None and not _EARLIEST_PLAUSIBLE <= fallback < _LATEST_PLAUSIBLE:
        fallback = None
    try:
        date = _as_utc(parsedate_to_datetime(header[:200])) if header else None
    except (TypeError, ValueError, IndexError, OverflowError):
        date = None
    if date is not None and _FOUR_DIGIT_SMALL_YEAR.search(header[:200]):
        date = None  # "0000" read as two digits: the year 2000, and 26 years of waiting (as absurd)
    # A Date far before arrival is plausible (imported or delayed mail); one after it is not.
    absurd = date is not None and (
        date < _EARLIEST_PLAUSIBLE
        or (fallback is not None and date - fallback > DATE_AHEAD_OF_ARRIVAL)
        or date >= _LATEST_PLAUSIBLE
    )
    if date is None or absurd:
        if fallback is None and date is None:
            log.debug("message has no usable date; using the epoch")
            return datetime.fromtimestamp(0, tz=timezone.utc)
        return fallback or date
    return date


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
