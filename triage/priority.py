"""Priority 1 (act now) … 4 (no action needed), with the reasons a person would give.

Pure: it reads the facts already decided about a message and returns a number and words.
How long the customer has waited is not one of them: a wait raises the priority by the
service levels of the config, in one place (:mod:`triage.sla`), when the message is
decided and again whenever a waiting conversation is re-evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass

from triage import rules

_CATEGORY_REASON = {
    "refund": "asks for a refund",
    "cancellation": "wants to cancel",
    "fee_dispute": "disputes a charge",
    "follow_up": "chasing an earlier message",
}
PRIORITY_NAMES = {1: "act now", 2: "today", 3: "normal", 4: "no action needed"}
NEEDS_REPLY = "needs a reply"
"""The reason of a message that gives no other."""


@dataclass(frozen=True)
class Facts:
    """What priority looks at for one message."""

    categories: list[str]
    frustration: float
    frustrated: bool
    automated: bool
    automated_reason: str | None
    repeat_count: int
    threat: str | None
    """The words of a chargeback/legal/regulator threat it makes (:func:`mentions_threat`)."""
    asks_nothing: str | None = None
    """Why the message asks nothing of the team (:func:`asks_for_nothing`), if it does not."""
    angry_words: bool | None = None
    """The words alone read as frustrated (tone at or over the threshold), before history
    adds to it; None: take ``frustrated``. History counts once: a second unanswered
    message is urgent when its words are angry, not because waiting made it "frustrated"."""


def mentions_threat(text: str) -> str | None:
    """The chargeback/legal/regulator threat aimed at the business a message makes, in
    its own words ("chargeback", "take you to court"), or None (:func:`triage.rules.threat`:
    "Sue" the colleague, a tennis court or a lawyer asking for invoices are none)."""
    return rules.threat(text)


def threat_reason(words: str) -> str:
    """How the queue says it: "threatens a chargeback", "threatens legal action ('lawyer')"."""
    if "charge" in words and "back" in words:
        return "threatens a chargeback"
    return f"threatens action ('{words}')"


THANKS = "a thank-you or acknowledgement"
"""The reason of a message that only thanks or acknowledges."""


def asks_for_nothing(message, reading: rules.Reading | None = None) -> str | None:
    """Why a message asks nothing of the team, or None when a customer waits for a reply:
    machine-sent mail (a payment processor's "refund succeeded" asks nobody for a refund),
    a sales pitch, survey or "no need to reply" note, and plain thank-yous under an old
    subject line get no category, whatever words they use, and start no wait. A threat is
    never nothing. ``message`` is a :class:`~triage.message.Message`; ``reading``, what
    the rules found in its words (:func:`triage.rules.read`), is read here when not given."""
    if message.automated:
        return f"automated ({message.automated_reason or 'machine-sent'})"
    if reading is None:
        reading = rules.read(message.classifier_text, message.newest_text, message.subject)
    if reading.threat:
        return None
    if reading.no_reply:
        return f"needs no reply ({reading.no_reply})"
    if reading.thanks:
        return THANKS
    return None


def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 3 -> '3rd', 11 -> '11th'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def describe_wait(hours: float) -> str:
    """'waiting 5 hours' / 'waiting 6 days'."""
    if hours < 48:
        return f"waiting {max(int(hours), 0)} hour{'s' if int(hours) != 1 else ''}"
    return f"waiting {int(hours // 24)} days"


def short_age(hours: float | None) -> str:
    """'–', '5h' or '6d': a wait in a table cell (whole days, like :func:`describe_wait`)."""
    if hours is None:
        return "–"
    return f"{max(int(hours), 0)}h" if hours < 48 else f"{int(hours // 24)}d"


def prioritize(facts: Facts) -> tuple[int, list[str]]:
    """Return (priority, reasons) from what the message says and who sent it.

    1 (act now): a chargeback, legal or regulator threat; a 3rd message without a reply;
    a customer whose words are angry and who already wrote or disputes a charge.
    2 (today): frustrated, a 2nd message, or any of the four categories (money and
    accounts are time-sensitive). 3: anything else that needs a reply. 4: mail that asks
    nothing (machine-sent, thank-yous, pitches). How long they waited is not a fact here:
    :mod:`triage.sla` ages a conversation's priority, in one place."""
    if facts.asks_nothing:
        return 4, [facts.asks_nothing]
    if facts.automated:
        return 4, [f"automated ({facts.automated_reason or 'machine-sent'})"]
    reasons: list[str] = []
    urgent = False
    if facts.repeat_count >= 2:
        reasons.append(f"{ordinal(facts.repeat_count)} message without a reply")
    if facts.frustrated:
        reasons.append(f"frustrated ({facts.frustration:.2f})")
    threat = facts.threat
    if threat:
        reasons.append(threat_reason(threat))
    reasons.extend(_CATEGORY_REASON[c] for c in facts.categories if c in _CATEGORY_REASON)

    angry = facts.frustrated if facts.angry_words is None else facts.angry_words
    if threat or facts.repeat_count >= 3:
        urgent = True
    elif angry and (facts.repeat_count >= 2 or "fee_dispute" in facts.categories):
        urgent = True
    if urgent:
        return 1, reasons
    if facts.frustrated or facts.repeat_count >= 2 or any(c in _CATEGORY_REASON for c in facts.categories):
        return 2, reasons
    return 3, reasons or [NEEDS_REPLY]

