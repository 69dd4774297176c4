"""Which message a delivery failure report says was not delivered.

A bounce of the team's reply ("Undelivered Mail Returned to Sender", the reply's headers
attached) means the customer never got the answer: the conversation still waits. A
report says a delivery failed in its ``message/delivery-status`` part ("Action: failed"),
or in the headers Exim (``X-Failed-Recipients``) and Exchange
(``X-MS-Exchange-Message-Is-Ndr``) put on their reports; it names the message in the
headers it returns (``message/rfc822`` or ``text/rfc822-headers``), the first Message-ID
after its own header block. A delay warning ("Action: delayed") is no failure. Pure;
read from the raw bytes with line-anchored patterns that cannot backtrack.
"""

from __future__ import annotations

import re

READ_BYTES = 64_000
"""Bytes of a report read: the status and the returned headers come before any body."""

_FAILED_HEADER = re.compile(rb"^(?:x-failed-recipients|x-ms-exchange-message-is-ndr)[ \t]*:",
                            re.IGNORECASE | re.MULTILINE)
_FAILED_ACTION = re.compile(rb"^action[ \t]*:[ \t]*failed\b", re.IGNORECASE | re.MULTILINE)
_RETURNED_ID = re.compile(rb"^message-id[ \t]*:[ \t]*(<[^<>\s]{1,250}>)", re.IGNORECASE | re.MULTILINE)


def failed_delivery_of(raw: bytes, header_end: int) -> str | None:
    """The Message-ID of the message whose delivery the report ``raw`` (its own header
    block ending at ``header_end``) says failed; None when it reports no failure or
    names no message."""
    head, rest = raw[:header_end], raw[header_end:READ_BYTES]
    if not (_FAILED_HEADER.search(head) or _FAILED_ACTION.search(rest)):
        return None
    found = _RETURNED_ID.search(rest)
    return found.group(1).decode("ascii", "replace") if found else None
