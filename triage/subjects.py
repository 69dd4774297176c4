"""Normalise subjects so a conversation is recognised when headers are missing."""

from __future__ import annotations

import re

_PREFIX = re.compile(
    r"^\s*((re|fw|fwd|aw|wg|sv|vs|tr|rv|ref|antw|odp|r)\s*(\[\d+\])?\s*[:：]\s*|\[[^\]]{1,40}\]\s*)+",
    re.IGNORECASE,
)


def without_prefixes(subject: str) -> str:
    """The subject without reply/forward prefixes and list tags, as written otherwise:
    "RE: Fwd: [Ticket] Refund please" -> "Refund please". A "Re:" says a message is a
    reply, not that the customer is chasing anything."""
    return _PREFIX.sub("", subject or "").strip()


def subject_key(subject: str) -> str:
    """The subject with reply/forward prefixes and list tags removed, case-folded and
    whitespace-collapsed: "RE: Fwd: [Ticket] Refund  please" -> "refund please"."""
    stripped = _PREFIX.sub("", subject or "")
    return re.sub(r"\s+", " ", stripped).strip().casefold()
