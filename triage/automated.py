"""Recognise mail no human wrote to us: auto-replies, bounces and bulk mail.

Automated mail is still a row of output, but it is never frustrated, never a repeat
sender and never urgent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?reply|auto:|out of (the )?office|ooo\b|abwesenheit"
    r"|automatische antwort|réponse automatique|respuesta automática|risposta automatica"
    r"|automatisch antwoord|undeliverable|undelivered mail|delivery status notification"
    r"|mail delivery (failed|failure|subsystem)|returned mail|failure notice|delivery failure)",
    re.IGNORECASE,
)
_BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)
_NOREPLY_SENDER = re.compile(r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|notifications?|bounces?)[-+@.]", re.IGNORECASE)


def automated_reason(headers: Mapping[str, str], sender: str, subject: str, content_type: str) -> str | None:
    """Return why a message is automated ("auto-reply", "bounce", "bulk mail",
    "no-reply sender"), or None when a person wrote it.

    ``headers`` maps lower-case header names to their (first) value.
    """
    auto_submitted = headers.get("auto-submitted", "").strip().lower()
    if _BOUNCE_SENDER.match(sender) or "report-type=delivery-status" in content_type.replace(" ", "").lower():
        return "bounce"
    if auto_submitted and auto_submitted != "no":
        return "auto-reply" if "repl" in auto_submitted else "automated"
    if any(name in headers for name in ("x-autoreply", "x-autorespond", "x-autoresponder")):
        return "auto-reply"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in {"bulk", "list", "junk"}:
        return "bulk mail"
    if precedence == "auto_reply":
        return "auto-reply"
    if "list-unsubscribe" in headers or "list-id" in headers:
        return "bulk mail"
    if _AUTO_SUBJECT.match(subject or ""):
        return "bounce" if re.search(r"undeliver|delivery|returned|failure", subject, re.IGNORECASE) else "auto-reply"
    if _NOREPLY_SENDER.match(sender):
        return "no-reply sender"
    return None
