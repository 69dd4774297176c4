"""Small builders shared by tests."""

from __future__ import annotations

from pathlib import Path

from triage.message import RawMail

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> RawMail:
    """A fixture .eml as the local source would hand it over."""
    path = FIXTURES / name
    return RawMail(raw=path.read_bytes(), mailbox="fixtures", key=name)


def eml(*, sender: str, subject: str, body: str, date: str, message_id: str, to: str = "help@larkspur.example",
        in_reply_to: str | None = None, references: str | None = None, extra: str = "") -> bytes:
    """A minimal plain-text message."""
    headers = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Date: {date}", f"Message-ID: {message_id}"]
    if in_reply_to:
        headers.append(f"In-Reply-To: {in_reply_to}")
    if references:
        headers.append(f"References: {references}")
    if extra:
        headers.append(extra)
    headers.append("Content-Type: text/plain; charset=utf-8")
    return ("\n".join(headers) + "\n\n" + body + "\n").encode()


def raw(data: bytes, key: str = "m", mailbox: str = "test") -> RawMail:
    return RawMail(raw=data, mailbox=mailbox, key=key)
