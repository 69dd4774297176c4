"""Recognise a customer's complaint relayed by a complaint portal, an ombudsman or a
regulator: machine-sent, but carrying a customer's own words that deserve triage.

Such mail comes from a no-reply or notifications mailbox, often through an email
service provider, with notification wording ("Complaint #… forwarded to company", "New
complaint received"), so the sender rules of :mod:`triage.automated` call it machine
mail, and it would lose its categories and its tone. What tells it apart from the
notifications that really are automated (a payment processor's "a cardholder disputed
a payment, respond by …", shipping notices, password resets, newsletters) is that a
person's account is inside it:

- **the relay says so**: "the following complaint was submitted by a consumer", "a
  consumer complaint has been filed", "the consumer states", "complaint against your
  company", a "Narrative:" or "What happened:" field, "Desired resolution:";
  or, in its stead, a case or complaint number together with a deadline for the
  business's answer ("Case number: …", "please respond by …");
- **and a customer's words follow**: a first-person account ("I ordered…", "my
  account…", "we were charged…"), which no notification written by a machine to a
  business contains.

Only the rules that say no more than who sent a message (:data:`RELAYING_RULES`: a
no-reply or notification mailbox, or two pieces of weak machinery evidence) give way to
a relay; a bounce, a report, an auto-reply, a list or bulk headers never do. Pure.
"""

from __future__ import annotations

import re

RELAYING_RULES = frozenset({"no_reply_sender", "notification_sender", "two_weak_signals"})
"""The :data:`triage.automated.RULES` that a portal relaying a customer's words also
trips: they read only the sending mailbox and machinery, never what the mail is."""

TEXT_LIMIT = 6000
"""Characters read: a relay states what it is near the top, and the account follows."""

MIN_FIRST_PERSON = 4
"""First-person words ("I", "my", "me", …) that make an account a person's: notifications
speak to "you" and of "we"; one "I" can be a quoted phrase."""

_RELAY_STATEMENT = re.compile(
    r"\b(?:consumer|customer|complainant|member of the public|policyholder|passenger|client|user)s?\b[^.\n]{0,40}?"
    r"\b(?:has |have )?(?:submitted|filed|lodged|made|raised|registered|sent)\b[^.\n]{0,40}?\bcomplaint"
    r"|\b(?:following|this|a|new|the) (?:consumer |customer )?complaint\b[^.\n]{0,40}?\b(?:was |has been |have been "
    r"|is being )?(?:submitted|filed|lodged|received|forwarded|referred|registered|escalated)\b"
    r"|\b(?:consumer|customer) complaint (?:received|filed|submitted|forwarded|referred)\b"
    r"|\bcomplaint (?:filed|submitted|lodged|forwarded|referred) (?:via|through|with|to|by|on)\b"
    r"|\b(?:the )?(?:consumer|customer|complainant)(?:'s)? (?:states|stated|writes|wrote|says|said|reports|reported"
    r"|alleges|alleged|claims|explains|describes)\b"
    r"|\b(?:consumer|customer|complainant)[- ](?:provided|submitted|written)\b"
    r"|\bcomplaints? (?:against|about|regarding|concerning) (?:your|the) (?:company|business|firm|organi[sz]ation"
    r"|institution)\b"
    r"|^[ \t]*(?:complaint )?(?:narrative|complaint details|complaint text|what happened|desired resolution"
    r"|(?:consumer|customer|complainant)'?s? (?:narrative|statement|account|description|words))[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)
"""A portal's words that what follows is a consumer's complaint."""

_CASE_NUMBER = re.compile(
    r"\b(?:complaint|case|dispute|reference|ref)\s*(?:number|no\.?|#|id|ref(?:erence)?)?\s*[:#]\s*[\w-]*\d",
    re.IGNORECASE)
_RESPONSE_DEADLINE = re.compile(
    r"\b(?:please )?(?:respond|reply|provide (?:a|your) response|send (?:a|your) response)\s+(?:by|within|before"
    r"|no later than)\b|\bresponse (?:is )?(?:due|required) (?:by|within|before)\b", re.IGNORECASE)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|me|my|mine|myself)\b", re.IGNORECASE)
_FIRST_PERSON_PLURAL = re.compile(r"\b(?:we|we're|we've|we'd|us|our|ours)\b", re.IGNORECASE)


def relayed_complaint(body: str) -> bool:
    """True when ``body`` (a message's text) is a complaint a portal or regulator relays:
    the relay says it carries a consumer's complaint and a first-person account follows
    (at least :data:`MIN_FIRST_PERSON` words of "I", "my", "we", "our"…: a relative or a
    couple may write it), or the relay gives only a case number and a deadline to answer
    and a first-person singular account is in it ("we" there is mostly the portal's). A
    payment processor's dispute notice (case number, "respond by", no one's account)
    and ordinary notifications are not."""
    text = body[:TEXT_LIMIT]
    singular = sum(1 for _ in _FIRST_PERSON.finditer(text))
    if _RELAY_STATEMENT.search(text):
        return singular + sum(1 for _ in _FIRST_PERSON_PLURAL.finditer(text)) >= MIN_FIRST_PERSON
    return (singular >= MIN_FIRST_PERSON and bool(_CASE_NUMBER.search(text))
            and bool(_RESPONSE_DEADLINE.search(text)))
