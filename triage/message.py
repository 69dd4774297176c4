"""The typed values that flow through triage: raw mail from a source, and a parsed message."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from triage.forwards import Forwarded
from triage.subjects import without_prefixes


@dataclass(frozen=True)
class RawMail:
    """One message as a source hands it over, before parsing.

    ``key`` identifies the message within its source (an IMAP UID as text, or a path) so a
    broken message can be named in the log; ``uid`` is the IMAP UID or None for local mail.
    """

    raw: bytes
    mailbox: str
    key: str
    uid: int | None = None
    internaldate: datetime | None = None
    flags: tuple[str, ...] = ()
    unreadable: str | None = None
    """Why the source could not deliver the message's bytes (``raw`` is empty then): it
    is decided as unreadable without being parsed."""
    digest: str | None = None
    """The SHA-256 (hex) of the whole message when ``raw`` is only its start (local mail
    over what triage parses): the identity of local mail is all of its bytes
    (:func:`triage.parsing.mail_digest`)."""


@dataclass(frozen=True)
class Message:
    """A parsed message: what triage needs to know of it, and nothing else.

    ``newest_text`` holds only the sender's newest words (quoted history and signature
    removed); the classifier and the tone model read that, never the whole body.
    """

    message_id: str
    sender: str
    sender_name: str
    recipients: tuple[str, ...]
    subject: str
    date: datetime
    in_reply_to: str | None
    references: tuple[str, ...]
    body_text: str
    newest_text: str
    automated: bool
    automated_reason: str | None
    mailbox: str = ""
    uid: int | None = None
    key: str = ""
    flags: tuple[str, ...] = field(default=())
    content_hash: str = ""
    """SHA-256 of the raw bytes: the identity of local mail (:func:`triage.parsing.content_hash`)."""
    notes: tuple[str, ...] = ()
    """What parsing could not read in full ("headers over 256 KB: read the first 256 KB")."""
    answer_to: str = ""
    """The address the customer is answered at when it is not ``sender``'s (a Reply-To
    naming one other address, or a web form's e-mail field), lower-cased; "" when it is
    (:func:`triage.parsing.answer_address`)."""
    answer_to_name: str = ""
    forwarded: Forwarded | None = None
    """For a forward ("FW: …", a forwarded-message block at the top), whose mail it
    carries and that mail's words (:func:`triage.forwards.forwarded_mail`); the engine
    decides whether it hands the team a customer's message
    (:meth:`triage.engine.Settings.handed_over`)."""
    undelivered: str | None = None
    """For a report of a failed delivery (a bounce), the Message-ID of the message not
    delivered (:func:`triage.bounces.failed_delivery_of`)."""

    @property
    def classifier_text(self) -> str:
        """Subject (without "Re:"/"Fwd:" and list tags: a reply is not a follow-up) and
        newest words: the text the category and tone models read."""
        return f"{without_prefixes(self.subject)}\n{self.newest_text}"
