"""Normalise subjects so a conversation is recognised when headers are missing."""

from __future__ import annotations

import re
from functools import lru_cache

_PREFIX = re.compile(
    r"^\s*((re|fw|fwd|aw|wg|sv|vs|tr|rv|ref|antw|odp|r)\s*(\[\d+\])?\s*[:：]\s*|\[[^\]]{1,40}\]\s*)+",
    re.IGNORECASE,
)


def without_prefixes(subject: str) -> str:
    """The subject without reply/forward prefixes and list tags, as written otherwise:
    "RE: Fwd: [Ticket] Refund please" -> "Refund please". A "Re:" says a message is a
    reply, not that the customer is chasing anything."""
    return _PREFIX.sub("", subject or "").strip()


@lru_cache(maxsize=4096)
def subject_key(subject: str) -> str:
    """The subject with reply/forward prefixes and list tags removed, case-folded and
    whitespace-collapsed: "RE: Fwd: [Ticket] Refund  please" -> "refund please".
    Cached: deciding a message keys every subject its sender used in the last weeks
    (:meth:`triage.history.History.sender_counts`), the same ones again and again."""
    stripped = _PREFIX.sub("", subject or "")
    return re.sub(r"\s+", " ", stripped).strip().casefold()
