"""Raw bytes in, a typed :class:`~triage.message.Message` out (mail-parser underneath).

Mail is hostile input: any failure here becomes a :class:`MessageParseError` naming the
message, which callers log and skip.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime, timedelta, timezone
from email.header import decode_header, make_header
from email.utils import parsedate_to_datetime

import mailparser

from triage.automated import automated_reason
from triage.errors import MessageParseError
from triage.htmltext import html_to_text
from triage.message import Message, RawMail
from triage.quotes import newest_words

log = logging.getLogger(__name__)
# mail-parser warns about every MIME part it does not render (delivery reports, calendar
# parts); those are normal in a support inbox, not problems worth a log line each.
logging.getLogger("mailparser").setLevel(logging.ERROR)

MAX_PARSE_BYTES = 2_000_000
"""A message is parsed from at most its first 2 MB (the IMAP fetch stops there too): the
words come first, and a 50 MB attachment would otherwise cost seconds and 600 MB."""

MAX_BODY_CHARS = 200_000
"""Text beyond this (pasted logs, giant HTML) is dropped before any further work."""

_EARLIEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=timezone.utc)
_MSGID = re.compile(r"<[^<>\s]+>")


def parse_message(mail: RawMail) -> Message:
    """Parse one raw message; raise MessageParseError when it is not mail at all."""
    if not mail.raw or not mail.raw.strip():
        raise MessageParseError(f"{mail.mailbox}:{mail.key}: empty message")
    raw = mail.raw
    if len(raw) > MAX_PARSE_BYTES:
        log.info("%s:%s: %d bytes; parsing the first %d", mail.mailbox, mail.key, len(raw), MAX_PARSE_BYTES)
        raw = raw[:MAX_PARSE_BYTES]
    try:
        parsed = mailparser.parse_from_bytes(raw)
    except Exception as exc:  # mail-parser raises many kinds on broken MIME
        raise MessageParseError(f"{mail.mailbox}:{mail.key}: unparseable MIME ({type(exc).__name__}: {exc})") from exc

    headers = _headers(parsed.message)
    if not any(name in headers for name in ("from", "subject", "date", "message-id", "to")):
        raise MessageParseError(f"{mail.mailbox}:{mail.key}: no mail headers found")

    sender_name, sender = _first_address(parsed.from_)
    recipients = tuple(addr.strip().lower() for _, addr in [*(parsed.to or []), *(parsed.cc or [])] if addr)
    subject = _clean_subject(parsed.subject or headers.get("subject", ""))
    body = _body_text(parsed)
    content_type = headers.get("content-type", "")
    message_id = _first_msgid(headers.get("message-id", "")) or _synthetic_id(raw)

    return Message(
        message_id=message_id,
        sender=sender,
        sender_name=sender_name,
        recipients=recipients,
        subject=subject,
        date=_message_date(headers.get("date", ""), mail.internaldate),
        in_reply_to=_first_msgid(headers.get("in-reply-to", "")),
        references=tuple(_MSGID.findall(headers.get("references", ""))),
        body_text=body,
        newest_text=newest_words(body),
        automated=(reason := automated_reason(headers, sender, subject, content_type)) is not None,
        automated_reason=reason,
        mailbox=mail.mailbox,
        uid=mail.uid,
        key=mail.key,
        flags=mail.flags,
    )


def _headers(message) -> dict[str, str]:
    """Lower-case header name -> first value, decoded from RFC 2047 to text."""
    headers: dict[str, str] = {}
    for name, value in message.items():
        key = name.lower()
        if key not in headers:
            text = str(value)
            if "=?" not in text:  # no encoded-word: nothing to decode (most headers, most mail)
                headers[key] = text
                continue
            try:
                headers[key] = str(make_header(decode_header(text)))
            except Exception:  # undecodable encoded-word: keep it as sent
                headers[key] = text
    return headers


def _first_address(pairs) -> tuple[str, str]:
    for name, addr in pairs or []:
        if addr:
            return (name or "").strip(), addr.strip().lower()
    return "", ""


def _first_msgid(value: str) -> str | None:
    match = _MSGID.search(value or "")
    return match.group(0) if match else None


def _synthetic_id(raw: bytes) -> str:
    return f"<{hashlib.sha1(raw).hexdigest()}@triage.invalid>"


def _clean_subject(subject: str) -> str:
    return re.sub(r"\s+", " ", subject or "").strip()


def _body_text(parsed) -> str:
    plain = "\n".join(part for part in (parsed.text_plain or []) if part and part.strip())
    if plain.strip():
        text = plain
    else:
        html = "\n".join(parsed.text_html or [])
        text = html_to_text(html[: MAX_BODY_CHARS * 2]) if html else ""
    return text[:MAX_BODY_CHARS].replace("\r\n", "\n")


def _message_date(header: str, internaldate: datetime | None) -> datetime:
    """The Date header, or INTERNALDATE where the header is missing or absurd."""
    fallback = _as_utc(internaldate) if internaldate else None
    try:
        date = _as_utc(parsedate_to_datetime(header)) if header else None
    except (TypeError, ValueError, IndexError, OverflowError):
        date = None
    # A Date far before arrival is plausible (imported or delayed mail); one after it is not.
    absurd = date is not None and (
        date < _EARLIEST_PLAUSIBLE
        or (fallback is not None and date - fallback > timedelta(days=1))
        or date.year > 2100
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
